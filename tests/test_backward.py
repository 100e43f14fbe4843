"""fastsoftmax.softmax_backward / log_softmax_backward: against a float64 /
longdouble NumPy reference written here, with error bounds stated as data;
every ISA, SIMD-tail sizes, C / Fortran / strided layouts, every axis, in-place
out, threads, bad input; against torch's autograd where torch is installed."""

import numpy as np
import pytest

import fastsoftmax as fs

try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

needs_torch = pytest.mark.skipif(
    torch is None, reason="torch is not installed (pip install torch==2.13.0)"
)

FUNCS = ("softmax_backward", "log_softmax_backward")
SIZES = (1, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000)

# The error bound, in units u = eps/2 of the compute dtype, per element i of
# a row:  |got_i - ref_i| <= K * u * (|ref_i| + c_i * A), where
#   softmax_backward:      c_i = y_i,       A = sum_j |g_j y_j|
#   log_softmax_backward:  c_i = exp(y_i),  A = sum_j |g_j|
# (the second term is the unavoidable rounding of the row sum, which
# cancels when g_i is close to it). ref: the formula evaluated from the same
# inputs in float64 (float32 inputs) or longdouble (float64 inputs).
BOUND_K = {
    ("softmax_backward", np.float32): 3.0,
    ("softmax_backward", np.float64): 3.0,
    ("log_softmax_backward", np.float32): 4.0,
    ("log_softmax_backward", np.float64): 4.0,
}


def working(dtype):
    return np.float64 if np.dtype(dtype) in (np.float16, np.float32) else np.longdouble


def reference(name, g, y, axis):
    """(ref, allowance scale c_i * A) in the working precision."""
    wd = working(np.result_type(g.dtype, y.dtype))
    gw, yw = g.astype(wd), y.astype(wd)
    if name == "softmax_backward":
        s = (gw * yw).sum(axis=axis, keepdims=True)
        ref = yw * (gw - s)
        scale = yw * np.abs(gw * yw).sum(axis=axis, keepdims=True)
    else:
        e = np.exp(yw)
        ref = gw - e * gw.sum(axis=axis, keepdims=True)
        scale = e * np.abs(gw).sum(axis=axis, keepdims=True)
    return ref, scale


def check(name, got, g, y, axis, context=""):
    kdt = np.result_type(g.dtype, y.dtype)
    assert got.shape == g.shape and got.dtype == kdt, context
    cdt = np.float32 if kdt == np.float16 else kdt
    ref, scale = reference(name, g, y, axis)
    u = np.finfo(cdt).eps / 2
    bound = BOUND_K[(name, np.dtype(cdt).type)] * u * (np.abs(ref) + scale)
    if kdt == np.float16:  # the final rounding to float16
        bound = bound + np.finfo(np.float16).eps / 2 * np.abs(ref) + 6e-8
    err = np.abs(got.astype(ref.dtype) - ref)
    bad = ~(err <= bound)
    if bad.any():
        i = np.argwhere(bad)[0]
        raise AssertionError(
            f"{name} {context}: {bad.sum()} elements out of bound; first at {tuple(i)}: "
            f"got {got[tuple(i)]!r}, ref {ref[tuple(i)]!r}, bound {bound[tuple(i)]!r}"
        )


def make_inputs(name, rng, shape, dtype, axis=-1, scale=3.0):
    """(g, y): y a forward output (probabilities or log-probabilities)."""
    x = rng.standard_normal(shape) * scale
    y = fs.softmax(x, axis=axis) if name == "softmax_backward" else fs.log_softmax(x, axis=axis)
    g = rng.standard_normal(shape)
    return g.astype(dtype), y.astype(dtype)


def call(name, *args, **kw):
    return getattr(fs, name)(*args, **kw)


