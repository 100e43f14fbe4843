"""Checks of the test suite's own reference (tests/reference.py).

These tests do not use fastsoftmax: they validate the reference against
mpmath (50 digits) and scipy, and the ULP helpers against hand-made cases.
"""

import numpy as np
import pytest
import reference as ref
import scipy.special as sp

mpmath = pytest.importorskip("mpmath", reason="mpmath validates the reference")
mp = mpmath.mp

WORK_EPS = {
    np.float32: np.finfo(np.float64).eps,
    np.float64: np.finfo(np.longdouble).eps,
}


def _mp_rows(x):
    return [[mp.mpf(float(v)) for v in row] for row in np.atleast_2d(x)]


def _mp_softmax(row):
    m = max(row)
    e = [mp.exp(v - m) for v in row]
    s = mp.fsum(e)
    return [v / s for v in e]


def _mp_log_softmax(row):
    m = max(row)
    s = mp.fsum(mp.exp(v - m) for v in row)
    return [v - m - mp.log(s) for v in row]


def _mp_logsumexp(row, b=None):
    b = [1] * len(row) if b is None else [mp.mpf(float(v)) for v in b]
    s = mp.fsum(w * mp.exp(v) for v, w in zip(row, b, strict=True))
    if s == 0:
        return mp.mpf("-inf"), 0
    return mp.log(abs(s)), (1 if s > 0 else -1)


def _ld_to_mp(v):
    # exact: longdouble -> (mantissa, exponent) through frexp
    m, e = np.frexp(np.longdouble(v))
    mi = int(np.ldexp(m, 64))  # 64-bit significand is exact in an int
    return mp.ldexp(mp.mpf(mi), int(e) - 64)


def _to_mp(v):
    if isinstance(v, np.longdouble) or np.asarray(v).dtype == np.longdouble:
        return _ld_to_mp(v)
    return mp.mpf(float(v))


def _max_rel(got, exact):
    """Largest relative error; values below the working precision's smallest
    subnormal count as exact zeros (they round to 0 in every output dtype)."""
    got = np.ravel(got)
    tiny = mp.mpf(float(np.nextafter(got.dtype.type(0), got.dtype.type(1))))
    worst = mp.mpf(0)
    for g, e in zip(got, exact, strict=True):
        g = _to_mp(g)
        if abs(e) < tiny and abs(g - e) < tiny:
            continue
        err = abs(g - e) / abs(e) if e != 0 else abs(g)
        worst = max(worst, err)
    return float(worst)


CASES = [
    np.array([0.0, -20.0, -30.0]),  # dominant class: log_softmax near 0
    np.array([1.5, 2.25, -3.0, 0.0, 7.0]),
    np.array([-0.55, -0.45]),  # logsumexp near 0.2
    np.array([100.0, 99.0, 98.5, -50.0]),
    np.array([3.0]),
    np.array([-745.0, 0.0, -1e-3, 2e-8]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_reference_matches_mpmath(dtype, case):
    if dtype == np.float64 and not ref.LONGDOUBLE_IS_EXTENDED:
        pytest.skip("np.longdouble is not wider than float64 on this platform")
    mp.dps = 50
    x = CASES[case].astype(dtype)
    row = _mp_rows(x)[0]
    # The reference forms x - max in the working precision: exact unless the
    # two differ hugely in magnitude, in which case it is off by
    # eps_work * |x - max| (relative, in exp(x - max)).
    spread = float(np.max(x) - np.min(x))
    tol = 16 * float(WORK_EPS[dtype]) * (1 + spread)

    assert _max_rel(ref.softmax(x), _mp_softmax(row)) < tol
    assert _max_rel(ref.log_softmax(x), _mp_log_softmax(row)) < tol
    lse, _ = _mp_logsumexp(row)
    assert _max_rel([ref.logsumexp(x)], [lse]) < tol

    b = np.linspace(0.5, 2.0, x.size).astype(dtype)
    lse_b, _ = _mp_logsumexp(row, b)
    assert _max_rel([ref.logsumexp(x, b=b)], [lse_b]) < tol


def test_reference_mixed_sign_b_matches_mpmath():
    mp.dps = 50
    x = np.array([1.0, 2.0, 0.5])
    b = np.array([1.0, -1.0, 0.25])
    row = _mp_rows(x)[0]
    exact, sgn = _mp_logsumexp(row, b)
    out, sign = ref.logsumexp(x, b=b, return_sign=True)
    assert sign == sgn == -1
    assert abs(_to_mp(out) - exact) / abs(exact) < 16 * float(WORK_EPS[np.float64])
    assert np.isnan(ref.logsumexp(x, b=b))  # scipy: negative sum -> NaN


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (2, 0, 1), ()])
def test_reference_matches_scipy(dtype, axis, rng):
    x = (rng.standard_normal((3, 4, 5)) * 5).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for name in ("softmax", "log_softmax", "logsumexp"):
        got = getattr(ref, name)(x, axis=axis)
        want = getattr(sp, name)(x.astype(np.float64), axis=axis)
        # scipy computes in float64; near-zero log_softmax outputs carry its
        # absolute error of a few eps * max|x|.
        atol = 0 if name == "softmax" else 4 * np.finfo(np.float64).eps * 20
        np.testing.assert_allclose(
            np.asarray(got, dtype=np.float64), want, rtol=rtol, atol=atol, err_msg=name
        )
    b = rng.uniform(-1, 1, (4, 1))
    got, gs = ref.logsumexp(x, axis=axis, b=b, return_sign=True, keepdims=True)
    want, ws = sp.logsumexp(x.astype(np.float64), axis=axis, b=b, return_sign=True, keepdims=True)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_array_equal(gs, ws)
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, rtol=1e-9)


