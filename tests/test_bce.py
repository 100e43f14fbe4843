"""binary_cross_entropy_with_logits: accuracy against a longdouble reference
on every ISA, PyTorch semantics (weight, pos_weight, reductions, autograd),
float64 finite differences, label smoothing, infinities, layouts, grad_out,
bad input."""

import numpy as np
import pytest
import sigmoid_reference as ref

import fastsoftmax as fs

bce = fs.binary_cross_entropy_with_logits

# Elementwise loss and gradient against the longdouble reference, in units of
# eps times the sum of the magnitudes of the terms (for targets in [0, 1] and
# non-negative weights the loss is a sum of non-negative terms, so this bounds
# the relative error of the loss itself). Measured over 20 seeds of the
# accuracy test below on the scalar and AVX2 kernels: loss max 2.08 (float32,
# with the division-free log1p of log1p_poly.h; 2.01 before), 1.82 (float64);
# gradient max 2.08 (float32), 2.27 (float64).
REL_BOUND_EPS = 3.0
TAIL_SIZES = (1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 129)

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def _problem(rng, shape, dtype, hard=False):
    x = (rng.standard_normal(shape) * 6).astype(dtype)
    t = rng.random(shape)
    if hard:
        t = np.round(t)
    return x, t.astype(dtype)


def _term_scale(x, t, w=None, p=None):
    """Sum of the magnitudes of the terms of each element's loss and gradient."""
    ls = ref.log_sigmoid
    w = 1 if w is None else np.abs(np.asarray(w, dtype=np.longdouble))
    p = 1 if p is None else np.abs(np.asarray(p, dtype=np.longdouble))
    tl = np.asarray(t, dtype=np.longdouble)
    loss = w * (p * np.abs(tl * ls(x)) + np.abs((1 - tl) * ls(-x)))
    grad = w * (np.abs((1 - tl) * ref.sigmoid(x)) + p * np.abs(tl * ref.sigmoid(-x)))
    return loss, grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_weights", [False, True])
def test_elementwise_accuracy(isa, dtype, with_weights, rng):
    x, t = _problem(rng, (257, 31), dtype)
    x[0] = np.linspace(-80, 80, 31)
    t[1] = 0
    t[2] = 1
    w = rng.random((257, 31)).astype(dtype) if with_weights else None
    p = (rng.random(31) * 4).astype(dtype) if with_weights else None
    loss, grad = bce(x, t, weight=w, pos_weight=p, reduction="none", return_grad=True)
    assert loss.dtype == dtype and grad.dtype == dtype
    rl, rg = ref.bce(x, t, w, p)
    sl, sg = _term_scale(x, t, w, p)
    eps = np.finfo(dtype).eps
    assert np.all(np.abs(loss - rl) <= REL_BOUND_EPS * eps * sl), isa
    assert np.all(np.abs(grad - rg) <= REL_BOUND_EPS * eps * sg), isa


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_confident_predictions_keep_relative_precision(isa, dtype):
    # loss ~ exp(-|x|) far below eps: PyTorch's (1 - t) x + log1p(exp(-|x|)) +
    # max(-x, 0) rounds these to 0 or to garbage; here they stay accurate.
    x = np.array([30.0, -30.0, 60.0, -60.0, 85.0], dtype=dtype)
    t = np.array([1.0, 0.0, 1.0, 0.0, 1.0], dtype=dtype)
    loss, grad = bce(x, t, reduction="none", return_grad=True)
    rl, rg = ref.bce(x, t)
    assert np.all(loss > 0)
    eps = np.finfo(dtype).eps
    assert np.all(np.abs(loss - rl) <= REL_BOUND_EPS * eps * rl)
    assert np.all(np.abs(grad - rg) <= REL_BOUND_EPS * eps * np.abs(rg))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", TAIL_SIZES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_simd_tails(isa, dtype, n, reduction, rng):
    x, t = _problem(rng, (n,), dtype)
    p = (rng.random(n) * 3).astype(dtype)
    loss, grad = bce(x, t, pos_weight=p, reduction=reduction, return_grad=True)
    rl, rg = ref.bce(x, t, pos_weight=p)
    sl, sg = _term_scale(x, t, p=p)
    eps = np.finfo(dtype).eps
    if reduction == "none":
        assert np.all(np.abs(loss - rl) <= REL_BOUND_EPS * eps * sl)
    else:
        scale = 1 / n if reduction == "mean" else 1
        want = rl.sum() * scale
        assert abs(loss - want) <= REL_BOUND_EPS * eps * sl.sum() * scale
        rg = rg * scale
        sg = sg * scale
    assert np.all(np.abs(grad - rg) <= REL_BOUND_EPS * eps * sg)


