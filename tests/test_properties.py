"""Property tests (hypothesis): every public function against the NumPy reference
over random shapes, layouts (C, Fortran, strided, reversed, transposed), axes,
dtypes and values (huge and tiny magnitudes, subnormals, +-inf, NaN), under
every ISA variant the machine runs.

Checked each time: the input is unchanged; the scipy semantics (shape, dtype,
non-finite pattern; values within scipy's own rounding, ``helpers``); for
finite input the ULP contract against the float64/longdouble reference
(``reference.check_accuracy``); ``out=`` gives bitwise the returned result.

Examples per test: ``FASTSOFTMAX_HYPOTHESIS_EXAMPLES`` (default 40); the
search is derandomized so CI is reproducible.
"""

import os

import numpy as np
import pytest
import reference as ref
from helpers import assert_like_scipy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cross_entropy import ref_cross_entropy

import fastsoftmax as fs

EXAMPLES = int(os.environ.get("FASTSOFTMAX_HYPOTHESIS_EXAMPLES", "40"))
# The wide reference may overflow in its own allowance terms for huge inputs.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning:reference")
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Sizes that hit the SIMD tails of 4-, 8- and 16-lane vectors.
SIZES = (1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 65)
DTYPES = (np.float16, np.float32, np.float64)
LAYOUTS = ("C", "F", "strided", "reversed", "transposed")


def _largest(dtype) -> float:
    """Largest magnitude drawn. float16 is checked against scipy in float32,
    whose log-domain results (x - max, up to 2 max) must not overflow float16."""
    info = np.finfo(dtype)
    return float(info.max) / 8 if dtype == np.float16 else float(info.max)


def _special_values(dtype, special: bool):
    """Single values over the whole range: huge, tiny, subnormal, and (special) +-inf, NaN."""
    width = {np.float16: 16, np.float32: 32, np.float64: 64}[dtype]
    info = np.finfo(dtype)
    big = _largest(dtype)
    edges = [big, -big, float(info.tiny), float(info.smallest_subnormal),
             -float(info.smallest_subnormal), 0.0, -0.0]
    values = st.one_of(st.floats(-big, big, width=width), st.sampled_from(edges))
    if special:
        values = st.one_of(values, st.sampled_from([np.inf, -np.inf, np.nan]))
    return values


@st.composite
def arrays(draw, dtype, special, min_ndim=1, max_ndim=3):
    """A float array of ``dtype`` in one of ``LAYOUTS`` (as a view when not C).

    The bulk comes from a seeded generator at a drawn magnitude (drawing
    thousands of floats through hypothesis is slow); up to 8 entries are then
    overwritten with values hypothesis picks from the whole range."""
    ndim = draw(st.integers(min_ndim, max_ndim))
    budget = 4096
    shape = []
    for _ in range(ndim):
        n = draw(st.sampled_from([s for s in SIZES if s * max(1, int(np.prod(shape))) <= budget]))
        shape.append(n)
    shape = tuple(shape)
    layout = draw(st.sampled_from(LAYOUTS))
    n = int(np.prod(shape))
    info = np.finfo(dtype)
    scale = draw(st.sampled_from([1.0, 3.0, 30.0, 1e3, _largest(dtype) / 16, float(info.tiny),
                                  float(info.smallest_subnormal) * 16]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    flat = (rng.standard_normal(n) * scale).astype(dtype)
    for _ in range(draw(st.integers(0, 8))):
        flat[draw(st.integers(0, n - 1))] = draw(_special_values(dtype, special))
    base = flat.reshape(shape)
    if layout == "F":
        return np.asfortranarray(base)
    if layout == "strided":
        big = np.zeros(tuple(2 * s for s in shape), dtype=dtype)
        view = big[tuple(slice(None, None, 2) for _ in shape)]
        view[...] = base
        return view
    if layout == "reversed":
        return np.ascontiguousarray(base[..., ::-1])[..., ::-1]
    if layout == "transposed":
        return np.ascontiguousarray(base.T).T
    return base


@st.composite
def axes_for(draw, ndim):
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    return tuple(draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)))


@st.composite
def family_cases(draw, special):
    dtype = draw(st.sampled_from(DTYPES))
    x = draw(arrays(dtype, special))
    axis = draw(axes_for(x.ndim))
    return x, axis


def _check_family(name, x, axis):
    before = x.copy()
    kw = {"axis": axis}
    got = getattr(fs, name)(x, **kw)
    np.testing.assert_array_equal(x, before, err_msg="input modified")
    ctx = f"shape={x.shape} strides={x.strides} dtype={x.dtype} axis={axis}"
    assert_like_scipy(got, name, x, context=ctx, **kw)
    if np.all(np.isfinite(x)):
        ref.check_accuracy(name, got, x, axis=axis, context=ctx)
    out = np.full_like(np.asarray(got), np.nan)
    res = getattr(fs, name)(x, out=out, **kw)
    assert res is out
    np.testing.assert_array_equal(out, got, err_msg=f"out= differs: {ctx}")


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
@SETTINGS
@given(case=family_cases(special=False))
def test_family_finite_values(name, isa, case):
    _check_family(name, *case)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
@SETTINGS
@given(case=family_cases(special=True))
def test_family_with_inf_and_nan(name, case):
    _check_family(name, *case)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@SETTINGS
