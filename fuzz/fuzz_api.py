"""Coverage-guided fuzz target (atheris / libFuzzer) for the public functions.

Each input is decoded into one call of a function from the reliability
table (tests/battery.py): dtype, shape (zero-size dimensions included),
layout (transposes, positive and negative slicing steps, unaligned and
byte-swapped buffers), values (any float, inf, NaN, subnormals), axis
(valid, negative, tuple, out of range, duplicated), ``out``/``grad_out``
(fresh, in place, overlapping, wrong shape) and ``num_threads``. The C
drivers see the resulting strided views directly. A finding is:

* a crash, or an exception other than TypeError/ValueError/IndexError, or
  one whose message names no argument;
* an input modified by a call that did not name it as the output;
* a result that differs from the NumPy reference beyond its tolerance.

The Python layers (argument checks, layout collapse) are instrumented for
coverage; run it against the ASan+UBSan build (tools/fuzz.sh does) so that an
out-of-bounds access in C is a finding too.

Run: ``python fuzz/fuzz_api.py NEW_CORPUS_DIR fuzz/corpus -max_total_time=60``
"""

from __future__ import annotations

import os
import re
import sys

import atheris
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

with atheris.instrument_imports(include=["fastsoftmax"]):
    import fastsoftmax  # noqa: F401  (instrumented for coverage before use)
from battery import ENTRIES as _ALL_ENTRIES  # noqa: E402

# The functions this target knows how to call and check against a NumPy
# reference (the others are covered by the battery and property tests).
ENTRIES = tuple(
    e for e in _ALL_ENTRIES if e.name in ("softmax", "log_softmax", "logsumexp", "cross_entropy")
)

ARG_NAMES = re.compile(r"\b(x|a|b|logits|target|axis|out|grad_out|num_threads|weight)\b")
DTYPES = (np.float16, np.float32, np.float64)
FLOAT_TOL = {np.float16: 4e-3, np.float32: 2e-5, np.float64: 1e-11}


def _values(fdp, n, dtype):
    """n values: mostly moderate, sometimes any float (inf, NaN, subnormal, huge)."""
    mode = fdp.ConsumeIntInRange(0, 3)
    if mode == 0:
        v = [fdp.ConsumeFloat() for _ in range(min(n, 64))]
        v = np.resize(np.array(v or [0.0]), n)
    else:
        scale = (1.0, 30.0, 1e-300)[mode - 1]
        seed = fdp.ConsumeIntInRange(0, 2**31)
        v = np.random.default_rng(seed).standard_normal(n) * scale
    with np.errstate(over="ignore"):
        return v.astype(dtype)


def _layout(fdp, base):
    """A view of ``base``'s values in a drawn layout (the values stay base's)."""
    kind = fdp.ConsumeIntInRange(0, 5)
    if base.ndim == 0:
        return base
    if kind == 1 and base.ndim > 1:
        perm = list(np.random.default_rng(fdp.ConsumeIntInRange(0, 99)).permutation(base.ndim))
        return np.ascontiguousarray(base.transpose(perm)).transpose(np.argsort(perm))
    if kind == 2:  # strided, possibly reversed
        steps = [fdp.PickValueInList([1, 2, 3, -1, -2]) for _ in range(base.ndim)]
        big = np.zeros(tuple(max(1, n * abs(s)) for n, s in zip(base.shape, steps, strict=True)),
                       dtype=base.dtype)
        view = big[tuple(slice(None, None, s) for s in steps)]
        view = view[tuple(slice(0, n) for n in base.shape)]
        view[...] = base
        return view
    if kind == 3:  # unaligned
        raw = np.zeros(base.nbytes + 1, dtype=np.uint8)
        view = raw[1:].view(base.dtype).reshape(base.shape)
        view[...] = base
        return view
    if kind == 4:  # byte-swapped
        return base.astype(base.dtype.newbyteorder(">"))
    if kind == 5:
        return np.asfortranarray(base)
    return base


def _axis(fdp, ndim, multi):
    kind = fdp.ConsumeIntInRange(0, 5)
    if kind == 0:
        return -1
    if kind == 1:
        return None if multi else 0
    if kind == 2:
        return fdp.ConsumeIntInRange(-ndim - 2, ndim + 1)  # may be out of range
    if kind == 3 and multi:
        return tuple(fdp.ConsumeIntInRange(-ndim, max(ndim - 1, 0))
                     for _ in range(fdp.ConsumeIntInRange(1, 3)))  # may repeat
    return fdp.ConsumeIntInRange(0, max(ndim - 1, 0))


