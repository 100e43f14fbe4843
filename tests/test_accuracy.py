"""The accuracy contract, in ULPs of the output dtype, against the wide
reference (float64 for float16/float32 inputs, long double for float64).

The bounds are the single table ``reference.ULP_BOUNDS`` (with the shift
allowance of ``reference.SHIFT_ALLOWANCE``); nothing here has its own
tolerance.  Inputs of the near-zero tests are built so that x - max is exact
in the input precision: there the shift allowance is zero (asserted) and the
bare ULP bound applies.
"""

import numpy as np
import pytest
import reference as ref
from helpers import FLOAT_DTYPES, NAMES, call, random_array

import fastsoftmax as fs


def _ids(v):
    return getattr(v, "__name__", str(v))


def _assert_exact_shift(name, x, axis):
    allowance = ref.shift_allowance(name, x, axis=axis)
    assert np.all(allowance == 0), "test input must have exact x - max"


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_random_rows_and_columns(name, dtype, isa, rng):
    for n in (2, 9, 100, 2049):
        for scale in (1, 10, 100):
            if dtype == np.float16 and scale == 100:
                continue  # float16 spacing near 100s is 0.06: same as scale 10
            x = random_array(rng, (8, n), dtype, scale=scale)
            ctx = f"{isa} n={n} scale={scale}"
            ref.check_accuracy(name, call(name, x, axis=-1), x, axis=-1, context=f"rows {ctx}")
            xt = np.ascontiguousarray(x.T)
            ref.check_accuracy(name, call(name, xt, axis=0), xt, axis=0, context=f"columns {ctx}")


@pytest.mark.parametrize("name", ("softmax", "log_softmax"))
def test_double_sums_stay_within_bounds(name, isa):
    """float64 terms summed in double lanes need compensation: plain lane sums
    of 24-32 terms put 1 in 10^5 log_softmax outputs over the bound (up to 11
    ULP against 5) and some of softmax's smallest outputs too. Rows of 24 and
    32 (the short-row kernel) and 40 (the general one) at scale 10, enough
    rows that the uncompensated sums failed on every seed tried."""
    rng = np.random.default_rng(7)
    for n in (24, 32, 40):
        x = random_array(rng, (60_000, n), np.float64, scale=10)
        ref.check_accuracy(name, call(name, x, axis=-1), x, axis=-1, context=f"{isa} n={n}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_columns_wider_than_a_panel(name, dtype, isa, rng):
    """A non-last reduced axis over more columns than one panel holds (4 KiB
    per row: 1024 float, 512 double): whole panels, a partial one and a
    partial vector, with an outer axis, as a whole and as a column slice."""
    x = random_array(rng, (3, 37, 2600), dtype, scale=10)
    ref.check_accuracy(name, call(name, x, axis=1), x, axis=1, context=f"{isa} (3, 37, 2600)")
    part = x[:, :, 5:2590]
    ref.check_accuracy(name, call(name, part, axis=1), part, axis=1,
                       context=f"{isa} columns 5:2590")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_every_column_count_to_70(name, dtype, isa, rng):
    """A non-last reduced axis over 1 to 69 columns: the column kernel takes
    whole vectors four at a time, then single ones and a partial one; every
    split of a row of columns between the two, on every vector width up to
    16 lanes."""
    for w in range(1, 70):
        x = (rng.standard_normal((37, w)) * 4).astype(dtype)
        ref.check_accuracy(name, call(name, x, axis=0), x, axis=0, context=f"{isa} columns={w}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_every_row_length_to_80(name, dtype, isa, rng):
    # Dense in the row length (every SIMD tail and sum grouping) and in rows:
    # a worst case of the bound is rare, so few samples hide it. This sweep
    # found the double softmax 1 ULP over (a plain lane sum and a rounded
    # reciprocal: both now compensated).
    for n in [*range(2, 80), 200, 1000]:
        x = (rng.standard_normal((20, n)) * 4).astype(dtype)
        ctx = f"{isa} n={n}"
        ref.check_accuracy(name, call(name, x, axis=-1), x, axis=-1, context=f"rows {ctx}")
        xt = np.ascontiguousarray(x.T)
        ref.check_accuracy(name, call(name, xt, axis=0), xt, axis=0, context=f"columns {ctx}")


# --------------------------------------------------------------------------
# outputs near zero
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
def test_log_softmax_dominant_class_exact_example(dtype, isa):
    """x = [0, -20, -30]: log_softmax[0] = -log1p(e^-20 + e^-30) ~ -2.06e-9,
    to 4 ULP (log(sum) would give 0 or be off by millions of ULPs)."""
    x = np.array([0.0, -20.0, -30.0], dtype=dtype)
    got = fs.log_softmax(x)
    assert got[0] < 0
    ref.check_accuracy("log_softmax", got, x, context=isa)
    # the same through the column walker and with the dominant class last
    col = np.ascontiguousarray(np.tile(x[::-1], (5, 1)).T)
    ref.check_accuracy(
        "log_softmax", fs.log_softmax(col, axis=0), col, axis=0, context=f"{isa} columns"
    )


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=_ids)
@pytest.mark.parametrize("n", [3, 17, 1000])
def test_log_softmax_near_zero_outputs(dtype, n, isa, rng):
    """One dominant element per row (the max is an integer m, the others
    m - k with integer k in [12, 40]: x - max exact), rows and columns."""
    lo, hi = (12, 40) if dtype != np.float16 else (4, 11)
    m = rng.integers(-50, 50, size=(6, 1))
    x = (m - rng.integers(lo, hi, size=(6, n))).astype(dtype)
    top = rng.integers(0, n, size=6)
    x[np.arange(6), top] = m[:, 0]
    _assert_exact_shift("log_softmax", x, -1)
    got = fs.log_softmax(x, axis=-1)
    assert np.all(got[np.arange(6), top] < 0)
    ref.check_accuracy("log_softmax", got, x, axis=-1, context=f"{isa} rows")
    xt = np.ascontiguousarray(x.T)
    ref.check_accuracy(
        "log_softmax", fs.log_softmax(xt, axis=0), xt, axis=0, context=f"{isa} columns"
    )


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=_ids)
def test_logsumexp_near_zero(dtype, isa, rng):
    """Pairs of values around -0.5: logsumexp in [0.09, 0.29], where
    max + log1p(rest) cancels; differences are exact (Sterbenz)."""
    x = rng.uniform(-0.6, -0.4, size=(200, 2)).astype(dtype)
    got = fs.logsumexp(x, axis=-1)
    assert np.all((got > 0.05) & (got < 0.35))
    ref.check_accuracy("logsumexp", got, x, axis=-1, context=f"{isa} rows")
    xt = np.ascontiguousarray(x.T)
    ref.check_accuracy("logsumexp", fs.logsumexp(xt, axis=0), xt, axis=0, context=f"{isa} columns")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
