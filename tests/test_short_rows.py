"""Short rows (the lane kernel's lengths, kernels/isa/vec_avx512.h and
kernels/short_row_kernels.h: scalar 32; AVX2 float 56 / 64 / 64 for softmax /
log_softmax / logsumexp, double 32 / 32 / 48; AVX-512 float 128 / 128 / 192,
double 64 / 96 / 128): the row walker computes them a vector's width of rows at
a time, one row per lane, and a single row (a 1-D call, a group of a few rows,
a causal prefix, a gathered row) in its own vectors (row_short). Both must
give the same bits, whatever the other rows of a block hold, and rows the block
declines (non-finite, cancelling logsumexp) must come out as they would alone.
Every ISA the machine runs; lengths up to 65 one by one, then the tails around
each multiple of 16 up to 193, cover the limits of every flavour, with blocks of
rows transposed in registers (whole vectors of elements) and the partial tail.
"""

import numpy as np
import pytest
import reference as ref

import fastsoftmax as fs

FUNCS = ("softmax", "log_softmax", "logsumexp")
ROW_COUNTS = (1, 2, 3, 5, 8, 9, 16, 17, 35)
# groups of up to half a vector of rows (8 float, 4 double on AVX-512) take them
# one by one, larger ones in lanes
LONG_ROW_COUNTS = (1, 4, 7, 16, 19)
LENGTHS = tuple(range(1, 66)) + tuple(
    n for m in range(80, 208, 16) for n in (m - 1, m, m + 1)
)


def _one_by_one(func, x):
    """Each row through a 1-D call (the single-row kernel)."""
    return np.stack([np.asarray(func(row, axis=-1)) for row in x])


def _spread_rows(rng, rows, n, dtype):
    """Terms over many binades (scale 30), so the order of the double sum of
    exponentials would show if it differed between the two kernels."""
    return (rng.standard_normal((rows, n)) * 30).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", FUNCS)
def test_block_equals_row_by_row(name, dtype, isa, rng):
    func = getattr(fs, name)
    for n in LENGTHS:
        for rows in ROW_COUNTS if n <= 65 else LONG_ROW_COUNTS:
            x = _spread_rows(rng, rows, n, dtype)
            got = func(x, axis=-1, num_threads=1)
            np.testing.assert_array_equal(
                got, _one_by_one(func, x), err_msg=f"{isa} n={n} rows={rows}"
            )
            ref.check_accuracy(name, got, x, axis=-1, context=f"{isa} n={n} rows={rows}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", FUNCS)
