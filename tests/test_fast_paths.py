"""softmax / log_softmax / logsumexp's Cython fast path (_core.fast_call) with
``out`` and ``temperature``: the same bits as the general Python path (both
make the same kernel call), ``out`` returned and written, nothing written when
it declines, and the calls it leaves to the general path still right."""

import numpy as np
import pytest

import fastsoftmax as fs
from fastsoftmax import _core

OPS = {
    "softmax": (_core.OP_SOFTMAX, fs.softmax),
    "log_softmax": (_core.OP_LOG_SOFTMAX, fs.log_softmax),
    "logsumexp": (_core.OP_LOGSUMEXP, fs.logsumexp),
}


def _result_shape(name, shape, axis):
    if name != "logsumexp":
        return shape
    if axis is None:
        return ()
    return tuple(n for d, n in enumerate(shape) if d != axis % len(shape))


def _general(name, x, axis, **kw):
    """The same call on the general path: num_threads as a NumPy integer (the
    fast path takes only a Python int)."""
    return OPS[name][1](x, axis, num_threads=np.int64(1), **kw)


def _layouts(x):
    yield "C", x
    if x.ndim == 0:
        return
    yield "F", np.array(x, order="F", copy=True)
    if x.ndim >= 2:
        yield "strided", np.repeat(x, 2, axis=-1)[..., ::2]


@pytest.mark.parametrize("name", list(OPS))
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(17,), (5, 33), (3, 4, 7), (1, 65)])
def test_out_is_the_general_path(name, dtype, shape, rng):
    op, fn = OPS[name]
    x0 = (rng.standard_normal(shape) * 4).astype(dtype)
    for label, x in _layouts(x0):
        for axis in [None, *range(-x.ndim, x.ndim)]:
            outs = list(_layouts(np.full(_result_shape(name, shape, axis), 7, dtype)))
            # the general path into an out of the same layout (the kernel plan
            # follows the layouts of both arrays)
            wants = list(_layouts(np.full(_result_shape(name, shape, axis), 7, dtype)))
            for (out_label, out), (_, want) in zip(outs, wants, strict=True):
                assert _general(name, x, axis, out=want) is want
                ctx = f"{label}/{out_label}/{axis}"
                before = x.copy()
                got = _core.fast_call(op, x, axis, 1, out)
                if got is None:
                    # only a whole-array row may decline (it wants C order throughout)
                    assert axis is None and x.ndim > 1, ctx
                    assert np.all(out == 7), "declined but wrote out"
                else:
                    assert got is out, ctx
                    np.testing.assert_array_equal(out, want, err_msg=ctx)
                assert fn(x, axis, out=out, num_threads=1) is out
                np.testing.assert_array_equal(out, want, err_msg=ctx)
                np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_temperature_is_the_general_path(name, dtype, rng):
    op, fn = OPS[name]
    x = (rng.standard_normal((9, 31)) * 4).astype(dtype)
    for temp in (0.3, 1.0, 2.5):
        want = fn(x, -1, num_threads=np.int64(1), temperature=np.float64(temp))
        got = _core.fast_call(op, x, -1, 1, None, temp)
        assert got is not None
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(fn(x, -1, num_threads=1, temperature=temp), want)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_in_place(name, rng):
    op, fn = OPS[name]
    x = (rng.standard_normal((6, 40)) * 3).astype(np.float32)
    want = _general(name, x, -1)
    y = x.copy()
    assert _core.fast_call(op, y, -1, 1, y) is y
    np.testing.assert_array_equal(y, want)
    y = x.copy()
    assert fn(y, axis=-1, out=y) is y
    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("name", list(OPS))
def test_declines_without_writing(name, rng):
    op, _ = OPS[name]
    x = (rng.standard_normal((8, 16)) * 3).astype(np.float32)
    shape = _result_shape(name, x.shape, -1)

    def fresh(dtype=np.float32, order="C"):
        return np.full(shape, 7, dtype=dtype, order=order)

    read_only = fresh()
    read_only.flags.writeable = False
    cases = [
        ("a list", x.tolist(), fresh(), {}),
        ("out of another dtype", x, fresh(np.float64), {}),
        ("out of another shape", x, np.full((3,), 7, np.float32), {}),
        ("a read-only out", x, read_only, {}),
        ("a byte-swapped out", x, fresh(">f4"), {}),
        ("out that is not an ndarray", x, [0.0] * 16, {}),
        ("a NumPy-integer num_threads", x, fresh(), {"num_threads": np.int64(1)}),
        ("a temperature that is not a float", x, fresh(), {"temperature": 2}),
        ("a zero temperature", x, fresh(), {"temperature": 0.0}),
        ("an infinite temperature", x, fresh(), {"temperature": float("inf")}),
        ("a NaN temperature", x, fresh(), {"temperature": float("nan")}),
    ]
    if name != "logsumexp":
        cases.append(("out overlapping x", x, x[::-1], {}))
    for label, arg, out, kw in cases:
        kw = {"num_threads": 1, "temperature": 1.0, **kw}
        snapshot = np.array(out, copy=True) if isinstance(out, np.ndarray) else None
        got = _core.fast_call(op, arg, -1, kw["num_threads"], out, kw["temperature"])
        assert got is None, label
        if snapshot is not None:
            np.testing.assert_array_equal(out, snapshot, err_msg=label)
    # a whole-array row needs C order for x and out alike
    if name == "logsumexp":
        assert _core.fast_call(op, x, None, 1, np.full((), 7, np.float32)) is not None
    else:
        assert _core.fast_call(op, x, None, 1, np.full(x.shape, 7, np.float32)) is not None
        f_out = np.asfortranarray(np.full(x.shape, 7, np.float32))
        assert _core.fast_call(op, x, None, 1, f_out) is None
        assert np.all(f_out == 7)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shift", [1, 5, 16])
