"""Bad-input battery over every public function in ``battery.ENTRIES``.

Each case breaks one argument of an otherwise valid call and checks: the
exception type, that its message names the argument, that the input (and any
output array) is unchanged, and that the interpreter is still fine (the next
valid call gives the right answer). Cases that have a documented result
instead of an error (zero-size axes, 0-d input, partial overlap of ``out``)
check the result. Cross-entropy-only options have their own section.
"""

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from battery import BY_NAME, ENTRIES
from numpy.exceptions import AxisError

import fastsoftmax as fs

X = (np.arange(24, dtype=np.float64).reshape(4, 6) - 9.5) / 3.0


def _ids(e):
    return e.name


@pytest.fixture(params=ENTRIES, ids=_ids)
def entry(request):
    return request.param


def _frozen(x):
    """A read-only copy, so that a stray write in Python raises, and a copy to compare."""
    a = np.array(x, copy=True)
    a.flags.writeable = False
    return a, np.array(x, copy=True)


def _expect_error(entry, exc, argname, x, **kw):
    xf, before = _frozen(x)
    with pytest.raises(exc) as info:
        entry.call(xf, **kw)
    assert re.search(rf"\b{argname}\b", str(info.value)), (
        f"{entry.name}: message does not name {argname!r}: {info.value}"
    )
    np.testing.assert_array_equal(xf, before, err_msg=f"{entry.name}: input modified")
    _still_works(entry)
    return info.value


def _still_works(entry):
    """A valid call after the failure gives the same as a fresh reference call."""
    got = entry.call(X, axis=-1)
    want = _FIRST_RESULTS.setdefault(entry.name, entry.call(X.copy(), axis=-1))
    np.testing.assert_array_equal(got, want)


_FIRST_RESULTS: dict = {}


# --------------------------------------------------------------------------
# the main input: types and dtypes
# --------------------------------------------------------------------------
NOT_NUMERIC = {
    "None": None,
    "str": "1.0",
    "dict": {"a": 1.0},
    "object array": np.array([1.0, 2.0, None], dtype=object),
    "list of str": ["1.0", "2.0"],
    "bytes array": np.array([b"1", b"2"]),
    "datetime64": np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[D]"),
    "timedelta64": np.array([1, 2], dtype="timedelta64[s]"),
    "structured": np.zeros(3, dtype=[("a", "f8"), ("b", "f8")]),
    "ragged list": [[1.0, 2.0], [3.0]],
}


@pytest.mark.parametrize("kind", list(NOT_NUMERIC))
def test_main_input_not_numeric(entry, kind):
    value = NOT_NUMERIC[kind]
    with pytest.raises((TypeError, ValueError)) as info:
        entry.func(value, **({"axis": -1} if kind not in ("None", "str", "dict") else {}),
                   **(entry.valid((3,), -1) if entry.needs_ndim else {}))
    assert re.search(rf"\b{entry.arg}\b", str(info.value)), str(info.value)
    _still_works(entry)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128, np.int32, np.uint8, np.bool_])
def test_float_only_rejects_other_dtypes(dtype):
    e = BY_NAME["cross_entropy"]
    _expect_error(e, TypeError, e.arg, X.astype(dtype))


def test_bool_rejected_by_softmax_family():
    for name in ("softmax", "log_softmax"):
        _expect_error(BY_NAME[name], TypeError, "x", X > 0)


@pytest.mark.parametrize("entry_name", ["softmax", "log_softmax", "logsumexp"])
def test_python_lists_and_scalars_are_array_like(entry_name):
    e = BY_NAME[entry_name]
    np.testing.assert_array_equal(e.func(X.tolist(), axis=-1), e.func(X, axis=-1))
    got = e.func(2.5)
    assert np.ndim(got) == 0
    want = {"softmax": 1.0, "log_softmax": 0.0, "logsumexp": 2.5}[entry_name]
    assert float(got) == want


# --------------------------------------------------------------------------
# axis
# --------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [2, -3, 100, -(2**40)])
def test_axis_out_of_range(entry, axis):
    _expect_error(entry, AxisError, "axis", X, axis=axis)


@pytest.mark.parametrize("axis", [1.0, "0", None, True, np.float64(1.0), [[0]]])
def test_axis_wrong_type(entry, axis):
    if axis is None:
        if entry.multi_axis:
            return  # None means all axes: valid
        axis = "None"
    _expect_error(entry, TypeError, "axis", X, axis=axis)


