"""Float columns (a non-last reduced axis whose columns are contiguous) of at
least FSS_COL_ONE_PASS_MIN (64; log_softmax and logsumexp:
FSS_COL_ONE_PASS_MIN_COMP, 32) rows in one pass (csrc/kernels/col_kernels.h,
col_spec): each column's terms 2^-K exp(x) of its first element's K, with its
max and min alongside; a panel whose columns all prove in range keeps them,
any other takes the max pass and the compensated one.

Checked on every ISA against the reference with the library's bounds, at
column counts either side of every vector width and panel edge (1024 floats),
row counts either side of the threshold, C and Fortran layouts, panels the
one pass declines, in place, and at two threads.
"""

import numpy as np
import pytest
import reference as ref

import fastsoftmax as fs

FUNCTIONS = ["softmax", "log_softmax", "logsumexp"]
ONE_PASS_MIN = 64  # softmax
ONE_PASS_MIN_COMP = 32  # log_softmax and logsumexp
ROWS = [ONE_PASS_MIN_COMP - 1, ONE_PASS_MIN_COMP, ONE_PASS_MIN_COMP + 1]
ROWS += [ONE_PASS_MIN - 1, ONE_PASS_MIN, ONE_PASS_MIN + 1, 300]
COLUMNS = [1, 7, 16, 17, 33, 64, 65, 1023, 1025]


