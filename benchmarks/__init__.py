"""asv benchmarks of fastsoftmax (see asv.conf.json at the repository root).

Run them with::

    asv machine --yes                               # once per machine
    asv run --python=same --quick --show-stderr     # the installed package, once each
    asv run                                         # build and time the main branch
    asv continuous main HEAD                        # compare two commits

The runtime facts of the installed package (version, ISA chosen at import,
OpenMP runtime, thread count) are kept in :data:`RUNTIME`; they are recorded
in asv's results by ``bench_softmax.Runtime`` (whose output ``--show-stderr``
shows) and printed on import outside asv (``python -c "import benchmarks"``).
"""

from __future__ import annotations

import sys
from typing import Any


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
    """
    info = RUNTIME if info is None else info
    if "error" in info and "isa" not in info:
        return f"fastsoftmax benchmarks: {info['error']}"
    omp = info.get("openmp_runtime") or info.get("openmp", "?")
    return (
        f"fastsoftmax {info.get('version', '?')}: isa {info.get('isa', '?')},"
        f" compiled {info.get('isa_compiled', '?')}, openmp {omp},"
        f" max_threads {info.get('max_threads', '?')}"
    )


#: ``fastsoftmax.runtime()`` of the package being benchmarked.
RUNTIME: dict[str, Any] = _runtime_info()

if "asv_runner" not in sys.modules:  # imported by hand, not by asv's runner
    print(describe(), file=sys.stderr)
