"""Side-by-side timing of softmax_backward / log_softmax_backward against PyTorch, run once.

Examples
--------
::

    python benchmarks/backward_vs_torch.py --reps 21

For each shape (float32, last axis, one thread: ``torch.set_num_threads(1)``
and ``num_threads=1``), takes turns, one call each per round, between

- ``fastsoftmax``: ``fs.softmax_backward(g, y)`` (a fresh result),
- ``torch kernel``: ``torch._softmax_backward_data`` (what autograd calls),
- ``torch autograd``: ``y.backward(g)`` through autograd for
  ``y = torch.softmax(x, -1)`` (the graph built once, ``retain_graph=True``,
  ``x.grad`` reset each call), what a training loop pays,
- ``np.add``: ``np.add(g, y)`` into a fresh array: the same bytes moved (two
  arrays read, one written), as the memory-bandwidth reference,

and likewise for log_softmax. Times are the calling thread's CPU time
(``time.thread_time_ns``), which keeps one-thread ratios usable on a loaded
machine; medians and minima over the rounds are printed with the ratios
``peer / fastsoftmax``. Imports happen inside ``main`` so that asv's discovery
can import this file.
"""

from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=21, help="rounds (one call each per round)")
    parser.add_argument("--shapes", default="1024x1000,256x32000", help="comma-separated RxC")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    import fastsoftmax as fs

    torch.set_num_threads(1)
    clock = time.thread_time_ns
    rt = fs.runtime()
    print(f"fastsoftmax {rt['version']} isa={rt['isa']}, torch {torch.__version__}, 1 thread")
    for spec in args.shapes.split(","):
        shape = tuple(int(v) for v in spec.split("x"))
        rng = np.random.default_rng(0)
        x = rng.standard_normal(shape).astype(np.float32)
        g = rng.standard_normal(shape).astype(np.float32)
        gt = torch.from_numpy(g)
        for name, ours, fwd, kernel in (
            ("softmax_backward", fs.softmax_backward, torch.softmax,
             torch._softmax_backward_data),
            ("log_softmax_backward", fs.log_softmax_backward, torch.log_softmax,
             torch._log_softmax_backward_data),
        ):
            xt = torch.from_numpy(x.copy()).requires_grad_(True)
            yt = fwd(xt, -1)
            y = yt.detach().numpy().copy()
            ytd = torch.from_numpy(y)

            def autograd(xt=xt, yt=yt, gt=gt):
                xt.grad = None
                yt.backward(gt, retain_graph=True)
                return xt.grad

            cases = {
                "fastsoftmax": lambda ours=ours, g=g, y=y: ours(g, y, num_threads=1),
                "torch kernel": lambda kernel=kernel, gt=gt, ytd=ytd: kernel(
                    gt, ytd, -1, torch.float32),
                "torch autograd": autograd,
                "np.add": lambda g=g, y=y: np.add(g, y),
            }
            times: dict[str, list[int]] = {k: [] for k in cases}
            for f in cases.values():
                f()
                f()
            for _ in range(args.reps):
                for k, f in cases.items():
                    t0 = clock()
                    f()
                    times[k].append(clock() - t0)
            med = {k: float(np.median(v)) for k, v in times.items()}
            best = {k: float(np.min(v)) for k, v in times.items()}
            print(f"{name} {spec}:")
            for k in cases:
                ratio = "" if k == "fastsoftmax" else (
                    f"  ratio median {med[k] / med['fastsoftmax']:.2f}x"
                    f" best {best[k] / best['fastsoftmax']:.2f}x")
                print(f"  {k:15s} median {med[k] / 1e3:8.0f} us"
                      f"  best {best[k] / 1e3:8.0f} us{ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
