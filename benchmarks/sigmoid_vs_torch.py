"""Side-by-side timing of the binary losses against PyTorch, run once.

Examples
--------
::

    python benchmarks/sigmoid_vs_torch.py --threads 1,2 --reps 25
    python benchmarks/sigmoid_vs_torch.py --clock thread --reps 15   # one thread, loaded machine

For each thread count (``torch.set_num_threads`` and ``num_threads=`` alike),
alternates one fastsoftmax call (loss and gradient in one call) with one
PyTorch forward + backward on the same (4096, 1000) float32 multi-label batch
(~10 % positives), and prints the best and median times and the ratio
``torch / fastsoftmax``. The focal loss peer is torchvision's formula.
``--clock thread`` times the calling thread's CPU time instead of wall time
(one thread only: other threads' work would not be counted), which keeps
ratios usable on a loaded machine.
Imports happen inside ``main`` so that asv's discovery can import this file.
"""

from __future__ import annotations

import argparse
import functools
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1", help="comma-separated thread counts")
    parser.add_argument("--reps", type=int, default=25, help="timed calls per side")
    parser.add_argument("--clock", choices=("wall", "thread"), default="wall",
                        help="wall time, or the calling thread's CPU time (1 thread only)")
    args = parser.parse_args(argv)
    if args.clock == "thread" and args.threads != "1":
        parser.error("--clock thread times one thread: use --threads 1")
    clock = time.perf_counter if args.clock == "wall" else time.thread_time

    import numpy as np
    import torch
    import torch.nn.functional as F

    import fastsoftmax as fs

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((4096, 1000)) * 3).astype(np.float32)
    t = (rng.random((4096, 1000)) < 0.1).astype(np.float32)
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)

    def torch_focal(z):
        p = torch.sigmoid(z)
        ce = F.binary_cross_entropy_with_logits(z, tt, reduction="none")
        p_t = p * tt + (1 - p) * (1 - tt)
        loss = ce * ((1 - p_t) ** 2.0)
        return ((0.25 * tt + 0.75 * (1 - tt)) * loss).mean()

    def torch_step(fwd):
        xg = xt.detach().requires_grad_(True)
        loss = fwd(xg)
        loss.backward()
        return loss, xg.grad

    rt = fs.runtime()
    print(f"fastsoftmax {rt['version']} isa={rt['isa']}, torch {torch.__version__}")
    for threads in [int(v) for v in args.threads.split(",")]:
        torch.set_num_threads(threads)
        cases = {
            "bce loss+grad": (
                functools.partial(
                    fs.binary_cross_entropy_with_logits, x, t, return_grad=True,
                    num_threads=threads),
                lambda: torch_step(lambda z: F.binary_cross_entropy_with_logits(z, tt)),
            ),
            "focal loss+grad": (
                functools.partial(
                    fs.sigmoid_focal_loss, x, t, reduction="mean", return_grad=True,
                    num_threads=threads),
                lambda: torch_step(torch_focal),
            ),
        }
        for name, (ours, theirs) in cases.items():
            ours()
            theirs()
            a, b = [], []
            for _ in range(args.reps):
                t0 = clock()
                ours()
                a.append(clock() - t0)
                t0 = clock()
                theirs()
                b.append(clock() - t0)
            print(
                f"{name:16s} threads={threads}: fastsoftmax best {min(a) * 1e3:7.2f} ms "
                f"median {np.median(a) * 1e3:7.2f} ms | torch best {min(b) * 1e3:7.2f} ms "
                f"median {np.median(b) * 1e3:7.2f} ms | ratio best {min(b) / min(a):.2f}x "
                f"median {np.median(b) / np.median(a):.2f}x"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
