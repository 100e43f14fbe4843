"""cross_entropy on dask arrays: the loss and, with return_grad=True, its gradient.

The class axis whole in each chunk: each chunk runs :func:`fastsoftmax.cross_entropy`
(``reduction="none"``) once, giving its rows' losses and, if asked, its gradient
block. The class axis split across chunks: one pass builds per-chunk records
(max, log-sum, the target logit, the smoothing sum) merged in dask's reduction
tree into the rows' losses; the gradient is a second pass over the chunks."""

from __future__ import annotations

import math
import operator

import dask.array as da
import numpy as np

from .._args import normalize_axes, normalize_threads
from .._xent import _REDUCTIONS, _as_float
from .._xent import cross_entropy as _np_cross_entropy
from . import _stats
from ._softmax import as_dask, split_axes

#: One record per row (and class chunk): the (max, log-sum) pair of _stats, the
#: target's logit (0 in chunks without it), sum of w_k (m - z_k), sum of w_k.
RECORD = np.dtype(
    [("m", np.float64), ("t", np.longdouble), ("zt", np.float64), ("a", np.longdouble),
     ("w", np.float64)]
)
_LD = np.longdouble


def _check_labels(lab: np.ndarray, n_classes: int, ignore: int) -> np.ndarray:
    lab = lab.astype(np.int64, copy=False)
    ok = ((lab >= 0) & (lab < n_classes)) | (lab == ignore)
    if not ok.all():
        bad = int(lab[~ok].flat[0])
        raise ValueError(
            f"target: label {bad} is out of range [0, {n_classes}) and is not ignore_index "
            f"({ignore})"
        )
    return lab


def _check_sample_weight(s: np.ndarray) -> np.ndarray:
    s = s.astype(np.float64, copy=False)
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("sample_weight: must be finite and non-negative")
    return s


def _scaled(x: np.ndarray, kdt: np.dtype, inv_t: float) -> np.ndarray:
    """``logits / temperature`` rounded to the compute dtype, as the NumPy function does."""
    z = x.astype(kdt, copy=False)
    return z if inv_t == 1.0 else z * kdt.type(inv_t)


# ---- the class axis whole in each chunk -------------------------------------------------

def _whole_block(x, t, sw, den, *, kdt, opts, want_grad):
    """Rows' losses (and gradient block) of one block: t and sw carry a trailing 1 axis."""
    if t.dtype.kind in "iu":
        t = t[..., 0]
    r = _np_cross_entropy(x.astype(kdt, copy=False), t, axis=-1,
                           sample_weight=None if sw is None else sw[..., 0],
                           reduction="none", return_grad=want_grad, **opts)
    if not want_grad:
        return r[..., None]
    rows, g = r
    if den is not None:
        d = float(np.asarray(den).reshape(-1)[0])
        g *= g.dtype.type(1.0 / d if d > 0 else 0.0)
    return rows[..., None], g.astype(x.dtype, copy=False)


# ---- the class axis split across chunks -------------------------------------------------

def _split_record(x, t, off, *, n_classes, kdt, inv_t, w, ignore, eps, num_threads):
    """One class chunk's RECORD per row, shape (rows..., 1)."""
    z = _scaled(x, kdt, inv_t)
    nd = z.ndim
    st = _stats.chunk_stats(z, (nd - 1,), num_threads=num_threads)
    out = np.zeros(st.shape, dtype=RECORD)
    out["m"], out["t"] = st["m"], st["t"]
    c0, width = int(np.asarray(off).reshape(-1)[0]), z.shape[-1]
    lab = _check_labels(t, n_classes, ignore)
    local = lab - c0
    inside = (lab != ignore) & (local >= 0) & (local < width)
    picked = np.take_along_axis(z, np.clip(local, 0, width - 1), axis=-1)
    out["zt"] = np.where(inside, picked, 0.0)
    if eps > 0.0:
        wc = np.ones(width) if w is None else w[c0:c0 + width]
        m = st["m"]
        with np.errstate(invalid="ignore"):
            gap = np.where(wc > 0, wc * (np.where(np.isfinite(m), m, 0) - z.astype(np.float64)),
                           0.0)
        out["a"] = np.where(m == -np.inf, np.inf if wc.sum() > 0 else 0.0,
                            gap.sum(axis=-1, keepdims=True))
        out["w"] = wc.sum()
    return out


def _identity(p, axis=None, keepdims=True):
    return p


