"""softmax / log_softmax / logsumexp against scipy.special and the reference:
axes, layouts, sizes, scales, dtypes, out=, keepdims, b, num_threads, every ISA.

Each case is checked three ways (helpers.check_case): the input is not
modified; shape, dtype and values agree with scipy (at a tolerance covering
scipy's own error); the ULP contract against the wide reference holds.
"""

import os

import numpy as np
import pytest
import reference as ref
from helpers import (
    FLOAT_DTYPES,
    NAMES,
    assert_like_scipy,
    axis_choices,
    call,
    check_case,
    random_array,
    scipy_call,
)

import fastsoftmax as fs

SHAPES_BY_NDIM = {1: (7,), 2: (5, 9), 3: (3, 4, 6), 4: (2, 3, 4, 5)}
TAIL_SIZES = [*range(1, 18), 31, 32, 33, 63, 64, 65, 1000]


def _ids(v):
    return getattr(v, "__name__", str(v))


# --------------------------------------------------------------------------
# smoke: a small cross-section, also run in subprocesses under each
# FASTSOFTMAX_ISA by test_runtime.py (-k smoke)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_smoke_against_scipy(name, isa, rng):
    forced = os.environ.get("FASTSOFTMAX_ISA", "").strip().lower()
    if forced not in ("", "auto", "best"):
        assert fs.runtime()["isa"] == forced == isa
    for dtype in FLOAT_DTYPES:
        for shape, axis in [((10,), None), ((4, 33), -1), ((33, 4), 0), ((3, 5, 7), (0, 2))]:
            x = random_array(rng, shape, dtype)
            check_case(name, x, axis=axis, context=f"{isa} {dtype.__name__}")


# --------------------------------------------------------------------------
# every axis choice on 1-D .. 4-D
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_every_axis_choice(name, dtype, isa, rng):
    for ndim, shape in SHAPES_BY_NDIM.items():
        x = random_array(rng, shape, dtype)
        for axis in axis_choices(ndim):
            for keepdims in (False, True) if name == "logsumexp" else (False,):
                check_case(name, x, axis=axis, keepdims=keepdims, context=isa)


@pytest.mark.parametrize("name", NAMES)
def test_axis_as_numpy_integers(name, rng):
    x = random_array(rng, (4, 5, 6), np.float64)
    np.testing.assert_array_equal(call(name, x, axis=np.int64(-1)), call(name, x, axis=-1))
    np.testing.assert_array_equal(
        call(name, x, axis=(np.int32(0), np.intp(2))), call(name, x, axis=(0, 2))
    )


@pytest.mark.parametrize("name", NAMES)
def test_empty_axis_tuple_like_scipy(name, rng):
    """axis=() reduces over nothing: softmax 1, log_softmax 0, logsumexp x."""
    x = random_array(rng, (3, 4), np.float64)
    got = call(name, x, axis=())
    want = scipy_call(name, x, axis=())
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


# --------------------------------------------------------------------------
# layouts
# --------------------------------------------------------------------------
def _layout(label, rng, dtype):
    """An array of logical shape (6, 10, 8) in the named memory layout."""
    shape = (6, 10, 8)
    c = random_array(rng, shape, dtype)
    if label == "C":
        return c
    if label == "F":
        return np.asfortranarray(c)
    if label == "strided":
        return random_array(rng, (12, 10, 24), dtype)[::2, :, ::3]
    if label == "negative strides":
        return random_array(rng, (12, 10, 24), dtype)[::-2, ::-1, ::-3]
    if label == "permuted":
        return np.ascontiguousarray(c.transpose(2, 0, 1)).transpose(1, 2, 0)
    if label == "inner stride 2":
        cplx = np.zeros(shape, dtype=np.complex64 if dtype == np.float32 else np.complex128)
        cplx.real = c
        return cplx.real
    if label == "zero stride (broadcast)":
        return np.broadcast_to(random_array(rng, (1, 10, 8), dtype), shape)
    if label == "unaligned":
        buf = np.zeros(c.nbytes + 1, dtype=np.uint8)
        buf[1:] = np.frombuffer(c.tobytes(), dtype=np.uint8)
        x = np.frombuffer(buf.data, dtype=dtype, count=c.size, offset=1).reshape(shape)
        assert not x.flags.aligned
        return x
    if label == "byteswapped":
        return c.astype(c.dtype.newbyteorder())
    if label == "read-only":
        c.flags.writeable = False
        return c
    raise ValueError(label)


