"""fastsoftmax.dask against the NumPy functions and the wide reference.

Arrays are chunked along every axis, the reduced one included, with ragged last
chunks; the threaded scheduler runs everything, and a LocalCluster of two
worker processes runs the split-axis paths once more."""

import subprocess
import sys

import numpy as np
import pytest
import reference as ref

import fastsoftmax as fs

da = pytest.importorskip("dask.array", reason="dask[array] is not installed (the dask extra)")
dask = pytest.importorskip("dask")
fsd = pytest.importorskip("fastsoftmax.dask")

SCHED = {"scheduler": "threads"}

# (shape, chunks): whole rows, split rows with ragged tails, one-element chunks
CHUNKINGS_2D = [
    ((37, 101), (10, 101)),
    ((37, 101), (37, 30)),
    ((37, 101), (7, 13)),
    ((5, 17), (2, 1)),
]
AXES_2D = [-1, 0, None, (0, 1)]


def _data(rng, shape, dtype, scale=3.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def test_importing_fastsoftmax_does_not_import_dask():
    code = "import sys, fastsoftmax; assert 'dask' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,chunks", CHUNKINGS_2D)
@pytest.mark.parametrize("axis", AXES_2D)
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_accuracy_2d(isa, rng, name, axis, shape, chunks, dtype):
    x = _data(rng, shape, dtype)
    got = getattr(fsd, name)(da.from_array(x, chunks=chunks), axis=axis).compute(**SCHED)
    want = getattr(fs, name)(x, axis=axis)
    assert got.dtype == np.asarray(want).dtype and got.shape == np.shape(want)
    ref.check_accuracy(name, got, x, axis=axis, context=f"{chunks} axis={axis}")


