"""float32 softmax of rows too long for the cache, taken in chunks.

A row of at least 16 * 8192 elements (csrc/driver/softmax_driver_body.h,
FSS_LONG_ROW) is computed chunk by chunk: each chunk's terms against its own
maximum, without rounding x - m_c (spec_loop's one pass where the chunk is in
range for its first element's K, row_sumexp_c's terms else), then every
chunk scaled by a double factor. So these rows meet the bare softmax bound with no
shift allowance, give the same bits at every thread count (split_rows takes
the same chunks), and keep the general path's rules for non-finite rows.
"""

import numpy as np
import pytest
import reference as ref

import fastsoftmax as fs

CHUNK = 8192
N = 16 * CHUNK + 1234  # the smallest chunked rows, and a partial last chunk
BOUND = ref.ULP_BOUNDS["softmax"]["float32"]


def _reference(x: np.ndarray) -> np.ndarray:
    xd = x.astype(np.float64)
    with np.errstate(invalid="ignore", under="ignore"):
        e = np.exp(xd - xd.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("scale", [1.0, 8.0, 30.0])
def test_bare_bound_without_shift_allowance(scale, isa, rng):
    """Wide-ranged rows: plain softmax rounds x - max and needs the shift
    allowance (tens of ULP at this scale); the chunked rows do not."""
    x = (rng.standard_normal((2, N)) * scale).astype(np.float32)
    x[1] += 70.0  # a maximum past the unshifted terms' range
    got = fs.softmax(x, axis=-1, num_threads=1)
    ref.assert_ulp_close(got, _reference(x), BOUND, None, context=f"{isa} scale={scale}")


@pytest.mark.parametrize("threads", [2, 3, 8])
def test_same_bits_at_every_thread_count(threads, isa, rng):
    x = rng.standard_normal((1, 3 * N)).astype(np.float32) * 5
    serial = fs.softmax(x, axis=-1, num_threads=1)
    split = fs.softmax(x, axis=-1, num_threads=threads)
    np.testing.assert_array_equal(split, serial, err_msg=f"{isa} threads={threads}")


def test_maximum_in_one_chunk_far_above_the_rest(isa, rng):
    """Every other chunk's factor underflows towards 0; its outputs must still
    round correctly where they are normal."""
    x = (rng.standard_normal((1, N)) - 60.0).astype(np.float32)
    x[0, 5 * CHUNK + 17] = 25.0
    got = fs.softmax(x, axis=-1, num_threads=1)
    ref.assert_ulp_close(got, _reference(x), BOUND, None, context=isa)


def test_a_chunk_of_minus_inf(isa, rng):
    """A whole chunk of -inf (a mask) gives exact zeros there, and the rest
    the softmax of the finite elements."""
    x = rng.standard_normal((1, N)).astype(np.float32)
    x[0, 3 * CHUNK : 5 * CHUNK] = -np.inf
    got = fs.softmax(x, axis=-1, num_threads=1)
    assert np.all(got[0, 3 * CHUNK : 5 * CHUNK] == 0)
    ref.assert_ulp_close(got, _reference(x), BOUND, None, context=isa)


@pytest.mark.parametrize("threads", [1, 4])
@pytest.mark.parametrize("where", ["nan last", "nan first", "inf", "all -inf"])
def test_non_finite_rows_in_place(where, threads, isa, rng):
    """scipy's rules (NaN throughout), also in place, where the chunks
    already written cannot be read back."""
    x = rng.standard_normal((1, N)).astype(np.float32)
    if where == "nan last":
        x[0, -1] = np.nan
    elif where == "nan first":
        x[0, 3] = np.nan
    elif where == "inf":
        x[0, 9 * CHUNK] = np.inf
    else:
        x[:] = -np.inf
    got = fs.softmax(x, axis=-1, out=x, num_threads=threads)
    assert got is x
    assert np.all(np.isnan(x)), f"{isa} {where}"


def test_float64_rows_are_not_chunked_and_keep_their_bound(isa, rng):
    x = rng.standard_normal((1, N)) * 8
    got = fs.softmax(x, axis=-1, num_threads=1)
    ref.check_accuracy("softmax", got, x, axis=-1, context=isa)


@pytest.mark.parametrize("pos", [0, 1, 5000, CHUNK - 1])
def test_a_nan_in_a_chunk_of_minus_inf(pos, isa, rng):
    """The chunk's maximum (row_max) can come out -inf beside a NaN; the
    NaN must still make the row NaN throughout"""
    x = rng.standard_normal((1, N)).astype(np.float32)
    x[0, 3 * CHUNK : 4 * CHUNK] = -np.inf
    x[0, 3 * CHUNK + pos] = np.nan
    for threads in (1, 2):
        assert np.all(np.isnan(fs.softmax(x, axis=-1, num_threads=threads))), f"{isa} {threads}"
    assert np.all(np.isnan(fs.softmax(x, axis=-1, out=x)))


@pytest.mark.parametrize("n", [N, 16 * CHUNK + 5000, 17 * CHUNK])
def test_in_place_gives_the_out_of_place_bits(n, isa, rng):
    """last chunks shorter and longer than the one pass takes, and none"""
    x = (rng.standard_normal((2, n)) * 4).astype(np.float32)
    x[1, 4 * CHUNK + 3] += 80.0  # one chunk out of its first element's range
    want = fs.softmax(x, axis=-1, num_threads=1)
    ref.assert_ulp_close(want, _reference(x), BOUND, None, context=isa)
    got = fs.softmax(x, axis=-1, out=x, num_threads=1)
    np.testing.assert_array_equal(got, want)
