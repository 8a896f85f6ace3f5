#!/usr/bin/env python3
"""A/B of the tilings of 2:4 structured parts on wgmma.mma_async.sp.

    structured_tiles.py prepare OUT [--tokens 512,128]  # here
    structured_tiles.py run OUT                          # on the GPU machine

BERT-base's Linears (2:4 weights at random positions, f16 programs) at 512
and 128 tokens are compiled once with the heuristic's tiling and once for
each tiling of TILINGS (tesa-compile --structured-tiling=columns a
warpgroup, warpgroups, slabs a block, walk slices, ring slots; 0 slots:
the heuristic's count). `run` is the kernel benchmark's (gpu_kernels.py):
it checks every library against float64 and times it packed once, beside
cuBLAS fp16 and cuSPARSELt, with the weights warm in L2 and read from
memory (as in a model); then it prints each shape's tilings, fastest first,
as ratios to the heuristic's time.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_kernels  # noqa: E402

# BERT-base's Linears: (tag, K, N); the dense columns are the tokens.
SHAPES = [("ffn1", 768, 3072), ("ffn2", 3072, 768), ("attention", 768, 768)]
# (dense columns a warpgroup, warpgroups, slabs a block, walk slices).
TILINGS = [(32, 1, 1, 1), (32, 1, 2, 1), (32, 2, 2, 1),
           (64, 1, 1, 1), (64, 1, 1, 2), (64, 1, 1, 4), (64, 1, 2, 1),
           (64, 2, 1, 1), (64, 2, 2, 1),
           (128, 1, 1, 1), (128, 1, 1, 2), (128, 1, 1, 3), (128, 1, 1, 4),
           (128, 1, 2, 1), (128, 2, 1, 1), (128, 2, 2, 1),
           (256, 1, 1, 1), (256, 1, 1, 2)]


def tiling_cases(tokens):
    """The kernel benchmark's cases: every shape at each of `tokens`, with
    the heuristic's tiling and with each of TILINGS that fits the tokens."""
    out = []
    for m in tokens:
        for tag, k, n in SHAPES:
            # One mask a shape, whatever the tiling.
            def build(rng, k=k, n=n):
                return gpu_kernels.two_four_random_mask(
                    np.random.default_rng([2026, k, n]), (k, n))
            base = f"two_four_s{m}_{tag}"
            out.append((f"{base}_heuristic", "two_four_fp16_program", m, k, n,
                        0.5, build, ["--plan=auto"]))
            for columns, warpgroups, slabs, split in TILINGS:
                if columns * warpgroups > m:
                    continue
                value = f"{columns},{warpgroups},{slabs},{split},0"
                out.append((f"{base}_{value.replace(',', 'x')}",
                            "two_four_fp16_program", m, k, n, 0.5, build,
                            ["--plan=auto", f"--structured-tiling={value}"]))
    return out


def summarise(results):
    """Each shape's tilings, fastest (packed once, weights from memory)
    first, as ratios to the heuristic's."""
    shapes = {}
    for row in results:
        base, _, tiling = row["name"].rpartition("_")
        shapes.setdefault(base, {})[tiling] = row
    for base, rows in shapes.items():
        heuristic = rows.get("heuristic")
        if heuristic is None:
            continue
        anchors = heuristic["cold"] or {}
        print(f"{base}: heuristic {heuristic['tesa_packed_ms']:.4f} ms warm, "
              f"{anchors.get('tesa', float('nan')):.4f} from memory; "
              + ", ".join(f"{k} {v:.4f}" for k, v in anchors.items()
                          if k not in ("tesa", "copies")))
        def cold(row):
            return (row["cold"] or {}).get("tesa", row["tesa_packed_ms"])
        for tiling, row in sorted(rows.items(), key=lambda kv: cold(kv[1])):
            print(f"  {tiling:12} warm {row['tesa_packed_ms']:.4f} "
                  f"({row['tesa_packed_ms'] / heuristic['tesa_packed_ms']:.2f}x)"
                  f"  from memory {cold(row):.4f} "
                  f"({cold(row) / cold(heuristic):.2f}x)  "
                  f"err {row['tesa_packed_relerr']:.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["prepare", "run"])
    parser.add_argument("directory")
    parser.add_argument("--tokens", default="512,128",
                        help="prepare: the dense columns (tokens) of the "
                             "products, comma-separated")
    args = parser.parse_args()
    if args.step == "prepare":
        tokens = [int(t) for t in args.tokens.split(",")]
        gpu_kernels.prepare(args.directory, case_list=tiling_cases(tokens))
    else:
        summary = gpu_kernels.run(args.directory, cold=True)
        summarise(summary["results"])
        (Path(args.directory) / "summary.json").write_text(
            json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