@given(case=family_cases(special=True))
def test_family_in_place_equals_out_of_place(name, case):
    x, axis = case
    if x.dtype == np.float16:
        x = x.astype(np.float32)
    # Same layout on both sides: results may differ by rounding between
    # layouts (different walkers), never between in place and out of place.
    y = x.copy(order="K")
    want = getattr(fs, name)(y.copy(order="K"), axis=axis)
    got = getattr(fs, name)(y, axis=axis, out=y)
    assert got is y
    np.testing.assert_array_equal(y, want)


# --------------------------------------------------------------------------
# cross_entropy
# --------------------------------------------------------------------------
@st.composite
def xent_cases(draw):
    dtype = draw(st.sampled_from((np.float32, np.float64)))
    x = draw(arrays(dtype, special=False, max_ndim=3))
    # Logits in a range where the float64 reference itself is exact enough.
    x = np.clip(np.nan_to_num(x), -50, 50).astype(dtype) if x.size else x
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    C = x.shape[axis]
    batch = x.shape[: axis % x.ndim] + x.shape[axis % x.ndim + 1 :]
    soft = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if soft:
        t = rng.random(x.shape)
        t = (t / t.sum(axis=axis, keepdims=True)).astype(dtype)
    else:
        t = rng.integers(0, C, batch)
        if draw(st.booleans()) and t.size:
            t.reshape(-1)[::3] = -100
    opts = {
        "reduction": draw(st.sampled_from(["mean", "sum", "none"])),
        "label_smoothing": draw(st.sampled_from([0.0, 0.1, 1.0])),
        "temperature": draw(st.sampled_from([1.0, 0.5, 3.0])),
    }
    if draw(st.booleans()):
        opts["weight"] = rng.uniform(0.1, 2.0, C)
    if draw(st.booleans()):
        opts["sample_weight"] = rng.uniform(0.0, 2.0, batch)
    return x, t, axis, opts


@SETTINGS
@given(case=xent_cases())
def test_cross_entropy_matches_reference(isa, case):
    x, t, axis, opts = case
    xb, tb = x.copy(), t.copy()
    opt_copies = {k: np.copy(v) for k, v in opts.items() if isinstance(v, np.ndarray)}
    loss, grad = fs.cross_entropy(x, t, axis=axis, return_grad=True, **opts)
    np.testing.assert_array_equal(x, xb, err_msg="logits modified")
    np.testing.assert_array_equal(t, tb, err_msg="target modified")
    for k, v in opt_copies.items():
        np.testing.assert_array_equal(opts[k], v, err_msg=f"{k} modified")
    want = ref_cross_entropy(x, t, axis=axis, dt=np.longdouble, **opts)
    rtol = 2e-5 if x.dtype == np.float32 else 1e-11
    # Absolute part: sums of row losses of size ~|x|/T carry that much rounding.
    scale = 1.0 + float(np.abs(x).max(initial=0.0)) / opts["temperature"]
    atol = (2e-6 if x.dtype == np.float32 else 1e-13) * scale
    np.testing.assert_allclose(
        np.asarray(loss, np.float64), np.asarray(want, np.float64), rtol=rtol, atol=atol,
        equal_nan=True, err_msg=f"shape={x.shape} axis={axis} {opts}",
    )
    assert grad.shape == x.shape and grad.dtype == x.dtype
    # Every term of the loss is a weighted (lse - z_j), whose gradient
    # w (softmax - e_j) sums to zero over the classes: so does each grad row.
    g = np.moveaxis(grad.astype(np.float64), axis, -1)
    tol = (4e-6 if x.dtype == np.float32 else 1e-13) * (1 + np.abs(g).max(initial=0.0))
    assert np.all(np.abs(g.sum(axis=-1)) <= tol * g.shape[-1]), "grad rows do not sum to 0"


@st.composite
def xent_nonfinite_cases(draw):
    dtype = draw(st.sampled_from((np.float32, np.float64)))
    n = draw(st.sampled_from((1, 3, 8, 17)))
    C = draw(st.sampled_from((1, 2, 7, 16, 33)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, C)).astype(dtype)
    bad_rows = draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n))
    kinds = draw(st.lists(st.sampled_from(["nan", "+inf", "all -inf"]),
                          min_size=len(bad_rows), max_size=len(bad_rows)))
    for r, k in zip(bad_rows, kinds, strict=True):
        if k == "all -inf":
            x[r] = -np.inf
        else:
            x[r, rng.integers(0, C)] = np.nan if k == "nan" else np.inf
    return x, rng.integers(0, C, n), set(bad_rows)


@SETTINGS
@given(case=xent_nonfinite_cases())
def test_cross_entropy_nonfinite_rows_are_nan_and_isolated(case):
    """A row holding NaN or +inf, or only -inf, gives NaN; other rows are unaffected."""
    x, t, bad = case
    xb = x.copy()
    rows, grad = fs.cross_entropy(x, t, reduction="none", return_grad=True)
    np.testing.assert_array_equal(x, xb)
    for r in range(x.shape[0]):
        if r in bad:
            assert np.isnan(rows[r]) and np.all(np.isnan(grad[r])), f"row {r}"
        else:
            assert np.isfinite(rows[r]) and np.all(np.isfinite(grad[r])), f"row {r}"
    good = sorted(set(range(x.shape[0])) - bad)
    if good:
        alone = fs.cross_entropy(x[good], t[good], reduction="none")
        np.testing.assert_array_equal(rows[good], alone)
