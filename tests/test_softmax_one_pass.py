"""Softmax of float32 rows of at least FSS_SOFTMAX_ONE_PASS_MIN (64)
elements through one pass (csrc/kernels/softmax_row_kernels.h, row_softmax):
the terms 2^-K exp(x) and the row's maximum and minimum together (spec_loop),
then the terms divided by their sum. In place the terms are made again in the
scaling pass, and must give the out-of-place bits. Rows out of the first
element's range take the three passes.

Checked on every ISA against the longdouble reference with the library's
bounds, at lengths either side of the threshold and of every vector, step
and block edge.
"""

import helpers
import numpy as np
import pytest
import reference as ref

import fastsoftmax as fs

ONE_PASS_MIN = 64
# below and at the threshold, past the short kernels (63 floats on AVX2, 64
# on AVX-512), tails of every vector width and step (8 x 16
# floats), block edges (4096), a row past the L2-sized rows
LENGTHS = [63, 64, 65, 79, 113, 127, 129, 1000, 2047, 2048, 2063, 2175, 4095, 4096, 4097]
LENGTHS += [8191, 8300]
LENGTHS += [40_001]


def _rows(rng, n, count=4):
    """rows at several scales and offsets: spread ones, confident ones, and
    a row whose first element is its minimum"""
    x = rng.standard_normal((count, n))
    x[0] *= 4.0
    x[1] = x[1] * 0.5 + 30.0
    x[2] = x[2] * 12.0 - 20.0
    x[3] = x[3] * 2.0
    x[3, 0] = x[3].min() - 5.0
    x[3, n // 3] = x[3].max() + 9.0  # a confident maximum mid-row
    return x.astype(np.float32)


@pytest.mark.parametrize("n", LENGTHS)
def test_long_rows_keep_the_bound(isa, n, rng):
    x = _rows(rng, n)
    got = fs.softmax(x, axis=-1)
    ref.check_accuracy("softmax", got, x, axis=-1, context=f"{isa} n={n}")
    assert np.all(np.abs(got.sum(axis=-1, dtype=np.float64) - 1.0) < 1e-5)


@pytest.mark.parametrize("n", LENGTHS)
def test_in_place_gives_the_out_of_place_bits(isa, n, rng):
    x = _rows(rng, n)
    want = fs.softmax(x, axis=-1)
    xi = x.copy()
    got = fs.softmax(xi, axis=-1, out=xi)
    assert got is xi
    np.testing.assert_array_equal(got, want)
    # a separate out, a row alone and two threads: the same bits
    out = np.full_like(x, np.nan)
    np.testing.assert_array_equal(fs.softmax(x, axis=-1, out=out), want)
    np.testing.assert_array_equal(fs.softmax(x[2:3], axis=-1)[0], want[2])
    np.testing.assert_array_equal(fs.softmax(x, axis=-1, num_threads=2), want)


@pytest.mark.parametrize("n", [129, 200, 1000, 2047])
@pytest.mark.parametrize("scale", [4.0, 8.0])
def test_rows_meet_the_bare_bound(isa, n, scale, rng):
    """Wide-ranged rows past every ISA's short kernels (64 floats at most):
    three passes round x - max and need the shift allowance (19 ULP at
    4 N(0, 1) and rows of 129-2047); the one pass forms no x - max."""
    x = (rng.standard_normal((64, n)) * scale).astype(np.float32)
    got = fs.softmax(x, axis=-1)
    want, _, bound = ref.expected_with_allowance("softmax", x, got.dtype, axis=-1)
    ref.assert_ulp_close(got, want, bound, None, context=f"{isa} n={n} scale={scale}")


def _declined(rng, n):
    """rows the one pass declines: an element far above the first's K, one
    below its range, the first far below the rest, values past the unshifted
    plan's limit, a -inf element"""
    x = rng.standard_normal((6, n)) * 2
    x[0, 5] = 70.0
    x[1, 7] -= 95.0
    x[2, 0] -= 80.0
    x[3] += 200.0
    x[4] = x[4] * 30.0
    x[5, ::7] = -np.inf
    return x.astype(np.float32)


@pytest.mark.parametrize("n", [ONE_PASS_MIN, 1000, 2048, 5000])
def test_rows_the_one_pass_declines(isa, n, rng):
    x = _declined(rng, n)
    got = fs.softmax(x, axis=-1)
    finite = np.isfinite(x).all(axis=-1)
    ref.check_accuracy("softmax", got[finite], x[finite], axis=-1, context=isa)
    # the -inf row: zeros there, the finite elements' softmax elsewhere
    keep = np.isfinite(x[5])
    assert np.all(got[5, ~keep] == 0.0)
    ref.check_accuracy("softmax", got[5:6, keep], x[5:6, keep], axis=-1, context=f"{isa} -inf")
    xi = x.copy()
    np.testing.assert_array_equal(fs.softmax(xi, axis=-1, out=xi), got)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_rows_are_nan_in_place_too(isa, bad, rng):
    x = _rows(rng, 3000)
    x[1, 2500] = bad
    got = fs.softmax(x, axis=-1)
    assert np.all(np.isnan(got[1]))
    assert np.all(np.isfinite(np.delete(got, 1, axis=0)))
    xi = x.copy()
    np.testing.assert_array_equal(fs.softmax(xi, axis=-1, out=xi), got)
    x[2] = -np.inf  # every element -inf: NaN, as scipy gives
    assert np.all(np.isnan(fs.softmax(x, axis=-1)[2]))


def test_input_left_alone(isa, rng):
    x = _rows(rng, 4097)
    keep = x.copy()
    fs.softmax(x, axis=-1)
    np.testing.assert_array_equal(x, keep)


def test_causal_prefixes_match_where(rng):
    """a causal row's prefix of 64 or more elements takes the three passes,
    as its row padded with -inf (where=) does: the same bits"""
    L = S = ONE_PASS_MIN + 20
    x = rng.standard_normal((L, S)).astype(np.float32) * 3
    mask = np.tril(np.ones((L, S), bool))
    np.testing.assert_array_equal(
        fs.softmax(x, axis=-1, causal=True), fs.softmax(x, axis=-1, where=mask)
    )


@pytest.mark.parametrize("n", [2048, 2063, 4099, 32_000])
@pytest.mark.parametrize("offset", [0, 4, 16, 44, 60])
def test_streamed_rows_one_behind_at_every_offset(isa, n, offset, rng):
    """Rows the one pass takes whose whole output streams (8 MiB and more,
    driver/softmax_driver_body.h, softmax_behind): each row's terms into a
    scratch row, the previous row's scaled out with non-temporal stores
    during this row's pass, shifted to the output's vector boundary, the
    last row after the loop; a non-finite row NaN at once, a row the one
    pass declines in three passes. Every output offset, in place and two
    threads give the bits of the rows in small batches (nothing streamed)."""
    count = -(-(9 << 20) // (4 * n))
    x = _rows(rng, n, count)
    x[count // 3, n // 2] = np.nan
    x[count // 2, 7] += 95.0  # far above the first element's K: declined
    with np.errstate(invalid="ignore"):
        want = np.concatenate([fs.softmax(x[r0 : r0 + 40], axis=-1) for r0 in range(0, count, 40)])
        out = helpers.out_at(x.shape, offset)
        got = fs.softmax(x, axis=-1, out=out, num_threads=1)
    assert got is out
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[count // 3]).all()
    fine = [r for r in rng.choice(count, 12, replace=False) if r != count // 3]
    ref.check_accuracy("softmax", got[fine], x[fine], axis=-1, context=f"{isa} n={n} +{offset}")
    xi = x.copy()
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(fs.softmax(xi, axis=-1, out=xi, num_threads=1), want)
        np.testing.assert_array_equal(fs.softmax(x, axis=-1, num_threads=2), want)


@pytest.mark.parametrize("n", [159, 160, 161, 200, 1000, 2047, 2048, 2049])
@pytest.mark.parametrize("offset", [0, 4, 44])
def test_cached_rows_one_behind(isa, n, offset, rng):
    """Rows of 160 to 2048 floats whose output stays in cache, not in place
    (driver/softmax_driver_body.h, softmax_rows_behind): each row's terms
    into its output, scaled there during the next row's pass, the last
    after the loop; a non-finite row NaN at once, a row the one pass
    declines in three passes with the row before it scaled on its own. The
    bits of the rows in place (row by row), at every output offset, from a
    strided input, one row at a time and at two threads."""
    count = 37
    x = _rows(rng, n, count)
    x[5, n // 2] = np.nan
    x[6, 7] += 95.0  # far above the first element's K: declined
    x[count - 1, 3] = np.inf  # the last row not finite
    x[20, :] = -np.inf
    with np.errstate(invalid="ignore"):
        xi = x.copy()
        want = fs.softmax(xi, axis=-1, out=xi, num_threads=1)
        out = helpers.out_at(x.shape, offset)
        got = fs.softmax(x, axis=-1, out=out, num_threads=1)
        assert got is out
        np.testing.assert_array_equal(got, want)
        wide = np.zeros((count, n + 5), np.float32)
        wide[:, 2 : n + 2] = x
        np.testing.assert_array_equal(fs.softmax(wide[:, 2 : n + 2], axis=-1), want)
        np.testing.assert_array_equal(fs.softmax(x, axis=-1, num_threads=2), want)
        for r in (0, 4, 6, 7):
            np.testing.assert_array_equal(fs.softmax(x[r : r + 1], axis=-1)[0], want[r])
    assert np.isnan(got[[5, 20, count - 1]]).all()
    fine = [r for r in range(count) if r not in (5, 20, count - 1)]
    ref.check_accuracy("softmax", got[fine], x[fine], axis=-1, context=f"{isa} n={n} +{offset}")
