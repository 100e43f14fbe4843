"""Repeated small calls must not grow the process's memory.

Runs every function of the reliability table (tests/battery.py) on small
inputs over and over (valid calls, calls with out=/grad_out=, and calls that
fail argument checks), and compares the resident set size after a warm-up
with the size at the end. Exits 1 when it grew by more than ``--max-growth-kib``.

Usage::

    python tools/memory_growth.py [--calls 100000] [--max-growth-kib 256]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from battery import ENTRIES  # noqa: E402


def rss_kib() -> int:
    """Current resident set size in KiB (Linux /proc; else the peak from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def one_round(cases) -> None:
    for call in cases:
        try:
            call()
        except (ValueError, TypeError):
            pass


def make_cases():
    rng = np.random.default_rng(0)
    x32 = rng.standard_normal((7, 17)).astype(np.float32)
    x64 = rng.standard_normal((5, 33))
    xf = np.asfortranarray(rng.standard_normal((9, 3)))
    cases = []
    for e in ENTRIES:
        for x in (x32, x64, xf):
            cases.append(lambda e=e, x=x: e.call(x, axis=-1))
            cases.append(lambda e=e, x=x: e.call(x, axis=0))
            out = np.empty(e.result_shape(x.shape, -1), dtype=x.dtype)
            cases.append(lambda e=e, x=x, out=out: e.call(x, axis=-1, **{e.out_arg: out}))
        cases.append(lambda e=e: e.call(x64, axis=5))  # fails in the argument checks
        cases.append(lambda e=e: e.call(x64, axis=-1, num_threads=0))
    return cases


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=100_000, help="total calls (default 1e5)")
    p.add_argument("--max-growth-kib", type=int, default=256)
    args = p.parse_args(argv)
    cases = make_cases()
    rounds = max(1, args.calls // len(cases))
    for _ in range(max(1, rounds // 10)):  # warm-up: caches, lazy imports, arenas
        one_round(cases)
    gc.collect()
    before = rss_kib()
    for _ in range(rounds):
        one_round(cases)
    gc.collect()
    after = rss_kib()
    growth = after - before
    print(f"memory_growth: {rounds * len(cases)} calls, RSS {before} KiB -> {after} KiB "
          f"(growth {growth} KiB, limit {args.max_growth_kib} KiB)")
    return 0 if growth <= args.max_growth_kib else 1


if __name__ == "__main__":
    sys.exit(main())