LAYOUTS = [
    "C",
    "F",
    "strided",
    "negative strides",
    "permuted",
    "inner stride 2",
    "zero stride (broadcast)",
    "unaligned",
    "byteswapped",
    "read-only",
]
LAYOUT_AXES = [None, 0, 1, 2, -1, (0, 2), (1, 2)]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_layouts(name, dtype, layout, isa, rng):
    """Any strided view meets the contract, is left unchanged, and gives the
    result of its C-contiguous copy to within the accuracy bound."""
    bound = ref.ULP_BOUNDS[name][np.dtype(dtype).name]
    x = _layout(layout, rng, dtype)
    contiguous = np.ascontiguousarray(x, dtype=dtype)
    for axis in LAYOUT_AXES:
        ctx = f"{isa} layout={layout}"
        got = check_case(name, x, axis=axis, context=ctx)
        assert np.asarray(got).dtype == dtype  # native byte order result
        base = call(name, contiguous, axis=axis)
        dist = ref.ulp_distance(got, base, dtype)
        assert dist.max(initial=0) <= bound, (
            f"{ctx} axis={axis}: differs from the C-contiguous result by {dist.max()} ULP"
        )


@pytest.mark.parametrize("name", NAMES)
def test_zero_d_and_scalars_like_scipy(name):
    for x in (np.float64(2.5), np.float32(-1.0), np.array(0.5), np.array(3.0, np.float32)):
        got = call(name, x)
        want = scipy_call(name, x)
        assert np.shape(got) == ()
        assert np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_allclose(got, want, rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_return_type_matches_scipy(name):
    """numpy scalar where scipy returns one (0-d input, full logsumexp
    reduction), ndarray elsewhere."""
    x2 = np.arange(6.0).reshape(2, 3)
    cases = [(np.array(1.5), {}), (np.arange(4.0), {}), (x2, {}), (x2, {"axis": 1})]
    if name == "logsumexp":
        cases += [(x2, {"axis": (0, 1)}), (x2, {"keepdims": True})]
    for x, kw in cases:
        got, want = call(name, x, **kw), scipy_call(name, x, **kw)
        assert isinstance(got, np.ndarray) == isinstance(want, np.ndarray), (
            f"{name}({x.shape}, {kw}): got {type(got).__name__}, scipy gives {type(want).__name__}"
        )


EMPTY_CASES = [
    ((0,), None),
    ((0,), 0),
    ((0, 3), 0),
    ((0, 3), 1),
    ((3, 0), 0),
    ((3, 0), 1),
    ((0, 0), 0),
    ((2, 0, 3), (0, 2)),
    ((2, 0, 3), 1),
]


@pytest.mark.parametrize(("shape", "axis"), EMPTY_CASES)
@pytest.mark.parametrize("name", NAMES)
def test_empty_arrays_like_scipy(name, shape, axis):
    """scipy raises ValueError when softmax reduces an empty axis, and
    logsumexp returns -inf there; everything else is an empty result."""
    x = np.zeros(shape)
    try:
        want = scipy_call(name, x, axis=axis)
    except IndexError:
        pytest.skip("scipy itself fails here (IndexError in its empty-array branch)")
    except ValueError:
        with pytest.raises(ValueError):
            call(name, x, axis=axis)
        return
    got = call(name, x, axis=axis)
    assert np.shape(got) == np.shape(want)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------
# sizes that hit SIMD bodies and tails; magnitudes
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_simd_tail_sizes(name, dtype, isa, rng):
    """Rows (last axis) and columns (axis 0, the vector runs across the
    contiguous inner dimension) of every length near vector multiples, with
    the maximum placed first, last (in the tail) and at random."""
    for n in TAIL_SIZES:
        x = random_array(rng, (3, n), dtype)
        x[1, -1] = x[1].max() + 1  # max in the tail
        x[2, 0] = x[2].max() + 1  # max in the first vector
        check_case(name, x, axis=-1, context=f"{isa} rows n={n}")
        check_case(name, np.ascontiguousarray(x.T), axis=0, context=f"{isa} columns n={n}")
        y = random_array(rng, (4, n), dtype)
        check_case(name, y, axis=0, context=f"{isa} 4 x {n} axis 0")
        check_case(name, x[0], axis=None, context=f"{isa} 1-D n={n}")


@pytest.mark.parametrize("scale", [1, 10, 100, 1000])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_scales(name, dtype, scale, isa, rng):
    if dtype == np.float16 and scale == 1000:
        scale = 20  # |x| of thousands has float16 spacing of 1: no signal
    x = random_array(rng, (7, 300), dtype, scale=scale)
    for axis in (-1, 0, None):
        check_case(name, x, axis=axis, context=f"{isa} scale={scale}")


# --------------------------------------------------------------------------
# input dtypes
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_int_and_bool_input(name, dtype, isa, rng):
    """Integer and bool input give float64, the same as the float64 values;
    bool softmax / log_softmax raise TypeError exactly where scipy does."""
    if dtype == np.bool_:
        x = rng.random((5, 17)) < 0.5
        if name != "logsumexp":
            with pytest.raises(TypeError):
                scipy_call(name, x)
            with pytest.raises(TypeError):
                call(name, x, axis=-1)
            return
    else:
        x = rng.integers(-30, 30, size=(5, 17)).astype(dtype)
    for axis in (None, -1, 0):
        got = check_case(name, x, axis=axis, context=isa)
        assert np.asarray(got).dtype == np.float64
        np.testing.assert_array_equal(got, call(name, x.astype(np.float64), axis=axis))


@pytest.mark.parametrize("name", NAMES)
def test_python_lists_and_scalars(name):
    for x in ([1.0, 2.0, 3.0], [[1, 2], [3, 5]], 2.0):
        got = call(name, x)
        want = scipy_call(name, x)
        assert np.shape(got) == np.shape(want)
        assert np.asarray(got).dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-15)


