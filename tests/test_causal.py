"""causal=True on softmax, log_softmax and logsumexp.

Semantics: over the last two axes (L, S), element (..., i, j) takes part iff
j <= i (``np.tril(np.ones((L, S), bool))``, top-left aligned as torch.tril
and PyTorch's scaled_dot_product_attention(is_causal=True)). The result must
be bit for bit that of ``where=tril`` on C-contiguous input; the C driver
gets there without building the mask (it pads a long row's prefix with -inf
to the kernels' pair boundary only where the association would differ; the
short-row kernel sums in element order and needs no padding), so
these tests run every ISA over lengths around the SIMD widths: 2W is 16
float32 / 8 float64 elements on AVX2 and 32 / 16 on AVX-512.

Other layouts (Fortran, strided, negative strides) go through a row buffer
and the same row kernels, so they give the C-contiguous causal result bit
for bit too; against where= there they are within the accuracy bound. The
kept part of each row also meets the accuracy table against a float64 /
longdouble reference (tests/reference.py).
"""

import re

import numpy as np
import pytest
import reference as ref
from numpy.exceptions import AxisError

import fastsoftmax as fs

FUNCS = ("softmax", "log_softmax", "logsumexp")
# 97, 129 and 193: inside and past the AVX-512 lane kernel's limits (128 /
# 192 float, 64 / 96 / 128 double), where causal rows go through it in groups
S_VALUES = (1, 3, 7, 15, 16, 17, 31, 33, 63, 65, 97, 129, 193, 1000)


def _ids(v):
    return getattr(v, "__name__", str(v))


