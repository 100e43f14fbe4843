"""fastsoftmax.softmax_focal_loss: gamma = 0 is cross_entropy exactly; against
a longdouble NumPy reference (loss and analytic gradient), torch autograd in
float64 and float64 finite differences; finite at confident logits for every
gamma; every ISA, SIMD-tail class counts, layouts, in place, bad input."""

import numpy as np
import pytest

import fastsoftmax as fs

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

needs_torch = pytest.mark.skipif(
    torch is None, reason="torch is not installed (pip install torch==2.13.0)"
)

SIZES_C = (1, 3, 7, 16, 17, 33, 65, 1000)
GAMMAS = (0.0, 0.5, 1.0, 2.0, 3.7)
# Relative error bounds against the longdouble reference (data, per dtype):
# the loss (per row and reduced) and each gradient element, the latter
# measured against max(|grad_j|, K p_j) of its row: a gradient element is
# p_j times a per-row factor, so small p_j carry the factor's relative error.
LOSS_RTOL = {np.float32: 2e-6, np.float64: 1e-14}
GRAD_RTOL = {np.float32: 2e-6, np.float64: 1e-14}


# ---------------------------------------------------------------- references
def ref_focal(x, target, *, gamma=2.0, alpha=None, axis=-1, weight=None, ignore_index=-100,
              reduction="mean"):
    """Loss (reduced as asked) and gradient of the summed/averaged loss, in
    longdouble: log p from a log-sum-exp, 1 - p_t = -expm1(log p_t), and the
    analytic gradient K (p - onehot) with K = a w q^g (1 + g p_t l / q)."""
    dt = np.longdouble
    xm = np.moveaxis(np.asarray(x).astype(dt), axis, -1)
    C = xm.shape[-1]
    m = xm.max(axis=-1, keepdims=True)
    # log of the sum as log1p of the terms other than one maximal one, so
    # that -log p_t keeps its relative precision when it is tiny
    e = np.exp(xm - m)
    lse = np.log1p(e.sum(axis=-1, keepdims=True) - 1)
    rest = np.where(xm == m, 0, e).sum(axis=-1, keepdims=True) + (
        (xm == m).sum(axis=-1, keepdims=True) - 1)
    lse = np.where(np.isfinite(m), np.log1p(rest), lse)
    logp = (xm - m) - lse
    p = np.exp(logp)
    t = np.asarray(target).astype(np.int64)
    keep = t != ignore_index
    tc = np.where(keep, t, 0)
    logpt = np.take_along_axis(logp, tc[..., None], axis=-1)[..., 0]
    ell = -logpt
    q = -np.expm1(logpt)
    pt = np.exp(logpt)
    g = dt(gamma)
    qg = np.where(q > 0, q ** g, dt(1.0) if gamma == 0 else dt(0.0))
    if alpha is None:
        at = np.ones(t.shape, dt)
    elif np.ndim(alpha) == 0:
        at = np.full(t.shape, dt(alpha))
    else:
        at = np.asarray(alpha, dt)[tc]
    wt = np.ones(t.shape, dt) if weight is None else np.asarray(weight, dt)[tc]
    rows = np.where(keep, wt * at * qg * ell, 0)
    ratio = np.where(q > 0, ell / np.where(q > 0, q, 1), 1)
    K = np.where(keep, wt * at * qg * (1 + g * pt * ratio), 0)
    onehot = np.zeros_like(p)
    np.put_along_axis(onehot, tc[..., None], 1, axis=-1)
    grad = K[..., None] * (p - onehot)
    if reduction == "none":
        loss = rows
    elif reduction == "sum":
        loss = rows.sum()
    else:
        denom = np.where(keep, wt, 0).sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            loss = rows.sum() / denom
        grad = grad / denom
    del C
    return loss, np.moveaxis(grad, -1, axis), np.moveaxis(p * np.abs(K[..., None]), -1, axis)