@pytest.mark.parametrize("axis", [(0, 0), (1, -1), (0, 1, 0)])
def test_axis_duplicated_or_tuple(entry, axis):
    if entry.multi_axis:
        _expect_error(entry, ValueError, "axis", X, axis=axis)
    else:
        _expect_error(entry, TypeError, "axis", X, axis=axis)


# --------------------------------------------------------------------------
# out / grad_out
# --------------------------------------------------------------------------
def _out_of(entry, dtype=np.float64, shape=None):
    shape = entry.result_shape(X.shape, -1) if shape is None else shape
    return np.full(shape, 7, dtype=dtype)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6, 1), (24,), (), (4, 7), (1, 6)])
def test_out_wrong_shape(entry, shape):
    if shape == entry.result_shape(X.shape, -1):
        pytest.skip("that is the right shape")
    out = _out_of(entry, shape=shape)
    _expect_error(entry, ValueError, entry.out_arg, X, **{entry.out_arg: out})
    assert np.all(out == 7), "out was written before the error"


@pytest.mark.parametrize(
    "dtype", [np.float32, np.float16, np.int64, np.complex128, np.longdouble, ">f8"]
)
def test_out_wrong_dtype(entry, dtype):
    out = _out_of(entry, dtype=dtype)
    _expect_error(entry, TypeError, entry.out_arg, X, **{entry.out_arg: out})
    assert np.all(out == 7)


def test_out_read_only(entry):
    out = _out_of(entry)
    out.flags.writeable = False
    _expect_error(entry, ValueError, entry.out_arg, X, **{entry.out_arg: out})


@pytest.mark.parametrize("value", ["list", "memoryview"])
def test_out_not_an_ndarray(entry, value):
    base = _out_of(entry)
    out = base.tolist() if value == "list" else memoryview(base)
    _expect_error(entry, TypeError, entry.out_arg, X, **{entry.out_arg: out})
    assert np.all(base == 7)


def test_out_partially_overlapping_input(entry):
    """Overlap that is not ``out is x``: either a correct result or an error naming out."""
    buf = np.zeros(X.size + 3)
    x = buf[: X.size].reshape(X.shape)
    x[...] = X
    shape = entry.result_shape(X.shape, -1)
    n = int(np.prod(shape))
    out = buf[3 : 3 + n].reshape(shape)
    want = entry.call(X.copy(), axis=-1)
    try:
        got = entry.call(x, axis=-1, **{entry.out_arg: out})
    except ValueError as exc:
        assert re.search(rf"\b{entry.out_arg}\b", str(exc)), str(exc)
        np.testing.assert_array_equal(x, X)
        return
    if isinstance(got, tuple):
        got, want = got[1], want[1]
    assert got is out
    np.testing.assert_array_equal(out, want)


def test_out_is_input_in_place(entry):
    if entry.result_shape(X.shape, -1) != X.shape:
        pytest.skip("the result does not have the input's shape")
    x = X.copy()
    got = entry.call(x, axis=-1, **{entry.out_arg: x})
    if isinstance(got, tuple):  # (loss, grad): compare the gradient
        want = entry.call(X.copy(), axis=-1, return_grad=True)
        np.testing.assert_array_equal(got[0], want[0])
        got, want = got[1], want[1]
    else:
        want = entry.call(X.copy(), axis=-1)
    assert got is x
    np.testing.assert_array_equal(x, want)


# --------------------------------------------------------------------------
# num_threads
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "exc"),
    [(0, ValueError), (-1, ValueError), (-(2**63), ValueError), (1.5, TypeError),
     (2.0, TypeError), ("2", TypeError), ([2], TypeError), (True, TypeError),
     (np.float32(2), TypeError)],
)
def test_num_threads_bad(entry, value, exc):
    _expect_error(entry, exc, "num_threads", X, num_threads=value)


@pytest.mark.parametrize("value", [1, np.int8(3), 2**40, 2**80])
def test_num_threads_large_or_numpy_int_ok(entry, value):
    np.testing.assert_array_equal(
        entry.call(X, axis=-1, num_threads=value) if value != 2**80 else _big(entry),
        entry.call(X, axis=-1),
    )


def _big(entry):
    """2**80 threads: too big for any C int; must be an error naming num_threads or be capped."""
    try:
        return entry.call(X, axis=-1, num_threads=2**80)
    except (ValueError, OverflowError) as exc:
        assert "num_threads" in str(exc)
        return entry.call(X, axis=-1)