# ------------------------------------------------------------ accuracy
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rows_every_size(isa, rng, name, dtype):
    for n in SIZES:
        g, y = make_inputs(name, rng, (5, n), dtype)
        g0, y0 = g.copy(), y.copy()
        got = call(name, g, y)
        np.testing.assert_array_equal(g, g0)
        np.testing.assert_array_equal(y, y0)
        check(name, got, g, y, -1, f"isa={isa} n={n}")


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_axis_and_layout(isa, rng, name, dtype):
    for shape in ((7, 33, 5), (3, 17, 65), (2, 1, 40)):
        for axis in range(-3, 3):
            g, y = make_inputs(name, rng, shape, dtype, axis=axis)
            layouts = {
                "C": (g, y),
                "F": (np.asfortranarray(g), np.asfortranarray(y)),
                "mixed": (np.asfortranarray(g), y),
                "strided": (
                    np.repeat(g, 2, axis=1)[:, ::2], np.repeat(y, 2, axis=1)[:, ::2],
                ),
                "negative": (g[::-1, :, ::-1], y[::-1, :, ::-1]),
                "transposed": (g.transpose(2, 0, 1), y.transpose(2, 0, 1)),
            }
            for lay, (ga, ya) in layouts.items():
                got = call(name, ga, ya, axis=axis)
                check(name, got, ga, ya, axis, f"isa={isa} shape={shape} axis={axis} {lay}")


@pytest.mark.parametrize("name", FUNCS)
def test_four_axes_permuted_layout(rng, name):
    # three non-reduced axes that do not merge: computed on copies
    for axis in range(4):
        g, y = make_inputs(name, rng, (3, 4, 5, 6), np.float64, axis=axis)
        gp = np.ascontiguousarray(g.transpose(2, 0, 3, 1)).transpose(1, 3, 0, 2)
        yp = np.asfortranarray(y)
        got = call(name, gp, yp, axis=axis)
        check(name, got, g, y, axis, f"4-d axis={axis}")
        out = np.empty((6, 5, 4, 3)).transpose(3, 2, 1, 0)
        assert call(name, gp, yp, axis=axis, out=out) is out
        np.testing.assert_array_equal(out, got)


@pytest.mark.parametrize("name", FUNCS)
def test_column_tiles_every_width(isa, rng, name):
    # reduced axis first, C order: the column kernels, tiles of every width
    for n_inner in (1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47):
        for dtype in (np.float32, np.float64):
            g, y = make_inputs(name, rng, (19, n_inner), dtype, axis=0)
            check(name, call(name, g, y, axis=0), g, y, 0, f"isa={isa} inner={n_inner}")
    # several super-tiles of columns and row blocks, one and two threads
    for shape in ((130, 1100), (67, 513)):
        g, y = make_inputs(name, rng, shape, np.float32, axis=0)
        one = call(name, g, y, axis=0, num_threads=1)
        check(name, one, g, y, 0, f"isa={isa} {shape}")
        check(name, call(name, g, y, axis=0, num_threads=2), g, y, 0, f"isa={isa} {shape} 2t")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_backward_positive_outputs(isa, rng, dtype):
    # not log-probabilities, but exp is exact up to its overflow threshold:
    # rows whose maximum passes the fast path's limit take the clamped loop
    for top in (3.0, 50.0, 80.0):
        y = rng.uniform(-20, top, (4, 37)).astype(dtype)
        g = rng.standard_normal((4, 37)).astype(dtype)
        check("log_softmax_backward", fs.log_softmax_backward(g, y), g, y, -1,
              f"isa={isa} top={top}")


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_long_rows_do_not_drift(isa, rng, name, dtype):
    # a long row whose sum cancels against g: g_i = c + small, so g - s is
    # small and any drift in the sum would show
    n = 1 << 20
    x = rng.standard_normal(n) * 0.1
    y = fs.softmax(x) if name == "softmax_backward" else fs.log_softmax(x)
    g = 1.0 + rng.standard_normal(n) * 1e-3
    g, y = g.astype(dtype), y.astype(dtype)
    check(name, call(name, g, y), g, y, -1, f"isa={isa} n={n}")
    # and along a strided axis (column kernels)
    g2, y2 = np.stack([g[:4096]] * 3, axis=1), np.stack([y[:4096]] * 3, axis=1)
    check(name, call(name, g2, y2, axis=0), g2, y2, 0, f"isa={isa} columns")


