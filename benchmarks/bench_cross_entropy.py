"""asv benchmarks: cross_entropy's loss and gradient against its yardsticks.

- ``LossGradient``: fastsoftmax loss + gradient (fresh gradient, preallocated
  ``grad_out``, in place ``grad_out=logits``), fastsoftmax's softmax on the
  same array (the cost the fused call is measured against), PyTorch's
  ``F.cross_entropy`` + ``backward()`` and scikit-learn's
  ``HalfMultinomialLoss.loss_gradient``, at the same thread count. A peer that
  is not installed is skipped (``NotImplementedError`` in ``setup``).
- ``Memory``: peak memory of one loss + gradient call in place and with a fresh
  gradient; the in-place call adds no array of the logits' size, so its peak
  is one logits array below the fresh one.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

try:
    from . import QUICK, grid
except ImportError:  # run as a script: the full grid

    QUICK = False

    def grid(full, quick):
        return list(full)


# FASTSOFTMAX_BENCH_QUICK (CI's does-it-run check) trims each grid: see benchmarks.grid
SHAPES = (
    {"small 64x100": (64, 100)}
    if QUICK
    else {"medium 1024x1000": (1024, 1000), "vocab 256x32000": (256, 32000)}
)
VARIANTS = ["fresh", "grad_out", "in_place", "softmax", "torch", "sklearn"]
SEED = 20240601


def _case(shape: tuple[int, int], dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Seeded logits and labels, built without a temporary larger than the logits
    (the process peak that Memory reports includes setup)."""
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal(shape, dtype=dtype)
    x *= 4.0
    return x, rng.integers(0, shape[1], shape[0])


def _threads(threads: int | str) -> int:
    if threads != "all":
        return int(threads)
    try:
        import fastsoftmax

        return int(fastsoftmax.runtime().get("max_threads") or 0) or (os.cpu_count() or 1)
    except Exception:  # noqa: BLE001 - any failure: fall back to the CPU count
        return os.cpu_count() or 1


def _torch_runner(x: np.ndarray, target: np.ndarray, n: int) -> Callable[[], object]:
    try:
        import torch
    except ImportError as exc:
        raise NotImplementedError(f"torch is not installed: {exc}") from None
    torch.set_num_threads(n)
    leaf = torch.from_numpy(x.copy()).requires_grad_(True)
    t = torch.from_numpy(target)

    def run() -> object:
        leaf.grad = None
        loss = torch.nn.functional.cross_entropy(leaf, t)
        loss.backward()
        return leaf.grad

    return run


def _sklearn_runner(x: np.ndarray, target: np.ndarray, n: int) -> Callable[[], object]:
    try:
        from sklearn._loss.loss import HalfMultinomialLoss
    except ImportError as exc:
        raise NotImplementedError(f"scikit-learn is not installed: {exc}") from None
    loss = HalfMultinomialLoss(n_classes=x.shape[1])
    y = target.astype(x.dtype)
    # 1/N per sample: the terms of the mean loss and of its gradient
    sw = np.full(x.shape[0], 1.0 / x.shape[0], dtype=x.dtype)
    return functools.partial(loss.loss_gradient, y, x, sample_weight=sw, n_threads=n)


class LossGradient:
    """Mean cross-entropy and its gradient; float32 and float64, 1 and all threads."""

    params: ClassVar[list[list[Any]]] = [
        VARIANTS,
        grid(["float32", "float64"], ["float32"]),
        list(SHAPES),
        grid([1, "all"], [1]),
    ]
    param_names: ClassVar[list[str]] = ["variant", "dtype", "shape", "threads"]
    timeout = 180.0

    def setup(self, variant: str, dtype: str, shape: str, threads: int | str) -> None:
        """Build the inputs and make the warm-up call."""
        import fastsoftmax as fs

        x, target = _case(SHAPES[shape], dtype)
        n = _threads(threads)
        if variant == "fresh":
            self.call = functools.partial(
                fs.cross_entropy, x, target, return_grad=True, num_threads=n
            )
        elif variant == "grad_out":
            g = np.empty_like(x)
            self.call = functools.partial(fs.cross_entropy, x, target, grad_out=g, num_threads=n)
        elif variant == "in_place":
            # the logits are overwritten by the gradient each call; the cost
            # does not depend on the values
            self.call = functools.partial(fs.cross_entropy, x, target, grad_out=x, num_threads=n)
        elif variant == "softmax":
            out = np.empty_like(x)
            self.call = functools.partial(fs.softmax, x, axis=-1, out=out, num_threads=n)
        elif variant == "torch":
            self.call = _torch_runner(x, target, n)
        else:
            self.call = _sklearn_runner(x, target, n)
        self.call()

    def time_call(self, *params: Any) -> None:
        """Time one call."""
        self.call()


class Memory:
    """Peak memory of one float32 loss + gradient call (asv records the process peak)."""

    params: ClassVar[list[list[Any]]] = [list(SHAPES)]
    param_names: ClassVar[list[str]] = ["shape"]

    def setup(self, shape: str) -> None:
        """Build the inputs (they count towards both peaks alike)."""
        import fastsoftmax  # noqa: F401 - import cost outside the measured call

        self.x, self.target = _case(SHAPES[shape], "float32")

    def peakmem_in_place(self, shape: str) -> None:
        """grad_out=logits: the gradient overwrites the logits."""
        import fastsoftmax as fs

        fs.cross_entropy(self.x, self.target, grad_out=self.x, num_threads=1)

    def peakmem_fresh_grad(self, shape: str) -> None:
        """A newly allocated gradient: one array of the logits' size more."""
        import fastsoftmax as fs

        fs.cross_entropy(self.x, self.target, return_grad=True, num_threads=1)


def _ratios(rounds: int = 30, threads: tuple[int, ...] = (1, 2)) -> None:
    """Print loss + gradient times (float32) side by side, interleaved, best of
    ``rounds``. One thread is timed in thread CPU time (steadier than wall
    time on a loaded machine), more threads in wall time."""
    import time

    for n in threads:
        clock = time.thread_time if n == 1 else time.perf_counter
        for label, shape in SHAPES.items():
            runners = {}
            for variant in VARIANTS:
                bench = LossGradient()
                try:
                    bench.setup(variant, "float32", label, n)
                except NotImplementedError as exc:
                    print(f"  {variant}: skipped ({exc})")
                    continue
                runners[variant] = bench.call
            best = dict.fromkeys(runners, float("inf"))
            for _ in range(rounds):
                for name, run in runners.items():
                    t0 = clock()
                    run()
                    best[name] = min(best[name], clock() - t0)
            ref = best["grad_out"]
            cells = "  ".join(f"{k} {v * 1e3:.2f} ms" for k, v in best.items())
            print(f"{shape} threads={n} ({clock.__name__}): {cells}")
            torch_r = best.get("torch", float("nan")) / ref
            sklearn_r = best.get("sklearn", float("nan")) / ref
            print(
                f"    grad_out / softmax {ref / best['softmax']:.2f};  "
                f"torch / grad_out {torch_r:.2f};  sklearn / grad_out {sklearn_r:.2f}"
            )

if __name__ == "__main__":
    _ratios()