def test_declined_rows_among_finite_ones(name, dtype, isa, rng):
    """Rows with NaN, +inf, all -inf, some -inf, and logsumexp rows that
    cancel (log(2 * exp(-log 2)) = 0) sit in blocks with ordinary rows."""
    func = getattr(fs, name)
    for n in (2, 3, 8, 10, 16, 17, 24, 32, 33, 64, 100, 128, 129, 192, 193):
        x = (rng.standard_normal((19, n)) * 3).astype(dtype)
        x[1, 0] = np.nan
        x[4, n - 1] = np.inf
        x[5] = -np.inf
        x[7, : max(1, n // 2)] = -np.inf
        x[9] = -np.log(dtype(n))  # all equal: logsumexp exactly 0, cancels
        x[12, 0] = np.nan
        x[12, -1] = np.inf
        with np.errstate(invalid="ignore"):
            got = func(x, axis=-1, num_threads=1)
            want = _one_by_one(func, x)
        np.testing.assert_array_equal(got, want, err_msg=f"{isa} n={n}")
        finite = [r for r in range(x.shape[0]) if np.isfinite(x[r]).all()]
        ref.check_accuracy(
            name, got[finite], x[finite], axis=-1, context=f"{isa} n={n} finite rows"
        )


@pytest.mark.parametrize("name", ("log_softmax", "logsumexp"))
def test_rows_either_side_of_the_unshifted_limit(name, isa, rng):
    """log_softmax and logsumexp of float rows of 32 elements and more take
    unshifted terms, each lane with its row's own scale, where the row's
    maximum is at most 64 in magnitude, and the compensated exp(x - m)
    otherwise (short_sums_c): blocks mixing both kinds, with maxima just
    either side of the limit, and elements far enough below their maximum to
    send a lane down the exponential's wide path (alone or with its
    neighbours), against each row alone and the reference."""
    func = getattr(fs, name)
    maxima = np.array(
        [63.9, 64.0, 64.01, -64.0, -64.01, 100.0, -100.0, 0.5, 1e-3, 0.0, -30.0, 30.0, 88.0, -88.0]
    )
    for n in (16, 31, 32, 33, 64, 100, 128, 129, 192):
        rows = 3 * maxima.size
        x = rng.standard_normal((rows, n)) * 4
        x -= x.max(axis=1, keepdims=True)
        x += np.tile(maxima, 3)[:, None]
        x[maxima.size :: 3, n // 2] -= 95.0  # some lanes on the wide path
        x[1::4, 1] -= 500.0  # and terms that underflow
        x = x.astype(np.float32)
        got = func(x, axis=-1, num_threads=1)
        np.testing.assert_array_equal(got, _one_by_one(func, x), err_msg=f"{isa} n={n}")
        ref.check_accuracy(name, got, x, axis=-1, context=f"{isa} n={n}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cancelling_logsumexp_rows(dtype, isa, rng):
    """logsumexp rows whose result is small next to their terms (shifted
    to a result between 1e-4 and 1 in magnitude), and rows of a few normal
    numbers (about half of which cancel), sit in blocks with rows that do
    not cancel. Float rows are summed again in double lane by lane
    (short_wide_lse), double ones by the general path: either way the same
    bits as each row alone; float ones within the bound of the reference
    (for double results cancelling to 1e-4 the long double reference itself
    is not that close)."""
    for n in (2, 3, 4, 7, 8, 10, 16, 17, 31, 33, 64, 127, 129, 192):
        x = rng.standard_normal((40, n)) * 2
        target = rng.uniform(-1, 1, 40) * 10.0 ** rng.uniform(-4, 0, 40)
        x += (target - ref.logsumexp(x, axis=-1))[:, None]
        x[::5] = rng.standard_normal((8, n))
        x[1::7] = rng.standard_normal((6, n)) * 20
        x = x.astype(dtype)
        got = fs.logsumexp(x, axis=-1, num_threads=1)
        np.testing.assert_array_equal(
            got, _one_by_one(fs.logsumexp, x), err_msg=f"{isa} n={n}"
        )
        if dtype == np.float32:
            ref.check_accuracy("logsumexp", got, x, axis=-1, context=f"{isa} n={n}")


@pytest.mark.parametrize("name", ("softmax", "log_softmax"))
def test_in_place_and_strided_rows(name, isa, rng):
    func = getattr(fs, name)
    for n in (5, 10, 16, 24, 32):
        x = _spread_rows(rng, 37, n, np.float32)
        want = func(x, axis=-1)
        y = x.copy()
        assert func(y, axis=-1, out=y) is y
        np.testing.assert_array_equal(y, want, err_msg=f"{isa} n={n} in place")
        # rows two apart in a bigger buffer (row stride 2n): still contiguous rows
        big = np.zeros((74, n), np.float32)
        big[::2] = x
        np.testing.assert_array_equal(
            func(big[::2], axis=-1), want, err_msg=f"{isa} n={n} strided rows"
        )


def test_threads_give_the_same_bits(rng):
    for n in (4, 10, 16, 32):
        x = _spread_rows(rng, 70001, n, np.float32)
        for name in FUNCS:
            func = getattr(fs, name)
            np.testing.assert_array_equal(
                func(x, axis=-1, num_threads=1),
                func(x, axis=-1, num_threads=2),
                err_msg=f"{name} n={n}",
            )


def test_exponential_does_not_depend_on_its_neighbours(isa, rng):
    """An element's exponential is the same whether its vector takes the
    common path or the wide one (another lane below the normal range, with or
    without the two-step scaling): the short-row kernels regroup elements
    into vectors and rely on it. Element 3 of each 40-element row is set
    either 80 below the row's maximum (common path, a term too small to
    change the sums) or far below (wide path); the other outputs must match."""
    x = (rng.standard_normal((200, 40)) * 2).astype(np.float32)
    common = x.copy()
    common[:, 3] = x.max(axis=1) - 80
    want = np.delete(fs.softmax(common, axis=-1), 3, axis=1)
    for gap in (87.5, 95.0, 100.0, 500.0):
        wide = x.copy()
        wide[:, 3] = x.max(axis=1) - gap
        got = np.delete(fs.softmax(wide, axis=-1), 3, axis=1)
        np.testing.assert_array_equal(got, want, err_msg=f"{isa} gap={gap}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vector_log1p_accuracy(dtype, isa, rng):
    """The short-row kernels take log1p of their lane sums with a vector
    kernel (log1p_poly.h, vd_log1p_nonneg), not libm. Rows whose maximum is 0
    put the sum of the other terms, r, straight into the result
    (logsumexp = log1p(r)); r sweeps the kernel's reduction boundaries (1 + r
    near sqrt(2) and 2) densely and [0, n - 1] at random, in blocks and as
    single rows."""
    near = np.concatenate(
        [np.sqrt(2.0) - 1 + np.linspace(-1e-3, 1e-3, 801), 1 - np.geomspace(1e-15, 1e-3, 400)]
    )
    pairs = np.zeros((near.size, 2))
    pairs[:, 1] = np.log(near)
    cases = [pairs]
    for n in (3, 8, 17, 32):
        wide = np.log(rng.uniform(1e-300, 1.0, (300, n)))
        wide[:, 0] = 0.0
        cases.append(wide)
    for x in cases:
        x = x.astype(dtype)
        n = x.shape[1]
        for name in ("logsumexp", "log_softmax"):
            func = getattr(fs, name)
            got = func(x, axis=-1, num_threads=1)
            ref.check_accuracy(name, got, x, axis=-1, context=f"{isa} n={n} block")
            np.testing.assert_array_equal(
                got[:64], _one_by_one(func, x[:64]), err_msg=f"{isa} n={n} {name} alone"
            )
