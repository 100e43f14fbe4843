"""A representative workload for valgrind memcheck (tools/valgrind.sh).

Every function of the reliability table on small arrays that reach the SIMD
tails, in C, Fortran, strided and reversed layouts, float32 and float64, every
axis, with out=/grad_out= (in place too), one and two threads, under every ISA
variant this CPU (as valgrind presents it) runs; plus the error paths. Small
sizes keep it within a minute under valgrind; results are checked so that
valgrind's emulation of the vector instructions is exercised, not just run.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from battery import ENTRIES  # noqa: E402

import fastsoftmax as fs  # noqa: E402


def layouts(rng, dtype):
    base = (rng.standard_normal((9, 17)) * 3).astype(dtype)
    yield "C", base
    yield "F", np.asfortranarray(base)
    big = np.zeros((18, 34), dtype=dtype)
    big[::2, ::2] = base
    yield "strided", big[::2, ::2]
    yield "reversed", base[::-1, ::-1]
    yield "3-D", (rng.standard_normal((3, 5, 33)) * 3).astype(dtype).transpose(2, 0, 1)


def run_once(rng, all_layouts: bool) -> int:
    n = 0
    for dtype in (np.float32, np.float64):
        for label, x in list(layouts(rng, dtype))[: None if all_layouts else 1]:
            before = x.copy()
            for e in ENTRIES:
                for axis in range(x.ndim):
                    one = e.call(x, axis=axis, num_threads=1)
                    two = e.call(x, axis=axis, num_threads=2)
                    tol = 1e-5 if dtype == np.float32 else 1e-12
                    np.testing.assert_allclose(two, one, rtol=tol, atol=tol,
                                               err_msg=f"{e.name} {label} {axis}")
                    n += 2
                    shape = e.result_shape(x.shape, axis)
                    out = np.empty(shape, dtype=dtype)
                    e.call(x, axis=axis, **{e.out_arg: out})
                    if shape == x.shape:
                        y = np.array(x, copy=True)
                        e.call(y, axis=axis, **{e.out_arg: y})
                    n += 1
            np.testing.assert_array_equal(x, before, err_msg=f"input modified ({label})")
    # Large enough (> 32K elements per thread) for the OpenMP team to start.
    for x in (rng.standard_normal((70, 1100)), rng.standard_normal((2, 40_000)).astype(np.float32)):
        for e in ENTRIES:
            for axis in (0, 1):
                e.call(x, axis=axis, num_threads=2)
                n += 1
    x = rng.standard_normal((6, 7))
    for e in ENTRIES:  # error paths
        for kw in ({"axis": 4}, {"num_threads": 0}, {e.out_arg: np.empty((2, 2))}):
            try:
                e.call(x, **kw)
            except (TypeError, ValueError):
                n += 1
    t = rng.integers(0, 7, 6)
    for opts in ({"weight": rng.random(7)}, {"sample_weight": rng.random(6)},
                 {"label_smoothing": 0.2, "reduction": "none"}, {"ignore_index": 3}):
        fs.cross_entropy(x, t, return_grad=True, **opts)
        fs.cross_entropy(x, fs.softmax(x, axis=-1), return_grad=True, **opts)
        n += 2
    fs.logsumexp(x, axis=1, b=rng.standard_normal(7), return_sign=True)
    fs.softmax(x.astype(np.float16), axis=0)
    return n


def main() -> int:
    rng = np.random.default_rng(0)
    previous = fs._core.get_isa()
    total = 0
    for isa in fs.runtime()["isa_supported"]:
        fs._core.set_isa(isa)
        # Every layout for the best kernel set; the others see the C layout
        # (valgrind makes each call ~50x slower).
        total += run_once(rng, all_layouts=isa == previous)
    fs._core.set_isa(previous)
    print(f"valgrind workload: {total} calls over ISAs {fs.runtime()['isa_supported']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
