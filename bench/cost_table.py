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
               It also compiles a few mixed masks four ways (plan=auto with
               this table, plan=auto with the analytical table, which
               sm_80's is, plan=fine, plan=block 32x32) and times them, to
               check that the table picks the faster plan.
  fit JSON     (here)  fits time = launch + rate * units per (kind, plan) by
               least squares over the densities, and writes the rates,
               relative to one fine-grained f32 element, as the chip's
               KernelCosts to lib/Target/costs/<chip>.inc, with the device,
               date and commit; ChipDescription.cpp includes it.
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

from gpu_kernels import (expand, int8_outliers, mixed_blocks_fine,  # noqa: E402
                         program, relative_error)

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


def plan_cases():
    """(name, mask builder) for checking the table's choices."""
    def clustered(rng, bits, block, kept_blocks, density):
        grid = rng.random((K // block, N // block)) < kept_blocks
        inside = rng.random((K, N)) < density
        full = np.kron(grid, np.ones((block, block), bool)) & inside
        return np.where(full, bits, 0).astype(np.int8)

    return [
        ("mixed_blocks_fine", mixed_blocks_fine),
        ("int8_outliers", int8_outliers),
        ("f16_blocks_half_full", lambda r: clustered(r, 16, 16, 0.2, 0.5)),
        ("f16_blocks_quarter_full", lambda r: clustered(r, 16, 16, 0.2, 0.25)),
        ("f32_blocks_full", lambda r: clustered(r, 32, 32, 0.2, 1.0)),
        ("i8_blocks_third_full", lambda r: clustered(r, 8, 32, 0.2, 0.33)),
        ("i8_scattered", lambda r: np.where(r.random((K, N)) < 0.05, 8,
                                            0).astype(np.int8)),
    ]


# How each plan of plan_cases() is compiled: tesa-compile options, and
# whether the analytical table decomposes first (sm_80's, identical to what
# sm_90 had before it was measured).
PLANS = {
    "measured": ["--plan=auto"],
    "analytical": None,
    "fine": ["--plan=fine"],
    "block": ["--plan=block", "--block-shape=32x32"],
}


def compile_plan(source, library, plan):
    compiler = ROOT / "build" / "bin" / "tesa-compile"
    if PLANS[plan] is not None:
        subprocess.run([str(compiler), str(source), "-o", str(library),
                        "--target=nvvm", f"--chip={CHIP}", *PLANS[plan]],
                       check=True)
        return
    decomposed = source.with_suffix(".decomposed.mlir")
    subprocess.run([str(ROOT / "build" / "bin" / "tesa-opt"), str(source),
                    "--tesa-decompose=chip=sm_80", "-o", str(decomposed)],
                   check=True)
    subprocess.run([str(compiler), str(decomposed), "-o", str(library),
                    "--target=nvvm", f"--chip={CHIP}", "--propagate=false"],
                   check=True)
    decomposed.unlink()


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
    for name, build in plan_cases():
        mask = build(rng)
        source = out / f"{name}.mlir"
        source.write_text(program(M, K, N, mask))
        np.savez_compressed(out / f"{name}.mask.npz", mask=mask)
        for plan in PLANS:
            compile_plan(source, out / f"{name}_{plan}.so", plan)
            manifest.append(dict(name=f"{name}_{plan}", mask=name, plan=plan))
        source.unlink()
        print(f"compiled {name} four ways", flush=True)
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
        mask_name = case.get("mask", case["name"])
        mask = np.load(directory / f"{mask_name}.mask.npz")["mask"]
        full = torch.from_numpy(expand(mask, (K, N))).cuda()
        a = torch.randn(M, K, device="cuda", generator=rng)
        w = torch.randn(K, N, device="cuda", generator=rng)
        w = torch.where(full > 0, w, torch.zeros_like(w))
        library = tesa.load(directory / f"{case['name']}.so")
        out = torch.full((M, N), float("nan"), device="cuda")
        with torch.cuda.stream(stream):
            # Parts that read W in place (kept-block parts at the operands'
            # own precision) pack nothing: the plain entry point is timed.
            if "matmul_pack" in library.functions:
                packed = library.matmul.pack(None, w)
            else:
                def packed(a, out, w=w, library=library):
                    library.matmul(a, w, out=out)
            packed(a, out=out)
        stream.synchronize()
        error = relative_error(out, a.double() @ w.double())
        ms = graph_median(lambda: packed(a, out=out), stream)
        results.append(dict(case, ms=ms, relerr=error))
        print(f"{case['name']:24} {ms:.4f} ms  err {error:.1e}", flush=True)
        del packed, library
    print(plan_table(results), flush=True)
    summary = dict(device=torch.cuda.get_device_properties(0).name,
                   date=time.strftime("%Y-%m-%d"), chip=CHIP, m=M, k=K, n=N,
                   results=results)
    (directory / "costs.json").write_text(json.dumps(summary, indent=1))
    return summary


def plan_table(results):
    """The plan cases as a Markdown table: ms per plan, fastest in bold."""
    rows = {}
    for row in results:
        if "mask" in row:
            rows.setdefault(row["mask"], {})[row["plan"]] = row["ms"]
    lines = ["| mask | " + " | ".join(PLANS) + " |",
             "|---|" + "---:|" * len(PLANS)]
    for mask, times in rows.items():
        best = min(times.values())
        cells = [f"**{t:.4f}**" if t == best else f"{t:.4f}"
                 for t in (times[p] for p in PLANS)]
        lines.append(f"| {mask} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fit_rates(results):
    """{(kind, plan, shape): (launch ms, ms per unit)} by least squares."""
    groups = {}
    for row in results:
        if "kind" not in row:
            continue
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
    fine = [rates[(kind, "fine", ())][1] / unit for kind in KINDS]
    blocks = sorted((kind, shape, rate / unit)
                    for (kind, plan, shape), (_, rate) in rates.items()
                    if plan == "block")
    # For shapes off the menu (plan=block with another block-shape): per
    # kind, cost = overhead + per_mac * MACs over the measured shapes.
    linear = {}
    for kind in KINDS:
        points = [(shape[0] * shape[1], cost) for k, shape, cost in blocks
                  if k == kind]
        per_mac, overhead = np.polyfit([p[0] for p in points],
                                       [p[1] for p in points], 1)
        linear[kind] = (max(float(overhead), 0.0), max(float(per_mac), 0.0))
    # Fixed costs, in the same unit (measured at the same M columns): per
    # part, the smallest intercept of a kind's block shapes (a launch; for
    # int8, the dense quantisation); per channel with work of a fine part,
    # its intercept over the N channels (every channel has work at the
    # measured densities).
    channels = summary["n"]
    part_overhead = [min(launch for (k, plan, _), (launch, _) in rates.items()
                         if k == kind and plan == "block") / unit
                     for kind in KINDS]
    fine_channel = [rates[(kind, "fine", ())][0] / unit / channels
                    for kind in KINDS]
    chip = summary["chip"]
    origin = (f"measured on {summary['device']}, {summary['date']}, "
              f"commit {commit}")
    name = "k" + chip.title().replace("_", "")  # sm_90: kSm90
    number = lambda x: f"{x:.4g}"  # noqa: E731
    lines = [
        f"//===- costs/{chip}.inc - Measured {chip} kernel costs -*- C++ -*-===//",
        "//",
        "// Generated by `bench/cost_table.py fit` from",
        f"// bench/results/{Path(path).name}: do not edit.",
        f"// C = A @ W, A {summary['m']}x{summary['k']}, W "
        f"{summary['k']}x{summary['n']} masked at several",
        "// densities, the packed entry point timed; time = launch + rate * units",
        "// fitted per kind and block shape. Unit: one kept element of the",
        "// fine-grained f32 kernel. Fine rates per kept element, block rates",
        "// per block; the intercepts give the fixed costs per part and per",
        "// channel of a fine part.",
        "//",
        "//===----------------------------------------------------------------===//",
        "",
        f"static constexpr MeasuredBlockCost {name}MeasuredBlocks[] = {{",
    ]
    for kind, shape, cost in blocks:
        lines.append(f"    {{ComputeKind::{kind}, {{{shape[0]}, {shape[1]}}}, "
                     f"{number(cost)}}},")
    lines += [
        "};",
        "",
        f"static constexpr KernelCosts {name}MeasuredCosts = {{",
        f"    {{{', '.join(number(x) for x in fine)}}},",
        f"    {{{', '.join(number(linear[k][1]) for k in KINDS)}}},",
        f"    {{{', '.join(number(linear[k][0]) for k in KINDS)}}},",
        f"    {name}MeasuredBlocks,",
        f'    "{origin}",',
        f"    {{{', '.join(number(max(x, 0.0)) for x in part_overhead)}}},",
        f"    {{{', '.join(number(max(x, 0.0)) for x in fine_channel)}}}}};",
    ]
    target = ROOT / "lib" / "Target" / "costs" / f"{chip}.inc"
    target.parent.mkdir(exist_ok=True)
    target.write_text("\n".join(lines) + "\n")
    print(target.read_text())


def main():
    global CHIP
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["prepare", "run", "fit"])
    parser.add_argument("path", help="directory (prepare, run) or costs.json (fit)")
    parser.add_argument("--commit", default="", help="fit: the commit measured")
    parser.add_argument("--chip", default=CHIP,
                        help="prepare: the chip to compile for (default sm_90)")
    args = parser.parse_args()
    CHIP = args.chip
    if args.step == "prepare":
        prepare(args.path)
    elif args.step == "run":
        run(args.path)
    else:
        fit(args.path, args.commit)


if __name__ == "__main__":
    main()
