"""softmax, log_softmax and logsumexp: drop-in replacements for scipy.special's.

Each call: check and normalise the arguments (_args), reduce a tuple of axes
to one axis and run one GIL-free kernel (_core), which describes the arrays
as strided 3-D views. The common call (a float16/float32/float64 ndarray, an
int or None axis, a float temperature, an ``out`` that is the input or clear
of it, the other options at their defaults) goes straight to _core.fast_call. float32
and float64 are computed in their own precision, float16 in float32 (converted
row by row in the driver); other dtypes take the NumPy path."""

from __future__ import annotations

import numpy as np

from . import _core, _numpy_impl
from ._args import (
    as_input_array,
    check_out,
    compute_dtype,
    normalize_axes,
    normalize_threads,
    softmax_result_dtype,
)
from ._mask import (
    causal_mask,
    check_causal,
    check_causal_axes,
    check_temperature,
    fill_masked,
    masked_input,
    where_mask,
)

_OP_SOFTMAX = _core.OP_SOFTMAX
_OP_LOG_SOFTMAX = _core.OP_LOG_SOFTMAX
_OP_LOGSUMEXP = _core.OP_LOGSUMEXP


def _run_one_axis(
    op: int,
    x: np.ndarray,
    y: np.ndarray,
    axis: int,
    threads: int,
    temperature: float = 1.0,
    causal: bool = False,
) -> None:
    """Kernel over one reduced axis; y is x-shaped, or x-shaped without ``axis`` for logsumexp."""
    if _core.softmax_family(op, x, y, axis, threads, temperature, causal):
        return
    # A layout the 3-D view cannot express: compute on C-ordered copies.
    xc = np.array(x, order="C")  # a fresh copy: aligned even when x is not
    yc = np.empty(y.shape, dtype=y.dtype)
    if not _core.softmax_family(op, xc, yc, axis, threads, temperature, causal):
        raise RuntimeError("internal: a C-ordered copy has no 3-D view")
    y[...] = yc


def _run(
    op: int,
    x: np.ndarray,
    y: np.ndarray,
    axes: tuple[int, ...],
    threads: int,
    temperature: float = 1.0,
    causal: bool = False,
) -> None:
    """Kernel over any set of axes: one axis directly, several through a reshape.

    causal (one axis, the last; checked by the caller): see _core.softmax_family."""
    if len(axes) == 1:
        _run_one_axis(op, x, y, axes[0], threads, temperature, causal)
        return
    keep = tuple(d for d in range(x.ndim) if d not in axes)
    keep_shape = tuple(x.shape[d] for d in keep)
    n_red = 1
    for d in axes:
        n_red *= x.shape[d]
    # The rows become the last axis of a (keep..., n_red) array; reshape copies
    # only when the reduced axes do not already form one strided run.
    x2 = np.transpose(x, keep + axes).reshape(keep_shape + (n_red,))
    if op == _OP_LOGSUMEXP:
        y2 = y if y.shape == keep_shape else y.reshape(keep_shape)
        _run_one_axis(op, x2, y2, len(keep_shape), threads, temperature)
        return
    yt = np.transpose(y, keep + axes)
    y2 = yt.reshape(keep_shape + (n_red,))
    if not np.shares_memory(y2, y):
        y2 = np.empty(keep_shape + (n_red,), dtype=y.dtype)
        _run_one_axis(op, x2, y2, len(keep_shape), threads, temperature)
        yt[...] = y2.reshape(yt.shape)
        return
    _run_one_axis(op, x2, y2, len(keep_shape), threads, temperature)


def _kernel_dtype(result_dtype: np.dtype) -> np.dtype | None:
    """The dtype the kernels take for a result of ``result_dtype``: float16 goes
    in as it is (the driver converts each row to float32 and back), the rest as
    ``compute_dtype`` says."""
    if result_dtype == np.float16:
        return result_dtype
    return compute_dtype(result_dtype)