def _l_values(s):
    """L below, equal to and above S."""
    return sorted({1, max(1, s // 3), s, s + 3})


def _tril(shape):
    return np.tril(np.ones(shape[-2:], dtype=bool))


def _input(rng, shape, dtype):
    return (rng.standard_normal(shape) * 4).astype(dtype)


def _batch_shape(s, l_len):
    """Batch dims for small cases, none for the big ones (test time)."""
    return (2, 3, l_len, s) if s * l_len <= 4000 else (l_len, s)


def _assert_same(got, want, context):
    np.testing.assert_array_equal(got, want, err_msg=context)
    assert np.asarray(got).dtype == np.asarray(want).dtype, context


# --------------------------------------------------------------------------
# bit for bit against where=tril, every ISA, C order, threads 1 and 2
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16], ids=_ids)
@pytest.mark.parametrize("name", FUNCS)
def test_equals_where_tril_bit_for_bit(name, dtype, isa, rng):
    func = getattr(fs, name)
    for s in S_VALUES:
        for l_len in _l_values(s):
            shape = _batch_shape(s, l_len)
            x = _input(rng, shape, dtype)
            mask = _tril(shape)
            want = func(x, axis=-1, where=mask, num_threads=1)
            for nt in (1, 2):
                ctx = f"{isa} {shape} threads={nt}"
                _assert_same(func(x, axis=-1, causal=True, num_threads=nt), want, ctx)
            if name != "logsumexp":
                fill = 0.0 if name == "softmax" else -np.inf
                assert np.all(want[..., ~mask] == fill)


@pytest.mark.parametrize("name", FUNCS)
def test_positive_axis_and_tuple_axis(name, rng):
    func = getattr(fs, name)
    x = _input(rng, (3, 9, 20), np.float32)
    want = func(x, axis=-1, where=_tril(x.shape))
    _assert_same(func(x, axis=2, causal=True), want, "axis=2")
    _assert_same(func(x, axis=(-1,), causal=True), want, "axis=(-1,)")
    _assert_same(func(x, axis=-1, causal=np.True_), want, "np.True_")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", FUNCS)
def test_kept_part_meets_the_accuracy_bound(name, dtype, isa, rng):
    """Each row's prefix against the float64 / longdouble reference."""
    func = getattr(fs, name)
    for s in S_VALUES:
        l_len = min(s + 3, 40)
        x = _input(rng, (2, l_len, s), dtype)
        got = func(x, axis=-1, causal=True)
        for i in range(l_len):
            k = min(i + 1, s)
            part = got[:, i] if name == "logsumexp" else got[:, i, :k]
            prefix = np.ascontiguousarray(x[:, i, :k])
            ref.check_accuracy(name, part, prefix, axis=-1, context=f"{isa} S={s} i={i}")
            if name != "logsumexp":
                assert np.all(got[:, i, k:] == (0.0 if name == "softmax" else -np.inf))


# --------------------------------------------------------------------------
# layouts: Fortran, strided, negative strides, non-mergeable batch axes
# --------------------------------------------------------------------------
def _layouts(rng, shape, dtype):
    base = _input(rng, shape, dtype)
    yield "F", np.asfortranarray(base)
    big = _input(rng, tuple(2 * n for n in shape), dtype)
    yield "strided", big[::2, ::2, ::2]
    yield "last-contiguous strided rows", big[::2, ::2, : shape[-1]]
    yield "negative", base[::-1, ::-1, ::-1]
    yield "transposed batch", np.swapaxes(_input(rng, (shape[1], shape[0], shape[2]), dtype), 0, 1)
    yield "batch of F", np.asfortranarray(base.transpose(2, 1, 0)).transpose(2, 1, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", FUNCS)
def test_any_layout_equals_c_order(name, dtype, isa, rng):
    """Not C-contiguous: the same bits as on a C copy; within the bound of where=tril."""
    func = getattr(fs, name)
    for s in (1, 7, 16, 17, 33, 65):
        for l_len in (1, s // 2 + 1, s + 3):
            for label, x in _layouts(rng, (3, l_len, s), dtype):
                ctx = f"{isa} {label} L={l_len} S={s}"
                before = x.copy()
                got = func(x, axis=-1, causal=True, num_threads=2)
                np.testing.assert_array_equal(x, before, err_msg=f"{ctx}: input modified")
                _assert_same(got, func(np.ascontiguousarray(x), axis=-1, causal=True), ctx)
                want = func(x, axis=-1, where=_tril(x.shape))
                if name == "logsumexp":
                    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps)
                else:
                    keep = np.broadcast_to(_tril(x.shape), x.shape)
                    _assert_same(got[~keep], want[~keep], ctx)
                    # each kept prefix within the library's bound, both ways:
                    # they need not share bits (where= on a layout that goes
                    # through the column kernels may take their one pass,
                    # free of the rounding of x - m that the causal prefix
                    # keeps), so each against the reference, not each other
                    for i in range(l_len):
                        k = min(i + 1, s)
                        prefix = np.ascontiguousarray(x[:, i, :k])
                        for label2, res in (("causal", got), ("where", want)):
                            where = f"{ctx} {label2} i={i}"
                            ref.check_accuracy(name, res[:, i, :k], prefix, axis=-1, context=where)


# --------------------------------------------------------------------------
# out=, in place, temperature, where=, threads
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_out_and_in_place(name, dtype, isa, rng):
    func = getattr(fs, name)
    for s, l_len in ((17, 20), (65, 30), (1000, 12)):
        x = _input(rng, (2, l_len, s), dtype)
        want = func(x, axis=-1, causal=True)
        out = np.full_like(x, 7)
        assert func(x, axis=-1, causal=True, out=out) is out
        _assert_same(out, want, "out C")
        out_f = np.asfortranarray(np.full_like(x, 7))
        func(x, axis=-1, causal=True, out=out_f, num_threads=2)
        _assert_same(out_f, want, "out F (strided output rows)")
        out_s = np.full((2, l_len, 2 * s), 7, dtype=dtype)[..., ::2]
        func(x, axis=-1, causal=True, out=out_s)
        _assert_same(out_s, want, "out strided")
        y = x.copy()
        assert func(y, axis=-1, causal=True, out=y) is y
        _assert_same(y, want, "in place")
        yf = np.asfortranarray(x)
        func(yf, axis=-1, causal=True, out=yf)
        _assert_same(yf, want, "in place F")


def test_logsumexp_out_and_keepdims(rng):
    x = _input(rng, (2, 33, 40), np.float32)
    want = fs.logsumexp(x, axis=-1, where=_tril(x.shape))
    out = np.empty((2, 33), np.float32)
    assert fs.logsumexp(x, axis=-1, causal=True, out=out) is out
    _assert_same(out, want, "out")
    _assert_same(fs.logsumexp(x, axis=-1, causal=True, keepdims=True), want[..., None], "keepdims")


def test_float16_out_and_result(rng):
    x = _input(rng, (3, 17, 17), np.float16)
    want = fs.softmax(x, axis=-1, where=_tril(x.shape))
    out = np.empty_like(x)
    fs.softmax(x, axis=-1, causal=True, out=out)
    _assert_same(out, want, "float16 out")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_temperature(name, dtype, isa, rng):
    func = getattr(fs, name)
    for s in (3, 16, 17, 33, 1000):
        x = _input(rng, (2, min(s + 3, 50), s), dtype)
        mask = _tril(x.shape)
        for t in (0.3, 2.5):
            got = func(x, axis=-1, causal=True, temperature=t, num_threads=2)
            _assert_same(got, func(x, axis=-1, where=mask, temperature=t), f"{isa} S={s} T={t}")
            _assert_same(got, func(x / dtype(t), axis=-1, causal=True), f"{isa} x/T S={s}")
        xf = np.asfortranarray(x)
        _assert_same(func(xf, axis=-1, causal=True, temperature=0.5),
                     func(x, axis=-1, causal=True, temperature=0.5), "F, temperature")


@pytest.mark.parametrize("name", FUNCS)
def test_combines_with_where(name, isa, rng):
    func = getattr(fs, name)
    for s, l_len in ((17, 20), (65, 9), (1000, 40)):
        x = _input(rng, (3, l_len, s), np.float32)
        where = rng.random((3, l_len, s)) < 0.7
        where[0, 0] = False  # a row with nothing kept
        where[1, :, 0] = False  # query 0 of batch 1: nothing kept
        both = where & _tril(x.shape)
        want = func(x, axis=-1, where=both)
        _assert_same(func(x, axis=-1, where=where, causal=True), want, f"{isa} S={s}")
        row = rng.random(s) < 0.5  # a broadcast where
        _assert_same(func(x, axis=-1, where=row, causal=True),
                     func(x, axis=-1, where=row & _tril(x.shape)), f"{isa} S={s} row mask")
        assert not np.isnan(func(x, axis=-1, where=where, causal=True)).any()


def test_threads_give_the_same_bits(rng):
    """Rows dealt round-robin to threads: every thread count gives the same result."""
    for shape in ((1, 300, 3000), (4, 64, 64), (2, 500, 5)):
        x = _input(rng, shape, np.float32)
        for name in FUNCS:
            func = getattr(fs, name)
            want = func(x, axis=-1, causal=True, num_threads=1)
            for nt in (2, 3, 8):
                _assert_same(func(x, axis=-1, causal=True, num_threads=nt), want, f"{shape} {nt}")


# --------------------------------------------------------------------------
# other dtypes and options: the where route
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int32, np.complex128, np.longdouble], ids=_ids)
def test_other_dtypes(dtype, rng):
    x = (rng.standard_normal((2, 6, 9)) * 3).astype(dtype)
    mask = _tril(x.shape)
    for name in FUNCS:
        func = getattr(fs, name)
        got = func(x, axis=-1, causal=True)
        want = func(x, axis=-1, where=mask)
        _assert_same(got, want, f"{name} {np.dtype(dtype)}")