@pytest.mark.parametrize("axis", [1, (1, 2), 0, None, (0, 2)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_accuracy_3d(rng, name, axis):
    x = _data(rng, (5, 17, 33), np.float32)
    got = getattr(fsd, name)(da.from_array(x, chunks=(2, 5, 8)), axis=axis).compute(**SCHED)
    ref.check_accuracy(name, got, x, axis=axis, context=f"axis={axis}")


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_float16_and_integers(rng, name):
    x16 = _data(rng, (9, 40), np.float16)
    got = getattr(fsd, name)(da.from_array(x16, chunks=(4, 7)), axis=1).compute(**SCHED)
    assert got.dtype == np.float16
    ref.check_accuracy(name, got, x16, axis=1)
    xi = rng.integers(-20, 20, (9, 40))
    got = getattr(fsd, name)(da.from_array(xi, chunks=(4, 7)), axis=1).compute(**SCHED)
    assert got.dtype == np.float64
    ref.check_accuracy(name, got, xi, axis=1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dominant_class_near_zero(dtype):
    # x - max exact (integers), so the bare bound applies; outputs down to ~1e-30
    x = np.full((4, 64), -70.0, dtype=dtype)
    x[:, 0] = 0.0
    x[1, 40] = -30.0
    x[2, :] = np.arange(64) * -3.0
    x[3, 33] = 0.0
    xd = da.from_array(x, chunks=(3, 16))
    for name in ("log_softmax", "logsumexp", "softmax"):
        got = getattr(fsd, name)(xd, axis=1).compute(**SCHED)
        ref.check_accuracy(name, got, x, axis=1, context="dominant")
    lsm = fsd.log_softmax(xd, axis=1).compute(**SCHED)
    assert lsm[0, 0] < 0 and abs(lsm[0, 0]) < 1e-25  # not rounded to 0


def test_non_finite_rows_follow_the_numpy_function():
    inf, nan = np.inf, np.nan
    x = np.zeros((7, 10))
    x[0, 3] = nan
    x[1, 7] = inf
    x[2, :] = -inf
    x[3, :5] = -inf  # a whole chunk of -inf, finite maximum elsewhere
    x[4, 2] = -inf
    x[5, 1], x[5, 8] = inf, -inf
    x[6, 4], x[6, 9] = inf, nan
    xd = da.from_array(x, chunks=(3, 5))
    with np.errstate(all="ignore"):
        for name in ("softmax", "log_softmax", "logsumexp"):
            got = getattr(fsd, name)(xd, axis=1).compute(**SCHED)
            want = getattr(fs, name)(x, axis=1)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=name)
            np.testing.assert_allclose(got, want, rtol=1e-15, atol=0, err_msg=name)


def test_logsumexp_options(rng):
    x = _data(rng, (6, 20), np.float64)
    b = rng.random((6, 20))
    xd = da.from_array(x, chunks=(4, 20))
    got = fsd.logsumexp(xd, axis=1, b=b, keepdims=True).compute(**SCHED)
    np.testing.assert_allclose(got, fs.logsumexp(x, axis=1, b=b, keepdims=True), rtol=1e-15)
    got = fsd.logsumexp(da.from_array(x, chunks=(4, 6)), axis=(0, 1), keepdims=True)
    assert got.shape == (1, 1)
    ref.check_accuracy("logsumexp", got.compute(**SCHED), x, axis=(0, 1), keepdims=True)
    with pytest.raises(NotImplementedError, match="b:"):
        fsd.logsumexp(da.from_array(x, chunks=(4, 6)), axis=1, b=b)
    with pytest.raises(NotImplementedError, match="return_sign"):
        fsd.logsumexp(xd, axis=1, return_sign=True)
    with pytest.raises(NotImplementedError, match="out"):
        fsd.softmax(xd, axis=1, out=np.empty(x.shape))
    with pytest.raises(TypeError, match="x: boolean"):
        fsd.softmax(da.from_array(x > 0), axis=1)
    with pytest.raises(ValueError, match="num_threads"):
        fsd.log_softmax(xd, num_threads=0)


def _graph_size(arr):
    (opt,) = dask.optimize(arr)
    return len(dict(opt.__dask_graph__()))


def test_graph_is_one_task_per_chunk_per_pass():
    x = da.from_array(np.zeros((64, 256)), chunks=(8, 32))  # 8 x 8 chunks
    n, row_blocks = 64, 8
    src = _graph_size(x)
    # pass 1 + pass 2 + the tree (fewer than n / 2 nodes for a fan-in of at least 4)
    assert _graph_size(fsd.softmax(x, axis=1)) <= src + 2 * n + n // 2
    assert _graph_size(fsd.softmax(x, axis=None)) <= src + 2 * n + n // 2
    assert _graph_size(fsd.logsumexp(x, axis=1)) <= src + n + n // 2 + row_blocks
    # a fan-in of 2 adds tree levels (fewer than n nodes), not per-element work
    assert _graph_size(fsd.log_softmax(x, axis=1, split_every=2)) <= src + 2 * n + n
    t = da.from_array(np.zeros(64, dtype=np.int64), chunks=8)
    src += _graph_size(t) + 8  # the targets and the 8 class-chunk offsets
    loss, grad = fsd.cross_entropy(x, t, return_grad=True)
    assert _graph_size(grad) <= src + 2 * n + n // 2 + 4 * row_blocks
    assert _graph_size(loss) <= src + n + n // 2 + 6 * row_blocks


# ---------------------------------------------------------------------------
# cross_entropy
# ---------------------------------------------------------------------------
CE_OPTIONS = [
    {},
    {"reduction": "sum"},
    {"reduction": "none"},
    {"label_smoothing": 0.2},
    {"weight": "w"},
    {"weight": "w", "label_smoothing": 0.1, "reduction": "none"},
    {"sample_weight": "s", "ignore_index": 5},
    {"temperature": 2.5, "ignore_index": 5},
]


def _ce_args(rng, opts, n, c):
    opts = dict(opts)
    if opts.get("weight") == "w":
        opts["weight"] = rng.random(c) + 0.1
    if opts.get("sample_weight") == "s":
        opts["sample_weight"] = rng.random(n)
    return opts


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunks", [(16, 70), (5, 70), (16, 17), (5, 9)])
@pytest.mark.parametrize("opts", CE_OPTIONS)
def test_cross_entropy_matches_numpy(rng, opts, chunks, dtype):
    n, c = 33, 70
    x = _data(rng, (n, c), dtype)
    t = rng.integers(0, c, n)
    t[::6] = 5  # some rows ignored where ignore_index=5
    opts = _ce_args(rng, opts, n, c)
    loss, grad = fsd.cross_entropy(da.from_array(x, chunks=chunks), da.from_array(t, chunks=7),
                                   return_grad=True, **opts)
    want_loss, want_grad = fs.cross_entropy(x, t, return_grad=True, **opts)
    got_loss, got_grad = dask.compute(loss, grad, **SCHED)
    assert got_loss.dtype == want_loss.dtype and got_grad.dtype == want_grad.dtype
    rtol = 2e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(got_loss, want_loss, rtol=rtol)
    scale = np.abs(want_grad).max()
    np.testing.assert_allclose(got_grad, want_grad, rtol=rtol, atol=rtol * scale)
    only = fsd.cross_entropy(da.from_array(x, chunks=chunks), t, **opts).compute(**SCHED)
    np.testing.assert_allclose(only, want_loss, rtol=rtol)


def test_cross_entropy_class_axis_1_and_float16(rng):
    x = _data(rng, (6, 40, 5), np.float64)
    t = rng.integers(0, 40, (6, 5))
    loss, grad = fsd.cross_entropy(da.from_array(x, chunks=(4, 9, 3)), t, axis=1,
                                   return_grad=True, label_smoothing=0.05)
    want_loss, want_grad = fs.cross_entropy(x, t, axis=1, return_grad=True, label_smoothing=0.05)
    np.testing.assert_allclose(loss.compute(**SCHED), want_loss, rtol=1e-14)
    np.testing.assert_allclose(grad.compute(**SCHED), want_grad, rtol=1e-13, atol=1e-17)
    x16 = x[:, :, 0].astype(np.float16)
    t16 = t[:, 0]
    for chunks in [(4, 40), (4, 9)]:
        got = fsd.cross_entropy(da.from_array(x16, chunks=chunks), t16).compute(**SCHED)
        assert got.dtype == np.float16
        assert got == fs.cross_entropy(x16, t16)


def test_cross_entropy_confident_predictions_keep_relative_precision():
    # losses ~1e-28: (M - z_t) + log1p(rest) must not round to 0
    c = 200
    x = np.full((3, c), -64.0)
    t = np.array([3, 150, 199])
    x[np.arange(3), t] = 0.0
    want = np.array([(c - 1) * np.exp(np.longdouble(-64.0))] * 3, dtype=np.longdouble)
    want = np.log1p(want)
    for dtype, rtol in ((np.float64, 1e-14), (np.float32, 1e-6)):
        got = fsd.cross_entropy(da.from_array(x.astype(dtype), chunks=(2, 64)), t,
                                reduction="none").compute(**SCHED)
        np.testing.assert_allclose(got.astype(np.longdouble), want, rtol=rtol)


def test_cross_entropy_soft_targets_and_errors(rng):
    x = _data(rng, (12, 30), np.float64)
    q = rng.random((12, 30))
    q /= q.sum(axis=1, keepdims=True)
    got = fsd.cross_entropy(da.from_array(x, chunks=(5, 30)), q, return_grad=True)
    want = fs.cross_entropy(x, q, return_grad=True)
    np.testing.assert_allclose(got[0].compute(**SCHED), want[0], rtol=1e-14)
    np.testing.assert_allclose(got[1].compute(**SCHED), want[1], rtol=1e-13, atol=1e-18)
    split = da.from_array(x, chunks=(5, 7))
    with pytest.raises(NotImplementedError, match="probability targets"):
        fsd.cross_entropy(split, q)
    t = rng.integers(0, 30, 12)
    t[4] = 30
    with pytest.raises(ValueError, match="target: label 30"):
        fsd.cross_entropy(split, t).compute(**SCHED)
    with pytest.raises(ValueError, match="target: class-index target has shape"):
        fsd.cross_entropy(split, t[:5])
    with pytest.raises(ValueError, match="reduction"):
        fsd.cross_entropy(split, t, reduction="avg")
    with pytest.raises(ValueError, match="weight"):
        fsd.cross_entropy(split, t, weight=np.ones(3))
    with pytest.raises(NotImplementedError, match="grad_out"):
        fsd.cross_entropy(split, t, grad_out=np.empty(x.shape))
    bad_sw = -np.ones(12)
    with pytest.raises(ValueError, match="sample_weight"):
        fsd.cross_entropy(split, np.clip(t, 0, 29), sample_weight=bad_sw).compute(**SCHED)


def test_cross_entropy_non_finite_rows_and_empty_mean():
    x = np.zeros((4, 12))
    x[0, 2] = np.nan
    x[1, 5] = np.inf
    x[2, :6] = -np.inf
    t = np.array([1, 1, 7, 3])
    with np.errstate(all="ignore"):
        want_l, want_g = fs.cross_entropy(x, t, reduction="none", return_grad=True)
        got_l, got_g = dask.compute(*fsd.cross_entropy(da.from_array(x, chunks=(3, 6)), t,
                                                        reduction="none", return_grad=True))
    np.testing.assert_array_equal(np.isnan(got_l), np.isnan(want_l))
    np.testing.assert_allclose(got_l, want_l, rtol=1e-15)
    np.testing.assert_array_equal(np.isnan(got_g), np.isnan(want_g))
    np.testing.assert_allclose(got_g, want_g, rtol=1e-15, atol=1e-17)
    ignored = np.full(4, -100)
    got = fsd.cross_entropy(da.from_array(x[2:], chunks=(1, 5)), ignored[2:]).compute(**SCHED)
    assert np.isnan(got)  # nothing to average, as the NumPy function


# ---------------------------------------------------------------------------
# dask.distributed: a LocalCluster of two worker processes
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", host="127.0.0.1")
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def test_distributed_local_cluster(client, rng):
    assert len(client.scheduler_info()["workers"]) == 2
    x = _data(rng, (40, 300), np.float32)
    xd = da.from_array(x, chunks=(16, 64))
    for name in ("softmax", "log_softmax", "logsumexp"):
        got = client.compute(getattr(fsd, name)(xd, axis=1)).result()
        ref.check_accuracy(name, got, x, axis=1, context="distributed")
    t = rng.integers(0, 300, 40)
    w = rng.random(300)
    loss, grad = fsd.cross_entropy(xd, da.from_array(t, chunks=16), weight=w,
                                   label_smoothing=0.1, return_grad=True)
    got_loss, got_grad = client.compute([loss, grad], sync=True)
    want_loss, want_grad = fs.cross_entropy(x, t, weight=w, label_smoothing=0.1,
                                            return_grad=True)
    np.testing.assert_allclose(got_loss, want_loss, rtol=2e-6)
    np.testing.assert_allclose(got_grad, want_grad, rtol=2e-6, atol=2e-6 * np.abs(want_grad).max())


def test_cross_entropy_dask_sample_weight_and_tree_fan_in(rng):
    # (N, C, d) with per-sample weights of shape (N,) as a dask array; fan-in 2
    x = _data(rng, (7, 50, 3), np.float64)
    t = rng.integers(0, 50, (7, 3))
    sw = rng.random(7)
    opts = dict(axis=1, label_smoothing=0.3, weight=rng.random(50))
    loss, grad = fsd.cross_entropy(da.from_array(x, chunks=(3, 6, 2)), t,
                                   sample_weight=da.from_array(sw, chunks=4), return_grad=True,
                                   split_every=2, **opts)
    want_loss, want_grad = fs.cross_entropy(x, t, sample_weight=sw, return_grad=True, **opts)
    np.testing.assert_allclose(loss.compute(**SCHED), want_loss, rtol=1e-14)
    np.testing.assert_allclose(grad.compute(**SCHED), want_grad, rtol=1e-13, atol=1e-17)