def _elementwise(
    op: int,
    x: object,
    axis: object,
    out: object,
    num_threads: object,
    temperature: object = 1.0,
    where: object = None,
    causal: object = False,
) -> object:
    name = "softmax" if op == _OP_SOFTMAX else "log_softmax"
    xa = as_input_array(x, "x")
    if xa.dtype.kind == "b":
        raise TypeError(f"x: boolean input is not supported by {name} (as in scipy.special)")
    axes = normalize_axes(axis, xa.ndim)
    causal = check_causal(causal)
    if causal:
        check_causal_axes(xa.ndim, axes, axis, "x")
    threads = normalize_threads(num_threads)
    temp = check_temperature(temperature)
    result_dtype = softmax_result_dtype(xa.dtype)
    # causal float16 is computed in float32 (the float16 driver has no causal rows)
    kdt = compute_dtype(result_dtype) if causal else _kernel_dtype(result_dtype)
    mask = None if where is None else where_mask(where, xa.shape)
    if out is not None:
        check_out(out, xa.shape, result_dtype)
    if causal and kdt is None:
        # The NumPy path (complex, longdouble) has no causal walker: the mask.
        tril = causal_mask(xa.shape)
        mask, causal = (tril if mask is None else mask & tril), False
    if mask is not None:
        res = _elementwise(
            op, masked_input(xa, mask, result_dtype), axis, out, num_threads, temp, None, causal
        )
        fill_masked(res, mask, 0.0 if op == _OP_SOFTMAX else -np.inf)
        return res
    n_red = 1
    for d in axes:
        n_red *= xa.shape[d]
    if n_red == 0 and xa.ndim > 0:
        raise ValueError(
            f"x: {name} over a zero-size axis is undefined (the maximum has no identity)"
        )

    if kdt is None:
        impl = _numpy_impl.softmax if op == _OP_SOFTMAX else _numpy_impl.log_softmax
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            xr = xa.astype(result_dtype, copy=False)
            res = impl(xr / xr.dtype.type(temp) if temp != 1.0 else xr, axes if axes else ())
        if out is not None:
            out[...] = res
            return out
        return res[()] if res.ndim == 0 else res

    xk = xa.astype(kdt, copy=False)
    if xk.ndim == 0:
        xk = xk.reshape(1)
        axes = (0,)
    elif not axes:
        # axis=(): each element is its own row.
        axes = (xk.ndim,)
        xk = xk[..., np.newaxis]
    direct = out is not None and out.dtype == kdt and out.shape == xa.shape and out.ndim == xk.ndim
    if direct and (out is x or not np.shares_memory(out, xk)):
        _run(op, xk, out, axes, threads, temp, causal)
        return out
    y = np.empty_like(xk, dtype=kdt)
    _run(op, xk, y, axes, threads, temp, causal)
    y = y.reshape(xa.shape)
    if out is not None:
        out[...] = y
        return out
    if result_dtype != kdt:
        y = y.astype(result_dtype)
    return y[()] if y.ndim == 0 else y


def softmax(
    x: object,
    axis: int | tuple[int, ...] | None = None,
    *,
    out: np.ndarray | None = None,
    num_threads: int | None = None,
    temperature: float = 1.0,
    where: object = None,
    causal: bool = False,
) -> np.ndarray:
    r"""Softmax of ``x`` along ``axis``: ``exp(x) / sum(exp(x))``, computed stably.

    A drop-in replacement for :func:`scipy.special.softmax`.

    Parameters
    ----------
    x : array_like
        Input. float32 and float64 are computed in their own precision, float16
        in float32; integer input gives the dtype scipy gives.
    axis : int or tuple of ints, optional
        Axis or axes to normalise over. None (default) normalises the whole array.
    out : ndarray, optional
        Where to write the result: the result's exact shape and dtype. ``out=x``
        computes in place.
    num_threads : int, optional
        Upper bound on OpenMP threads; None uses the OpenMP default (which
        honours ``OMP_NUM_THREADS`` and threadpoolctl).
    temperature : float, optional
        T > 0: the softmax of ``x / T``, each element divided in the compute
        precision, without the temporary ``x / T``. Bit for bit
        ``softmax(x / T)`` over contiguous rows; elsewhere equal to it within
        the accuracy bound (the rows go through a per-thread buffer).
    where : array_like of bool, optional
        Broadcastable to ``x``; elements where it is False do not enter the
        sum and get probability 0. A fully masked row gives zeros, not NaN
        (as ``jax.nn.softmax``). Costs one temporary of ``x``'s size.
    causal : bool, optional
        True: a causal (lower-triangular) mask over the last two axes (L, S),
        as ``torch.tril`` or PyTorch's ``scaled_dot_product_attention(...,
        is_causal=True)``: element ``(..., i, j)`` takes part iff ``j <= i``
        (top-left aligned, ``np.tril(np.ones((L, S), bool))``). Needs
        ``x.ndim >= 2`` and ``axis=-1``. Masked elements get probability 0, exactly
        as ``where=np.tril(np.ones((L, S), bool))`` gives (bit for bit on
        C-contiguous input), but no mask is built and row ``i`` reads only
        its first ``min(i + 1, S)`` elements. Combines with ``where`` (both
        must keep an element) and ``temperature``.

    Returns
    -------
    ndarray
        Same shape as ``x``; sums to 1 along ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastsoftmax import softmax
    >>> softmax(np.array([1.0, 2.0, 3.0]))
    array([0.09003057, 0.24472847, 0.66524096])
    """
    if where is None and causal is False:
        y = _core.fast_call(_OP_SOFTMAX, x, axis, num_threads, out, temperature)
        if y is not None:
            return y
    return _elementwise(_OP_SOFTMAX, x, axis, out, num_threads, temperature, where, causal)