def test_float16_result_is_float32_computation_rounded(rng):
    """float16 in, float16 out, computed in float32: equal (to one float16
    ULP) to the float32 computation on the same values rounded to float16."""
    x = random_array(rng, (9, 70), np.float16, scale=4)
    for name in NAMES:
        got = call(name, x, axis=-1)
        assert got.dtype == np.float16
        via32 = call(name, x.astype(np.float32), axis=-1).astype(np.float16)
        assert ref.ulp_distance(got, via32, np.float16).max() <= 1, name


# --------------------------------------------------------------------------
# logsumexp: keepdims, b, return_sign, promotion, complex
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=_ids)
def test_logsumexp_positive_b(dtype, isa, rng):
    x = random_array(rng, (4, 5, 6), dtype)
    bs = {
        "same shape": rng.uniform(0.1, 2.0, (4, 5, 6)),
        "row vector": rng.uniform(0.1, 2.0, (6,)),
        "column (5,1)": rng.uniform(0.1, 2.0, (5, 1)),
        "scalar": 0.5,
        "with zeros": np.where(rng.random((4, 5, 6)) < 0.3, 0.0, 1.5),
    }
    for label, b in bs.items():
        b = np.asarray(b).astype(dtype)
        for axis in (None, -1, 0, (0, 2)):
            for keepdims in (False, True):
                ctx = f"{isa} b={label}"
                check_case("logsumexp", x, axis=axis, keepdims=keepdims, b=b, context=ctx)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
