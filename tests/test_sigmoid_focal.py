"""sigmoid_focal_loss: torchvision's values (its formula re-implemented in
torch float64, see sigmoid_reference.py), a longdouble reference, gradients by
autograd and finite differences, finite gradients where torchvision's are NaN,
layouts, bad input."""

import numpy as np
import pytest
import sigmoid_reference as ref

import fastsoftmax as fs

focal = fs.sigmoid_focal_loss

try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

# Elementwise against the longdouble reference. q^gamma = exp(gamma log q) turns
# an absolute error ~eps |log q| of log q into a relative one ~gamma eps |log q|
# (whatever the method: the condition number of q^gamma in q is gamma), so the
# bounds are in units of eps times (1 + gamma |log q|) |loss| for the loss and
# (1 + (gamma + 1) (|log s(x)| + |log s(-x)| + |log q|)) times the magnitude
# of the gradient's terms. Measured max over 20 seeds of
# test_elementwise_accuracy on the scalar and AVX2 kernels (normal-range
# results): loss 2.70 (float32) / 2.20 (float64), gradient 0.76 / 0.66.
REL_BOUND_EPS = {"loss": 3.0, "grad": 1.0}
TAIL_SIZES = (1, 3, 7, 9, 15, 17, 31, 33, 65)


def _problem(rng, shape, dtype, soft):
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    t = rng.random(shape) if soft else (rng.random(shape) < 0.3).astype(np.float64)
    return x, t.astype(dtype)


def _scales(x, t, alpha, gamma):
    """(loss, gradient) error scales: see REL_BOUND_EPS."""
    x = x.astype(np.longdouble)
    t = t.astype(np.longdouble)
    s, sn = ref.sigmoid(x), ref.sigmoid(-x)
    lsp, lsn = ref.log_sigmoid(x), ref.log_sigmoid(-x)
    ce = -(t * lsp + (1 - t) * lsn)
    q = t * sn + (1 - t) * s
    logq = np.log(q)
    at = alpha * t + (1 - alpha) * (1 - t) if alpha >= 0 else 1
    dq = np.abs(1 - 2 * t) * s * sn
    dce = (1 - t) * s + t * sn
    terms = at * (dce * q**gamma + (ce * gamma * q ** (gamma - 1) * dq if gamma else 0))
    loss_scale = (1 + gamma * np.abs(logq)) * np.abs(at * ce * q**gamma)
    grad_scale = (1 + (gamma + 1) * (np.abs(lsp) + np.abs(lsn) + np.abs(logq))) * terms
    return loss_scale, grad_scale


def _check(loss, grad, x, t, alpha, gamma, dtype):
    rl, rg = ref.focal(x, t, alpha, gamma)
    sl, sg = _scales(x, t, alpha, gamma)
    eps = np.finfo(dtype).eps
    # results below the normal range have no relative precision
    tiny = np.finfo(dtype).smallest_normal
    assert np.all(np.abs(loss - rl) <= REL_BOUND_EPS["loss"] * eps * sl + tiny)
    assert np.all(np.abs(grad - rg) <= REL_BOUND_EPS["grad"] * eps * sg + tiny)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (-1.0, 0.5), (0.6, 0.0), (0.25, 3.5)])
def test_elementwise_accuracy(isa, dtype, soft, alpha, gamma, rng):
    x, t = _problem(rng, (129, 17), dtype, soft)
    loss, grad = focal(x, t, alpha=alpha, gamma=gamma, return_grad=True)
    assert loss.dtype == dtype and grad.dtype == dtype
    _check(loss, grad, x, t, alpha, gamma, dtype)


@needs_torch
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (-1.0, 1.0), (0.5, 0.0), (0.25, 1.5)])
def test_matches_torchvision_with_autograd(isa, reduction, soft, alpha, gamma, rng):
    x, t = _problem(rng, (31, 19), np.float64, soft)
    loss, grad = focal(x, t, alpha=alpha, gamma=gamma, reduction=reduction, return_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    lt = ref.torchvision_sigmoid_focal_loss(xt, torch.tensor(t), alpha, gamma, reduction)
    lt.sum().backward()
    tol = 16 * np.finfo(np.float64).eps * (np.abs(x).max() + 1)
    np.testing.assert_allclose(loss, lt.detach().numpy(), rtol=1e-11, atol=tol)
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-10, atol=tol)


