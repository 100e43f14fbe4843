"""softmax_backward and log_softmax_backward: the vector-Jacobian products of
softmax and log_softmax, for training loops written in NumPy.

Each call checks every argument (nothing is written before all checks pass),
describes grad_output, output and the result as strided 3-D views (rows x
reduced axis) and runs one GIL-free kernel (_core.softmax_backward): one
reduction pass and one elementwise pass per row."""

from __future__ import annotations

import numpy as np

from . import _core
from ._args import as_input_array, check_out, normalize_axes, normalize_threads

_OP_SOFTMAX = _core.OP_SOFTMAX_BACKWARD
_OP_LOG_SOFTMAX = _core.OP_LOG_SOFTMAX_BACKWARD
_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))

View3 = tuple[tuple[int, int, int], list[tuple[int, int, int]]]
_views = _core.strided_views


def _contiguous_rows(arrays: list[np.ndarray], axis: int) -> View3 | None:
    """The common case without the general merge: every array C-contiguous
    with the last axis reduced, or F-contiguous with the first."""
    ndim = arrays[0].ndim
    if axis == ndim - 1:
        flag = "C_CONTIGUOUS"
    elif axis == 0:
        flag = "F_CONTIGUOUS"
    else:
        return None
    for a in arrays:
        if not (a.flags[flag] and a.flags.aligned):
            return None
    n = arrays[0].shape[axis]
    rows = arrays[0].size // n if n else 0
    view = (0, n, 1)
    return (1, rows, n), [view] * len(arrays)


def _run(op: int, g: np.ndarray, y: np.ndarray, out: np.ndarray, axis: int, threads: int) -> None:
    v = _contiguous_rows([g, y, out], axis) or _views([g, y, out], axis)
    if v is not None:
        _core.softmax_backward(op, g, y, out, v[0], *v[1], threads)
        return
    # A layout the 3-D views cannot express: compute on C-ordered copies.
    gc, yc = np.array(g, order="C"), np.array(y, order="C")
    oc = np.empty(g.shape, dtype=g.dtype)
    v = _views([gc, yc, oc], axis)
    _core.softmax_backward(op, gc, yc, oc, v[0], *v[1], threads)
    out[...] = oc


def _same_view(a: np.ndarray, b: np.ndarray) -> bool:
    """True when a and b are the same elements in the same order (in place is safe)."""
    return (
        a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
        and a.shape == b.shape
        and a.strides == b.strides
        and a.dtype == b.dtype
    )


def _backward(
    op: int, grad_output: object, output: object, axis: object, out: object, num_threads: object
) -> np.ndarray:
    # the common call, straight to the kernel; None for anything it does not cover
    res = _core.backward_fast_call(op, grad_output, output, axis, num_threads, out)
    if res is not None:
        return res
    g = as_input_array(grad_output, "grad_output")
    y = as_input_array(output, "output")
    for a, name in ((g, "grad_output"), (y, "output")):
        if a.dtype.newbyteorder("=") not in _FLOATS:
            raise TypeError(
                f"{name}: unsupported dtype {a.dtype} (expected float16, float32 or float64)"
            )
    if y.shape != g.shape:
        raise ValueError(f"output: has shape {y.shape}, expected grad_output's shape {g.shape}")
    axes = normalize_axes(axis, g.ndim)
    threads = normalize_threads(num_threads)
    result_dtype = np.result_type(g.dtype, y.dtype).newbyteorder("=")
    if out is not None:
        check_out(out, g.shape, result_dtype)
    kdt = np.dtype(np.float32) if result_dtype == np.float16 else result_dtype

    gk, yk = g.astype(kdt, copy=False), y.astype(kdt, copy=False)
    if gk.ndim == 0 or not axes:
        # A 0-d array or axis=(): every element is its own row of length 1.
        gk, yk = gk[..., np.newaxis], yk[..., np.newaxis]
        axes = (gk.ndim - 1,)
    if len(axes) > 1:
        # Several axes: the reduced axes become one trailing axis (a copy only
        # when they do not form one strided run).
        keep = tuple(d for d in range(gk.ndim) if d not in axes)
        shape = tuple(gk.shape[d] for d in keep) + (-1,)
        gk = np.transpose(gk, keep + axes).reshape(shape)
        yk = np.transpose(yk, keep + axes).reshape(shape)
        res = np.empty(gk.shape, dtype=kdt)
        _run(op, gk, yk, res, gk.ndim - 1, threads)
        res = np.transpose(res.reshape(tuple(g.shape[d] for d in keep + axes)),
                           np.argsort(keep + axes))
        if out is not None:
            out[...] = res
            return out
        return np.ascontiguousarray(res).astype(result_dtype, copy=False)

    ax = axes[0]
    if out is not None and out.dtype == kdt and out.shape == gk.shape:
        safe = all(
            out is a or not np.may_share_memory(out, a) or _same_view(out, a)
            or not np.shares_memory(out, a)
            for a in (gk, yk)
        )
        if safe:
            _run(op, gk, yk, out, ax, threads)
            return out
    res = np.empty_like(gk, dtype=kdt)  # g's memory order: the same walker as in place
    _run(op, gk, yk, res, ax, threads)
    res = res.reshape(g.shape)
    if out is not None:
        out[...] = res
        return out
    return res.astype(result_dtype, copy=False)


