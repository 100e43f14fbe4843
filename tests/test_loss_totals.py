"""Loss totals (reduction "sum" and "mean") have the same bits for any thread
count and any run: rows are summed in blocks whose length depends on the
number of rows alone, and the block sums in block order
(csrc/driver/loss_total.h). Sizes are large enough for a team of several
threads (a call gets one thread per 32768 elements), with row counts around
blocks of one row, of a few (the 256-block limit) and of many (a block holds
at least 4096 elements).
"""

import math

import numpy as np
import pytest

import fastsoftmax as fs

THREADS = (1, 2, 3, 5, 8)

# (rows, classes): blocks of 1 row, of 3 rows (256 blocks at most), of 7 and 103 rows
SHAPES = [(41, 4100), (600, 5000), (257, 600), (5003, 40)]


def _same_for_every_thread_count(fn):
    first = np.asarray(fn(1))
    for nt in THREADS[1:]:
        for _ in range(2):
            got = np.asarray(fn(nt))
            assert got.tobytes() == first.tobytes(), f"num_threads={nt}: {got!r} != {first!r}"
    return first


def _close_to_exact_sum(total, rows_none):
    exact = math.fsum(np.asarray(rows_none, np.float64).ravel())
    assert abs(float(total) - exact) <= 1e-12 * max(abs(exact), 1e-300), (float(total), exact)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "opts",
    [
        dict(),
        dict(temperature=1.5),
        dict(label_smoothing=0.1, weight="w"),
        dict(sample_weight="sw"),
    ],
    ids=["plain", "temperature", "smooth_weight", "sample_weight"],
)
def test_cross_entropy_total_independent_of_threads(dtype, shape, opts, rng):
    n, c = shape
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    t = rng.integers(0, c, n)
    t[::17] = -100
    opts = dict(opts)
    if opts.get("weight") == "w":
        opts["weight"] = rng.random(c) + 0.5
    if opts.get("sample_weight") == "sw":
        opts["sample_weight"] = rng.random(n)
    for reduction in ("sum", "mean"):
        total = _same_for_every_thread_count(
            lambda nt, r=reduction: fs.cross_entropy(x, t, reduction=r, num_threads=nt, **opts)
        )
        # the gradient's total rides along without changing it
        with_grad = fs.cross_entropy(
            x, t, reduction=reduction, return_grad=True, num_threads=3, **opts
        )[0]
        assert np.asarray(with_grad).tobytes() == np.asarray(total).tobytes()
    if dtype == np.float64:
        total = fs.cross_entropy(x, t, reduction="sum", num_threads=2, **opts)
        _close_to_exact_sum(total, fs.cross_entropy(x, t, reduction="none", num_threads=1, **opts))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_soft_target_total_independent_of_threads(dtype, shape, rng):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    q = rng.random(shape).astype(dtype)
    q /= q.sum(axis=1, keepdims=True)
    _same_for_every_thread_count(lambda nt: fs.cross_entropy(x, q, reduction="sum", num_threads=nt))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_softmax_focal_total_independent_of_threads(dtype, shape, rng):
    n, c = shape
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    t = rng.integers(0, c, n)
    for reduction in ("sum", "mean"):
        _same_for_every_thread_count(
            lambda nt, r=reduction: fs.softmax_focal_loss(
                x, t, gamma=1.5, reduction=r, num_threads=nt
            )
        )
    if dtype == np.float64:
        total = fs.softmax_focal_loss(x, t, gamma=1.5, reduction="sum", num_threads=2)
        _close_to_exact_sum(
            total, fs.softmax_focal_loss(x, t, gamma=1.5, reduction="none", num_threads=1)
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4099, 61), (300, 1001), (17, 20011)])
@pytest.mark.parametrize("kind", ["bce", "bce_pos_weight", "sigmoid_focal"])
def test_binary_totals_independent_of_threads(dtype, shape, kind, rng):
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    y = (rng.random(shape) < 0.3).astype(dtype)
    if kind == "sigmoid_focal":

        def call(nt, reduction="sum"):
            return fs.sigmoid_focal_loss(x, y, reduction=reduction, num_threads=nt)
    else:
        pw = rng.random(shape[-1]) + 0.5 if kind == "bce_pos_weight" else None

        def call(nt, reduction="sum"):
            return fs.binary_cross_entropy_with_logits(
                x, y, pos_weight=pw, reduction=reduction, num_threads=nt
            )

    _same_for_every_thread_count(call)
    _same_for_every_thread_count(lambda nt: call(nt, "mean"))
    if dtype == np.float64:
        _close_to_exact_sum(call(2), call(1, "none"))


def test_infinite_row_loss_gives_infinite_total(rng):
    # a -inf target logit: that row's loss is +inf, and so is the total (not NaN)
    x = rng.standard_normal((600, 300))
    t = rng.integers(0, 300, 600)
    x[5, t[5]] = -np.inf
    for nt in (1, 2, 3):
        assert fs.cross_entropy(x, t, reduction="sum", num_threads=nt) == np.inf
        assert fs.softmax_focal_loss(x, t, gamma=0.0, reduction="sum", num_threads=nt) == np.inf