def test_reference_logsumexp_shapes_like_scipy():
    x = np.ones((2, 3, 4))
    for axis in (None, 0, (1, 2), -1):
        for keepdims in (False, True):
            assert np.shape(ref.logsumexp(x, axis=axis, keepdims=keepdims)) == np.shape(
                sp.logsumexp(x, axis=axis, keepdims=keepdims)
            )
    # b broadcasting enlarges the result like scipy
    assert ref.logsumexp(np.ones(3), b=np.ones((2, 3)), axis=-1).shape == (2,)
    assert np.shape(ref.logsumexp(np.float64(2.0))) == ()
    assert ref.logsumexp(np.array([-np.inf, -np.inf])) == -np.inf


def test_reference_float16_is_computed_from_float16_values():
    x16 = np.array([0.1, 0.2, 0.3], dtype=np.float16)
    np.testing.assert_array_equal(ref.softmax(x16), ref.softmax(x16.astype(np.float32)))
    assert ref.working_dtype(np.float16) == np.float64
    assert ref.result_dtype(np.int32) == np.float64
    assert ref.compute_dtype(np.float16) == np.float32


# ---------------------------------------------------------------------------
# ulp_distance
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_ulp_distance_steps(dtype):
    fi = np.finfo(dtype)
    tiny_sub = np.nextafter(dtype(0), dtype(1))
    pairs = [
        (dtype(1), dtype(1), 0),
        (dtype(1), np.nextafter(dtype(1), dtype(2)), 1),
        (dtype(1), np.nextafter(dtype(1), dtype(0)), 1),
        (dtype(0.0), dtype(-0.0), 0),
        (tiny_sub, -tiny_sub, 2),
        (dtype(0), tiny_sub, 1),
        (fi.max, dtype(np.inf), 1),
        (-fi.max, dtype(-np.inf), 1),
        (dtype(np.nan), dtype(np.nan), 0),
        (fi.smallest_normal, np.nextafter(fi.smallest_normal, dtype(0)), 1),
    ]
    for a, b, want in pairs:
        assert ref.ulp_distance(a, b, dtype) == want, (a, b)
        assert ref.ulp_distance(b, a, dtype) == want, (b, a)
    assert ref.ulp_distance(dtype(np.nan), dtype(1), dtype) == np.iinfo(np.uint64).max
    # far apart, opposite signs: no overflow
    d = ref.ulp_distance(-fi.max, fi.max, dtype)
    assert d == 2 * int(ref.ulp_distance(dtype(0), fi.max, dtype))
    # stepping 1000 times is 1000 ULP, across a power of two
    v = dtype(2) if dtype != np.float16 else dtype(2)
    w = v
    for _ in range(1000):
        w = np.nextafter(w, dtype(0))
    assert ref.ulp_distance(v, w, dtype) == 1000


def test_ulp_distance_rounds_reference_to_dtype():
    x = np.longdouble(1) + np.longdouble(2) ** -60  # rounds to 1.0 in float64
    assert ref.ulp_distance(np.float64(1.0), x, np.float64) == 0
    assert ref.ulp_distance(np.float32(1.0), np.float64(1.0) + 2.0**-23, np.float32) == 1


def test_assert_ulp_close_catches_errors():
    got = np.array([1.0, 2.0], dtype=np.float32)
    ref.assert_ulp_close(got, np.array([1.0, 2.0]), 0)
    bad = np.array([1.0, np.nextafter(np.float32(2), np.float32(3))], np.float32)
    ref.assert_ulp_close(bad, np.array([1.0, 2.0]), 1)
    with pytest.raises(AssertionError, match="beyond 0 ULP"):
        ref.assert_ulp_close(bad, np.array([1.0, 2.0]), 0)
    with pytest.raises(AssertionError):
        ref.assert_ulp_close(np.array([np.nan], np.float32), np.array([1.0]), 4)


# ---------------------------------------------------------------------------
# shift allowance
# ---------------------------------------------------------------------------
def test_shift_allowance_zero_when_subtraction_exact():
    x = np.array([[0.0, -20.0, -30.0], [-0.55, -0.45, -0.5]], dtype=np.float32)
    for func in ("softmax", "log_softmax", "logsumexp"):
        assert np.all(ref.shift_allowance(func, x, axis=-1) == 0), func


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shift_allowance_covers_input_precision_shift(dtype, rng):
    """A softmax that rounds x - max to the input precision and is otherwise
    exact stays within 1 ULP + allowance (so the allowance is sufficient),
    and for wide-range data it does need the allowance (so it is not void)."""
    if dtype == np.float64 and not ref.LONGDOUBLE_IS_EXTENDED:
        pytest.skip("np.longdouble is not wider than float64 on this platform")
    x = (rng.standard_normal((64, 300)) * 30).astype(dtype)
    wd = ref.working_dtype(dtype)
    d = (x - x.max(axis=1, keepdims=True)).astype(wd)  # rounded in dtype
    e = np.exp(d)
    naive_sm = (e / e.sum(axis=1, keepdims=True)).astype(dtype)
    rest = ref._sum_rest(e, np.argmax(x, axis=1))  # sum without the max term
    naive_lsm = (d - np.log1p(rest)).astype(dtype)
    for func, got in (("softmax", naive_sm), ("log_softmax", naive_lsm)):
        want = getattr(ref, func)(x, axis=1)
        allow = ref.shift_allowance(func, x, axis=1)
        ref.assert_ulp_close(got, want, 1, allowance=allow, context=func)
    with pytest.raises(AssertionError):
        ref.assert_ulp_close(naive_sm, ref.softmax(x, axis=1), 1)
