"""cross_entropy / softmax_focal_loss: the checks on class-index labels and
weights made in C before any kernel writes (driver/xent_checks.c): the first
bad label of every integer dtype reported by value and index, nothing
written on a bad label, ignored rows, and the "mean" denominators against a
float64 NumPy reference."""

import math

import numpy as np
import pytest

import fastsoftmax as fs

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


def _bad_values(dtype, n_classes, ignore_index):
    """Labels of ``dtype`` neither in [0, n_classes) nor ignore_index."""
    info = np.iinfo(dtype)
    vals = {n_classes, info.max}
    if info.min < 0:
        vals |= {-1, info.min}
    if dtype == np.uint64:
        # from 2^63 up: must not wrap to negative int64 values (2^64 - 100 would
        # otherwise read as ignore_index -100)
        vals |= {2**63, 2**64 + ignore_index, 2**64 - 1}
    return sorted(v for v in vals if v != ignore_index and info.min <= v <= info.max)


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("grad", [False, True])
def test_bad_label_reported_with_value_and_index(dtype, grad, rng):
    C, ignore = 7, -100
    x = rng.standard_normal((3, 4, C)).astype(np.float32)
    for bad in _bad_values(dtype, C, ignore):
        t = rng.integers(0, C, (3, 4)).astype(dtype)
        t[0, 1] = bad  # not the first: the earlier ones are good
        t[2, 3] = bad  # and a later one, not reported
        g = np.full_like(x, 7.0)
        x0 = x.copy()
        msg = (rf"target: label {bad} at index \(0, 1\) is out of range \[0, {C}\) "
               rf"and is not ignore_index \({ignore}\)")
        with pytest.raises(ValueError, match=msg):
            fs.cross_entropy(x, t, grad_out=g if grad else None)
        np.testing.assert_array_equal(g, np.full_like(x, 7.0))  # nothing written
        np.testing.assert_array_equal(x, x0)
        with pytest.raises(ValueError, match=msg):
            fs.softmax_focal_loss(x, t, grad_out=g if grad else None)
        np.testing.assert_array_equal(g, np.full_like(x, 7.0))


def test_bad_label_in_place_writes_nothing(rng):
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((40, 5)).astype(dtype)
        x0 = x.copy()
        t = rng.integers(0, 5, 40)
        t[-1] = 5
        with pytest.raises(ValueError, match=r"label 5 at index \(39,\)"):
            fs.cross_entropy(x, t, grad_out=x)
        np.testing.assert_array_equal(x, x0)


def test_bad_label_class_axis_not_last(rng):
    """The index is into the target as given, (N, d) for logits (N, C, d)."""
    x = rng.standard_normal((2, 6, 3))
    t = np.zeros((2, 3), np.int16)
    t[1, 2] = -7
    with pytest.raises(ValueError, match=r"label -7 at index \(1, 2\) is out of range \[0, 6\)"):
        fs.cross_entropy(x, t, axis=1, return_grad=True)


def test_bad_label_one_row():
    with pytest.raises(ValueError, match=r"label 3 at index \(\) is out of range \[0, 3\)"):
        fs.cross_entropy(np.zeros(3), np.array(3, np.uint8))


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_good_labels_every_dtype_same_result(dtype, rng):
    x = rng.standard_normal((50, 9))
    t = rng.integers(0, 9, 50)
    ignore = 4  # an ignore_index inside [0, C) is ignored, not a class
    want = fs.cross_entropy(x, t, ignore_index=ignore, return_grad=True, reduction="none")
    got = fs.cross_entropy(x, t.astype(dtype), ignore_index=ignore, return_grad=True,
                           reduction="none")
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert np.all(got[0][t == ignore] == 0) and np.all(got[1][t == ignore] == 0)
    # strided and byte-swapped labels convert to the same
    t2 = np.repeat(t.astype(dtype), 2)[::2]
    assert fs.cross_entropy(x, t2) == fs.cross_entropy(x, t)
    t3 = t.astype(np.dtype(dtype).newbyteorder())
    assert fs.cross_entropy(x, t3) == fs.cross_entropy(x, t)


def test_uint64_ignore_index_is_not_matched_by_wrapping():
    x = np.zeros((2, 3))
    t = np.array([0, 2**64 - 100], np.uint64)  # -100 as int64 bits
    with pytest.raises(ValueError, match=rf"label {2**64 - 100} at index \(1,\)"):
        fs.cross_entropy(x, t)
    # a uint64 label equal to a non-negative ignore_index is ignored
    t = np.array([0, 2], np.uint64)
    assert fs.cross_entropy(x, t, ignore_index=2) == fs.cross_entropy(x[:1], t[:1])