def _reference(entry, x, axis, kw):
    """float64 NumPy reference (fastsoftmax._numpy_impl), or None when not checked."""
    from fastsoftmax import _args, _numpy_impl

    xw = np.asarray(x, dtype=np.float64)
    if xw.size == 0:
        return None  # the empty-input results are tested in tests/test_bad_input_battery.py
    if entry.name == "cross_entropy":
        if any(k not in ("target",) for k in kw) or np.asarray(kw["target"]).dtype.kind != "i":
            return None
        ax = axis % x.ndim
        logp = _numpy_impl.log_softmax(xw, (ax,))
        t = np.expand_dims(kw["target"], ax)
        with np.errstate(invalid="ignore"):
            return -np.mean(np.take_along_axis(logp, t, axis=ax))
    axes = _args.normalize_axes(axis, xw.ndim) if xw.ndim else ()
    with np.errstate(all="ignore"):
        if entry.name == "logsumexp":
            res, _ = _numpy_impl.logsumexp(xw, axes, None, False)
            return np.reshape(res, tuple(n for d, n in enumerate(xw.shape) if d not in axes))
        return getattr(_numpy_impl, entry.name)(xw, axes if xw.ndim else ())


def _compare(entry, got, want, x):
    if want is None:
        return
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, (entry.name, got.shape, want.shape)
    finite = np.isfinite(np.asarray(x, dtype=np.float64))
    if not finite.all() or np.abs(np.asarray(x, np.float64)).max(initial=0) > 1e6:
        # Non-finite rules are scipy's (tested in tests/); huge inputs make
        # the float64 reference itself inexact for float64 kernels.
        return
    tol = FLOAT_TOL[np.dtype(x.dtype).type if x.dtype.kind == "f" else np.float64]
    scale = 1.0 + np.abs(np.asarray(x, np.float64)).max(initial=0.0)
    np.testing.assert_allclose(got, want, rtol=tol * 8, atol=tol * scale, equal_nan=True,
                               err_msg=entry.name)


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    entry = ENTRIES[fdp.ConsumeIntInRange(0, len(ENTRIES) - 1)]
    dtype = fdp.PickValueInList(list(DTYPES))
    ndim = fdp.ConsumeIntInRange(0, 3)
    shape = tuple(fdp.PickValueInList([0, 1, 2, 3, 5, 7, 8, 9, 16, 17, 33, 65])
                  for _ in range(ndim))
    n = int(np.prod(shape))
    base = _values(fdp, n, dtype).reshape(shape)
    x = _layout(fdp, base)
    axis = _axis(fdp, ndim, entry.multi_axis)
    kw = {}
    if entry.name == "cross_entropy" and ndim:
        ok = isinstance(axis, int) and -ndim <= axis < ndim
        kw = entry.valid(shape, axis if ok else -1)
        if fdp.ConsumeBool():
            kw["target"] = kw["target"] + fdp.ConsumeIntInRange(-2, 2)  # maybe out of range
    threads = fdp.PickValueInList([None, 1, 2, 4, 0])
    out_mode = fdp.ConsumeIntInRange(0, 4)
    out = None
    if out_mode == 1:  # a fresh array of the right shape (when the axis is valid)
        try:
            shp = entry.result_shape(shape, axis) if isinstance(axis, int) else None
        except (ZeroDivisionError, IndexError):
            shp = None
        if shp is not None:
            out = np.full(shp, np.nan, dtype=x.dtype.newbyteorder("="))
    elif out_mode == 2:
        out = x  # in place
    elif out_mode == 3 and x.ndim and isinstance(axis, int) and -ndim <= axis < ndim:
        # out overlaps x, shifted by one element, inside one buffer.
        shp = entry.result_shape(shape, axis)
        m = int(np.prod(shp))
        buf = np.zeros(max(n, m) + 1, dtype=x.dtype.newbyteorder("="))
        buf[:n] = x.reshape(-1)
        x = buf[:n].reshape(shape)
        out = buf[1 : m + 1].reshape(shp)
    elif out_mode == 4:
        out = np.empty((3,), dtype=x.dtype)  # wrong shape
    if out is not None:
        kw[entry.out_arg] = out
    if threads != 0 or fdp.ConsumeBool():
        kw["num_threads"] = threads
    before = np.array(x, copy=True)
    aliased = out is not None and np.shares_memory(out, x)
    try:
        if ndim or entry.name != "cross_entropy":
            got = entry.func(x, axis=axis, **kw)
        else:
            got = entry.func(x, np.array(0), axis=axis)
    except (TypeError, ValueError, IndexError) as exc:
        assert ARG_NAMES.search(str(exc)), f"{entry.name}: message names no argument: {exc}"
        np.testing.assert_array_equal(x, before, err_msg="input modified by a failed call")
        return
    if not aliased:
        np.testing.assert_array_equal(x, before, err_msg=f"{entry.name}: input modified")
    if entry.name == "cross_entropy":
        got = got[0] if isinstance(got, tuple) else got
        extra = {k: v for k, v in kw.items() if k not in ("num_threads", entry.out_arg)}
        _compare(entry, got, _reference(entry, before, axis, extra), before)
    else:
        _compare(entry, got, _reference(entry, before, axis, {}), before)


def main() -> None:
    np.seterr(all="ignore")  # the reference meets inf - inf and empty means
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