@pytest.mark.parametrize("name", FUNCS)
def test_tuple_and_none_axes(rng, name):
    g, y = make_inputs(name, rng, (4, 5, 6), np.float64, axis=(0, 2))
    check(name, call(name, g, y, axis=(0, 2)), g, y, (0, 2), "axis=(0, 2)")
    g, y = make_inputs(name, rng, (4, 5, 6), np.float64, axis=None)
    check(name, call(name, g, y, axis=None), g, y, None, "axis=None")
    out = np.empty_like(g)
    assert call(name, g, y, axis=(0, 2), out=out) is out
    check(name, out, g, y, (0, 2), "axis=(0, 2) out")


def test_zero_d_and_empty():
    assert fs.softmax_backward(np.float64(2.0), np.float64(1.0), axis=None) == 0.0
    assert fs.log_softmax_backward(np.float64(2.0), np.float64(0.0), axis=None) == 0.0
    for name in FUNCS:
        for shape, axis in (((0, 5), -1), ((5, 0), -1), ((3, 0, 2), 1)):
            r = call(name, np.zeros(shape), np.zeros(shape), axis=axis)
            assert r.shape == shape


@pytest.mark.parametrize("name", FUNCS)
def test_dtypes(rng, name):
    g, y = make_inputs(name, rng, (6, 40), np.float64)
    g16, y16 = g.astype(np.float16), y.astype(np.float16)
    r = call(name, g16, y16)
    assert r.dtype == np.float16
    check(name, r, g16, y16, -1, "float16")
    r = call(name, g.astype(np.float32), y)
    assert r.dtype == np.float64
    check(name, r, g.astype(np.float32), y, -1, "float32 g, float64 y")
    gb, yb = g.astype(">f8"), y.astype(">f8")
    np.testing.assert_array_equal(call(name, gb, yb), call(name, g, y))


# ------------------------------------------------------------ out= and in place
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_out_and_in_place(isa, rng, name, dtype):
    for axis in (-1, 0):
        g, y = make_inputs(name, rng, (33, 17), dtype, axis=axis)
        want = call(name, g, y, axis=axis)
        out = np.empty_like(g)
        assert call(name, g, y, axis=axis, out=out) is out
        np.testing.assert_array_equal(out, want)
        gi = g.copy()
        assert call(name, gi, y, axis=axis, out=gi) is gi
        np.testing.assert_array_equal(gi, want)
        yi = y.copy()
        assert call(name, g, yi, axis=axis, out=yi) is yi
        np.testing.assert_array_equal(yi, want)
        # a Fortran-ordered in-place pair, and a strided out
        # (another layout may take another walker: equal up to rounding)
        gf, yf = np.asfortranarray(g), np.asfortranarray(y)
        want_f = call(name, gf, yf, axis=axis)
        check(name, want_f, gf, yf, axis, f"isa={isa} F")
        assert call(name, gf, yf, axis=axis, out=gf) is gf
        np.testing.assert_array_equal(gf, want_f)
        big = np.zeros((33, 34), dtype=dtype)
        so = big[:, ::2]
        assert call(name, g, y, axis=axis, out=so) is so
        check(name, so, g, y, axis, f"isa={isa} strided out")
        assert np.all(big[:, 1::2] == 0)


@pytest.mark.parametrize("name", FUNCS)
def test_partial_overlap_goes_through_a_temporary(rng, name):
    g, y = make_inputs(name, rng, (4, 10), np.float64)
    buf = np.concatenate([g, np.zeros((1, 10))])
    want = call(name, g, y)
    out = buf[1:]  # overlaps g = buf[:-1] shifted by one row
    call(name, buf[:-1], y, out=out)
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("name", FUNCS)
def test_threads_give_identical_results(rng, name):
    g, y = make_inputs(name, rng, (64, 3000), np.float32)
    one = call(name, g, y, num_threads=1)
    for nt in (2, 3, None):
        np.testing.assert_array_equal(call(name, g, y, num_threads=nt), one)
    g, y = make_inputs(name, rng, (3000, 64), np.float32, axis=0)
    one = call(name, g, y, axis=0, num_threads=1)
    np.testing.assert_array_equal(call(name, g, y, axis=0, num_threads=2), one)