# --------------------------------------------------------------------------
# zero-size and 0-d inputs: documented results
# --------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(0, 5), (0, 1), (3, 0, 4)])
def test_zero_size_batch_axis(entry, shape):
    x = np.zeros(shape)
    got = entry.call(x, axis=-1)
    if entry.name in ("cross_entropy", "softmax_focal_loss"):
        assert np.isnan(got), "mean over an empty batch is NaN (as PyTorch)"
        assert entry.call(x, axis=-1, reduction="sum") == 0.0
        assert entry.call(x, axis=-1, reduction="none").shape == shape[:-1]
        return
    assert got.shape == entry.result_shape(shape, -1)


@pytest.mark.parametrize("shape", [(5, 0), (0,), (2, 3, 0)])
def test_zero_size_reduced_axis(entry, shape):
    x = np.zeros(shape)
    if entry.name == "logsumexp":
        got = entry.call(x, axis=-1)
        assert got.shape == shape[:-1] and np.all(got == -np.inf)
        return
    if entry.name.endswith("_backward"):  # an empty gradient, nothing undefined
        assert entry.call(x, axis=-1).shape == shape
        return
    arg = entry.arg
    _expect_error(entry, ValueError, arg, x, axis=-1)


def test_zero_dim_input(entry):
    x = np.array(1.25)
    if entry.name.endswith("_backward"):  # no axis to differentiate along
        with pytest.raises(np.exceptions.AxisError, match="axis"):
            entry.func(x, x)
        return
    if entry.needs_ndim:
        with pytest.raises(ValueError, match=entry.arg):
            entry.func(x, np.array(0))
        return
    got = entry.func(x)
    assert np.ndim(got) == 0
    want = {"softmax": 1.0, "log_softmax": 0.0, "logsumexp": 1.25}[entry.name]
    assert float(got) == want


# --------------------------------------------------------------------------
# more than 2**31 elements, and element offsets beyond 2**31, without the memory
# --------------------------------------------------------------------------
def _sparse_memmap(path, n, mode):
    """A float32 memmap of ``n`` elements backed by a sparse file (no disk, no RAM)."""
    with open(path, "wb") as f:
        f.truncate(n * 4)
    return np.memmap(path, dtype=np.float32, mode=mode, shape=(n,))


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_offsets_beyond_2_31_elements(tmp_path, name):
    """Rows 2**29 elements apart: offsets up to 2**32 elements (16 GiB) in int64 arithmetic."""
    e = BY_NAME[name]
    step, rows, cols = 2**29, 9, 5  # last row starts at element 2**32
    n = step * (rows - 1) + cols
    try:
        xm = _sparse_memmap(tmp_path / "x.bin", n, "r+")
        ym = _sparse_memmap(tmp_path / "y.bin", n, "r+")
    except OSError as exc:
        pytest.skip(f"no sparse 16 GiB file here: {exc}")
    as_strided = np.lib.stride_tricks.as_strided
    x = as_strided(xm, shape=(rows, cols), strides=(step * 4, 4))
    small = (np.arange(rows * cols, dtype=np.float32).reshape(rows, cols) % 7) - 3
    x[...] = small
    if name == "logsumexp":
        y = np.empty(rows, dtype=np.float32)
    else:
        y = as_strided(ym, shape=(rows, cols), strides=(step * 4, 4))
    got = e.func(x, axis=-1, out=y)
    np.testing.assert_array_equal(got, e.func(small, axis=-1))
    np.testing.assert_array_equal(x, small)
    # The same rows along axis 0 (a reduced axis with a 2 GiB stride).
    got0 = e.func(x, axis=0)
    np.testing.assert_array_equal(got0, e.func(small, axis=0))
    del x, y, xm, ym


@pytest.mark.skipif(
    not os.environ.get("FASTSOFTMAX_SLOW_TESTS"),
    reason="4.3e9 exponentials (~40 s on 2 cores); set FASTSOFTMAX_SLOW_TESTS=1",
)
def test_reduced_axis_longer_than_2_31_as_a_broadcast_view():
    """logsumexp over 2 x (2**31 + 3) elements (a stride-0 view: 4 bytes of memory)."""
    n = 2**31 + 3
    a = np.broadcast_to(np.float32(-1.5), (2, n))
    got = fs.logsumexp(a, axis=-1)
    want = -1.5 + np.log(np.float64(n))
    np.testing.assert_allclose(got, [want, want], rtol=2e-7)


# --------------------------------------------------------------------------
# cross_entropy: target, weights and options
# --------------------------------------------------------------------------
CE = BY_NAME["cross_entropy"]
LABELS = np.array([0, 5, 2, 3])


