"""Bad input raises the stated exception, with a message naming the
argument, and neither the input nor out= is touched."""

import numpy as np
import pytest
from helpers import NAMES, call
from numpy.exceptions import AxisError

import fastsoftmax as fs

X = np.arange(15, dtype=np.float64).reshape(3, 5) / 7


def _out_shape(name, axis=-1):
    if name == "logsumexp":
        return np.sum(X, axis=axis).shape
    return X.shape


@pytest.mark.parametrize("axis", [2, -3, (0, 5), (-4,), 10])
@pytest.mark.parametrize("name", NAMES)
def test_axis_out_of_bounds(name, axis):
    with pytest.raises(AxisError, match="axis"):
        call(name, X, axis=axis)


@pytest.mark.parametrize("name", NAMES)
def test_axis_out_of_bounds_1d_and_is_value_and_index_error(name):
    with pytest.raises(ValueError, match="axis"):
        call(name, X[0], axis=1)
    with pytest.raises(IndexError, match="axis"):
        call(name, X[0], axis=-2)


@pytest.mark.parametrize("axis", [(0, 0), (1, -1), (0, 1, 0)])
@pytest.mark.parametrize("name", NAMES)
def test_duplicate_axes(name, axis):
    with pytest.raises(ValueError, match="axis"):
        call(name, X, axis=axis)


@pytest.mark.parametrize("axis", [1.5, "1"])
@pytest.mark.parametrize("name", NAMES)
def test_axis_of_wrong_type(name, axis):
    with pytest.raises(TypeError):
        call(name, X, axis=axis)


@pytest.mark.parametrize("b_shape", [(4,), (2, 5), (3, 4), (5, 3)])
def test_b_not_broadcastable(b_shape):
    with pytest.raises(ValueError, match=r"\bb\b"):
        fs.logsumexp(X, b=np.ones(b_shape))
    with pytest.raises(ValueError, match=r"\bb\b"):
        fs.logsumexp(X, axis=-1, b=np.ones(b_shape), return_sign=True)


BAD_ARRAYS = {
    "object": np.array([1.0, 2.0, 3.0], dtype=object),
    "str": np.array(["1.0", "2.0"]),
    "bytes": np.array([b"1", b"2"]),
    "datetime64": np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[D]"),
}


@pytest.mark.parametrize("kind", list(BAD_ARRAYS))
@pytest.mark.parametrize("name", NAMES)
def test_unsupported_dtypes(name, kind):
    with pytest.raises(TypeError):
        call(name, BAD_ARRAYS[kind])


@pytest.mark.parametrize("name", NAMES)
def test_out_wrong_shape(name):
    for shape in [(5, 3), (3, 5, 1), (15,), (), (3, 6)]:
        if shape == _out_shape(name):
            continue
        out = np.full(shape, 7.0)
        with pytest.raises(ValueError, match=r"\bout\b"):
            call(name, X, axis=-1, out=out)
        assert np.all(out == 7.0), "out was written before the error"


def test_logsumexp_out_shape_follows_keepdims():
    with pytest.raises(ValueError, match=r"\bout\b"):
        fs.logsumexp(X, axis=-1, keepdims=True, out=np.empty(3))
    with pytest.raises(ValueError, match=r"\bout\b"):
        fs.logsumexp(X, axis=-1, keepdims=False, out=np.empty((3, 1)))
    with pytest.raises(ValueError, match=r"\bout\b"):
        fs.logsumexp(X, out=np.empty(1))  # axis=None: the result is 0-d


@pytest.mark.parametrize(
    ("x_dtype", "out_dtype"),
    [
        (np.float64, np.float32),
        (np.float32, np.float64),
        (np.float16, np.float32),
        (np.float32, np.float16),
        (np.float64, np.int64),
        (np.float64, np.complex128),
        (np.int64, np.float32),
    ],
    ids=lambda d: np.dtype(d).name,
)
@pytest.mark.parametrize("name", NAMES)
def test_out_wrong_dtype(name, x_dtype, out_dtype):
    x = X.astype(x_dtype)
    out = np.full(_out_shape(name), 7, dtype=out_dtype)
    with pytest.raises(TypeError, match=r"\bout\b"):
        call(name, x, axis=-1, out=out)
    assert np.all(out == 7), "out was written before the error"


@pytest.mark.parametrize("name", NAMES)
def test_out_read_only_or_not_an_array(name):
    out = np.full(_out_shape(name), 7.0)
    out.flags.writeable = False
    with pytest.raises((ValueError, TypeError), match=r"\bout\b"):
        call(name, X, axis=-1, out=out)
    assert np.all(out == 7.0)
    with pytest.raises((ValueError, TypeError), match=r"\bout\b"):
        call(name, X, axis=-1, out=np.full(_out_shape(name), 7.0).tolist())


@pytest.mark.parametrize("value", [0, -1, -8])
@pytest.mark.parametrize("name", NAMES)
def test_num_threads_not_positive(name, value):
    with pytest.raises(ValueError, match="num_threads"):
        call(name, X, num_threads=value)


@pytest.mark.parametrize("value", [1.5, 2.0, "2", [2]])
@pytest.mark.parametrize("name", NAMES)
def test_num_threads_not_an_int(name, value):
    with pytest.raises(TypeError, match="num_threads"):
        call(name, X, num_threads=value)


@pytest.mark.parametrize("name", NAMES)
def test_input_untouched_after_errors(name):
    x = X.copy()
    x.flags.writeable = False
    for kw in ({"axis": 3}, {"axis": (0, 0)}, {"num_threads": 0}, {"out": np.empty((2, 2))}):
        with pytest.raises((ValueError, TypeError)):
            call(name, x, **kw)
    np.testing.assert_array_equal(x, X)