def softmax_backward(
    grad_output: object,
    output: object,
    axis: int | tuple[int, ...] | None = -1,
    *,
    out: np.ndarray | None = None,
    num_threads: int | None = None,
) -> np.ndarray:
    r"""Gradient of a loss with respect to the input of ``y = softmax(x, axis)``.

    ``grad_input = y * (g - sum(g * y, axis))``, the vector-Jacobian product
    that autograd computes (:func:`torch._softmax_backward_data`), in one
    reduction pass and one elementwise pass per row. The sum is accumulated in
    double for float32 input and with compensated (TwoSum / TwoProduct)
    arithmetic for float64, so it does not drift with the row length.

    Parameters
    ----------
    grad_output : array_like
        ``g``, the gradient of the loss with respect to ``y``. float16 (computed
        in float32), float32 or float64.
    output : array_like
        ``y``, the softmax output of the forward pass; same shape as
        ``grad_output``.
    axis : int or tuple of ints or None, default -1
        The axis (or axes) the forward softmax normalised over; None means all.
    out : ndarray, optional
        Where to write the result: ``grad_output``'s shape and the result
        dtype (``numpy.result_type`` of the two inputs). May be
        ``grad_output`` or ``output`` itself (computed in place, no temporary);
        another partial overlap is handled through a temporary.
    num_threads : int, optional
        Upper bound on OpenMP threads; None uses the OpenMP default.

    Returns
    -------
    ndarray
        ``grad_input``, same shape as ``grad_output``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastsoftmax as fs
    >>> y = fs.softmax(np.array([1.0, 2.0, 3.0]))
    >>> fs.softmax_backward(np.array([1.0, 0.0, 0.0]), y)
    array([ 0.08192507, -0.02203304, -0.05989202])
    """
    return _backward(_OP_SOFTMAX, grad_output, output, axis, out, num_threads)


def log_softmax_backward(
    grad_output: object,
    output: object,
    axis: int | tuple[int, ...] | None = -1,
    *,
    out: np.ndarray | None = None,
    num_threads: int | None = None,
) -> np.ndarray:
    r"""Gradient of a loss with respect to the input of ``y = log_softmax(x, axis)``.

    ``grad_input = g - exp(y) * sum(g, axis)`` (what
    :func:`torch._log_softmax_backward_data` computes), in one reduction pass
    and one elementwise pass per row, with an inline SIMD exponential; the sum
    is accumulated in double (float32) or compensated (float64).

    Parameters
    ----------
    grad_output : array_like
        ``g``, the gradient of the loss with respect to ``y``. float16 (computed
        in float32), float32 or float64.
    output : array_like
        ``y``, the log-probabilities of the forward pass (<= 0); same shape as
        ``grad_output``. ``exp(y)`` overflows to inf a little early, above
        about 88 (float32) or 709 (float64): no log-probability gets there.
    axis : int or tuple of ints or None, default -1
        The axis (or axes) the forward log_softmax normalised over.
    out : ndarray, optional
        As for :func:`softmax_backward`: may be ``grad_output`` or ``output``.
    num_threads : int, optional
        Upper bound on OpenMP threads; None uses the OpenMP default.

    Returns
    -------
    ndarray
        ``grad_input``, same shape as ``grad_output``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastsoftmax as fs
    >>> y = fs.log_softmax(np.array([1.0, 2.0, 3.0]))
    >>> fs.log_softmax_backward(np.array([1.0, 0.0, 0.0]), y)
    array([ 0.90996943, -0.24472847, -0.66524096])
    """
    return _backward(_OP_LOG_SOFTMAX, grad_output, output, axis, out, num_threads)
