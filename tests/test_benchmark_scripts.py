"""The benchmark scripts that are not asv suites still run (a tiny shape, two rounds)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
pytest.importorskip("scipy", reason="memory_floor.py times SciPy's softmax")


def test_memory_floor_prints_every_call_against_the_copy() -> None:
    script = ROOT / "benchmarks" / "memory_floor.py"
    res = subprocess.run(
        [sys.executable, str(script), "--shape", "3x17", "--rounds", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[-7] == "shape 3x17 float32, median of 2 rounds"
    names = [line.split()[0] for line in lines[-6:]]
    assert names == [
        "x.copy()",
        "x",
        "fastsoftmax.logsumexp",
        "fastsoftmax.log_softmax",
        "fastsoftmax.softmax",
        "scipy.special.softmax",
    ]
    assert lines[-6].endswith("1.00x the copy")
