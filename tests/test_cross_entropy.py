"""fastsoftmax.cross_entropy: against a float64 / longdouble NumPy reference
written here, against torch.nn.functional.cross_entropy and autograd (skipped
where torch is absent), finite differences, every ISA, bad input."""

import itertools

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

SIZES_C = (1, 3, 7, 17, 33, 65, 1000)


# ---------------------------------------------------------------- reference
def ref_cross_entropy(x, target, *, axis=-1, weight=None, sample_weight=None,
                      ignore_index=-100, reduction="mean", label_smoothing=0.0,
                      temperature=1.0, dt=np.float64):
    """PyTorch's definition, written out in NumPy in ``dt`` (float64 or longdouble).
    Returns the loss (scalar or batch-shaped array)."""
    x = np.moveaxis(np.asarray(x).astype(dt), axis, -1) / dt(temperature)
    C = x.shape[-1]
    m = x.max(axis=-1, keepdims=True)
    logp = (x - m) - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))
    w = np.ones(C, dtype=dt) if weight is None else np.asarray(weight).astype(dt)
    eps = dt(label_smoothing)
    t = np.asarray(target)
    if t.dtype.kind == "f":
        q = np.moveaxis(t.astype(dt), axis, -1)
        q = q * (1 - eps) + eps / C
        rows = -(q * w * logp).sum(axis=-1)
        s = np.ones(rows.shape, dt) if sample_weight is None else np.asarray(sample_weight, dt)
        rows = rows * s
        denom = s.sum()
    else:
        t = t.astype(np.int64)
        keep = t != ignore_index
        tc = np.where(keep, t, 0)
        lp_t = np.take_along_axis(logp, tc[..., None], axis=-1)[..., 0]
        w_t = w[tc]
        nll = -w_t * lp_t
        smooth = -(w * logp).sum(axis=-1)
        rows = np.where(keep, (1 - eps) * nll + eps / C * smooth, 0)
        s = np.ones(rows.shape, dt) if sample_weight is None else np.asarray(sample_weight, dt)
        rows = rows * s
        denom = (np.where(keep, w_t, 0) * s).sum()
    if reduction == "none":
        return rows
    if reduction == "sum":
        return rows.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return rows.sum() / denom


def torch_cross_entropy(x, target, *, axis=-1, weight=None, ignore_index=-100, reduction="mean",
                        label_smoothing=0.0, temperature=1.0):
    """torch's loss and autograd gradient, in float64, in the (N, C, ...) layout torch wants."""
    xt = torch.tensor(np.moveaxis(np.asarray(x, np.float64), axis, 1), requires_grad=True)
    t = np.asarray(target)
    if t.dtype.kind == "f":
        tt = torch.tensor(np.moveaxis(t.astype(np.float64), axis, 1))
    else:
        tt = torch.tensor(t.astype(np.int64))
    wt = None if weight is None else torch.tensor(np.asarray(weight, np.float64))
    loss = F.cross_entropy(xt / temperature, tt, weight=wt, ignore_index=ignore_index,
                           reduction=reduction, label_smoothing=label_smoothing)
    loss.sum().backward()
    return loss.detach().numpy(), np.moveaxis(xt.grad.numpy(), 1, axis)


def make_case(rng, shape, axis, kind, dtype, ignore=False, ignore_index=-100):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    C = x.shape[axis]
    batch = x.shape[:axis % x.ndim] + x.shape[axis % x.ndim + 1:]
    if kind == "index":
        t = rng.integers(0, C, batch)
        if ignore and t.size > 1:
            t.reshape(-1)[:: 3] = ignore_index
    else:
        t = rng.random(shape)
        t /= t.sum(axis=axis, keepdims=True)
        t = t.astype(dtype)
    return x, t


def tols(dtype):
    return (2e-5, 2e-6) if np.dtype(dtype) == np.float32 else (1e-11, 1e-13)


def close(a, b, dtype, scale=1.0):
    rtol, atol = tols(dtype)
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=rtol, atol=atol * scale)


