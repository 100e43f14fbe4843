"""cross_entropy's Cython fast path (_core.xent_fast_call) against the general
Python path, bit for bit (both make the same kernel call), and what the fast
path leaves to the general one."""

import numpy as np
import pytest

import fastsoftmax as fs
from fastsoftmax import _core


def _general(kw):
    """The same call forced onto the general path: a temperature that is a
    float subclass rather than a float (the fast path takes only floats)."""
    kw = dict(kw)
    kw["temperature"] = np.float64(kw.get("temperature", 1.0))
    return kw


def _assert_same(a, b):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for u, v in zip(a, b, strict=True):
            _assert_same(u, v)
        return
    assert type(a) is type(b)
    assert np.asarray(a).dtype == np.asarray(b).dtype and np.shape(a) == np.shape(b)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(32, 10), (3, 5, 17), (7,), (1, 1), (200, 3)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_fast_path_is_the_general_path(dtype, shape, reduction, rng):
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    labels = np.asarray(rng.integers(0, shape[-1], shape[:-1]))
    ignored = np.zeros(labels.shape, bool)
    if labels.size > 2:
        ignored.reshape(-1)[::3] = True
    for kw in (dict(), dict(label_smoothing=0.2), dict(temperature=0.7),
               dict(ignore_index=0, num_threads=1), dict(return_grad=True),
               dict(return_grad=True, label_smoothing=0.1, temperature=1.5)):
        kw = dict(kw, reduction=reduction)
        t = np.where(ignored, kw.get("ignore_index", -100), labels)
        covered = _core.xent_fast_call(
            x, t, -1, kw.get("ignore_index", -100), reduction, kw.get("label_smoothing", 0.0),
            kw.get("temperature", 1.0), kw.get("return_grad", False), kw.get("num_threads"))
        assert covered is not None  # the fast path really is taken
        fast = fs.cross_entropy(x, t, **kw)
        _assert_same(fast, covered)
        _assert_same(fast, fs.cross_entropy(x, t, **_general(kw)))
        # a preallocated gradient, and the logits themselves
        g_fast, g_general = np.full_like(x, 7), np.full_like(x, 7)
        covered = _core.xent_fast_call(
            x, t, -1, kw.get("ignore_index", -100), reduction, kw.get("label_smoothing", 0.0),
            kw.get("temperature", 1.0), False, kw.get("num_threads"), g_fast)
        assert covered is not None and covered[1] is g_fast
        general = fs.cross_entropy(x, t, **_general(kw), grad_out=g_general)
        assert general[1] is g_general
        _assert_same(covered, general)
        x_fast, x_general = x.copy(), x.copy()
        covered = fs.cross_entropy(x_fast, t, **kw, grad_out=x_fast)
        assert covered[1] is x_fast
        general = fs.cross_entropy(x_general, t, **_general(kw), grad_out=x_general)
        _assert_same(covered, general)


def test_fast_path_declines_what_it_does_not_cover(rng):
    x = rng.standard_normal((6, 4)).astype(np.float32)
    t = rng.integers(0, 4, 6)
    args = dict(logits=x, target=t, axis=-1, ignore_index=-100, reduction="mean",
                label_smoothing=0.0, temperature=1.0, return_grad=False, num_threads=None)
    assert _core.xent_fast_call(**args) is not None
    bad_label = t.copy()
    bad_label[2] = 4
    for change in (dict(logits=x[:, ::-1]), dict(logits=x.astype(np.float16)),
                   dict(logits=x.astype(">f4")), dict(logits=x.tolist()),
                   dict(target=t.astype(np.int32)), dict(target=t[::-1]),
                   dict(target=t[:5]), dict(target=bad_label), dict(axis=0),
                   dict(axis=np.int64(-1)), dict(ignore_index=2**63),
                   dict(ignore_index=np.int64(-100)), dict(ignore_index=True),
                   dict(reduction="avg"), dict(reduction=np.str_("mean")),
                   dict(label_smoothing=1.5), dict(label_smoothing=0), dict(temperature=0.0),
                   dict(temperature=float("inf")), dict(temperature=float("nan")),
                   dict(return_grad=1), dict(num_threads=0), dict(num_threads=2.0),
                   dict(logits=np.zeros((0, 4), np.float32), target=np.zeros(0, np.int64))):
        assert _core.xent_fast_call(**dict(args, **change)) is None, change


def test_fast_path_declines_grad_out_it_does_not_cover(rng):
    x = rng.standard_normal((6, 4)).astype(np.float32)
    t = rng.integers(0, 4, 6)
    args = dict(logits=x, target=t, axis=-1, ignore_index=-100, reduction="mean",
                label_smoothing=0.0, temperature=1.0, return_grad=False, num_threads=None)
    assert _core.xent_fast_call(**args, grad_out=np.empty_like(x)) is not None
    read_only = np.zeros_like(x)
    read_only.flags.writeable = False
    wide = np.zeros((6, 8), np.float32)
    # a float32 gradient laid over the int64 target's bytes
    shared = np.zeros(12, np.int64)
    over_target = shared.view(np.float32).reshape(6, 4)
    for label, g in (("a list", np.zeros_like(x).tolist()), ("float64", np.zeros(x.shape)),
                     ("byte-swapped", np.zeros(x.shape, ">f4")), ("read-only", read_only),
                     ("Fortran order", np.zeros(x.shape, np.float32, order="F")),
                     ("strided", wide[:, ::2]), ("another shape", np.zeros((6, 5), np.float32)),
                     ("overlapping the logits", x[::-1])):
        before = np.array(g, copy=True)
        assert _core.xent_fast_call(**args, grad_out=g) is None, label
        np.testing.assert_array_equal(g, before, err_msg=label)
    assert _core.xent_fast_call(**dict(args, target=shared[:6]), grad_out=over_target) is None
