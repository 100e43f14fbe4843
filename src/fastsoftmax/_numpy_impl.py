"""Pure-NumPy paths for what the kernels do not cover: complex and longdouble
inputs, and logsumexp's ``b`` weights. They follow scipy.special's algorithms
step by step (so results and non-finite rules match it), vectorised over the
whole array; slower than the kernels, never per-row Python loops."""

from __future__ import annotations

import numpy as np


def softmax(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    x_max = np.max(x, axis=axes, keepdims=True)
    e = np.exp(x - x_max)
    return e / np.sum(e, axis=axes, keepdims=True)


def log_softmax(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    x_max = np.max(x, axis=axes, keepdims=True)
    x_max = np.where(np.isfinite(x_max), x_max, 0)
    tmp = x - x_max
    with np.errstate(divide="ignore"):
        return tmp - np.log(np.sum(np.exp(tmp), axis=axes, keepdims=True))


def _max_real_and_mask(a: np.ndarray, axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    if np.iscomplexobj(a):
        real = a.real
        mx = np.max(real, axis=axes, keepdims=True)
        mask = real == mx
        idx = np.arange(a.size).reshape(a.shape)
        idx = np.where(mask, idx, -1)
        mask = idx == np.max(idx, axis=axes, keepdims=True)
        return np.sum(np.where(mask, a, 0), axis=axes, keepdims=True, dtype=a.dtype), mask
    mx = np.max(a, axis=axes, keepdims=True)
    return mx, a == mx


def _wrap_radians(x: np.ndarray) -> np.ndarray:
    wrapped = -((-x + np.pi) % (2 * np.pi) - np.pi)
    return np.where(np.abs(x) < np.pi, x, wrapped)


def logsumexp(
    a: np.ndarray, axes: tuple[int, ...], b: np.ndarray | None, return_sign: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """log(sum(b * exp(a))) over ``axes`` with keepdims=True, and the sign.

    ``a`` (and ``b``) are already promoted and broadcast to one floating dtype.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        b_exp_a = np.exp(a) if b is None else b * np.exp(a)
        total = np.sum(b_exp_a, axis=axes, keepdims=True)
        sgn_inf = np.sign(total) if return_sign else None
        out_inf = np.log(np.abs(total) if return_sign else total)

        if b is not None:
            a = np.where(b == 0, -np.inf, a)
        a_max, i_max = _max_real_and_mask(a, axes)
        a = np.where(i_max, -np.inf, a)
        i_max_dt = i_max.astype(a.dtype)
        m = np.sum(i_max_dt if b is None else b * i_max_dt, axis=axes, keepdims=True, dtype=a.dtype)
        e = np.exp(a - a_max) if b is None else b * np.exp(a - a_max)
        s = np.sum(e, axis=axes, keepdims=True, dtype=e.dtype)
        s = np.where(s == 0, s, s / m)
        sgn = np.sign(s + 1) * np.sign(m)
        if np.isrealobj(s):
            s = np.where(s < -1, -s - 2, s)
            m = np.abs(m)
        else:
            sgn = sgn * np.exp(np.imag(a_max) * 1.0j)
        out = np.log1p(s) + np.log(m) + a_max
        if return_sign:
            out = np.real(out)
        elif np.isrealobj(out):
            out = np.where(sgn < 0, np.nan, out)

        finite = np.isfinite(out)
        out = np.where(finite, out, out_inf)
        if return_sign:
            sgn = np.where(finite, sgn, sgn_inf)
    if np.iscomplexobj(out):
        if return_sign:
            sgn = np.real(sgn) + _wrap_radians(np.imag(sgn)) * 1j
        else:
            out = np.real(out) + _wrap_radians(np.imag(out)) * 1j
    return out, (sgn if return_sign else None)