def test_softmax_subnormal_outputs(dtype, isa):
    """Outputs below the normal range are rounded like any other (numpy's exp
    and so scipy produce them); no flush to zero."""
    if dtype == np.float32:
        x = np.array([0.0, -88.0, -95.0, -100.0, -103.0], dtype)
    else:
        x = np.array([0.0, -709.0, -720.0, -740.0, -744.0], dtype)
    got = fs.softmax(x)
    assert np.all(got[1:] > 0)
    ref.check_accuracy("softmax", got, x, context=isa)
    row = np.tile(x, (3, 7))  # longer rows: the values land in vector bodies
    ref.check_accuracy("softmax", fs.softmax(row, axis=-1), row, axis=-1, context=isa)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_rows_straddling_the_exp_range_limit(name, dtype, isa, rng):
    """A row whose minimum is within the exponential's common range of its
    maximum skips the per-vector range test (exp_row_normal); one element
    past the limit sends it back to the tested loop. Rows with their lowest
    element just either side of the limit, anywhere in the row (vector
    bodies, pairs, tails), and rows whose maximum is itself large."""
    limit = 87.0 if dtype == np.float32 else 708.0
    spans = (limit - 1, limit - 1e-3, limit, limit + 1e-3, limit + 0.5, limit + 16)
    for n in (17, 33, 200, 1000):
        for shift in (0.0, 40.0, -300.0):
            x = np.empty((len(spans) * 2, n))
            for r, span in enumerate(spans * 2):
                x[r] = shift + rng.uniform(-0.9 * limit, 0, n)
                x[r, rng.integers(n)] = shift + 1.0  # the maximum
                x[r, rng.integers(n)] = shift + 1.0 - span
            x = x.astype(dtype)
            got = call(name, x, axis=-1)
            ref.check_accuracy(name, got, x, axis=-1, context=f"{isa} n={n} shift={shift}")


# --------------------------------------------------------------------------
# long rows and columns
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_long_rows_1e5(name, dtype, isa, rng):
    x = random_array(rng, (2, 100_000), dtype, scale=4)
    ref.check_accuracy(name, call(name, x, axis=-1), x, axis=-1, context=f"{isa} rows")
    y = random_array(rng, (20_000, 5), dtype, scale=4)
    ref.check_accuracy(name, call(name, y, axis=0), y, axis=0, context=f"{isa} columns")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_row_of_one_million(name, dtype, isa, rng):
    """Sum error must not grow with length; also split across two threads."""
    x = random_array(rng, (1_000_000,), dtype, scale=2)
    for nt in (None, 2):
        got = call(name, x, num_threads=nt)
        ref.check_accuracy(name, got, x, context=f"{isa} n=1e6 num_threads={nt}")
