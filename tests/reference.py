"""Slow, independent NumPy reference for the softmax family, and ULP helpers.

Nothing here imports fastsoftmax.  Every function works on rows: the reduced
axes are moved to the end and flattened, the row is computed in a wide
"working" precision and the result is put back in the input's layout.

Working precision (the spec of the test suite):

* float16 / float32 inputs: float64 (more than 2 x 24 bits, so the float32 or
  float16 result rounded from it is correctly rounded except in ties that
  cannot occur here).
* float64 / integer / bool inputs: ``np.longdouble``.  On x86-64 Linux that is
  the 80-bit x87 format (64-bit significand, 11 bits more than float64).  Where
  ``np.longdouble`` is no wider than float64 the float64 accuracy tests must be
  skipped; ``LONGDOUBLE_IS_EXTENDED`` says which case we are in.

The reference functions return values in the working precision, *unrounded*;
tests round them to the output dtype when measuring ULP distance.  They are
meant for finite inputs (``-inf`` entries in a row whose maximum is finite are
fine); the non-finite rules are tested against scipy directly.
"""

from __future__ import annotations

import math

import numpy as np

LONGDOUBLE_IS_EXTENDED = np.finfo(np.longdouble).nmant >= 63

_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


# --------------------------------------------------------------------------
# dtypes
# --------------------------------------------------------------------------
def result_dtype(dtype) -> np.dtype:
    """dtype the package returns for an input of ``dtype`` (no ``b``)."""
    dtype = np.dtype(dtype).newbyteorder("=")
    if dtype in _FLOATS:
        return dtype
    if dtype.kind in "biu":
        return np.dtype(np.float64)
    raise TypeError(f"no reference for dtype {dtype}")


def compute_dtype(dtype) -> np.dtype:
    """Precision the package computes in: float16 is computed in float32."""
    dtype = result_dtype(dtype)
    return np.dtype(np.float32) if dtype == np.float16 else dtype


def working_dtype(dtype) -> np.dtype:
    """Precision of the reference for an input of ``dtype``."""
    if compute_dtype(dtype) == np.float32:
        return np.dtype(np.float64)
    return np.dtype(np.longdouble)


