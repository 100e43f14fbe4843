"""Compare fastsoftmax with NumPy, SciPy, PyTorch and scikit-learn side by side.

Examples
--------
::

    python benchmarks/peer_comparison.py --quick
    python benchmarks/peer_comparison.py --threads 1,all --dtype float32,float64
    python benchmarks/peer_comparison.py --markdown out.md --plot docs/throughput.png

The printed cells hold the median time per call and the ratio
``peer time / fastsoftmax time``: above 1 means fastsoftmax is faster. Ratios,
not absolute times, are what to compare across machines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

# fastsoftmax is imported inside the functions: asv imports every module of
# this folder during discovery, and this one must import even where the
# installed fastsoftmax has no _compare module (older commits).

FUNCTION_NAMES = ("softmax", "log_softmax", "logsumexp", "cross_entropy", "cross_entropy_grad")


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _threads(text: str) -> list[int | str]:
    out: list[int | str] = []
    for part in _csv(text):
        out.append(part if part == "all" else int(part))
    return out


def _shapes(text: str) -> list[Any]:
    """Parse ``1024x1000,256x32000,1000x4096:0`` (``:axis`` optional, default -1)."""
    from fastsoftmax._compare import ShapeCase

    cases = []
    for part in _csv(text):
        dims, _, axis = part.partition(":")
        shape = tuple(int(n) for n in dims.lower().split("x"))
        cases.append(ShapeCase(shape, int(axis) if axis else -1))
    return cases


def build_parser() -> argparse.ArgumentParser:
    """Build the command-line parser.

    Returns
    -------
    argparse.ArgumentParser
        The parser.
    """
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="a few shapes, float32, 1 thread, short budget",
    )
    p.add_argument(
        "--threads",
        type=_threads,
        default=None,
        help="thread counts, e.g. 1,2 or 1,all",
    )
    p.add_argument("--dtype", type=_csv, default=None, help="dtypes, e.g. float32,float64")
    p.add_argument(
        "--functions",
        type=_csv,
        default=None,
        help=f"operations, from {','.join(FUNCTION_NAMES)} (default the first three)",
    )
    p.add_argument(
        "--shapes",
        type=_shapes,
        default=None,
        help="shapes as RxC[:axis], e.g. 1024x1000,1000x4096:0",
    )
    p.add_argument(
        "--peers",
        type=_csv,
        default=None,
        help="peers, from numpy,scipy,torch,sklearn (default all)",
    )
    p.add_argument(
        "--min-time",
        type=float,
        default=None,
        help="seconds per implementation and case",
    )
    p.add_argument(
        "--no-interleave",
        action="store_true",
        help="time each implementation in one block",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument(
        "--clock",
        choices=("wall", "thread"),
        default="wall",
        help="wall time, or the calling thread's CPU time (steadier on a loaded machine; "
        "one-thread cases only)",
    )
    p.add_argument(
        "--markdown",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write a Markdown table",
    )
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the results as JSON",
    )
    p.add_argument(
        "--plot",
        type=Path,
        default=None,
        metavar="PATH",
        help="also save a throughput plot (PNG)",
    )
    p.add_argument(
        "--plot-function",
        default="softmax",
        choices=FUNCTION_NAMES,
        help="operation plotted",
    )
    p.add_argument("--no-table", action="store_true", help="skip the table (e.g. only --plot)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the comparison from the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status.
    """
    import numpy as np

    from fastsoftmax._compare import (
        DEFAULT_PEERS,
        FUNCTIONS,
        format_markdown,
        plot_throughput,
        run_comparison,
    )

    parser = build_parser()
    args = parser.parse_args(argv)
    for name in args.functions or ():
        if name not in FUNCTIONS:
            parser.error(f"--functions: unknown {name!r}; choose from {','.join(FUNCTIONS)}")
    for name in args.peers or ():
        if name not in DEFAULT_PEERS:
            parser.error(f"--peers: unknown {name!r}; choose from {','.join(DEFAULT_PEERS)}")
    for name in args.dtype or ():
        try:
            np.dtype(name)
        except TypeError:
            parser.error(f"--dtype: unknown dtype {name!r}")
    if not args.no_table:
        results = run_comparison(
            args.quick,
            functions=args.functions,
            shapes=args.shapes,
            dtypes=args.dtype,
            threads=args.threads,
            peers=args.peers,
            min_time=args.min_time,
            interleave=not args.no_interleave,
            seed=args.seed,
            clock=args.clock,
        )
        if args.markdown is not None:
            args.markdown.parent.mkdir(parents=True, exist_ok=True)
            args.markdown.write_text(format_markdown(results), encoding="utf-8")
            print(f"wrote {args.markdown}")
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(
                json.dumps(results, indent=1, default=list) + "\n", encoding="utf-8"
            )
            print(f"wrote {args.json}")
    if args.plot is not None:
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        threads = args.threads[0] if args.threads else 1
        dtype = args.dtype[0] if args.dtype else "float32"
        plot_throughput(
            args.plot,
            function=args.plot_function,
            dtype=dtype,
            threads=threads,
            peers=args.peers if args.peers is not None else ("torch", "scipy", "numpy"),
            min_time=args.min_time,
            quick=args.quick,
            seed=args.seed,
        )
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
