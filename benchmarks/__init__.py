"""asv benchmarks of fastsoftmax (see asv.conf.json at the repository root).

Run them with::

    asv machine --yes                               # once per machine
    asv run --python=same --quick --show-stderr     # the installed package, once each
    asv run                                         # build and time the main branch
    asv continuous main HEAD                        # compare two commits

``FASTSOFTMAX_BENCH_QUICK=1`` in the environment trims every parameter grid to
a few small cases (see :func:`grid`), so that ``asv run --python=same --quick``
checks that every benchmark still runs in well under a minute; CI does that.
Without it the full grid is run.

This module also holds what the ``bench_<topic>.py`` files share: seeded
inputs (:func:`make_input`), the thread counts (:func:`n_threads`) and the
throughput measure (:func:`elements_per_second`).

The runtime facts of the installed package (version, ISA chosen at import,
OpenMP runtime, thread count) are kept in :data:`RUNTIME`; they are recorded
in asv's results by ``bench_softmax.Runtime`` (whose output ``--show-stderr``
shows) and printed on import outside asv (``python -c "import benchmarks"``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

#: True when ``FASTSOFTMAX_BENCH_QUICK`` is set to anything but "" or "0".
QUICK: bool = os.environ.get("FASTSOFTMAX_BENCH_QUICK", "") not in ("", "0")

#: Seed of every generated input.
SEED = 20240601


def grid(full: Sequence[T], quick: Sequence[T]) -> list[T]:
    """The parameter values of one grid axis: ``quick`` under :data:`QUICK`, else ``full``.

    Parameters
    ----------
    full : sequence
        Values for real runs.
    quick : sequence
        The subset (usually one or two values) that keeps every code path of
        the benchmark exercised in the CI check.

    Returns
    -------
    list
        The chosen values.

    Examples
    --------
    >>> grid(["float32", "float64"], ["float32"]) in (["float32"], ["float32", "float64"])
    True
    """
    return list(quick if QUICK else full)


def make_input(shape: tuple[int, ...], dtype: str, layout: str = "C") -> np.ndarray:
    """Seeded logits, N(0, 16) in the target dtype (no float64 temporary).

    Parameters
    ----------
    shape : tuple of int
        Array shape.
    dtype : str
        ``"float32"`` or ``"float64"``.
    layout : {"C", "F"}
        C (row-major) or Fortran (column-major) order.

    Returns
    -------
    ndarray
        The input.

    Examples
    --------
    >>> make_input((2, 3), "float32", "F").flags.f_contiguous
    True
    """
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal(shape, dtype=np.dtype(dtype).type)
    x *= 4.0
    return np.asfortranarray(x) if layout == "F" else np.ascontiguousarray(x)


def max_threads() -> int:
    """The thread count fastsoftmax uses by default (``runtime()['max_threads']``).

    Returns
    -------
    int
        At least 1; the CPU count when the runtime does not say.

    Examples
    --------
    >>> max_threads() >= 1
    True
    """
    return int(RUNTIME.get("max_threads") or 0) or (os.cpu_count() or 1)


def n_threads(threads: int | str) -> int:
    """A ``threads`` parameter value (an int or ``"all"``) as a thread count.

    Parameters
    ----------
    threads : int or "all"
        ``"all"`` means :func:`max_threads`.

    Returns
    -------
    int
        The count.

    Examples
    --------
    >>> n_threads(1)
    1
    """
    return max_threads() if threads == "all" else int(threads)


def elements_per_second(call: Callable[[], object], elements: int, budget: float = 0.1) -> float:
    """Median throughput of ``call`` over about ``budget`` seconds (3 samples under QUICK).

    Parameters
    ----------
    call : callable
        Zero-argument call to time.
    elements : int
        Input elements one call processes.
    budget : float, default 0.1
        Seconds of sampling (at least 3 samples are taken).

    Returns
    -------
    float
        Elements per second.

    Examples
    --------
    >>> elements_per_second(lambda: sum(range(100)), 100, budget=0.0) > 0
    True
    """
    budget = 0.0 if QUICK else budget
    t0 = time.perf_counter()
    call()
    first = time.perf_counter() - t0
    number = max(1, int(2e-4 / max(first, 1e-9)))  # batches of >= 0.2 ms: timer resolution
    samples = []
    start = time.perf_counter()
    while len(samples) < 3 or (time.perf_counter() - start < budget and len(samples) < 200):
        t0 = time.perf_counter()
        for _ in range(number):
            call()
        samples.append((time.perf_counter() - t0) / number)
    return elements / float(np.median(samples))


def _runtime_info() -> dict[str, Any]:
    """fastsoftmax.runtime() of the installed package, or a note why not."""
    try:
        import fastsoftmax
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {"error": f"fastsoftmax not importable: {exc}"}
    try:
        return dict(fastsoftmax.runtime())
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {
            "version": getattr(fastsoftmax, "__version__", "?"),
            "error": f"runtime() failed: {exc}",
        }


def describe(info: dict[str, Any] | None = None) -> str:
    """One line describing the fastsoftmax runtime under benchmark.

    Parameters
    ----------
    info : dict, optional
        A ``fastsoftmax.runtime()`` dictionary; default :data:`RUNTIME`.

    Returns
    -------
    str
        The description.

    Examples
    --------
    >>> describe({"version": "1", "isa": "avx2", "max_threads": 2})[:24]
    'fastsoftmax 1: isa avx2,'
    """
    info = RUNTIME if info is None else info
    if "error" in info and "isa" not in info:
        return f"fastsoftmax benchmarks: {info['error']}"
    omp = info.get("openmp_runtime") or info.get("openmp", "?")
    return (
        f"fastsoftmax {info.get('version', '?')}: isa {info.get('isa', '?')},"
        f" compiled {info.get('isa_compiled', '?')}, openmp {omp},"
        f" max_threads {info.get('max_threads', '?')}"
        + (" [quick grid]" if QUICK else "")
    )


#: ``fastsoftmax.runtime()`` of the package being benchmarked.
RUNTIME: dict[str, Any] = _runtime_info()

if "asv_runner" not in sys.modules:  # imported by hand, not by asv's runner
    print(describe(), file=sys.stderr)
