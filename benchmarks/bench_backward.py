"""asv benchmarks: softmax_backward, log_softmax_backward and softmax_focal_loss,
with PyTorch's equivalents beside them.

- ``Backward``: function x dtype x shape, last axis, C order, one thread.
- ``BackwardAxis``: function x axis (last / first) x in place or not, float32.
- ``FocalLoss``: loss, or loss and gradient, x dtype x shape (class labels).
- ``PeerTorchBackward``: ``torch._softmax_backward_data`` /
  ``torch._log_softmax_backward_data`` on the ``Backward`` shapes, float32.
- ``PeerTorchAutograd``: what a training loop pays, ``y.backward(g)`` through
  autograd for ``y = torch.softmax(x, -1)`` / ``torch.log_softmax(x, -1)``
  (the kernel above plus autograd's bookkeeping and a fresh gradient).
- ``PeerTorchFocal``: the textbook focal loss in torch, forward and autograd
  backward, float32.

Inputs are seeded and built in ``setup``, which also makes one warm-up call;
a peer that is not installed is skipped (``NotImplementedError``).
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np

from . import grid
from .bench_softmax import SEED, SHAPES, _Base, _make_input

BACKWARDS = ["softmax_backward", "log_softmax_backward"]
# FASTSOFTMAX_BENCH_QUICK (CI's does-it-run check) trims each grid: see benchmarks.grid
DTYPES = grid(["float32", "float64"], ["float32"])
BW_SHAPES = grid(["medium 1024x1000", "vocab 256x32000"], ["small 32x10"])


def _forward_pair(function: str, shape: str, dtype: str, axis: int) -> tuple[Any, Any]:
    """(grad_output, output): a seeded gradient and the forward result it belongs to."""
    import fastsoftmax

    x = _make_input(SHAPES[shape], dtype, "C")
    fwd = fastsoftmax.softmax if function == "softmax_backward" else fastsoftmax.log_softmax
    y = fwd(x, axis=axis)
    g = np.random.default_rng(SEED + 1).standard_normal(x.shape).astype(dtype)
    return g, y


class Backward(_Base):
    """The backward passes over the last axis, one thread."""

    params: ClassVar[list[list[Any]]] = [BACKWARDS, DTYPES, BW_SHAPES]
    param_names: ClassVar[list[str]] = ["function", "dtype", "shape"]

    def setup(self, function: str, dtype: str, shape: str) -> None:
        """Build g and y and make the warm-up call."""
        import fastsoftmax

        func = getattr(fastsoftmax, function, None)
        if func is None:
            raise NotImplementedError(f"fastsoftmax has no {function}")
        g, y = _forward_pair(function, shape, dtype, -1)
        self.elements = g.size
        self.call = functools.partial(func, g, y, axis=-1, num_threads=1)
        self.call()


class BackwardAxis(_Base):
    """Last axis (row kernels) or first axis (column kernels), in place or not."""

    params: ClassVar[list[list[Any]]] = [BACKWARDS, ["last", "first"], ["new", "in place"]]
    param_names: ClassVar[list[str]] = ["function", "axis", "out"]

    def setup(self, function: str, axis: str, out: str) -> None:
        """Build g and y and make the warm-up call."""
        import fastsoftmax

        func = getattr(fastsoftmax, function, None)
        if func is None:
            raise NotImplementedError(f"fastsoftmax has no {function}")
        ax = -1 if axis == "last" else 0
        g, y = _forward_pair(function, "medium 1024x1000", "float32", ax)
        self.elements = g.size
        kw: dict[str, Any] = {"out": g.copy()} if out == "in place" else {}
        if kw:
            # in place on a buffer that keeps the same values between calls is
            # not possible (out=g changes g), so out is g's copy: no allocation
            self.call = functools.partial(func, g, y, axis=ax, num_threads=1, **kw)
        else:
            self.call = functools.partial(func, g, y, axis=ax, num_threads=1)
        self.call()


class FocalLoss(_Base):
    """softmax_focal_loss (gamma=2, mean over rows), optionally with the gradient."""

    params: ClassVar[list[list[Any]]] = [["loss", "loss+grad"], DTYPES, BW_SHAPES]
    param_names: ClassVar[list[str]] = ["output", "dtype", "shape"]

    def setup(self, output: str, dtype: str, shape: str) -> None:
        """Build logits and labels and make the warm-up call."""
        import fastsoftmax

        func = getattr(fastsoftmax, "softmax_focal_loss", None)
        if func is None:
            raise NotImplementedError("fastsoftmax has no softmax_focal_loss")
        x = _make_input(SHAPES[shape], dtype, "C")
        target = np.random.default_rng(SEED).integers(0, x.shape[-1], size=x.shape[0])
        self.elements = x.size
        self.call = functools.partial(
            func, x, target, gamma=2.0, return_grad=output == "loss+grad", num_threads=1
        )
        self.call()


def _torch(threads: int = 1) -> Any:
    try:
        import torch
    except ImportError as exc:
        raise NotImplementedError(f"torch not installed: {exc}") from exc
    torch.set_num_threads(threads)
    return torch


class PeerTorchBackward(_Base):
    """torch's backward kernels (what autograd calls), float32, one thread."""

    params: ClassVar[list[list[Any]]] = [BACKWARDS, BW_SHAPES]
    param_names: ClassVar[list[str]] = ["function", "shape"]

    def setup(self, function: str, shape: str) -> None:
        """Build g and y as tensors and make the warm-up call; skip without torch."""
        torch = _torch()
        g, y = _forward_pair(function, shape, "float32", -1)
        gt, yt = torch.from_numpy(g), torch.from_numpy(y)
        kernel = (
            torch._softmax_backward_data
            if function == "softmax_backward"
            else torch._log_softmax_backward_data
        )
        self.elements = g.size
        self.call = functools.partial(kernel, gt, yt, 1, torch.float32)
        self.call()


