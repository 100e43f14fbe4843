"""Shared fixtures: every supported ISA, a seeded random generator.

``isa``: parametrised over ``fs.runtime()["isa_supported"]``; switches the
kernel set with ``fs._core.set_isa`` and restores the previous one after the
test.  When the suite runs under a forced ``FASTSOFTMAX_ISA`` (as
test_runtime.py does in subprocesses), the fixture only runs that ISA and
checks it is the one in use, so the import-time selection is what is tested.
"""

import os
import sys
import zlib

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import fastsoftmax as fs
except ImportError as exc:  # the test modules import it too and will error
    fs = None
    _IMPORT_ERROR = exc

_ENV_ISA = os.environ.get("FASTSOFTMAX_ISA", "").strip().lower()
FORCED_ISA = _ENV_ISA if _ENV_ISA not in ("", "auto", "best") else None


def _isa_params():
    if fs is None:
        reason = f"fastsoftmax does not import: {_IMPORT_ERROR}"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason))]
    if FORCED_ISA is not None:
        return [FORCED_ISA]
    return list(fs.runtime()["isa_supported"])


def pytest_report_header(config):
    if fs is None:
        return f"fastsoftmax: import failed: {_IMPORT_ERROR}"
    rt = fs.runtime()
    return (
        f"fastsoftmax {rt['version']}: isa={rt['isa']} supported={rt['isa_supported']} "
        f"compiled={rt['isa_compiled']} openmp={rt['openmp']} "
        f"max_threads={rt['max_threads']} FASTSOFTMAX_ISA={FORCED_ISA}"
    )


@pytest.fixture(params=_isa_params())
def isa(request):
    """Name of the kernel set the test runs with (all supported, one by one)."""
    name = request.param
    if FORCED_ISA is not None:
        assert fs._core.get_isa() == FORCED_ISA
        yield name
        return
    previous = fs._core.get_isa()
    fs._core.set_isa(name)
    try:
        assert fs._core.get_isa() == name
        yield name
    finally:
        fs._core.set_isa(previous)


@pytest.fixture
def rng(request):
    """numpy Generator seeded from the test id: reproducible, distinct per test."""
    seed = zlib.crc32(request.node.nodeid.encode())
    return np.random.default_rng(seed)
