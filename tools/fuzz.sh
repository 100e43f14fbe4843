#!/usr/bin/env bash
# Bounded fuzzing of the public functions (fuzz/fuzz_api.py, atheris).
#
#   1. Coverage-guided fuzzing for SECONDS (default 60) with the installed
#      package, starting from the corpus in fuzz/corpus; new inputs go to a
#      temporary directory (pass --keep to add them to fuzz/corpus).
#   2. When an ASan+UBSan build exists (tools/sanitize.sh makes one in
#      .venv-sanitize), every corpus input, old and new, is replayed under it,
#      so an out-of-bounds access that the plain build survives is a finding.
#      (GCC's libasan defines libFuzzer's coverage hooks itself, which blinds
#      atheris's coverage; hence the replay instead of fuzzing under ASan.)
#
# Usage: tools/fuzz.sh [SECONDS] [--keep]   Environment: FUZZ_PYTHON (python),
# SANITIZE_VENV (.venv-sanitize), FUZZ_SEED (1), FUZZ_RUNS (unset: fuzz for
# SECONDS; set: exactly this many inputs instead, so that a given seed and
# corpus explore the same inputs on any machine: what CI uses, so that a CI
# verdict does not depend on the machine's speed; explore with other seeds by
# hand). A finding is written to fuzz/findings/ and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_BUDGET=${1:-60}
KEEP=0
[ "${2:-}" = "--keep" ] && KEEP=1
PY=${FUZZ_PYTHON:-python}
if ! "$PY" -c "import atheris" 2>/dev/null; then
    echo "fuzz.sh: atheris is not installed (pip install atheris); not fuzzing" >&2
    exit 2
fi
new=$(mktemp -d)
trap 'rm -rf "$new"' EXIT
mkdir -p fuzz/findings
if [ -n "${FUZZ_RUNS:-}" ]; then
    budget=(-runs="$FUZZ_RUNS")
else
    budget=(-max_total_time="$SECONDS_BUDGET")
fi
PYTHONHASHSEED=0 "$PY" fuzz/fuzz_api.py "$new" fuzz/corpus "${budget[@]}" \
    -seed="${FUZZ_SEED:-1}" -artifact_prefix=fuzz/findings/ -print_final_stats=1 2>&1 |
    grep -v -E "^INFO: Instrumenting|^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)" | tail -n 25
echo "fuzz.sh: $(ls "$new" | wc -l) new corpus input(s)"

SAN_PY=${SANITIZE_VENV:-.venv-sanitize}/bin/python
if [ -x "$SAN_PY" ] && "$SAN_PY" -c "import atheris" 2>/dev/null; then
    CC=${CC:-gcc}
    echo "fuzz.sh: replaying the corpus under ASan+UBSan"
    LD_PRELOAD="$(readlink -f "$("$CC" -print-file-name=libasan.so)"):$(readlink -f "$("$CC" -print-file-name=libubsan.so)")" \
    ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1" \
    UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1" \
        "$SAN_PY" fuzz/fuzz_api.py -runs=0 -artifact_prefix=fuzz/findings/ fuzz/corpus "$new" 2>&1 |
        grep -v -E "^INFO: Instrumenting|^WARNING|^You can likely" | tail -n 5
else
    echo "fuzz.sh: no ASan build with atheris in ${SANITIZE_VENV:-.venv-sanitize}; replay skipped"
fi
if [ "$KEEP" = 1 ]; then
    cp -n "$new"/* fuzz/corpus/ 2>/dev/null || true
fi
rmdir fuzz/findings 2>/dev/null || true
echo "fuzz.sh: no findings"