def log_softmax(
    x: object,
    axis: int | tuple[int, ...] | None = None,
    *,
    out: np.ndarray | None = None,
    num_threads: int | None = None,
    temperature: float = 1.0,
    where: object = None,
    causal: bool = False,
) -> np.ndarray:
    r"""Logarithm of the softmax, ``x - logsumexp(x)``, accurate near 0.

    A drop-in replacement for :func:`scipy.special.log_softmax`. The sum is
    split as ``1 + rest`` around the maximum and ``log1p(rest)`` is used, so the
    log-probability of a dominant class keeps full relative precision.

    Parameters
    ----------
    x : array_like
        Input (dtypes as :func:`softmax`).
    axis : int or tuple of ints, optional
        Axis or axes to normalise over. None (default) uses the whole array.
    out : ndarray, optional
        Output of the result's exact shape and dtype; ``out=x`` is in place.
    num_threads : int, optional
        Upper bound on OpenMP threads; None uses the OpenMP default.
    temperature : float, optional
        T > 0: the log_softmax of ``x / T``, without the temporary ``x / T``.
    where : array_like of bool, optional
        Broadcastable to ``x``; masked-out elements do not enter the sum and
        get -inf; a fully masked row gives -inf, not NaN.
    causal : bool, optional
        True: a causal (lower-triangular) mask over the last two axes (L, S),
        as ``torch.tril`` or PyTorch's ``scaled_dot_product_attention(...,
        is_causal=True)``: element ``(..., i, j)`` takes part iff ``j <= i``
        (top-left aligned, ``np.tril(np.ones((L, S), bool))``). Needs
        ``x.ndim >= 2`` and ``axis=-1``. Masked elements get -inf, exactly
        as ``where=np.tril(np.ones((L, S), bool))`` gives (bit for bit on
        C-contiguous input), but no mask is built and row ``i`` reads only
        its first ``min(i + 1, S)`` elements. Combines with ``where`` (both
        must keep an element) and ``temperature``.

    Returns
    -------
    ndarray
        Same shape as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastsoftmax import log_softmax
    >>> log_softmax(np.array([1000.0, 1.0]))
    array([   0., -999.])
    """
    if where is None and causal is False:
        y = _core.fast_call(_OP_LOG_SOFTMAX, x, axis, num_threads, out, temperature)
        if y is not None:
            return y
    return _elementwise(_OP_LOG_SOFTMAX, x, axis, out, num_threads, temperature, where, causal)


def _lse_dtype(a: np.ndarray, b: object) -> np.dtype:
    """scipy's promotion: a and b together, forced to a floating dtype."""
    dt = np.result_type(a, b) if b is not None else a.dtype
    if dt.kind in "biu":
        dt = np.dtype(np.float64)
    return dt.newbyteorder("=")


