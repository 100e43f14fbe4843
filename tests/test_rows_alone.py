"""A row of a batch gives the bits it gives alone (a one-row call), wherever
in the row its maximum and minimum lie: first, last, in the last partial
vector, at a block boundary, and with non-finite elements; on one thread and
two. Rows beyond the short-row kernels, for softmax, log_softmax, logsumexp
and cross_entropy: their loops over rows prefetch the next row and carry
nothing else from row to row, and a change that does (say, taking the next
row's maximum inside a row's exponential loop) must keep this."""

import numpy as np
import pytest

import fastsoftmax as fs

# beyond the short-row kernels; 4097 and 8200 cross the float loops' 4096-element blocks
LENGTHS = (65, 67, 100, 129, 1000, 4097, 8200)


def _rows(rng, n, dtype):
    """Rows whose extremes sit at chosen places, and rows with non-finite values."""
    base = rng.standard_normal((16, n)) * 3
    tail = n - n % 8 if n % 8 else n - 5  # in the last partial vector where there is one
    spots = [0, n - 1, n - 2, tail, min(n - 1, 4095), min(n - 1, 4096), n // 2]
    for r, j in enumerate(spots):
        base[r, j] = 30.0 + r  # the maximum
        base[r + len(spots), spots[-1 - r]] = -60.0 - r  # the minimum
    x = base.astype(dtype)
    x[14, n - 1] = np.nan
    x[15, 3] = np.inf
    x[13, n - 1] = -np.inf
    # a row whose minimum is below -max (the float loop's ordered form) after one that is not
    x[12] = np.abs(x[12])
    x[12, 7] = -x[12].max() - 5
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_rows_match_rows_alone(name, dtype, isa, rng):
    fn = getattr(fs, name)
    for n in LENGTHS:
        x = _rows(rng, n, dtype)
        with np.errstate(invalid="ignore"):
            together = fn(x, axis=-1, num_threads=1)
            for r in range(x.shape[0]):
                alone = fn(x[r : r + 1], axis=-1, num_threads=1)[0]
                np.testing.assert_array_equal(together[r], alone, err_msg=f"{isa} n={n} row {r}")
            # and with the rows split across two threads
            np.testing.assert_array_equal(fn(x, axis=-1, num_threads=2), together)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_rows_match_rows_alone(dtype, isa, rng):
    for n in LENGTHS:
        x = _rows(rng, n, dtype)
        t = rng.integers(0, n, x.shape[0])
        t[3] = -100  # an ignored row: the row after it takes its own max pass
        with np.errstate(invalid="ignore"):
            loss, grad = fs.cross_entropy(x, t, reduction="none", return_grad=True, num_threads=1)
            for r in range(x.shape[0]):
                lr, gr = fs.cross_entropy(x[r : r + 1], t[r : r + 1], reduction="none",
                                          return_grad=True, num_threads=1)
                np.testing.assert_array_equal(loss[r], lr[0], err_msg=f"{isa} n={n} row {r}")
                np.testing.assert_array_equal(grad[r], gr[0], err_msg=f"{isa} n={n} row {r}")