def _merge_records(p, axis, keepdims=True):
    s = _stats.merge(p, axis)
    out = np.empty(s.shape, dtype=RECORD)
    out["m"], out["t"] = s["m"], s["t"]
    with np.errstate(invalid="ignore"):
        out["zt"] = p["zt"].sum(axis=axis, keepdims=True)
        big = np.where(np.isfinite(s["m"]), s["m"], 0).astype(_LD)
        lift = np.where(p["w"] > 0, p["w"] * (big - p["m"].astype(_LD)), 0.0)
        out["a"] = (p["a"].astype(_LD) + lift).sum(axis=axis, keepdims=True)
    out["w"] = p["w"].sum(axis=axis, keepdims=True)
    return out


def _split_rows(rec, t, sw, *, n_classes, w, ignore, eps):
    """Per-row losses (float64), shape (rows..., 1), from the merged records."""
    lab = _check_labels(t, n_classes, ignore)
    keep = lab != ignore
    wt = np.ones(lab.shape) if w is None else w[np.where(keep, lab, 0)]
    big, lsum = rec["m"].astype(_LD), rec["t"].astype(_LD)
    with np.errstate(invalid="ignore", over="ignore"):
        loss = (1.0 - eps) * wt * ((big - rec["zt"].astype(_LD)) + lsum)
        if eps > 0.0:
            loss = loss + (eps / n_classes) * (rec["a"].astype(_LD) + rec["w"] * lsum)
        loss = np.where(np.isfinite(rec["m"]), loss, np.nan)
        if sw is not None:
            loss = loss * _check_sample_weight(sw)
    return np.where(keep, loss, 0.0).astype(np.float64)


def _split_grad(x, rec, t, off, sw, den, *, n_classes, kdt, inv_t, w, ignore, eps,
                num_threads):
    """One chunk of the gradient: coef * (p * (1-eps) w_t + eps W / C) - targets)."""
    z = _scaled(x, kdt, inv_t)
    nd = z.ndim
    p = _stats.chunk_softmax(z, rec, (nd - 1,), num_threads)
    c0, width = int(np.asarray(off).reshape(-1)[0]), z.shape[-1]
    lab = _check_labels(t, n_classes, ignore)
    keep = lab != ignore
    wt = np.ones(lab.shape) if w is None else w[np.where(keep, lab, 0)]
    wc = np.ones(width) if w is None else w[c0:c0 + width]
    total_w = float(n_classes) if w is None else float(w.sum())
    coef = np.full(lab.shape, inv_t)
    if sw is not None:
        coef = coef * _check_sample_weight(sw)
    if den is not None:
        d = float(np.asarray(den).reshape(-1)[0])
        coef = coef * (1.0 / d if d > 0 else 0.0)
    coef = np.where(keep, coef, 0.0)
    p *= coef * ((1.0 - eps) * wt + eps * total_w / n_classes)
    local = lab - c0
    inside = keep & (local >= 0) & (local < width)
    hit = np.clip(local, 0, width - 1)
    sub = np.where(inside, coef * (1.0 - eps) * wt, 0.0)
    np.put_along_axis(p, hit, np.take_along_axis(p, hit, axis=-1) - sub, axis=-1)
    if eps > 0.0:
        p -= (coef * (eps / n_classes)) * wc
    p = np.where(keep, p, 0.0)
    return p.astype(x.dtype, copy=False)


def _denominators(t, sw, *, w, ignore, n_classes):
    lab = _check_labels(t, n_classes, ignore)
    keep = lab != ignore
    d = np.where(keep, 1.0 if w is None else w[np.where(keep, lab, 0)], 0.0)
    if sw is not None:
        d = d * _check_sample_weight(sw)
    return d


def _safe_div(total, den):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.float64(total) / np.float64(den)


# ---- argument checks -----------------------------------------------------------------------

def _weight(weight: object, n_classes: int) -> np.ndarray | None:
    if weight is None:
        return None
    w = np.asarray(weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"weight: unsupported dtype {w.dtype}")
    w = w.astype(np.float64)
    if w.shape != (n_classes,):
        raise ValueError(f"weight: has shape {w.shape}, expected ({n_classes},) (one per class)")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weight: class weights must be finite and non-negative")
    return w


