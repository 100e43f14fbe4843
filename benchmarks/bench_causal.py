"""asv benchmarks: the causal mask (``causal=True``) against ``where=tril`` and PyTorch.

- ``Causal``: softmax, log_softmax and logsumexp over attention-score shaped
  inputs (batch x L x S, reduced over S) with ``causal=True`` or with the
  equivalent ``where=np.tril(np.ones((L, S), bool))`` (same result, one
  temporary of the input's size), x dtype x threads. ``time_call`` and
  ``track_elements_per_second`` (elements of the input, masked ones included).
- ``PeerTorchCausal``: ``torch.softmax(x.masked_fill(~tril, -inf), -1)`` on the
  same float32 input (``torch.set_num_threads(threads)``); skipped without torch.

Inputs are seeded and built in ``setup``, which makes one warm-up call.
``FASTSOFTMAX_BENCH_QUICK=1`` trims the grids (see ``benchmarks.grid``); a
fastsoftmax without ``causal`` (an older commit) is skipped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from . import elements_per_second, grid, make_input, n_threads

SHAPES = {
    "heads 8x1024x1024": (8, 1024, 1024),
    "small 16x64x64": (16, 64, 64),
    "prefill 4x512x2048": (4, 512, 2048),
}
MASKS = ["causal", "where"]

Q_FUNCTIONS = grid(["softmax", "log_softmax", "logsumexp"], ["softmax", "logsumexp"])
Q_MASKS = MASKS  # the comparison is the point: keep both
Q_DTYPES = grid(["float32", "float64"], ["float32"])
Q_SHAPES = grid(list(SHAPES), ["small 16x64x64"])
Q_THREADS: list[int | str] = grid([1, "all"], [1])


class _Base:
    timeout = 180.0
    warmup_time = 0.05
    repeat = (1, 5, 2.0)
    call: Callable[[], object]
    elements: int

    def time_call(self, *params: Any) -> None:
        """Time one call."""
        self.call()

    def track_elements_per_second(self, *params: Any) -> float:
        """Input elements (masked ones included) per second."""
        return elements_per_second(self.call, self.elements)

    track_elements_per_second.unit = "elements/s"  # type: ignore[attr-defined]


class Causal(_Base):
    """causal=True against where=tril: function x mask x dtype x shape x threads."""

    params: ClassVar[list[list[Any]]] = [Q_FUNCTIONS, Q_MASKS, Q_DTYPES, Q_SHAPES, Q_THREADS]
    param_names: ClassVar[list[str]] = ["function", "mask", "dtype", "shape", "threads"]

    def setup(self, function: str, mask: str, dtype: str, shape: str, threads: int | str) -> None:
        """Build the input (and the mask) and make the warm-up call."""
        import inspect

        import fastsoftmax

        func = getattr(fastsoftmax, function)
        if "causal" not in inspect.signature(func).parameters:
            raise NotImplementedError(f"fastsoftmax {fastsoftmax.__version__} has no causal=")
        x = make_input(SHAPES[shape], dtype)
        self.elements = x.size
        kw: dict[str, Any] = {"axis": -1, "num_threads": n_threads(threads)}
        if mask == "causal":
            kw["causal"] = True
        else:
            kw["where"] = np.tril(np.ones(x.shape[-2:], dtype=bool))
        self.call = functools.partial(func, x, **kw)
        self.call()


class PeerTorchCausal(_Base):
    """PyTorch: softmax of the masked_fill'ed scores, float32."""

    params: ClassVar[list[list[Any]]] = [Q_SHAPES, Q_THREADS]
    param_names: ClassVar[list[str]] = ["shape", "threads"]

    def setup(self, shape: str, threads: int | str) -> None:
        """Build the input and mask and make the warm-up call; skip without torch."""
        try:
            import torch
        except ImportError as exc:
            raise NotImplementedError(f"torch not installed: {exc}") from exc
        self._old_threads = torch.get_num_threads()
        torch.set_num_threads(n_threads(threads))
        x = torch.from_numpy(make_input(SHAPES[shape], "float32"))
        self.elements = x.numel()
        keep = torch.ones(x.shape[-2:], dtype=torch.bool).tril()
        masked_out = ~keep
        ninf = float("-inf")

        def call() -> object:
            return torch.softmax(x.masked_fill(masked_out, ninf), -1)

        self.call = call
        self.call()

    def teardown(self, shape: str, threads: int | str) -> None:
        """Restore torch's thread count."""
        old = getattr(self, "_old_threads", None)
        if old is not None:
            import torch

            torch.set_num_threads(old)
