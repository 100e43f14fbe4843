"""What this build and this machine run: kernel set, ISAs, OpenMP, threads.

The kernel set is chosen once at import: the best the CPU and OS support, or
the one the FASTSOFTMAX_ISA environment variable names. Naming one this CPU
cannot run, or an unknown one, is an error at import: a silent fallback would
make a benchmark or a test of that variant measure something else."""

from __future__ import annotations

import os

from . import _core

ISA_ENV = "FASTSOFTMAX_ISA"


def select_isa_from_environment() -> None:
    """Apply FASTSOFTMAX_ISA (called once, at import)."""
    wanted = os.environ.get(ISA_ENV, "").strip().lower()
    if wanted in ("", "auto", "best"):
        return
    try:
        _core.set_isa(wanted)
    except ValueError as exc:
        raise ImportError(f"{ISA_ENV}={wanted!r}: {exc}") from None


def runtime() -> dict:
    """The runtime configuration as a dict.

    Returns
    -------
    dict
        ``version``, ``isa`` (kernel set in use), ``isa_compiled`` (built in,
        lowest first), ``isa_supported`` (compiled and runnable here, best
        last), ``openmp`` (bool), ``openmp_runtime`` (str or None) and
        ``max_threads`` (threads a call may use by default).

    Examples
    --------
    >>> import fastsoftmax
    >>> fastsoftmax.runtime()["isa"] in fastsoftmax.runtime()["isa_supported"]
    True
    """
    from . import __version__

    compiled = _core.compiled_isas()
    has_omp = _core.openmp_enabled()
    return {
        "version": __version__,
        "isa": _core.get_isa(),
        "isa_compiled": compiled,
        "isa_supported": [n for n in compiled if _core.isa_supported(n)],
        "openmp": has_omp,
        "openmp_runtime": _core.openmp_description() if has_omp else None,
        "max_threads": _core.default_threads(),
    }


def show_runtime() -> None:
    """Print the runtime configuration (as ``np.show_runtime`` does for NumPy).

    Examples
    --------
    >>> import fastsoftmax
    >>> fastsoftmax.show_runtime()  # doctest: +SKIP
    fastsoftmax 0.1.0
      kernels in use : avx2
      ...
    """
    info = runtime()
    env = os.environ.get(ISA_ENV)
    lines = [
        f"fastsoftmax {info['version']}",
        f"  kernels in use : {info['isa']}"
        + (f"  ({ISA_ENV}={env})" if env else "  (best supported)"),
        f"  compiled in    : {', '.join(info['isa_compiled'])}",
        f"  supported here : {', '.join(info['isa_supported'])}",
        f"  OpenMP         : {'on, ' + info['openmp_runtime'] if info['openmp'] else 'off'}",
        f"  default threads: {info['max_threads']}"
        + (
            f"  (OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']})"
            if "OMP_NUM_THREADS" in os.environ
            else ""
        ),
    ]
    print("\n".join(lines))
