"""softmax_focal_loss: the multi-class focal loss and its gradient in one call.

Argument handling follows cross_entropy (_xent.py, whose target and layout
helpers it reuses); the kernel (_core.softmax_focal_loss) runs the
cross-entropy row kernels plus a per-row focal factor, see
csrc/driver/focal_driver_body.h for the formulas."""

from __future__ import annotations

import math

import numpy as np

from . import _core
from ._args import as_input_array, normalize_axes, normalize_threads
from ._xent import _as_float, _check_grad_out, _check_target, _ignore_index, _labels, _rows_2d

_REDUCTIONS = ("mean", "sum", "none")


def _real(value: object, name: str) -> float:
    """A real number (not a string, not a bool) as a float."""
    if isinstance(value, str | bytes):
        raise TypeError(f"{name}: expected a real number, got {value!r}")
    return _as_float(value, name)


def _class_vector(value: object, name: str, n_classes: int) -> np.ndarray:
    """A (C,) float64 array of finite non-negative numbers, or a clear error."""
    v = np.asarray(value)
    if v.dtype.kind not in "biuf":
        raise TypeError(f"{name}: unsupported dtype {v.dtype}")
    v = np.ascontiguousarray(v.astype(np.float64))
    if v.shape != (n_classes,):
        raise ValueError(f"{name}: has shape {v.shape}, expected ({n_classes},) (one per class)")
    if _core.first_bad_weight(v) >= 0:
        raise ValueError(f"{name}: must be finite and non-negative")
    return v


