"""cross_entropy and softmax_focal_loss of float32 rows through the row
kernels (longer than the lane kernel takes) in one pass (csrc/kernels/
xent_kernels.h, row_xent_terms): the terms' scale K taken from the row's
first element before the maximum is known, the maximum found alongside, the
rounding of the maximum's float pair taken back out of a confident row's
sum, and the two-pass path where the row is out of that K's range, holds a
tie at the maximum or a rest too small for the double lanes.

Rows are built with a chosen rest (the sum of every term but the
maximum's, relative to it) on both sides of each of those limits, the
maximum at positions that hit the vector pairs, the tails and the
4096-element sum blocks of every ISA, and checked on every ISA against a
longdouble reference; the paths must also agree bit for bit where the
library promises it (loss alone or with the gradient, in place or not,
each row alone, the focal loss at gamma = 0).
"""

import numpy as np
import pytest
from xent_reference import GRAD_ULPS, reference, ulps

import fastsoftmax as fs

# around every threshold of the one pass: 2 (the sum taken as it is), 0.99
# (where a tie can hide), n 2^-31 (the double lanes' rounding)
RESTS = [5.0, 2.01, 1.99, 1.2, 1.0, 0.995, 0.98, 0.5, 1e-2, 1e-4, 1e-6, 1e-7, 1e-9, 1e-14, 1e-22]
LOSS_BOUND = {np.float32: 1e-6, np.float64: 1e-14}


def _positions(n):
    """maximum positions at vector, pair, tail and block edges of W = 1..16"""
    cand = {0, 1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, n // 2, n - 33,
            n - 17, n - 16, n - 9, n - 5, n - 2, n - 1, 4095, 4096, 4097, 4096 + 127, 8191}
    return sorted(p for p in cand if 0 <= p < n)


def _row(rng, n, p, rest, m):
    """a row of n with its maximum m at p and the other terms summing to
    rest (relative to the maximum's)"""
    b = rng.standard_normal(n) * 0.5
    b[p] = -np.inf
    gap = np.log(np.exp(b).sum()) - np.log(rest)
    x = m - gap + b
    x[p] = m
    return x


def _check(x, t, dtype, ctx):
    x = x.astype(dtype)
    loss, grad = fs.cross_entropy(x, t, reduction="none", return_grad=True)
    want_loss, want_grad = reference(x, t, None, None, 1.0)
    finite = np.isfinite(want_loss)
    assert np.array_equal(np.isfinite(loss), finite), ctx
    rel = np.abs(loss[finite] - want_loss[finite]) / np.maximum(want_loss[finite], 1e-300)
    i = int(np.argmax(rel))
    assert rel.max() <= LOSS_BOUND[dtype], f"{ctx}: loss relative error {rel.max():.3g} in row {i}"
    u = ulps(grad[finite], want_grad[finite], dtype)
    where = np.unravel_index(u.argmax(), u.shape)
    assert u.max() <= GRAD_ULPS[dtype], f"{ctx}: gradient {u.max():.2f} ULP at {where}"
    # the loss alone is the loss with the gradient; in place is out of place
    np.testing.assert_array_equal(fs.cross_entropy(x, t, reduction="none"), loss, err_msg=ctx)
    xi = x.copy()
    li, gi = fs.cross_entropy(xi, t, reduction="none", return_grad=True, grad_out=xi)
    np.testing.assert_array_equal(li, loss, err_msg=ctx)
    np.testing.assert_array_equal(gi, grad, err_msg=ctx)
    # the focal loss at gamma = 0 takes the same kernel
    lf, gf = fs.softmax_focal_loss(x, t, gamma=0.0, reduction="none", return_grad=True)
    np.testing.assert_array_equal(lf, loss, err_msg=ctx)
    np.testing.assert_array_equal(gf, grad, err_msg=ctx)
    for r in (0, len(t) // 2, len(t) - 1):
        lr, gr = fs.cross_entropy(x[r:r + 1], t[r:r + 1], reduction="none", return_grad=True)
        np.testing.assert_array_equal(lr[0], loss[r], err_msg=f"{ctx} row {r} alone")
        np.testing.assert_array_equal(gr[0], grad[r], err_msg=f"{ctx} row {r} alone")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [129, 200, 1000, 4097, 8300])
