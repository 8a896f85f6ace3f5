"""How large weights scale through propagation and decomposition.

    .venv/bin/python bench/front_end_scale.py [--tesa-opt build/bin/tesa-opt]
        [--block-n 65536] [--fine-n 16384] [--out results.json]

Two matrix products y = x @ W with a 4-row x:
- W of block-n x block-n elements with a 2x2 block map (half the blocks
  pruned): what a block map costs, which should be its map, not its tensor;
- W of fine-n x fine-n elements with a per-element map keeping 5% at 32
  bits (a dense_resource blob): what a per-element map costs.
For each, `tesa-opt` runs propagation with its JSON report, then
decomposition with its cover check (each once: the fine case takes tens of
seconds); the table gives wall seconds and the peak resident memory. CPU
timings on the build machine; no GPU.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from encoding_scale import run  # noqa: E402
from tesa import resource_section, sparsity_encoding  # noqa: E402

PROGRAM = """func.func @f(%x: tensor<4x{n}xf32>, %w: {w}) -> tensor<4x{n}xf32> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x{n}xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x{n}xf32>) -> tensor<4x{n}xf32>
  %y = linalg.matmul ins(%x, %w : tensor<4x{n}xf32>, {w}) outs(%acc : tensor<4x{n}xf32>) -> tensor<4x{n}xf32>
  return %y : tensor<4x{n}xf32>
}}
"""


def block_program(n):
    w = (f"tensor<{n}x{n}xf32, #tesa.sparsity<map = dense<[[0, 32], [32, 0]]>"
         " : tensor<2x2xi8>>>")
    return PROGRAM.format(n=n, w=w), 4


def fine_program(n):
    rng = np.random.default_rng(0)
    mask = np.where(rng.random((n, n)) < 0.05, 32, 0).astype(np.int8)
    encoding = sparsity_encoding(mask, resource_name="w_mask")
    w = f"tensor<{n}x{n}xf32, {encoding.attribute}>"
    return PROGRAM.format(n=n, w=w) + resource_section([encoding]), n * n


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tesa-opt", default="build/bin/tesa-opt")
    parser.add_argument("--block-n", type=int, default=65536)
    parser.add_argument("--fine-n", type=int, default=16384)
    parser.add_argument("--out")
    args = parser.parse_args()
    steps = [("propagate + JSON report",
              ["--tesa-propagate=report=/dev/null report-format=json"]),
             ("decompose + cover check",
              ["--tesa-decompose", "--tesa-check-decomposition"])]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (text, map_entries) in [
                (f"{args.block_n}^2, 2x2 block map", block_program(args.block_n)),
                (f"{args.fine_n}^2, 5% per-element map", fine_program(args.fine_n))]:
            path = Path(tmp, "program.mlir")
            path.write_text(text)
            for step, options in steps:
                seconds, rss = run(args.tesa_opt, path, *options)
                rows.append(dict(weight=name, step=step, map_entries=map_entries,
                                 seconds=round(seconds, 2),
                                 peak_rss_mb=round(rss / 2**20)))
    print("| weight | map entries | step | seconds | peak memory (MB) |")
    print("|---|---:|---|---:|---:|")
    for row in rows:
        print(f"| {row['weight']} | {row['map_entries']} | {row['step']} | "
              f"{row['seconds']} | {row['peak_rss_mb']} |")
    if args.out:
        Path(args.out).write_text(json.dumps(dict(
            date=time.strftime("%Y-%m-%d"), rows=rows), indent=1))


if __name__ == "__main__":
    main()
