#!/usr/bin/env bash
# Build the extension with AddressSanitizer + UndefinedBehaviorSanitizer into
# its own virtual environment and run a representative part of the test suite
# under it. Any sanitizer report fails the run (UBSan halts on the first
# error; ASan always does). Leak detection is off: CPython itself keeps
# allocations alive until exit, which LeakSanitizer would report; leaks are
# checked separately by tools/valgrind.sh and tools/memory_growth.py.
#
# Usage: tools/sanitize.sh [pytest args...]   (default: the subset below)
# Environment: SANITIZE_VENV (default .venv-sanitize), SANITIZE_REBUILD=0 to
# reuse an existing build.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${SANITIZE_VENV:-.venv-sanitize}
CC=${CC:-gcc}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv --system-site-packages "$VENV"
fi
# The test dependencies: from the system when it has them, else from the index.
"$VENV/bin/python" -c "import pytest, hypothesis, scipy, threadpoolctl" 2>/dev/null ||
    "$VENV/bin/python" -m pip install -q pytest hypothesis scipy threadpoolctl
"$VENV/bin/python" -c "import scikit_build_core, Cython, numpy" 2>/dev/null ||
    "$VENV/bin/python" -m pip install -q scikit-build-core cython numpy
# The extension must come from this build, not from a site-packages copy.
if [ "${SANITIZE_REBUILD:-1}" != 0 ]; then
    "$VENV/bin/python" -m pip install -q --no-build-isolation \
        -Ccmake.build-type=RelWithDebInfo \
        -Ccmake.define.FASTSOFTMAX_SANITIZE=ON \
        -Cbuild-dir="build/sanitize" .
fi

LIBASAN=$("$CC" -print-file-name=libasan.so)
LIBUBSAN=$("$CC" -print-file-name=libubsan.so)
if [ ! -e "$LIBASAN" ]; then
    echo "sanitize.sh: $CC has no libasan.so; cannot run" >&2
    exit 2
fi
# The interpreter is not instrumented, so the runtime must be loaded first.
export LD_PRELOAD="$(readlink -f "$LIBASAN"):$(readlink -f "$LIBUBSAN")"
ASAN_BASE="detect_leaks=0:abort_on_error=1:strict_init_order=1:check_initialization_order=1:allocator_may_return_null=1"
# Stack-use-after-return detection moves locals into ASan's "fake stack",
# whose frames are not 64-byte aligned: the AVX-512 kernels' aligned vector
# locals then fault there (a vmovapd to a 32-mod-64 address in
# bwd_col_dot, seen on Zen 5), which is the runtime's limit, not a bug of
# ours. So the run below takes every ISA without it, then the drivers and
# the AVX2 kernels again with it (the subset takes seconds).
export ASAN_OPTIONS="$ASAN_BASE:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
# No nested parallel oversubscription on shared machines; two threads still
# exercise the OpenMP paths.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

"$VENV/bin/python" -c "import fastsoftmax as fs, sys; \
so = fs._core.__file__; print('sanitized build:', so); \
sys.exit(0 if '__asan_init' in open(so, 'rb').read().decode('latin-1') else 'extension is not ASan-instrumented')"

if [ "$#" -eq 0 ]; then
    # Fewer property examples: each runs ~5x slower under the sanitizers.
    export FASTSOFTMAX_HYPOTHESIS_EXAMPLES=${FASTSOFTMAX_HYPOTHESIS_EXAMPLES:-15}
    set -- -q -p no:cacheprovider -x \
        tests/test_bad_input.py tests/test_bad_input_battery.py \
        tests/test_special_values.py tests/test_cross_entropy.py \
        tests/test_softmax_family.py tests/test_properties.py \
        tests/test_concurrency.py \
        -k "not torch"
fi
# Torch is not needed here and its own allocator fights the ASan runtime.
"$VENV/bin/python" -m pytest "$@"
if "$VENV/bin/python" -c "import fastsoftmax as fs, sys; sys.exit('avx2' not in fs.runtime()['isa_supported'])" 2>/dev/null; then
    echo "sanitize.sh: again with stack-use-after-return detection, FASTSOFTMAX_ISA=avx2"
    ASAN_OPTIONS="$ASAN_BASE:detect_stack_use_after_return=1" FASTSOFTMAX_ISA=avx2 "$VENV/bin/python" -m pytest "$@"
fi