class PeerTorchAutograd(_Base):
    """torch autograd's backward of softmax / log_softmax, float32, one thread."""

    params: ClassVar[list[list[Any]]] = [BACKWARDS, BW_SHAPES]
    param_names: ClassVar[list[str]] = ["function", "shape"]

    def setup(self, function: str, shape: str) -> None:
        """Build the forward graph once and make the warm-up call; skip without torch."""
        torch = _torch()
        g, _ = _forward_pair(function, shape, "float32", -1)
        x = torch.from_numpy(_make_input(SHAPES[shape], "float32", "C")).requires_grad_(True)
        fwd = torch.softmax if function == "softmax_backward" else torch.log_softmax
        y = fwd(x, -1)
        gt = torch.from_numpy(g)

        def backward() -> Any:
            x.grad = None
            y.backward(gt, retain_graph=True)
            return x.grad

        self.elements = g.size
        self.call = backward
        self.call()


class PeerTorchFocal(_Base):
    """Softmax focal loss (gamma=2) in torch: forward and autograd backward, float32."""

    params: ClassVar[list[list[Any]]] = [BW_SHAPES]
    param_names: ClassVar[list[str]] = ["shape"]

    def setup(self, shape: str) -> None:
        """Build logits and labels as tensors and make the warm-up call; skip without torch."""
        torch = _torch()
        x = torch.from_numpy(_make_input(SHAPES[shape], "float32", "C"))
        t = torch.from_numpy(
            np.random.default_rng(SEED).integers(0, x.shape[-1], size=x.shape[0])
        )

        def focal() -> Any:
            z = x.detach().requires_grad_(True)
            logpt = torch.log_softmax(z, -1).gather(1, t[:, None])[:, 0]
            loss = (-((1 - logpt.exp()) ** 2) * logpt).mean()
            loss.backward()
            return loss, z.grad

        self.elements = x.numel()
        self.call = focal
        self.call()
