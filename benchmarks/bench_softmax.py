"""asv benchmarks: softmax, log_softmax, logsumexp and cross_entropy of fastsoftmax and its peers.

- ``Grid``: every public function (cross_entropy with and without the
  gradient) x dtype x shape x reduced axis x memory layout x threads, the
  full product. ``time_call`` and ``track_elements_per_second``.
- ``OutArgument``: writing into a preallocated ``out=``.
- ``CrossEntropyMemory``: ``peakmem_`` of cross_entropy with the gradient
  written in place (``grad_out=logits``) against a freshly allocated one.
- ``PeerNumpyNaive``, ``PeerScipy``, ``PeerTorch``: the same functions in
  the peers, skipped when the peer is not installed.
- ``Runtime``: records the ISA, OpenMP runtime and thread count in the results.

Shapes are named ``batch x length`` where ``length`` is the reduced (class)
axis: with ``axis="first"`` the array is ``length x batch`` reduced over axis
0, so every shape does the same arithmetic on both axes and only the memory
walk changes. ``layout="F"`` is the Fortran-ordered copy, i.e. the reduced
axis strided when it is the last one and contiguous when it is the first.

Inputs are seeded and built in ``setup``, which also makes one warm-up call
so that thread pools exist before timing. Raising ``NotImplementedError`` in
``setup`` is asv's way to skip: a peer that is not installed, or a function
an older commit does not have, is skipped. ``FASTSOFTMAX_BENCH_QUICK=1``
trims every grid (see ``benchmarks.grid``).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from . import SEED, elements_per_second, grid, make_input, n_threads

FUNCTIONS = ["softmax", "log_softmax", "logsumexp", "cross_entropy", "cross_entropy+grad"]
SCIPY_FUNCTIONS = FUNCTIONS[:3]
DTYPES = ["float32", "float64"]
SHAPES = {
    "small 32x10": (32, 10),
    "medium 1024x1000": (1024, 1000),
    "vocab 256x32000": (256, 32000),
    "long 4x1000000": (4, 1_000_000),
}
AXES = {"last": -1, "first": 0}
LAYOUTS = ["C", "F"]
THREADS: list[int | str] = [1, "all"]

Q_FUNCTIONS = grid(FUNCTIONS, FUNCTIONS)  # the functions are the code paths: keep all
Q_DTYPES = grid(DTYPES, ["float32"])
Q_SHAPES = grid(list(SHAPES), ["small 32x10"])
Q_AXES = grid(list(AXES), list(AXES))
Q_LAYOUTS = grid(LAYOUTS, ["F"])  # C order is exercised by the other classes
Q_THREADS = grid(THREADS, ["all"])


# Older names that bench_backward.py and bench_sigmoid.py import from this module;
# new benchmark files should import make_input / n_threads / grid from the package.
_make_input = make_input
_n_threads = n_threads


def _logits(shape: str, dtype: str, axis: str, layout: str) -> np.ndarray:
    """The input of a named shape, transposed so that ``axis`` has the reduced length."""
    batch, length = SHAPES[shape]
    return make_input((batch, length) if axis == "last" else (length, batch), dtype, layout)


def _labels(n: int, n_classes: int) -> np.ndarray:
    return np.random.default_rng(SEED + 1).integers(0, n_classes, size=n)


class _Base:
    """Shared machinery: ``self.call`` is the zero-argument call timed."""

    timeout = 180.0
    warmup_time = 0.05  # setup already made the warm-up call
    repeat = (1, 5, 2.0)  # at most 5 samples or 2 s per round: the grid is large
    call: Callable[[], object]
    elements: int

    def time_call(self, *params: Any) -> None:
        """Time one call."""
        self.call()

    def track_elements_per_second(self, *params: Any) -> float:
        """Input elements processed per second (median over about 0.1 s)."""
        return elements_per_second(self.call, self.elements)

    track_elements_per_second.unit = "elements/s"  # type: ignore[attr-defined]


def _fastsoftmax_call(
    function: str, x: np.ndarray, axis: int, threads: int
) -> Callable[[], object]:
    """A zero-argument fastsoftmax call; NotImplementedError (skip) when it is missing."""
    import fastsoftmax

    name, _, extra = function.partition("+")
    func = getattr(fastsoftmax, name, None)
    if func is None:
        raise NotImplementedError(f"fastsoftmax {fastsoftmax.__version__} has no {name}")
    if name == "cross_entropy":
        target = _labels(x.size // x.shape[axis], x.shape[axis])
        return functools.partial(
            func, x, target, axis=axis, return_grad=extra == "grad", num_threads=threads
        )
    return functools.partial(func, x, axis=axis, num_threads=threads)


class Grid(_Base):
    """function x dtype x shape x reduced axis x layout x threads, the full product."""

    params: ClassVar[list[list[Any]]] = [
        Q_FUNCTIONS,
        Q_DTYPES,
        Q_SHAPES,
        Q_AXES,
        Q_LAYOUTS,
        Q_THREADS,
    ]
    param_names: ClassVar[list[str]] = ["function", "dtype", "shape", "axis", "layout", "threads"]

    def setup(
        self, function: str, dtype: str, shape: str, axis: str, layout: str, threads: int | str
    ) -> None:
        """Build the input and make the warm-up call."""
        x = _logits(shape, dtype, axis, layout)
        self.elements = x.size
        self.call = _fastsoftmax_call(function, x, AXES[axis], n_threads(threads))
        self.call()  # warm-up: thread pool, page faults, lazy initialisation


class OutArgument(_Base):
    """Writing into a preallocated ``out=`` (no allocation in the call)."""

    params: ClassVar[list[list[Any]]] = [SCIPY_FUNCTIONS, Q_DTYPES]
    param_names: ClassVar[list[str]] = ["function", "dtype"]

    def setup(self, function: str, dtype: str) -> None:
        """Build the input and ``out`` and make the warm-up call."""
        import fastsoftmax

        func = getattr(fastsoftmax, function)
        x = _logits(grid(["medium 1024x1000"], ["small 32x10"])[0], dtype, "last", "C")
        out = np.empty_like(func(x, axis=-1))
        self.elements = x.size
        self.call = functools.partial(func, x, axis=-1, out=out, num_threads=1)
        self.call()


class CrossEntropyMemory:
    """Peak memory of cross_entropy with the gradient: in place (``grad_out=logits``) or fresh.

    asv's ``peakmem_`` is the process's peak resident size, setup included, so
    setup allocates only the logits (built in their dtype, no float64
    temporary) and warms up on a small corner of them; the in-place call
    should need no second logits-sized array.
    """

    params: ClassVar[list[list[Any]]] = [
        ["in place", "fresh"],
        Q_DTYPES,
        grid(["vocab 256x32000", "long 4x1000000"], ["small 32x10"]),
    ]
    param_names: ClassVar[list[str]] = ["grad", "dtype", "shape"]
    timeout = 180.0

    def setup(self, grad: str, dtype: str, shape: str) -> None:
        """Build logits and labels; warm up on a corner of the logits."""
        import fastsoftmax

        if not hasattr(fastsoftmax, "cross_entropy"):
            raise NotImplementedError("fastsoftmax has no cross_entropy")
        self.logits = _logits(shape, dtype, "last", "C")
        self.target = _labels(self.logits.shape[0], self.logits.shape[1])
        head = self.logits[:2, :8].copy()  # a few rows and classes: no big allocation
        fastsoftmax.cross_entropy(head, self.target[:2] % 8, grad_out=head, num_threads=1)
        self.in_place = grad == "in place"

    def peakmem_cross_entropy_grad(self, grad: str, dtype: str, shape: str) -> None:
        """One loss-and-gradient call."""
        import fastsoftmax

        if self.in_place:
            fastsoftmax.cross_entropy(self.logits, self.target, grad_out=self.logits, num_threads=1)
        else:
            fastsoftmax.cross_entropy(self.logits, self.target, return_grad=True, num_threads=1)


# ---------------------------------------------------------------------------
# Peers (last axis, C order)
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


def _numpy_cross_entropy(x: np.ndarray, target: np.ndarray, grad: bool) -> object:
    """Mean loss of class labels (rows of ``x``), and its gradient: log_softmax, gather."""
    rows = np.arange(x.shape[0])
    ls = _numpy_log_softmax(x, -1)
    loss = -ls[rows, target].mean()
    if not grad:
        return loss
    g = np.exp(ls)
    g[rows, target] -= 1.0
    g /= x.shape[0]
    return loss, g


def _numpy_call(function: str, x: np.ndarray) -> Callable[[], object]:
    if function.startswith("cross_entropy"):
        target = _labels(x.shape[0], x.shape[1])
        return functools.partial(_numpy_cross_entropy, x, target, function.endswith("+grad"))
    numpy_funcs = {
        "softmax": _numpy_softmax,
        "log_softmax": _numpy_log_softmax,
        "logsumexp": _numpy_logsumexp,
    }
    return functools.partial(numpy_funcs[function], x, -1)


_PEER_PARAMS: list[list[Any]] = [Q_FUNCTIONS, Q_DTYPES, Q_SHAPES]
_PEER_NAMES = ["function", "dtype", "shape"]


class PeerNumpyNaive(_Base):
    """NumPy naive: x - max, exp, sum, divide; cross-entropy through log_softmax."""

    params: ClassVar[list[list[Any]]] = _PEER_PARAMS
    param_names: ClassVar[list[str]] = _PEER_NAMES

    def setup(self, function: str, dtype: str, shape: str) -> None:
        """Build the input and make the warm-up call."""
        x = _logits(shape, dtype, "last", "C")
        self.elements = x.size
        self.call = _numpy_call(function, x)
        self.call()


class PeerScipy(_Base):
    """scipy.special.softmax / log_softmax / logsumexp."""

    params: ClassVar[list[list[Any]]] = [SCIPY_FUNCTIONS, Q_DTYPES, Q_SHAPES]
    param_names: ClassVar[list[str]] = _PEER_NAMES

    def setup(self, function: str, dtype: str, shape: str) -> None:
        """Build the input and make the warm-up call; skip without scipy."""
        try:
            import scipy.special
        except ImportError as exc:
            raise NotImplementedError(f"scipy not installed: {exc}") from exc
        x = _logits(shape, dtype, "last", "C")
        self.elements = x.size
        self.call = functools.partial(getattr(scipy.special, function), x, axis=-1)
        self.call()


class PeerTorch(_Base):
    """PyTorch on ``torch.from_numpy`` with ``torch.set_num_threads(threads)``, float32.

    ``cross_entropy+grad`` is ``F.cross_entropy`` then ``backward()`` on a
    leaf tensor. float32 only: asv starts a process per parameter set and
    each one pays for ``import torch``.
    """

    params: ClassVar[list[list[Any]]] = [
        grid(FUNCTIONS, ["softmax", "cross_entropy+grad"]),
        Q_SHAPES,
        Q_THREADS,
    ]
    param_names: ClassVar[list[str]] = ["function", "shape", "threads"]

    def setup(self, function: str, shape: str, threads: int | str) -> None:
        """Build the input and make the warm-up call; skip without torch."""
        try:
            import torch
            import torch.nn.functional as F  # noqa: N812 - torch's own spelling
        except ImportError as exc:
            raise NotImplementedError(f"torch not installed: {exc}") from exc
        self._old_threads = torch.get_num_threads()
        torch.set_num_threads(n_threads(threads))
        x = torch.from_numpy(_logits(shape, "float32", "last", "C"))
        self.elements = x.numel()
        if function.startswith("cross_entropy"):
            target = torch.from_numpy(_labels(x.shape[0], x.shape[1]))
            if function.endswith("+grad"):
                leaf = x.clone().requires_grad_(True)

                def loss_and_grad() -> object:
                    leaf.grad = None
                    F.cross_entropy(leaf, target).backward()
                    return leaf.grad

                self.call = loss_and_grad
            else:
                self.call = functools.partial(F.cross_entropy, x, target)
        else:
            self.call = functools.partial(getattr(torch, function), x, -1)
        self.call()

    def teardown(self, function: str, shape: str, threads: int | str) -> None:
        """Restore torch's thread count (asv calls this after a skipping setup too)."""
        old = getattr(self, "_old_threads", None)
        if old is not None:
            import torch

            torch.set_num_threads(old)


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