def torch_focal(x, target, *, gamma, alpha=None, axis=-1, weight=None, ignore_index=-100,
                reduction="mean"):
    """The textbook formula in torch float64, differentiated by autograd."""
    xt = torch.tensor(np.moveaxis(np.asarray(x, np.float64), axis, -1), requires_grad=True)
    t = torch.tensor(np.asarray(target).astype(np.int64))
    keep = t != ignore_index
    tc = torch.where(keep, t, torch.zeros_like(t))
    logp = F.log_softmax(xt, dim=-1)
    logpt = logp.gather(-1, tc[..., None])[..., 0]
    pt = logpt.exp()
    at = torch.ones_like(pt) if alpha is None else (
        torch.full_like(pt, float(alpha)) if np.ndim(alpha) == 0
        else torch.tensor(np.asarray(alpha, np.float64))[tc])
    wt = torch.ones_like(pt) if weight is None else torch.tensor(np.asarray(weight, np.float64))[tc]
    rows = torch.where(keep, -at * wt * (1 - pt) ** gamma * logpt, torch.zeros_like(pt))
    if reduction == "none":
        loss = rows
    elif reduction == "sum":
        loss = rows.sum()
    else:
        loss = rows.sum() / torch.where(keep, wt, torch.zeros_like(wt)).sum()
    loss.sum().backward()
    return loss.detach().numpy(), np.moveaxis(xt.grad.numpy(), -1, axis)


def check_against_ref(x, target, got_loss, got_grad, context="", **kw):
    dt = np.float32 if np.asarray(x).dtype != np.float64 else np.float64
    loss, grad, scale = ref_focal(x, target, **kw)
    lr = LOSS_RTOL[dt]
    np.testing.assert_allclose(np.asarray(got_loss, np.float64), np.asarray(loss, np.float64),
                               rtol=lr, atol=float(np.finfo(dt).smallest_subnormal),
                               err_msg=f"loss {context}")  # atol: rounding to subnormals
    if got_grad is None:
        return
    axis = kw.get("axis", -1)
    denom = 1.0
    if kw.get("reduction", "mean") == "mean":
        t = np.asarray(target)
        keep = t != kw.get("ignore_index", -100)
        w = kw.get("weight")
        denom = keep.sum() if w is None else np.where(keep, np.asarray(w)[np.where(keep, t, 0)],
                                                      0).sum()
    row_scale = np.maximum(np.abs(grad), scale / denom if denom else scale)
    err = np.abs(got_grad.astype(np.longdouble) - grad)
    bad = ~(err <= GRAD_RTOL[dt] * row_scale + np.finfo(dt).tiny)
    assert not bad.any(), (
        f"grad {context}: {bad.sum()} out of bound; worst "
        f"{float((err / np.maximum(row_scale, 1e-300)).max()):.3g}; axis={axis}"
    )