def logsumexp(
    a: object,
    axis: int | tuple[int, ...] | None = None,
    b: object = None,
    keepdims: bool = False,
    return_sign: bool = False,
    *,
    out: np.ndarray | None = None,
    num_threads: int | None = None,
    where: object = None,
    causal: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""``log(sum(b * exp(a)))`` along ``axis``, without overflow and accurate near 0.

    A drop-in replacement for :func:`scipy.special.logsumexp`, including ``b``,
    ``keepdims`` and ``return_sign``.

    Parameters
    ----------
    a : array_like
        Input. float32/float64 use the SIMD kernels; float16 is computed in
        float32; complex and longdouble take a NumPy path with scipy's answer.
    axis : int or tuple of ints, optional
        Axis or axes to sum over; None (default) sums everything.
    b : array_like, optional
        Weights broadcastable to ``a``; may be negative (see ``return_sign``).
        Weighted calls take a vectorised NumPy path.
    keepdims : bool, optional
        Keep the reduced axes as size-1 dimensions.
    return_sign : bool, optional
        Also return the sign of the sum; without it a negative sum gives NaN.
    out : ndarray, optional
        Output for the result (not the sign): exact shape and dtype.
    num_threads : int, optional
        Upper bound on OpenMP threads; None uses the OpenMP default.
    where : array_like of bool, optional
        Broadcastable to ``a``; masked-out elements do not enter the sum; a
        fully masked reduction gives -inf.
    causal : bool, optional
        True: a causal mask over the last two axes (L, S) of ``a`` (needs
        ``a.ndim >= 2`` and ``axis=-1``): result ``[..., i]`` is the
        logsumexp of ``a[..., i, :i + 1]``, exactly as
        ``where=np.tril(np.ones((L, S), bool))`` gives (bit for bit on
        C-contiguous input) without building the mask. Combines with
        ``where`` and ``keepdims``; with ``b`` or ``return_sign`` it takes
        the ``where`` route.

    Returns
    -------
    res : ndarray or scalar
    sgn : ndarray or scalar
        Only with ``return_sign=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastsoftmax import logsumexp
    >>> float(logsumexp(np.arange(10.0)))
    9.45862974442671
    """
    if (
        b is None
        and not keepdims
        and not return_sign
        and where is None
        and causal is False
    ):
        y = _core.fast_call(_OP_LOGSUMEXP, a, axis, num_threads, out)
        if y is not None:
            return y
    aa = as_input_array(a, "a")
    causal = check_causal(causal)
    if causal and aa.ndim < 2:
        check_causal_axes(aa.ndim, (), axis, "a")
    if where is not None:
        aa = masked_input(aa, where_mask(where, aa.shape), _lse_dtype(aa, None))
    if b is not None and not isinstance(b, int | float | complex):
        b = as_input_array(b, "b")
    threads = normalize_threads(num_threads)
    dt = _lse_dtype(aa, b)
    if aa.ndim == 0:
        aa = aa.reshape(1)
    if b is not None:
        # As scipy: a and b broadcast against each other (b may add dimensions).
        try:
            shape = np.broadcast_shapes(aa.shape, np.shape(b))
        except ValueError:
            raise ValueError(
                f"b: shape {np.shape(b)} cannot be broadcast with the shape of a {aa.shape}"
            ) from None
        aa = np.broadcast_to(aa, shape)
    axes = normalize_axes(axis, aa.ndim)
    if causal:
        check_causal_axes(aa.ndim, axes, axis, "a")
    kept_shape = tuple(1 if d in axes else n for d, n in enumerate(aa.shape))
    res_shape = (
        kept_shape if keepdims else tuple(n for d, n in enumerate(aa.shape) if d not in axes)
    )
    if out is not None:
        check_out(out, res_shape, dt)

    # causal float16 is computed in float32 (the float16 driver has no causal rows)
    kdt = compute_dtype(dt) if causal else _kernel_dtype(dt)
    if causal and (b is not None or kdt is None or return_sign):
        # The NumPy path has no causal walker: the mask, as where= does it.
        aa = masked_input(aa, causal_mask(aa.shape), _lse_dtype(aa, None))
        causal = False
    if b is not None or kdt is None or return_sign or aa.size == 0:
        res, sgn = _lse_numpy(aa, b, axes, dt, kdt, return_sign, kept_shape)
    else:
        ak = aa.astype(kdt, copy=False)
        if not axes:
            axes = (ak.ndim,)
            ak = ak[..., np.newaxis]
        y = np.empty(tuple(n for d, n in enumerate(ak.shape) if d not in axes), dtype=kdt)
        _run(_OP_LOGSUMEXP, ak, y, axes, threads, causal=causal)
        res, sgn = y.reshape(kept_shape), None
        if dt != kdt:
            res = res.astype(dt)

    res = res.reshape(res_shape)
    if out is not None:
        out[...] = res
        res = out
    elif res.ndim == 0:
        res = res[()]
    if return_sign:
        sgn = sgn.reshape(res_shape)
        return res, (sgn[()] if sgn.ndim == 0 else sgn)
    return res


def _lse_numpy(aa, b, axes, dt, kdt, return_sign, kept_shape):
    """The scipy-algorithm path (weights, signs, complex, longdouble, empty)."""
    if aa.size == 0:
        res = np.full(kept_shape, -np.inf, dtype=dt)
        return res, np.sign(res)
    # One precision up from the result's (float32 -> float64, float64 ->
    # longdouble) so weights and signs keep the kernels' ULP bounds.
    if kdt in (np.float16, np.float32):
        work = np.dtype(np.float64)
    elif kdt == np.float64:
        work = np.dtype(np.longdouble)
    else:
        work = dt
    a_w = aa.astype(work, copy=False)
    b_w = None
    if b is not None:
        b_w = np.broadcast_to(np.asarray(b).astype(work, copy=False), aa.shape)
    res, sgn = _numpy_impl.logsumexp(a_w, axes, b_w, return_sign)
    res = np.broadcast_to(res, kept_shape).astype(dt, copy=False)
    if sgn is not None:
        sgn = np.broadcast_to(sgn, kept_shape).astype(dt, copy=False)
    return res, sgn
