"""Check that AVX / AVX-512 instructions appear only in the per-ISA kernel files.

Every object file of an x86-64 build is disassembled with objdump. Code that
runs before dispatch, or on a CPU without AVX (the scalar kernels, CPU
detection, the drivers, the binding), must hold no VEX or EVEX instruction:
one global flag or an inlined helper compiled with the wrong flags would make
the wheel crash with SIGILL on an older CPU. kernels_avx2.c may use AVX2/FMA
but no AVX-512; kernels_avx512.c may use both. Global symbols defined by the
per-ISA files must carry their ISA's suffix, so the linker cannot pick an ISA
copy of a shared function for baseline code.

Usage::

    python tools/check_isa_isolation.py BUILD_DIR   # a CMake build directory
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

# Mnemonics that start with "v" but are not VEX/EVEX-encoded.
NOT_VEX = re.compile(r"^(verr|verw|vmcall|vmlaunch|vmresume|vmxoff|vmxon|vmread|vmwrite|vmptr\w*)$")
# EVEX-only: ZMM, mask registers, registers 16-31, broadcasts, and mnemonics
# that exist only in AVX-512.
AVX512_OPERAND = re.compile(
    r"%zmm\d|%k[0-7]\b|\{%k[0-7]\}|\{z\}|\{1to\d+\}|%[xy]mm(1[6-9]|2\d|3[01])\b"
)
AVX512_MNEMONIC = re.compile(
    r"^(k[a-z]+|vpternlog|vscalef|vgetexp|vgetmant|vrndscale|vperm[it]2|vfixupimm|vrange"
    r"|vreduce|vp?compress|vp?expand|vpmov[a-z]*2m|vpmovm2|vcvt[a-z]*2u|vcvtu)"
)


def classify(obj: Path) -> str:
    """Which instruction set an object file may use: "avx512", "avx2" or "base"."""
    name = obj.name
    if name.startswith("kernels_avx512."):
        return "avx512"
    if name.startswith("kernels_avx2."):
        return "avx2"
    return "base"


def disassemble(obj: Path) -> list[tuple[str, str, str]]:
    """(function, mnemonic, operands) for every instruction of obj."""
    text = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", str(obj)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    out, func = [], "?"
    for line in text.splitlines():
        head = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if head:
            func = head.group(1)
            continue
        ins = re.match(r"^\s+[0-9a-f]+:\s+(\S+)\s*(.*)$", line)
        if ins:
            out.append((func, ins.group(1), ins.group(2)))
    return out


def violations(obj: Path) -> list[str]:
    """Instructions in obj that its class may not use."""
    allowed = classify(obj)
    bad = []
    for func, mnem, ops in disassemble(obj):
        is_vex = mnem.startswith("v") and not NOT_VEX.match(mnem)
        is_512 = bool(AVX512_OPERAND.search(ops) or AVX512_MNEMONIC.match(mnem))
        if allowed == "base" and (is_vex or is_512 or "%ymm" in ops):
            bad.append(f"{obj.name}: {func}: {mnem} {ops}")
        elif allowed == "avx2" and is_512:
            bad.append(f"{obj.name}: {func}: {mnem} {ops}")
    return bad


def unsuffixed_globals(obj: Path) -> list[str]:
    """Global symbols a per-ISA object defines without its ISA's suffix."""
    isa = classify(obj)
    if isa == "base":
        return []
    text = subprocess.run(
        ["nm", "-g", "--defined-only", str(obj)], check=True, capture_output=True, text=True
    ).stdout
    names = [line.split()[-1] for line in text.splitlines() if line.strip()]
    return [f"{obj.name}: {n}" for n in names if not n.endswith("_" + isa)]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    objects = sorted(Path(argv[1]).rglob("*.o"))
    if not objects:
        print(f"no object files under {argv[1]}", file=sys.stderr)
        return 2
    kinds = {classify(o) for o in objects}
    if not {"avx2", "avx512"} <= kinds:
        print(f"per-ISA kernel objects missing under {argv[1]}", file=sys.stderr)
        return 1
    problems = []
    for obj in objects:
        problems += violations(obj) + unsuffixed_globals(obj)
    for obj in objects:
        print(f"    {classify(obj):7s} {obj.name}")
    if problems:
        print("ISA code outside its kernel file:", *problems[:40], sep="\n  ")
        return 1
    print("    ISA isolation: AVX only in kernels_avx2/avx512, AVX-512 only in kernels_avx512")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
