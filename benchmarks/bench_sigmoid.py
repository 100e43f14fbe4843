"""asv benchmarks: the sigmoid family of fastsoftmax and PyTorch side by side.

- ``Elementwise``: sigmoid / log_sigmoid x dtype x shape, one thread.
- ``BinaryLosses``: binary_cross_entropy_with_logits and sigmoid_focal_loss,
  loss or loss and gradient, x dtype x thread count, on the multi-label shape
  (4096, 1000) with ~10 % positive targets.
- ``PeerTorchElementwise``, ``PeerTorchBinaryLosses``: the same grids in
  PyTorch (``torch.set_num_threads``); the gradient is ``backward()`` of the
  loss (forward + backward, as a training step pays), the focal loss is
  torchvision.ops.sigmoid_focal_loss's formula.

Every class has ``time_call`` and ``track_elements_per_second``. Inputs are
seeded and built in ``setup``, which makes one warm-up call; a peer that is not
installed is skipped (``NotImplementedError`` in ``setup``).
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np

from . import QUICK, grid
from .bench_softmax import _Base, _n_threads

# FASTSOFTMAX_BENCH_QUICK (CI's does-it-run check) trims each grid: see benchmarks.grid
DTYPES = grid(["float32", "float64"], ["float32"])
ELEMENTWISE_SHAPES = (
    {"small 64x100": (64, 100)}
    if QUICK
    else {"medium 1024x1000": (1024, 1000), "large 4096x4096": (4096, 4096)}
)
LOSS_SHAPE = (64, 100) if QUICK else (4096, 1000)
LOSSES = ["bce", "focal"]
OUTPUTS = ["loss", "loss+grad"]
THREADS = grid([1, "all"], [1])
SEED = 20240601


@functools.lru_cache(maxsize=4)
def _inputs(shape: tuple[int, ...], dtype: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    x = (rng.standard_normal(shape) * 3.0).astype(dtype)
    t = (rng.random(shape) < 0.1).astype(dtype)
    return x, t


class Elementwise(_Base):
    """fastsoftmax.sigmoid / log_sigmoid, C order, one thread."""

    params: ClassVar[list[list[Any]]] = [
        ["sigmoid", "log_sigmoid"], DTYPES, list(ELEMENTWISE_SHAPES)
    ]
    param_names: ClassVar[list[str]] = ["function", "dtype", "shape"]

    def setup(self, function: str, dtype: str, shape: str) -> None:
        """Build the input and make the warm-up call."""
        import fastsoftmax

        func = getattr(fastsoftmax, function, None)
        if func is None:
            raise NotImplementedError(f"fastsoftmax has no {function}")
        x, _ = _inputs(ELEMENTWISE_SHAPES[shape], dtype)
        self.elements = x.size
        self.call = functools.partial(func, x, out=np.empty_like(x), num_threads=1)
        self.call()


class BinaryLosses(_Base):
    """binary_cross_entropy_with_logits / sigmoid_focal_loss on (4096, 1000), mean."""

    params: ClassVar[list[list[Any]]] = [LOSSES, OUTPUTS, DTYPES, THREADS]
    param_names: ClassVar[list[str]] = ["loss", "output", "dtype", "threads"]

    def setup(self, loss: str, output: str, dtype: str, threads: int | str) -> None:
        """Build the inputs and make the warm-up call."""
        import fastsoftmax

        name = "binary_cross_entropy_with_logits" if loss == "bce" else "sigmoid_focal_loss"
        func = getattr(fastsoftmax, name, None)
        if func is None:
            raise NotImplementedError(f"fastsoftmax has no {name}")
        x, t = _inputs(LOSS_SHAPE, dtype)
        self.elements = x.size
        self.call = functools.partial(
            func, x, t, reduction="mean", return_grad=output == "loss+grad",
            num_threads=_n_threads(threads),
        )
        self.call()


def _torch_focal(F, x, t, alpha: float = 0.25, gamma: float = 2.0):
    """torchvision.ops.sigmoid_focal_loss (reduction="mean"), written out."""
    import torch

    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * ((1 - p_t) ** gamma)
    loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return loss.mean()


class _TorchBase(_Base):
    def _torch(self, threads: int | str):
        try:
            import torch
        except ImportError as exc:
            raise NotImplementedError(f"torch not installed: {exc}") from exc
        self._old_threads = torch.get_num_threads()
        torch.set_num_threads(_n_threads(threads))
        return torch

    def teardown(self, *params: Any) -> None:
        """Restore torch's thread count."""
        import torch

        torch.set_num_threads(self._old_threads)


class PeerTorchElementwise(_TorchBase):
    """torch.sigmoid / F.logsigmoid, one thread."""

    params: ClassVar[list[list[Any]]] = Elementwise.params
    param_names: ClassVar[list[str]] = Elementwise.param_names

    def setup(self, function: str, dtype: str, shape: str) -> None:
        """Build the input and make the warm-up call; skip without torch."""
        torch = self._torch(1)
        x, _ = _inputs(ELEMENTWISE_SHAPES[shape], dtype)
        xt = torch.from_numpy(x)
        func = torch.sigmoid if function == "sigmoid" else torch.nn.functional.logsigmoid
        self.elements = x.size
        self.call = functools.partial(func, xt)
        self.call()


class PeerTorchBinaryLosses(_TorchBase):
    """PyTorch BCE with logits / torchvision's focal loss: forward (+ backward)."""

    params: ClassVar[list[list[Any]]] = BinaryLosses.params
    param_names: ClassVar[list[str]] = BinaryLosses.param_names

    def setup(self, loss: str, output: str, dtype: str, threads: int | str) -> None:
        """Build the inputs and make the warm-up call; skip without torch."""
        torch = self._torch(threads)
        F = torch.nn.functional
        x, t = _inputs(LOSS_SHAPE, dtype)
        xt, tt = torch.from_numpy(x), torch.from_numpy(t)
        fwd = F.binary_cross_entropy_with_logits if loss == "bce" else functools.partial(
            _torch_focal, F
        )
        grad = output == "loss+grad"

        def call() -> object:
            xg = xt.detach().requires_grad_(grad)
            value = fwd(xg, tt)
            if grad:
                value.backward()
                return value, xg.grad
            return value

        self.elements = x.size
        self.call = call
        self.call()