def logits(rng, shape, dtype, scale=3.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


# ---------------------------------------------------------------- gamma = 0
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_gamma_zero_is_cross_entropy_exactly(isa, rng, dtype):
    for C in SIZES_C:
        x = logits(rng, (37, C), dtype)
        t = rng.integers(0, C, 37)
        t[::5] = -100
        w = rng.uniform(0.1, 2.0, C)
        t_last = np.where(t == -100, C - 1, t)
        for tt, kw in ((t, {}), (t, {"weight": w}), (t_last, {"ignore_index": C - 1})):
            for reduction in ("mean", "sum", "none"):
                lf, gf = fs.softmax_focal_loss(x, tt, gamma=0.0, reduction=reduction,
                                               return_grad=True, num_threads=1, **kw)
                lc, gc = fs.cross_entropy(x, tt, reduction=reduction, return_grad=True,
                                          num_threads=1, **kw)
                np.testing.assert_array_equal(lf, lc, err_msg=f"C={C} {kw} {reduction}")
                np.testing.assert_array_equal(gf, gc, err_msg=f"C={C} {kw} {reduction}")
                assert np.asarray(lf).dtype == np.asarray(lc).dtype and gf.dtype == gc.dtype


def test_gamma_zero_is_cross_entropy_other_axis(rng):
    x = logits(rng, (4, 9, 6), np.float64)
    t = rng.integers(0, 9, (4, 6))
    for threads in (1, 2):
        lf, gf = fs.softmax_focal_loss(x, t, gamma=0, axis=1, return_grad=True,
                                       reduction="none", num_threads=threads)
        lc, gc = fs.cross_entropy(x, t, axis=1, return_grad=True, reduction="none",
                                  num_threads=threads)
        np.testing.assert_array_equal(lf, lc)
        np.testing.assert_array_equal(gf, gc)


# ---------------------------------------------------------------- accuracy
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_against_reference(isa, rng, dtype):
    for C in SIZES_C:
        x = logits(rng, (29, C), dtype)
        t = rng.integers(0, C, 29)
        t[3] = -100
        alpha = rng.uniform(0.1, 1.0, C)
        weight = rng.uniform(0.5, 2.0, C)
        for gamma in GAMMAS:
            for kw in ({}, {"alpha": 0.25}, {"alpha": alpha, "weight": weight}):
                for reduction in ("mean", "sum", "none"):
                    loss, grad = fs.softmax_focal_loss(x, t, gamma=gamma, reduction=reduction,
                                                       return_grad=True, **kw)
                    check_against_ref(x, t, loss, grad, f"isa={isa} C={C} g={gamma} {reduction}",
                                      gamma=gamma, reduction=reduction, **kw)
                    lo = fs.softmax_focal_loss(x, t, gamma=gamma, reduction=reduction, **kw)
                    np.testing.assert_array_equal(lo, loss)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_confident_logits_stay_finite_and_accurate(isa, rng, dtype):
    # the target class far ahead: p_t rounds to 1, 1 - p_t is 1e-10 .. 1e-40
    C = 50
    x = logits(rng, (6, C), dtype, scale=1.0)
    t = np.arange(6) % C
    # float32 losses down to ~1e-30 (the float32 exponentials of the other
    # classes are subnormal beyond that), float64 down to ~1e-260
    gaps = (25.0, 40.0, 60.0, 66.0, 30.0, 20.0) if dtype == np.float32 else (
        25.0, 40.0, 95.0, 300.0, 600.0, 30.0)
    for i, gap in enumerate(gaps):
        x[i, t[i]] = x[i].max() + gap
    for gamma in GAMMAS:
        loss, grad = fs.softmax_focal_loss(x, t, gamma=gamma, reduction="none", return_grad=True)
        assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
        assert np.all(loss >= 0)  # q^gamma * l may underflow to 0
        check_against_ref(x, t, loss, grad, f"isa={isa} gamma={gamma}", gamma=gamma,
                          reduction="none")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layouts_and_axes(isa, rng, dtype):
    x = logits(rng, (5, 17, 4), dtype)
    t = rng.integers(0, 17, (5, 4))
    lf, gf = fs.softmax_focal_loss(x, t, axis=1, return_grad=True, reduction="none")
    check_against_ref(x, t, lf, gf, "axis=1", axis=1, reduction="none")
    for xa, ta in ((np.asfortranarray(x), t), (x[:, ::-1], t), (x[::2], t[::2])):
        la, ga = fs.softmax_focal_loss(xa, ta, axis=1, return_grad=True, reduction="none")
        check_against_ref(xa, ta, la, ga, "layout", axis=1, reduction="none")
    x2 = logits(rng, (40, 33), dtype)
    t2 = rng.integers(0, 33, 40)
    want = fs.softmax_focal_loss(x2, t2, return_grad=True)
    for xa in (np.asfortranarray(x2), np.repeat(x2, 2, axis=1)[:, ::2]):
        la, ga = fs.softmax_focal_loss(xa, t2, return_grad=True)
        np.testing.assert_array_equal(la, want[0])
        np.testing.assert_array_equal(ga, want[1])


def test_grad_out_and_in_place(rng):
    x = logits(rng, (20, 65), np.float32)
    t = rng.integers(0, 65, 20)
    loss, grad = fs.softmax_focal_loss(x, t, return_grad=True)
    out = np.empty_like(x)
    l2, g2 = fs.softmax_focal_loss(x, t, grad_out=out)
    assert g2 is out and l2 == loss
    np.testing.assert_array_equal(out, grad)
    xi = x.copy()
    l3, g3 = fs.softmax_focal_loss(xi, t, grad_out=xi)
    assert g3 is xi and l3 == loss
    np.testing.assert_array_equal(xi, grad)
    xf = np.asfortranarray(x.copy())
    _, g4 = fs.softmax_focal_loss(xf, t, grad_out=xf)
    assert g4 is xf
    np.testing.assert_array_equal(xf, grad)


def test_threads_and_float16(rng):
    x = logits(rng, (300, 500), np.float32)
    t = rng.integers(0, 500, 300)
    l1, g1 = fs.softmax_focal_loss(x, t, reduction="none", return_grad=True, num_threads=1)
    l2, g2 = fs.softmax_focal_loss(x, t, reduction="none", return_grad=True, num_threads=2)
    np.testing.assert_array_equal(l1, l2)
    np.testing.assert_array_equal(g1, g2)
    m2 = fs.softmax_focal_loss(x, t, num_threads=2)
    np.testing.assert_allclose(m2, l1.astype(np.float64).mean(), rtol=1e-6)
    lh, gh = fs.softmax_focal_loss(x.astype(np.float16), t, return_grad=True)
    assert lh.dtype == np.float16 and gh.dtype == np.float16
    ref, grad, _ = ref_focal(x.astype(np.float16), t)
    np.testing.assert_allclose(float(lh), float(ref), rtol=1e-3)
    np.testing.assert_allclose(gh.astype(np.float64), grad.astype(np.float64), atol=1e-6,
                               rtol=2e-3)


def test_non_finite_rows_and_empty_batches(rng):
    x = logits(rng, (4, 6), np.float64)
    t = np.array([0, 1, 2, 3])
    x[1, 3] = np.nan
    x[2, :] = -np.inf
    x[3, 0] = -np.inf  # the target's logit: p_t = 0, infinite loss, finite gradient
    x[3, 3] = -np.inf
    loss, grad = fs.softmax_focal_loss(x, t, reduction="none", return_grad=True)
    assert np.isfinite(loss[0]) and np.isnan(loss[1]) and np.isnan(loss[2])
    assert np.all(np.isnan(grad[1])) and np.all(np.isnan(grad[2]))
    assert loss[3] == np.inf and np.all(np.isfinite(grad[3]))
    all_ignored = fs.softmax_focal_loss(x[:1], np.array([-100]), return_grad=True)
    assert np.isnan(all_ignored[0]) and np.all(all_ignored[1] == 0)
    empty = fs.softmax_focal_loss(np.zeros((0, 5)), np.zeros(0, np.int64), reduction="sum")
    assert empty == 0.0


# ---------------------------------------------------------------- peers
@needs_torch
def test_against_torch_autograd_and_finite_differences(isa, rng):
    C = 7
    x = logits(rng, (6, C), np.float64)
    t = rng.integers(0, C, 6)
    t[2] = -100
    alpha = rng.uniform(0.2, 1.0, C)
    weight = rng.uniform(0.5, 2.0, C)
    for gamma in GAMMAS:
        for kw in ({}, {"alpha": 0.25}, {"alpha": alpha, "weight": weight}):
            for reduction in ("mean", "sum", "none"):
                loss, grad = fs.softmax_focal_loss(x, t, gamma=gamma, reduction=reduction,
                                                   return_grad=True, **kw)
                tl, tg = torch_focal(x, t, gamma=gamma, reduction=reduction, **kw)
                ctx = f"isa={isa} gamma={gamma} {kw} {reduction}"
                np.testing.assert_allclose(loss, tl, rtol=1e-13, atol=0, err_msg=ctx)
                np.testing.assert_allclose(grad, tg, rtol=1e-11, atol=1e-15, err_msg=ctx)
    # axis=1 of an (N, C, d) batch, as torch would lay it out
    x3 = logits(rng, (3, C, 4), np.float64)
    t3 = rng.integers(0, C, (3, 4))
    loss, grad = fs.softmax_focal_loss(x3, t3, axis=1, return_grad=True, gamma=1.5)
    tl, tg = torch_focal(x3, t3, axis=1, gamma=1.5)
    np.testing.assert_allclose(loss, tl, rtol=1e-13)
    np.testing.assert_allclose(grad, tg, rtol=1e-11, atol=1e-15)


@needs_torch
def test_torch_is_nan_where_we_are_finite():
    # the reason for the log-space form: d/dq q^g at q = 0 for g < 1
    x = np.array([[60.0, 0.0, 0.0]])
    t = np.array([0])
    _, tg = torch_focal(x, t, gamma=0.5)
    loss, grad = fs.softmax_focal_loss(x, t, gamma=0.5, return_grad=True)
    assert np.isnan(tg).any()
    assert np.isfinite(loss) and np.all(np.isfinite(grad))


def test_finite_differences(rng):
    C = 6
    x = logits(rng, (4, C), np.float64, scale=1.5)
    t = rng.integers(0, C, 4)
    alpha = rng.uniform(0.2, 1.0, C)
    weight = rng.uniform(0.5, 2.0, C)
    h = 1e-6
    for gamma in GAMMAS:
        kw = {"gamma": gamma, "alpha": alpha, "weight": weight}
        _, grad = fs.softmax_focal_loss(x, t, return_grad=True, **kw)
        fd = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            xp, xm = x.copy(), x.copy()
            xp[idx] += h
            xm[idx] -= h
            fd[idx] = (fs.softmax_focal_loss(xp, t, **kw) - fs.softmax_focal_loss(xm, t, **kw)) / (
                2 * h)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9, err_msg=f"gamma={gamma}")


