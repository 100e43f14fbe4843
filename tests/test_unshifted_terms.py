"""The unshifted terms of the float32 cross-entropy loops (csrc/kernels/
xent_kernels.h, term_plan): a row whose maximum m lies in [-64, 64] sums
2^-K exp(x), K = round(m / ln2), instead of exp(x - m) compensated. These
rows test the edges of that plan against a float64 reference, on every ISA:
maxima on both sides of the +-64 limit, elements far enough below the
maximum that their terms leave the normal range (the wide path with the
scale offset K, subnormal and zero terms, -inf), ties at the maximum (the
counted terms), and row lengths that hit the vector tails and the group
kernels (rows of at most two vectors).
"""

import numpy as np
import pytest
from reference import check_accuracy

import fastsoftmax as fs

LENGTHS = [1, 3, 7, 15, 16, 17, 31, 33, 64, 65, 250]
MAXIMA = [
    -80.0,
    -64.5,
    -64.0,
    -63.9,
    -30.0,
    -1.0,
    -1e-3,
    0.0,
    0.4,
    1.0,
    7.3,
    63.9,
    64.0,
    64.1,
    80.0,
]


def _rows(rng, n, top):
    """8 rows of n float32 values, maximum `top`: spread below it, one row
    reaching 100 below (terms below the normal range), one with -inf, one
    with the maximum tied three times"""
    x = top - np.abs(rng.standard_normal((8, n))) * np.array(
        [[0.5], [2], [5], [20], [40], [100], [3], [3]]
    )
    x[:, 0] = top
    x = x.astype(np.float32)
    if n > 1:
        x[6, n // 2] = -np.inf
    if n > 3:
        x[7, 1:3] = np.float32(top)
    return np.ascontiguousarray(rng.permuted(x, axis=1))


def _others(e, cols):
    """per row, the sum of e over every column but cols[row], summed
    without it (no cancellation)"""
    keep = np.ones(e.shape, dtype=bool)
    keep[np.arange(len(cols)), cols] = False
    return np.where(keep, e, 0.0).sum(axis=1)


def _ref_loss(x, t):
    """(m - x_t) + log1p(the terms but the max's own): full relative
    precision for confident rows"""
    xd = x.astype(np.float64)
    m = xd.max(axis=1, keepdims=True)
    with np.errstate(under="ignore"):
        e = np.exp(xd - m)
    rest = _others(e, np.argmax(xd, axis=1))
    return (m[:, 0] - xd[np.arange(len(t)), t]) + np.log1p(rest)


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("top", MAXIMA)
def test_log_softmax_and_logsumexp_within_bounds(isa, rng, n, top):
    x = _rows(rng, n, top)
    finite = np.isfinite(x).all(axis=1)
    got = fs.logsumexp(x, axis=-1)
    check_accuracy("logsumexp", got[finite], x[finite], axis=-1, context=f"{isa} n={n} max={top}")
    got = fs.log_softmax(x, axis=-1)
    check_accuracy("log_softmax", got[finite], x[finite], axis=-1, context=f"{isa} n={n} max={top}")
    # the row with a -inf element: that output is -inf, the others within
    # the bound of the row without it (its term is an exact 0)
    if not finite.all():
        r = int(np.flatnonzero(~finite)[0])
        keep = np.isfinite(x[r])
        assert np.all(got[r][~keep] == -np.inf)
        check_accuracy(
            "log_softmax", got[r][keep], x[r][keep], context=f"{isa} -inf row n={n} max={top}"
        )


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("top", MAXIMA)
def test_cross_entropy_loss_and_gradient(isa, rng, n, top):
    x = _rows(rng, n, top)
    x[6] = np.where(np.isfinite(x[6]), x[6], np.float32(top - 200))
    t = rng.integers(0, n, len(x))
    t[0] = int(np.argmax(x[0]))  # a confident row's own class
    loss, grad = fs.cross_entropy(x, t, reduction="none", return_grad=True)
    ref = _ref_loss(x, t)
    tiny = ref < 1e-30
    rel = np.abs(loss.astype(np.float64) - ref) / np.where(tiny, 1.0, ref)
    assert np.all(rel[~tiny] <= 1e-6), (rel.max(), ref[np.argmax(rel)])
    assert np.all(np.abs(loss[tiny]) <= 1e-30)
    xd = x.astype(np.float64)
    with np.errstate(under="ignore"):
        e = np.exp(xd - xd.max(axis=1, keepdims=True))
    total = e.sum(axis=1, keepdims=True)
    p = e / total
    # p_t - 1 = -(sum of the other terms) / total, without cancellation
    p[np.arange(len(t)), t] = -_others(e, t) / total[:, 0]
    ulps = np.abs(grad - p) / np.spacing(
        np.maximum(np.abs(p), np.finfo(np.float32).tiny).astype(np.float32)
    )
    worst = np.unravel_index(np.argmax(ulps), ulps.shape)
    assert ulps.max() <= 4.0, (
        ulps.max(),
        worst,
        p[worst],
        grad[worst],
        x[worst[0]].max(),
        x[worst],
    )


@pytest.mark.parametrize("n", [5, 16, 40])
def test_plans_agree_across_the_limit(isa, rng, n):
    """Shifting a row moves its maximum across the +-64 limit (one plan to
    the other); log_softmax is shift-invariant, so both plans must agree
    within the bound on exactly representable shifts."""
    base = np.round(rng.standard_normal((4, n)) * 8) / 8
    outs = []
    for shift in (56.0, 60.0, 64.0, 68.0, 72.0, -56.0, -72.0):
        x = (base - base.max(axis=1, keepdims=True) + shift).astype(np.float32)
        outs.append(fs.log_softmax(x, axis=-1))
    for o in outs[1:]:
        np.testing.assert_array_max_ulp(o, outs[0], maxulp=4)
