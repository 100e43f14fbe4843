"""softmax, log_softmax and logsumexp on dask arrays.

Reduced axes held whole in each chunk: one ``map_blocks`` of the NumPy function.
Reduced axes split across chunks: ``da.reduction`` of per-chunk (max, log-sum)
pairs (``_stats``) in a tree, then, for softmax / log_softmax, one more
``map_blocks`` over the chunks with the row's merged pair. Never a rechunk."""

from __future__ import annotations

import functools
import math

import dask.array as da
import numpy as np

from .. import _api
from .._args import compute_dtype, normalize_axes, normalize_threads, softmax_result_dtype
from . import _stats


def as_dask(x: object) -> da.Array:
    """A dask array as is; anything else through ``da.asarray`` (one chunk)."""
    return x if isinstance(x, da.Array) else da.asarray(x)


def no_out(out: object) -> None:
    if out is not None:
        raise NotImplementedError("out: dask arrays are immutable; use the returned array")


def split_axes(x: da.Array, axes: tuple[int, ...]) -> bool:
    """Whether any reduced axis spans more than one chunk."""
    return any(x.numblocks[d] > 1 for d in axes)


def split_compute_dtype(result: np.dtype, name: str) -> np.dtype:
    kdt = compute_dtype(result)
    if kdt is None:
        raise TypeError(
            f"{name}: dtype {result} over an axis split across chunks is not supported "
            "(float16/32/64 and integers are); rechunk so the reduced axes are whole in each chunk"
        )
    return kdt


def stats_tree(xk: da.Array, axes: tuple[int, ...], threads: int, split_every) -> da.Array:
    """Per-row merged (max, log-sum) pairs: ``x``'s shape with ``axes`` of length 1."""
    return da.reduction(
        xk,
        chunk=functools.partial(_stats.chunk_stats, num_threads=threads),
        combine=_stats.merge,
        aggregate=_stats.merge,
        axis=axes,
        keepdims=True,
        dtype=_stats.STATS,
        split_every=split_every,
        concatenate=True,
        meta=np.empty((0,) * xk.ndim, dtype=_stats.STATS),
        name="fastsoftmax-lse-tree",
    )


def _second_pass(x, s, *, log, axis, num_threads, out_dtype):
    f = _stats.chunk_log_softmax if log else _stats.chunk_softmax
    return f(x, s, axis, num_threads).astype(out_dtype, copy=False)


def _elementwise(log: bool, x: object, axis, out, num_threads, split_every) -> da.Array:
    name = "log_softmax" if log else "softmax"
    no_out(out)
    x = as_dask(x)
    if x.dtype.kind == "b":
        raise TypeError(f"x: boolean input is not supported by {name} (as in scipy.special)")
    axes = normalize_axes(axis, x.ndim)
    normalize_threads(num_threads)  # checked here; each chunk gets the value as given
    threads = num_threads
    rdt = softmax_result_dtype(x.dtype)
    if x.ndim > 0 and math.prod(x.shape[d] for d in axes) == 0:
        raise ValueError(
            f"x: {name} over a zero-size axis is undefined (the maximum has no identity)"
        )
    meta = np.empty((0,) * x.ndim, dtype=rdt)
    if not split_axes(x, axes):
        func = _api.log_softmax if log else _api.softmax
        return x.map_blocks(func, axis=axes, num_threads=threads, dtype=rdt, meta=meta,
                            name=f"fastsoftmax-{name}")
    kdt = split_compute_dtype(rdt, "x")
    xk = x if x.dtype == kdt else x.astype(kdt)
    s = stats_tree(xk, axes, threads, split_every)
    return da.map_blocks(
        _second_pass, xk, s, log=log, axis=axes, num_threads=threads, out_dtype=rdt,
        dtype=rdt, meta=meta, name=f"fastsoftmax-{name}",
    )


def softmax(
    x: object,
    axis: int | tuple[int, ...] | None = None,
    *,
    out: None = None,
    num_threads: int | None = None,
    split_every: int | None = None,
) -> da.Array:
    r"""Softmax of a dask array along ``axis`` (see :func:`fastsoftmax.softmax`).

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input; any chunking, including along ``axis``.
    axis : int or tuple of ints, optional
        Axis or axes to normalise over; None (default) normalises the whole array.
    out : None
        Not supported (dask arrays are immutable): must be None.
    num_threads : int, optional
        Thread cap for each chunk's kernel (None: the OpenMP default; 1 is
        best with dask's threaded scheduler, whose threads already fill the cores).
    split_every : int, optional
        Fan-in of the reduction tree when ``axis`` spans several chunks.

    Returns
    -------
    dask.array.Array
        Same shape and chunks as ``x``.

    Examples
    --------
    >>> import dask.array as da
    >>> import fastsoftmax.dask as fsd
    >>> x = da.from_array([[1.0, 2.0, 3.0, 4.0]], chunks=(1, 2))
    >>> fsd.softmax(x, axis=1).compute().round(4)
    array([[0.0321, 0.0871, 0.2369, 0.6439]])
    """
    return _elementwise(False, x, axis, out, num_threads, split_every)