@pytest.mark.parametrize(
    ("target", "exc"),
    [
        (np.array([0, 6, 2, 3]), ValueError),  # == C
        (np.array([0, -1, 2, 3]), ValueError),  # negative, not ignore_index
        (np.array([0, 1, 2, 2**40]), ValueError),
        (np.array([0, 1, 2, 2**64 - 1], dtype=np.uint64), ValueError),
        (np.array([0, 1, 2, -(2**63)]), ValueError),
        (np.array([0.0, 1.0, 2.0, 3.0]), ValueError),  # float labels: soft target of wrong shape
        (np.array([0, 1, 2]), ValueError),  # wrong batch shape
        (np.array([[0, 1, 2, 3]]), ValueError),
        (np.array([True, False, True, False]), TypeError),
        (np.array(["0", "1", "2", "3"]), TypeError),
        (np.array([0, 1, 2, None], dtype=object), TypeError),
        ([[0, 1], [2]], (TypeError, ValueError)),
        (None, TypeError),
    ],
)
def test_bad_target(target, exc):
    _expect_error(CE, exc, "target", X, target=target)


def test_nan_in_float_target_gives_nan_like_torch():
    q = np.full(X.shape, 1.0 / 6)
    q[1, 2] = np.nan
    before = q.copy()
    loss, grad = fs.cross_entropy(X, q, return_grad=True)
    assert np.isnan(loss)
    assert np.all(np.isnan(grad[1])) and np.all(np.isfinite(np.delete(grad, 1, axis=0)))
    np.testing.assert_array_equal(q, before)
    per_row = fs.cross_entropy(X, q, reduction="none")
    assert np.isnan(per_row[1]) and np.all(np.isfinite(np.delete(per_row, 1)))