def softmax_focal_loss(
    logits: object,
    target: object,
    *,
    gamma: float = 2.0,
    alpha: object = None,
    axis: int = -1,
    weight: object = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    return_grad: bool = False,
    grad_out: np.ndarray | None = None,
    num_threads: int | None = None,
):
    r"""Multi-class focal loss of ``softmax(logits)`` and its gradient, in one call.

    Per sample with class target ``t`` and ``p = softmax(logits)``:
    ``FL = -alpha_t * weight_t * (1 - p_t) ** gamma * log(p_t)``
    (Lin et al., "Focal Loss for Dense Object Detection", in its softmax
    form). ``gamma = 0`` without ``alpha`` is :func:`cross_entropy` exactly.
    Computed in log space: ``-log p_t`` from the accurate log-sum-exp and
    ``1 - p_t = -expm1(log p_t)``, so loss and gradient stay finite and keep
    their relative precision at confident logits, for every ``gamma >= 0``
    (autograd of the textbook formula gives NaN there for ``gamma < 1``).

    Parameters
    ----------
    logits : array_like
        float32 or float64 (computed in their own precision) or float16
        (computed in float32, returned as float16). At least one axis.
    target : array_like of int
        Class indices with the logits' shape without ``axis``, each in
        ``[0, C)`` or equal to ``ignore_index``.
    gamma : float >= 0, default 2
        The focusing parameter.
    alpha : None, float or array_like of shape (C,), optional
        Balancing factor: None (1), one non-negative number for every class,
        or one per class (``alpha_t = alpha[t]``). It scales the loss and does
        not enter the ``"mean"`` denominator.
    axis : int, default -1
        The class axis; use 1 for PyTorch's ``(N, C, d1, ...)`` layout.
    weight : array_like, optional
        Class weights, shape ``(C,)``, finite and non-negative. As in
        :func:`cross_entropy`, ``"mean"`` divides by the summed target weights.
    ignore_index : int, default -100
        Samples with this label contribute 0 to the loss, the gradient and the
        ``"mean"`` denominator.
    reduction : {"mean", "sum", "none"}
        ``"mean"``: summed loss / summed ``weight_t`` of the non-ignored
        samples (their number without weights; NaN when there is none).
        ``"none"``: per-sample losses with the target's shape.
    return_grad : bool, default False
        Also return the gradient of the returned loss with respect to
        ``logits`` (for ``reduction="none"``, of ``loss.sum()``).
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
    The gradient is ``K * (p - onehot(t))`` per sample with
    ``K = alpha_t weight_t (1 - p_t)^gamma (1 + gamma p_t (-log p_t) / (1 - p_t))``.
    When the class axis is not last or not contiguous, the logits are copied
    once into a C-ordered ``(N, C)`` array (as :func:`cross_entropy` does).
    A row holding NaN or +inf, or only -inf, gives a NaN loss and gradient.

    Examples
    --------
    >>> import numpy as np
    >>> from fastsoftmax import softmax_focal_loss
    >>> x = np.array([[2.0, 0.5, -1.0], [0.0, 3.0, 0.0]])
    >>> float(softmax_focal_loss(x, np.array([0, 1]), gamma=2.0))
    0.005935586244660711
    """
    x = as_input_array(logits, "logits")
    if x.dtype.kind != "f" or x.dtype.itemsize > 8:
        raise TypeError(
            f"logits: unsupported dtype {x.dtype} (expected float16, float32 or float64)"
        )
    if x.ndim == 0:
        raise ValueError("logits: must have at least one axis (the class axis)")
    if isinstance(axis, tuple | list):
        raise TypeError(f"axis: softmax_focal_loss takes a single class axis, got {axis!r}")
    (ax,) = normalize_axes(axis, x.ndim)
    C = x.shape[ax]
    if C == 0:
        raise ValueError("logits: the class axis has length 0")
    batch_shape = x.shape[:ax] + x.shape[ax + 1:]
    N = math.prod(batch_shape)

    if np.asarray(target).dtype.kind not in "iu":
        raise TypeError(
            f"target: expected integer class indices, got dtype {np.asarray(target).dtype}"
        )
    t, _ = _check_target(target, batch_shape, x.shape)

    g = _real(gamma, "gamma")
    if not (math.isfinite(g) and g >= 0.0):
        raise ValueError(f"gamma: must be a finite number >= 0, got {gamma!r}")
    alpha_vec = None
    alpha_scalar = 1.0
    if alpha is not None:
        if np.ndim(alpha) == 0:
            alpha_scalar = _real(alpha, "alpha")
            if not (math.isfinite(alpha_scalar) and alpha_scalar >= 0.0):
                raise ValueError(f"alpha: must be finite and non-negative, got {alpha!r}")
        else:
            alpha_vec = _class_vector(alpha, "alpha", C)
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")
    ignore = _ignore_index(ignore_index)
    threads = 0 if num_threads is None else normalize_threads(num_threads)

    # The kernels take native byte order; a byte-swapped input is converted.
    native = x.dtype.newbyteorder("=")
    kdt = np.dtype(np.float32) if native == np.float16 else native
    w = None
    if weight is not None:
        # rounded to the kernel dtype first, as cross_entropy does, so that
        # gamma = 0 reproduces it exactly
        w = _class_vector(weight, "weight", C).astype(kdt).astype(np.float64)

    want_grad = bool(return_grad) or grad_out is not None
    in_place = False
    if grad_out is not None:
        _check_grad_out(grad_out, x)
        in_place = grad_out is logits
    labels, denom = _labels(t, C, ignore, w)

    # ---- every check passed: layout and kernel ----
    last = ax == x.ndim - 1
    xl = x if last else np.moveaxis(x, ax, -1)
    x2, copied = _rows_2d(xl.astype(kdt, copy=False), C)
    g2 = None
    direct_grad = False
    if want_grad:
        if grad_out is not None and grad_out.dtype == kdt:
            if in_place and not copied:
                g2, direct_grad = x2, True
            elif not in_place:
                cand, gcopied = _rows_2d(grad_out if last else np.moveaxis(grad_out, ax, -1), C)
                if not gcopied:
                    g2, direct_grad = cand, True
        if g2 is None:
            g2 = np.empty((N, C), dtype=kdt)

    mean = reduction == "mean"
    grad_scale = (1.0 / denom if denom > 0 else 0.0) if mean else 1.0
    loss_rows = np.empty(N, dtype=kdt) if reduction == "none" else None
    total = _core.softmax_focal_loss(
        x2, labels, alpha_vec, alpha_scalar, w, ignore, g, grad_scale, loss_rows, g2, threads
    )

    out_dtype = x.dtype
    if reduction == "none":
        loss = loss_rows.reshape(batch_shape).astype(out_dtype, copy=False)
    elif mean and denom != 0.0:
        loss = out_dtype.type(total / denom)
    elif mean:  # nothing to average: NaN (or +-inf), as cross_entropy
        with np.errstate(invalid="ignore", divide="ignore"):
            loss = out_dtype.type(np.float64(total) / np.float64(denom))
    else:
        loss = out_dtype.type(total)
    if not want_grad:
        return loss
    if direct_grad:
        return loss, grad_out
    gr = g2.reshape(xl.shape)
    if not last:
        gr = np.moveaxis(gr, -1, ax)
    if grad_out is not None:
        grad_out[...] = gr
        return loss, grad_out
    return loss, gr.astype(out_dtype, copy=False) if out_dtype != kdt else np.ascontiguousarray(gr)
