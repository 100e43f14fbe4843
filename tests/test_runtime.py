"""runtime() / show_runtime(), in-process ISA switching, and FASTSOFTMAX_ISA
at import (in subprocesses, so each one imports the package afresh)."""

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastsoftmax as fs

KNOWN_ISAS = ("scalar", "avx2", "avx512", "neon")
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
RT = fs.runtime()


def run_python(code, tmp_path, timeout=120, **env_extra):
    """Run ``python -c code`` in a clean directory with FASTSOFTMAX_ISA unset
    unless given."""
    env = dict(os.environ)
    env.pop("FASTSOFTMAX_ISA", None)
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --------------------------------------------------------------------------
# runtime() and show_runtime()
# --------------------------------------------------------------------------
def test_runtime_keys_and_types():
    rt = fs.runtime()
    assert set(rt) == {
        "version",
        "isa",
        "isa_compiled",
        "isa_supported",
        "openmp",
        "openmp_runtime",
        "max_threads",
    }
    assert isinstance(rt["version"], str) and rt["version"]
    assert isinstance(rt["isa"], str)
    for key in ("isa_compiled", "isa_supported"):
        assert isinstance(rt[key], list) and all(isinstance(n, str) for n in rt[key])
    assert isinstance(rt["openmp"], bool)
    assert rt["openmp_runtime"] is None or isinstance(rt["openmp_runtime"], str)
    assert isinstance(rt["max_threads"], int) and not isinstance(rt["max_threads"], bool)
    assert rt["max_threads"] >= 1


def test_runtime_consistency():
    rt = fs.runtime()
    assert set(rt["isa_compiled"]) <= set(KNOWN_ISAS)
    assert "scalar" in rt["isa_compiled"] and "scalar" in rt["isa_supported"]
    # supported: the compiled ones this machine runs, in the same order
    assert rt["isa_supported"] == [n for n in rt["isa_compiled"] if n in rt["isa_supported"]]
    assert rt["isa"] in rt["isa_supported"]
    assert rt["version"] == importlib.metadata.version("fastsoftmax")
    if rt["openmp"]:
        assert rt["openmp_runtime"]


def test_default_isa_is_best_supported(tmp_path):
    res = run_python("import fastsoftmax as fs, json; print(json.dumps(fs.runtime()))", tmp_path)
    assert res.returncode == 0, res.stderr
    rt = json.loads(res.stdout)
    assert rt["isa"] == rt["isa_supported"][-1]


def test_show_runtime_prints(capsys):
    assert fs.show_runtime() is None
    text = capsys.readouterr().out
    rt = fs.runtime()
    assert rt["version"] in text
    assert rt["isa"] in text
    for name in rt["isa_supported"]:
        assert name in text


# --------------------------------------------------------------------------
# set_isa / get_isa
# --------------------------------------------------------------------------
def test_set_isa_switches_and_runtime_reflects_it():
    previous = fs._core.get_isa()
    try:
        for name in RT["isa_supported"]:
            assert fs._core.set_isa(name) is None
            assert fs._core.get_isa() == name
            assert fs.runtime()["isa"] == name
            x = np.linspace(-3, 3, 50)
            np.testing.assert_allclose(fs.softmax(x), np.exp(x) / np.exp(x).sum(), rtol=1e-13)
    finally:
        fs._core.set_isa(previous)
    assert fs._core.get_isa() == previous


def test_set_isa_rejects_unknown_and_unsupported():
    previous = fs._core.get_isa()
    bad = ["bogus", "avx3", "AVX 2", *[n for n in KNOWN_ISAS if n not in RT["isa_supported"]]]
    for name in bad:
        with pytest.raises(ValueError):
            fs._core.set_isa(name)
        assert fs._core.get_isa() == previous, f"failed set_isa({name!r}) changed the ISA"


# --------------------------------------------------------------------------
# FASTSOFTMAX_ISA at import
# --------------------------------------------------------------------------
CHECK_CODE = """
    import json
    import numpy as np
    import scipy.special as sp
    import fastsoftmax as fs
    rng = np.random.default_rng(0)
    errs = {}
    for dt in (np.float32, np.float64):
        x = (rng.standard_normal((7, 45)) * 4).astype(dt)
        for name in ("softmax", "log_softmax", "logsumexp"):
            for axis in (-1, 0):
                got = getattr(fs, name)(x, axis=axis)
                want = getattr(sp, name)(x.astype(np.float64), axis=axis)
                assert got.dtype == dt
                errs[f"{name} {dt.__name__} {axis}"] = float(
                    np.max(np.abs(got - want) / (np.abs(want) + 1e-30)))
    print(json.dumps({"isa": fs.runtime()["isa"], "errs": errs}))
"""


@pytest.mark.parametrize("name", RT["isa_supported"])
def test_env_isa_forces_kernel_set(name, tmp_path):
    res = run_python(CHECK_CODE, tmp_path, FASTSOFTMAX_ISA=name)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["isa"] == name
    for case, err in out["errs"].items():
        limit = 1e-5 if "float32" in case else 1e-12
        assert err < limit, f"FASTSOFTMAX_ISA={name}: {case} relative error {err}"


IMPORT_CODE = """
    import sys
    try:
        import fastsoftmax
    except ImportError as exc:
        print("IMPORT-ERROR:", exc)
        sys.exit(3)
    print("IMPORTED", fastsoftmax.runtime()["isa"])
"""


def _assert_import_fails(value, tmp_path):
    res = run_python(IMPORT_CODE, tmp_path, FASTSOFTMAX_ISA=value)
    assert res.returncode == 3, (
        f"FASTSOFTMAX_ISA={value!r}: expected ImportError, got rc={res.returncode}\n"
        f"{res.stdout}{res.stderr}"
    )
    assert "FASTSOFTMAX_ISA" in res.stdout, res.stdout


@pytest.mark.parametrize("value", ["bogus", "avx3", "sse9"])
def test_env_isa_unknown_raises_import_error(value, tmp_path):
    _assert_import_fails(value, tmp_path)


def test_env_isa_compiled_but_unsupported_raises(tmp_path):
    names = [n for n in RT["isa_compiled"] if n not in RT["isa_supported"]]
    if not names:
        pytest.skip("every compiled ISA runs on this CPU: nothing unsupported to name")
    for name in names:
        _assert_import_fails(name, tmp_path)


def test_env_isa_known_but_not_compiled_raises(tmp_path):
    names = [n for n in KNOWN_ISAS if n not in RT["isa_compiled"]]
    if not names:
        pytest.skip("every known ISA is compiled into this build")
    for name in names:
        _assert_import_fails(name, tmp_path)


def test_omp_num_threads_sets_max_threads(tmp_path):
    if not RT["openmp"]:
        pytest.skip("built without OpenMP")
    res = run_python(
        "import fastsoftmax as fs; print(fs.runtime()['max_threads'])",
        tmp_path,
        OMP_NUM_THREADS="3",
    )
    assert res.returncode == 0, res.stderr
    assert int(res.stdout) == 3


@pytest.mark.parametrize("name", RT["isa_supported"])
def test_comparison_subset_under_forced_isa(name):
    """The smoke and special-value comparisons, in a fresh interpreter whose
    kernel set was chosen by FASTSOFTMAX_ISA at import."""
    env = dict(os.environ)
    env["FASTSOFTMAX_ISA"] = name
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            os.path.join(TESTS_DIR, "test_softmax_family.py"),
            os.path.join(TESTS_DIR, "test_special_values.py"),
            "-k",
            "smoke or special_rows",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert " passed" in res.stdout and "skipped" not in res.stdout, res.stdout[-2000:]
