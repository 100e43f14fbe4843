"""How close softmax of long rows comes to a bare copy, timed as the comparison times it.

In ``peer_comparison.py`` every call follows the peers' calls. Their temporaries push
the input out of the cache, so a long-row softmax there pays for memory, not for its
exponentials. This script times, in exactly those conditions, what bounds such a call
from below: a copy of the input (one read and one write of every element) and ``x * 2``.
Beside them it times fastsoftmax's three functions and SciPy's softmax. Every call
comes after a PyTorch softmax (where torch is installed) and a SciPy softmax.

Usage::

    python benchmarks/memory_floor.py --shape 16x262144 --rounds 30

Prints the median thread CPU time of each call, and its ratio to the copy's time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import scipy.special

import fastsoftmax


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("x"))


def _evictors(x: np.ndarray) -> list[Callable[[], object]]:
    """The peers' calls that run before each timed call."""
    calls: list[Callable[[], object]] = []
    try:
        import torch
    except ImportError:
        print("torch not installed: only SciPy's softmax runs before each call")
    else:
        torch.set_num_threads(1)
        tx = torch.from_numpy(x)
        calls.append(lambda: torch.softmax(tx, dim=-1))
    calls.append(lambda: scipy.special.softmax(x, axis=-1))
    return calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=_shape, default=(16, 262144))
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    x = (rng.standard_normal(args.shape) * 4).astype(np.float32)
    calls: dict[str, Callable[[], object]] = {
        "x.copy()": x.copy,
        "x * 2": lambda: x * 2,
        "fastsoftmax.logsumexp": lambda: fastsoftmax.logsumexp(x, axis=-1, num_threads=1),
        "fastsoftmax.log_softmax": lambda: fastsoftmax.log_softmax(x, axis=-1, num_threads=1),
        "fastsoftmax.softmax": lambda: fastsoftmax.softmax(x, axis=-1, num_threads=1),
        "scipy.special.softmax": lambda: scipy.special.softmax(x, axis=-1),
    }
    evictors = _evictors(x)
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(args.rounds):
        for name, call in calls.items():
            for evict in evictors:
                evict()
            start = time.thread_time()
            call()
            times[name].append(time.thread_time() - start)

    copy = float(np.median(times["x.copy()"]))
    print(f"shape {'x'.join(map(str, args.shape))} float32, median of {args.rounds} rounds")
    for name, samples in times.items():
        median = float(np.median(samples))
        print(f"{name:24s} {median * 1e6:9.0f} us  {median / copy:5.2f}x the copy")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