# ---------------------------------------------------------- option grid vs torch
GRID = list(itertools.product(
    (False, True),            # weight
    (False, True),            # ignore_index present in targets
    (0.0, 0.25),              # label_smoothing
    ("mean", "sum", "none"),  # reduction
    ("index", "prob"),        # target kind
    (1.0, 0.7),               # temperature
    (-1, 1),                  # axis: (N, C) or (N, C, d)
))
# ignore_index does not apply to probability targets
GRID = [g for g in GRID if not (g[4] == "prob" and g[1])]


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("use_w,use_ign,ls,red,kind,temp,axis", GRID)
def test_grid_vs_torch(dtype, use_w, use_ign, ls, red, kind, temp, axis, rng):
    shape = (6, 11) if axis == -1 else (4, 11, 3)
    x, t = make_case(rng, shape, axis, kind, dtype, ignore=use_ign, ignore_index=-7)
    w = rng.random(11) + 0.1 if use_w else None
    kw = dict(axis=axis, weight=w, ignore_index=-7, reduction=red, label_smoothing=ls,
              temperature=temp)
    loss, grad = fs.cross_entropy(x, t, return_grad=True, **kw)
    tl, tg = torch_cross_entropy(x, t, **kw)
    assert grad.dtype == x.dtype and grad.shape == x.shape
    assert np.asarray(loss).dtype == x.dtype
    close(loss, tl, dtype)
    close(grad, tg, dtype)
    close(loss, ref_cross_entropy(x, t, **kw), dtype)


# ------------------------------------------------------------- every ISA, tails
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C", SIZES_C)
def test_sizes_every_isa(isa, dtype, C, rng):
    N = 9
    x = (rng.standard_normal((N, C)) * 4).astype(dtype)
    t = rng.integers(0, C, N)
    t[2] = -100
    q = rng.random((N, C)).astype(dtype)
    w = rng.random(C) + 0.5
    options = (dict(), dict(weight=w, label_smoothing=0.1),
               dict(temperature=1.7, reduction="none"))
    for kw in options:
        loss, grad = fs.cross_entropy(x, t, return_grad=True, **kw)
        close(loss, ref_cross_entropy(x, t, **kw), dtype)
        if torch is not None:
            close(grad, torch_cross_entropy(x, t, **{k: v for k, v in kw.items()})[1], dtype)
        loss_only = fs.cross_entropy(x, t, **kw)
        np.testing.assert_array_equal(loss_only, loss)
    kw = dict(weight=w, label_smoothing=0.2, reduction="sum")
    loss, grad = fs.cross_entropy(x, q, return_grad=True, **kw)
    close(loss, ref_cross_entropy(x, q, **kw), dtype, scale=C)
    if torch is not None:
        close(grad, torch_cross_entropy(x, q, **kw)[1], dtype)


@pytest.mark.parametrize("kind", ["index", "prob"])
@pytest.mark.parametrize("opts", [dict(), dict(label_smoothing=0.3), dict(temperature=0.6),
                                  dict(weight="w", label_smoothing=0.1, reduction="none")])
def test_grad_finite_differences(kind, opts, rng):
    x, t = make_case(rng, (3, 5, 2), 1, kind, np.float64, ignore=True)
    opts = dict(opts, axis=1)
    if opts.get("weight") == "w":
        opts["weight"] = rng.random(5) + 0.2
    sw = rng.random(3 * 2).reshape(3, 2) + 0.5

    def f(z):
        return np.sum(fs.cross_entropy(z, t, sample_weight=sw, **opts))

    _, grad = fs.cross_entropy(x, t, sample_weight=sw, return_grad=True, **opts)
    h = 1e-6
    fd = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        fd[idx] = (f(xp) - f(xm)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)
    ref = np.sum(ref_cross_entropy(x, t, sample_weight=sw, **opts))
    np.testing.assert_allclose(f(x), ref, rtol=1e-13)


def test_sample_weight_is_weighted_average(rng):
    x, t = make_case(rng, (8, 5), -1, "index", np.float64)
    sw = rng.random(8)
    w = rng.random(5) + 0.1
    rows = fs.cross_entropy(x, t, weight=w, reduction="none")
    got = fs.cross_entropy(x, t, weight=w, sample_weight=sw)
    assert np.isclose(got, np.sum(sw * rows) / np.sum(sw * w[t]), rtol=1e-14)
    got = fs.cross_entropy(x, t, sample_weight=sw, reduction="sum")
    assert np.isclose(got, np.sum(sw * fs.cross_entropy(x, t, reduction="none")), rtol=1e-14)


# ---------------------------------------------------------------- in place
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis,shape", [(-1, (7, 33)), (1, (3, 33, 4))])
@pytest.mark.parametrize("opts", [dict(), dict(temperature=2.0, label_smoothing=0.1, weight="w")])
def test_grad_out_in_place(dtype, axis, shape, opts, rng):
    x, t = make_case(rng, shape, axis, "index", dtype, ignore=True)
    if opts.get("weight") == "w":
        opts = dict(opts, weight=rng.random(33))
    loss, grad = fs.cross_entropy(x, t, axis=axis, return_grad=True, **opts)
    x0 = x.copy()
    buf = np.empty_like(x)
    loss2, g2 = fs.cross_entropy(x, t, axis=axis, grad_out=buf, **opts)
    assert g2 is buf
    np.testing.assert_array_equal(x, x0)  # the input is not modified
    np.testing.assert_array_equal(g2, grad)
    loss3, g3 = fs.cross_entropy(x, t, axis=axis, grad_out=x, **opts)
    assert g3 is x
    np.testing.assert_array_equal(g3, grad)
    assert loss == loss2 == loss3