@needs_torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "weights", ["none", "class_weight", "full_weight", "row_weight", "pos_weight", "both", "scalar"]
)
@pytest.mark.parametrize("shape", [(7, 5), (33, 17), (2, 9, 65)])
def test_matches_torch_with_autograd(isa, reduction, weights, shape, rng):
    x, t = _problem(rng, shape, np.float64)
    C = shape[-1]
    kw = {}
    if weights in ("class_weight", "both"):
        kw["weight"] = rng.random(C)
    if weights == "full_weight":
        kw["weight"] = rng.random(shape)
    if weights == "row_weight":
        kw["weight"] = rng.random(shape[:-1] + (1,))
    if weights == "scalar":
        kw["weight"] = np.array(0.7)
    if weights in ("pos_weight", "both"):
        kw["pos_weight"] = rng.random(C) * 4
    loss, grad = bce(x, t, reduction=reduction, return_grad=True, **kw)
    xt = torch.tensor(x, requires_grad=True)
    tk = {k: torch.tensor(v) for k, v in kw.items()}
    lt = F.binary_cross_entropy_with_logits(xt, torch.tensor(t), reduction=reduction, **tk)
    lt.sum().backward()
    # PyTorch's loss formula cancels (absolute error ~ eps * |x|), so compare
    # with an absolute tolerance on that scale; ours is checked against the
    # longdouble reference elsewhere.
    tol = 16 * np.finfo(np.float64).eps * (np.abs(x).max() + 1)
    np.testing.assert_allclose(loss, lt.detach().numpy(), rtol=1e-12, atol=tol)
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-12, atol=tol)


@needs_torch
def test_matches_torch_float32(isa, rng):
    x, t = _problem(rng, (64, 100), np.float32)
    pw = (rng.random(100) * 3).astype(np.float32)
    loss, grad = bce(x, t, pos_weight=pw, return_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    lt = F.binary_cross_entropy_with_logits(xt, torch.tensor(t), pos_weight=torch.tensor(pw))
    lt.backward()
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss, lt.item(), rtol=1e-5)
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradient_by_finite_differences(reduction, rng):
    x, t = _problem(rng, (4, 6), np.float64)
    w = rng.random(6)
    p = rng.random(6) * 2

    def total(z):
        loss = bce(z, t, weight=w, pos_weight=p, reduction=reduction, label_smoothing=0.1)
        return float(np.sum(loss))

    _, grad = bce(x, t, weight=w, pos_weight=p, reduction=reduction, label_smoothing=0.1,
                  return_grad=True)
    h = 1e-6
    fd = np.empty_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        fd[i] = (total(xp) - total(xm)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def test_label_smoothing_definition(rng):
    x, t = _problem(rng, (5, 8), np.float64, hard=True)
    ls = 0.2
    got = bce(x, t, label_smoothing=ls, reduction="none", return_grad=True)
    want = bce(x, t * (1 - ls) + ls / 2, reduction="none", return_grad=True)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-15)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-15, atol=1e-300)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_infinite_and_nan_logits(isa, dtype):
    x = np.array([np.inf, np.inf, -np.inf, -np.inf, np.inf, np.nan], dtype=dtype)
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.5, 1.0], dtype=dtype)
    loss, grad = bce(x, t, reduction="none", return_grad=True)
    np.testing.assert_array_equal(loss, np.array([0, np.inf, 0, np.inf, np.inf, np.nan], dtype))
    np.testing.assert_array_equal(grad, np.array([0, 1, 0, -1, 0.5, np.nan], dtype))
    # finite for every finite logit, however large
    big = np.array([np.finfo(dtype).max, -np.finfo(dtype).max, 1e30, -1e30], dtype=dtype)
    loss, grad = bce(big, np.full(4, 0.3, dtype), reduction="none", return_grad=True)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))


@pytest.mark.parametrize("layout", ["F", "strided", "negative"])
def test_layouts_give_the_contiguous_answer(isa, layout, rng):
    x, t = _problem(rng, (34, 18), np.float64)
    w = rng.random((34, 18))
    if layout == "F":
        xs, ts, ws = np.asfortranarray(x), np.asfortranarray(t), np.asfortranarray(w)
    elif layout == "strided":
        xs, ts, ws = x[::2, ::3], t[::2, ::3], w[::2, ::3]
    else:
        xs, ts, ws = x[::-1, ::-1], t[::-1, ::-1], w[::-1, ::-1]
    got = bce(xs, ts, weight=ws, reduction="none", return_grad=True)
    want = bce(*(np.ascontiguousarray(a) for a in (xs, ts)), weight=np.ascontiguousarray(ws),
               reduction="none", return_grad=True)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    s = bce(xs, ts, reduction="sum")
    want_sum = bce(np.ascontiguousarray(xs), np.ascontiguousarray(ts), reduction="sum")
    np.testing.assert_allclose(s, want_sum, rtol=1e-14)


