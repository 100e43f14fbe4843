"""Per-chunk (max, log-sum) pairs and their associative merge, in NumPy only.

A chunk of a row contributes ``m`` (its maximum) and ``t = log(sum(exp(x - m)))``
(>= 0, kept with full relative precision however small). Two pairs merge as
``M = max(m_a, m_b)`` and ``l = log(e^(t_a + m_a - M) + e^(t_b + m_b - M))``,
computed as the largest term plus ``log1p`` of the rest, so ``l`` stays exact to
a few ULP even when it is 1e-30 (a dominant class). The row's logsumexp is then
``M + l`` and ``x - logsumexp = (x - M) - l``, with no cancellation in either.

Terms are computed one precision up: float32 chunks in float64; float64 chunks
in float64 with ``t`` kept and merged in long double, and for ``t >= 1/2`` taken
from the softmax kernel's ``1 / sum`` (relative precision) rather than from the
logsumexp kernel (whose absolute error grows with ``t``), so softmax keeps its
ULP bound after the merge. Non-finite rows carry their state
in ``M``: NaN if any element is NaN, +inf / -inf otherwise; ``l`` is 0 there.
"""

from __future__ import annotations

import numpy as np

from .. import _api

#: One (max, log-sum) pair per row: the element type of every partial array.
_LD = np.longdouble
STATS = np.dtype([("m", np.float64), ("t", _LD)])


