"""Helpers shared by the test modules: calling the package and scipy, and the
"same semantics as scipy" comparison.

Two different checks are made on every result:

* ``assert_like_scipy``: shape, dtype, non-finite pattern, and values within
  a tolerance that covers *scipy's own* rounding error (scipy computes in the
  input precision; see ``scipy_tolerances``).  This is a semantics check.
* ``reference.check_accuracy``: the ULP contract against the wide reference.
"""

import numpy as np
import reference as ref
import scipy.special as sp

import fastsoftmax as fs

NAMES = ("softmax", "log_softmax", "logsumexp")
FLOAT_DTYPES = (np.float16, np.float32, np.float64)


def call(name, x, **kw):
    """fastsoftmax.<name>(x, **kw)."""
    return getattr(fs, name)(x, **kw)


def scipy_call(name, x, **kw):
    with np.errstate(all="ignore"):
        return getattr(sp, name)(x, **kw)


def scipy_expected(name, x, **kw):
    """scipy's answer with the package's compute rule for float16: computed
    in float32."""
    x = np.asarray(x)
    if x.dtype == np.float16:
        kw = dict(kw)
        b = kw.get("b")
        if b is not None and np.asarray(b).dtype == np.float16:
            kw["b"] = np.asarray(b).astype(np.float32)
        return scipy_call(name, x.astype(np.float32), **kw)
    return scipy_call(name, x, **kw)


def scipy_tolerances(name, out_dtype, compute_dtype, x, cond=1.0):
    """(rtol, atol) for comparing the package with scipy.

    Both compute x - max in the compute precision (unit roundoff u), so each
    result carries a relative error up to u * (|x_i - max| + sum p_j|x_j - max|
    + a few), and outputs are non-zero only while |x_i - max| < dmax =
    -log(smallest subnormal).  Hence rtol = 2 u (2 dmax + 8) for the two
    together, plus half an ULP of the output dtype when it is narrower than
    the compute dtype (float16).  Absolute parts: softmax outputs below the
    normal range have no relative precision (atol = smallest normal);
    log-domain outputs carry an absolute error of a few eps * max|x| (log of
    a sum near one; the shift), times the condition number ``cond`` of a
    cancelling weighted sum (logsumexp with mixed-sign b).
    """
    fc = np.finfo(compute_dtype)
    fo = np.finfo(out_dtype)
    u = float(fc.eps) / 2
    dmax = -np.log(float(fc.smallest_subnormal))
    rtol = 2 * u * (2 * dmax + 8)
    if fo.eps > fc.eps:
        rtol += float(fo.eps) / 2
    if name == "softmax":
        atol = float(fo.smallest_normal)
    else:
        xf = np.abs(np.asarray(x, dtype=np.float64))
        xf = xf[np.isfinite(xf)]
        xmax = float(xf.max()) if xf.size else 0.0
        atol = 8 * float(fc.eps) * (1 + xmax) * cond
        atol += float(fo.smallest_subnormal)
    return rtol, atol


def expected_dtype(name, x, b=None):
    x = np.asarray(x)
    if name != "logsumexp" or b is None:
        return ref.result_dtype(x.dtype)
    return np.asarray(scipy_call("logsumexp", x, b=b)).dtype


def assert_like_scipy(got, name, x, context="", cond=1.0, **kw):
    """Same shape, dtype and non-finite pattern as scipy; values within
    ``scipy_tolerances``.  ``kw`` are the call's arguments (axis, b, ...)."""
    want = scipy_expected(name, x, **kw)
    b = kw.get("b")
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == 2, f"{context}: expected a pair"
        (got, gsign), (want, wsign) = got, want
        np.testing.assert_array_equal(
            np.asarray(gsign), np.asarray(wsign), err_msg=f"{context}: sign"
        )
    out_dt = expected_dtype(name, x, b)
    got_a, want_a = np.asarray(got), np.asarray(want)
    assert got_a.shape == want_a.shape, f"{context}: shape {got_a.shape} != {want_a.shape}"
    assert got_a.dtype == out_dt, f"{context}: dtype {got_a.dtype} != {out_dt}"
    compute_dt = want_a.dtype if want_a.dtype.kind == "f" else np.float64
    if got_a.dtype.kind == "c":
        rtol = 1e-5 if got_a.dtype == np.complex64 else 1e-12
        np.testing.assert_allclose(got_a, want_a, rtol=rtol, err_msg=context)
        return
    rtol, atol = scipy_tolerances(name, got_a.dtype, compute_dt, x, cond)
    np.testing.assert_allclose(
        got_a.astype(np.float64),
        want_a.astype(np.float64),
        rtol=rtol,
        atol=atol,
        equal_nan=True,
        err_msg=f"{name} {context}",
    )


def check_case(name, x, *, context="", axis=None, keepdims=False, b=None, num_threads=None):
    """Run the package on finite ``x``; check input unchanged, scipy semantics
    and the ULP contract.  Returns the result."""
    kw = {"axis": axis}
    if name == "logsumexp":
        kw["keepdims"] = keepdims
        if b is not None:
            kw["b"] = b
    before = np.array(x, copy=True)
    got = call(name, x, num_threads=num_threads, **kw)
    np.testing.assert_array_equal(x, before, err_msg=f"{context}: input was modified")
    ctx = f"{context} axis={axis} keepdims={keepdims} shape={np.shape(x)}"
    assert_like_scipy(got, name, x, context=ctx, **kw)
    ref.check_accuracy(name, got, x, axis=axis, b=b, keepdims=keepdims, context=ctx)
    return got


def axis_choices(ndim):
    """None, every int, every negative int, and tuples (pairs, triples, all)."""
    out = [None]
    out += list(range(ndim))
    out += [-k for k in range(1, ndim + 1)]
    if ndim >= 2:
        out += [(i, j) for i in range(ndim) for j in range(i + 1, ndim)]
        out += [(ndim - 1, 0), (-1, -2)]
    if ndim >= 3:
        out += [
            (i, j, k) for i in range(ndim) for j in range(i + 1, ndim) for k in range(j + 1, ndim)
        ]
    if ndim >= 1:
        out += [tuple(range(ndim)), (0,)]
    return out


def random_array(rng, shape, dtype, scale=3.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def out_at(shape, offset_bytes, dtype=np.float32):
    """An empty array offset_bytes past a 64-byte boundary (an ``out`` at a
    chosen alignment)."""
    n = int(np.prod(shape))
    buf = np.empty(n + 64, dtype=dtype)
    s = ((-buf.ctypes.data) % 64 + offset_bytes) // buf.itemsize
    return buf[s : s + n].reshape(shape)
