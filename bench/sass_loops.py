#!/usr/bin/env python3
#===- bench/sass_loops.py - Instructions per product of a part's loops ----===#
#
# Part of the tesa project.
#
#===----------------------------------------------------------------------===#
"""The loops of the kernels tesa-compile makes for a benchmark case, as the
GPU would run them: the case (bench/gpu_kernels.py) is compiled to PTX,
ptxas (/usr/local/cuda) assembles it for sm_90a, and cuobjdump (PyPI's
nvidia-cuda-cuobjdump, in the venv) lists the SASS. Every backward branch
closes a loop; for each, its instructions, its multiply-adds (FFMA, HFMA2,
IDP, HMMA, ...) and the instructions per multiply-add, the static measure
of how much work the walk spends around its products. No GPU is needed.

    .venv/bin/python bench/sass_loops.py fine_fp32_1024_99
    .venv/bin/python bench/sass_loops.py fine_fp32_1024_90 --kernel part0 \\
        --compile-option=--plan=fine
"""
import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import gpu_kernels  # noqa: E402

PTXAS = Path("/usr/local/cuda/bin/ptxas")
# Instructions that multiply and add (one or more products each).
PRODUCT = re.compile(r"^(FFMA|HFMA2|IDP|HMMA|IMMA|HGMMA|IGMMA|DFMA)")
LINE = re.compile(r"^\s+/\*([0-9a-f]{4,})\*/\s+(.*?);")


def cuobjdump():
    """The venv's cuobjdump (with nvdisasm beside it), else PATH's."""
    import nvidia
    for base in nvidia.__path__:
        for found in Path(base).glob("cu*/bin/cuobjdump"):
            return found
    found = shutil.which("cuobjdump")
    if not found:
        sys.exit("sass_loops: no cuobjdump: pip install nvidia-cuda-cuobjdump "
                 "nvidia-cuda-nvdisasm (python/requirements.txt)")
    return Path(found)


def compile_case(name, options, work):
    """The PTX of case `name`, compiled with its own and `options`."""
    for case, family, m, k, n, _, build, own in gpu_kernels.cases():
        if case != name:
            continue
        mask = build(np.random.default_rng([2026, zlib.crc32(name.encode())]))
        source = work / f"{name}.mlir"
        source.write_text(gpu_kernels.program(
            m, k, n, mask, gpu_kernels.element_of(family)))
        temps = work / "temps"
        subprocess.run([str(ROOT / "build" / "bin" / "tesa-compile"),
                        str(source), "-o", str(work / f"{name}.so"),
                        "--target=nvvm", "--chip=sm_90", "--format=isa",
                        f"--save-temps={temps}", *own, *options], check=True)
        # The PTX is a string of the host object.
        data = (temps / "host.o").read_bytes()
        start = data.index(b".version")
        return data[start:data.index(b"\0", start)]
    sys.exit(f"sass_loops: no benchmark case {name}")


def functions(sass):
    """{kernel name: [(address, instruction)]} of cuobjdump's listing."""
    listing, current = {}, None
    for line in sass.splitlines():
        header = re.search(r"Function : (\S+)", line)
        if header:
            current = listing.setdefault(header.group(1), [])
            continue
        match = LINE.match(line)
        if match and current is not None:
            current.append((int(match.group(1), 16), match.group(2).strip()))
    return listing


def opcode(instruction):
    words = instruction.split()
    return words[1] if words[0].startswith("@") and len(words) > 1 else words[0]


def loops(code):
    """(first, last address, opcode counts) of each loop: the instructions
    from a backward branch's target to the branch."""
    found = []
    for address, instruction in code:
        target = re.search(r"\bBRA\s+(?:`\()?(0x[0-9a-f]+)", instruction)
        if not target or int(target.group(1), 16) > address:
            continue
        first = int(target.group(1), 16)
        counts = collections.Counter(
            opcode(i) for a, i in code if first <= a <= address)
        found.append((first, address, counts))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", help="a case of bench/gpu_kernels.py")
    parser.add_argument("--kernel", help="only this kernel (e.g. part0)")
    parser.add_argument("--compile-option", dest="options", action="append",
                        default=[], help="more tesa-compile options")
    parser.add_argument("--save", help="write the SASS listing here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        (work / "kernels.ptx").write_bytes(
            compile_case(args.case, args.options, work))
        subprocess.run([str(PTXAS), "-arch=sm_90a", "-O3",
                        str(work / "kernels.ptx"), "-o",
                        str(work / "kernels.cubin")], check=True)
        sass = subprocess.run([str(cuobjdump()), "-sass",
                               str(work / "kernels.cubin")], check=True,
                              capture_output=True, text=True).stdout
    if args.save:
        Path(args.save).write_text(sass)
    for name, code in sorted(functions(sass).items()):
        if args.kernel and name != args.kernel:
            continue
        print(f"{name}: {len(code)} instructions")
        for first, last, counts in loops(code):
            total = sum(counts.values())
            products = sum(c for op, c in counts.items() if PRODUCT.match(op))
            per = f"{total / products:.1f} a product" if products else "-"
            common = ", ".join(f"{op} {c}" for op, c in counts.most_common(6))
            print(f"  loop {first:#06x}-{last:#06x}: {total} instructions, "
                  f"{products} products, {per} ({common})")


if __name__ == "__main__":
    main()
