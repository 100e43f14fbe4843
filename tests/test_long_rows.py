"""Long rows split across threads (fewer rows than threads).

The split path takes the row maximum over all chunks first and sums every
chunk against it, so its results meet the same accuracy contract as the serial
row, including outputs near 0, and non-finite rows follow the same rules.
"""

import numpy as np
import pytest
import reference as ref
from helpers import NAMES, call

import fastsoftmax as fs

N = 300_000  # several chunks per thread team at FSS_SPLIT_MIN_CHUNK


def _ids(v):
    return getattr(v, "__name__", str(v))


@pytest.mark.parametrize("threads", [2, 3, 7])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_dominant_element_in_one_chunk(name, dtype, threads, isa, rng):
    """The maximum sits in the last chunk, everything else far below: the
    other chunks add tiny sums, and log_softmax / logsumexp near 0 must keep
    their relative precision."""
    x = (rng.standard_normal((2, N)) - 40.0).astype(dtype)
    x[0, -5] = 0.0
    x[1, 7] = 3.0
    got = call(name, x, axis=-1, num_threads=threads)
    ref.check_accuracy(name, got, x, axis=-1, context=f"{isa} threads={threads}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_non_finite_split_rows_follow_the_serial_rules(name, dtype, isa):
    rows = np.zeros((4, N), dtype=dtype)
    rows[0, N - 1] = np.nan
    rows[1, N // 2] = np.inf
    rows[2, :] = -np.inf
    rows[3, 100] = -np.inf
    serial = call(name, rows, axis=-1, num_threads=1)
    split = call(name, rows, axis=-1, num_threads=8)
    # (the serial rules themselves are checked against scipy in test_special_values)
    np.testing.assert_array_equal(split, serial, err_msg=isa)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_split_rows_in_place(name, dtype, isa, rng):
    x = rng.standard_normal((1, N)).astype(dtype) * 5
    want = call(name, x, axis=-1, num_threads=1)
    func = getattr(fs, name)
    got = func(x, axis=-1, out=x, num_threads=4)
    assert got is x
    dist = ref.ulp_distance(x, want, dtype).max()
    assert dist <= ref.ULP_BOUNDS[name][np.dtype(dtype).name], f"{isa}: {dist} ULP"


@pytest.mark.parametrize("offset", [0, 1, 3, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
def test_long_log_softmax_rows_any_output_alignment(dtype, offset, isa, rng):
    """Rows this long write log_softmax with non-temporal stores from the
    output's first vector boundary on (the elements before it one by one):
    the same bits wherever the output starts, and within the bound."""
    x = (rng.standard_normal((2, N)) * 4).astype(dtype)
    want = fs.log_softmax(x, axis=-1, num_threads=1)
    buf = np.empty(2 * N + 8, dtype=dtype)
    out = buf[offset : offset + 2 * N].reshape(2, N)
    got = fs.log_softmax(x, axis=-1, out=out, num_threads=1)
    assert got is out
    np.testing.assert_array_equal(got, want, err_msg=f"{isa} offset={offset}")
    ref.check_accuracy("log_softmax", got, x, axis=-1, context=f"{isa} offset={offset}")