def _sample_weight(sample_weight: object, batch_shape: tuple[int, ...], chunks) -> da.Array | None:
    if sample_weight is None:
        return None
    s = as_dask(sample_weight)
    if s.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight: unsupported dtype {s.dtype}")
    if s.shape != batch_shape:
        if s.ndim == 1 and len(batch_shape) > 1 and s.shape[0] == batch_shape[0]:
            s = da.broadcast_to(s.reshape((-1,) + (1,) * (len(batch_shape) - 1)), batch_shape)
        else:
            raise ValueError(
                f"sample_weight: has shape {s.shape}, expected {batch_shape} "
                f"(or ({batch_shape[0] if batch_shape else 1},))"
            )
    return s.astype(np.float64).rechunk(chunks)


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
    grad_out: None = None,
    num_threads: int | None = None,
    split_every: int | None = None,
):
    r"""Cross-entropy loss (and gradient) of dask logits (see :func:`fastsoftmax.cross_entropy`).

    Same semantics as the NumPy function. The class axis may be chunked (for
    example a 1M-class axis in 64K chunks): the loss is then one pass over the
    logits and a reduction tree, the gradient one more pass. Supported with a
    split class axis: class-index targets with every option (``weight``,
    ``sample_weight``, ``ignore_index``, all reductions, ``label_smoothing``,
    ``temperature``, ``return_grad``); probability (soft) targets need the
    class axis whole in each chunk (``NotImplementedError`` otherwise).
    Label and ``sample_weight`` values are checked when the graph runs (a bad
    one raises ``ValueError`` from ``compute``).

    Parameters
    ----------
    logits : dask.array.Array or array_like
        float16, float32 or float64, any chunking.
    target : dask.array.Array or array_like
        Integer class indices with the logits' shape without ``axis``, or
        probabilities with the logits' shape.
    axis, weight, sample_weight, ignore_index, reduction, label_smoothing, temperature
        As :func:`fastsoftmax.cross_entropy` (``sample_weight`` may be a dask array).
    return_grad : bool, default False
        Also return the gradient with respect to ``logits`` as a dask array.
    grad_out : None
        Not supported (dask arrays are immutable): must be None.
    num_threads : int, optional
        Thread cap for each chunk's kernel.
    split_every : int, optional
        Fan-in of the reduction trees.

    Returns
    -------
    loss : dask.array.Array
        0-d for ``"mean"`` / ``"sum"``, the target batch shape for ``"none"``.
    grad : dask.array.Array
        Only with ``return_grad=True``: the logits' shape, dtype and chunks.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import fastsoftmax.dask as fsd
    >>> x = da.from_array(np.array([[2.0, 0.5, -1.0], [0.0, 3.0, 0.0]]), chunks=(1, 2))
    >>> float(fsd.cross_entropy(x, np.array([0, 1])).compute())
    0.16811712653905897
    """
    if grad_out is not None:
        raise NotImplementedError("grad_out: dask arrays are immutable; use return_grad=True")
    x = as_dask(logits)
    if x.dtype.kind != "f" or x.dtype.itemsize > 8:
        raise TypeError(
            f"logits: unsupported dtype {x.dtype} (expected float16, float32 or float64)"
        )
    if x.ndim == 0:
        raise ValueError("logits: must have at least one axis (the class axis)")
    if isinstance(axis, tuple | list):
        raise TypeError(f"axis: cross_entropy takes a single class axis, got {axis!r}")
    (ax,) = normalize_axes(axis, x.ndim)
    n_classes = x.shape[ax]
    if n_classes == 0:
        raise ValueError("logits: the class axis has length 0")
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")
    eps = _as_float(label_smoothing, "label_smoothing")
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing: must be in [0, 1], got {label_smoothing!r}")
    temp = _as_float(temperature, "temperature")
    if not (temp > 0.0 and math.isfinite(temp)):
        raise ValueError(f"temperature: must be a finite number > 0, got {temperature!r}")
    if isinstance(ignore_index, bool | np.bool_):
        raise TypeError(f"ignore_index: expected an int, got {ignore_index!r}")
    try:
        ignore = operator.index(ignore_index)
    except TypeError:
        raise TypeError(f"ignore_index: expected an int, got {ignore_index!r}") from None
    normalize_threads(num_threads)  # checked here; each chunk gets the value as given
    threads = num_threads

    last = ax == x.ndim - 1
    xl = x if last else da.moveaxis(x, ax, -1)
    batch_shape, batch_chunks = xl.shape[:-1], xl.chunks[:-1]
    n_rows = math.prod(batch_shape)
    kdt = np.dtype(np.float32) if x.dtype == np.float16 else x.dtype
    w = _weight(weight, n_classes)
    sw = _sample_weight(sample_weight, batch_shape, batch_chunks)
    t = as_dask(target)
    if t.dtype.kind in "iu":
        soft = False
        if t.shape != batch_shape:
            raise ValueError(
                f"target: class-index target has shape {t.shape}, expected {batch_shape} "
                f"(the logits' shape {x.shape} without the class axis)"
            )
        t = t.rechunk(batch_chunks)
    elif t.dtype.kind == "f":
        soft = True
        if t.shape != x.shape:
            raise ValueError(
                f"target: probability target has shape {t.shape}, expected the logits' shape "
                f"{x.shape}"
            )
        t = (t if last else da.moveaxis(t, ax, -1)).rechunk(xl.chunks)
    else:
        raise TypeError(
            f"target: unsupported dtype {t.dtype} (expected integer class indices or floating "
            "probabilities)"
        )
    want_grad = bool(return_grad)
    mean = reduction == "mean"

    # The "mean" denominator depends on the targets only: a cheap pass of its own.
    den = None
    if mean:
        if soft:
            den = sw.sum() if sw is not None else da.from_array(np.float64(n_rows))
        else:
            den = da.map_blocks(_denominators, t, sw, w=w, ignore=ignore,
                                n_classes=n_classes, dtype=np.float64,
                                meta=np.empty((0,) * t.ndim)).sum(split_every=split_every)
    den_b = None if den is None else den.reshape((1,) * xl.ndim)
    nb = len(batch_shape)
    sw1 = None if sw is None else sw[..., None]

    if not split_axes(xl, (xl.ndim - 1,)):
        opts = dict(weight=w, ignore_index=ignore, label_smoothing=eps, temperature=temp,
                    num_threads=threads)
        tb = t if soft else t[..., None]
        if not want_grad:
            rows = da.map_blocks(_whole_block, xl, tb, sw1, None, kdt=kdt, opts=opts,
                                 want_grad=False, chunks=batch_chunks + ((1,),), dtype=kdt,
                                 meta=np.empty((0,) * xl.ndim, dtype=kdt),
                                 name="fastsoftmax-xent")[..., 0]
            grad = None
        else:
            pairs = da.map_blocks(_whole_block, xl, tb, sw1, den_b, kdt=kdt, opts=opts,
                                  want_grad=True, dtype=x.dtype,
                                  meta=np.empty((0,) * xl.ndim, dtype=x.dtype),
                                  name="fastsoftmax-xent")
            grad = pairs.map_blocks(operator.getitem, 1, dtype=x.dtype,
                                    meta=np.empty((0,) * xl.ndim, dtype=x.dtype))
            rows = pairs.map_blocks(operator.getitem, 0, chunks=batch_chunks + ((1,),),
                                    dtype=kdt, meta=np.empty((0,) * xl.ndim, dtype=kdt))[..., 0]
    else:
        if soft:
            raise NotImplementedError(
                "target: probability targets need the class axis whole in each chunk "
                "(rechunk it, or use class indices)"
            )
        starts = np.cumsum((0,) + xl.chunks[-1][:-1]).reshape((1,) * nb + (-1,))
        offsets = da.from_array(starts, chunks=1)
        inv_t = 1.0 / temp
        common = dict(n_classes=n_classes, w=w, ignore=ignore, eps=eps)
        partial = da.map_blocks(
            _split_record, xl, t[..., None], offsets, kdt=kdt, inv_t=inv_t,
            num_threads=threads, **common, chunks=batch_chunks + ((1,) * xl.numblocks[-1],),
            dtype=RECORD, meta=np.empty((0,) * xl.ndim, dtype=RECORD),
            name="fastsoftmax-xent-part",
        )
        common.pop("n_classes")
        rec = da.reduction(
            partial, chunk=_identity, combine=_merge_records, aggregate=_merge_records,
            axis=nb, keepdims=True, dtype=RECORD, split_every=split_every, concatenate=True,
            meta=np.empty((0,) * xl.ndim, dtype=RECORD), name="fastsoftmax-xent-tree",
        )
        rows = da.map_blocks(
            _split_rows, rec, t[..., None], sw1, n_classes=n_classes, **common, dtype=np.float64,
            meta=np.empty((0,) * xl.ndim), name="fastsoftmax-xent-rows",
        )[..., 0]
        grad = None
        if want_grad:
            grad = da.map_blocks(
                _split_grad, xl, rec, t[..., None], offsets, sw1, den_b, n_classes=n_classes,
                kdt=kdt, inv_t=inv_t, num_threads=threads, **common, dtype=x.dtype,
                meta=np.empty((0,) * xl.ndim, dtype=x.dtype), name="fastsoftmax-xent-grad",
            )

    if reduction == "none":
        loss = rows.astype(x.dtype)
    else:
        total = rows.sum(dtype=np.float64, split_every=split_every)
        if mean:
            total = da.blockwise(_safe_div, "", total, "", den, "", dtype=np.float64,
                                 meta=np.empty((), dtype=np.float64))
        loss = total.astype(x.dtype)
    if not want_grad:
        return loss
    return loss, (grad if last else da.moveaxis(grad, -1, ax))

