"""Per-kernel GPU times of one compiled product, for finding where a part's
time goes (run under Nsight Compute on the GPU machine).

  prepare DIR  (here)  compiles C = A @ W (1024^3) with a fine-grained f32
               mask at 10% kept, and the same with f16 32x32 blocks at 30%.
  run DIR      (GPU)   calls each library's packed entry point a few times;
               wrap it in `ncu --print-summary per-kernel` to get the times
               of the kernels (generic path and parts) one call launches.
  prepare-wgmma DIR (here)  compiles small f16 programs whose parts run
               sm_90's TMA kernels (on a persistent grid, one tile a block
               of threads, tiles of four slabs) and int8 block parts (the
               warpgroup block kernel, with and without slab groups), for
               `case` under compute-sanitizer.
  case DIR NAME (GPU)  the same for case NAME of a directory that
               `gpu_kernels.py prepare` or `prepare-wgmma` wrote, with its
               relative error.
  kernels DIR (GPU)  for each case of such a directory, the kernels one
               call of its packed entry point launches, with their mean
               times over 20 calls (torch.profiler): where a call's time
               goes.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))

from gpu_kernels import element_of, expand, program  # noqa: E402

N = 1024
CASES = {
    "fine_f32_10": (lambda r: np.where(r.random((N, N)) < 0.1, 32, 0),
                    ["--plan=fine"]),
    "block32_f16_30": (lambda r: np.where(r.random((N // 32, N // 32)) < 0.3,
                                          16, 0),
                       ["--plan=block", "--block-shape=32x32"]),
}


def prepare(directory):
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for name, (build, options) in CASES.items():
        mask = build(rng).astype(np.int8)
        source = out / f"{name}.mlir"
        source.write_text(program(N, N, N, mask))
        subprocess.run([str(ROOT / "build" / "bin" / "tesa-compile"),
                        str(source), "-o", str(out / f"{name}.so"),
                        "--target=nvvm", "--chip=sm_90"] + options, check=True)
        source.unlink()
        np.savez_compressed(out / f"{name}.mask.npz", mask=mask)


# Small programs whose parts take sm_90's TMA kernels, for the sanitizers:
# (M, K, N, block, kept fraction of blocks, bits). The f16 programs' first
# runs on a persistent grid (330 tiles of 128 x 64 for 264 blocks of
# threads), the second on one block of threads per tile, the next two in
# tiles of four slabs of 32 and of 64 columns (132 and 136 of them). The
# int8 parts (f32 programs) run the warpgroup block kernel, in groups of
# four block rows (256 tiles) and one block row a tile. The last cases take
# clusters (`--block-clusters=fewer-reads`).
WGMMA_CASES = {
    "persistent_block64_f16prog": (640, 256, 4224, 64, 0.6, 16),
    "tma_block32_f16prog": (256, 512, 1024, 32, 0.5, 16),
    "slab_groups_block32_f16prog": (1408, 256, 1536, 32, 0.5, 16),
    "slab_groups_block64_f16prog": (2176, 256, 2048, 64, 0.6, 16),
    "slab_groups_block32_int8": (2048, 1024, 2048, 32, 0.5, 8),
    "block64_int8": (512, 512, 1024, 64, 0.5, 8),
    # Columns of blocks that keep none (44% of them): tiles that store their
    # initial values without accumulators.
    "empty_tiles_block64_f16prog": (512, 1024, 2048, 64, 0.05, 16),
    # The slab groups above in clusters of two tiles (groups) that share
    # the dense operand's slices by TMA multicast.
    "clusters_block32_f16prog": (1408, 256, 1536, 32, 0.5, 16,
                                 ["--block-clusters=fewer-reads"]),
    "clusters_block32_int8": (2048, 1024, 2048, 32, 0.5, 8,
                              ["--block-clusters=fewer-reads"]),
}


def prepare_wgmma(directory):
    """Compiles WGMMA_CASES for sm_90 into DIR with a manifest that `case`
    reads."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    manifest = []
    for name, (m, k, n, block, kept, bits, *options) in WGMMA_CASES.items():
        mask = np.where(rng.random((k // block, n // block)) < kept, bits,
                        0).astype(np.int8)
        family = "block_fp16_program" if bits == 16 else "block32_int8"
        source = out / f"{name}.mlir"
        source.write_text(program(m, k, n, mask, element_of(family)))
        subprocess.run([str(ROOT / "build" / "bin" / "tesa-compile"),
                        str(source), "-o", str(out / f"{name}.so"),
                        "--target=nvvm", "--chip=sm_90", "--plan=block",
                        f"--block-shape={block}x{block}",
                        *(options[0] if options else [])], check=True)
        source.unlink()
        np.savez_compressed(out / f"{name}.mask.npz", mask=mask)
        manifest.append(dict(name=name, family=family, m=m, k=k, n=n))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


def packed_call(directory, name, m, k, n, dtype="f32"):
    """Loads DIR/NAME.so and packs a random weight (of `dtype`, f32 or f16)
    under DIR/NAME.mask.npz; returns (call, a, w, out), `call(a, out=out)`
    being the packed entry point (the plain one where the library packs
    nothing)."""
    import torch
    import tesa
    dtype = torch.float16 if dtype == "f16" else torch.float32
    mask = np.load(directory / f"{name}.mask.npz")["mask"]
    full = torch.from_numpy(expand(mask, (k, n))).cuda()
    a = torch.randn(m, k, device="cuda").to(dtype)
    w = torch.where(full > 0, torch.randn(k, n, device="cuda"), 0.0).to(dtype)
    library = tesa.load(directory / f"{name}.so")
    out = torch.empty(m, n, device="cuda", dtype=dtype)
    if "matmul_pack" in library.functions:
        call = library.matmul.pack(None, w)
    else:
        def call(a, out):
            library.matmul(a, w, out=out)
    return call, a, w, out


def call_packed(directory, name, m, k, n, dtype="f32"):
    """packed_call's entry point called three times; returns (a, w, out)."""
    import torch
    call, a, w, out = packed_call(directory, name, m, k, n, dtype)
    for _ in range(3):
        call(a, out=out)
    torch.cuda.synchronize()
    return a, w, out


def relative_error(a, w, out):
    reference = a.double() @ w.double()
    return ((out.double() - reference).norm() / reference.norm()).item()


def run(directory):
    directory = Path(directory)
    for name in CASES:
        a, w, out = call_packed(directory, name, N, N, N)
        print(f"{name}: relative error {relative_error(a, w, out):.1e}",
              flush=True)


def run_case(directory, name):
    directory = Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    case = next(c for c in manifest if c["name"] == name)
    a, w, out = call_packed(directory, name, case["m"], case["k"], case["n"],
                            element_of(case["family"]))
    print(f"{name}: relative error {relative_error(a, w, out):.1e}",
          flush=True)


def profile_kernels(directory, calls=20):
    """Prints, for each case of DIR's manifest, every kernel one packed call
    launches with its mean time over `calls` calls, and their sum."""
    import torch
    from torch.profiler import ProfilerActivity, profile
    directory = Path(directory)
    for case in json.loads((directory / "manifest.json").read_text()):
        name = case["name"]
        call, a, w, out = packed_call(directory, name, case["m"], case["k"],
                                      case["n"], element_of(case["family"]))
        call(a, out=out)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(calls):
                call(a, out=out)
            torch.cuda.synchronize()
        times = {}
        for event in prof.events():
            if event.device_type == torch.autograd.DeviceType.CUDA:
                times.setdefault(event.name, []).append(
                    event.device_time_total)
        print(f"== {name}: relative error {relative_error(a, w, out):.1e}")
        total = 0.0
        for kernel, samples in sorted(times.items(),
                                      key=lambda kv: -sum(kv[1])):
            per_call = sum(samples) / calls
            total += per_call
            print(f"  {per_call:8.2f} us  x{len(samples) / calls:g}  "
                  f"{kernel[:90]}")
        print(f"  {total:8.2f} us  sum of kernels a call", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step",
                        choices=["prepare", "prepare-wgmma", "run", "case",
                                 "kernels"])
    parser.add_argument("directory")
    parser.add_argument("name", nargs="?")
    args = parser.parse_args()
    if args.step == "case":
        run_case(args.directory, args.name)
    elif args.step == "kernels":
        profile_kernels(args.directory)
    elif args.step == "prepare-wgmma":
        prepare_wgmma(args.directory)
    else:
        (prepare if args.step == "prepare" else run)(args.directory)


if __name__ == "__main__":
    main()
