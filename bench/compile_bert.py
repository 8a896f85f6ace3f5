"""Scale of the whole NVVM pipeline on a BERT-base-sized program.

Generates a 12-layer BERT encoder (hidden 768, FFN 3072, 12 heads, sequence
128) with a 95% fine-grained mask on every weight (each element kept with
probability 5%, at 32 bits), runs

    tesa-opt --tesa-propagate --tesa-pipeline="target=nvvm chip=sm_90"

and reports the wall time, peak memory, the size of the kernel binaries
(the cubin bytes in gpu.binary ops) and the size of the packed weights (the
values the pack kernels produce: 4 bytes per kept f32 element, 2 per f16,
1 per int8), and their ratio.

    .venv/bin/python bench/compile_bert.py [--layers 12] [--chip sm_90]

The figures are recorded in docs/performance.md.
"""

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tesa.models import bert_encoder

ROOT = Path(__file__).resolve().parents[1]
TESA_OPT = os.environ.get("TESA_OPT", str(ROOT / "build" / "bin" / "tesa-opt"))


def bert_base(layers, kept, seed=0):
    rng = np.random.default_rng(seed)
    hidden, ffn = 768, 3072
    shapes = {"wq": (hidden, hidden), "wk": (hidden, hidden),
              "wv": (hidden, hidden), "wo": (hidden, hidden),
              "w1": (hidden, ffn), "w2": (ffn, hidden)}
    masks = {f"l{layer}_{name}": np.where(rng.random(shape) < kept, 32, 0)
             for layer in range(layers) for name, shape in shapes.items()}
    text = bert_encoder(layers=layers, seq=128, hidden=hidden, heads=12,
                        ffn=ffn, masks=masks)
    return text, masks


def binary_bytes(ir_text):
    """Total bytes of the kernel objects (escaped strings in gpu.binary)."""
    total = 0
    for match in re.finditer(r'bin = "((?:[^"\\]|\\.)*)"', ir_text):
        escaped = match.group(1)
        # Each \XX escape is one byte; every other character is one byte.
        total += len(escaped) - 2 * escaped.count("\\") + escaped.count("\\\\")
    return total


def packed_bytes(ir_text):
    """Bytes of the packed values the pack kernels write (memref allocs
    passed to *_pack launches)."""
    sizes = {"f32": 4, "f16": 2, "i8": 1}
    total = 0
    for match in re.finditer(r"_pack\b[^\n]*args\([^)]*?: memref<(\d+)x(f32|f16|i8)>",
                             ir_text):
        total += int(match.group(1)) * sizes[match.group(2)]
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--chip", default="sm_90")
    parser.add_argument("--kept", type=float, default=0.05)
    args = parser.parse_args()

    text, masks = bert_base(args.layers, args.kept)
    kept = sum(int((m > 0).sum()) for m in masks.values())
    elements = sum(m.size for m in masks.values())
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "bert.mlir"
        source.write_text(text)
        # The pack launches, before the host code is lowered, give the
        # packed sizes; the full pipeline gives the binaries.
        parts = subprocess.run(
            [TESA_OPT, str(source), "--tesa-propagate",
             f"--tesa-decompose=chip={args.chip}",
             f"--tesa-lower-parts-to-gpu=chip={args.chip}", "-o", "-",
             "--mlir-elide-elementsattrs-if-larger=16",
             "--mlir-elide-resource-strings-if-larger=16"],
            capture_output=True, text=True)
        if parts.returncode != 0:
            sys.exit(f"tesa-opt failed:\n{parts.stderr[-2000:]}")
        packed = packed_bytes(parts.stdout)
        output = Path(tmp) / "out.mlir"
        command = [TESA_OPT, str(source), "--tesa-propagate",
                   f"--tesa-pipeline=target=nvvm chip={args.chip}",
                   "-o", str(output)]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"tesa-opt failed:\n{result.stderr[-2000:]}")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        binary = binary_bytes(output.read_text())
    print(f"layers {args.layers}, chip {args.chip}: {elements} weight elements, "
          f"{kept} kept ({kept / elements:.1%})")
    print(f"whole NVVM pipeline: {seconds:.1f} s, peak memory "
          f"{peak / 2**30:.2f} GiB")
    print(f"kernel binaries {binary / 2**20:.2f} MiB, packed weights "
          f"{packed / 2**20:.2f} MiB, ratio {binary / max(packed, 1):.2f}")


if __name__ == "__main__":
    main()