def test_in_place_strided_rows(rng):
    big = rng.standard_normal((10, 40))
    x = big[::2, 3:20]  # rows 80 elements apart, classes contiguous
    t = rng.integers(0, 17, 5)
    loss, grad = fs.cross_entropy(x.copy(), t, return_grad=True)
    loss2, g2 = fs.cross_entropy(x, t, grad_out=x)
    np.testing.assert_array_equal(g2, grad)
    assert loss == loss2


# ------------------------------------------------------------- accuracy
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rows_straddling_the_exp_range_limit(isa, dtype, rng):
    """Rows whose lowest logit lies just either side of the exponential's
    common range below the maximum (the row loop skips its range test only
    inside it): loss and gradient as a longdouble reference."""
    limit = 87.0 if dtype == np.float32 else 708.0
    spans = (limit - 1e-3, limit, limit + 1e-3, limit + 0.5)
    n = 100
    x = np.empty((len(spans) * 3, n))
    for r, span in enumerate(spans * 3):
        x[r] = 5.0 + rng.uniform(-0.5 * limit, 0, n)
        x[r, rng.integers(n)] = 5.0 + 1.0
        x[r, rng.integers(n)] = 5.0 + 1.0 - span
    x = x.astype(dtype)
    t = rng.integers(0, n, len(x))
    loss, grad = fs.cross_entropy(x, t, reduction="none", return_grad=True)
    close(loss, ref_cross_entropy(x, t, reduction="none", dt=np.longdouble), dtype)
    ld = x.astype(np.longdouble)
    p = np.exp(ld - ld.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(x)), t] -= 1
    close(grad, p, dtype)


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-6), (np.float64, 1e-14)])
@pytest.mark.parametrize("C", [37, 300])
@pytest.mark.parametrize("offsets", [(-20, 20), (35, 50), (80, 100), (-40, -1)],
                         ids=["mixed", "both_signs", "max_largest", "max_negative"])
