"""How an ndarray reduction over one axis becomes the C layer's strided 3-D view.

The kernels see (outer, inner) independent rows and one reduced axis. Any two
non-reduced axes fit that form without copying; more collapse when their
strides line up (always for C- or F-contiguous arrays). Only when they do not
does the caller copy."""

from __future__ import annotations

import numpy as np

View3 = tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]


def _element_strides(a: np.ndarray) -> tuple[int, ...] | None:
    size = a.itemsize
    if not a.flags.aligned or any(s % size for s in a.strides):
        return None
    return tuple(s // size for s in a.strides)


def view3(x: np.ndarray, y: np.ndarray, axis: int, y_keeps_axis: bool) -> View3 | None:
    """Shape and element strides of x and y as (outer, inner, reduced) views.

    y has x's shape when ``y_keeps_axis`` (softmax, log_softmax), else x's shape
    without ``axis`` (logsumexp). Returns None when the layout needs a copy.
    """
    xs = _element_strides(x)
    ys = _element_strides(y)
    if xs is None or ys is None:
        return None
    n_red = x.shape[axis]
    dims = []
    for d in range(x.ndim):
        if d == axis or x.shape[d] == 1:
            continue
        yd = d if y_keeps_axis else (d if d < axis else d - 1)
        dims.append([x.shape[d], xs[d], ys[yd]])
    # Largest x stride first; merge neighbours whose strides chain in x and y.
    dims.sort(key=lambda t: -abs(t[1]))
    merged: list[list[int]] = []
    for n, sx, sy in dims:
        if merged:
            pn, psx, psy = merged[-1]
            if psx == n * sx and psy == n * sy:
                merged[-1] = [pn * n, sx, sy]
                continue
        merged.append([n, sx, sy])
    if len(merged) > 2:
        return None
    while len(merged) < 2:
        merged.insert(0, [1, 0, 0])
    (no, sxo, syo), (ni, sxi, syi) = merged
    red_x = xs[axis]
    red_y = ys[axis] if y_keeps_axis else 0
    return (no, ni, n_red), (sxo, sxi, red_x), (syo, syi, red_y)