# ---------------------------------------------------------------- bad input
def test_bad_input_names_the_argument():
    x = np.zeros((3, 4))
    t = np.array([0, 1, 2])
    f = fs.softmax_focal_loss
    cases = [
        (TypeError, "logits", dict(logits=np.zeros((3, 4), np.int64))),
        (ValueError, "logits", dict(logits=np.float64(1.0))),
        (ValueError, "logits", dict(logits=np.zeros((3, 0)), target=np.array([0, 0, 0]))),
        (TypeError, "target", dict(target=np.array([0.0, 1.0, 2.0]))),
        (ValueError, "target", dict(target=np.array([0, 1]))),
        (ValueError, "target", dict(target=np.array([0, 1, 4]))),
        (ValueError, "gamma", dict(gamma=-1.0)),
        (ValueError, "gamma", dict(gamma=np.nan)),
        (TypeError, "gamma", dict(gamma="2")),
        (ValueError, "alpha", dict(alpha=-0.5)),
        (ValueError, "alpha", dict(alpha=np.ones(3))),
        (ValueError, "alpha", dict(alpha=np.array([1.0, np.inf, 1.0, 1.0]))),
        (TypeError, "alpha", dict(alpha=True)),
        (ValueError, "weight", dict(weight=np.ones(5))),
        (ValueError, "weight", dict(weight=-np.ones(4))),
        (ValueError, "reduction", dict(reduction="avg")),
        (TypeError, "ignore_index", dict(ignore_index=1.5)),
        (TypeError, "ignore_index", dict(ignore_index=True)),
        (TypeError, "axis", dict(axis=(0, 1))),
        (np.exceptions.AxisError, "axis", dict(axis=2)),
        (ValueError, "grad_out", dict(grad_out=np.zeros((4, 3)))),
        (TypeError, "grad_out", dict(grad_out=np.zeros((3, 4), np.float32))),
        (TypeError, "grad_out", dict(grad_out=[[0.0] * 4] * 3)),
        (ValueError, "num_threads", dict(num_threads=-1)),
    ]
    for exc, word, kw in cases:
        args = {"logits": x, "target": t}
        args.update(kw)
        lg, tg = args.pop("logits"), args.pop("target")
        with pytest.raises(exc, match=word):
            f(lg, tg, **args)
    ro = np.zeros((3, 4))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="grad_out"):
        f(x, t, grad_out=ro)
    xx = np.zeros((3, 8))
    with pytest.raises(ValueError, match="grad_out"):
        f(xx[:, :4], t, grad_out=xx[:, 2:6])
