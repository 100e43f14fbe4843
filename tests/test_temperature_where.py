"""temperature= and where= on the softmax family.

temperature: the result equals the call on ``x / T`` (divided in the compute
precision) bit for bit over contiguous rows, and within the accuracy bound on
every other layout and axis (where the plain call may take the column kernels
while the scaled one goes through a row buffer).
where: as jax.nn — masked elements leave the sum, get 0 / -inf, and a fully
masked row gives zeros / -inf, never NaN; unmasked elements meet the same
accuracy contract as the call on the unmasked subset.
"""

import numpy as np
import pytest
import reference as ref

import fastsoftmax as fs

SIZES = (1, 3, 8, 17, 33, 65, 1000)


def _ids(v):
    return getattr(v, "__name__", str(v))


def _layouts(rng, n, dtype):
    base = rng.standard_normal((6, n)).astype(dtype) * 4
    yield "C", base
    yield "F", np.asfortranarray(base)
    yield "strided", (rng.standard_normal((12, 2 * n)).astype(dtype) * 4)[::2, ::2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("func", [fs.softmax, fs.log_softmax], ids=_ids)
def test_temperature_equals_call_on_scaled_input(func, dtype, isa, rng):
    for n in SIZES:
        for label, x in _layouts(rng, n, dtype):
            for t in (0.25, 0.7, 3.0):
                for axis in (-1, 0, None):
                    got = func(x, axis=axis, temperature=t)
                    want = func(x / dtype(t), axis=axis)
                    ctx = f"{isa} {label} n={n} T={t} axis={axis}"
                    if label == "C" and axis == -1:
                        np.testing.assert_array_equal(got, want, err_msg=ctx)
                    else:
                        ref.check_accuracy(func.__name__, got, x / dtype(t), axis=axis, context=ctx)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("func", [fs.softmax, fs.log_softmax], ids=_ids)
def test_temperature_short_rows_in_groups(func, dtype, isa, rng):
    """Short rows with a temperature go through the short-row kernel a
    vector's width of rows at a time (whole groups, a partial last one, rows
    the kernel declines): the bits of the call on x / T, into a contiguous
    output and into a strided one, on one thread and on two."""
    for n in (1, 3, 7, 8, 9, 16, 17, 31, 33, 48, 63, 64, 65):
        x = rng.standard_normal((37, n)).astype(dtype) * 4
        x[5, n // 2] = np.inf  # a row the short-row kernel declines
        x[11, 0] = np.nan
        for t in (0.3, 2.0):
            with np.errstate(invalid="ignore"):
                want = func(x / dtype(t), axis=-1)
            ctx = f"{isa} n={n} T={t}"
            np.testing.assert_array_equal(func(x, axis=-1, temperature=t), want, err_msg=ctx)
            strided = np.full((37, 2 * n), 7, dtype)[:, ::2]
            assert func(x, axis=-1, temperature=t, out=strided) is strided
            np.testing.assert_array_equal(strided, want, err_msg=ctx + " strided out")
    big = rng.standard_normal((20000, 10)).astype(dtype)
    want = func(big / dtype(0.5), axis=-1)
    for threads in (1, 2):
        got = func(big, axis=-1, temperature=0.5, num_threads=threads)
        np.testing.assert_array_equal(got, want, err_msg=f"{threads} threads")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("func", [fs.softmax, fs.log_softmax], ids=_ids)
def test_temperature_power_of_two_by_reciprocal(func, dtype, rng):
    """A power-of-two temperature divides by multiplying with its reciprocal:
    the same bits as the division, at the edges of the range too (products
    that overflow, that fall below the normal range, that become 0)."""
    info = np.finfo(dtype)
    x = (rng.standard_normal((5, 300)) * 4).astype(dtype)
    x[0, :4] = [info.max, -info.max, info.tiny, -info.tiny]
    x[1, :3] = [info.tiny * 3, info.smallest_subnormal, 1.5]
    x[2, 5] = info.max / 2
    for t in (0.5, 2.0, 0.25, 1024.0, 2.0**-20, 2.0**40, 2.0**-100, 3.0):
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            want = func(x / dtype(t), axis=-1)
            got = func(x, axis=-1, temperature=t)
            np.testing.assert_array_equal(got, want, err_msg=f"T={t}")
            # strided rows take the same division
            xs = np.repeat(x, 2, axis=-1)[:, ::2]
            np.testing.assert_array_equal(func(xs, axis=-1, temperature=t), want, err_msg=f"T={t}")


@pytest.mark.parametrize("func", [fs.softmax, fs.log_softmax], ids=_ids)
def test_temperature_in_place_float16_and_threads(func, rng):
    x = rng.standard_normal((300, 500)).astype(np.float32)
    want = func(x / np.float32(0.5), axis=-1)
    y = x.copy()
    assert func(y, axis=-1, out=y, temperature=0.5, num_threads=2) is y
    np.testing.assert_array_equal(y, want)
    h = x[:4, :40].astype(np.float16)
    want16 = func(h.astype(np.float32) / 2, axis=-1).astype(np.float16)
    np.testing.assert_array_equal(func(h, axis=-1, temperature=2.0), want16)
    x[0, 0] = 7.0
    before = x.copy()
    func(x, temperature=1.5)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("bad", [0, -1.0, np.inf, np.nan])
@pytest.mark.parametrize("func", [fs.softmax, fs.log_softmax], ids=_ids)
def test_bad_temperature_value(func, bad):
    with pytest.raises(ValueError, match="temperature"):
        func(np.ones(3), temperature=bad)


@pytest.mark.parametrize("bad", ["2", True, None, 1j])
def test_bad_temperature_type(bad):
    with pytest.raises(TypeError, match="temperature"):
        fs.softmax(np.ones(3), temperature=bad)


def _check_masked_rows(name, got, x, mask, context):
    fill = 0.0 if name == "softmax" else -np.inf
    for i in range(x.shape[0]):
        keep = mask[i]
        if name == "logsumexp":
            if keep.any():
                ref.check_accuracy(name, np.asarray(got[i]), x[i][keep], context=context)
            else:
                assert got[i] == -np.inf, context
            continue
        assert np.all(got[i][~keep] == fill), f"{context}: masked outputs of row {i}"
        if keep.any():
            ref.check_accuracy(name, got[i][keep], x[i][keep], context=f"{context} row {i}")
    assert not np.isnan(got).any(), context


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_where_matches_the_unmasked_subset(name, dtype, isa, rng):
    func = getattr(fs, name)
    for n in SIZES:
        x = (rng.standard_normal((7, n)) * 5).astype(dtype)
        mask = rng.random((7, n)) < 0.6
        mask[0] = False  # a fully masked row
        mask[1] = True
        x[2, ~mask[2]] = np.nan  # a masked NaN stays out of its row
        got = func(x, axis=-1, where=mask)
        _check_masked_rows(name, got, x, mask, f"{isa} n={n}")


def test_where_broadcasts_and_causal_mask():
    x = np.random.default_rng(1).standard_normal((4, 5, 5))
    causal = np.tri(5, dtype=bool)  # (5, 5) broadcast over the batch
    y = fs.softmax(x, axis=-1, where=causal)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-15)
    assert np.all(y[..., ~causal] == 0)
    np.testing.assert_allclose(y[:, 0, 0], 1.0)
    row_mask = np.array([True, False, True, True, False])  # (5,) broadcast
    np.testing.assert_allclose(
        fs.log_softmax(x, axis=-1, where=row_mask)[..., row_mask],
        fs.log_softmax(x[..., row_mask], axis=-1),
        rtol=1e-15,
    )
    np.testing.assert_allclose(
        fs.logsumexp(x, axis=-1, where=row_mask), fs.logsumexp(x[..., row_mask], axis=-1)
    )


def test_where_with_temperature_and_out():
    x = np.random.default_rng(2).standard_normal((3, 9)).astype(np.float32)
    mask = np.ones((3, 9), bool)
    mask[:, ::3] = False
    out = np.empty_like(x)
    res = fs.softmax(x, axis=-1, where=mask, temperature=2.0, out=out)
    assert res is out
    want = fs.softmax(x[mask].reshape(3, 6) / 2, axis=-1)
    np.testing.assert_array_equal(out[mask].reshape(3, 6), want)
    assert np.all(out[~mask] == 0)


@pytest.mark.parametrize("func", [fs.softmax, fs.log_softmax, fs.logsumexp], ids=_ids)
def test_bad_where(func):
    x = np.ones((2, 3))
    with pytest.raises(TypeError, match="where"):
        func(x, where=np.ones((2, 3)))
    with pytest.raises(ValueError, match="where"):
        func(x, where=np.ones((3, 2), bool))
