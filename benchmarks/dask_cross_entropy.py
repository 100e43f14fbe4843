"""Cross-entropy over a large dask array on a dask.distributed LocalCluster:
fastsoftmax.dask against the same loss written with dask.array's own operations.

The logits are generated chunk by chunk from a seeded generator inside the
workers (never materialised whole). Three timings, interleaved over repeats:
``generate`` (the logits and one cheap max: the floor both methods pay),
``fastsoftmax`` (:func:`fastsoftmax.dask.cross_entropy`) and ``dask`` (max, exp,
sum, log and a point gather of the target logits with dask.array). Reported:
median times and the ratios dask / fastsoftmax, raw and with the generation
time subtracted from both.

    python benchmarks/dask_cross_entropy.py --rows 131072 --classes 32000 --chunk-rows 2048

Not part of the test suite or CI (minutes on a small machine).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _logits_block(seed: int, scale: float, block_info=None) -> np.ndarray:
    info = block_info[None]
    rng = np.random.default_rng([seed, *info["chunk-location"]])
    # uniform in [-scale, scale): several times cheaper to draw than normals
    block = rng.random(info["chunk-shape"], dtype=np.float32)
    block -= np.float32(0.5)
    block *= np.float32(2 * scale)
    return block


def make_logits(rows: int, classes: int, chunk_rows: int, chunk_classes: int, seed: int):
    import dask.array as da

    def split(n, c):
        return (c,) * (n // c) + ((n % c,) if n % c else ())

    return da.map_blocks(
        _logits_block, seed, 8.0, chunks=(split(rows, chunk_rows), split(classes, chunk_classes)),
        dtype=np.float32, meta=np.empty((0, 0), dtype=np.float32), name=f"logits-{seed}",
    )


def dask_native_loss(x, target: np.ndarray):
    """The mean cross-entropy with dask.array operations only (stable: max subtracted)."""
    import dask.array as da

    m = x.max(axis=1, keepdims=True)
    lse = da.log(da.exp(x - m).sum(axis=1)) + m[:, 0]
    picked = x.vindex[np.arange(x.shape[0]), target]
    return (lse - picked).mean(dtype=np.float64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=131072)
    ap.add_argument("--classes", type=int, default=32000)
    ap.add_argument("--chunk-rows", type=int, default=2048)
    ap.add_argument("--chunk-classes", type=int, default=0, help="0: the whole class axis")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads-per-worker", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import dask.array as da
    from distributed import Client, LocalCluster

    import fastsoftmax.dask as fsd

    chunk_classes = args.chunk_classes or args.classes
    gib = args.rows * args.classes * 4 / 2**30
    print(f"logits: ({args.rows}, {args.classes}) float32 = {gib:.2f} GiB, chunks "
          f"({args.chunk_rows}, {chunk_classes}); LocalCluster {args.workers} worker processes "
          f"x {args.threads_per_worker} thread(s)")
    with LocalCluster(n_workers=args.workers, threads_per_worker=args.threads_per_worker,
                      processes=True, dashboard_address=":0") as cluster, Client(cluster):
        x = make_logits(args.rows, args.classes, args.chunk_rows, chunk_classes, args.seed)
        target = np.random.default_rng(args.seed + 1).integers(0, args.classes, args.rows)
        t = da.from_array(target, chunks=x.chunks[0])
        runs = {
            "generate": lambda: da.max(x).compute(),
            "fastsoftmax": lambda: fsd.cross_entropy(x, t, num_threads=1).compute(),
            "dask": lambda: dask_native_loss(x, target).compute(),
        }
        times: dict[str, list[float]] = {k: [] for k in runs}
        values = {}
        for _ in range(args.repeats):
            for name, fn in runs.items():
                t0 = time.perf_counter()
                values[name] = fn()
                times[name].append(time.perf_counter() - t0)
                print(f"  {name:12s} {times[name][-1]:8.2f} s", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    rel = abs(float(values["fastsoftmax"]) - float(values["dask"])) / abs(float(values["dask"]))
    print(f"loss: fastsoftmax {float(values['fastsoftmax']):.9g}, dask {float(values['dask']):.9g}"
          f" (relative difference {rel:.2e})")
    for k, v in med.items():
        print(f"median {k:12s} {v:8.2f} s")
    print(f"ratio dask / fastsoftmax: {med['dask'] / med['fastsoftmax']:.2f}x")
    net_fs, net_dask = med["fastsoftmax"] - med["generate"], med["dask"] - med["generate"]
    if net_fs > 0:
        print(f"ratio without the generation time: {net_dask / net_fs:.2f}x")


if __name__ == "__main__":
    main()
