"""What a build must contain: every ISA variant of its architecture, and OpenMP
where the platform's build enables it.

A wheel is built once and runs on every CPU of its platform tag, so it must
carry every kernel set of its architecture, whatever the build machine's own
CPU could run. The expected OpenMP state comes from FASTSOFTMAX_EXPECT_OPENMP
("1" or "0", set by the wheel builds' test environment) or, when unset, from
the platform: on for Linux and Windows (GCC and MSVC have OpenMP and the
build enables it by default), not checked on macOS (a local build has OpenMP
only if an OpenMP runtime was found).
"""

import os
import platform
import sys

import pytest

import fastsoftmax as fs

EXPECT_OPENMP_ENV = "FASTSOFTMAX_EXPECT_OPENMP"

# Architecture (as platform.machine() names it) -> kernel sets, lowest first;
# the same architectures CMakeLists.txt builds the ISA files for.
X86 = ["scalar", "avx2", "avx512"]
EXPECTED_ISAS = {
    "x86_64": X86,
    "amd64": X86,
    "x86": X86,
    "i386": X86,
    "i486": X86,
    "i586": X86,
    "i686": X86,
    "aarch64": ["scalar", "neon"],
    "arm64": ["scalar", "neon"],
}


def expected_isas(machine: str) -> list[str]:
    """Kernel sets a build for ``machine`` must contain (scalar only elsewhere)."""
    return EXPECTED_ISAS.get(machine.lower(), ["scalar"])


def expected_openmp() -> bool | None:
    """Whether OpenMP must be on (None: not specified for this platform)."""
    value = os.environ.get(EXPECT_OPENMP_ENV, "").strip()
    if value in ("1", "0"):
        return value == "1"
    if value:
        raise ValueError(f"{EXPECT_OPENMP_ENV}={value!r}: expected '1' or '0'")
    if sys.platform.startswith("linux") or sys.platform == "win32":
        return True
    return None


def test_expected_isa_table():
    assert expected_isas("x86_64") == ["scalar", "avx2", "avx512"]
    assert expected_isas("AMD64") == ["scalar", "avx2", "avx512"]
    assert expected_isas("aarch64") == expected_isas("arm64") == ["scalar", "neon"]
    assert expected_isas("riscv64") == ["scalar"]


def test_every_isa_variant_is_compiled_in():
    want = expected_isas(platform.machine())
    assert fs._core.compiled_isas() == want
    assert fs.runtime()["isa_compiled"] == want


def test_supported_variants_are_a_prefix_of_the_ladder():
    """Each variant needs the features of the ones below it, so the supported
    ones are the lowest few; the active one is the best of them."""
    rt = fs.runtime()
    supported = rt["isa_supported"]
    assert supported == rt["isa_compiled"][: len(supported)]
    if platform.machine().lower() in ("aarch64", "arm64"):
        assert supported == ["scalar", "neon"]
    if not os.environ.get("FASTSOFTMAX_ISA", "").strip():
        assert rt["isa"] == supported[-1]


def test_openmp_as_the_platform_build_enables_it():
    want = expected_openmp()
    rt = fs.runtime()
    if want is None:
        pytest.skip(f"{EXPECT_OPENMP_ENV} unset and {sys.platform} builds may lack OpenMP")
    assert rt["openmp"] is want, rt
    if want:
        assert rt["openmp_runtime"]
        assert "OpenMP" in rt["openmp_runtime"]
    else:
        assert rt["openmp_runtime"] is None
        assert rt["max_threads"] == 1