# --------------------------------------------------------------------------
# axis handling: reduced axes -> one trailing "row" axis and back
# --------------------------------------------------------------------------
def normalize_axis(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, int or tuple) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    out = []
    for ax in axis:
        ax = int(ax)
        if not -ndim <= ax < ndim:
            raise ValueError(f"axis {ax} out of range for ndim {ndim}")
        out.append(ax % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate axis in {axis}")
    return tuple(sorted(out))


def _to_rows(x: np.ndarray, axes: tuple[int, ...]):
    """(rows, moved_shape): rows is 2-D (outer, reduced)."""
    nd = x.ndim
    k = len(axes)
    moved = np.moveaxis(x, axes, tuple(range(nd - k, nd)))
    red = math.prod(x.shape[a] for a in axes)
    return moved.reshape(-1, red), moved.shape


def _from_rows(rows: np.ndarray, moved_shape, axes: tuple[int, ...]):
    nd = len(moved_shape)
    k = len(axes)
    return np.moveaxis(rows.reshape(moved_shape), tuple(range(nd - k, nd)), axes)


def _reduced_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _as_working(x) -> tuple[np.ndarray, np.dtype]:
    x = np.asarray(x)
    wd = working_dtype(x.dtype)
    # Integers go through float64 first: those are the values the package
    # computes with.
    if x.dtype.kind in "biu":
        x = x.astype(np.float64)
    return x.astype(wd), wd


def _row_max_safe(rows):
    m = rows.max(axis=1, keepdims=True) if rows.shape[1] else None
    if m is None:
        raise ValueError("reference needs non-empty rows")
    return np.where(np.isfinite(m), m, 0)


# --------------------------------------------------------------------------
# reference functions
# --------------------------------------------------------------------------
def softmax(x, axis=None):
    """exp(x - max) / sum(exp(x - max)) in the working precision."""
    x = np.asarray(x)
    axes = normalize_axis(axis, x.ndim)
    xw, _ = _as_working(x)
    rows, moved = _to_rows(xw, axes)
    d = rows - _row_max_safe(rows)
    e = np.exp(d)
    out = e / e.sum(axis=1, keepdims=True)
    return _from_rows(out, moved, axes)


def _sum_rest(e, idx):
    """Sum of each row of ``e`` without the element at ``idx`` (one per row)."""
    rest = e.copy()
    rest[np.arange(rest.shape[0]), idx] = 0
    return rest.sum(axis=1, keepdims=True)


def log_softmax(x, axis=None):
    """(x - max) - log1p(sum of the other terms): full relative precision
    for outputs near zero (a dominant element)."""
    x = np.asarray(x)
    axes = normalize_axis(axis, x.ndim)
    xw, _ = _as_working(x)
    rows, moved = _to_rows(xw, axes)
    d = rows - _row_max_safe(rows)
    e = np.exp(d)
    idx = np.argmax(rows, axis=1)
    log_s = np.log1p(_sum_rest(e, idx))
    return _from_rows(d - log_s, moved, axes)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log(|sum(b * exp(a))|) with scipy's shape and sign conventions.

    ``a`` and ``b`` are broadcast against each other (as scipy does); an
    element whose weight is zero contributes nothing.  Without ``b`` the sum
    is split as max + log1p(rest) so results near zero keep their precision.
    """
    a = np.asarray(a)
    if b is not None:
        b = np.asarray(b)
        a, b = np.broadcast_arrays(a, b)
    if a.ndim == 0:
        a = a.reshape(1)
        b = None if b is None else b.reshape(1)
    axes = normalize_axis(axis, a.ndim)
    aw, wd = _as_working(a)
    rows, moved = _to_rows(aw, axes)
    out_shape = _reduced_shape(a.shape, axes, keepdims)
    if rows.shape[1] == 0:
        out = np.full(out_shape, -np.inf, dtype=wd)
        sign = np.full(out_shape, -1.0, dtype=wd)  # scipy: sign(-inf)
        return (out, sign) if return_sign else out
    if b is None:
        m = _row_max_safe(rows)
        e = np.exp(rows - m)
        idx = np.argmax(rows, axis=1)
        out = (m + np.log1p(_sum_rest(e, idx)))[:, 0]
        out = np.where(rows.max(axis=1) == -np.inf, -np.inf, out)
        sign = np.where(out == -np.inf, 0.0, 1.0).astype(wd)
    else:
        bw = b.astype(np.float64).astype(wd) if b.dtype.kind in "biu" else b
        brows, _ = _to_rows(np.asarray(bw, dtype=wd), axes)
        rows = np.where(brows == 0, -np.inf, rows)
        m = _row_max_safe(rows)
        with np.errstate(invalid="ignore"):
            s = (brows * np.exp(rows - m)).sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            out = (m + np.log(np.abs(s)))[:, 0]
        sign = np.sign(s)[:, 0]
        out = np.where(sign == 0, -np.inf, out)
    out = out.reshape(out_shape)
    sign = sign.reshape(out_shape)
    if return_sign:
        return out, sign
    return np.where(sign < 0, np.nan, out)


# --------------------------------------------------------------------------
# the error inherent in forming x - max in the compute precision
# --------------------------------------------------------------------------
def shift_allowance(func: str, x, axis=None, b=None, keepdims=False):
    """Absolute error, per output element, caused by rounding ``x - max``
    to the compute precision (float32 for float16/float32, float64 for float64).

    With e_j = |fl(x_j - m) - (x_j - m)| (exactly computed, zero where the
    subtraction is exact) and p_j the softmax weights of the row, first-order
    perturbation theory gives:

    * softmax:      ref_i * expm1(e_i + sum_j p_j e_j)    (relative error)
    * log_softmax:  e_i + sum_j p_j e_j                   (absolute error)
    * logsumexp:    sum_j p_j e_j                         (absolute error)

    This is what the accuracy table calls the "shift allowance"; the tests add
    it (converted to ULPs of the output) to the bare ULP bound.
    """
    x = np.asarray(x)
    if b is not None:
        b = np.asarray(b)
        x, b = np.broadcast_arrays(x, b)
    if x.ndim == 0:
        x = x.reshape(1)
        b = None if b is None else b.reshape(1)
    cd = compute_dtype(x.dtype)
    axes = normalize_axis(axis, x.ndim)
    xw, wd = _as_working(x)
    rows, moved = _to_rows(xw, axes)
    crows, _ = _to_rows(np.asarray(x, dtype=np.float64).astype(cd), axes)
    m_c = crows.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", over="ignore"):
        d_rounded = (crows - m_c).astype(wd)
        d_exact = rows - m_c.astype(wd)
        e = np.abs(d_rounded - d_exact)
    e = np.where(np.isfinite(e), e, 0)
    with np.errstate(invalid="ignore", under="ignore"):
        w = np.exp(d_exact)
        if b is not None:
            brows, _ = _to_rows(np.asarray(b, dtype=np.float64).astype(wd), axes)
            w = np.abs(brows) * np.where(brows == 0, 0, w)
        w = np.where(np.isfinite(w), w, 0)
        total = w.sum(axis=1, keepdims=True)
        p = np.where(total > 0, w / np.where(total > 0, total, 1), 0)
    common = (p * e).sum(axis=1, keepdims=True)
    if func == "logsumexp":
        return common[:, 0].reshape(_reduced_shape(x.shape, axes, keepdims))
    if func == "log_softmax":
        return _from_rows(e + common, moved, axes)
    if func == "softmax":
        return _from_rows(p, moved, axes) * np.expm1(_from_rows(e + common, moved, axes))
    raise ValueError(func)


# --------------------------------------------------------------------------
# ULPs
# --------------------------------------------------------------------------
_INT_OF = {
    np.dtype(np.float16): np.int16,
    np.dtype(np.float32): np.int32,
    np.dtype(np.float64): np.int64,
}


def _ordered_keys(v: np.ndarray) -> np.ndarray:
    """Monotone integer keys: consecutive floats get consecutive keys,
    -0.0 and +0.0 share key 0."""
    it = _INT_OF[v.dtype]
    bits = v.view(it).astype(np.int64)
    nbits = 8 * v.dtype.itemsize
    mag = bits & ((1 << (nbits - 1)) - 1)
    return np.where(bits < 0, -mag, mag)


def ulp_distance(a, b, dtype=None) -> np.ndarray:
    """Number of representable ``dtype`` values between a and b, as uint64.

    Both are first rounded to ``dtype`` (default: a's dtype).  Signed zeros
    are equal; +-inf are ordinary end points; NaN vs NaN is 0 and NaN vs
    anything else is the largest uint64.
    """
    a = np.asarray(a)
    dtype = np.dtype(dtype if dtype is not None else a.dtype)
    if dtype not in _INT_OF:
        raise TypeError(f"ulp_distance: unsupported dtype {dtype}")
    a, b = np.broadcast_arrays(a.astype(dtype), np.asarray(b).astype(dtype))
    a = a.copy(order="C")  # .view() needs contiguous memory
    b = b.copy(order="C")
    ka = _ordered_keys(a)
    kb = _ordered_keys(b)
    same_side = (ka >= 0) == (kb >= 0)
    with np.errstate(over="ignore"):
        near = np.abs(np.where(same_side, ka - kb, 0)).astype(np.uint64)
    far = np.abs(ka).astype(np.uint64) + np.abs(kb).astype(np.uint64)
    dist = np.where(same_side, near, far)
    na, nb = np.isnan(a), np.isnan(b)
    dist = np.where(na & nb, np.uint64(0), dist)
    dist = np.where(na ^ nb, np.iinfo(np.uint64).max, dist)
    return dist.astype(np.uint64)


def allowance_in_ulps(allowance, got, ref_rounded) -> np.ndarray:
    """Convert an absolute allowance to ULPs of the output dtype, at the finer
    of the two grids (got, ref), rounded up; uint64."""
    dt = got.dtype
    with np.errstate(invalid="ignore"):  # spacing(inf) is NaN
        sp = np.minimum(
            np.spacing(np.abs(ref_rounded).astype(dt)), np.spacing(np.abs(got).astype(dt))
        )
    wd = np.asarray(allowance).dtype
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        q = np.ceil(np.asarray(allowance, dtype=wd) / sp.astype(wd))
    q = np.where(np.isfinite(q), q, 2.0**62)
    return np.minimum(q, 2.0**62).astype(np.float64).astype(np.uint64)


def assert_ulp_close(got, ref, max_ulps: int, allowance=None, context: str = ""):
    """Assert ulp_distance(got, round(ref)) <= max_ulps (+ allowance in ULPs).

    ``ref`` is the unrounded working-precision reference; it is rounded to
    got's dtype here.  Failures show the worst elements.
    """
    got = np.asarray(got)
    ref = np.asarray(ref)
    assert got.shape == ref.shape, f"{context}: shape {got.shape} != {ref.shape}"
    ref_r = ref.astype(got.dtype)
    dist = ulp_distance(got, ref_r)
    allowed = np.full(dist.shape, max_ulps, dtype=np.uint64)
    if allowance is not None:
        allowed = allowed + allowance_in_ulps(np.broadcast_to(allowance, got.shape), got, ref_r)
    bad = dist > allowed
    if np.any(bad):
        flat = np.flatnonzero(bad.ravel())
        excess = dist.ravel()[flat].astype(np.float64) - allowed.ravel()[flat]
        worst = flat[np.argsort(-excess)[:5]]
        lines = [
            f"  at {np.unravel_index(i, got.shape)}: got {got.ravel()[i]!r} "
            f"ref {ref.ravel()[i]!r} ({ref_r.ravel()[i]!r} rounded) "
            f"dist {int(dist.ravel()[i])} ULP > allowed {int(allowed.ravel()[i])}"
            for i in worst
        ]
        raise AssertionError(
            f"{context}: {flat.size} of {got.size} elements beyond "
            f"{max_ulps} ULP (+allowance); max distance {int(dist.max())} ULP\n" + "\n".join(lines)
        )
    return int(dist.max()) if dist.size else 0


# --------------------------------------------------------------------------
# The accuracy contract: one table, used by every test that measures ULPs.
# --------------------------------------------------------------------------
#: Largest ULP distance (in the output dtype) between the package's result
#: and the working-precision reference rounded to the output dtype.
#: float16 is computed in float32 and rounded once, so it must be within one
#: float16 ULP of the correctly rounded value.
ULP_BOUNDS = {
    "logsumexp": {"float16": 1, "float32": 1, "float64": 2},
    "log_softmax": {"float16": 1, "float32": 4, "float64": 4},
    "softmax": {"float16": 1, "float32": 4, "float64": 4},
}

#: Whether the bound is widened by ``shift_allowance`` (the error of forming
#: x - max in the compute precision, zero where that subtraction is exact).
#: softmax: required by the spec.  log_softmax: the same mechanism (through
#: log(sum)) gives outputs near zero a relative error of mean|x - max| * eps
#: that no input-precision kernel can avoid; tests of near-zero outputs use
#: inputs whose x - max is exact, so there the bare 4 ULP bound applies.
#: logsumexp: the spec's bound is bare.
SHIFT_ALLOWANCE = {"logsumexp": False, "log_softmax": True, "softmax": True}


def expected_with_allowance(name, x, out_dtype, axis=None, b=None, keepdims=False):
    """(reference, allowance or None, ULP bound) for a result of ``out_dtype``
    computed from finite ``x``."""
    import pytest  # only tests call this

    out_dtype = np.dtype(out_dtype)
    x = np.asarray(x)
    if out_dtype.name not in ULP_BOUNDS[name]:
        raise AssertionError(f"unexpected result dtype {out_dtype}")
    # The values are those of x; a wider result dtype (b promotes, ints) means
    # the package computed in that dtype.
    if x.dtype.kind == "f" and out_dtype.itemsize > x.dtype.itemsize:
        x = x.astype(out_dtype)
    if working_dtype(out_dtype) == np.longdouble and not LONGDOUBLE_IS_EXTENDED:
        pytest.skip("np.longdouble is not wider than float64 here: no float64 reference")
    if name == "logsumexp":
        want = logsumexp(x, axis=axis, b=b, keepdims=keepdims)
    else:
        want = globals()[name](x, axis=axis)
    allowance = None
    if SHIFT_ALLOWANCE[name]:
        allowance = shift_allowance(name, x, axis=axis, b=b, keepdims=keepdims)
    return want, allowance, ULP_BOUNDS[name][out_dtype.name]


def check_accuracy(name, got, x, axis=None, b=None, keepdims=False, context=""):
    """Assert ``got`` (the package's result for finite input ``x``) is within
    the table's bound of the reference; returns the largest ULP distance."""
    got = np.asarray(got)
    want, allowance, bound = expected_with_allowance(
        name, x, got.dtype, axis=axis, b=b, keepdims=keepdims
    )
    return assert_ulp_close(got, want, bound, allowance, context=f"{name} {context}")
