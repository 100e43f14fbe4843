"""cross_entropy: PyTorch's cross-entropy loss and its gradient in one fused call.

Each call checks every argument (nothing is written before all checks pass),
brings the logits to an (N, C) array whose class axis is contiguous, and makes
one Cython call (_core.cross_entropy): in one release of the GIL, a C pass over
the labels (range, ignored rows, the "mean" denominator; a bad label comes back
as BadLabel, worded here, with nothing written), then the kernel that computes
the per-row losses and, optionally, the gradient. The common call (an int64
target, no weights, a C-contiguous float32/float64 input with the class axis
last, no grad_out or a C-contiguous one) goes straight to
_core.xent_fast_call, which makes the same two C calls without the
Python-level work here, and so gives the same results; anything it does not
cover, a bad label included, comes back here. See
:func:`cross_entropy` for the semantics."""

from __future__ import annotations

import math
import operator

import numpy as np

from . import _core
from ._args import BOOL_TYPES, as_input_array, as_named_array, normalize_axes, normalize_threads

_REDUCTIONS = ("mean", "sum", "none")
_NOT_NUMBERS = (*BOOL_TYPES, str, bytes)
_INT64_MAX = np.iinfo(np.int64).max
# Native-order dtypes, for identity tests (most arrays of these dtypes carry
# these very objects; an equal copy takes the general branch, with the same result).
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
_I64 = np.dtype(np.int64)


def _as_float(value: object, name: str) -> float:
    # float("0.1") would succeed: strings are rejected as they are for axis.
    if isinstance(value, _NOT_NUMBERS):
        raise TypeError(f"{name}: expected a real number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a real number, got {value!r}") from None


def _rows_2d(a: np.ndarray, n_classes: int) -> tuple[np.ndarray, bool]:
    """``a`` (class axis last) as (N, C) with contiguous classes; (array, copied)."""
    if not a.flags.aligned:
        # The kernels load whole elements; an unaligned buffer gets an aligned copy.
        return np.array(a.reshape(-1, n_classes), order="C"), True
    classes_contiguous = a.ndim == 2 and (a.strides[1] == a.itemsize or n_classes <= 1)
    if classes_contiguous and a.strides[0] % a.itemsize == 0:
        return a, False
    r = a.reshape(-1, n_classes)
    if r.size and not np.may_share_memory(r, a):
        r = np.ascontiguousarray(r)
        return r, True
    if r.shape[1] > 1 and r.strides[1] != r.itemsize:
        return np.ascontiguousarray(r), True
    return r, False


def _check_target(target: object, batch_shape: tuple[int, ...], logits_shape: tuple[int, ...]):
    t = as_named_array(target, "target")
    kind = t.dtype.kind
    if kind in "iu":
        if t.shape != batch_shape:
            raise ValueError(
                f"target: class-index target has shape {t.shape}, expected {batch_shape} "
                f"(the logits' shape {logits_shape} without the class axis)"
            )
        return t, False
    if kind == "f":
        if t.shape != logits_shape:
            raise ValueError(
                f"target: probability target has shape {t.shape}, expected the logits' shape "
                f"{logits_shape}"
            )
        return t, True
    raise TypeError(
        f"target: unsupported dtype {t.dtype} (expected integer class indices or floating "
        "probabilities)"
    )


def _label_array(t: np.ndarray) -> tuple[np.ndarray, bool]:
    """The labels as the C check reads them: flat, contiguous, aligned, native int64, with
    uint64 values viewed as int64 and flagged (those from 2^63 up must stay out of
    range rather than wrap); (labels, unsigned). A contiguous native int64 or uint64
    target is used as it is."""
    dt = t.dtype
    if dt is _I64 and t.flags.carray and t.ndim == 1:
        return t, False
    unsigned = dt.kind == "u" and dt.itemsize == 8
    lab = np.ascontiguousarray(t, dtype=np.uint64 if unsigned else np.int64).reshape(-1)
    if not lab.flags.aligned:  # the kernels load int64 labels directly
        lab = lab.copy()
    return (lab.view(np.int64) if unsigned else lab), unsigned


def _bad_label(t: np.ndarray, pos: int, n_classes: int, ignore_index: int) -> ValueError:
    """The error for the label at flat index ``pos`` (as the C check reports it)."""
    value = int(t.reshape(-1)[pos])
    idx = tuple(int(i) for i in np.unravel_index(pos, t.shape))
    return ValueError(
        f"target: label {value} at index {idx} is out of range [0, {n_classes}) and is not "
        f"ignore_index ({ignore_index})"
    )


