"""The ``where=``, ``temperature=`` and ``causal=`` options of the softmax family.

``where`` follows jax.nn: masked elements do not enter the sum, get
probability 0 (log-probability -inf), and a fully masked row gives zeros
(softmax) or -inf (log_softmax, logsumexp), never NaN. It is applied by
replacing masked elements with -inf in one temporary of the input's size
(which also keeps a masked NaN out of its row) and writing the masked
outputs afterwards. ``temperature`` needs no temporary: the kernels divide
each row by it on the way in. ``causal`` needs no mask either: the C driver
gives row (..., i, :) its first i + 1 elements; only the NumPy paths
(complex, longdouble, logsumexp's b= and return_sign=) build the mask
(``causal_mask``) and take the ``where`` route."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._args import BOOL_TYPES


def check_temperature(temperature: object) -> float:
    """A finite positive float, or a clear error naming ``temperature``."""
    if type(temperature) is not float and (
        isinstance(temperature, BOOL_TYPES) or not isinstance(temperature, numbers.Real)
    ):
        raise TypeError(f"temperature: expected a positive real number, got {temperature!r}")
    t = float(temperature)
    if not (t > 0.0 and math.isfinite(t)):
        raise ValueError(f"temperature: must be finite and > 0, got {t}")
    return t


def where_mask(where: object, shape: tuple[int, ...]) -> np.ndarray:
    """``where`` as a read-only boolean array broadcast to ``shape``."""
    w = np.asarray(where)
    if w.dtype != np.bool_:
        raise TypeError(f"where: expected a boolean array, got dtype {w.dtype}")
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(
            f"where: shape {w.shape} cannot be broadcast to the input's shape {shape}"
        ) from None


def masked_input(x: np.ndarray, mask: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """x as ``dtype`` with every masked-out element replaced by -inf."""
    return np.where(mask, x.astype(dtype, copy=False), dtype.type(-np.inf))


def fill_masked(y: np.ndarray, mask: np.ndarray, value: float) -> None:
    """Write ``value`` where ``mask`` is False (the masked-out outputs)."""
    np.copyto(y, y.dtype.type(value), where=~mask)


def check_causal(causal: object) -> bool:
    """``causal`` as a bool, or a TypeError naming it."""
    if not isinstance(causal, BOOL_TYPES):
        raise TypeError(f"causal: expected a bool, got {causal!r}")
    return bool(causal)


def check_causal_axes(ndim: int, axes: tuple[int, ...], axis: object, name: str) -> None:
    """causal=True needs ndim >= 2 and the last axis as the (only) reduced axis."""
    if ndim < 2:
        raise ValueError(
            f"causal: causal=True needs {name} with ndim >= 2 (its last two axes are "
            f"queries and keys), got {name}.ndim={ndim}"
        )
    if axes != (ndim - 1,):
        raise ValueError(
            f"causal: causal=True reduces over the last axis only (axis=-1), got axis={axis!r}"
        )


def causal_mask(shape: tuple[int, ...]) -> np.ndarray:
    """The causal mask as a boolean array broadcast to ``shape``: ``np.tril`` of
    the last two axes (element (..., i, j) kept iff j <= i)."""
    return np.broadcast_to(np.tri(shape[-2], shape[-1], dtype=bool), shape)
