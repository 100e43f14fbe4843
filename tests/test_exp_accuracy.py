"""The kernels' exp polynomial, on its own, against a longdouble exp.

The bound (< 1 ULP from the exact value, i.e. a faithful rounding) is what the
comment in csrc/kernels/exp_poly.h documents and what the softmax-family
bounds rely on."""

import numpy as np
import pytest

import fastsoftmax as fs

MAX_ERR_ULP = 1.0  # error against the exact value, in ULPs of the result

# The table flavour's float bound on the normal results (exp_poly.h: 0.557
# ULP with 16 entries on AVX-512, 0.580 with 8 on AVX2, every float in
# [-87, 0]); the polynomial flavour (scalar, NEON) keeps the faithful bound.
TABLE_FLAVOUR_MAX_ERR_ULP = {"avx512": 0.6, "avx2": 0.6}


def _ulp_err(y: np.ndarray, x: np.ndarray, tiny: float) -> float:
    ref = np.exp(x.astype(np.longdouble))
    rounded = ref.astype(y.dtype)
    spacing = np.where(rounded == 0, np.longdouble(tiny), np.spacing(rounded).astype(np.longdouble))
    return float(np.max(np.abs(y.astype(np.longdouble) - ref) / spacing))


def test_float32_sweep(isa):
    # Every 97th float in [-104, 0] (all binades, the subnormal outputs included).
    x = (np.arange(0, 0x42D00000 + 1, 97, dtype=np.uint32) | np.uint32(0x80000000)).view(np.float32)
    y = np.empty_like(x)
    fs._core.exp_nonpos(x, y)
    assert _ulp_err(y, x, 2.0**-149) < MAX_ERR_ULP
    # the table flavours' bound holds for the normal results (the wide path
    # below -87 rounds into the subnormals within the faithful bound only)
    normal = x >= -87
    assert _ulp_err(y[normal], x[normal], 2.0**-149) < TABLE_FLAVOUR_MAX_ERR_ULP.get(
        isa, MAX_ERR_ULP
    )


def test_float32_table_flavour_near_its_worst(isa):
    # The neighbourhoods of the worst arguments found on every float in
    # [-87, 0] (AVX-512 at -12.504, AVX2 at -59.040), each float of them.
    bound = TABLE_FLAVOUR_MAX_ERR_ULP.get(isa, MAX_ERR_ULP)
    worst = np.array([-12.50426959991455, -59.0404167175293], dtype=np.float32).view(np.uint32)
    bits = worst.astype(np.int64)[:, None] + np.arange(-4096, 4097, dtype=np.int64)[None, :]
    x = bits.astype(np.uint32).ravel().view(np.float32)
    y = np.empty_like(x)
    fs._core.exp_nonpos(x, y)
    err = _ulp_err(y, x, 2.0**-149)
    assert err < bound
    if isa in TABLE_FLAVOUR_MAX_ERR_ULP:
        assert err > 0.5  # the neighbourhoods do hold each flavour's worst case


def test_float64_random(isa):
    x = -np.random.default_rng(7).random(400_000) * 745.2
    x[:4] = [0.0, -1e-300, -708.5, -745.0]
    y = np.empty_like(x)
    fs._core.exp_nonpos(x, y)
    assert _ulp_err(y, x, 2.0**-1074) < MAX_ERR_ULP


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cutoff_and_special(isa, dtype):
    x = np.array([-np.inf, -1e30, -800.0, -200.0, 0.0, -0.0, np.nan], dtype=dtype)
    y = np.empty_like(x)
    fs._core.exp_nonpos(x, y)
    with np.errstate(over="ignore", under="ignore"):
        ref = np.exp(x)
    np.testing.assert_array_equal(y, ref)
