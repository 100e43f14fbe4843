"""Read a memcheck log and fail on the errors and definite leaks that are ours.

CPython, the dynamic loader and NumPy are not built for memcheck and report
known false positives (optimised string routines, CPython's small-int cache);
a record counts as ours when any frame of its stacks (the access, the
allocation, or the origin with --track-origins) is in the fastsoftmax
extension: its file name, a C function of the library (``fss_``) or of the
Cython binding (``__pyx_``).

Usage: python tools/valgrind_filter.py LOGFILE   (exit 1 when any record is ours)
"""

from __future__ import annotations

import re
import sys

OURS = re.compile(r"fastsoftmax/_core|\bfss_\w+|__pyx_|csrc/")
KINDS = re.compile(
    r"^(Invalid |Use of uninitialised|Conditional jump|Syscall param|Mismatched free|"
    r"Source and destination overlap|Argument '|.*definitely lost in)"
)


def records(text: str):
    """Blocks of one valgrind record each (separated by empty ``==PID==`` lines)."""
    block: list[str] = []
    for line in text.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if not body.strip():
            if block:
                yield block
            block = []
        else:
            block.append(body)
    if block:
        yield block


def main(argv: list[str]) -> int:
    text = open(argv[1], encoding="utf-8", errors="replace").read()
    ours, others = [], 0
    for block in records(text):
        if not KINDS.match(block[0]):
            continue
        if any(OURS.search(line) for line in block):
            ours.append(block)
        else:
            others += 1
    for block in ours:
        print("\n".join(block), end="\n\n")
    print(f"valgrind_filter: {len(ours)} record(s) in fastsoftmax; {others} elsewhere "
          "(interpreter, loader, NumPy: not counted)")
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
