"""cross_entropy's memory: with grad_out=logits no temporary of the logits'
size is allocated (NumPy reports its allocations to tracemalloc, so a hidden
(N, C) copy shows up in the traced peak); a fresh gradient costs one such
array, which also shows that the measurement sees NumPy's buffers."""

import tracemalloc

import numpy as np
import pytest

import fastsoftmax as fs

N, C = 256, 2000


def traced_peak(func):
    """(peak bytes traced while func() runs, its result)."""
    tracemalloc.start()
    try:
        result = func()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def case(rng, dtype, soft):
    x = (rng.standard_normal((N, C)) * 3).astype(dtype)
    if soft:
        t = rng.random((N, C)).astype(dtype)
        t /= t.sum(axis=1, keepdims=True)
    else:
        t = rng.integers(0, C, N)
    return x, t


OPTIONS = [
    dict(),
    dict(reduction="none"),
    dict(label_smoothing=0.1, weight="w"),
    dict(temperature=2.0, reduction="sum", sample_weight="s"),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("soft", [False, True], ids=["index", "prob"])
@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: ",".join(o) or "default")
def test_in_place_allocates_no_logits_sized_temporary(dtype, soft, opts, rng):
    x, t = case(rng, dtype, soft)
    opts = dict(opts)
    if opts.get("weight") == "w":
        opts["weight"] = rng.random(C) + 0.5
    if opts.get("sample_weight") == "s":
        opts["sample_weight"] = rng.random(N)
    expected_loss, expected_grad = fs.cross_entropy(x, t, return_grad=True, **opts)
    nbytes = x.nbytes
    fresh, _ = traced_peak(lambda: fs.cross_entropy(x, t, return_grad=True, **opts))
    assert fresh >= nbytes  # the returned gradient itself: tracemalloc sees it
    peak, (loss, grad) = traced_peak(lambda: fs.cross_entropy(x, t, grad_out=x, **opts))
    assert peak < nbytes / 20, (peak, nbytes)
    assert grad is x
    np.testing.assert_array_equal(x, expected_grad)
    np.testing.assert_array_equal(loss, expected_loss)


def test_loss_only_allocates_no_logits_sized_temporary(rng):
    x, t = case(rng, np.float32, False)
    peak, _ = traced_peak(lambda: fs.cross_entropy(x, t, label_smoothing=0.2))
    assert peak < x.nbytes / 20, peak