def _labels(
    t: np.ndarray, n_classes: int, ignore_index: int, weight: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Contiguous int64 labels (uint64 values checked as such), every one in [0, C)
    or equal to ignore_index; (labels, the "mean" denominator: the summed float64
    class weights of the kept rows, or their number). One scan in C."""
    lab, unsigned = _label_array(t)
    try:
        _, denom = _core.check_labels(lab, unsigned, n_classes, ignore_index, weight)
    except _core.BadLabel as exc:
        raise _bad_label(t, exc.index, n_classes, ignore_index) from None
    return lab, denom


def _ignore_index(ignore_index: object) -> int:
    if type(ignore_index) is int and -(2**63) <= ignore_index <= _INT64_MAX:
        return ignore_index
    if isinstance(ignore_index, BOOL_TYPES):
        raise TypeError(f"ignore_index: expected an int, got {ignore_index!r}")
    try:
        ignore = operator.index(ignore_index)
    except TypeError:
        raise TypeError(f"ignore_index: expected an int, got {ignore_index!r}") from None
    if not -(2**63) <= ignore <= _INT64_MAX:
        raise ValueError(f"ignore_index: out of the int64 range: {ignore}")
    return ignore


def _class_weights(weight: object, n_classes: int, kdt: np.dtype) -> np.ndarray:
    w64 = as_named_array(weight, "weight")
    if w64.dtype.kind not in "biuf":
        raise TypeError(f"weight: unsupported dtype {w64.dtype}")
    w64 = w64.astype(np.float64)
    if w64.shape != (n_classes,):
        raise ValueError(f"weight: has shape {w64.shape}, expected ({n_classes},) (one per class)")
    if _core.first_bad_weight(w64) >= 0:  # (astype made it contiguous)
        raise ValueError("weight: class weights must be finite and non-negative")
    return np.ascontiguousarray(w64.astype(kdt))


def _sample_weights(sample_weight: object, batch_shape: tuple[int, ...]) -> np.ndarray:
    s = as_named_array(sample_weight, "sample_weight")
    if s.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight: unsupported dtype {s.dtype}")
    s = s.astype(np.float64)
    if s.shape != batch_shape:
        if s.ndim == 1 and len(batch_shape) > 1 and s.shape[0] == batch_shape[0]:
            s = s.reshape((-1,) + (1,) * (len(batch_shape) - 1))
            s = np.broadcast_to(s, batch_shape)
        else:
            raise ValueError(
                f"sample_weight: has shape {s.shape}, expected {batch_shape} "
                f"(or ({batch_shape[0] if batch_shape else 1},))"
            )
    s = np.ascontiguousarray(s.reshape(-1))
    if _core.first_bad_weight(s) >= 0:
        raise ValueError("sample_weight: must be finite and non-negative")
    return s


def _check_grad_out(grad_out: object, x: np.ndarray) -> None:
    if not isinstance(grad_out, np.ndarray):
        raise TypeError(f"grad_out: expected a numpy.ndarray, got {type(grad_out).__name__}")
    if grad_out.shape != x.shape:
        raise ValueError(
            f"grad_out: has shape {grad_out.shape}, expected the logits' shape {x.shape}"
        )
    if grad_out.dtype != x.dtype:
        raise TypeError(
            f"grad_out: has dtype {grad_out.dtype}, expected the logits' dtype {x.dtype}"
        )
    if not grad_out.flags.writeable:
        raise ValueError("grad_out: array is read-only")
    if (
        grad_out is not x
        and np.may_share_memory(grad_out, x)
        and np.shares_memory(grad_out, x)
    ):
        raise ValueError("grad_out: overlaps logits without being logits itself")


def cross_entropy(
    logits: object,
    target: object,
    *,
    axis: int = -1,
    weight: object = None,
    sample_weight: object = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    temperature: float = 1.0,
    return_grad: bool = False,
    grad_out: np.ndarray | None = None,
    num_threads: int | None = None,
):
    r"""Cross-entropy loss of ``softmax(logits / temperature)``, and its gradient, in one call.

    The semantics are those of :func:`torch.nn.functional.cross_entropy`
    (class weights, ``ignore_index``, label smoothing, soft targets,
    reductions), computed as ``(m - z_t) + log1p(rest)`` per row (``m`` the row
    maximum, ``rest`` the sum of the other exponentials, compensated for the
    rounding of ``z - m``), so confident predictions keep full relative
    precision: a loss of 1e-30 is exact to about 1e-7 in float32 and 1e-15 in
    float64, where PyTorch's float32 result is off by percents.

    Parameters
    ----------
    logits : array_like
        float32 or float64 (computed in their own precision) or float16
        (computed in float32; loss and gradient are returned as float16, as
        PyTorch does). Any shape with at least one axis.
    target : array_like
        Either integer class indices (any integer dtype) with the logits' shape
        without ``axis``, each in ``[0, C)`` or equal to ``ignore_index``; or
        class probabilities (a floating dtype) with the logits' shape.
    axis : int, default -1
        The class axis; use 1 for PyTorch's ``(N, C, d1, ...)`` layout.
    weight : array_like, optional
        Class weights, shape ``(C,)``, finite and non-negative.
    sample_weight : array_like, optional
        Per-sample weights, finite and non-negative: the shape of the target
        batch (the logits' shape without ``axis``) or ``(N,)`` for the first
        batch axis. Row losses are multiplied by them, and ``"mean"`` divides
        by their sum (times the target's class weight for class indices):
        scikit-learn's weighted average.
    ignore_index : int, default -100
        Class-index rows with this label contribute 0 to the loss, the
        gradient and the ``"mean"`` denominator. Ignored for soft targets.
    reduction : {"mean", "sum", "none"}
        ``"mean"`` divides the summed loss by the summed target weights (the
        number of non-ignored rows without weights; ``N`` for soft targets, as
        PyTorch). A batch with nothing to average gives NaN (as PyTorch).
        ``"none"`` returns the per-row losses with the target batch shape.
    label_smoothing : float in [0, 1], default 0
        PyTorch's label smoothing (for soft targets the target becomes
        ``(1 - eps) * p + eps / C``).
    temperature : float > 0, default 1
        The loss of ``softmax(logits / temperature)``; the gradient is with
        respect to the raw logits. ``logits / temperature`` is rounded to the
        working precision (computed as ``logits * (1 / temperature)``).
    return_grad : bool, default False
        Also return the gradient of the returned loss with respect to
        ``logits`` (for ``reduction="none"``, of ``loss.sum()``).
    grad_out : ndarray, optional
        Where to write the gradient: the logits' shape and dtype, writeable.
        May be ``logits`` itself (computed in place, without a second array of
        the logits' size, when the class axis is last and contiguous and the
        dtype is float32 / float64). Implies ``return_grad=True``.
    num_threads : int, optional
        Upper bound on OpenMP threads; None uses the OpenMP default.

    Returns
    -------
    loss : scalar or ndarray
        Of the logits' dtype (float16 for float16 logits).
    grad : ndarray
        Only with ``return_grad=True`` or ``grad_out``: same shape and dtype as
        ``logits``.

    Notes
    -----
    The kernel needs each row's classes contiguous. When the class axis is not
    the last axis (``axis=1`` for ``(N, C, d)``) or not contiguous, the logits
    are copied once into a C-ordered ``(N, C)`` array and the gradient is
    computed in that layout: a returned gradient is a view of it with the axes
    permuted back (not C-contiguous), a ``grad_out`` is filled from it.
    float16 logits are converted to a float32 copy. Soft targets are brought
    to the same layout and dtype.

    Non-finite logits: a row holding NaN or +inf, or only -inf, gives a NaN
    loss and a NaN gradient row (as PyTorch). A -inf logit elsewhere is
    allowed: as the target it gives an infinite loss.

    Examples
    --------
    >>> import numpy as np
    >>> from fastsoftmax import cross_entropy
    >>> x = np.array([[2.0, 0.5, -1.0], [0.0, 3.0, 0.0]])
    >>> float(cross_entropy(x, np.array([0, 1])))
    0.16811712653905897
    """
    if weight is None and sample_weight is None:
        # the common call: one Cython call, or None for anything it does not cover
        r = _core.xent_fast_call(logits, target, axis, ignore_index, reduction, label_smoothing,
                                 temperature, return_grad, num_threads, grad_out)
        if r is not None:
            return r

    x = as_input_array(logits, "logits")
    dt = x.dtype
    if dt is _F32 or dt is _F64:
        kdt = dt
    elif dt.kind != "f" or dt.itemsize > 8:
        raise TypeError(
            f"logits: unsupported dtype {x.dtype} (expected float16, float32 or float64)"
        )
    else:
        # The kernels take native byte order; a byte-swapped input is converted.
        native = dt.newbyteorder("=")
        kdt = _F32 if native == np.float16 else native
    nd = x.ndim
    if nd == 0:
        raise ValueError("logits: must have at least one axis (the class axis)")
    if type(axis) is int and (axis == -1 or axis == nd - 1):
        ax = nd - 1  # the common case, without the general normalisation
    else:
        if isinstance(axis, tuple | list):
            raise TypeError(f"axis: cross_entropy takes a single class axis, got {axis!r}")
        (ax,) = normalize_axes(axis, nd)
    last = ax == nd - 1
    C = x.shape[ax]
    if C == 0:
        raise ValueError("logits: the class axis has length 0")
    batch_shape = x.shape[:ax] + x.shape[ax + 1:]
    N = math.prod(batch_shape)

    t, soft = _check_target(target, batch_shape, x.shape)

    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")
    eps = label_smoothing if type(label_smoothing) is float else _as_float(
        label_smoothing, "label_smoothing")
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing: must be in [0, 1], got {label_smoothing!r}")
    temp = temperature if type(temperature) is float else _as_float(temperature, "temperature")
    if not 0.0 < temp < math.inf:
        raise ValueError(f"temperature: must be a finite number > 0, got {temperature!r}")
    ignore = _ignore_index(ignore_index)
    threads = 0 if num_threads is None else normalize_threads(num_threads)

    w = None if weight is None else _class_weights(weight, C, kdt)
    sw = None if sample_weight is None else _sample_weights(sample_weight, batch_shape)

    want_grad = bool(return_grad) or grad_out is not None
    in_place = False
    if grad_out is not None:
        _check_grad_out(grad_out, x)
        in_place = grad_out is logits

    # The labels' values are checked in C, in the kernel call, before anything is written.
    if soft:
        labels, unsigned = None, False
        qa = t.astype(kdt, copy=False)
    else:
        labels, unsigned = _label_array(t)

    # ---- every check passed but the labels' values: layout and kernel ----
    xl = x if last else np.moveaxis(x, ax, -1)
    xk = xl.astype(kdt, copy=False)
    x2, copied = _rows_2d(xk, C)
    q2 = None
    if soft:
        q2, _ = _rows_2d(qa if last else np.moveaxis(qa, ax, -1), C)

    g2 = None
    direct_grad = False
    if want_grad:
        if grad_out is not None and grad_out.dtype == kdt:
            if in_place and not copied:
                g2, direct_grad = x2, True
            elif not in_place:
                gl = grad_out if last else np.moveaxis(grad_out, ax, -1)
                cand, gcopied = _rows_2d(gl, C)
                if not gcopied:
                    g2, direct_grad = cand, True
        if g2 is None:
            g2 = np.empty((N, C), dtype=kdt)

    mean = reduction == "mean"
    loss_rows = np.empty(N, dtype=kdt) if reduction == "none" else None
    try:
        total, denom = _core.cross_entropy(
            x2, labels, unsigned, q2, w,
            # (the ufunc's own reduce: np.sum's wrapper costs microseconds; the same sum)
            float(np.add.reduce(w, dtype=np.float64)) if w is not None else float(C),
            sw, ignore, eps, temp, mean, loss_rows, g2, threads,
        )
    except _core.BadLabel as exc:
        raise _bad_label(t, exc.index, C, ignore) from None

    out_dtype = x.dtype
    if reduction == "none":
        loss = loss_rows.reshape(batch_shape).astype(out_dtype, copy=False)
    elif mean and denom != 0.0:
        loss = out_dtype.type(total / denom)
    elif mean:  # nothing to average: NaN (or +-inf), as PyTorch
        with np.errstate(invalid="ignore", divide="ignore"):
            loss = out_dtype.type(np.float64(total) / np.float64(denom))
    else:
        loss = out_dtype.type(total)
    if not want_grad:
        return loss

    if direct_grad:
        return loss, grad_out
    g = g2.reshape(xl.shape)
    if not last:
        g = np.moveaxis(g, -1, ax)
    if grad_out is not None:
        grad_out[...] = g
        return loss, grad_out
    # a class axis that is not last: the gradient is returned in the kernel's
    # layout (a view with permuted axes) rather than paying a second transposing copy
    return loss, g.astype(out_dtype, copy=False) if out_dtype != kdt else g
