"""``python -m fastsoftmax``: print the runtime, then a short side-by-side timing."""

from __future__ import annotations

import argparse

from ._runtime import show_runtime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fastsoftmax", description=__doc__)
    parser.add_argument("--runtime-only", action="store_true", help="print the runtime and stop")
    parser.add_argument(
        "--full", action="store_true", help="run the full comparison, not the quick one"
    )
    args = parser.parse_args(argv)
    show_runtime()
    if args.runtime_only:
        return 0
    print()
    from ._compare import run_comparison

    run_comparison(quick=not args.full)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
