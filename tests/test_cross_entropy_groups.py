"""cross_entropy's C driver, bit for bit: the groups of short rows (the
rows_max / rows_sumexp_c kernels, the staged driver) against the row kernels,
which softmax_focal_loss at gamma = 0 takes one row at a time, and against
each row computed alone; one thread against two."""

import numpy as np
import pytest

import fastsoftmax as fs


def special_rows(rng, n, dtype, rows=37):
    """Logits rows of n classes with the cases the kernels treat apart: ties
    at the maximum, -inf elements, elements far enough below the maximum for
    the exponential's wide path, non-finite rows; labels with ignored rows."""
    big = 100.0 if dtype == np.float32 else 800.0
    x = (rng.standard_normal((rows, n)) * 3).astype(dtype)
    x[1] = x[1].max()  # all equal
    if n > 1:
        x[2, -1] = x[2].max()  # a tie with the maximum at the end
        x[3, 0] = -np.inf
        x[4, -1] -= big  # the last vector's lane on the wide path
        x[5, 0] -= big  # the first vector's
        x[6, :] = -big * np.arange(n)  # exponentials down to zero
        x[7, n // 2] = -np.inf
    x[8, 0] = np.nan
    x[9, -1] = np.inf
    x[10] = -np.inf
    x[11] = 0.0
    t = rng.integers(0, n, rows)
    t[12::9] = -100
    t[6] = n - 1  # the smallest probability: a large loss
    t[3] = 0  # a -inf target: infinite loss
    return x, t


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_short_row_groups_match_row_kernels(isa, dtype, rng):
    for n in range(1, 41):
        x, t = special_rows(rng, n, dtype)
        with np.errstate(all="ignore"):
            loss, grad = fs.cross_entropy(x, t, return_grad=True, reduction="none")
            # the focal loss at gamma = 0 is cross_entropy through the row kernels
            lf, gf = fs.softmax_focal_loss(x, t, gamma=0.0, return_grad=True, reduction="none")
        np.testing.assert_array_equal(loss, lf, err_msg=f"n={n}")
        np.testing.assert_array_equal(grad, gf, err_msg=f"n={n}")
        # each row alone: a group of one row
        for i in (0, 3, 4, 5, 6, 8, 36):
            with np.errstate(all="ignore"):
                li, gi = fs.cross_entropy(x[i:i + 1], t[i:i + 1], return_grad=True,
                                          reduction="none")
            np.testing.assert_array_equal(li[0], loss[i], err_msg=f"n={n} row {i}")
            np.testing.assert_array_equal(gi[0], grad[i], err_msg=f"n={n} row {i}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("opts", [dict(), dict(label_smoothing=0.3), dict(temperature=0.6),
                                  dict(label_smoothing=0.1, temperature=2.0, weight="w")])
def test_short_row_groups_match_single_rows_with_options(dtype, opts, rng):
    """Groups of any size (rows not a multiple of the group, ignored rows in
    between) give each row the bits it gets alone, with every option."""
    for n in (2, 7, 10, 16, 33, 100):
        x = (rng.standard_normal((21, n)) * 3).astype(dtype)
        t = rng.integers(0, n, 21)
        t[[0, 5, 6, 7, 20]] = -100
        kw = dict(opts)
        if kw.get("weight") == "w":
            kw["weight"] = rng.uniform(0.5, 2.0, n)
        loss, grad = fs.cross_entropy(x, t, return_grad=True, reduction="none", **kw)
        for i in range(21):
            li, gi = fs.cross_entropy(x[i:i + 1], t[i:i + 1], return_grad=True,
                                      reduction="none", **kw)
            np.testing.assert_array_equal(li[0], loss[i], err_msg=f"n={n} row {i}")
            np.testing.assert_array_equal(gi[0], grad[i], err_msg=f"n={n} row {i}")
        # the loss alone (no gradient rows to write) is the same
        np.testing.assert_array_equal(fs.cross_entropy(x, t, reduction="none", **kw), loss)


@pytest.mark.parametrize("shape", [(40000, 10), (2048, 100), (64, 4096)])
def test_one_thread_and_two_give_the_same_rows(shape, rng):
    """Large enough for two threads (the driver's threshold is 32K elements
    per thread): rows and gradient bit for bit, the total within rounding
    and the same from call to call."""
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    t = rng.integers(0, shape[1], shape[0])
    t[::7] = -100
    rows1, g1 = fs.cross_entropy(x, t, reduction="none", return_grad=True, num_threads=1)
    rows2, g2 = fs.cross_entropy(x, t, reduction="none", return_grad=True, num_threads=2)
    np.testing.assert_array_equal(rows1, rows2)
    np.testing.assert_array_equal(g1, g2)
    m1, gm1 = fs.cross_entropy(x, t, return_grad=True, num_threads=1)
    m2, gm2 = fs.cross_entropy(x, t, return_grad=True, num_threads=2)
    np.testing.assert_array_equal(gm1, gm2)
    np.testing.assert_allclose(m2, m1, rtol=1e-6)
    for _ in range(3):
        assert fs.cross_entropy(x, t, num_threads=2) == m2
