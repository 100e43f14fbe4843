"""Non-finite and extreme inputs: the same results as scipy.special (NaN,
+inf and -inf at the same places, finite values within the scipy-comparison
tolerance of helpers.scipy_tolerances)."""

import numpy as np
import pytest
from helpers import FLOAT_DTYPES, NAMES, assert_like_scipy, call, check_case, scipy_call

import fastsoftmax as fs

inf, nan = np.inf, np.nan

ROWS = {
    "-inf": [-inf, 1.0, 2.0, 0.5],
    "+inf": [inf, 1.0, 2.0, 0.5],
    "nan": [nan, 1.0, 2.0, 0.5],
    "all -inf": [-inf, -inf, -inf, -inf],
    "all +inf": [inf, inf, inf, inf],
    "all nan": [nan, nan, nan, nan],
    "two +inf": [inf, 0.0, inf, 1.0],
    "+inf and -inf": [inf, -inf, 0.0, 1.0],
    "nan and +inf": [1.0, nan, inf, -inf],
    "nan and -inf": [-inf, nan, 0.0, 0.0],
    "one finite among -inf": [-inf, -inf, 3.0, -inf],
    "finite": [0.25, -1.0, 3.0, 2.0],
}


def _ids(v):
    return getattr(v, "__name__", str(v))