def test_partial_overlap_goes_through_a_copy(name, shift, rng):
    """out sharing memory with x without being x: the general path computes
    into a temporary first, so out holds the result of the original x."""
    _, fn = OPS[name]
    for out_first in (True, False):
        buf = (rng.standard_normal(900 + shift) * 3).astype(np.float64)
        x = (buf[shift:] if out_first else buf[:900]).reshape(3, 300)
        out = (buf[:900] if out_first else buf[shift:]).reshape(3, 300)
        want = _general(name, x.copy(), -1)
        assert fn(x, axis=-1, out=out, num_threads=1) is out
        np.testing.assert_array_equal(out, want, err_msg=f"out first: {out_first}")


BACKWARD = {
    "softmax_backward": (_core.OP_SOFTMAX_BACKWARD, fs.softmax_backward),
    "log_softmax_backward": (_core.OP_LOG_SOFTMAX_BACKWARD, fs.log_softmax_backward),
}


@pytest.mark.parametrize("name", list(BACKWARD))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(17,), (5, 33), (3, 4, 7)])
def test_backward_out_is_the_general_path(name, dtype, shape, rng):
    op, fn = BACKWARD[name]
    g = rng.standard_normal(shape).astype(dtype)
    y = fs.softmax(rng.standard_normal(shape).astype(dtype), axis=-1)
    if name == "log_softmax_backward":
        y = np.log(y)
    want = fn(g, y, num_threads=np.int64(1))
    got = _core.backward_fast_call(op, g, y, -1, 1, None)
    np.testing.assert_array_equal(got, want)
    out = np.full(shape, 7, dtype)
    assert _core.backward_fast_call(op, g, y, -1, 1, out) is out
    np.testing.assert_array_equal(out, want)
    for which in ("g", "y"):  # in place, over either input
        gg, yy = g.copy(), y.copy()
        target = gg if which == "g" else yy
        assert fn(gg, yy, out=target, num_threads=1) is target
        np.testing.assert_array_equal(target, want)
    # declined, with nothing written; the overlapping outs are C-contiguous
    # views one element off an input's memory
    size = int(np.prod(shape))

    def shifted(a):
        buf = np.empty(size + 1, dtype)
        buf[1:] = a.reshape(-1)
        return buf[1:].reshape(shape), buf[:-1].reshape(shape)

    g2, over_g = shifted(g)
    y2, over_y = shifted(y)
    declined = [("another dtype", g, y, np.full(shape, 7, np.float16)),
                ("overlapping g", g2, y, over_g), ("overlapping y", g, y2, over_y)]
    if len(shape) > 1:
        declined.append(("Fortran order", g, y, np.full(shape, 7, dtype, order="F")))
    for label, ga, ya, o in declined:
        before = (o.copy(), ga.copy(), ya.copy())
        assert _core.backward_fast_call(op, ga, ya, -1, 1, o) is None, label
        for a, b in zip((o, ga, ya), before, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=label)
        # the general path computes into a temporary first
        assert fn(ga, ya, out=o if o.dtype == dtype else None) is not None
        if o.dtype == dtype:
            np.testing.assert_array_equal(o, want, err_msg=label)
    assert _core.backward_fast_call(op, g, y, 0 if len(shape) > 1 else 1, 1, None) is None


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1,), (33,), (5, 17), (3, 4, 7)])
def test_sigmoid_out_is_the_general_path(log, dtype, shape, rng):
    fn = fs.log_sigmoid if log else fs.sigmoid
    x0 = (rng.standard_normal(shape) * 8).astype(dtype)
    for label, x in _layouts(x0):
        want = fn(x, num_threads=np.int64(1))
        got = _core.sigmoid_fast_call(log, x, None, 1)
        contiguous = x.flags.c_contiguous or x.flags.f_contiguous
        assert (got is not None) == contiguous, label
        if got is not None:
            np.testing.assert_array_equal(got, want, err_msg=label)
        for out_label, out in list(_layouts(np.full(shape, 7, dtype))):
            before = out.copy()
            got = _core.sigmoid_fast_call(log, x, out, 1)
            same_order = (x.flags.c_contiguous and out.flags.c_contiguous) or (
                x.flags.f_contiguous and out.flags.f_contiguous)
            assert (got is out) == same_order, (label, out_label)
            if got is None:
                np.testing.assert_array_equal(out, before, err_msg="declined but wrote out")
            assert fn(x, out, num_threads=1) is out
            np.testing.assert_array_equal(out, want, err_msg=f"{label}/{out_label}")
    y = x0.copy()
    assert _core.sigmoid_fast_call(log, y, y, 1) is y
    np.testing.assert_array_equal(y, fn(x0))
    flat = x0.reshape(-1)
    if flat.size > 1:
        over = np.full(flat.size + 1, 7, dtype)
        src = over[1:]
        src[...] = flat
        # out one element before x: declined, and the general path copies
        assert _core.sigmoid_fast_call(log, src, over[:-1], 1) is None
        assert fn(src, over[:-1]) is not None
        np.testing.assert_array_equal(over[:-1], fn(flat))