def test_logsumexp_mixed_sign_b_and_return_sign(dtype, isa, rng):
    x = random_array(rng, (6, 9), dtype)
    b = rng.uniform(-1, 1, (6, 9)).astype(dtype)
    # condition number of the cancelling sum, for scipy's error
    w = b.astype(np.float64) * np.exp(x.astype(np.float64))
    cond = max(float(np.max(np.abs(w).sum(axis=ax) / np.abs(w.sum(axis=ax)))) for ax in (0, 1))
    for axis in (-1, 0):
        for keepdims in (False, True):
            kw = {"axis": axis, "b": b, "keepdims": keepdims}
            got = fs.logsumexp(x, return_sign=True, **kw)
            ctx = f"{isa} axis={axis} keepdims={keepdims}"
            assert_like_scipy(got, "logsumexp", x, context=ctx, cond=cond, return_sign=True, **kw)
            assert set(np.unique(got[1])) <= {-1.0, 0.0, 1.0}
            no_sign = fs.logsumexp(x, **kw)
            assert_like_scipy(no_sign, "logsumexp", x, context=ctx, cond=cond, **kw)
            neg = got[1] < 0
            assert np.all(np.isnan(no_sign[neg])), "negative sums must give NaN"
            np.testing.assert_array_equal(no_sign[~neg], got[0][~neg])


def test_logsumexp_b_broadcast_enlarges_result(rng):
    """scipy broadcasts a and b against each other: b may be the bigger one."""
    a = random_array(rng, (5,), np.float64)
    b = rng.uniform(0.1, 1, (3, 5))
    for axis in (-1, None, 0):
        got = fs.logsumexp(a, b=b, axis=axis)
        want = scipy_call("logsumexp", a, b=b, axis=axis)
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-14)


@pytest.mark.parametrize(
    ("a_dtype", "b"),
    [
        (np.float32, np.ones(4, np.float32)),
        (np.float32, np.ones(4, np.float64)),
        (np.float64, np.ones(4, np.float32)),
        (np.float16, np.ones(4, np.float16)),
        (np.float16, np.ones(4, np.float32)),
        (np.float32, 2.0),
        (np.float32, 2),
        (np.float32, [1, 2, 3, 4]),
        (np.int64, np.ones(4, np.float32)),
        (np.float32, np.ones(4, np.bool_)),
    ],
    ids=lambda v: getattr(v, "__name__", None) or repr(np.asarray(v).dtype),
)
def test_logsumexp_b_dtype_promotion_like_scipy(a_dtype, b):
    a = np.array([0.5, -1.0, 2.0, 0.25]).astype(a_dtype)
    got = fs.logsumexp(a, b=b)
    want = scipy_call("logsumexp", a, b=b)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_allclose(got, want, rtol=float(np.finfo(np.asarray(want).dtype).eps) * 8)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128], ids=_ids)
def test_logsumexp_complex_like_scipy(dtype, rng):
    a = (rng.standard_normal((4, 7)) + 1j * rng.standard_normal((4, 7)) * 3).astype(dtype)
    b = rng.uniform(-1, 1, (4, 7))
    rtol = 1e-4 if dtype == np.complex64 else 1e-12
    for kw in ({}, {"axis": -1}, {"axis": 0, "keepdims": True}, {"axis": -1, "b": b}):
        got = fs.logsumexp(a, **kw)
        want = scipy_call("logsumexp", a, **kw)
        assert np.asarray(got).dtype == np.asarray(want).dtype, kw
        assert np.shape(got) == np.shape(want), kw
        np.testing.assert_allclose(got, want, rtol=rtol, err_msg=str(kw))
    got_r, got_s = fs.logsumexp(a, axis=-1, return_sign=True)
    want_r, want_s = scipy_call("logsumexp", a, axis=-1, return_sign=True)
    np.testing.assert_allclose(got_r, want_r, rtol=rtol)
    np.testing.assert_allclose(got_s, want_s, rtol=rtol)


