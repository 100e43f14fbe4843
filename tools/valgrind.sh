#!/usr/bin/env bash
# valgrind memcheck over a representative workload (tools/valgrind_workload.py)
# of the installed package: no memcheck error and no definite leak in
# fastsoftmax's code (tools/valgrind_filter.py), or exit 1.
#
# Usage: tools/valgrind.sh [python]   (default: python on PATH; the package
# must be installed in it). PYTHONMALLOC=malloc lets memcheck see every
# Python allocation instead of pymalloc's arenas.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python}
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed" >&2; exit 2; }

supp=()
for f in /usr/lib/valgrind/python3.supp; do
    [ -e "$f" ] && supp+=(--suppressions="$f")
done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
PYTHONMALLOC=malloc OMP_NUM_THREADS=2 valgrind --tool=memcheck \
    --leak-check=full --show-leak-kinds=definite \
    --track-origins=yes --num-callers=40 "${supp[@]}" --log-file="$log" \
    "$PY" tools/valgrind_workload.py
# The interpreter, the loader and NumPy are not memcheck-clean; count only
# the records (errors, definite leaks) whose stacks reach fastsoftmax.
"$PY" tools/valgrind_filter.py "$log"