def _special_matrix(dtype):
    return np.array(list(ROWS.values()), dtype=dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_special_rows_like_scipy(name, dtype, isa):
    """All rows in one array (a NaN must not leak into other rows), along the
    last axis, along axis 0 of the transpose, and each row alone."""
    x = _special_matrix(dtype)
    with np.errstate(all="ignore"):
        got = call(name, x, axis=-1)
    assert_like_scipy(got, name, x, context=f"{isa} rows", axis=-1)
    xt = np.ascontiguousarray(x.T)
    with np.errstate(all="ignore"):
        got = call(name, xt, axis=0)
    assert_like_scipy(got, name, xt, context=f"{isa} columns", axis=0)
    for label, row in ROWS.items():
        r = np.array(row, dtype=dtype)
        with np.errstate(all="ignore"):
            got = call(name, r)
        assert_like_scipy(got, name, r, context=f"{isa} row {label!r}", axis=None)


@pytest.mark.parametrize("n", [37, 1000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_special_value_positions(name, dtype, n, isa, rng):
    """One special value at the first element, in a vector body and in the
    tail, in rows and in columns (vector max reductions must keep NaN)."""
    for value in (nan, inf, -inf):
        for pos in (0, n // 2, n - 1):
            x = rng.standard_normal((3, n)).astype(dtype)
            x[1, pos] = value
            ctx = f"{isa} value={value} pos={pos}"
            with np.errstate(all="ignore"):
                got = call(name, x, axis=-1)
            assert_like_scipy(got, name, x, context=f"{ctx} rows", axis=-1)
            xt = np.ascontiguousarray(x.T)
            with np.errstate(all="ignore"):
                got = call(name, xt, axis=0)
            assert_like_scipy(got, name, xt, context=f"{ctx} columns", axis=0)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_masked_rows_with_many_minus_inf(name, dtype, isa, rng):
    """Attention-style masks: half the entries -inf, finite max; accurate."""
    x = rng.standard_normal((6, 100)).astype(dtype)
    x[rng.random((6, 100)) < 0.5] = -inf
    x[:, 7] = 1.0  # every row keeps a finite entry
    check_case(name, x, axis=-1, context=f"{isa} masked rows")
    check_case(name, np.ascontiguousarray(x.T), axis=0, context=f"{isa} masked columns")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_extreme_finite_values_like_scipy(name, dtype, isa):
    fi = np.finfo(dtype)
    rows = np.array(
        [
            [fi.max, fi.max, 0.0],
            [fi.max, -fi.max, 0.0],
            [-fi.max, -fi.max, -fi.max],
            [fi.smallest_subnormal, 0.0, -fi.smallest_subnormal],
            [1e4, 1e4 - 1, -1e4],
        ],
        dtype=dtype,
    )
    with np.errstate(all="ignore"):
        got = call(name, rows, axis=-1)
    assert_like_scipy(got, name, rows, context=isa, axis=-1)
    assert not np.any(np.isnan(got)), "finite input must give no NaN"


# --------------------------------------------------------------------------
# logsumexp: b with zeros, negative b, return_sign
# --------------------------------------------------------------------------
B_CASES = {
    "zero weight hides +inf": ([inf, 1.0, 2.0], [0.0, 1.0, 1.0]),
    "zero weight hides nan": ([nan, 1.0, 2.0], [0.0, 1.0, 1.0]),
    "zero weight hides -inf": ([-inf, 1.0, 2.0], [0.0, 1.0, 1.0]),
    "all weights zero": ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]),
    "exact cancellation": ([0.5, 0.5, -inf], [1.0, -1.0, 1.0]),
    "negative total": ([1.0, 2.0, 0.0], [1.0, -1.0, 0.5]),
    "positive total": ([1.0, 2.0, 0.0], [-1.0, 1.0, 0.5]),
    "negative weight on +inf": ([inf, 1.0, 0.0], [-1.0, 1.0, 1.0]),
    "opposite weights on +inf": ([inf, inf, 0.0], [1.0, -1.0, 1.0]),
    "nan weight": ([1.0, 2.0, 3.0], [nan, 1.0, 1.0]),
    "inf weight": ([1.0, 2.0, 3.0], [inf, 1.0, 1.0]),
    "all -inf, nonzero weights": ([-inf, -inf, -inf], [1.0, -2.0, 1.0]),
    "single negative weight": ([3.0, -inf, -inf], [-2.0, 1.0, 1.0]),
}


@pytest.mark.parametrize("return_sign", [False, True])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=_ids)
def test_logsumexp_b_special_cases_like_scipy(dtype, return_sign, isa):
    for label, (a, b) in B_CASES.items():
        a = np.array(a, dtype=dtype)
        b = np.array(b, dtype=dtype)
        with np.errstate(all="ignore"):
            got = fs.logsumexp(a, b=b, return_sign=return_sign)
        assert_like_scipy(
            got, "logsumexp", a, context=f"{isa} {label}", b=b, return_sign=return_sign
        )
    # all cases as the rows of one array, along both axes
    a2 = np.array([a for a, _ in B_CASES.values()], dtype=dtype)
    b2 = np.array([b for _, b in B_CASES.values()], dtype=dtype)
    for axis, (aa, bb) in ((-1, (a2, b2)), (0, (a2.T.copy(), b2.T.copy()))):
        with np.errstate(all="ignore"):
            got = fs.logsumexp(aa, axis=axis, b=bb, return_sign=return_sign)
        assert_like_scipy(
            got,
            "logsumexp",
            aa,
            context=f"{isa} matrix axis={axis}",
            axis=axis,
            b=bb,
            return_sign=return_sign,
        )


def test_logsumexp_sign_values_like_scipy():
    """Signs are +1, -1 and 0 exactly where scipy says."""
    a = np.array([[1.0, 2.0], [1.0, 2.0], [0.5, 0.5], [-inf, -inf]])
    b = np.array([[1.0, 1.0], [1.0, -1.0], [1.0, -1.0], [1.0, 1.0]])
    res, sgn = fs.logsumexp(a, axis=1, b=b, return_sign=True)
    want_res, want_sgn = scipy_call("logsumexp", a, axis=1, b=b, return_sign=True)
    np.testing.assert_array_equal(sgn, want_sgn)
    np.testing.assert_allclose(res, want_res, rtol=1e-14)
    no_sign = fs.logsumexp(a, axis=1, b=b)
    assert np.isnan(no_sign[1]), "negative sum without return_sign is NaN (scipy)"


def test_logsumexp_empty_with_return_sign_like_scipy():
    for kw in ({}, {"b": np.zeros((2, 0))}):
        got = fs.logsumexp(np.zeros((2, 0)), axis=1, return_sign=True, **kw)
        want = scipy_call("logsumexp", np.zeros((2, 0)), axis=1, return_sign=True, **kw)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
