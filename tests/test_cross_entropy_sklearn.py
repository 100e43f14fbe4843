"""fastsoftmax.cross_entropy against scikit-learn's HalfMultinomialLoss, where
the two coincide: class-index targets on (n_samples, n_classes) logits, per-sample
weights, no class weights, smoothing or temperature.

HalfMultinomialLoss.loss_gradient returns per-sample losses
``s_i * (logsumexp(z_i) - z_{i,y_i})`` and gradients ``s_i * (softmax(z_i) -
onehot(y_i))``: cross_entropy with ``reduction="none"`` and ``sample_weight``
(whose gradient is that of the summed losses). Its ``__call__`` is the
weighted average: cross_entropy's ``"mean"`` with ``sample_weight``. Both are
also checked against a float64 NumPy reference, so a shared error cannot pass."""

import numpy as np
import pytest

import fastsoftmax as fs

try:
    from sklearn._loss.loss import HalfMultinomialLoss
except ImportError:  # pragma: no cover - depends on the environment
    HalfMultinomialLoss = None

pytestmark = pytest.mark.skipif(
    HalfMultinomialLoss is None,
    reason="scikit-learn is not installed (pip install scikit-learn)",
)

# sklearn squeezes (n_samples, 1) logits to 1-D (binary), so C starts at 2
SIZES_C = (2, 3, 7, 16, 17, 33, 65, 1000)


def tols(dtype):
    return (2e-5, 2e-6) if np.dtype(dtype) == np.float32 else (1e-11, 1e-13)


def ref_rows(x, y, sw):
    """Per-sample weighted losses and gradients in float64."""
    z = np.asarray(x, np.float64)
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    rows = (np.log(s[:, 0]) + m[:, 0] - z[np.arange(len(y)), y]) * sw
    g = e / s
    g[np.arange(len(y)), y] -= 1.0
    return rows, g * sw[:, None]


def layouts(x):
    """The same logits C-ordered, Fortran-ordered and as a strided view."""
    big = np.zeros((x.shape[0], 2 * x.shape[1] + 3), x.dtype)
    view = big[:, 3::2]
    view[...] = x
    return {"C": np.ascontiguousarray(x), "F": np.asfortranarray(x), "strided": view}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", SIZES_C)
def test_loss_gradient_matches_sklearn(isa, dtype, C, rng):
    N = 13
    x0 = (rng.standard_normal((N, C)) * 4).astype(dtype)
    y = rng.integers(0, C, N)
    sw = (rng.random(N) + 0.25).astype(dtype)
    loss = HalfMultinomialLoss(n_classes=C)
    rtol, atol = tols(dtype)
    ref_l, ref_g = ref_rows(x0, y, sw.astype(np.float64))
    for name, x in layouts(x0).items():
        sk_l, sk_g = loss.loss_gradient(y.astype(dtype), x, sample_weight=sw)
        fs_l, fs_g = fs.cross_entropy(x, y, sample_weight=sw, reduction="none",
                                      return_grad=True)
        assert fs_l.dtype == dtype and fs_g.dtype == dtype and fs_g.shape == x.shape, name
        np.testing.assert_allclose(fs_l, sk_l, rtol=rtol, atol=atol, err_msg=name)
        np.testing.assert_allclose(fs_g, sk_g, rtol=rtol, atol=atol, err_msg=name)
        np.testing.assert_allclose(fs_l, ref_l, rtol=rtol, atol=atol, err_msg=name)
        np.testing.assert_allclose(fs_g, ref_g, rtol=rtol, atol=atol, err_msg=name)
        # without sample weights, and the loss alone
        sk_l1, sk_g1 = loss.loss_gradient(y.astype(dtype), x)
        fs_l1, fs_g1 = fs.cross_entropy(x, y, reduction="none", return_grad=True)
        np.testing.assert_allclose(fs_l1, sk_l1, rtol=rtol, atol=atol, err_msg=name)
        np.testing.assert_allclose(fs_g1, sk_g1, rtol=rtol, atol=atol, err_msg=name)
        np.testing.assert_array_equal(fs.cross_entropy(x, y, reduction="none"), fs_l1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weighted_average_matches_sklearn_call(dtype, rng):
    N, C = 50, 9
    x = (rng.standard_normal((N, C)) * 3).astype(dtype)
    y = rng.integers(0, C, N)
    sw = rng.random(N).astype(dtype)
    loss = HalfMultinomialLoss(n_classes=C)
    expected = loss(y.astype(dtype), x, sample_weight=sw)
    got = fs.cross_entropy(x, y, sample_weight=sw)
    rtol, _ = tols(dtype)
    np.testing.assert_allclose(got, expected, rtol=rtol)
    ref_l, _ = ref_rows(x, y, sw.astype(np.float64))
    np.testing.assert_allclose(got, ref_l.sum() / sw.astype(np.float64).sum(), rtol=rtol)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_threads_match_sklearn(n_threads, rng):
    N, C = 300, 101
    x = (rng.standard_normal((N, C)) * 4).astype(np.float32)
    y = rng.integers(0, C, N)
    loss = HalfMultinomialLoss(n_classes=C)
    sk_l, sk_g = loss.loss_gradient(y.astype(np.float32), x, n_threads=n_threads)
    fs_l, fs_g = fs.cross_entropy(x, y, reduction="none", return_grad=True,
                                  num_threads=n_threads)
    rtol, atol = tols(np.float32)
    np.testing.assert_allclose(fs_l, sk_l, rtol=rtol, atol=atol)
    np.testing.assert_allclose(fs_g, sk_g, rtol=rtol, atol=atol)


@pytest.mark.parametrize("shape,axis", [((40, 7), -1), ((7, 40), 0)])
def test_peer_comparison_runs_sklearn_cross_entropy(shape, axis):
    """The comparison's scikit-learn entry computes the same mean loss and gradient."""
    import io

    from fastsoftmax._compare import run_comparison

    results = run_comparison(
        functions=["cross_entropy", "cross_entropy_grad"], shapes=[(shape, axis)],
        dtypes=["float64"], threads=[1], peers=["sklearn"], min_time=0.001,
        max_repeats=3, file=io.StringIO(),
    )
    assert len(results) == 2
    for record in results:
        assert "sklearn" in record["times"], record["skipped"]
        assert record["mismatch"] == [], record
