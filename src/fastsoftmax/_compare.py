"""Side-by-side speed comparison of fastsoftmax with its peers.

The peers are a naive NumPy implementation (``x - max``, ``exp``, ``sum``,
divide), :mod:`scipy.special`, PyTorch (on ``torch.from_numpy`` views, with
``torch.set_num_threads`` matching the thread count under test) and
scikit-learn's ``softmax`` where installed. A peer that cannot be imported is
skipped with a note.

All implementations run in one process on the same input, interleaved per
repetition round (A, B, C, A, B, C, ...) so that machine noise hits all of them
alike, and the report is the ratio ``peer_time / fastsoftmax_time``: a ratio
above 1 means fastsoftmax is faster. Ratios are stable on shared machines where
absolute times drift.

This module is used by ``python -m fastsoftmax`` (through
:func:`run_comparison`) and by ``benchmarks/peer_comparison.py``.

Notes
-----
NumPy, SciPy and scikit-learn are single-threaded for these operations; their
times do not change with the thread count. When PyTorch and fastsoftmax both use
OpenMP with several threads, the worker threads of one runtime may still spin
for a short while after a parallel region and take CPU time from the next call
of the other; pass ``interleave=False`` to measure each implementation in one
uninterrupted block instead.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

__all__ = [
    "DEFAULT_FUNCTIONS",
    "FULL_SHAPES",
    "FUNCTIONS",
    "QUICK_SHAPES",
    "Implementation",
    "Problem",
    "ShapeCase",
    "available_implementations",
    "fastsoftmax_implementation",
    "format_markdown",
    "format_table",
    "measure",
    "plot_throughput",
    "run_comparison",
]

#: A kernel: a zero-argument callable that runs the operation once.
Runner = Callable[[], object]


@dataclass(frozen=True)
class Problem:
    """One input to benchmark.

    Parameters
    ----------
    function : str
        Name of the operation (a key of :data:`FUNCTIONS`).
    x : numpy.ndarray
        The main input (logits).
    axis : int or None
        The axis reduced over.
    extra : Mapping[str, Any]
        Further inputs the operation needs (for example class labels for a
        cross-entropy loss).
    """

    function: str
    x: np.ndarray
    axis: int | None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def elements(self) -> int:
        """Number of input elements processed by one call."""
        return int(self.x.size)


#: A kernel factory: given the problem and the thread count, it does all the
#: preparation that must not be timed (conversions, binding of arguments) and
#: returns the :data:`Runner` to time. It raises ``NotImplementedError`` when
#: the implementation does not support that problem.
KernelFactory = Callable[[Problem, int], Runner]


@dataclass(frozen=True)
class Implementation:
    """One implementation taking part in the comparison.

    Parameters
    ----------
    name : str
        Short name shown in tables ("fastsoftmax", "numpy", "scipy", ...).
    kernels : Mapping[str, KernelFactory]
        Operation name -> kernel factory. Operations missing here are shown
        as "n/a".
    version : str
        Version string shown in the header.
    multithreaded : bool
        Whether the thread count under test is honoured.
    thread_control : callable, optional
        ``thread_control(n)`` returns a context manager that makes the
        implementation use ``n`` threads while it is active (for libraries
        with a global setting such as ``torch.set_num_threads``).
    description : str
        One-line description for the legend.
    """

    name: str
    kernels: Mapping[str, KernelFactory]
    version: str = ""
    multithreaded: bool = False
    thread_control: Callable[[int], contextlib.AbstractContextManager[Any]] | None = None
    description: str = ""


@dataclass(frozen=True)
class ShapeCase:
    """An input shape and the axis to reduce over.

    Parameters
    ----------
    shape : tuple of int
        Array shape.
    axis : int
        Axis reduced over.
    """

    shape: tuple[int, ...]
    axis: int = -1

    @property
    def label(self) -> str:
        """Compact label such as ``1024x1000``."""
        return "x".join(str(n) for n in self.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)


@dataclass(frozen=True)
class FunctionSpec:
    """How to build the inputs of one operation.

    Parameters
    ----------
    name : str
        Operation name, shared by all implementations' ``kernels`` mappings.
    make_problem : callable
        ``make_problem(rng, shape_case, dtype)`` returns a :class:`Problem`.
    """

    name: str
    make_problem: Callable[[np.random.Generator, ShapeCase, np.dtype[Any]], Problem]


def _logits(rng: np.random.Generator, case: ShapeCase, dtype: np.dtype[Any]) -> np.ndarray:
    """Seeded logits with a spread typical of classifier outputs."""
    x = rng.standard_normal(case.shape, dtype=np.float64) * 4.0
    return np.ascontiguousarray(x.astype(dtype))


def _plain_problem(
    name: str,
) -> Callable[[np.random.Generator, ShapeCase, np.dtype[Any]], Problem]:
    def make(rng: np.random.Generator, case: ShapeCase, dtype: np.dtype[Any]) -> Problem:
        return Problem(name, _logits(rng, case, dtype), case.axis)

    return make


def _labelled_problem(
    name: str,
) -> Callable[[np.random.Generator, ShapeCase, np.dtype[Any]], Problem]:
    """Logits plus integer class labels in ``extra["target"]`` (classes along the axis)."""

    def make(rng: np.random.Generator, case: ShapeCase, dtype: np.dtype[Any]) -> Problem:
        x = _logits(rng, case, dtype)
        axis = case.axis % x.ndim
        batch = x.shape[:axis] + x.shape[axis + 1 :]
        target = rng.integers(0, x.shape[axis], size=batch, dtype=np.int64)
        return Problem(name, x, case.axis, {"target": target})

    return make


#: Operations compared, by name. A new operation needs a FunctionSpec here
#: and a kernel factory under the same name in the implementations that have
#: it; the others show "n/a". The cross-entropy entries take the class axis
#: from the shape case and mean reduction (the default of fastsoftmax and
#: PyTorch); ``cross_entropy_grad`` also returns the gradient with respect to
#: the logits (PyTorch: forward and ``backward()``).
FUNCTIONS: dict[str, FunctionSpec] = {
    **{
        name: FunctionSpec(name, _plain_problem(name))
        for name in ("softmax", "log_softmax", "logsumexp")
    },
    "cross_entropy": FunctionSpec("cross_entropy", _labelled_problem("cross_entropy")),
    "cross_entropy_grad": FunctionSpec(
        "cross_entropy_grad", _labelled_problem("cross_entropy_grad")
    ),
}

#: Operations of the default (and quick) comparison.
DEFAULT_FUNCTIONS: tuple[str, ...] = ("softmax", "log_softmax", "logsumexp")

#: Shapes of the full comparison.
FULL_SHAPES: tuple[ShapeCase, ...] = (
    ShapeCase((1024, 1000)),
    ShapeCase((256, 32000)),
    ShapeCase((16, 262144)),
    ShapeCase((4, 1_000_000)),
    ShapeCase((1000, 4096), axis=0),
    ShapeCase((10,)),
    ShapeCase((32, 10)),
)

#: Shapes of the quick comparison.
QUICK_SHAPES: tuple[ShapeCase, ...] = (
    ShapeCase((32, 10)),
    ShapeCase((1024, 1000)),
    ShapeCase((256, 32000)),
    ShapeCase((1000, 4096), axis=0),
)

#: Peers tried by default, in table order.
DEFAULT_PEERS: tuple[str, ...] = ("numpy", "scipy", "torch", "sklearn")

REFERENCE = "fastsoftmax"


# ---------------------------------------------------------------------------
# Implementations
# ---------------------------------------------------------------------------


def _fastsoftmax_kernels(module: Any) -> dict[str, KernelFactory]:
    def bind(name: str) -> KernelFactory:
        def factory(p: Problem, threads: int) -> Runner:
            func, x, axis = getattr(module, name), p.x, p.axis

            # a closure, not functools.partial: a partial holding keyword
            # arguments merges them into a new dict at every call (~0.5 us, a
            # third of a 10-element softmax); the peers' runners bind
            # positional arguments only
            def run() -> Any:
                return func(x, axis=axis, num_threads=threads)

            return run

        return factory

    kernels = {
        name: bind(name)
        for name in ("softmax", "log_softmax", "logsumexp")
        if hasattr(module, name)
    }
    if hasattr(module, "cross_entropy"):

        def xent(return_grad: bool) -> KernelFactory:
            def factory(p: Problem, threads: int) -> Runner:
                return functools.partial(
                    module.cross_entropy,
                    p.x,
                    p.extra["target"],
                    axis=-1 if p.axis is None else p.axis,
                    return_grad=return_grad,
                    num_threads=threads,
                )

            return factory

        kernels["cross_entropy"] = xent(False)
        kernels["cross_entropy_grad"] = xent(True)
    return kernels


def fastsoftmax_implementation(
    module: Any | None = None, *, name: str = REFERENCE
) -> Implementation:
    """Build the fastsoftmax entry of the comparison.

    Parameters
    ----------
    module : module or object, optional
        Anything with ``softmax``, ``log_softmax`` and ``logsumexp`` functions
        taking ``(x, axis=..., num_threads=...)``. Defaults to the installed
        :mod:`fastsoftmax`. Passing a stand-in lets the timing and reporting
        code be exercised without the compiled package.
    name : str
        Name shown in the tables.

    Returns
    -------
    Implementation
        The reference implementation.
    """
    if module is None:
        module = importlib.import_module("fastsoftmax")
    return Implementation(
        name=name,
        kernels=_fastsoftmax_kernels(module),
        version=str(getattr(module, "__version__", "")),
        multithreaded=True,
        description="fastsoftmax (num_threads=<threads>)",
    )


def _numpy_softmax(x: np.ndarray, axis: int | None) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _numpy_log_softmax(x: np.ndarray, axis: int | None) -> np.ndarray:
    s = x - np.max(x, axis=axis, keepdims=True)
    s -= np.log(np.sum(np.exp(s), axis=axis, keepdims=True))
    return s


def _numpy_logsumexp(x: np.ndarray, axis: int | None) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    r = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return np.squeeze(r, axis=axis)


def _numpy_cross_entropy(x: np.ndarray, target: np.ndarray, axis: int) -> np.floating[Any]:
    lsm = _numpy_log_softmax(x, axis)
    picked = np.take_along_axis(lsm, np.expand_dims(target, axis), axis)
    return -np.mean(picked)


def _numpy_cross_entropy_grad(
    x: np.ndarray, target: np.ndarray, axis: int
) -> tuple[np.floating[Any], np.ndarray]:
    lsm = _numpy_log_softmax(x, axis)
    idx = np.expand_dims(target, axis)
    loss = -np.mean(np.take_along_axis(lsm, idx, axis))
    grad = np.exp(lsm)
    np.put_along_axis(grad, idx, np.take_along_axis(grad, idx, axis) - 1, axis)
    grad /= max(target.size, 1)
    return loss, grad


def _numpy_implementation() -> Implementation:
    funcs = {
        "softmax": _numpy_softmax,
        "log_softmax": _numpy_log_softmax,
        "logsumexp": _numpy_logsumexp,
    }

    def bind(func: Callable[[np.ndarray, int | None], np.ndarray]) -> KernelFactory:
        def factory(p: Problem, threads: int) -> Runner:
            return functools.partial(func, p.x, p.axis)

        return factory

    def bind_xent(func: Callable[[np.ndarray, np.ndarray, int], Any]) -> KernelFactory:
        def factory(p: Problem, threads: int) -> Runner:
            return functools.partial(func, p.x, p.extra["target"], -1 if p.axis is None else p.axis)

        return factory

    kernels = {name: bind(f) for name, f in funcs.items()}
    kernels["cross_entropy"] = bind_xent(_numpy_cross_entropy)
    kernels["cross_entropy_grad"] = bind_xent(_numpy_cross_entropy_grad)
    return Implementation(
        name="numpy",
        kernels=kernels,
        version=np.__version__,
        description="NumPy naive: x - max, exp, sum, divide (single-threaded)",
    )


def _scipy_implementation() -> Implementation:
    import scipy
    import scipy.special

    funcs = {
        "softmax": scipy.special.softmax,
        "log_softmax": scipy.special.log_softmax,
        "logsumexp": scipy.special.logsumexp,
    }

    def bind(func: Callable[..., Any]) -> KernelFactory:
        def factory(p: Problem, threads: int) -> Runner:
            return functools.partial(func, p.x, axis=p.axis)

        return factory

    return Implementation(
        name="scipy",
        kernels={name: bind(f) for name, f in funcs.items()},
        version=scipy.__version__,
        description="scipy.special (single-threaded)",
    )


def _torch_implementation() -> Implementation:
    import torch

    funcs = {
        "softmax": torch.softmax,
        "log_softmax": torch.log_softmax,
        "logsumexp": torch.logsumexp,
    }

    def bind(func: Callable[..., Any]) -> KernelFactory:
        def factory(p: Problem, threads: int) -> Runner:
            if p.axis is None:
                raise NotImplementedError("torch needs an explicit dim")
            t = torch.from_numpy(p.x)
            return functools.partial(func, t, p.axis)

        return factory

    @contextlib.contextmanager
    def thread_control(n: int) -> Iterator[None]:
        old = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(old)

    def class_dim_view(p: Problem) -> tuple[Any, Any, bool]:
        """Logits with the classes where torch expects them (dim 1, or 0 if 1-D).

        Returns the logits tensor, the target tensor and whether the logits
        are a transposed view of ``p.x``.
        """
        x, axis = p.x, (-1 if p.axis is None else p.axis) % p.x.ndim
        transposed = x.ndim == 2 and axis == 0
        if x.ndim > 2 and axis != 1:
            raise NotImplementedError("torch cross_entropy wants the classes in dim 1")
        t = torch.from_numpy(x.T if transposed else x)
        return t, torch.from_numpy(np.asarray(p.extra["target"])), transposed

    def xent(p: Problem, threads: int) -> Runner:
        t, target, _ = class_dim_view(p)
        return functools.partial(torch.nn.functional.cross_entropy, t, target)

    def xent_grad(p: Problem, threads: int) -> Runner:
        t, target, transposed = class_dim_view(p)
        leaf = t.detach().requires_grad_(True)

        def run() -> tuple[Any, Any]:
            leaf.grad = None
            loss = torch.nn.functional.cross_entropy(leaf, target)
            loss.backward()
            grad = leaf.grad
            return loss, (grad.T if transposed else grad)

        return run

    kernels: dict[str, KernelFactory] = {name: bind(f) for name, f in funcs.items()}
    kernels["cross_entropy"] = xent
    kernels["cross_entropy_grad"] = xent_grad
    return Implementation(
        name="torch",
        kernels=kernels,
        version=str(torch.__version__),
        multithreaded=True,
        thread_control=thread_control,
        description="PyTorch on torch.from_numpy (torch.set_num_threads(<threads>))",
    )


def _sklearn_implementation() -> Implementation:
    import sklearn
    from sklearn.utils.extmath import softmax

    def factory(p: Problem, threads: int) -> Runner:
        if p.x.ndim != 2 or p.axis not in (-1, 1):
            raise NotImplementedError("sklearn softmax works on rows of 2-D arrays only")
        return functools.partial(softmax, p.x, copy=True)

    kernels: dict[str, KernelFactory] = {"softmax": factory}
    try:
        from sklearn._loss.loss import HalfMultinomialLoss
    except ImportError:  # a private module: absent or moved in some releases
        HalfMultinomialLoss = None  # noqa: N806
    if HalfMultinomialLoss is not None:
        kernels.update(_sklearn_xent_kernels(HalfMultinomialLoss))

    return Implementation(
        name="sklearn",
        kernels=kernels,
        version=str(sklearn.__version__),
        description=(
            "sklearn.utils.extmath.softmax (2-D, last axis only); cross-entropy: "
            "sklearn._loss.loss.HalfMultinomialLoss(n_threads=<threads>)"
        ),
    )


def _sklearn_xent_kernels(loss_class: Any) -> dict[str, KernelFactory]:
    """HalfMultinomialLoss.loss / .loss_gradient as the mean cross-entropy.

    scikit-learn returns per-sample losses ``w_i (logsumexp(z_i) - z_{i,y_i})``
    and gradients ``w_i (softmax(z_i) - onehot(y_i))``; sample weights
    ``w_i = 1 / N`` make them the terms of the mean loss and its gradient, so
    the runner only sums the N losses (its outputs are allocated per call, as
    are fastsoftmax's and PyTorch's).
    """

    def prepare(p: Problem) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, bool]:
        x, axis = p.x, (-1 if p.axis is None else p.axis) % p.x.ndim
        if x.ndim != 2:
            raise NotImplementedError("HalfMultinomialLoss takes (n_samples, n_classes)")
        transposed = axis == 0
        raw = x.T if transposed else x  # classes last; a transposed view is fine
        n = raw.shape[0]
        y = np.asarray(p.extra["target"]).astype(x.dtype)
        sw = np.full(n, 1.0 / n, dtype=x.dtype) if n else np.zeros(0, x.dtype)
        return loss_class(n_classes=raw.shape[1]), raw, y, sw, transposed

    def xent(p: Problem, threads: int) -> Runner:
        loss, raw, y, sw, _ = prepare(p)

        def run() -> Any:
            return loss.loss(y, raw, sample_weight=sw, n_threads=threads).sum()

        return run

    def xent_grad(p: Problem, threads: int) -> Runner:
        loss, raw, y, sw, transposed = prepare(p)

        def run() -> tuple[Any, Any]:
            rows, grad = loss.loss_gradient(y, raw, sample_weight=sw, n_threads=threads)
            return rows.sum(), (grad.T if transposed else grad)

        return run

    return {"cross_entropy": xent, "cross_entropy_grad": xent_grad}


_PEER_BUILDERS: dict[str, Callable[[], Implementation]] = {
    "numpy": _numpy_implementation,
    "scipy": _scipy_implementation,
    "torch": _torch_implementation,
    "sklearn": _sklearn_implementation,
}


def available_implementations(
    peers: Sequence[str] | None = None,
    *,
    reference: Implementation | None = None,
) -> tuple[list[Implementation], list[str]]:
    """Build the list of implementations that can run here.

    Parameters
    ----------
    peers : sequence of str, optional
        Peer names among ``"numpy"``, ``"scipy"``, ``"torch"``,
        ``"sklearn"``. Defaults to all of them.
    reference : Implementation, optional
        The implementation the peers are compared to; defaults to the
        installed fastsoftmax (see :func:`fastsoftmax_implementation`).

    Returns
    -------
    implementations : list of Implementation
        The reference first, then the peers that could be imported.
    notes : list of str
        One line for each peer that was skipped, saying why.

    Raises
    ------
    ValueError
        If an unknown peer name is given.
    """
    names = list(DEFAULT_PEERS if peers is None else peers)
    unknown = [n for n in names if n not in _PEER_BUILDERS]
    if unknown:
        raise ValueError(f"peers: unknown peer(s) {unknown}; choose from {sorted(_PEER_BUILDERS)}")
    impls = [reference if reference is not None else fastsoftmax_implementation()]
    notes: list[str] = []
    for name in names:
        try:
            impls.append(_PEER_BUILDERS[name]())
        except ImportError as exc:
            notes.append(f"{name}: skipped, not importable ({exc})")
    return impls, notes


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


#: Clocks a comparison can time with. "thread" (the calling thread's CPU
#: time) is the steadier choice for one-thread runs on a shared, loaded
#: machine: time the scheduler gives to other processes is not counted. It
#: does not see work done on other threads, so it is wrong for num_threads > 1.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "thread": time.thread_time}


def _calibrate(
    run: Runner, min_sample: float, max_number: int = 100_000, clock=time.perf_counter
) -> int:
    """Return the number of calls per sample that makes a sample last ``min_sample``."""
    t0 = clock()
    run()
    t = clock() - t0
    if t >= min_sample:
        return 1
    probe = 10
    t0 = clock()
    for _ in range(probe):
        run()
    per_call = max((clock() - t0) / probe, 1e-9)
    return max(1, min(max_number, math.ceil(min_sample / per_call)))


def _sample(run: Runner, number: int, clock=time.perf_counter) -> float:
    t0 = clock()
    for _ in range(number):
        run()
    return (clock() - t0) / number


def measure(
    runners: Mapping[str, Runner],
    *,
    min_time: float = 0.2,
    min_repeats: int = 3,
    max_repeats: int = 1000,
    min_sample: float = 2e-4,
    interleave: bool = True,
    warmup: bool = True,
    clock: str = "wall",
) -> dict[str, tuple[float, int]]:
    """Time several runners side by side and return their median times.

    Parameters
    ----------
    runners : Mapping[str, Runner]
        Name -> zero-argument callable.
    min_time : float
        Time budget per runner in seconds: repetition stops once the rounds
        have taken ``min_time * len(runners)`` in all (and at least
        ``min_repeats`` rounds ran).
    min_repeats, max_repeats : int
        Bounds on the number of timed samples per runner.
    min_sample : float
        Short calls are repeated inside one sample until it lasts this long,
        so that timer resolution does not dominate.
    interleave : bool
        Run the runners in turn within each repetition round (A, B, C, A, B,
        C, ...). If False, each runner is timed in one block.
    warmup : bool
        Call each runner once before timing (thread pools, page faults,
        lazy initialisation).
    clock : {"wall", "thread"}
        What a sample measures (see :data:`CLOCKS`); the budgets stay in
        wall time.

    Returns
    -------
    dict
        Name -> ``(median seconds per call, number of samples)``.
    """
    names = list(runners)
    if warmup:
        for name in names:
            runners[name]()
    tick = CLOCKS[clock]
    numbers = {name: _calibrate(runners[name], min_sample, clock=tick) for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if interleave:
            start = time.perf_counter()
            budget = min_time * len(names)
            for i in range(max_repeats):
                for name in names:
                    samples[name].append(_sample(runners[name], numbers[name], tick))
                if i + 1 >= min_repeats and time.perf_counter() - start >= budget:
                    break
        else:
            for name in names:
                start = time.perf_counter()
                for i in range(max_repeats):
                    samples[name].append(_sample(runners[name], numbers[name], tick))
                    if i + 1 >= min_repeats and time.perf_counter() - start >= min_time:
                        break
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: (float(np.median(s)), len(s)) for name, s in samples.items()}


# ---------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------


def _resolve_threads(threads: Sequence[int | str], max_threads: int) -> list[int]:
    out: list[int] = []
    for t in threads:
        n = max_threads if t in ("all", "max", -1) else int(t)
        if n < 1:
            raise ValueError(f"threads: thread counts must be >= 1 or 'all', got {t!r}")
        if n not in out:
            out.append(n)
    return out


def _max_threads() -> int:
    try:
        info = importlib.import_module("fastsoftmax").runtime()
        return int(info.get("max_threads") or 0) or (os.cpu_count() or 1)
    except Exception:  # noqa: BLE001 - any failure: fall back to the CPU count
        return os.cpu_count() or 1


def _tolerance(dtype: np.dtype[Any]) -> tuple[float, float]:
    # Loose on purpose: this catches a wrong axis or a broken peer, it is not
    # an accuracy test.
    if dtype == np.float64:
        return 1e-7, 1e-10
    return 1e-3, 1e-5


def _as_float64(result: object) -> list[np.ndarray]:
    """Convert a result (array, scalar, tensor, or a tuple of them) to float64 arrays."""
    parts = result if isinstance(result, tuple | list) else (result,)
    out = []
    for part in parts:
        if hasattr(part, "detach"):  # a torch tensor, maybe requiring grad
            part = part.detach().cpu().numpy()
        out.append(np.asarray(part, dtype=np.float64))
    return out


def _agrees(result: object, expected: list[np.ndarray], dtype: np.dtype[Any]) -> bool:
    rtol, atol = _tolerance(dtype)
    try:
        got = _as_float64(result)
    except (TypeError, ValueError, RuntimeError):
        return False
    return len(got) == len(expected) and all(
        g.shape == e.shape and bool(np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True))
        for g, e in zip(got, expected, strict=True)
    )


@contextlib.contextmanager
def _threads_for(impls: Sequence[Implementation], n: int) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for impl in impls:
            if impl.thread_control is not None:
                stack.enter_context(impl.thread_control(n))
        yield


def _compare_case(
    problem: Problem,
    impls: Sequence[Implementation],
    threads: int,
    timing: Mapping[str, Any],
) -> dict[str, Any]:
    """Time one problem with every implementation; returns the result record."""
    runners: dict[str, Runner] = {}
    skipped: dict[str, str] = {}
    mismatch: list[str] = []
    expected: list[np.ndarray] | None = None
    for impl in impls:
        factory = impl.kernels.get(problem.function)
        if factory is None:
            skipped[impl.name] = "not provided"
            continue
        try:
            run = factory(problem, threads)
            result = run()  # also the warm-up call
        except NotImplementedError as exc:
            skipped[impl.name] = str(exc) or "not supported"
            continue
        except Exception as exc:  # noqa: BLE001 - a failing peer must not stop the run
            skipped[impl.name] = f"error: {type(exc).__name__}: {exc}"
            continue
        if expected is None:
            expected = _as_float64(result)
        elif not _agrees(result, expected, problem.x.dtype):
            mismatch.append(impl.name)
        runners[impl.name] = run
    timed = measure(runners, warmup=False, **timing) if runners else {}
    times = {name: t for name, (t, _) in timed.items()}
    ref_name = impls[0].name
    ref_time = times.get(ref_name)
    speedup = {
        name: (t / ref_time if ref_time else float("nan"))
        for name, t in times.items()
        if name != ref_name
    }
    return {
        "function": problem.function,
        "shape": tuple(problem.x.shape),
        "axis": problem.axis,
        "dtype": str(problem.x.dtype),
        "threads": threads,
        "elements": problem.elements,
        "reference": ref_name,
        "implementations": [impl.name for impl in impls],
        "times": times,
        "repeats": {name: n for name, (_, n) in timed.items()},
        "speedup": speedup,
        "skipped": skipped,
        "mismatch": mismatch,
    }


def _header_lines(impls: Sequence[Implementation], notes: Sequence[str]) -> list[str]:
    lines = []
    ref = impls[0]
    info: dict[str, Any] = {}
    if ref.name == REFERENCE:
        with contextlib.suppress(Exception):
            info = dict(importlib.import_module("fastsoftmax").runtime())
    if info:
        lines.append(
            f"{ref.name} {info.get('version', ref.version)}: isa {info.get('isa', '?')}"
            f" (compiled {_join(info.get('isa_compiled'))};"
            f" supported {_join(info.get('isa_supported'))}),"
            f" OpenMP {info.get('openmp_runtime') or info.get('openmp', '?')},"
            f" max threads {info.get('max_threads', '?')}"
        )
    else:
        lines.append(f"{ref.name} {ref.version}".rstrip())
    for impl in impls[1:]:
        lines.append(f"{impl.name} {impl.version}: {impl.description}")
    lines.extend(notes)
    lines.append(
        f"cells: median time per call, then peer time / {ref.name} time (> 1: {ref.name} is faster)"
    )
    return lines


def _join(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, str):
        return value
    try:
        return ", ".join(str(v) for v in value)
    except TypeError:
        return str(value)


def run_comparison(
    quick: bool = False,
    *,
    functions: Sequence[str] | None = None,
    shapes: Sequence[ShapeCase | tuple[tuple[int, ...], int]] | None = None,
    dtypes: Sequence[str | np.dtype[Any] | type] | None = None,
    threads: Sequence[int | str] | None = None,
    peers: Sequence[str] | None = None,
    implementations: Sequence[Implementation] | None = None,
    min_time: float | None = None,
    max_repeats: int = 1000,
    interleave: bool = True,
    seed: int = 0,
    file: TextIO | None = None,
    verbose: bool = True,
    clock: str = "wall",
) -> list[dict[str, Any]]:
    """Compare fastsoftmax with NumPy, SciPy, PyTorch and scikit-learn.

    Parameters
    ----------
    quick : bool
        A short run (a few shapes, float32, one thread, 0.05 s per
        implementation and case) that finishes in seconds.
    functions : sequence of str, optional
        Operations to compare, keys of :data:`FUNCTIONS`; default
        :data:`DEFAULT_FUNCTIONS` (softmax, log_softmax, logsumexp). Add
        ``"cross_entropy"`` / ``"cross_entropy_grad"`` for the loss.
    shapes : sequence of ShapeCase or (shape, axis), optional
        Inputs; default :data:`FULL_SHAPES` (:data:`QUICK_SHAPES` if quick).
    dtypes : sequence of dtype-like, optional
        Default float32 and float64 (float32 if quick).
    threads : sequence of int or "all", optional
        Thread counts; ``"all"`` is fastsoftmax's ``max_threads``. Default
        ``(1, "all")`` (``(1,)`` if quick).
    peers : sequence of str, optional
        Peers to include (see :func:`available_implementations`).
    implementations : sequence of Implementation, optional
        Use exactly these instead, the first being the reference the ratios
        are computed against. Overrides ``peers``.
    min_time : float, optional
        Time budget per implementation and case in seconds; default 0.2
        (0.05 if quick).
    max_repeats : int
        Maximum number of timed samples per implementation and case.
    interleave : bool
        Interleave implementations per repetition round (see :func:`measure`).
    seed : int
        Seed of the random inputs.
    clock : {"wall", "thread"}
        "thread" times the calling thread's CPU time (steadier on a loaded
        machine; only for one-thread cases), see :data:`CLOCKS`.
    file : file-like, optional
        Where the table is printed; default ``sys.stdout``.
    verbose : bool
        Print the header and one table row per case as it completes, then a
        summary.

    Returns
    -------
    list of dict
        One record per case with keys ``function``, ``shape``, ``axis``,
        ``dtype``, ``threads``, ``elements``, ``reference``,
        ``implementations`` (names in table order), ``times``
        (name -> median seconds per call), ``repeats``, ``speedup`` (peer
        name -> peer time / reference time), ``skipped`` (name -> reason) and
        ``mismatch`` (names whose result disagreed with the reference).
    """
    out = sys.stdout if file is None else file
    if implementations is None:
        impls, notes = available_implementations(peers)
    else:
        impls, notes = list(implementations), []
    if not impls:
        raise ValueError("implementations: need at least one implementation")
    func_names = list(DEFAULT_FUNCTIONS if functions is None else functions)
    unknown = [f for f in func_names if f not in FUNCTIONS]
    if unknown:
        raise ValueError(f"functions: unknown function(s) {unknown}; choose from {list(FUNCTIONS)}")
    cases = [
        s if isinstance(s, ShapeCase) else ShapeCase(tuple(s[0]), s[1])
        for s in (shapes if shapes is not None else (QUICK_SHAPES if quick else FULL_SHAPES))
    ]
    dts = [
        np.dtype(d)
        for d in (
            dtypes if dtypes is not None else (("float32",) if quick else ("float32", "float64"))
        )
    ]
    thread_counts = _resolve_threads(
        threads if threads is not None else ((1,) if quick else (1, "all")),
        _max_threads(),
    )
    timing = {
        "min_time": min_time if min_time is not None else (0.05 if quick else 0.2),
        "max_repeats": max_repeats,
        "min_sample": 1e-4 if quick else 2e-4,
        "interleave": interleave,
        "clock": clock,
    }
    if clock not in CLOCKS:
        raise ValueError(f"clock: expected one of {sorted(CLOCKS)}, got {clock!r}")
    names = [impl.name for impl in impls]
    printer = _TablePrinter(names, impls[0].name, func_names)
    if verbose:
        for line in _header_lines(impls, notes):
            print(line, file=out)
        print(printer.header(), file=out, flush=True)
    results: list[dict[str, Any]] = []
    rng = np.random.default_rng(seed)
    for n_threads in thread_counts:
        with _threads_for(impls, n_threads):
            for dtype in dts:
                for fname in func_names:
                    for case in cases:
                        problem = FUNCTIONS[fname].make_problem(rng, case, dtype)
                        record = _compare_case(problem, impls, n_threads, timing)
                        results.append(record)
                        if verbose:
                            print(printer.row(record), file=out, flush=True)
    if verbose:
        for line in printer.footer(results):
            print(line, file=out)
        out.flush()
    return results


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------


def _format_time(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def _format_ratio(ratio: float | None) -> str:
    if ratio is None or not math.isfinite(ratio):
        return ""
    return f"{ratio:.3g}x" if ratio < 100 else f"{ratio:.0f}x"


def _geomean(values: Sequence[float]) -> float:
    vals = [v for v in values if v > 0 and math.isfinite(v)]
    if not vals:
        return float("nan")
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


def _case_cells(record: Mapping[str, Any]) -> list[str]:
    axis = record["axis"]
    return [
        str(record["function"]),
        "x".join(str(n) for n in record["shape"]),
        "None" if axis is None else str(axis),
        str(record["dtype"]),
        str(record["threads"]),
    ]


_CASE_HEADERS = ["function", "shape", "axis", "dtype", "threads"]
_CASE_WIDTHS = (11, 11, 4, 7, 7)


class _TablePrinter:
    """Fixed-width table printed one row at a time."""

    def __init__(self, names: Sequence[str], reference: str, functions: Sequence[str] = ()) -> None:
        self.names = list(names)
        self.reference = reference
        self.peer_width = 19
        self.widths = list(_CASE_WIDTHS)
        self.widths[0] = max([self.widths[0], *(len(f) for f in functions)])

    def _line(self, case_cells: Sequence[str], impl_cells: Sequence[str]) -> str:
        parts = [
            c.ljust(w) if i in (0, 1, 3) else c.rjust(w)
            for i, (c, w) in enumerate(zip(case_cells, self.widths, strict=True))
        ]
        return "  ".join(parts) + " | " + " | ".join(c.rjust(self.peer_width) for c in impl_cells)

    def header(self) -> str:
        head = self._line(_CASE_HEADERS, [f"{n} " for n in self.names])
        return head + "\n" + "-" * len(head)

    def cell(self, record: Mapping[str, Any], name: str) -> str:
        if name in record["skipped"]:
            return "n/a "
        t = record["times"].get(name)
        text = _format_time(t)
        if name != record["reference"]:
            ratio = _format_ratio(record["speedup"].get(name))
            text = f"{text:>9} {ratio:>8}" if ratio else text
        return text + ("!" if name in record["mismatch"] else " ")

    def row(self, record: Mapping[str, Any]) -> str:
        return self._line(_case_cells(record), [self.cell(record, n) for n in self.names])

    def footer(self, results: Sequence[Mapping[str, Any]]) -> list[str]:
        lines = []
        parts = []
        for name in self.names:
            if name == self.reference:
                continue
            ratios = [r["speedup"][name] for r in results if name in r["speedup"]]
            if ratios:
                parts.append(
                    f"{name} {_geomean(ratios):.3g}x"
                    f" (min {min(ratios):.3g}x, max {max(ratios):.3g}x)"
                )
        if parts:
            lines.append(
                f"geometric mean of peer time / {self.reference} time: " + "; ".join(parts)
            )
        if any(r["mismatch"] for r in results):
            lines.append("!: the result disagreed with the reference beyond a loose tolerance")
        reasons = sorted({f"{n}: {why}" for r in results for n, why in r["skipped"].items()})
        if reasons:
            lines.append("n/a: " + "; ".join(reasons))
        return lines


def _names_in(results: Sequence[Mapping[str, Any]]) -> tuple[list[str], str]:
    if not results:
        return [], REFERENCE
    reference = results[0]["reference"]
    names = [reference]
    for r in results:
        for n in r.get("implementations", [*r["times"], *r["skipped"]]):
            if n not in names:
                names.append(n)
    return names, reference


def format_table(results: Sequence[Mapping[str, Any]]) -> str:
    """Format comparison results as the table printed by :func:`run_comparison`.

    Parameters
    ----------
    results : sequence of dict
        Records returned by :func:`run_comparison`.

    Returns
    -------
    str
        The table, with a summary line of geometric-mean ratios.
    """
    names, reference = _names_in(results)
    printer = _TablePrinter(names, reference, [str(r["function"]) for r in results])
    lines = [printer.header()]
    lines += [printer.row(r) for r in results]
    lines += printer.footer(results)
    return "\n".join(lines)


def format_markdown(results: Sequence[Mapping[str, Any]]) -> str:
    """Format comparison results as a Markdown table (for the README).

    Parameters
    ----------
    results : sequence of dict
        Records returned by :func:`run_comparison`.

    Returns
    -------
    str
        A Markdown table: one row per case, one column per implementation;
        peer cells hold the median time and, in bold, peer time / reference
        time, followed by an explanatory line.
    """
    names, reference = _names_in(results)
    head = ["function", "shape", "axis", "dtype", "threads", *names]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] * 5 + ["---:"] * len(names)) + "|",
    ]
    for r in results:
        cells = _case_cells(r)
        cells[1] = cells[1].replace("x", "\u00d7")
        for name in names:
            if name in r["skipped"] or name not in r["times"]:
                cells.append("n/a")
                continue
            text = _format_time(r["times"][name])
            if name != reference:
                ratio = _format_ratio(r["speedup"].get(name))
                if ratio:
                    text += f" (**{ratio}**)"
            if name in r["mismatch"]:
                text += " \u2020"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"Median time per call; in bold, peer time / {reference} time"
        f" (> 1 means {reference} is faster)."
    )
    if any(r["mismatch"] for r in results):
        lines.append("\u2020 result disagreed with the reference beyond a loose tolerance.")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Plot
# ---------------------------------------------------------------------------


def plot_throughput(
    path: str | os.PathLike[str],
    *,
    function: str = "softmax",
    dtype: str | np.dtype[Any] | type = "float32",
    threads: int | str = 1,
    total_elements: int = 2**22,
    log2_lengths: Sequence[int] | None = None,
    peers: Sequence[str] | None = ("torch", "scipy", "numpy"),
    implementations: Sequence[Implementation] | None = None,
    min_time: float | None = None,
    quick: bool = False,
    seed: int = 0,
    title: str | None = None,
) -> list[dict[str, Any]]:
    """Plot throughput (elements per second) against row length and save it as a PNG.

    Each point is an array of ``total_elements // n`` rows of ``n`` elements
    reduced over the last axis, so every call touches about the same amount of
    memory and only the row length changes.

    Parameters
    ----------
    path : path-like
        Output file (PNG).
    function : str
        Operation to plot.
    dtype : dtype-like
        Input dtype.
    threads : int or "all"
        Thread count.
    total_elements : int
        Approximate number of elements per call.
    log2_lengths : sequence of int, optional
        Row lengths as powers of two; default 4 .. 20 (every other one if
        quick).
    peers : sequence of str, optional
        Peers to include.
    implementations : sequence of Implementation, optional
        Use exactly these (first is the reference); overrides ``peers``.
    min_time : float, optional
        Time budget per implementation and point; default 0.2 (0.05 if quick).
    quick : bool
        Fewer points and a shorter budget.
    seed : int
        Seed of the random inputs.
    title : str, optional
        Plot title.

    Returns
    -------
    list of dict
        One record per row length: ``row_length``, ``rows``, ``elements``
        and ``throughput`` (name -> elements per second).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter

    if implementations is None:
        impls, _ = available_implementations(peers)
    else:
        impls = list(implementations)
    if log2_lengths is None:
        log2_lengths = range(4, 21, 2 if quick else 1)
    (n_threads,) = _resolve_threads([threads], _max_threads())
    dt = np.dtype(dtype)
    spec = FUNCTIONS[function]
    rng = np.random.default_rng(seed)
    timing = {
        "min_time": min_time if min_time is not None else (0.05 if quick else 0.2),
        "min_sample": 1e-4 if quick else 2e-4,
    }
    data: list[dict[str, Any]] = []
    with _threads_for(impls, n_threads):
        for k in log2_lengths:
            n = 2**k
            rows = max(1, total_elements // n)
            problem = spec.make_problem(rng, ShapeCase((rows, n)), dt)
            record = _compare_case(problem, impls, n_threads, timing)
            data.append(
                {
                    "row_length": n,
                    "rows": rows,
                    "elements": problem.elements,
                    "throughput": {
                        name: problem.elements / t for name, t in record["times"].items() if t > 0
                    },
                }
            )

    fig = Figure(figsize=(9.0, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    markers = "os^vDx+*"
    for i, impl in enumerate(impls):
        pts = [
            (d["row_length"], d["throughput"][impl.name])
            for d in data
            if impl.name in d["throughput"]
        ]
        if not pts:
            continue
        xs, ys = zip(*pts, strict=True)
        ax.plot(
            xs,
            ys,
            marker=markers[i % len(markers)],
            linewidth=2.2 if i == 0 else 1.4,
            label=f"{impl.name} {impl.version}".strip(),
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(f"row length (elements; rows x length \u2248 {total_elements:,})")
    ax.set_ylabel("throughput (elements / s)")
    thread_text = "1 thread" if n_threads == 1 else f"{n_threads} threads"
    ax.set_title(title or f"{function}, {dt.name}, {thread_text}")
    ax.yaxis.set_major_formatter(EngFormatter(places=0))
    ax.yaxis.set_minor_formatter(EngFormatter(places=0))
    ax.grid(True, which="both", alpha=0.3)
    fig.legend(loc="outside right upper")
    fig.savefig(os.fspath(path), dpi=120)
    return data
