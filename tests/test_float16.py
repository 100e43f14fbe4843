"""float16 through the kernels: rows converted to float32 on load (F16C /
NEON / exact C) and rounded once on store, no array-sized temporaries.

The contract is exact: the result equals NumPy's ``astype(float32)``, the
float32 call, then ``astype(float16)``, bit for bit, on every layout, ISA and
thread count; and the conversions alone equal NumPy's on every float16 and
on a sweep of float32 bit patterns."""

import numpy as np
import pytest

import fastsoftmax as fs

FUNCS = ["softmax", "log_softmax", "logsumexp"]
SIZES = [1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 1000]


def _via_float32(name, x, **kw):
    out = getattr(fs, name)(x.astype(np.float32), **kw)
    return np.asarray(out).astype(np.float16)


def _same(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == np.float16
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))


def test_half_to_float_every_value(isa):
    h = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    f = np.empty(h.size, np.float32)
    fs._core.half_convert(h, f)
    want = h.astype(np.float32)
    nan = np.isnan(want)
    assert np.isnan(f[nan]).all()
    np.testing.assert_array_equal(f[~nan].view(np.uint32), want[~nan].view(np.uint32))


@pytest.mark.parametrize("offset", [0, 5])
def test_float_to_half_sweep(isa, offset):
    # every 251st float32 bit pattern (both signs, all exponents: subnormal
    # and overflowing results, ties), at two offsets so the vector body and
    # the scalar tail both see each kind
    bits = np.arange(offset, 1 << 32, 251, dtype=np.uint64).astype(np.uint32)
    f = bits.view(np.float32)
    h = np.empty(f.size, np.float16)
    fs._core.half_convert(f, h)
    with np.errstate(over="ignore", invalid="ignore"):
        want = f.astype(np.float16)
    nan = np.isnan(f)
    assert np.isnan(h[nan]).all()
    np.testing.assert_array_equal(h[~nan].view(np.uint16), want[~nan].view(np.uint16))


def test_ties_round_to_even(isa):
    # exactly half-way between neighbouring float16 values, normal and subnormal
    lo = np.array([1.0, 1024.0, 2.0**-24, 3 * 2.0**-24, 2.0**-14, 65504.0 - 32], np.float64)
    step = np.array([2.0**-10, 1.0, 2.0**-24, 2.0**-24, 2.0**-24, 32.0])
    f = np.repeat((lo + step / 2).astype(np.float32), 9)  # 9: a vector and a tail
    h = np.empty(f.size, np.float16)
    fs._core.half_convert(f, h)
    _same(h, f.astype(np.float16))


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("n", SIZES)
def test_rows_match_float32_path(isa, rng, name, n):
    x = (rng.standard_normal((5, n)) * 4).astype(np.float16)
    for axis in (-1, 0):
        _same(getattr(fs, name)(x, axis=axis), _via_float32(name, x, axis=axis))


@pytest.mark.parametrize("name", FUNCS)
def test_layouts(isa, rng, name):
    base = (rng.standard_normal((6, 40, 33)) * 3).astype(np.float16)
    views = {
        "C": base,
        "F": np.asfortranarray(base),
        "strided": base[:, ::3, ::2],
        "negative": base[::-1, :, ::-1],
    }
    for label, x in views.items():
        for axis in (0, 1, 2, None):
            got = getattr(fs, name)(x, axis=axis)
            _same(got, _via_float32(name, x, axis=axis))
            assert np.shares_memory(got, x) is False, label


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_out_and_in_place(isa, rng, name):
    x = (rng.standard_normal((7, 65)) * 3).astype(np.float16)
    want = _via_float32(name, x, axis=-1)
    out = np.empty_like(x)
    assert getattr(fs, name)(x, axis=-1, out=out) is out
    _same(out, want)
    y = x.copy()
    getattr(fs, name)(y, axis=-1, out=y)
    _same(y, want)
    strided_out = np.empty((7, 130), np.float16)[:, ::2]
    getattr(fs, name)(x, axis=-1, out=strided_out)
    _same(strided_out, want)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("temperature", [0.5, 3.0])
def test_temperature(isa, rng, name, temperature):
    x = (rng.standard_normal((9, 33)) * 3).astype(np.float16)
    got = getattr(fs, name)(x, axis=-1, temperature=temperature)
    _same(got, _via_float32(name, x, axis=-1, temperature=temperature))


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("shape", [(3, 40000), (64, 1000)])
def test_threads(isa, rng, name, shape):
    # (3, 40000): fewer rows than threads, each row split across the team
    x = (rng.standard_normal(shape) * 4).astype(np.float16)
    want = _via_float32(name, x, axis=-1, num_threads=1)
    for threads in (1, 2, 4):
        _same(getattr(fs, name)(x, axis=-1, num_threads=threads), want)


@pytest.mark.parametrize("name", FUNCS)
def test_special_values(isa, name):
    x = np.array(
        [
            [0.0, -np.inf, 1.0, 2.0],
            [np.nan, 1.0, 2.0, 3.0],
            [np.inf, 1.0, 0.0, -1.0],
            [-np.inf] * 4,
            [65504.0, -65504.0, 6e-8, -6e-8],
            [6e-8, 1e-7, 0.0, -0.0],
        ],
        np.float16,
    )
    with np.errstate(invalid="ignore", over="ignore"):
        got = getattr(fs, name)(x, axis=-1)
        want = _via_float32(name, x, axis=-1)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    _same(np.asarray(got)[ok], np.asarray(want)[ok])


def test_logsumexp_of_one_element_is_identity(isa):
    # every finite float16 through load, the float32 kernel and store
    h = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    h = h[np.isfinite(h)].reshape(-1, 1)
    got = fs.logsumexp(h, axis=1)
    _same(got, _via_float32("logsumexp", h, axis=1))
    np.testing.assert_array_equal(got, h[:, 0])  # by value: lse(-0.0) is +0.0
