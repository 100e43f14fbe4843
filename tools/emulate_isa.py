"""Run the test suite on kernel variants this CPU cannot execute, emulated.

The AVX-512 and NEON kernels are compiled into every wheel for their
platforms, but a machine without AVX-512 (or an x86 one, for NEON) never runs
them. This builds a copy of the checkout in which those kernel files are
compiled against SIMDe (SIMD Everywhere, ``pip install simde-py``), which
implements the AVX-512 and NEON intrinsics on top of AVX2, marks them
supported, installs that build into a scratch directory and runs the tests
with it: every test parametrised over ``isa`` then also runs ``avx512`` and
``neon``.

What it checks: the kernel bodies, the vector layers and the dispatch of those
variants, lane for lane (tails, masks, widths of 16 and 4 floats). What it
cannot: speed, and the hardware's own rounding where SIMDe differs from it
(horizontal reductions may add in another order; every test compares against
bounds, not against one ISA's bits). The build is for tests only: it differs
from the shipped one in the two kernel files' flags and headers.

Usage::

    pip install simde-py
    python tools/emulate_isa.py                 # avx512 and neon, the tests that take ``isa``
    python tools/emulate_isa.py --isa neon -- -x tests/test_accuracy.py
    python tools/emulate_isa.py --all-tests     # the whole suite (about 5 min on 2 cores)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "emulation"

# AVX-512 intrinsics SIMDe (0.8) lacks (or, for the masked loads and stores,
# emulates by touching every lane): tools/emulation/avx512_missing.h has them.
_AVX512_OWN = (
    r"\b_mm512_(cvtps_pd|getexp_|getmant_|stream_|cvtps_ph|mask_loadu_|mask_storeu_|reduce_add_pd)"
)
_AVX512_RENAMES = [
    (_AVX512_OWN, r"emu_mm512_\1"),
    (r"\b_MM_MANT_", "EMU_MANT_"),
    (r"\b_mm512_", "simde_mm512_"),
    (r"\b_mm256_", "simde_mm256_"),
    (r"\b_mm_sfence\b", "simde_mm_sfence"),
    (r"\b__m512d\b", "simde__m512d"),
    (r"\b__m512i\b", "simde__m512i"),
    (r"\b__m512\b", "simde__m512"),
    (r"\b__m256i\b", "simde__m256i"),
    (r"\b__mmask16\b", "simde__mmask16"),
    (r"\b__mmask8\b", "simde__mmask8"),
    (r"\b_MM_FROUND_", "SIMDE_MM_FROUND_"),
    (r"\b_CMP_", "SIMDE_CMP_"),
]


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise SystemExit(
            f"{path}: expected text not found (the source changed; update {__file__}):\n{old}"
        )
    path.write_text(text.replace(old, new))


def _copy_checkout(dst: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    for name in files.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dst / name)


def _emulate_avx512(tree: Path, simde: str) -> None:
    isa_dir = tree / "csrc/kernels/isa"
    for name in ("vec_avx512.h", "vec_extra_avx512.h"):
        path = isa_dir / name
        text = path.read_text().replace("#include <immintrin.h>", '#include "avx512_missing.h"')
        for pattern, repl in _AVX512_RENAMES:
            text = re.sub(pattern, repl, text)
        path.write_text(text)
    shutil.copy2(HERE / "avx512_missing.h", isa_dir / "avx512_missing.h")
    _replace(
        tree / "CMakeLists.txt",
        '"-mavx512f;-mavx512dq;-mavx512bw;-mavx512vl;-mavx2;-mfma;-mf16c"',
        f'"-mavx2;-mfma;-mf16c;-I{simde}"',
    )
    _replace(
        tree / "csrc/dispatch/cpu_features.c",
        "if ((f & FSS_CPU_AVX2) && os_zmm && avx512f && avx512dq && avx512bw && avx512vl)",
        "(void)os_zmm, (void)avx512f, (void)avx512dq, (void)avx512bw, (void)avx512vl;\n"
        "    if (f & FSS_CPU_AVX2) /* emulated (tools/emulate_isa.py) */",
    )


def _emulate_neon(tree: Path, simde: str) -> None:
    for name in ("vec_neon.h", "vec_extra_neon.h"):
        _replace(
            tree / "csrc/kernels/isa" / name, "#include <arm_neon.h>", "#include <simde/arm/neon.h>"
        )
    _replace(
        tree / "CMakeLists.txt",
        "list(APPEND FSS_ISA_DEFINES FSS_HAVE_AVX2 FSS_HAVE_AVX512)",
        "list(APPEND FSS_ISA_DEFINES FSS_HAVE_AVX2 FSS_HAVE_AVX512 FSS_HAVE_NEON)\n"
        "  list(APPEND FSS_KERNEL_SOURCES csrc/kernels/kernels_neon.c)\n"
        "  set_source_files_properties(csrc/kernels/kernels_neon.c PROPERTIES COMPILE_OPTIONS\n"
        f'    "-mavx2;-mfma;-mf16c;-I{simde};-DSIMDE_ENABLE_NATIVE_ALIASES")',
    )
    _replace(
        tree / "csrc/dispatch/cpu_features.c",
        "#elif defined(__aarch64__) || defined(_M_ARM64)\n    f |= FSS_CPU_NEON;",
        "    if (f & FSS_CPU_AVX2) /* emulated (tools/emulate_isa.py) */\n"
        "        f |= FSS_CPU_NEON;\n"
        "#elif defined(__aarch64__) || defined(_M_ARM64)\n    f |= FSS_CPU_NEON;",
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--isa",
        action="append",
        choices=["avx512", "neon"],
        help="variant to emulate (repeatable; default: both)",
    )
    ap.add_argument(
        "--all-tests",
        action="store_true",
        help="run the whole suite, not only the tests parametrised over isa",
    )
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("pytest_args", nargs="*", help="after --: arguments for pytest")
    args = ap.parse_args()
    isas = args.isa or ["avx512", "neon"]
    try:
        import simde_py
    except ImportError:
        print("simde-py is not installed (pip install simde-py): nothing emulated", file=sys.stderr)
        return 2
    simde = simde_py.get_include()

    scratch = Path(tempfile.mkdtemp(prefix="fss_emulate_"))
    try:
        tree, site = scratch / "tree", scratch / "site"
        _copy_checkout(tree)
        if "avx512" in isas:
            _emulate_avx512(tree, simde)
        if "neon" in isas:
            _emulate_neon(tree, simde)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--no-deps",
                "--quiet",
                "--target",
                str(site),
                str(tree),
            ],
            check=True,
        )
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
        )
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                "import fastsoftmax as f; print(f.__file__); print(f.runtime()['isa_supported'])",
            ],
            env=env,
            capture_output=True,
            text=True,
            cwd=scratch,
        )
        print(probe.stdout + probe.stderr, end="")
        probe = probe.stdout
        missing = [i for i in isas if f"'{i}'" not in probe]
        if str(site) not in probe or missing:
            print(
                f"the emulated build is not the one imported, or lacks {missing}", file=sys.stderr
            )
            return 1
        selection = [] if args.all_tests else ["-k", " or ".join(isas)]
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *selection,
            *(args.pytest_args or [str(tree / "tests")]),
        ]
        return subprocess.run(cmd, env=env, cwd=tree).returncode
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