def log_softmax(
    x: object,
    axis: int | tuple[int, ...] | None = None,
    *,
    out: None = None,
    num_threads: int | None = None,
    split_every: int | None = None,
) -> da.Array:
    r"""log_softmax of a dask array along ``axis`` (see :func:`fastsoftmax.log_softmax`).

    Parameters
    ----------
    x : dask.array.Array or array_like
        Input; any chunking, including along ``axis``.
    axis : int or tuple of ints, optional
        Axis or axes to normalise over; None (default) uses the whole array.
    out : None
        Not supported: must be None.
    num_threads : int, optional
        Thread cap for each chunk's kernel.
    split_every : int, optional
        Fan-in of the reduction tree.

    Returns
    -------
    dask.array.Array
        Same shape and chunks as ``x``.

    Examples
    --------
    >>> import dask.array as da
    >>> import fastsoftmax.dask as fsd
    >>> x = da.from_array([[1000.0, 1.0]], chunks=(1, 1))
    >>> fsd.log_softmax(x, axis=1).compute()
    array([[   0., -999.]])
    """
    return _elementwise(True, x, axis, out, num_threads, split_every)


def _lse_blocks(a, b=None, *, axis, num_threads):
    return _api.logsumexp(a, axis=axis, b=b, keepdims=True, num_threads=num_threads)


def logsumexp(
    a: object,
    axis: int | tuple[int, ...] | None = None,
    b: object = None,
    keepdims: bool = False,
    return_sign: bool = False,
    *,
    out: None = None,
    num_threads: int | None = None,
    split_every: int | None = None,
) -> da.Array:
    r"""``log(sum(exp(a)))`` of a dask array along ``axis`` (see :func:`fastsoftmax.logsumexp`).

    Parameters
    ----------
    a : dask.array.Array or array_like
        Input; any chunking, including along ``axis``.
    axis : int or tuple of ints, optional
        Axis or axes to sum over; None (default) sums everything.
    b : array_like, optional
        Weights broadcastable to ``a``: supported only when the reduced axes are
        whole in each chunk (``NotImplementedError`` otherwise).
    keepdims : bool, optional
        Keep the reduced axes as size-1 dimensions.
    return_sign : bool, optional
        Not supported (``NotImplementedError``).
    out : None
        Not supported: must be None.
    num_threads : int, optional
        Thread cap for each chunk's kernel.
    split_every : int, optional
        Fan-in of the reduction tree.

    Returns
    -------
    dask.array.Array
        The reduced shape (0-d for ``axis=None`` without ``keepdims``).

    Examples
    --------
    >>> import dask.array as da
    >>> import fastsoftmax.dask as fsd
    >>> float(fsd.logsumexp(da.arange(10.0, chunks=3)).compute())
    9.45862974442671
    """
    no_out(out)
    if return_sign:
        raise NotImplementedError("return_sign: not supported on dask arrays")
    a = as_dask(a)
    normalize_threads(num_threads)  # checked here; each chunk gets the value as given
    threads = num_threads
    if a.ndim == 0:
        a = a.reshape(1)
    if b is not None:
        b = as_dask(b)
        try:
            shape = np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(
                f"b: shape {b.shape} cannot be broadcast with the shape of a {a.shape}"
            ) from None
        a = da.broadcast_to(a, shape)
        b = da.broadcast_to(b, shape).rechunk(a.chunks)
    dt = _api._lse_dtype(np.empty(0, a.dtype), None if b is None else np.empty(0, b.dtype))
    axes = normalize_axes(axis, a.ndim)
    kept = tuple(1 if d in axes else n for d, n in enumerate(a.shape))
    meta = np.empty((0,) * a.ndim, dtype=dt)
    if a.size == 0:
        res = da.full(kept, -np.inf, dtype=dt)
    elif not split_axes(a, axes):
        chunks = tuple((1,) if d in axes else c for d, c in enumerate(a.chunks))
        args = (a,) if b is None else (a, b)
        res = da.map_blocks(_lse_blocks, *args, axis=axes, num_threads=threads, chunks=chunks,
                            dtype=dt, meta=meta, name="fastsoftmax-logsumexp")
    else:
        if b is not None:
            raise NotImplementedError(
                "b: weights are supported only when the reduced axes are whole in each chunk"
            )
        kdt = split_compute_dtype(dt, "a")
        ak = a if a.dtype == kdt else a.astype(kdt)
        s = stats_tree(ak, axes, threads, split_every)
        res = s.map_blocks(_stats.row_logsumexp, dt, dtype=dt, meta=meta)
    if not keepdims:
        res = res.squeeze(axis=axes) if axes else res
    return res
