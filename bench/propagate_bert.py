"""Scale of --tesa-propagate on BERT-base-sized programs.

Generates BERT encoders (hidden 768, FFN 3072, 12 heads, sequence 128) with
a per-element mask on every weight (90% pruned, drawn at random), runs
`tesa-opt --tesa-propagate` on one core (taskset) for several layer counts,
and prints wall time and peak memory (max RSS) per run, with memory per
masked element so that linear growth is visible.

    .venv/bin/python bench/propagate_bert.py [--layers 1 3 6 12]

The figures are recorded in docs/performance.md.
"""

import argparse
import os
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


def bert_base(layers, seq, kept, seed=0):
    rng = np.random.default_rng(seed)
    hidden, ffn = 768, 3072
    shapes = {"wq": (hidden, hidden), "wk": (hidden, hidden),
              "wv": (hidden, hidden), "wo": (hidden, hidden),
              "w1": (hidden, ffn), "w2": (ffn, hidden)}
    masks = {}
    for layer in range(layers):
        for name, shape in shapes.items():
            masks[f"l{layer}_{name}"] = np.where(rng.random(shape) < kept, 32, 0)
    elements = sum(m.size for m in masks.values())
    text = bert_encoder(layers=layers, seq=seq, hidden=hidden, heads=12,
                        ffn=ffn, masks=masks)
    return text, elements


def run_once(path):
    """Wall time and peak RSS (bytes) of one propagation of `path`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    command = ["taskset", "-c", "0", TESA_OPT, str(path), "--tesa-propagate",
               "-o", "/dev/null"]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"tesa-opt failed:\n{result.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far (KiB on Linux).
    return seconds, max(peak, before) * 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 3, 6, 12])
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--kept", type=float, default=0.1)
    args = parser.parse_args()
    print(f"tesa-propagate scale: BERT-base blocks, seq {args.seq}, "
          f"{100 * (1 - args.kept):.0f}% of every weight pruned per element")
    print(f"{'layers':>6} {'masked elements':>16} {'input MB':>9} "
          f"{'seconds':>8} {'peak MB':>8} {'bytes/element':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        # Smallest first: RUSAGE_CHILDREN's maximum only grows.
        for layers in sorted(args.layers):
            text, elements = bert_base(layers, args.seq, args.kept)
            path = Path(tmp) / f"bert{layers}.mlir"
            path.write_text(text)
            seconds, peak = run_once(path)
            print(f"{layers:>6} {elements:>16} {path.stat().st_size / 1e6:>9.1f} "
                  f"{seconds:>8.2f} {peak / 1e6:>8.0f} {peak / elements:>14.1f}",
                  flush=True)
            path.unlink()


if __name__ == "__main__":
    main()