def ref_mean(x, t, *, weight=None, sample_weight=None, ignore_index=-100):
    """The weighted mean of PyTorch / scikit-learn in float64: sum of
    w_t s_i (lse_i - x_it) over the kept rows / sum of w_t s_i over them."""
    x = np.asarray(x, np.float64)
    N, C = x.shape
    keep = t != ignore_index
    tc = np.where(keep, t, 0).astype(np.int64)
    m = x.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]
    nll = lse - x[np.arange(N), tc]
    w = np.ones(C) if weight is None else np.asarray(weight, np.float64)
    s = np.ones(N) if sample_weight is None else np.asarray(sample_weight, np.float64)
    terms = np.where(keep, w[tc] * s, 0.0)
    return math.fsum(terms * nll) / math.fsum(terms), math.fsum(terms)


@pytest.mark.parametrize("use_w", [False, True])
@pytest.mark.parametrize("use_s", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_mean_denominator_against_float64_reference(use_w, use_s, ignore_index, rng):
    N, C = 301, 6
    x = rng.standard_normal((N, C)) * 3
    t = rng.integers(0, C, N)
    t[rng.random(N) < 0.3] = ignore_index
    w = rng.uniform(0.1, 3.0, C) if use_w else None
    s = rng.uniform(0.0, 2.0, N) if use_s else None
    want, denom = ref_mean(x, t, weight=w, sample_weight=s, ignore_index=ignore_index)
    got, grad = fs.cross_entropy(x, t, weight=w, sample_weight=s, ignore_index=ignore_index,
                                 return_grad=True)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    # the gradient of the mean is that of the sum over the same denominator
    _, gsum = fs.cross_entropy(x, t, weight=w, sample_weight=s, ignore_index=ignore_index,
                               reduction="sum", return_grad=True)
    np.testing.assert_allclose(grad * denom, gsum, rtol=1e-14, atol=1e-15)
    if not use_w and not use_s:
        kept = int(np.sum(t != ignore_index))
        assert denom == kept
        total = fs.cross_entropy(x, t, ignore_index=ignore_index, reduction="sum")
        assert got == total / kept  # the denominator is the exact count
    if not use_s:
        # the focal loss at gamma = 0 divides by the same denominator, bit for bit
        lf = fs.softmax_focal_loss(x, t, gamma=0.0, weight=w, ignore_index=ignore_index)
        assert lf == got


def test_mean_denominator_compensated():
    """Summed in double with compensation: 1e16 + 1 + 1 + 1 + 1 keeps its 1s
    (a plain or pairwise sum of these five gives 1e16)."""
    x = np.zeros((5, 3))
    t = np.array([0, 1, 1, 1, 1])
    w = np.array([1e16, 1.0, 1.0])
    total = fs.cross_entropy(x, t, weight=w, reduction="sum")
    got = fs.cross_entropy(x, t, weight=w)
    assert got == total / (1e16 + 4)
    assert got != total / 1e16


def test_all_ignored_and_no_rows_give_nan():
    x = np.zeros((3, 4), np.float32)
    t = np.full(3, -100)
    loss, grad = fs.cross_entropy(x, t, return_grad=True)
    assert np.isnan(loss) and np.all(grad == 0)
    assert fs.cross_entropy(x, t, reduction="sum") == 0
    w = np.zeros(4)
    assert np.isnan(fs.cross_entropy(x, np.zeros(3, int), weight=w))


@pytest.mark.parametrize("arg", ["weight", "sample_weight"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -1e-300])
def test_bad_weights_named_and_nothing_written(arg, bad, rng):
    x = rng.standard_normal((6, 4))
    t = rng.integers(0, 4, 6)
    v = np.ones(4 if arg == "weight" else 6)
    v[-1] = bad
    g = np.full_like(x, 3.0)
    with pytest.raises(ValueError, match=arg):
        fs.cross_entropy(x, t, grad_out=g, **{arg: v})
    np.testing.assert_array_equal(g, np.full_like(x, 3.0))
    # -0.0 and 0 are fine
    v[-1] = -0.0
    fs.cross_entropy(x, t, **{arg: v})
