"""Measure the decomposition's cost table on a GPU and write it for the planner.

The planner (lib/Analysis/DecompositionPlan.cpp) prices a part per column of
the dense operand: a fine-grained part by its kept elements, a block part by
its blocks, each kind (f32, f16, int8) and block shape at its own rate. This
script measures those rates with tesa's own kernels.

  prepare DIR  (here)  compiles, for sm_90, C = A @ W with A 1024x1024 and W
               1024x1024 carrying a mask, once per (kind, plan, density):
               fine-grained parts at 2/5/10% kept, and block parts of every
               shape on the chip's menu that the kind accepts at 5/15/30% of
               blocks kept; W is an argument, so the packed entry point runs
               the compute kernels alone.
  run DIR      (GPU)   times each library's packed entry point (medians of
               CUDA-graph replays), after checking its result against
               float64; writes DIR/costs.json.
  fit JSON     (here)  fits time = launch + rate * units per (kind, plan) by
               least squares over the densities, and writes the rates,
               relative to one fine-grained f32 element, to
               lib/Target/costs/<chip>.inc with the device, date and commit.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))

from gpu_kernels import expand, program, relative_error  # noqa: E402

CHIP = "sm_90"
M = K = N = 1024
KINDS = {"F32": 32, "F16": 16, "I8": 8}
FINE_KEPT = (0.02, 0.05, 0.10)
BLOCK_KEPT = (0.05, 0.15, 0.30)
# The chip's block menu as (channels, reduction): lib/Target/ChipDescription.cpp.
MENU = ((16, 16), (16, 32), (32, 32), (64, 64), (32, 64))
# Reduction a block of each kind needs on sm_80+ (mma k; SIMT groups).
REDUCTION_MULTIPLE = {"F32": 1, "F16": 16, "I8": 32}


def cases():
    """(name, kind, plan, block shape or None, kept fraction)."""
    out = []
    for kind in KINDS:
        for kept in FINE_KEPT:
            out.append((f"{kind}_fine_{int(kept * 100)}", kind, "fine", None,
                        kept))
        for channels, reduction in MENU:
            if reduction % REDUCTION_MULTIPLE[kind]:
                continue
            for kept in BLOCK_KEPT:
                out.append((f"{kind}_block{channels}x{reduction}_"
                            f"{int(kept * 100)}", kind, "block",
                            (channels, reduction), kept))
    return out


def mask_for(rng, kind, plan, shape, kept):
    """W's mask (K x N; channels run along N, the reduction along K): per
    element for fine plans, per block for block plans, so that its kept
    entries count the units either way."""
    bits = KINDS[kind]
    if plan == "fine":
        return np.where(rng.random((K, N)) < kept, bits, 0).astype(np.int8)
    channels, reduction = shape
    grid = rng.random((K // reduction, N // channels)) < kept
    return np.where(grid, bits, 0).astype(np.int8)


def prepare(directory):
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    compiler = ROOT / "build" / "bin" / "tesa-compile"
    rng = np.random.default_rng(90)
    manifest = []
    for name, kind, plan, shape, kept in cases():
        mask = mask_for(rng, kind, plan, shape, kept)
        source = out / f"{name}.mlir"
        source.write_text(program(M, K, N, mask))
        options = [f"--plan={plan}"]
        if shape:
            options.append(f"--block-shape={shape[0]}x{shape[1]}")
        subprocess.run([str(compiler), str(source), "-o", str(out / f"{name}.so"),
                        "--target=nvvm", f"--chip={CHIP}", *options], check=True)
        source.unlink()
        np.savez_compressed(out / f"{name}.mask.npz", mask=mask)
        manifest.append(dict(name=name, kind=kind, plan=plan, shape=shape,
                             units=int((mask > 0).sum())))
        print(f"compiled {name}: {manifest[-1]['units']} units", flush=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


def run(directory):
    import torch
    import tesa
    from tesa.timing import graph_median
    directory = Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    stream = torch.cuda.Stream()
    rng = torch.Generator(device="cuda")
    rng.manual_seed(7)
    results = []
    for case in manifest:
        mask = np.load(directory / f"{case['name']}.mask.npz")["mask"]
        full = torch.from_numpy(expand(mask, (K, N))).cuda()
        a = torch.randn(M, K, device="cuda", generator=rng)
        w = torch.randn(K, N, device="cuda", generator=rng)
        w = torch.where(full > 0, w, torch.zeros_like(w))
        library = tesa.load(directory / f"{case['name']}.so")
        out = torch.full((M, N), float("nan"), device="cuda")
        with torch.cuda.stream(stream):
            packed = library.matmul.pack(None, w)
            packed(a, out=out)
        stream.synchronize()
        error = relative_error(out, a.double() @ w.double())
        ms = graph_median(lambda: packed(a, out=out), stream)
        results.append(dict(case, ms=ms, relerr=error))
        print(f"{case['name']:24} {ms:.4f} ms  err {error:.1e}", flush=True)
        del packed, library
    summary = dict(device=torch.cuda.get_device_properties(0).name,
                   date=time.strftime("%Y-%m-%d"), chip=CHIP, m=M, k=K, n=N,
                   results=results)
    (directory / "costs.json").write_text(json.dumps(summary, indent=1))
    return summary


def fit_rates(results):
    """{(kind, plan, shape): (launch ms, ms per unit)} by least squares."""
    groups = {}
    for row in results:
        key = (row["kind"], row["plan"], tuple(row["shape"] or ()))
        groups.setdefault(key, []).append((row["units"], row["ms"]))
    rates = {}
    for key, points in groups.items():
        x = np.array([p[0] for p in points], dtype=float)
        y = np.array([p[1] for p in points], dtype=float)
        slope, intercept = np.polyfit(x, y, 1)
        rates[key] = (float(intercept), float(max(slope, 1e-12)))
    return rates


def fit(path, commit):
    summary = json.loads(Path(path).read_text())
    rates = fit_rates(summary["results"])
    unit = rates[("F32", "fine", ())][1]
    lines = [
        f"// {summary['chip']} kernel costs, measured by bench/cost_table.py on "
        f"{summary['device']}",
        f"// ({summary['date']}, commit {commit}; {Path(path).name}).",
        f"// C = A @ W, A {summary['m']}x{summary['k']}, W "
        f"{summary['k']}x{summary['n']} masked, packed entry point timed;",
        "// time = launch + rate * units fitted per kind and block shape.",
        "// Units: one kept element of the fine-grained f32 kernel; the fine",
        "// rates are per kept element, the block rates per block.",
        "// Generated: edit by re-running `bench/cost_table.py fit`.",
    ]
    for kind in KINDS:
        lines.append(f"TESA_FINE_COST({kind}, "
                     f"{rates[(kind, 'fine', ())][1] / unit:.4g})")
    for (kind, plan, shape), (_, rate) in sorted(rates.items()):
        if plan == "block":
            lines.append(f"TESA_BLOCK_COST({kind}, {shape[0]}, {shape[1]}, "
                         f"{rate / unit:.4g})")
    target = ROOT / "lib" / "Target" / "costs" / f"{summary['chip']}.inc"
    target.parent.mkdir(exist_ok=True)
    target.write_text("\n".join(lines) + "\n")
    print(target.read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["prepare", "run", "fit"])
    parser.add_argument("path", help="directory (prepare, run) or costs.json (fit)")
    parser.add_argument("--commit", default="", help="fit: the commit measured")
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.path)
    elif args.step == "run":
        run(args.path)
    else:
        fit(args.path, args.commit)


if __name__ == "__main__":
    main()
