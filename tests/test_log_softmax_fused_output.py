"""log_softmax rows in groups (csrc/driver/softmax_driver_body.h,
rows_range): a group's outputs are written during the next group's one
pass, row j's alongside row j of the next group (row_lsm_sums), and the
last group's after the loop. Each output must be its own row's, with its
own maximum and log1p(rest), and carry the bits the row gets alone.

Rows of every length the groups take (past the short-row kernel, up to
8 KiB), counts that leave a short last group or a lone row, rows at very
different offsets (so that an output paired with the wrong row's maximum
is far out), and non-finite rows at every place in a group (their outputs
are written at once, not carried to the next group). Checked on every ISA
against the longdouble reference, against each row alone, in place, with
two threads and in float64.
"""

import helpers
import numpy as np
import pytest
import reference as ref
from scipy import special

import fastsoftmax as fs

# past every ISA's short-row limit, tails of each vector width and step,
# the group limit (8 KiB of float32)
LENGTHS = [129, 250, 513, 1000, 1024, 2047, 2048]
COUNTS = [2, 8, 9, 17, 23]


def _rows(rng, count, n, dtype=np.float32):
    """rows spread and confident, each at its own offset"""
    x = rng.standard_normal((count, n)) * rng.uniform(0.5, 6.0, (count, 1))
    x += rng.uniform(-40.0, 40.0, (count, 1))
    return x.astype(dtype)


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("count", COUNTS)
def test_each_output_is_its_own_rows(isa, n, count, rng):
    x = _rows(rng, count, n)
    got = fs.log_softmax(x, axis=-1)
    ref.check_accuracy("log_softmax", got, x, axis=-1, context=f"{isa} n={n} rows={count}")
    for r in (0, count // 2, count - 1):
        np.testing.assert_array_equal(fs.log_softmax(x[r], axis=-1), got[r])
    xi = x.copy()
    np.testing.assert_array_equal(fs.log_softmax(xi, axis=-1, out=xi), got)
    np.testing.assert_array_equal(fs.log_softmax(x, axis=-1, num_threads=2), got)


@pytest.mark.parametrize("n", [250, 1000])
@pytest.mark.parametrize("where", [0, 3, 7, 8, 12, 16])
def test_non_finite_rows_among_the_groups(isa, n, where, rng):
    """A row with +inf, one with NaN and one all -inf at each place of a
    group: their outputs follow the scipy convention and the finite rows
    around them keep theirs"""
    count = 19
    x = _rows(rng, count, n)
    bad = [where, (where + 1) % count, (where + 9) % count]
    x[bad[0], n // 2] = np.inf
    x[bad[1], n // 3] = np.nan
    x[bad[2]] = -np.inf
    got = fs.log_softmax(x, axis=-1)
    # scipy's outputs: NaN at +inf and -inf beside it, NaN throughout a
    # row with NaN and a row all -inf
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(got[bad], special.log_softmax(x[bad], axis=-1))
    fine = [r for r in range(count) if r not in bad]
    ref.check_accuracy("log_softmax", got[fine], x[fine], axis=-1, context=f"{isa} n={n}")
    xi = x.copy()
    np.testing.assert_array_equal(fs.log_softmax(xi, axis=-1, out=xi), got)


@pytest.mark.parametrize("n", [129, 1000])
def test_rows_out_of_the_one_pass_range(isa, n, rng):
    """Rows whose first element's range they leave take the two passes; the
    output carried to them from the group before is still written"""
    x = _rows(rng, 17, n)
    x[9, 0] -= 90.0  # far below the rest: the one pass declines
    x[10, 5] = x[10].max() + 70.0
    got = fs.log_softmax(x, axis=-1)
    ref.check_accuracy("log_softmax", got, x, axis=-1, context=isa)
    np.testing.assert_array_equal(fs.log_softmax(x[1], axis=-1), got[1])
    np.testing.assert_array_equal(fs.log_softmax(x[2], axis=-1), got[2])


@pytest.mark.parametrize("n", [129, 1000])
def test_float64_rows(isa, n, rng):
    x = _rows(rng, 17, n, np.float64)
    got = fs.log_softmax(x, axis=-1)
    ref.check_accuracy("log_softmax", got, x, axis=-1, context=f"{isa} float64")
    np.testing.assert_array_equal(fs.log_softmax(x[16], axis=-1), got[16])


def test_strided_rows_and_outputs(isa, rng):
    """Rows and outputs apart in memory (a batch axis in front, an out
    with gaps): the pairing follows the rows, not the addresses"""
    x = _rows(rng, 3 * 11, 1000).reshape(3, 11, 1000)
    out = np.full((3, 11, 1200), np.nan, np.float32)[:, :, :1000]
    got = fs.log_softmax(x, axis=-1, out=out)
    rows = got.reshape(33, 1000)
    ref.check_accuracy("log_softmax", rows, x.reshape(33, 1000), axis=-1, context=isa)
    np.testing.assert_array_equal(got, fs.log_softmax(np.ascontiguousarray(x), axis=-1))


def test_outputs_past_the_stream_size(isa, rng):
    """A whole output past FSS_STREAM_BYTES (8 MiB) in rows the groups take:
    the same bits as the rows in small batches, each row within its bound"""
    x = _rows(rng, 2200, 1000)
    got = fs.log_softmax(x, axis=-1)
    for r0 in range(0, 2200, 550):
        np.testing.assert_array_equal(fs.log_softmax(x[r0 : r0 + 550], axis=-1), got[r0 : r0 + 550])
    pick = rng.choice(2200, 40, replace=False)
    ref.check_accuracy("log_softmax", got[pick], x[pick], axis=-1, context=isa)


@pytest.mark.parametrize("n", [131_072, 131_089])
def test_long_rows_one_behind(isa, n, rng):
    """Rows of FSS_LONG_ROW (131072) elements and more, one at a time: each
    finite row's streamed output is written during the next row's pass, a
    non-finite row's at once, the last after the loop"""
    x = _rows(rng, 5, n)
    x[2, n // 2] = np.nan
    got = fs.log_softmax(x, axis=-1, num_threads=1)
    fine = [0, 1, 3, 4]
    ref.check_accuracy("log_softmax", got[fine], x[fine], axis=-1, context=f"{isa} n={n}")
    assert np.isnan(got[2]).all()
    for r in (0, 3, 4):
        np.testing.assert_array_equal(fs.log_softmax(x[r], axis=-1, num_threads=1), got[r])
    xi = x.copy()
    np.testing.assert_array_equal(fs.log_softmax(xi, axis=-1, out=xi, num_threads=1), got)


@pytest.mark.parametrize("n", [2049, 2063, 4099, 32_000])
@pytest.mark.parametrize("offset", [0, 4, 16, 44, 60])
def test_streamed_rows_one_behind_at_every_offset(isa, n, offset, rng):
    """Rows past the groups (8 KiB) whose whole output streams (8 MiB and
    more): each finite row's output is written during the next row's pass,
    its non-temporal stores shifted to the output's vector boundary, its
    first elements and its tail after the loop; non-finite rows at once.
    Every offset of the output gives the bits of the rows in small batches
    (two passes, nothing streamed)."""
    count = -(-(9 << 20) // (4 * n))
    x = _rows(rng, count, n)
    x[count // 3, n // 2] = np.nan
    x[count // 2, :] = -np.inf
    with np.errstate(invalid="ignore"):
        want = np.concatenate(
            [fs.log_softmax(x[r0 : r0 + 40], axis=-1) for r0 in range(0, count, 40)]
        )
        out = helpers.out_at(x.shape, offset)
        got = fs.log_softmax(x, axis=-1, out=out, num_threads=1)
    assert got is out
    np.testing.assert_array_equal(got, want)
    pick = [r for r in rng.choice(count, 12, replace=False) if r not in (count // 3, count // 2)]
    ref.check_accuracy("log_softmax", got[pick], x[pick], axis=-1, context=f"{isa} n={n} +{offset}")
    # in place, and at two threads (each thread's rows one behind on their own)
    xi = x.copy()
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(fs.log_softmax(xi, axis=-1, out=xi, num_threads=1), want)
        np.testing.assert_array_equal(fs.log_softmax(x, axis=-1, num_threads=2), want)