@needs_torch
def test_gradient_finite_where_torchvision_is_nan():
    # gamma < 1 and a confident, correct prediction: 1 - p_t rounds to 0 and
    # torchvision's autograd computes 0 * inf = NaN; the limit is finite.
    x = np.array([40.0, -40.0, 800.0, 3.0])
    t = np.array([1.0, 0.0, 1.0, 1.0])
    gamma = 0.5
    xt = torch.tensor(x, requires_grad=True)
    ref.torchvision_sigmoid_focal_loss(xt, torch.tensor(t), 0.25, gamma).sum().backward()
    assert np.isnan(xt.grad.numpy()[:3]).all()
    loss, grad = focal(x, t, gamma=gamma, return_grad=True)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    rl, rg = ref.focal(x, t, 0.25, gamma)
    np.testing.assert_allclose(loss, rl.astype(np.float64), rtol=1e-14)
    np.testing.assert_allclose(grad, rg.astype(np.float64), rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_finite_for_large_logits(isa, dtype):
    x = np.array([90.0, -90.0, 1e6, -1e6, np.finfo(dtype).max], dtype=dtype)
    for t in (np.array([1, 0, 1, 0, 1], dtype), np.full(5, 0.3, dtype)):
        for gamma in (0.0, 0.25, 2.0):
            loss, grad = focal(x, t, gamma=gamma, return_grad=True)
            assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad)), (t, gamma)


@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_gradient_by_finite_differences(soft, reduction, rng):
    x, t = _problem(rng, (3, 7), np.float64, soft)

    def total(z):
        return float(np.sum(focal(z, t, alpha=0.3, gamma=1.7, reduction=reduction)))

    _, grad = focal(x, t, alpha=0.3, gamma=1.7, reduction=reduction, return_grad=True)
    h = 1e-6
    fd = np.empty_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        fd[i] = (total(xp) - total(xm)) / (2 * h)
    # central differences of a float64 sum of O(10): roundoff ~ eps * 10 / h
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_gamma_zero_is_weighted_bce(rng):
    x, t = _problem(rng, (6, 11), np.float64, True)
    loss, grad = focal(x, t, alpha=-1, gamma=0.0, return_grad=True)
    bl, bg = fs.binary_cross_entropy_with_logits(x, t, reduction="none", return_grad=True)
    np.testing.assert_allclose(loss, bl, rtol=4e-16)
    np.testing.assert_allclose(grad, bg, rtol=4e-16, atol=1e-300)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", TAIL_SIZES)
def test_simd_tails_and_mixed_vectors(isa, dtype, n, rng):
    # hard and soft targets mixed inside one vector take the general path
    x, t = _problem(rng, (n,), dtype, False)
    t[::3] = 0.4
    loss, grad = focal(x, t, return_grad=True)
    each = [focal(x[i : i + 1], t[i : i + 1], return_grad=True) for i in range(n)]
    _check(loss, grad, x, t, 0.25, 2.0, dtype)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(loss, np.concatenate([e[0] for e in each]), rtol=8 * eps)
    s = focal(x, t, reduction="sum")
    np.testing.assert_allclose(s, loss.astype(np.float64).sum(), rtol=8 * eps)


def test_layouts_and_grad_out(isa, rng):
    x, t = _problem(rng, (20, 14), np.float64, True)
    want = focal(x, t, return_grad=True)
    for xs, ts in ((np.asfortranarray(x), np.asfortranarray(t)), (x[::-1], t[::-1])):
        got = focal(xs, ts, return_grad=True)
        back = (lambda a: a) if xs.flags.f_contiguous else (lambda a: a[::-1])
        np.testing.assert_array_equal(back(got[0]), want[0])
        np.testing.assert_array_equal(back(got[1]), want[1])
    xin = x.copy()
    _, g = focal(xin, t, grad_out=xin)
    assert g is xin
    np.testing.assert_array_equal(xin, want[1])
    h = x.astype(np.float16)
    t16 = t.astype(np.float16)
    lh, gh = focal(h, t16, return_grad=True)
    l32, g32 = focal(h.astype(np.float32), t16.astype(np.float32), return_grad=True)
    assert lh.dtype == np.float16
    np.testing.assert_array_equal(lh, l32.astype(np.float16))
    np.testing.assert_array_equal(gh, g32.astype(np.float16))


def test_bad_input_names_the_argument():
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match="gamma"):
        focal(x, x, gamma=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        focal(x, x, gamma=np.inf)
    with pytest.raises(TypeError, match="gamma"):
        focal(x, x, gamma=None)
    with pytest.raises(ValueError, match="alpha"):
        focal(x, x, alpha=np.nan)
    with pytest.raises(TypeError, match="alpha"):
        focal(x, x, alpha="0.25")
    with pytest.raises(ValueError, match="target"):
        focal(x, np.zeros(4))
    with pytest.raises(ValueError, match="reduction"):
        focal(x, x, reduction="batchmean")
    with pytest.raises(TypeError, match="logits"):
        focal(np.zeros((3, 4), dtype=np.int32), x)
    with pytest.raises(ValueError, match="grad_out"):
        focal(x, x, grad_out=np.zeros(12))
