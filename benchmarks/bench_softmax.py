"""asv benchmarks: softmax, log_softmax and logsumexp of fastsoftmax and its peers.

The grid is split into classes of moderate size instead of one product of
every parameter:

- ``Rowwise``: function x dtype x shape, last axis, C order, one thread.
- ``AxisLayout``: function x shape x axis x memory layout, float32, one thread.
- ``Threads``: function x shape x thread count, float32.
- ``OutArgument``: function x dtype with a preallocated ``out=``.
- ``CrossEntropy``: loss, or loss and gradient, x dtype x shape (class labels).
- ``PeerNumpyNaive``, ``PeerScipy``: the peers on the ``Rowwise`` grid.
- ``PeerTorch``: PyTorch on the ``Threads`` grid plus the small shape.
- ``Runtime``: records the ISA, OpenMP runtime and thread count in the results.

Every class has a ``time_call`` benchmark and (except ``OutArgument``) a
``track_elements_per_second`` benchmark. Inputs are seeded and built in
``setup``, which also makes one warm-up call so that thread pools exist before
timing. Raising ``NotImplementedError`` in ``setup`` is asv's way to skip: a
peer that is not installed is skipped.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

FUNCTIONS = ["softmax", "log_softmax", "logsumexp"]
DTYPES = ["float32", "float64"]
SHAPES = {
    "small 32x10": (32, 10),
    "medium 1024x1000": (1024, 1000),
    "vocab 256x32000": (256, 32000),
    "long 4x1000000": (4, 1_000_000),
}
AXES = {"last": -1, "first": 0}
LAYOUTS = ["C", "F"]
THREADS = [1, "all"]
SEED = 20240601


@functools.lru_cache(maxsize=4)
def _make_input(shape: tuple[int, ...], dtype: str, layout: str) -> np.ndarray:
    """Seeded logits; cached because several parameter sets share them."""
    rng = np.random.default_rng(SEED)
    x = (rng.standard_normal(shape) * 4.0).astype(dtype)
    return np.asfortranarray(x) if layout == "F" else np.ascontiguousarray(x)


def _all_threads() -> int:
    try:
        import fastsoftmax

        return int(fastsoftmax.runtime().get("max_threads") or 0) or (os.cpu_count() or 1)
    except Exception:  # noqa: BLE001 - any failure: fall back to the CPU count
        return os.cpu_count() or 1


def _n_threads(threads: int | str) -> int:
    return _all_threads() if threads == "all" else int(threads)


def _elements_per_second(call: Callable[[], object], elements: int, budget: float = 0.1) -> float:
    """Median throughput of ``call`` over about ``budget`` seconds."""
    t0 = time.perf_counter()
    call()
    first = time.perf_counter() - t0
    number = max(1, int(2e-4 / max(first, 1e-9)))
    samples = []
    start = time.perf_counter()
    while len(samples) < 3 or (time.perf_counter() - start < budget and len(samples) < 200):
        t0 = time.perf_counter()
        for _ in range(number):
            call()
        samples.append((time.perf_counter() - t0) / number)
    return elements / float(np.median(samples))


class _Base:
    """Shared machinery: ``self.call`` is the zero-argument call timed."""

    timeout = 180.0
    call: Callable[[], object]
    elements: int

    def _fastsoftmax(
        self,
        function: str,
        dtype: str,
        shape: str,
        axis: str = "last",
        layout: str = "C",
        threads: int | str = 1,
    ) -> None:
        import fastsoftmax

        func = getattr(fastsoftmax, function, None)
        if func is None:
            raise NotImplementedError(f"fastsoftmax has no {function}")
        x = _make_input(SHAPES[shape], dtype, layout)
        self.elements = x.size
        self.call = functools.partial(func, x, axis=AXES[axis], num_threads=_n_threads(threads))
        self.call()  # warm-up: thread pool, page faults, lazy initialisation

    def time_call(self, *params: Any) -> None:
        """Time one call."""
        self.call()

    def track_elements_per_second(self, *params: Any) -> float:
        """Input elements processed per second (median over about 0.1 s)."""
        return _elements_per_second(self.call, self.elements)

    track_elements_per_second.unit = "elements/s"  # type: ignore[attr-defined]


class Rowwise(_Base):
    """Reduction over the last axis of C-ordered arrays, one thread."""

    params: ClassVar[list[list[Any]]] = [FUNCTIONS, DTYPES, list(SHAPES)]
    param_names: ClassVar[list[str]] = ["function", "dtype", "shape"]

    def setup(self, function: str, dtype: str, shape: str) -> None:
        """Build the input and make the warm-up call."""
        self._fastsoftmax(function, dtype, shape)


class AxisLayout(_Base):
    """Reduction over the first or last axis of C- or Fortran-ordered arrays."""

    params: ClassVar[list[list[Any]]] = [
        FUNCTIONS,
        ["medium 1024x1000", "long 4x1000000"],
        list(AXES),
        LAYOUTS,
    ]
    param_names: ClassVar[list[str]] = ["function", "shape", "axis", "layout"]

    def setup(self, function: str, shape: str, axis: str, layout: str) -> None:
        """Build the input and make the warm-up call."""
        self._fastsoftmax(function, "float32", shape, axis=axis, layout=layout)


class Threads(_Base):
    """One thread against all of them (``fastsoftmax.runtime()['max_threads']``)."""

    params: ClassVar[list[list[Any]]] = [
        FUNCTIONS,
        ["medium 1024x1000", "vocab 256x32000", "long 4x1000000"],
        THREADS,
    ]
    param_names: ClassVar[list[str]] = ["function", "shape", "threads"]

    def setup(self, function: str, shape: str, threads: int | str) -> None:
        """Build the input and make the warm-up call."""
        self._fastsoftmax(function, "float32", shape, threads=threads)


class OutArgument:
    """Writing into a preallocated ``out=`` (no allocation in the call)."""

    params: ClassVar[list[list[Any]]] = [FUNCTIONS, DTYPES]
    param_names: ClassVar[list[str]] = ["function", "dtype"]
    timeout = 180.0

    def setup(self, function: str, dtype: str) -> None:
        """Build the input and ``out`` and make the warm-up call."""
        import fastsoftmax

        func = getattr(fastsoftmax, function, None)
        if func is None:
            raise NotImplementedError(f"fastsoftmax has no {function}")
        x = _make_input(SHAPES["medium 1024x1000"], dtype, "C")
        out = np.empty_like(func(x, axis=-1))
        self.call = functools.partial(func, x, axis=-1, out=out, num_threads=1)
        self.call()

    def time_call(self, function: str, dtype: str) -> None:
        """Time one call."""
        self.call()


class CrossEntropy(_Base):
    """Fused cross-entropy (mean over rows) of integer labels, optionally with the gradient."""

    params: ClassVar[list[list[Any]]] = [
        ["loss", "loss+grad"],
        DTYPES,
        ["medium 1024x1000", "vocab 256x32000"],
    ]
    param_names: ClassVar[list[str]] = ["output", "dtype", "shape"]

    def setup(self, output: str, dtype: str, shape: str) -> None:
        """Build logits and labels and make the warm-up call."""
        import fastsoftmax

        func = getattr(fastsoftmax, "cross_entropy", None)
        if func is None:
            raise NotImplementedError("fastsoftmax has no cross_entropy")
        x = _make_input(SHAPES[shape], dtype, "C")
        target = np.random.default_rng(SEED).integers(0, x.shape[-1], size=x.shape[0])
        self.elements = x.size
        self.call = functools.partial(
            func, x, target, return_grad=output == "loss+grad", num_threads=1
        )
        self.call()


# ---------------------------------------------------------------------------
# Peers
# ---------------------------------------------------------------------------


def _numpy_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _numpy_log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    s = x - np.max(x, axis=axis, keepdims=True)
    s -= np.log(np.sum(np.exp(s), axis=axis, keepdims=True))
    return s


def _numpy_logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)), axis=axis)


_NUMPY = {
    "softmax": _numpy_softmax,
    "log_softmax": _numpy_log_softmax,
    "logsumexp": _numpy_logsumexp,
}


class PeerNumpyNaive(_Base):
    """NumPy naive: x - max, exp, sum, divide."""

    params: ClassVar[list[list[Any]]] = Rowwise.params
    param_names: ClassVar[list[str]] = Rowwise.param_names

    def setup(self, function: str, dtype: str, shape: str) -> None:
        """Build the input and make the warm-up call."""
        x = _make_input(SHAPES[shape], dtype, "C")
        self.elements = x.size
        self.call = functools.partial(_NUMPY[function], x, -1)
        self.call()


class PeerScipy(_Base):
    """scipy.special.softmax / log_softmax / logsumexp."""

    params: ClassVar[list[list[Any]]] = Rowwise.params
    param_names: ClassVar[list[str]] = Rowwise.param_names

    def setup(self, function: str, dtype: str, shape: str) -> None:
        """Build the input and make the warm-up call; skip without scipy."""
        try:
            import scipy.special
        except ImportError as exc:
            raise NotImplementedError(f"scipy not installed: {exc}") from exc
        x = _make_input(SHAPES[shape], dtype, "C")
        self.elements = x.size
        self.call = functools.partial(getattr(scipy.special, function), x, axis=-1)
        self.call()


class PeerTorch(_Base):
    """PyTorch on ``torch.from_numpy``, with ``torch.set_num_threads(threads)``.

    float32 only, like ``Threads``: asv starts a process per parameter set and
    each one pays for ``import torch``.
    """

    params: ClassVar[list[list[Any]]] = [FUNCTIONS, list(SHAPES), THREADS]
    param_names: ClassVar[list[str]] = ["function", "shape", "threads"]

    def setup(self, function: str, shape: str, threads: int | str) -> None:
        """Build the input and make the warm-up call; skip without torch."""
        try:
            import torch
        except ImportError as exc:
            raise NotImplementedError(f"torch not installed: {exc}") from exc
        self._old_threads = torch.get_num_threads()
        torch.set_num_threads(_n_threads(threads))
        x = _make_input(SHAPES[shape], "float32", "C")
        self.elements = x.size
        self.call = functools.partial(getattr(torch, function), torch.from_numpy(x), -1)
        self.call()

    def teardown(self, function: str, shape: str, threads: int | str) -> None:
        """Restore torch's thread count."""
        import torch

        torch.set_num_threads(self._old_threads)


# ---------------------------------------------------------------------------
# Runtime facts
# ---------------------------------------------------------------------------


def _runtime_param() -> str:
    from . import RUNTIME

    if "isa" not in RUNTIME:
        return str(RUNTIME.get("error", "unknown"))
    omp = RUNTIME.get("openmp_runtime") or RUNTIME.get("openmp")
    return f"{RUNTIME.get('version', '?')} isa={RUNTIME.get('isa')} openmp={omp}"


class Runtime:
    """Record fastsoftmax.runtime() in the results: the parameter names the build."""

    params: ClassVar[list[list[Any]]] = [[_runtime_param()]]
    param_names: ClassVar[list[str]] = ["runtime"]

    def track_max_threads(self, runtime: str) -> int:
        """Thread count fastsoftmax uses by default; prints the runtime."""
        from . import RUNTIME, describe

        print(describe(), file=sys.stderr)
        return int(RUNTIME.get("max_threads") or 0)

    track_max_threads.unit = "threads"  # type: ignore[attr-defined]