def test_confident_rows_at_every_position(isa, dtype, n, rng):
    """Rests from 5 down to 1e-22, the maximum at every edge position, the
    target on the maximum (the loss is log1p(rest): all of it is the rest)
    or elsewhere"""
    for rest in RESTS:
        pos = _positions(n)
        x = np.stack([_row(rng, n, p, rest, rng.uniform(-20, 20)) for p in pos])
        t = np.array(pos)
        t[1::3] = rng.integers(0, n, len(t[1::3]))
        _check(x, t, dtype, f"n={n} rest={rest:g}")


@pytest.mark.parametrize("n", [129, 1000, 4097])
def test_ties_at_the_maximum(isa, n, rng):
    """A second element equal to the maximum, in the same vector pair as
    the first on some ISA or apart, with the rest of the row small or not"""
    rows, targets = [], []
    for rest in (0.02, 0.5, 1.5, 4.0):
        for p in (0, 5, 64, n // 2, n - 20):
            for d in (1, 4, 8, 16, 19):
                x = _row(rng, n, p, rest, 3.0)
                x[(p + d) % n] = x[p]
                rows.append(x)
                targets.append(p)
    _check(np.stack(rows), np.array(targets), np.float32, f"n={n} ties")


@pytest.mark.parametrize("n", [129, 1000, 4097])
def test_rows_out_of_the_first_elements_range(isa, n, rng):
    """Rows the one pass cannot take (the maximum past +-64 or more than 64
    above the first element, elements below its K's normal range, -inf,
    +inf and NaN elements) take the two passes, with the same results"""
    base = rng.standard_normal((12, n)) * 2
    base[0, 0] -= 70.0  # the first element 70 below the rest
    base[1, 0] = 66.0  # |first| > 64
    base[2, 5] = 70.0  # the maximum past 64
    base[3, 7] -= 95.0  # an element below the first element's normal range
    base[4, 3] = -np.inf
    base[5, n - 1] = np.inf
    base[6, 2] = np.nan
    base[7, :] -= 60.0  # every term far below 1 until the first
    base[8, :] += 60.0
    base[9, 0] = -64.0
    base[10, 0] = 64.0
    base[11, 1:] = base[11, 0] - 80.0  # a first element 80 above everything
    t = rng.integers(0, n, 12)
    t[4] = 3  # the -inf target: an infinite loss
    x = base.astype(np.float32)
    with np.errstate(all="ignore"):
        loss, grad = fs.cross_entropy(x, t, reduction="none", return_grad=True)
        want_loss, _ = reference(x, t, None, None, 1.0)
    assert np.isnan(loss[5]) and np.isnan(loss[6]), "a +inf or NaN element: NaN"
    assert np.all(np.isnan(grad[5])) and np.all(np.isnan(grad[6]))
    assert loss[4] == np.inf
    keep = [0, 1, 2, 3, 7, 8, 9, 10, 11]
    _check(x[keep], t[keep], np.float32, f"n={n} out of range")


@pytest.mark.parametrize("opts", [dict(temperature=0.7), dict(label_smoothing=0.2),
                                  dict(label_smoothing=0.1, temperature=1.7, weight="w")])
def test_options_keep_z_apart_from_the_gradient(opts, rng):
    """For T != 1 and in place, z lives in a scratch row, not the gradient
    row the terms go to: with and without a gradient, in place or not, the
    same bits; and the float64 results agree to float32 precision"""
    n = 1000
    spots = ((0, 0.3), (17, 3.0), (500, 1e-5), (999, 1.0))
    x = np.stack([_row(rng, n, p, r, 5.0) for p, r in spots])
    x = x.astype(np.float32)
    t = np.array([0, 3, 500, 999])
    kw = dict(opts)
    if kw.get("weight") == "w":
        kw["weight"] = rng.uniform(0.5, 2.0, n).astype(np.float32)
    loss, grad = fs.cross_entropy(x, t, reduction="none", return_grad=True, **kw)
    np.testing.assert_array_equal(fs.cross_entropy(x, t, reduction="none", **kw), loss)
    xi = x.copy()
    li, gi = fs.cross_entropy(xi, t, reduction="none", return_grad=True, grad_out=xi, **kw)
    np.testing.assert_array_equal(li, loss)
    np.testing.assert_array_equal(gi, grad)
    kw64 = {k: (v.astype(np.float64) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    l64, g64 = fs.cross_entropy(x.astype(np.float64), t, reduction="none", return_grad=True, **kw64)
    np.testing.assert_allclose(loss, l64, rtol=2e-6)
    np.testing.assert_allclose(grad, g64, rtol=2e-5, atol=1e-9)
