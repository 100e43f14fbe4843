"""Argument checking and normalisation shared by the public functions.

Every error names the argument it is about; everything here runs before any
kernel, so a rejected call writes nothing."""

from __future__ import annotations

import operator
from functools import lru_cache

import numpy as np
from numpy.exceptions import AxisError

KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# (a tuple, built once: a `bool | np.bool_` union is built again at every call)
BOOL_TYPES = (bool, np.bool_)


def as_named_array(x: object, name: str) -> np.ndarray:
    """``np.asarray`` whose conversion errors (ragged nested lists) name the argument."""
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{name}: cannot be converted to an array: {exc}") from None


def as_input_array(x: object, name: str) -> np.ndarray:
    """``np.asarray`` with a clear error for inputs NumPy cannot treat as numbers."""
    arr = as_named_array(x, name)
    kind = arr.dtype.kind
    if kind not in "biufc":
        raise TypeError(
            f"{name}: unsupported dtype {arr.dtype} (expected a real or complex numeric array)"
        )
    return arr


@lru_cache(maxsize=64)
def softmax_result_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype scipy.special.softmax returns for this input dtype (that of ``np.exp``)."""
    return np.exp(np.zeros((), dtype=dtype)).dtype


def compute_dtype(result: np.dtype) -> np.dtype | None:
    """The kernel dtype for a result dtype, or None when the NumPy path must run."""
    if result in KERNEL_DTYPES:
        return result
    if result == np.float16:
        return np.dtype(np.float32)
    return None


def normalize_axes(axis: object, ndim: int) -> tuple[int, ...]:
    """Axis argument (None, int or tuple of ints) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, checked below too
        return (axis % ndim,)
    if isinstance(axis, tuple | list):
        items = tuple(axis)
    else:
        items = (axis,)
    out = []
    for a in items:
        if isinstance(a, BOOL_TYPES):
            raise TypeError(f"axis: expected an int or a tuple of ints, got {a!r}")
        try:
            a = operator.index(a)
        except TypeError:
            raise TypeError(f"axis: expected an int or a tuple of ints, got {a!r}") from None
        if not -ndim <= a < ndim:
            raise AxisError(a, ndim, msg_prefix="axis")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"axis: duplicate value in axis={axis!r}")
    return tuple(sorted(out))


def normalize_threads(num_threads: object) -> int:
    """num_threads as the C layer wants it: 0 for the OpenMP default, else a positive int."""
    if num_threads is None:
        return 0
    if isinstance(num_threads, BOOL_TYPES):
        raise TypeError(f"num_threads: expected None or a positive int, got {num_threads!r}")
    try:
        n = operator.index(num_threads)
    except TypeError:
        raise TypeError(
            f"num_threads: expected None or a positive int, got {num_threads!r}"
        ) from None
    if n < 1:
        raise ValueError(f"num_threads: must be a positive int or None, got {n}")
    return min(n, 1 << 16)


def check_out(
    out: object, shape: tuple[int, ...], dtype: np.dtype, name: str = "out"
) -> np.ndarray:
    """Validate a caller's output array: exact shape and dtype, writeable."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"{name}: has shape {out.shape}, the result has shape {shape}")
    if out.dtype != dtype:
        raise TypeError(f"{name}: has dtype {out.dtype}, the result has dtype {dtype}")
    if not out.flags.writeable:
        raise ValueError(f"{name}: array is read-only")
    return out