def test_confident_predictions_relative_accuracy(isa, dtype, rtol, C, offsets, rng):
    """Losses down to 1e-30 keep full relative precision (vs longdouble).
    C: the short-row and the row kernels. offsets (the row maxima): rows of
    either sign; positive maxima with logits of both sorts, smaller and
    larger in magnitude, over the whole range of gaps (the error of x - m by
    Fast2Sum with the operands ordered lane by lane); maxima that are the
    largest in magnitude; negative maxima (Fast2Sum, each its own order)."""
    N = 64
    ld = np.longdouble
    targets_loss = np.logspace(-10, -30, N)
    x = np.empty((N, C))
    t = rng.integers(0, C, N)
    for i in range(N):
        offset = rng.uniform(*offsets)
        # other logits ~ log(loss / (C-1)) below the target, jittered so x - m is inexact
        gaps = -np.log(targets_loss[i] / (C - 1)) + rng.uniform(-1.5, 1.5, C)
        x[i] = offset - gaps
        x[i, t[i]] = offset
        if offsets == (35, 50):  # one logit below -m: its term ~ exp(-75) and less
            x[i, (t[i] + 1) % C] = -offset - 5
    x = x.astype(dtype)
    xl = x.astype(ld)
    xt = np.take_along_axis(xl, t[:, None], 1)
    others = np.ones(x.shape, bool)
    others[np.arange(N), t] = False
    rest = np.where(others, np.exp(xl - xt), 0).sum(axis=1)
    ref_loss = np.log1p(rest)
    ref_grad = np.exp(xl - xt) / (1 + rest)[:, None]
    ref_grad[np.arange(N), t] = -rest / (1 + rest)
    loss, grad = fs.cross_entropy(x, t, reduction="none", return_grad=True)
    assert np.all(ref_loss > 0) and np.min(ref_loss) < 1e-29
    err = np.abs(loss.astype(ld) - ref_loss) / ref_loss
    assert float(err.max()) <= rtol, float(err.max())
    tiny = np.finfo(dtype).tiny
    ok = np.abs(ref_grad) > tiny / np.finfo(dtype).eps
    gerr = np.abs(grad.astype(ld) - ref_grad)[ok] / np.abs(ref_grad[ok])
    assert float(gerr.max()) <= 4 * np.finfo(dtype).eps, float(gerr.max())
    # label smoothing / mean also stay finite and sensible
    assert np.isfinite(fs.cross_entropy(x, t, label_smoothing=0.1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_terms_that_round_to_one(isa, dtype, rng):
    """Logits within rounding of the row maximum have exp(x - m) == 1 exactly
    though x != m: the compensated loops count such terms instead of summing
    them. Rows with a few of them, with nothing else, with them only in the
    tail, with a negative maximum: loss, gradient, log_softmax and logsumexp
    as a longdouble reference."""
    n = 300
    near = lambda m, k: np.nextafter(np.full(k, m, dtype), -np.inf) - (  # noqa: E731
        np.arange(k) * np.spacing(dtype(m)))
    rows = []
    for m, layout in [(1e-3, "few"), (1e-3, "all"), (1e-3, "tail"), (-1e-3, "few"), (5e-4, "few")]:
        r = (dtype(m) + rng.uniform(-8, 0, n)).astype(dtype)
        r[rng.integers(n)] = m
        if layout == "few":
            r[rng.choice(n, 5, replace=False)] = near(m, 5)
        elif layout == "all":
            r[:] = near(m, n)[rng.permutation(n)]
            r[rng.integers(n)] = m
        else:
            r[-4:] = near(m, 4)
        rows.append(r)
    x = np.array(rows, dtype)
    xl = x.astype(np.longdouble)
    assert np.any(np.exp(x - x.max(axis=1, keepdims=True)) == 1, axis=1).all()
    # the target: the maximum in odd rows, a logit within rounding of it in even ones
    near_max = [np.flatnonzero((r != r.max()) & (r > r.max() - 1e-6)) for r in x]
    t = np.array([int(np.argmax(r)) if i % 2 else int(near_max[i][0]) for i, r in enumerate(x)])
    lse = np.log(np.exp(xl - xl.max(axis=1, keepdims=True)).sum(axis=1)) + xl.max(axis=1)
    ref_loss = lse - xl[np.arange(len(x)), t]
    loss, grad = fs.cross_entropy(x, t, reduction="none", return_grad=True)
    eps = np.finfo(dtype).eps
    assert np.all(np.abs(loss - ref_loss) <= 4 * eps * np.abs(ref_loss)), (loss, ref_loss)
    p = np.exp(xl - lse[:, None])
    p[np.arange(len(x)), t] -= 1
    gerr = np.abs(grad - p)
    assert np.all(gerr <= 4 * eps * np.abs(p) + eps * np.finfo(dtype).tiny), gerr.max()
    got = fs.logsumexp(x, axis=1)
    assert np.all(np.abs(got - lse) <= 4 * eps * np.maximum(np.abs(lse), 1)), (got, lse)
    lsm = fs.log_softmax(x, axis=1)
    ref_lsm = xl - lse[:, None]
    assert np.all(np.abs(lsm - ref_lsm) <= 4 * eps * np.maximum(np.abs(ref_lsm), 1))


@needs_torch
def test_float16_like_torch(rng):
    x, t = make_case(rng, (5, 9), -1, "index", np.float16)
    loss, grad = fs.cross_entropy(x, t, return_grad=True)
    assert np.asarray(loss).dtype == np.float16 and grad.dtype == np.float16
    tl, tg = torch_cross_entropy(x.astype(np.float64), t)
    np.testing.assert_allclose(float(loss), tl, rtol=2e-3)
    np.testing.assert_allclose(grad.astype(np.float64), tg, rtol=2e-3, atol=1e-4)
    g = np.zeros_like(x)
    _, g2 = fs.cross_entropy(x, t, grad_out=g)
    assert g2 is g
    np.testing.assert_array_equal(g, grad)


@pytest.mark.parametrize("int_dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint32,
                                       np.int64, np.uint64])
def test_integer_target_dtypes(int_dtype, rng):
    x, t = make_case(rng, (6, 7), -1, "index", np.float64)
    expected = fs.cross_entropy(x, t)
    assert fs.cross_entropy(x, t.astype(int_dtype)) == expected


# ---------------------------------------------------------------- edge cases
@needs_torch
def test_edge_cases_like_torch():
    x = np.array([[0.0, -np.inf, 1.0], [2.0, 1.0, 0.0]])
    for t, ls in [([1, 0], 0.0), ([2, 0], 0.1), ([-100, -100], 0.0), ([-100, -100], 0.2)]:
        t = np.array(t)
        loss, grad = fs.cross_entropy(x, t, label_smoothing=ls, return_grad=True)
        tl, tg = torch_cross_entropy(x, t, label_smoothing=ls)
        np.testing.assert_allclose(loss, tl)
        np.testing.assert_allclose(grad, tg, atol=1e-15)
    for bad in ([[np.nan, 1.0, 0.0]], [[np.inf, 1.0, 0.0]], [[-np.inf] * 3]):
        loss, grad = fs.cross_entropy(np.array(bad), np.array([1]), return_grad=True)
        assert np.isnan(loss) and np.isnan(grad).all()
    assert np.isnan(fs.cross_entropy(np.zeros((0, 4)), np.zeros(0, int)))
    assert fs.cross_entropy(np.zeros((0, 4)), np.zeros(0, int), reduction="sum") == 0
    # a single class and a single row (1-D logits)
    assert fs.cross_entropy(np.array([[3.0]]), np.array([0])) == 0
    v = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(fs.cross_entropy(v, np.array(2)), ref_cross_entropy(v, np.array(2)))


# ---------------------------------------------------------------- bad input
BAD = [
    (dict(target=np.array([0, 5])), ValueError, "target"),
    (dict(target=np.array([0, -1])), ValueError, "target"),
    (dict(target=np.array([0, 1, 2])), ValueError, "target"),
    (dict(target=np.array(["a", "b"])), TypeError, "target"),
    (dict(target=np.zeros((2, 4), np.float32)), ValueError, "target"),
    (dict(weight=np.ones(4)), ValueError, "weight"),
    (dict(weight=-np.ones(5)), ValueError, "weight"),
    (dict(sample_weight=np.ones(3)), ValueError, "sample_weight"),
    (dict(sample_weight=-np.ones(2)), ValueError, "sample_weight"),
    (dict(label_smoothing=1.5), ValueError, "label_smoothing"),
    (dict(label_smoothing=-0.1), ValueError, "label_smoothing"),
    (dict(reduction="avg"), ValueError, "reduction"),
    (dict(temperature=0.0), ValueError, "temperature"),
    (dict(temperature=-1.0), ValueError, "temperature"),
    (dict(axis=2), np.exceptions.AxisError, "axis"),
    (dict(grad_out=np.zeros((2, 4))), ValueError, "grad_out"),
    (dict(grad_out=np.zeros((2, 5), np.float32)), TypeError, "grad_out"),
    (dict(logits=np.zeros((2, 5), np.int64)), TypeError, "logits"),
    (dict(logits=np.zeros((2, 0))), ValueError, "logits"),
    (dict(num_threads=0), ValueError, "num_threads"),
]


@pytest.mark.parametrize("kw,exc,name", BAD)
def test_bad_input(kw, exc, name):
    kw = dict(kw)
    x = kw.pop("logits", np.arange(10.0).reshape(2, 5))
    t = kw.pop("target", np.array([0, 1]) if x.shape[-1] else np.array([0, 0]))
    x0 = x.copy()
    g = kw.get("grad_out")
    g0 = None if g is None else g.copy()
    with pytest.raises(exc, match=name):
        fs.cross_entropy(x, t, **kw)
    np.testing.assert_array_equal(x, x0)
    if g is not None:
        np.testing.assert_array_equal(g, g0)


def test_bad_grad_out_overlap():
    x = np.zeros((2, 5))
    with pytest.raises(ValueError, match="grad_out"):
        fs.cross_entropy(x[:, ::-1], np.array([0, 1]), grad_out=x)


def test_threads_do_not_change_result(rng):
    x, t = make_case(rng, (512, 300), -1, "index", np.float32)
    one = fs.cross_entropy(x, t, return_grad=True, num_threads=1, reduction="none")
    many = fs.cross_entropy(x, t, return_grad=True, num_threads=4, reduction="none")
    np.testing.assert_array_equal(one[0], many[0])
    np.testing.assert_array_equal(one[1], many[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_class_reversed_rows(dtype):
    """A row stride of exactly -1 element ((N, 1) logits read backwards) once
    collided with the binding's error value (found by the fuzzer)."""
    x = np.linspace(-3, 3, 16).astype(dtype).reshape(16, 1)[::-1]
    target = np.zeros(16, np.int64)
    loss, grad = fs.cross_entropy(x, target, return_grad=True, reduction="none")
    np.testing.assert_array_equal(loss, np.zeros(16, dtype))
    np.testing.assert_array_equal(grad, np.zeros((16, 1), dtype))
    out = np.full((16, 1), np.nan, dtype)[::-1]
    fs.cross_entropy(x, target, return_grad=True, grad_out=out)
    np.testing.assert_array_equal(out, np.zeros((16, 1), dtype))