@pytest.mark.parametrize(
    ("kw", "exc", "arg"),
    [
        ({"weight": np.ones(5)}, ValueError, "weight"),
        ({"weight": np.ones(7)}, ValueError, "weight"),
        ({"weight": np.ones((6, 1))}, ValueError, "weight"),
        ({"weight": np.r_[np.ones(5), -1.0]}, ValueError, "weight"),
        ({"weight": np.r_[np.ones(5), np.nan]}, ValueError, "weight"),
        ({"weight": np.r_[np.ones(5), np.inf]}, ValueError, "weight"),
        ({"weight": np.array(["a"] * 6)}, TypeError, "weight"),
        ({"weight": [[1.0, 2.0], [3.0]]}, (TypeError, ValueError), "weight"),
        ({"sample_weight": np.ones(3)}, ValueError, "sample_weight"),
        ({"sample_weight": np.ones((4, 2))}, ValueError, "sample_weight"),
        ({"sample_weight": np.array([1.0, -1.0, 1.0, 1.0])}, ValueError, "sample_weight"),
        ({"sample_weight": np.array([1.0, np.nan, 1.0, 1.0])}, ValueError, "sample_weight"),
        ({"sample_weight": np.array([1.0, 1.0, np.inf, 1.0])}, ValueError, "sample_weight"),
        ({"sample_weight": np.array([1j] * 4)}, TypeError, "sample_weight"),
        ({"label_smoothing": -0.1}, ValueError, "label_smoothing"),
        ({"label_smoothing": 1.5}, ValueError, "label_smoothing"),
        ({"label_smoothing": np.nan}, ValueError, "label_smoothing"),
        ({"label_smoothing": "0.1"}, TypeError, "label_smoothing"),
        ({"label_smoothing": [0.1]}, TypeError, "label_smoothing"),
        ({"temperature": 0.0}, ValueError, "temperature"),
        ({"temperature": -1.0}, ValueError, "temperature"),
        ({"temperature": np.inf}, ValueError, "temperature"),
        ({"temperature": np.nan}, ValueError, "temperature"),
        ({"temperature": "1"}, TypeError, "temperature"),
        ({"temperature": None}, TypeError, "temperature"),
        ({"reduction": "avg"}, ValueError, "reduction"),
        ({"reduction": None}, ValueError, "reduction"),
        ({"reduction": "MEAN"}, ValueError, "reduction"),
        ({"ignore_index": 1.5}, TypeError, "ignore_index"),
        ({"ignore_index": "0"}, TypeError, "ignore_index"),
        ({"ignore_index": True}, TypeError, "ignore_index"),
        ({"ignore_index": 2**63}, ValueError, "ignore_index"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_cross_entropy_option(kw, exc, arg):
    _expect_error(CE, exc, arg, X, target=LABELS, **kw)


def test_cross_entropy_bad_input_leaves_options_unchanged():
    w = np.linspace(0.5, 1.5, 6)
    sw = np.ones(4)
    wb, swb = w.copy(), sw.copy()
    with pytest.raises(ValueError, match="target"):
        fs.cross_entropy(X, np.array([0, 9, 2, 3]), weight=w, sample_weight=sw)
    np.testing.assert_array_equal(w, wb)
    np.testing.assert_array_equal(sw, swb)


# --------------------------------------------------------------------------
# logsumexp's b
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("b", "exc"),
    [
        (np.ones(5), ValueError),
        (np.ones((3, 6)), ValueError),
        ("abc", TypeError),
        (np.array([None] * 6, dtype=object), TypeError),
        ([[1.0, 2.0], [3.0]], (TypeError, ValueError)),
    ],
)
def test_logsumexp_bad_b(b, exc):
    _expect_error(BY_NAME["logsumexp"], exc, "b", X, b=b)


# --------------------------------------------------------------------------
# the interpreter survives the whole battery
# --------------------------------------------------------------------------
def test_battery_in_a_fresh_interpreter_exits_cleanly(tmp_path):
    """Every error path once more in a child process, which must exit 0 (no crash at exit)."""
    code = textwrap.dedent(
        """
        import numpy as np, fastsoftmax as fs
        x = np.arange(24.0).reshape(4, 6)
        bad = [
            lambda: fs.softmax(x, axis=5), lambda: fs.softmax(x, out=np.empty(3)),
            lambda: fs.log_softmax(x, num_threads=0), lambda: fs.logsumexp(x, b=np.ones(5)),
            lambda: fs.cross_entropy(x, np.array([0, 9, 1, 2])),
            lambda: fs.cross_entropy(x, np.zeros(4, int), grad_out=x[:, ::-1]),
            lambda: fs.softmax(np.zeros((2, 0)), axis=1),
        ]
        n = 0
        for f in bad * 200:
            try:
                f()
            except (ValueError, TypeError):
                n += 1
        assert n == len(bad) * 200
        print("ok")
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]


# --------------------------------------------------------------------------
# unusual but valid layouts found by the fuzz target
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [">f2", ">f4", ">f8"])
def test_byte_swapped_input_equals_native(entry, dtype):
    x = X.astype(dtype)
    native = X.astype(np.dtype(dtype).newbyteorder("="))
    got, want = entry.call(x, axis=-1), entry.call(native, axis=-1)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    if entry.name == "cross_entropy":
        g = entry.call(x, axis=-1, return_grad=True)[1]
        assert g.dtype == x.dtype
        np.testing.assert_array_equal(g, entry.call(native, axis=-1, return_grad=True)[1])


def _unaligned(a):
    """A copy of ``a`` whose data starts one byte off the element alignment."""
    raw = np.zeros(a.nbytes + 1, dtype=np.uint8)
    v = raw[1:].view(a.dtype).reshape(a.shape)
    v[...] = a
    assert not v.flags.aligned
    return v


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unaligned_input_and_output_equal_aligned(entry, dtype):
    x = X.astype(dtype)
    want = entry.call(x, axis=-1)
    np.testing.assert_array_equal(entry.call(_unaligned(x), axis=-1), want)
    out_dtype = want.dtype if entry.out_arg == "out" else dtype  # (backward passes promote)
    out = _unaligned(np.zeros(entry.result_shape(x.shape, -1), dtype=out_dtype))
    got = entry.call(_unaligned(x), axis=-1, **{entry.out_arg: out})
    if isinstance(got, tuple):
        want = entry.call(x, axis=-1, return_grad=True)
        assert got[0] == want[0]
        got, want = got[1], want[1]
    np.testing.assert_array_equal(out, want)
    if out.shape == x.shape and out_dtype == dtype:  # in place on an unaligned buffer
        y = _unaligned(x)
        entry.call(y, axis=-1, **{entry.out_arg: y})
        np.testing.assert_array_equal(y, want)


def test_cross_entropy_unaligned_targets():
    x = X.astype(np.float32)
    want = fs.cross_entropy(x, LABELS, return_grad=True)
    got = fs.cross_entropy(x, _unaligned(LABELS), return_grad=True)
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
    q = fs.softmax(x * 0.5, axis=-1)
    want = fs.cross_entropy(x, q, return_grad=True)
    got = fs.cross_entropy(_unaligned(x), _unaligned(q), return_grad=True)
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
