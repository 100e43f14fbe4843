"""The table of public functions that the reliability tests drive.

Each :class:`Entry` says how to make one *valid* call of a public function
around a main input array; the bad-input battery, the property tests, the
concurrency tests and the fuzz target then break one argument at a time (or
vary the input) and check the outcome.

To cover a new public function, append an ``Entry`` to ``ENTRIES``: its
name, the main input's parameter name (it must appear in error messages),
a ``valid`` callable returning the other keyword arguments for an input of a
given shape and class/reduction axis, the name of its output-array argument
(``out``, ``grad_out``) with the shape that array must have, and whether
``axis`` takes tuples. Tests that do not apply to an entry are skipped from
its flags (``float_only``, ``needs_ndim``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import fastsoftmax as fs


@dataclass(frozen=True)
class Entry:
    """How to call one public function validly around a main input array."""

    name: str
    func: Callable
    arg: str  # the main input's parameter name, as error messages name it
    # keyword arguments (other than the input) for a valid call on shape/axis
    valid: Callable[[tuple[int, ...], int], dict] = field(default=lambda shape, axis: {})
    out_arg: str | None = "out"
    # shape of the out_arg array for input shape/axis (None: the input's shape)
    out_shape: Callable[[tuple[int, ...], int], tuple[int, ...]] | None = None
    multi_axis: bool = True  # axis accepts a tuple of ints
    float_only: bool = False  # integer / bool / complex inputs are rejected
    needs_ndim: int = 0  # smallest input ndim the function accepts

    def call(self, x, axis=-1, **overrides):
        """``func(x, axis=axis, **valid(x.shape, axis) | overrides)``."""
        shape = np.shape(x)
        ndim = len(shape)
        # A deliberately bad axis still gets the other arguments of a valid call.
        ok = isinstance(axis, int) and not isinstance(axis, bool) and -ndim <= axis < ndim
        kw = self.valid(shape, axis if ok else -1) if ndim else {}
        kw.update(overrides)
        return self.func(x, axis=axis, **kw)

    def result_shape(self, shape: tuple[int, ...], axis: int) -> tuple[int, ...]:
        return tuple(shape) if self.out_shape is None else self.out_shape(shape, axis)


def _drop_axis(shape, axis):
    axis %= len(shape)
    return tuple(n for d, n in enumerate(shape) if d != axis)


def _labels(shape, axis):
    """Valid class indices for logits of ``shape`` with classes on ``axis``."""
    batch = _drop_axis(shape, axis)
    n_classes = shape[axis % len(shape)]
    return {"target": (np.arange(int(np.prod(batch))) % max(n_classes, 1)).reshape(batch)}


def _probabilities(shape, axis):
    """A valid softmax output for the backward passes, in float16 so that the
    result takes the main input's float dtype (callers pass out= of it)."""
    return {"output": np.full(shape, 1.0 / max(shape[axis % len(shape)], 1), dtype=np.float16)}


def _log_probabilities(shape, axis):
    n = max(shape[axis % len(shape)], 1)
    return {"output": np.full(shape, -np.log(n), dtype=np.float16)}


ENTRIES: tuple[Entry, ...] = (
    Entry("softmax", fs.softmax, "x"),
    Entry("log_softmax", fs.log_softmax, "x"),
    Entry("logsumexp", fs.logsumexp, "a", out_shape=_drop_axis),
    Entry(
        "cross_entropy",
        fs.cross_entropy,
        "logits",
        valid=_labels,
        out_arg="grad_out",
        multi_axis=False,
        float_only=True,
        needs_ndim=1,
    ),
    Entry(
        "softmax_focal_loss",
        fs.softmax_focal_loss,
        "logits",
        valid=_labels,
        out_arg="grad_out",
        multi_axis=False,
        float_only=True,
        needs_ndim=1,
    ),
    Entry(
        "softmax_backward",
        fs.softmax_backward,
        "grad_output",
        valid=_probabilities,
        needs_ndim=1,
    ),
    Entry(
        "log_softmax_backward",
        fs.log_softmax_backward,
        "grad_output",
        valid=_log_probabilities,
        needs_ndim=1,
    ),
)

BY_NAME = {e.name: e for e in ENTRIES}