def test_logsumexp_b_and_return_sign(rng):
    x = _input(rng, (2, 7, 9), np.float64)
    b = rng.standard_normal((7, 9))
    mask = _tril(x.shape)
    got = fs.logsumexp(x, axis=-1, b=b, return_sign=True, causal=True)
    want = fs.logsumexp(x, axis=-1, b=b, return_sign=True, where=mask)
    _assert_same(got[0], want[0], "b, res")
    _assert_same(got[1], want[1], "b, sign")
    xm = np.where(mask, x, -np.inf)
    np.testing.assert_allclose(got[0], fs.logsumexp(xm, axis=-1, b=b, return_sign=True)[0],
                               rtol=1e-14)


# --------------------------------------------------------------------------
# special values and empty shapes
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", FUNCS)
def test_non_finite_values_follow_where(name, isa, rng):
    func = getattr(fs, name)
    for s in (5, 40):
        x = _input(rng, (6, s), np.float64)
        x[1, 0] = np.nan  # in the kept part of row 1
        x[2, 4] = np.nan  # masked in row 2 (j=4 > i=2): stays out
        x[3, 0] = np.inf
        x[4, :] = -np.inf  # nothing finite
        x[5, 1] = -np.inf
        with np.errstate(invalid="ignore"):
            got = func(x, axis=-1, causal=True)
            want = func(x, axis=-1, where=_tril(x.shape))
        _assert_same(got, want, f"{isa} S={s}")
        assert not np.isnan(got[2]).any()


