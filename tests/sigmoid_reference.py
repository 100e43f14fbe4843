"""Wide-precision references for the sigmoid family (longdouble NumPy), and
torchvision's sigmoid focal loss re-implemented for the differential tests.

longdouble carries 64 significant bits on x86 (11 more than float64), so the
references below are exact to far below one float64 ULP for the inputs the
tests use (|x| <= 745, where exp(-|x|) stays in range)."""

import numpy as np

LD = np.longdouble


def sigmoid(x):
    x = np.asarray(x).astype(LD)
    e = np.exp(-np.abs(x))
    return np.where(x < 0, e / (1 + e), 1 / (1 + e))


def log_sigmoid(x):
    x = np.asarray(x).astype(LD)
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def bce(x, t, weight=None, pos_weight=None, label_smoothing=0.0):
    """Elementwise PyTorch BCE with logits, in longdouble."""
    x = np.asarray(x).astype(LD)
    t = np.asarray(t).astype(LD)
    if label_smoothing:
        t = t * (1 - LD(label_smoothing)) + LD(label_smoothing) / 2
    p = LD(1) if pos_weight is None else np.asarray(pos_weight).astype(LD)
    w = LD(1) if weight is None else np.asarray(weight).astype(LD)
    loss = -w * (p * t * log_sigmoid(x) + (1 - t) * log_sigmoid(-x))
    grad = w * ((1 - t) * sigmoid(x) - p * t * sigmoid(-x))
    return loss, grad


def focal(x, t, alpha=0.25, gamma=2.0):
    """Elementwise sigmoid focal loss and its gradient, in longdouble (the
    gradient from the closed form d/dx [a_t ce q^g])."""
    x = np.asarray(x).astype(LD)
    t = np.asarray(t).astype(LD)
    ce = -(t * log_sigmoid(x) + (1 - t) * log_sigmoid(-x))
    q = t * sigmoid(-x) + (1 - t) * sigmoid(x)
    at = alpha * t + (1 - alpha) * (1 - t) if alpha >= 0 else LD(1)
    mod = q ** LD(gamma)
    dq = (1 - 2 * t) * sigmoid(x) * sigmoid(-x)
    dce = (1 - t) * sigmoid(x) - t * sigmoid(-x)
    grad = at * (dce * mod + ce * LD(gamma) * q ** (LD(gamma) - 1) * dq) if gamma else at * dce
    return at * ce * mod, grad


def torchvision_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss (torchvision/ops/focal_loss.py,
    BSD-3-Clause), re-implemented line for line so the tests run without
    torchvision installed."""
    import torch
    import torch.nn.functional as F

    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss


def ulps(got, ref, dtype):
    """|got - ref| in ULPs of ref rounded to dtype (elementwise, longdouble)."""
    ref = np.asarray(ref, dtype=LD)
    spacing = np.spacing(np.abs(ref).astype(dtype)).astype(LD)
    return np.abs(np.asarray(got).astype(LD) - ref) / spacing
