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