def test_byte_swapped_unaligned_and_read_only_inputs(rng):
    x, t = _problem(rng, (5, 13), np.float64)
    want = bce(x, t, reduction="none", return_grad=True)
    swapped = x.astype(">f8")
    buf = np.zeros(x.size * 8 + 1, dtype=np.uint8)
    unaligned = np.frombuffer(buf[1:].data, dtype=np.float64).reshape(x.shape)
    unaligned[...] = x
    ro = x.copy()
    ro.flags.writeable = False
    for xs in (swapped, unaligned, ro):
        got = bce(xs, t, reduction="none", return_grad=True)
        assert got[0].dtype == np.float64
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_grad_out_in_place_and_inputs_untouched(rng):
    x, t = _problem(rng, (9, 33), np.float64)
    x0, t0 = x.copy(), t.copy()
    loss, grad = bce(x, t, return_grad=True)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(t, t0)
    g = np.empty_like(x)
    loss2, g2 = bce(x, t, grad_out=g)
    assert g2 is g and loss2 == loss
    np.testing.assert_array_equal(g, grad)
    xin = x.copy()
    loss3, g3 = bce(xin, t, grad_out=xin)
    assert g3 is xin and loss3 == loss
    np.testing.assert_array_equal(xin, grad)
    gf = np.zeros((9, 66))[:, ::2]
    bce(x, t, grad_out=gf)
    np.testing.assert_array_equal(gf, grad)


def test_float16_computed_in_float32(rng):
    x, t = _problem(rng, (4, 20), np.float16)
    loss, grad = bce(x, t, reduction="none", return_grad=True)
    l32, g32 = bce(x.astype(np.float32), t.astype(np.float32), reduction="none",
                   return_grad=True)
    assert loss.dtype == np.float16 and grad.dtype == np.float16
    np.testing.assert_array_equal(loss, l32.astype(np.float16))
    np.testing.assert_array_equal(grad, g32.astype(np.float16))
    assert bce(x, t).dtype == np.float16


def test_threads_and_empty(rng):
    x, t = _problem(rng, (300, 1000), np.float64)
    pw = rng.random(1000)
    a = bce(x, t, pos_weight=pw, reduction="none", return_grad=True, num_threads=1)
    b = bce(x, t, pos_weight=pw, reduction="none", return_grad=True, num_threads=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_allclose(bce(x, t, num_threads=2), bce(x, t, num_threads=1), rtol=1e-14)
    e = np.zeros((0, 5))
    assert np.isnan(bce(e, e))
    assert bce(e, e, reduction="sum") == 0
    assert bce(e, e, reduction="none", pos_weight=np.ones(5)).shape == (0, 5)


def test_bad_input_names_the_argument():
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match="target"):
        bce(x, np.zeros((3, 5)))
    with pytest.raises(TypeError, match="logits"):
        bce(np.zeros((3, 4), dtype=np.int64), x)
    with pytest.raises(TypeError, match="logits"):
        bce(np.zeros((3, 4), dtype=np.complex128), x)
    with pytest.raises(TypeError, match="target"):
        bce(x, np.full((3, 4), "a"))
    with pytest.raises(ValueError, match="weight"):
        bce(x, x, weight=np.ones(5))
    with pytest.raises(ValueError, match="pos_weight"):
        bce(x, x, pos_weight=np.ones(3))
    with pytest.raises(ValueError, match="pos_weight"):
        bce(x, x, pos_weight=np.ones((3, 4)))
    with pytest.raises(ValueError, match="reduction"):
        bce(x, x, reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        bce(x, x, label_smoothing=1.5)
    with pytest.raises(TypeError, match="label_smoothing"):
        bce(x, x, label_smoothing="0.1")
    with pytest.raises(ValueError, match="grad_out"):
        bce(x, x, grad_out=np.zeros((4, 3)))
    with pytest.raises(TypeError, match="grad_out"):
        bce(x, x, grad_out=np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="num_threads"):
        bce(x, x, num_threads=-1)