def chunk_stats(
    x: np.ndarray, axis: tuple[int, ...], keepdims: bool = True, num_threads: int | None = None
) -> np.ndarray:
    """(m, t) of one chunk over ``axis`` (kept as size-1 axes), as a ``STATS`` array.

    Parameters
    ----------
    x : ndarray
        The chunk, already in its compute dtype (float32 or float64).
    axis : tuple of int
        The reduced axes.
    keepdims : bool
        Must be True (dask's reduction protocol passes it).
    num_threads : int, optional
        Passed to the kernel.

    Returns
    -------
    ndarray of STATS
        ``x``'s shape with the reduced axes of length 1.

    Examples
    --------
    >>> import numpy as np
    >>> s = chunk_stats(np.array([[0.0, 0.0]]), (1,))
    >>> float(s["m"][0, 0]), round(float(s["t"][0, 0]), 6)
    (0.0, 0.693147)
    """
    out = np.empty(tuple(1 if d in axis else n for d, n in enumerate(x.shape)), dtype=STATS)
    if x.size == 0:
        out["m"] = -np.inf
        out["t"] = 0.0
        return out
    m = np.max(x, axis=axis, keepdims=True)
    finite = np.isfinite(m)
    with np.errstate(invalid="ignore", over="ignore"):
        z = np.subtract(x, np.where(finite, m, 0), dtype=np.float64)
    t = _api.logsumexp(z, axis=axis, keepdims=True, num_threads=num_threads).astype(_LD)
    if x.dtype == np.float64 and np.any(t >= 0.5):
        top = np.max(_api.softmax(z, axis=axis, num_threads=num_threads), axis=axis,
                     keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(t >= 0.5, -np.log(top.astype(_LD)), t)
    out["m"] = m
    out["t"] = np.where(finite, t, 0.0)
    return out


def merge(p: np.ndarray, axis: tuple[int, ...], keepdims: bool = True) -> np.ndarray:
    """Merge ``STATS`` pairs along ``axis`` into one pair per row (kept as size-1 axes).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.zeros((1, 2), dtype=STATS)  # two chunks, each a single 0.0
    >>> r = merge(p, (1,))
    >>> float(r["m"][0, 0]), round(float(r["t"][0, 0]), 6)
    (0.0, 0.693147)
    """
    m = p["m"]
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        big = np.max(m, axis=axis, keepdims=True)  # NaN propagates: a NaN row stays NaN
        finite = np.isfinite(big)
        # log of each chunk's sum relative to the row maximum
        a = p["t"].astype(_LD) + (m.astype(_LD) - np.where(finite, big, 0).astype(_LD))
        a = np.where(np.isfinite(a) & finite, a, np.where(finite, -np.inf, 0.0))
        nd = a.ndim
        moved = np.moveaxis(a, axis, tuple(range(nd - len(axis), nd)))
        flat = moved.reshape(moved.shape[: nd - len(axis)] + (-1,))
        top = flat.max(axis=-1, keepdims=True)
        e = np.exp(flat - top)
        np.put_along_axis(e, flat.argmax(axis=-1)[..., None], 0.0, axis=-1)
        total = top[..., 0] + np.log1p(e.sum(axis=-1))
    out = np.empty(big.shape, dtype=STATS)
    out["m"] = big
    out["t"] = np.where(finite, total.reshape(big.shape), 0.0)
    return out


def row_logsumexp(s: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``M + l`` of merged pairs, in ``dtype`` (non-finite rows: M itself)."""
    with np.errstate(invalid="ignore"):
        return (s["m"].astype(_LD) + s["t"].astype(_LD)).astype(dtype)


def _shift(m_chunk: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``(m_c - M) - l`` per row, in long double (0 where M is not finite)."""
    big = s["m"]
    finite = np.isfinite(big)
    with np.errstate(invalid="ignore"):
        d = (m_chunk.astype(_LD) - np.where(finite, big, 0).astype(_LD)) - s["t"].astype(_LD)
    return np.where(finite, d, 0.0)


def _non_finite_rows(y: np.ndarray, x: np.ndarray, m_chunk: np.ndarray, s: np.ndarray, log: bool):
    """The non-finite rules of the NumPy functions (scipy.special's), in place on ``y``."""
    big = np.broadcast_to(s["m"], y.shape)
    if log:
        # +inf maximum: NaN where x is +inf, -inf elsewhere; NaN / all -inf: NaN
        rule = np.where((big == np.inf) & (x != np.inf), -np.inf, np.nan)
    else:
        rule = np.full(y.shape, np.nan)
    bad = ~np.isfinite(big)
    y[bad] = rule[bad]
    # A chunk of only -inf in a row with a finite maximum: p = 0, log p = -inf.
    empty = np.broadcast_to((m_chunk == -np.inf), y.shape) & ~bad
    y[empty] = -np.inf if log else 0.0


def chunk_log_softmax(
    x: np.ndarray, s: np.ndarray, axis: tuple[int, ...], num_threads: int | None = None
) -> np.ndarray:
    """log_softmax of a chunk of rows given the rows' merged pairs ``s`` (float64).

    ``log_softmax(chunk) + (lse_chunk - lse_row)``: both terms are <= 0, so the
    sum keeps the kernel's relative accuracy; the chunk's own log-sum is read
    off the kernel output (its maximum is exactly ``-t_c``), so it is consistent.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0, 0.0, 0.0, 0.0]])
    >>> s = merge(np.concatenate([chunk_stats(x[:, :2], (1,)), chunk_stats(x[:, 2:], (1,))], 1),
    ...           (1,))
    >>> np.round(chunk_log_softmax(x[:, :2], s, (1,)), 6)
    array([[-1.386294, -1.386294]])
    """
    xw = x.astype(np.float64, copy=False)
    with np.errstate(invalid="ignore"):
        y = _api.log_softmax(xw, axis=axis, num_threads=num_threads)
        m_c = np.max(x, axis=axis, keepdims=True)
        t_c = -np.max(y, axis=axis, keepdims=True)
        delta = (_shift(m_c, s) + np.where(np.isfinite(t_c), t_c, 0.0).astype(_LD))
        y += delta.astype(np.float64)
    _non_finite_rows(y, x, m_c, s, log=True)
    return y


def _softmax_shifted(x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``exp((x - M) - l)`` for float64 chunks, with ``(x - M) - l`` kept exact to
    first order (a two-sum), so the only shift error is the rounding of ``x - M``
    that the NumPy function has too; a chunk kernel would shift by the chunk's
    own maximum, whose rounding errors are different and not bounded by those."""
    big = s["m"]
    y = x - np.where(np.isfinite(big), big, 0.0)
    lsum = s["t"]
    hi = lsum.astype(np.float64)
    lo = (lsum - hi.astype(_LD)).astype(np.float64)
    v = y - hi
    b = v - y
    corr = ((y - (v - b)) - (hi + b)) - lo
    corr = np.where(np.isfinite(corr), corr, 0.0)
    p = np.exp(v)
    p *= 1.0 + corr
    return p


def chunk_softmax(
    x: np.ndarray, s: np.ndarray, axis: tuple[int, ...], num_threads: int | None = None
) -> np.ndarray:
    """softmax of a chunk of rows given the rows' merged pairs ``s`` (float64).

    float32 chunks: ``softmax(chunk) * exp(lse_chunk - lse_row)`` in float64, with
    ``exp(lse_chunk)`` read off the kernel output as ``exp(m_c) / max(softmax(chunk))``.
    float64 chunks: ``exp((x - M) - l)`` (see ``_softmax_shifted``).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0, 0.0, 0.0, 0.0]])
    >>> s = merge(np.concatenate([chunk_stats(x[:, :2], (1,)), chunk_stats(x[:, 2:], (1,))], 1),
    ...           (1,))
    >>> chunk_softmax(x[:, 2:], s, (1,))
    array([[0.25, 0.25]])
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        m_c = np.max(x, axis=axis, keepdims=True)
        if x.dtype == np.float64:
            p = _softmax_shifted(x, s)
        else:
            p = _api.softmax(x.astype(np.float64), axis=axis, num_threads=num_threads)
            top = np.max(p, axis=axis, keepdims=True).astype(_LD)
            factor = (np.exp(_shift(m_c, s)) / top).astype(np.float64)
            p *= np.where(np.isfinite(factor), factor, 0.0)
    _non_finite_rows(p, x, m_c, s, log=False)
    return p
