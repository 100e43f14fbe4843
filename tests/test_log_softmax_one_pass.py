"""log_softmax and logsumexp of float32 rows longer than the short-row
kernel takes, through row_xent_terms's one pass (csrc/kernels/
xent_kernels.h; csrc/driver/softmax_driver_body.h, row_sums): the maximum
found alongside the terms, and for a confident row (rest below 2, no class
target to say the rest's precision does not matter) the rounding of the
maximum's float pair taken back out, so that log_softmax's outputs near 0
(-log1p(rest)) and logsumexp keep their bounds.

Rows are built as in tests/test_cross_entropy_one_pass.py (the maximum at
every vector, pair, tail and block edge, the rest on both sides of each
threshold) and checked on every ISA against the longdouble reference with
the library's bounds; causal prefixes keep matching where= (they take the
two passes, as the masked rows' -inf elements do).
"""

import numpy as np
import pytest
import reference as ref
from test_cross_entropy_one_pass import RESTS, _positions, _row

import fastsoftmax as fs


@pytest.mark.parametrize("name", ["log_softmax", "logsumexp"])
@pytest.mark.parametrize("n", [200, 1000, 4097, 8300])
def test_confident_rows_keep_their_bounds(isa, name, n, rng):
    func = getattr(fs, name)
    for rest in RESTS:
        x = np.stack([_row(rng, n, p, rest, rng.uniform(-20, 20)) for p in _positions(n)])
        x = x.astype(np.float32)
        got = func(x, axis=-1)
        ref.check_accuracy(name, got, x, axis=-1, context=f"{isa} n={n} rest={rest:g}")
        # each row alone, and in place, gives the same bits
        r = len(x) // 2
        np.testing.assert_array_equal(func(x[r:r + 1], axis=-1)[0], got[r])
        if name == "log_softmax":
            xi = x.copy()
            np.testing.assert_array_equal(func(xi, axis=-1, out=xi), got)


# maxima on both sides of FSS_LSE_PAIR_KEPT's limits (8 and -10), and
# near 0, where the pair's rounding must come out
LSE_MAXIMA = [0.25, -0.6, 2.0, 7.99, 8.0, 8.5, 9.9, 15.0, -9.99, -10.0, -10.5, -30.0]


@pytest.mark.parametrize("n", [200, 1000, 2048])
@pytest.mark.parametrize("m", LSE_MAXIMA)
def test_logsumexp_keeps_its_bound_with_the_pair_left_in(isa, n, m, rng):
    """Grouped logsumexp rows (up to 8 KiB) leave the maximum's pair
    rounding in where the result is 8 or more in magnitude (rows_spec_end,
    FSS_LSE_PAIR_KEPT: max >= 8 or <= -10); on both sides of those limits
    and near 0, with every rest below 2 and the maximum at every edge, the
    result keeps its 1-ULP bound, alone or in a group (leaving the pair in
    everywhere fails it at maxima 0.25 and -0.6)"""
    rests = [r for r in RESTS if r < 2]
    x = np.stack([_row(rng, n, p, rest, m) for rest in rests for p in _positions(n)])
    x = x.astype(np.float32)
    got = fs.logsumexp(x, axis=-1)
    ref.check_accuracy("logsumexp", got, x, axis=-1, context=f"{isa} n={n} m={m}")
    for r in range(0, len(x), 7):
        np.testing.assert_array_equal(fs.logsumexp(x[r:r + 1], axis=-1)[0], got[r])


@pytest.mark.parametrize("name", ["log_softmax", "logsumexp"])
def test_rows_the_one_pass_declines(isa, name, rng):
    """Rows out of the first element's range, with -inf, or in float64 go
    through the two passes and still meet the bounds"""
    n = 1000
    x = rng.standard_normal((6, n)) * 2
    x[0, 0] -= 70.0
    x[1, 5] = 70.0
    x[2, 7] -= 95.0
    x[3, 1:] = x[3, 0] - 80.0
    x[4, ::3] = -np.inf
    x[5] *= 30.0
    x32 = x.astype(np.float32)
    func = getattr(fs, name)
    finite = [0, 1, 2, 3, 5]
    ref.check_accuracy(name, func(x32[finite], axis=-1), x32[finite], axis=-1, context=isa)
    ref.check_accuracy(name, func(x[finite], axis=-1), x[finite], axis=-1, context=f"{isa} float64")
    # a row with -inf elements: those of the finite elements alone
    row = x32[4:5]
    keep = np.isfinite(row[0])
    got = func(row, axis=-1)
    if name == "log_softmax":
        assert np.all(got[0, ~keep] == -np.inf)
        got = got[:, keep]
    ref.check_accuracy(name, got, row[:, keep], axis=-1, context=f"{isa} -inf")