def _columns(rng, n, w):
    """columns at several scales and offsets: spread ones, confident ones,
    offset ones, and one whose first element is its minimum"""
    x = rng.standard_normal((n, w)) * 4.0
    x[:, 1::4] = x[:, 1::4] * 0.5 + 30.0
    x[:, 2::4] = x[:, 2::4] * 12.0 - 20.0
    x[0, 3::4] = x[:, 3::4].min(axis=0) - 5.0
    x[n // 3, 3::4] = x[:, 3::4].max(axis=0) + 9.0  # a confident maximum mid-column
    return x.astype(np.float32)


def _call(name, x, **kw):
    return getattr(fs, name)(x, **kw)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("w", COLUMNS)
def test_columns_keep_the_bound(isa, name, n, w, rng):
    x = _columns(rng, n, w)
    kept = x.copy()
    got = _call(name, x, axis=0)
    np.testing.assert_array_equal(x, kept)  # the input is left as it was
    ref.check_accuracy(name, got, x, axis=0, context=f"{isa} n={n} w={w}")
    if name == "softmax":
        assert np.all(np.abs(got.sum(axis=0, dtype=np.float64) - 1.0) < 1e-5)


@pytest.mark.parametrize("scale", [4.0, 8.0])
def test_softmax_columns_meet_the_bare_bound(isa, scale, rng):
    """Wide-ranged columns: the two passes round x - max and need the shift
    allowance (tens of ULP at these scales); the one pass forms no x - max
    (columns wider than its range, 20 N(0, 1), decline: test_panels_...)."""
    x = (rng.standard_normal((400, 1100)) * scale).astype(np.float32)
    got = fs.softmax(x, axis=0)
    want, _, bound = ref.expected_with_allowance("softmax", x, got.dtype, axis=0)
    ref.assert_ulp_close(got, want, bound, None, context=f"{isa} scale={scale}")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_three_d_and_fortran_layouts(isa, name, rng):
    x3 = (rng.standard_normal((3, 200, 70)) * 5).astype(np.float32)
    ref.check_accuracy(name, _call(name, x3, axis=1), x3, axis=1, context=f"{isa} 3-D axis 1")
    xf = np.asfortranarray((rng.standard_normal((90, 150)) * 5).astype(np.float32))
    ref.check_accuracy(name, _call(name, xf, axis=1), xf, axis=1, context=f"{isa} Fortran axis 1")


def _declining(rng, n, w):
    """one column in each panel the one pass must decline: an element far
    above the first's K, one below its range, a first element past the
    plan's limit, a tiny rest (one element dominating), a wide column"""
    x = rng.standard_normal((n, w)) * 2
    cases = [(0, lambda c: c.__setitem__(5, 70.0))]
    cases.append((1, lambda c: c.__setitem__(7, c[7] - 95.0)))
    cases.append((2, lambda c: c.__setitem__(0, 80.0)))
    cases.append((3, lambda c: c.__setitem__(slice(1, None), -30.0)))
    cases.append((4, lambda c: c.__imul__(30.0)))
    return x, cases


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("case", range(5))
def test_panels_the_one_pass_declines(isa, name, case, rng):
    x, cases = _declining(rng, 300, 40)
    j, spoil = cases[case]
    spoil(x[:, j])
    x = x.astype(np.float32)
    got = _call(name, x, axis=0)
    ref.check_accuracy(name, got, x, axis=0, context=f"{isa} case {case}")


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("special", [np.nan, np.inf, -np.inf])
def test_non_finite_columns_as_rows_give_them(isa, name, special, rng):
    """A panel with a non-finite column declines; every column gives the
    non-finite results the same values give as a row (the row kernels'
    handling, scipy's values), and keeps the bound elsewhere. (Not the rows'
    bits: rows of 200 take the one pass, the declined panel's columns do
    not.)"""
    x = (rng.standard_normal((200, 20)) * 3).astype(np.float32)
    x[17, 3] = special
    x[:, 9] = -np.inf  # a column of -inf throughout
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        got = _call(name, x, axis=0)
        as_rows = _call(name, np.ascontiguousarray(x.T), axis=-1)
    as_rows = as_rows.T if name != "logsumexp" else as_rows
    special_out = ~np.isfinite(as_rows)
    np.testing.assert_array_equal(got[special_out], as_rows[special_out])
    assert np.isfinite(got[~special_out]).all()
    # the columns the reference takes as the library does: no NaN, no +inf
    # (scipy's NaN results), not -inf throughout
    plain = ~(np.isnan(x) | (x == np.inf)).any(axis=0) & ~np.isneginf(x).all(axis=0)
    ref.check_accuracy(name, got[..., plain], x[:, plain], axis=0, context=f"{isa} {special}")


@pytest.mark.parametrize("w", [700, 1100])
def test_softmax_in_place_gives_the_out_of_place_bits(isa, w, rng):
    """out=x: the one pass stores no terms there, and the second pass forms
    each again from x just before it writes it (col_expscale), so in place
    takes the one pass too, with the bits of the stored terms (a panel of
    whole rows, w 700) and of the terms formed again (slices, w 1100)."""
    x = _columns(rng, 300, w)
    want = fs.softmax(x, axis=0)
    ref.check_accuracy("softmax", want, x, axis=0, context=f"{isa} out of place")
    xi = x.copy()
    got = fs.softmax(xi, axis=0, out=xi)
    assert got is xi
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_same_bits_at_two_threads_and_into_out(isa, name, rng):
    x = _columns(rng, 500, 2100)
    one = _call(name, x, axis=0, num_threads=1)
    np.testing.assert_array_equal(_call(name, x, axis=0, num_threads=2), one)
    out = np.full_like(one, np.nan)
    np.testing.assert_array_equal(_call(name, x, axis=0, out=out), one)
    # a panel alone (the first 1024 columns) gives its columns' bits
    np.testing.assert_array_equal(
        _call(name, np.ascontiguousarray(x[:, :1024]), axis=0), one[..., :1024]
    )


def test_float64_columns_keep_the_two_passes_bound(isa, rng):
    x = (rng.standard_normal((300, 70)) * 6).astype(np.float64)
    for name in FUNCTIONS:
        ref.check_accuracy(name, _call(name, x, axis=0), x, axis=0, context=f"{isa} float64")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_float16_columns_through_the_one_pass(isa, name, rng):
    """float16 goes through the float kernels (converted on the way in and
    out): the columns' one pass there too, within float16's 1-ULP bound."""
    x = (rng.standard_normal((300, 70)) * 4).astype(np.float16)
    got = _call(name, x, axis=0)
    assert got.dtype == np.float16
    ref.check_accuracy(name, got, x, axis=0, context=f"{isa} float16")