@pytest.mark.parametrize("shape", [(0, 5), (4, 0, 5), (3, 0), (2, 1, 1), (1, 4)])
def test_empty_and_degenerate_shapes(shape):
    x = np.ones(shape)
    for name in FUNCS:
        func = getattr(fs, name)
        if shape[-1] == 0 and name != "logsumexp":
            with pytest.raises(ValueError, match=r"\bx\b"):
                func(x, axis=-1, causal=True)
            continue
        got = func(x, axis=-1, causal=True)
        want = func(x, axis=-1, where=_tril(shape))
        _assert_same(got, want, f"{name} {shape}")


# --------------------------------------------------------------------------
# bad values: clear errors naming causal, nothing written
# --------------------------------------------------------------------------
X = np.arange(24.0).reshape(2, 3, 4) / 7


def _expect(exc, argname, func, *args, **kw):
    x = X.copy()
    out = None
    if func is not fs.logsumexp and "out" not in kw and args and args[0] is X:
        out = np.full(X.shape, 7.0)
        kw["out"] = out
    with pytest.raises(exc) as info:
        func(*[x if a is X else a for a in args], **kw)
    assert re.search(rf"\b{argname}\b", str(info.value)), str(info.value)
    np.testing.assert_array_equal(x, X)
    if out is not None:
        assert np.all(out == 7.0)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("value", [1, 0, "yes", None, 1.0, [True], np.array([True, False])])
def test_causal_not_a_bool(name, value):
    _expect(TypeError, "causal", getattr(fs, name), X, axis=-1, causal=value)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("axis", [0, 1, -2, None, (1, 2), (0, 2), ()])
def test_causal_needs_the_last_axis(name, axis):
    _expect(ValueError, "causal", getattr(fs, name), X, axis=axis, causal=True)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("shape", [(), (5,)])
def test_causal_needs_two_dims(name, shape):
    func = getattr(fs, name)
    with pytest.raises(ValueError, match=r"\bcausal\b") as info:
        func(np.ones(shape), axis=-1 if shape else None, causal=True)
    assert "ndim" in str(info.value)


@pytest.mark.parametrize("name", FUNCS)
def test_bad_axis_still_names_axis(name):
    with pytest.raises(AxisError, match="axis"):
        getattr(fs, name)(X, axis=3, causal=True)


def test_causal_false_is_the_plain_call(rng):
    x = _input(rng, (4, 9, 33), np.float32)
    for name in FUNCS:
        func = getattr(fs, name)
        _assert_same(func(x, axis=-1, causal=False), func(x, axis=-1), name)
        _assert_same(func(x, axis=0, causal=np.False_), func(x, axis=0), name)
