"""A longdouble reference for cross_entropy with class-index targets (per-row
loss and the gradient of the rows' sum) and the gradient's ULP measure, shared
by the tests of its kernel paths."""

import numpy as np


def reference(x, t, w, sw, temperature):
    """per-row loss and the gradient of the rows' sum, in longdouble, for
    logits x / temperature as the library forms them (x times the rounded
    1 / temperature, rounded: the kernels' own input)"""
    dtype = x.dtype.type
    z = x if temperature == 1.0 else x * dtype(1.0 / temperature)
    z = z.astype(np.longdouble)
    rows = np.arange(len(t))
    m = z.max(axis=1)
    e = np.exp(z - m[:, None])
    e_rest = e.copy()
    e_rest[rows, z.argmax(axis=1)] = 0  # every term but one of the maximum's
    rest = e_rest.sum(axis=1)
    s = 1 + rest
    keep = t != -100
    tc = np.where(keep, t, 0)
    wt = np.ones(len(t), np.longdouble) if w is None else w.astype(np.longdouble)[tc]
    swl = np.ones(len(t), np.longdouble) if sw is None else sw.astype(np.longdouble)
    nll = (m - z[rows, tc]) + np.log1p(rest)
    loss = np.where(keep, swl * wt * nll, 0)
    g = e / s[:, None]
    g[rows, tc] -= 1
    top = z[rows, tc] == m  # p_t - 1 = -rest / s, without cancellation
    g[rows[top], tc[top]] = -rest[top] / s[top]
    g *= (swl * wt / np.longdouble(temperature))[:, None]
    g[~keep] = 0
    return loss, g


# the gradient's bound in ULP of the longdouble reference (measured across
# every ISA here: 2.4 float32, 4.4 float64, whose last bits take the double
# roundings of the row's factor and of p_t - 1)
GRAD_ULPS = {np.float32: 3, np.float64: 5}


def ulps(got, want, dtype):
    """|got - want| in units of the spacing of want (rounded to dtype), with
    the smallest normal's spacing as a floor"""
    want_t = want.astype(dtype)
    spacing = np.maximum(np.spacing(np.abs(want_t)), np.spacing(np.finfo(dtype).tiny))
    return np.abs(got.astype(np.longdouble) - want) / spacing.astype(np.longdouble)