# --------------------------------------------------------------------------
# out=
# --------------------------------------------------------------------------
def _out_shape(name, x, axis, keepdims=False):
    kw = {"keepdims": keepdims} if name == "logsumexp" else {}
    return np.shape(scipy_call(name, x.astype(np.float64), axis=axis, **kw))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_out_argument(name, dtype, isa, rng):
    """out= is returned and receives the result.  A C-contiguous out gets
    exactly the result of the call without out=; an F-ordered or strided out
    may take another walker (layout independence holds to the accuracy
    bound) and nothing outside it is written."""
    bound = ref.ULP_BOUNDS[name][np.dtype(dtype).name]
    x = random_array(rng, (6, 40), dtype)
    for axis in (-1, 0, None):
        keep_opts = (False, True) if name == "logsumexp" else (False,)
        for keepdims in keep_opts:
            kw = {"axis": axis}
            if name == "logsumexp":
                kw["keepdims"] = keepdims
            expected = np.asarray(call(name, x, **kw))
            shape = _out_shape(name, x, axis, keepdims)
            ctx = f"{isa} axis={axis} keepdims={keepdims}"

            out = np.empty(shape, dtype)
            res = call(name, x, out=out, **kw)
            assert res is out, f"{ctx}: the out array is not returned"
            np.testing.assert_array_equal(out, expected, err_msg=ctx)

            if len(shape) < 1:
                continue
            fout = np.empty(shape, dtype, order="F")
            big = np.full((2 * shape[0], *shape[1:]), 7.0, dtype)
            sout = big[::-2]
            for label, o in (("F out", fout), ("strided out", sout)):
                assert call(name, x, out=o, **kw) is o, f"{ctx} {label}: not returned"
                ref.check_accuracy(
                    name, o, x, axis=axis, keepdims=keepdims, context=f"{ctx} {label}"
                )
                dist = ref.ulp_distance(o, expected, dtype).max()
                assert dist <= bound, f"{ctx} {label}: {dist} ULP from the C-out result"
            assert np.all(big[-2::-2] == 7.0), f"{ctx}: wrote outside out"


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=_ids)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_out_is_input_in_place(name, dtype, order, isa, rng):
    """out=x gives exactly what the same call writes into a separate out of
    the same layout."""
    x0 = random_array(rng, (9, 37), dtype)
    for axis in (-1, 0, None, (0, 1)):
        x = np.array(x0, order=order)
        expected = call(name, x, axis=axis, out=np.empty_like(x))
        res = call(name, x, axis=axis, out=x)
        assert res is x
        np.testing.assert_array_equal(x, expected, err_msg=f"{isa} axis={axis} {order}")
    # a strided in-place view; the other half of its base stays untouched
    big = np.array(np.repeat(x0, 2, axis=1), order=order)
    view = big[:, ::2]
    expected = call(name, view, axis=-1, out=np.empty_like(view))
    assert call(name, view, axis=-1, out=view) is view
    np.testing.assert_array_equal(view, expected)
    np.testing.assert_array_equal(big[:, 1::2], x0)


def test_out_for_int_input_is_float64(rng):
    x = rng.integers(-5, 5, (3, 4))
    out = np.empty((3, 4))
    assert fs.softmax(x, axis=1, out=out) is out
    np.testing.assert_array_equal(out, fs.softmax(x.astype(np.float64), axis=1))


# --------------------------------------------------------------------------
# num_threads
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=_ids)
@pytest.mark.parametrize("name", NAMES)
def test_num_threads_1_and_2(name, dtype, isa, rng):
    x = random_array(rng, (64, 500), dtype)
    results = {}
    for nt in (1, 2):
        for axis in (-1, 0):
            results[nt, axis] = check_case(
                name, x, axis=axis, num_threads=nt, context=f"{isa} num_threads={nt}"
            )
    # many short rows: each row is done by one thread either way -> identical
    np.testing.assert_array_equal(results[1, -1], results[2, -1])
