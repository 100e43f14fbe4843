"""The sigmoid family: sigmoid, log_sigmoid, binary cross-entropy with logits
and the sigmoid focal loss.

Everything here is elementwise, so any memory order works: C- or
Fortran-contiguous arrays are passed to the kernels as they are (as flat
views); anything else (strided views, or arrays whose layouts differ) is copied
once to a contiguous array. float16 is computed in float32."""

from __future__ import annotations

import numbers

import numpy as np

from . import _core
from ._args import BOOL_TYPES, as_input_array, check_out, normalize_threads, softmax_result_dtype

_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_REDUCTIONS = ("mean", "sum", "none")


def _kernel_dtype(dt: np.dtype) -> np.dtype | None:
    if dt in (_F32, _F64):
        return dt
    if dt == _F16:
        return _F32
    return None


def _order_of(a: np.ndarray) -> str | None:
    """'C' or 'F' when the array is contiguous in that order, else None."""
    if a.flags.c_contiguous:
        return "C"
    if a.flags.f_contiguous:
        return "F"
    return None


def _flat(a: np.ndarray, dtype: np.dtype, order: str) -> np.ndarray:
    """A flat contiguous view of ``a`` in ``order`` (a converted copy if needed)."""
    if a.dtype != dtype or not a.flags.aligned:  # byte-swapped or unaligned: a native copy
        a = a.astype(dtype, order=order)
    return np.ravel(a, order=order)


def _writable_view(
    dest: np.ndarray, dtype: np.dtype, order: str, inputs: tuple[np.ndarray, ...]
) -> np.ndarray | None:
    """A flat view the kernel can write ``dest`` through, or None (use a temporary).

    Writing in place is allowed when ``dest`` is exactly one of the inputs, or
    shares no memory with any of them."""
    contiguous = dest.flags.c_contiguous if order == "C" else dest.flags.f_contiguous
    if dest.dtype != dtype or not contiguous or not dest.flags.aligned:
        return None
    flat = np.ravel(dest, order=order)
    for a in inputs:
        if a is None or not np.may_share_memory(flat, a):
            continue
        same = (
            a.ndim == 1
            and a.shape == flat.shape
            and a.__array_interface__["data"][0] == flat.__array_interface__["data"][0]
            and a.strides == flat.strides
        )
        if not same and np.shares_memory(flat, a):
            return None
    return flat


# ---- sigmoid, log_sigmoid ----------------------------------------------------


def _sigmoid_numpy(x: np.ndarray, log: bool) -> np.ndarray:
    e = np.exp(-np.abs(x))
    if log:
        return np.minimum(x, 0) - np.log1p(e)
    r = 1 / (1 + e)
    return np.where(x < 0, e * r, r)


def _map(log: bool, x: object, out: object, num_threads: object) -> np.ndarray:
    # the common call, straight to the kernel; None for anything it does not cover
    res = _core.sigmoid_fast_call(log, x, out, num_threads)
    if res is not None:
        return res
    xa = as_input_array(x, "x")
    if xa.dtype.kind == "c":
        raise TypeError(f"x: complex input is not supported (dtype {xa.dtype})")
    threads = normalize_threads(num_threads)
    rd = softmax_result_dtype(xa.dtype)
    if out is not None:
        check_out(out, xa.shape, rd)
    kd = _kernel_dtype(rd)
    if kd is None:  # longdouble: NumPy in that precision
        res = _sigmoid_numpy(xa.astype(rd, copy=False), log)
        if out is None:
            return res[()] if res.ndim == 0 else res
        np.copyto(out, res)
        return out
    order = _order_of(xa) or "C"
    xf = _flat(xa, kd, order)
    if out is not None:
        yf = _writable_view(out, kd, order, (xf,))
        if yf is not None:
            _core.sigmoid_map(log, xf, yf, threads)
            return out
    y = np.empty(xa.shape, dtype=kd, order=order)
    _core.sigmoid_map(log, xf, np.ravel(y, order=order), threads)
    if out is not None:
        np.copyto(out, y, casting="unsafe")
        return out
    res = y if kd == rd else y.astype(rd)
    return res[()] if res.ndim == 0 else res  # a NumPy scalar for 0-d input, as a ufunc


