"""How large per-element #tesa.sparsity maps scale in tesa-opt.

    .venv/bin/python bench/encoding_scale.py [--tesa-opt build/bin/tesa-opt] [--n 4096]

Writes an NxN per-element random mask (90% pruned, mixed widths) twice: as a
dense_resource blob and as an inline hex dense<"0x..."> map. For each it
times `tesa-opt` parsing, verifying and printing the file (median of 5), and
reads the peak resident memory of the process, less that of the same tool on
a tiny file, per map element. CPU timings on the build machine; no GPU.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from tesa import resource_section, sparsity_encoding  # noqa: E402


def run(tool, path, *args):
    """Wall seconds and peak RSS (bytes) of one tesa-opt run."""
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far, so each
    # measurement runs in a fresh Python child that reports its own child.
    code = ("import resource,subprocess,sys,time;t=time.perf_counter();"
            "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL);"
            "t=time.perf_counter()-t;"
            "print(r.returncode,t,resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, tool, str(path), *args,
                          "-o", "/dev/null"], capture_output=True, text=True,
                         check=True).stdout.split()
    if out[0] != "0":
        raise SystemExit(f"tesa-opt failed on {path}")
    return float(out[1]), int(out[2]) * 1024


def measure(tool, path, *args, repeats=5):
    runs = [run(tool, path, *args) for _ in range(repeats)]
    return statistics.median(t for t, _ in runs), max(m for _, m in runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tesa-opt", default="build/bin/tesa-opt")
    parser.add_argument("--n", type=int, default=4096)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    n = args.n
    mask = np.where(rng.random((n, n)) < 0.1,
                    rng.choice([4, 8, 16, 32], size=(n, n)), 0)
    enc = sparsity_encoding(mask, resource_name="mask")
    func = "func.func @f(%w: tensor<{n}x{n}xf32, {a}>) {{\n  return\n}}\n"
    hex_map = ("#tesa.sparsity<map = dense<\"0x" +
               mask.astype(np.uint8).tobytes().hex().upper() +
               f"\"> : tensor<{n}x{n}xi8>>")
    with tempfile.TemporaryDirectory() as tmp:
        tiny = Path(tmp, "tiny.mlir")
        tiny.write_text(func.format(n=4, a="#tesa.sparsity<bits = 8>"))
        resource_file = Path(tmp, "resource.mlir")
        resource_file.write_text(func.format(n=n, a=enc.attribute) +
                                 resource_section([enc]))
        hex_file = Path(tmp, "hex.mlir")
        hex_file.write_text(func.format(n=n, a=hex_map))

        _, base_rss = measure(args.tesa_opt, tiny)
        rows = []
        for name, path, extra in [
                ("dense_resource map: parse, verify, print", resource_file, []),
                ("dense_resource map: parse, verify (blob elided in output)",
                 resource_file, ["--mlir-elide-resource-strings-if-larger=64"]),
                ("dense_resource map: + summary pass", resource_file,
                 ["--tesa-sparsity-summary=output=/dev/null"]),
                ("dense_resource map: + canonicalize-encodings", resource_file,
                 ["--tesa-canonicalize-encodings"]),
                ("inline hex map: parse, canonicalise, verify, print", hex_file, [])]:
            seconds, rss = measure(args.tesa_opt, path, *extra)
            rows.append((name, path.stat().st_size, seconds,
                         (rss - base_rss) / (n * n)))

    print(f"{n}x{n} per-element map, {np.count_nonzero(mask) / mask.size:.1%} kept; "
          f"tesa-opt baseline RSS {base_rss / 2**20:.1f} MiB")
    print(f"| case | file MiB | median s | extra RSS bytes/element |")
    print(f"|---|---|---|---|")
    for name, size, seconds, per_element in rows:
        print(f"| {name} | {size / 2**20:.1f} | {seconds:.3f} | {per_element:.2f} |")


if __name__ == "__main__":
    main()
