"""cross_entropy and softmax_focal_loss of short rows with class-index
targets and no label smoothing take the lane kernels (csrc/kernels/
xent_lane_kernels.h, csrc/driver/lane_block.h): rows of up to the lane
kernel's length (128 float32 / 96 float64 classes on AVX-512, fewer on the
narrower ISAs), a block of rows one per lane. These tests check that path on
every ISA against a longdouble / float64 reference, across the length
limits, in blocks that mix the rows' exponential plans, and row by row
against the same rows alone and the focal loss at gamma = 0.
"""

import numpy as np
import pytest
from xent_reference import GRAD_ULPS
from xent_reference import reference as _reference
from xent_reference import ulps as _ulps

import fastsoftmax as fs

# lengths around the vector widths and every ISA's lane limit (32-128), and
# longer rows (the row kernels: the accuracy bounds hold on either path)
LENGTHS = [1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 95, 96, 97, 127, 128, 129, 250,
           1000]


def _logits(rng, rows, n, dtype):
    """rows x n logits: spread rows, rows whose maximum is past +-64 (the
    compensated terms beside unshifted ones in one block), ties at the
    maximum, -inf elements, a confident row, a row reaching far below its
    maximum (terms below the normal range)"""
    x = rng.standard_normal((rows, n)) * 3
    x[1] += 70.0
    x[2] -= 90.0
    x[5] += 200.0
    if n > 1:
        x[3, -1] = x[3].max()
        x[4, 0] = -np.inf
        x[6, :] = 0.0
        x[6, n // 2] = 40.0  # p_t - 1 tiny where the target is there
        x[7, :] = -30.0 * np.arange(n)
    return x.astype(dtype)


def _targets(rng, rows, n):
    t = rng.integers(0, n, rows)
    t[6] = n // 2
    t[7] = n - 1
    t[[9, 20, 21]] = -100
    return t


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opts", [dict(), dict(weight=True, sample_weight=True),
                                  dict(temperature=0.7)])
def test_lane_rows_against_the_reference(isa, dtype, opts, rng):
    rows = 37  # two whole blocks of 16 lanes and a partial one
    for n in LENGTHS:
        x = _logits(rng, rows, n, dtype)
        t = _targets(rng, rows, n)
        w = rng.uniform(0.5, 2.0, n) if opts.get("weight") else None
        sw = rng.uniform(0.5, 2.0, rows) if opts.get("sample_weight") else None
        temp = opts.get("temperature", 1.0)
        loss, grad = fs.cross_entropy(x, t, weight=w, sample_weight=sw, temperature=temp,
                                      reduction="none", return_grad=True)
        want_loss, want_grad = _reference(x, t, w, sw, temp)
        finite = np.isfinite(want_loss)
        assert np.array_equal(np.isfinite(loss), finite), f"n={n}"
        rel = np.abs(loss[finite] - want_loss[finite]) / np.maximum(want_loss[finite], 1e-300)
        bound = 1e-6 if dtype == np.float32 else 1e-14
        assert rel.max() <= bound, f"n={n}: loss relative error {rel.max():.3g}"
        # reduction="none": the gradient of the rows' sum
        u = _ulps(grad, want_grad, dtype)
        where = np.unravel_index(u.argmax(), u.shape)
        assert u.max() <= GRAD_ULPS[dtype], f"n={n}: gradient {u.max():.2f} ULP at {where}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lane_rows_in_every_layout(dtype, rng):
    """Fortran-ordered and strided logits, and a gradient written in place,
    give the C-contiguous result bit for bit"""
    x = _logits(rng, 40, 33, dtype)
    t = _targets(rng, 40, 33)
    loss, grad = fs.cross_entropy(x, t, reduction="none", return_grad=True)
    xf = np.asfortranarray(x)
    lf, gf = fs.cross_entropy(xf, t, reduction="none", return_grad=True)
    np.testing.assert_array_equal(lf, loss)
    np.testing.assert_array_equal(gf, grad)
    wide = np.zeros((40, 66), dtype)
    wide[:, ::2] = x
    ls, gs = fs.cross_entropy(wide[:, ::2], t, reduction="none", return_grad=True)
    np.testing.assert_array_equal(ls, loss)
    np.testing.assert_array_equal(gs, grad)
    xi = x.copy()
    li, gi = fs.cross_entropy(xi, t, reduction="none", return_grad=True, grad_out=xi)
    assert gi is xi
    np.testing.assert_array_equal(li, loss)
    np.testing.assert_array_equal(gi, grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocks_that_mix_the_plans_give_each_row_its_own_bits(isa, dtype, rng):
    """Rows whose maxima are within +-64 (unshifted float terms, from 32
    classes) and rows past it (compensated terms) in one block: the second
    plan's pass reads the logits, not the first plan's stored terms, and
    every row gets what it gets alone; the focal loss at gamma = 0 gives
    the same bits"""
    for n in (32, 40, 64, 100, 128):
        x = (rng.standard_normal((33, n)) * 2).astype(dtype)
        x[::3] += dtype(80.0)
        x[1::5] -= dtype(70.0)
        t = rng.integers(0, n, 33)
        loss, grad = fs.cross_entropy(x, t, reduction="none", return_grad=True)
        want_loss, want_grad = _reference(x, t, None, None, 1.0)
        assert _ulps(grad, want_grad, dtype).max() <= GRAD_ULPS[dtype], f"n={n}"
        rel = np.abs(loss - want_loss) / want_loss
        assert rel.max() <= (1e-6 if dtype == np.float32 else 1e-14), f"n={n}"
        for i in range(0, 33, 4):
            li, gi = fs.cross_entropy(x[i:i + 1], t[i:i + 1], reduction="none", return_grad=True)
            np.testing.assert_array_equal(li[0], loss[i], err_msg=f"n={n} row {i}")
            np.testing.assert_array_equal(gi[0], grad[i], err_msg=f"n={n} row {i}")
        lf, gf = fs.softmax_focal_loss(x, t, gamma=0.0, reduction="none", return_grad=True)
        np.testing.assert_array_equal(lf, loss, err_msg=f"n={n}")
        np.testing.assert_array_equal(gf, grad, err_msg=f"n={n}")


def test_focal_loss_of_lane_rows_against_autograd_formula(rng):
    """The focal loss through the lane kernels against its definition,
    -w_t (1 - p_t)^gamma log p_t, and its gradient by finite differences
    (float64)"""
    x = rng.standard_normal((19, 24)) * 2
    t = rng.integers(0, 24, 19)
    t[4] = -100
    gamma = 2.0
    loss, grad = fs.softmax_focal_loss(x, t, gamma=gamma, reduction="sum", return_grad=True)

    def focal(z):
        m = z.max(axis=1, keepdims=True)
        logp = (z - m) - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
        keep = t != -100
        lp = logp[np.arange(19), np.where(keep, t, 0)]
        return np.sum(np.where(keep, -((1 - np.exp(lp)) ** gamma) * lp, 0))

    np.testing.assert_allclose(loss, focal(x), rtol=1e-13)
    h = 1e-5  # rounding of the summed loss / h stays below atol
    for i, j in [(0, 0), (3, 5), (7, 23), (4, 2), (18, 11)]:
        xp, xm = x.copy(), x.copy()
        xp[i, j] += h
        xm[i, j] -= h
        fd = (focal(xp) - focal(xm)) / (2 * h)
        np.testing.assert_allclose(grad[i, j], fd, rtol=1e-6, atol=1e-8)