def sigmoid(
    x: object, out: np.ndarray | None = None, *, num_threads: int | None = None
) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + exp(-x))``, elementwise; a drop-in for scipy.special.expit.

    Computed as ``1 / (1 + e)`` or ``e / (1 + e)`` with ``e = exp(-|x|)``,
    so it never overflows and keeps full relative precision in both tails
    (``sigmoid(-100.0)`` is ``3.7e-44``, not 0).

    Parameters
    ----------
    x : array_like
        Input. float32 and float64 are computed in their own precision,
        float16 in float32; integers give the dtype ``np.exp`` gives them;
        longdouble takes a NumPy path in its own precision.
    out : ndarray, optional
        Where to write the result: ``x``'s shape and the result dtype; may be
        ``x`` itself.
    num_threads : int, optional
        Upper bound on OpenMP threads; None uses the OpenMP default.

    Returns
    -------
    ndarray or scalar
        ``sigmoid(x)`` (a NumPy scalar for 0-d input, as scipy); NaN stays NaN,
        ``-inf`` gives 0 and ``+inf`` gives 1.

    Examples
    --------
    >>> import numpy as np
    >>> import fastsoftmax as fs
    >>> fs.sigmoid(np.array([-1.0, 0.0, 40.0]))
    array([0.26894142, 0.5       , 1.        ])
    """
    return _map(False, x, out, num_threads)


def log_sigmoid(
    x: object, out: np.ndarray | None = None, *, num_threads: int | None = None
) -> np.ndarray:
    """``log(sigmoid(x))``, elementwise, accurate for every x (scipy.special.log_expit).

    Computed as ``min(x, 0) - log1p(exp(-|x|))``: two non-positive terms, so
    large positive x keep full relative precision (``log_sigmoid(40.0)`` is
    ``-4.25e-18``) and large negative x do not overflow.

    Parameters
    ----------
    x : array_like
        Input (dtypes as :func:`sigmoid`).
    out : ndarray, optional
        Where to write the result; may be ``x`` itself.
    num_threads : int, optional
        Upper bound on OpenMP threads; None uses the OpenMP default.

    Returns
    -------
    ndarray or scalar
        ``log(sigmoid(x))``; ``-inf`` gives ``-inf``, ``+inf`` gives 0.

    Examples
    --------
    >>> import numpy as np
    >>> import fastsoftmax as fs
    >>> fs.log_sigmoid(np.array([-800.0, 0.0, 40.0]))
    array([-8.00000000e+02, -6.93147181e-01, -4.24835426e-18])
    """
    return _map(True, x, out, num_threads)


# ---- binary losses -----------------------------------------------------------


def _float_input(a: object, name: str) -> np.ndarray:
    arr = as_input_array(a, name)
    if arr.dtype.kind == "c":
        raise TypeError(f"{name}: complex input is not supported (dtype {arr.dtype})")
    return arr


def _check_reduction(reduction: object) -> str:
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


def _check_real(value: object, name: str) -> float:
    if isinstance(value, BOOL_TYPES) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {value!r}")
    return float(value)


def _prepare(logits: object, target: object, grad_out: object):
    x = _float_input(logits, "logits")
    if not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="))
    if x.dtype not in (_F16, _F32, _F64):
        raise TypeError(f"logits: expected float16, float32 or float64, got {x.dtype}")
    t = _float_input(target, "target")
    if t.shape != x.shape:
        raise ValueError(f"target: has shape {t.shape}, logits have shape {x.shape}")
    if grad_out is not None:
        check_out(grad_out, x.shape, x.dtype, "grad_out")
    return x, t, _kernel_dtype(x.dtype)


def _finish(x, kd, order, total, loss_flat_arr, grad_arr, grad_out, reduction, want_grad, n):
    out_dtype = x.dtype
    if reduction == "none":
        loss = loss_flat_arr if kd == out_dtype else loss_flat_arr.astype(out_dtype)
    elif reduction == "sum":
        loss = out_dtype.type(total)
    else:
        loss = out_dtype.type(total / n) if n else out_dtype.type(np.nan)
    if not want_grad:
        return loss
    if grad_out is not None:
        if grad_arr is not grad_out:
            np.copyto(grad_out, grad_arr, casting="unsafe")
        return loss, grad_out
    return loss, (grad_arr if kd == out_dtype else grad_arr.astype(out_dtype))


def _run_binary(focal, x, t, kd, order, weight_flat, per_row, pw_flat, n_last, ls, alpha, gamma,
                reduction, return_grad, grad_out, num_threads):
    threads = normalize_threads(num_threads)
    n = x.size
    xf = _flat(x, kd, order)
    tf = _flat(t, kd, order)
    want_grad = bool(return_grad) or grad_out is not None
    loss_arr = None
    loss_flat = None
    if reduction == "none":
        loss_arr = np.empty(x.shape, dtype=kd, order=order)
        loss_flat = np.ravel(loss_arr, order=order)
    grad_arr = None
    grad_flat = None
    if want_grad:
        if grad_out is not None:
            grad_flat = _writable_view(grad_out, kd, order, (xf, tf, weight_flat, pw_flat))
            if grad_flat is not None:
                grad_arr = grad_out
        if grad_flat is None:
            grad_arr = np.empty(x.shape, dtype=kd, order=order)
            grad_flat = np.ravel(grad_arr, order=order)
    scale = 1.0 / n if reduction == "mean" and n else 1.0
    total = _core.binary_loss(
        focal, xf, tf, weight_flat, per_row, pw_flat, n_last, ls, alpha, gamma, scale,
        loss_flat, grad_flat, threads,
    )
    return _finish(x, kd, order, total, loss_arr, grad_arr, grad_out, reduction, want_grad, n)


def binary_cross_entropy_with_logits(
    logits: object,
    target: object,
    *,
    weight: object = None,
    pos_weight: object = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    return_grad: bool = False,
    grad_out: np.ndarray | None = None,
    num_threads: int | None = None,
) -> object:
    """Binary cross-entropy of ``sigmoid(logits)``, PyTorch's ``binary_cross_entropy_with_logits``.

    Elementwise loss, with ``p = pos_weight`` (1 when absent) and ``w = weight``::

        l = -w * (p * t * log_sigmoid(x) + (1 - t) * log_sigmoid(-x))

    and gradient ``w * ((1 - t) * sigmoid(x) - p * t * sigmoid(-x))``. Both
    log-sigmoids are computed without cancellation, so for targets in [0, 1]
    and non-negative weights the loss keeps full relative precision (PyTorch's
    ``(1 - t) x + log1p(exp(-|x|)) + max(-x, 0)`` form loses it when the loss
    is small), and loss and gradient are finite for every finite logit.

    Parameters
    ----------
    logits : array_like, float16, float32 or float64
        Any shape and memory layout (float16 is computed in float32).
    target : array_like
        Same shape as ``logits``; usually in [0, 1] (values outside are
        accepted, as PyTorch). Converted to the logits' dtype.
    weight : array_like, optional
        Broadcastable to ``logits``: multiplies each element's loss (PyTorch's
        ``weight``; not a normaliser for ``"mean"``).
    pos_weight : array_like, optional
        Broadcastable to the last axis ``(C,)``: weight of the positive term of
        each class (PyTorch's ``pos_weight``).
    reduction : {"mean", "sum", "none"}, default "mean"
        ``"mean"`` divides the sum by the number of elements (NaN when there
        are none); ``"none"`` returns the elementwise losses.
    label_smoothing : float in [0, 1], default 0
        The target becomes ``t * (1 - label_smoothing) + label_smoothing / 2``
        (PyTorch's BCE has no label smoothing; this is the binary form of its
        cross-entropy smoothing, as Keras' ``BinaryCrossentropy``).
    return_grad : bool, default False
        Also return the gradient of the returned loss with respect to
        ``logits`` (for ``"none"``, of ``loss.sum()``).
    grad_out : ndarray, optional
        Where to write the gradient: the logits' shape and dtype, writeable;
        may be ``logits`` itself. Implies ``return_grad=True``.
    num_threads : int, optional
        Upper bound on OpenMP threads; None uses the OpenMP default.

    Returns
    -------
    loss : scalar or ndarray
        Of the logits' dtype.
    grad : ndarray
        Only with ``return_grad=True`` or ``grad_out``.

    Notes
    -----
    Infinite logits give the limits: a term whose coefficient is zero does not
    contribute, so ``x = +inf`` with ``t = 1`` gives loss 0 (PyTorch: NaN) and
    ``x = +inf`` with ``t < 1`` gives ``+inf``; the gradient stays finite
    (``sigmoid(±inf)`` is 1 or 0). NaN in any input gives NaN there.
    ``pos_weight`` and a per-class ``weight`` (broadcasting along the last
    axis only) are used in place; other ``weight`` shapes are broadcast to a
    full array first. Arrays not contiguous in the logits' order are copied.

    Examples
    --------
    >>> import numpy as np
    >>> import fastsoftmax as fs
    >>> x = np.array([[2.0, -1.0], [0.5, 3.0]])
    >>> t = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> round(float(fs.binary_cross_entropy_with_logits(x, t)), 10)
    0.3657135086
    """
    x, t, kd = _prepare(logits, target, grad_out)
    reduction = _check_reduction(reduction)
    ls = _check_real(label_smoothing, "label_smoothing")
    if not 0.0 <= ls <= 1.0:
        raise ValueError(f"label_smoothing: must lie in [0, 1], got {ls}")
    C = x.shape[-1] if x.ndim else 1
    n_last = C if x.size else 1
    pw_flat = None
    if pos_weight is not None:
        pw = _float_input(pos_weight, "pos_weight")
        if pw.ndim > max(x.ndim, 1) or np.prod(pw.shape[:-1], dtype=np.int64) != 1 or (
            pw.ndim and pw.shape[-1] not in (1, C)
        ):
            raise ValueError(
                f"pos_weight: shape {pw.shape} does not broadcast along the last axis "
                f"of logits {x.shape} (expected (C,) = ({C},) or a scalar)"
            )
        pw_flat = np.ascontiguousarray(np.broadcast_to(pw.reshape(-1), (C,)), dtype=kd)
    weight_flat = None
    per_row = False
    order = "C" if pw_flat is not None else (_order_of(x) or "C")
    if weight is not None:
        w = _float_input(weight, "weight")
        try:
            shape = np.broadcast_shapes(w.shape, x.shape)
        except ValueError:
            shape = None
        if shape != x.shape:
            raise ValueError(f"weight: shape {w.shape} does not broadcast to logits {x.shape}")
        if w.size == 1 or (w.ndim and np.prod(w.shape[:-1], dtype=np.int64) == 1 and x.ndim):
            per_row = True
            order = "C"
            weight_flat = np.ascontiguousarray(np.broadcast_to(w.reshape(-1), (C,)), dtype=kd)
        else:
            weight_flat = _flat(np.broadcast_to(w, x.shape), kd, order)
    if (per_row or pw_flat is not None) and x.size == 0:
        per_row, pw_flat, weight_flat = False, None, None
    return _run_binary(
        False, x, t, kd, order, weight_flat, per_row, pw_flat, n_last, ls, 0.0, 0.0, reduction,
        return_grad, grad_out, num_threads,
    )


def sigmoid_focal_loss(
    logits: object,
    target: object,
    *,
    alpha: float = 0.25,
    gamma: float = 2.0,
    reduction: str = "none",
    return_grad: bool = False,
    grad_out: np.ndarray | None = None,
    num_threads: int | None = None,
) -> object:
    """Sigmoid focal loss (Lin et al., 2017) with torchvision.ops.sigmoid_focal_loss's values.

    Elementwise, with ``ce`` the binary cross-entropy with logits and
    ``q = 1 - p_t = t sigmoid(-x) + (1 - t) sigmoid(x)``::

        loss = alpha_t * ce * q ** gamma,  alpha_t = alpha t + (1 - alpha)(1 - t)

    (``alpha_t = 1`` when ``alpha < 0``). ``q ** gamma`` is evaluated as
    ``exp(gamma log q)`` with ``log q`` from log-sigmoids (a log-sum-exp for
    soft targets), so the gradient stays finite where torchvision's autograd
    gives NaN (``gamma < 1`` at confident logits, where ``q`` underflows).

    Parameters
    ----------
    logits : array_like, float16, float32 or float64
        Any shape and memory layout.
    target : array_like
        Same shape; values in [0, 1] (outside that range ``log q`` and so the
        result are NaN).
    alpha : float, default 0.25
        Weight of the positive class; negative disables the weighting.
    gamma : float >= 0, default 2
        Focusing exponent; 0 gives ``alpha_t * ce``.
    reduction : {"none", "mean", "sum"}, default "none"
        As torchvision.
    return_grad : bool, default False
        Also return the gradient of the returned loss with respect to
        ``logits`` (for ``"none"``, of ``loss.sum()``).
    grad_out : ndarray, optional
        Where to write the gradient (logits' shape and dtype; may be
        ``logits``). Implies ``return_grad=True``.
    num_threads : int, optional
        Upper bound on OpenMP threads; None uses the OpenMP default.

    Returns
    -------
    loss : scalar or ndarray
        Of the logits' dtype.
    grad : ndarray
        Only with ``return_grad=True`` or ``grad_out``.

    Notes
    -----
    Infinite logits are outside the supported range (the result may be NaN
    where torchvision's is NaN too).

    Examples
    --------
    >>> import numpy as np
    >>> import fastsoftmax as fs
    >>> x = np.array([3.0, -2.0, 0.5])
    >>> t = np.array([1.0, 0.0, 1.0])
    >>> fs.sigmoid_focal_loss(x, t)
    array([2.73208311e-05, 1.35267213e-03, 1.68933726e-02])
    """
    x, t, kd = _prepare(logits, target, grad_out)
    reduction = _check_reduction(reduction)
    a = _check_real(alpha, "alpha")
    g = _check_real(gamma, "gamma")
    if not np.isfinite(a):
        raise ValueError(f"alpha: must be finite, got {a}")
    if not (np.isfinite(g) and g >= 0.0):
        raise ValueError(f"gamma: must be a finite number >= 0, got {g}")
    order = _order_of(x) or "C"
    return _run_binary(
        True, x, t, kd, order, None, False, None, 1, 0.0, a, g, reduction, return_grad, grad_out,
        num_threads,
    )