def test_non_finite_rows_stay_in_their_row(rng):
    g, y = make_inputs("softmax_backward", rng, (3, 20), np.float64)
    g[1, 4] = np.nan
    r = fs.softmax_backward(g, y)
    assert np.all(np.isnan(r[1])) and np.all(np.isfinite(r[[0, 2]]))
    gl, yl = make_inputs("log_softmax_backward", rng, (3, 20), np.float64)
    yl[0, 3] = -np.inf  # probability 0: gradient g there
    r = fs.log_softmax_backward(gl, yl)
    assert r[0, 3] == gl[0, 3] and np.all(np.isfinite(r))
    yl[2, 2] = 1000.0  # not a log-probability: exp overflows, never wraps
    r = fs.log_softmax_backward(gl, yl)
    assert np.isinf(r[2, 2]) and r[2, 2] == -np.inf * np.sign(gl[2].sum())


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize("name", FUNCS)
def test_bad_input_names_the_argument(name):
    g = np.ones((3, 4))
    f = getattr(fs, name)
    with pytest.raises(ValueError, match="output"):
        f(g, np.ones((3, 5)))
    with pytest.raises(TypeError, match="grad_output"):
        f(np.ones((3, 4), dtype=np.int64), g)
    with pytest.raises(TypeError, match="output"):
        f(g, np.ones((3, 4), dtype=np.complex128))
    with pytest.raises(TypeError, match="grad_output"):
        f(np.array([["a"]]), g)
    with pytest.raises(np.exceptions.AxisError, match="axis"):
        f(g, g, axis=2)
    with pytest.raises(TypeError, match="axis"):
        f(g, g, axis=1.5)
    with pytest.raises(ValueError, match="out"):
        f(g, g, out=np.empty((4, 3)))
    with pytest.raises(TypeError, match="out"):
        f(g, g, out=np.empty((3, 4), dtype=np.float32))
    ro = np.empty((3, 4))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        f(g, g, out=ro)
    with pytest.raises(TypeError, match="out"):
        f(g, g, out=[[0.0] * 4] * 3)
    with pytest.raises(ValueError, match="num_threads"):
        f(g, g, num_threads=0)
    with pytest.raises(TypeError, match="num_threads"):
        f(g, g, num_threads=True)


# ------------------------------------------------------------ torch
@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_against_torch_autograd(isa, rng, dtype):
    for shape, axis in (((8, 1000), -1), ((5, 33, 7), 1), ((65, 3), 0)):
        x = (rng.standard_normal(shape) * 3).astype(dtype)
        g = rng.standard_normal(shape).astype(dtype)
        for name, tf in (("softmax_backward", torch.softmax),
                         ("log_softmax_backward", torch.log_softmax)):
            xt = torch.tensor(x, requires_grad=True)
            yt = tf(xt, axis)
            yt.backward(torch.tensor(g))
            want = xt.grad.numpy()
            got = call(name, g, yt.detach().numpy(), axis=axis)
            check(name, got, g, yt.detach().numpy(), axis, f"isa={isa} {shape}")
            tol = 1e-5 if dtype == np.float32 else 1e-13
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_outputs_streamed_rows_pipelined(isa, rng, name, dtype):
    # Outputs of >= 4 MiB are written with non-temporal stores and rows are
    # pipelined (one row written while the next is reduced): every row must
    # equal that row computed alone, bit for bit, whatever the alignment of
    # the output (odd row lengths, an output one element off alignment, in
    # place) and the tail of each row.
    rows, n = 9, (4 << 20) // np.dtype(dtype).itemsize // 9 + 3
    g, y = make_inputs(name, rng, (rows, n), dtype)
    want = np.stack([call(name, g[r], y[r]) for r in range(rows)])
    check(name, want, g, y, -1, f"isa={isa} rows alone")
    np.testing.assert_array_equal(call(name, g, y), want)
    buf = np.empty(g.size + 1, dtype=dtype)
    out = buf[1:].reshape(g.shape)
    assert call(name, g, y, out=out) is out
    np.testing.assert_array_equal(out, want)
    for nt in (2, 3):
        np.testing.assert_array_equal(call(name, g, y, num_threads=nt), want)
    gi = g.copy()
    call(name, gi, y, out=gi)
    np.testing.assert_array_equal(gi, want)
    yi = y.copy()
    call(name, g, yi, out=yi)
    np.testing.assert_array_equal(yi, want)
