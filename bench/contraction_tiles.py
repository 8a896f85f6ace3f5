#!/usr/bin/env python3
"""A/B of the contraction and attention families' tilings on BERT-base.

    contraction_tiles.py prepare OUT [--element f16|f32] [--family attention]
                                     [--shapes mlp|split|linear|linear-tma
                                               |linear-widths]
                                         # here: one library per (shape, tiling)
    contraction_tiles.py run OUT         # on the GPU machine

Each product `C = A @ B` (batched where the shape has a batch) is formed
into a kernel region and given a tiling, then compiled by tesa-compile;
`run` checks each library against float64 and times it beside the tiling
the heuristic picks and cuBLAS (fp32 with TF32 off, or fp16), as medians of
CUDA-graph replays in one process (tesa.timing.graph_median).

f32 products take FMA tilings through
`--tesa-choose-tile-configs="contraction-tile=M,N,K thread-tile=TM,TN"`.
f16 products take tensor-core configurations written into the region (a
configuration given in the input stays): tile M,N,K, warp tile, stages and
split-K slices. `--family attention` does the same for attention (scores,
softmax and context as one region, see
test/Integration/GPU/region_cases.py): for f16, queries and keys a step,
keys a warp, stages; for f32 (`--family attention --element f32`, the
exact-f32 FMA kernel), queries a block and a group of 16 lanes, keys a
lane, key splits (groups of lanes a query's keys are split over), stages. The anchors are torch's scaled_dot_product_attention and, for
f32, the unfused product, softmax and product as PyTorch fp32 runs them.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

# (batch, M, K, N): the projections, the FFN and attention at seq 512 and 128.
SHAPES = [(1, 512, 768, 768), (1, 512, 768, 3072), (1, 512, 3072, 768),
          (12, 512, 64, 512), (12, 512, 512, 64),
          (1, 128, 768, 768), (1, 128, 3072, 768), (12, 128, 64, 128)]
# (tile M, N, K, thread tile M, N), 256 threads each; None: the heuristic.
TILINGS = [None, (32, 32, 16, 2, 2), (64, 32, 16, 4, 2), (64, 64, 16, 4, 4),
           (64, 64, 8, 4, 4), (128, 64, 8, 8, 4), (128, 128, 8, 8, 8)]
# f16 products (no batch): the projections and the FFN at seq 512 and 128.
F16_SHAPES = [(1, 512, 768, 768), (1, 512, 768, 3072), (1, 512, 3072, 768),
              (1, 128, 768, 768), (1, 128, 768, 3072), (1, 128, 3072, 768)]
# (tile M, N, K, warp tile M, N, stages, split-K), four warps each.
F16_TILINGS = [None] + [
    (128, 128, 64, 64, 64, 4, s) for s in (1, 2, 4)] + [
    (128, 64, 64, 64, 32, 4, s) for s in (1, 2, 3, 6)] + [
    (64, 64, 64, 32, 32, 4, s) for s in (1, 2, 3)] + [
    (64, 32, 64, 32, 16, 4, s) for s in (1, 2)]
# `--shapes mlp`: the f16 MLP of bench/torch_models.py (128 rows,
# 1024-4096-4096-1024), whose K of 4096 also takes eight slices.
MLP_F16_SHAPES = [(1, 128, 1024, 4096), (1, 128, 4096, 4096),
                  (1, 128, 4096, 1024)]
MLP_F16_TILINGS = F16_TILINGS + [(128, 128, 64, 64, 64, 4, 8),
                                 (128, 64, 64, 64, 32, 4, 8),
                                 (64, 64, 64, 32, 32, 4, 4)]
# `--shapes linear`: f16 products whose weight is stored [N, K] as a Linear's
# (transposed by linalg.transpose, read in place): both operands contiguous
# along K, so that sm_90's wgmma atom takes them. The MLP's and BERT-base's
# shapes; wgmma tilings (tile M, N, K, stages, split-K), two warpgroups for
# 128 rows, beside the best tensor-core (mma.sync) tilings. Their weights
# come from memory, not the level-2 cache (COLD_BYTES).
LINEAR_F16_SHAPES = MLP_F16_SHAPES + F16_SHAPES
LINEAR_F16_TILINGS = [None] + [
    (64, 64, 64, stages, s) for stages in (4, 6, 8) for s in (1, 2, 4, 8)] + [
    (128, 128, 64, stages, s) for stages in (4, 6) for s in (1, 2, 4)] + [
    (128, 64, 64, 6, s) for s in (1, 2, 4)] + [
    (64, 128, 64, 6, s) for s in (1, 2, 4)] + [
    (128, 128, 64, 64, 64, 4, 4), (128, 64, 64, 64, 32, 4, 8)]
# `--shapes linear-tma`: BERT-base's Linears (the fused Q/K/V projection
# too) with wgmma tilings whose operands move by TMA (tile M, N, K, stages,
# split-K, "tma"), beside cp.async ones, shallow enough for several blocks a
# multiprocessor or not. (Dense regions take a grid of tiles only: `work =
# persistent` is the parts'.)
LINEAR_TMA_SHAPES = [(1, 512, 768, 768), (1, 512, 768, 2304),
                     (1, 512, 768, 3072), (1, 512, 3072, 768),
                     (1, 128, 768, 2304), (1, 128, 768, 3072)]
LINEAR_TMA_TILINGS = [None] + [
    (m, n, 64, stages, 1) for m, n, stages in (
        (128, 128, 3), (128, 128, 4), (128, 64, 4), (64, 64, 3), (64, 64, 4),
        (64, 64, 6), (64, 64, 8))] + [
    (m, n, 64, stages, 1, "tma")
    for m, n in ((128, 256), (128, 128), (64, 128), (64, 64))
    for stages in (3, 4, 6)]
# `--shapes linear-widths`: BERT-base's Linears at 512 tokens with TMA
# tiles whose widths make their count close to a whole number of waves of
# an H100's 132 multiprocessors (FFN1's 3072 columns in 128x96 tiles: 128
# tiles; Q/K/V's 2304 in 128x72 or 64x144; FFN2's and O's 768 in 64x48),
# beside the widths of the table (128x128: 96 and 72 tiles, 64x64: 96).
LINEAR_WIDTHS_SHAPES = [(1, 512, 768, 3072), (1, 512, 768, 2304),
                        (1, 512, 3072, 768), (1, 512, 768, 768)]
LINEAR_WIDTHS_TILINGS = [None] + [
    (m, n, 64, stages, 1, "tma") for m, n, stages in (
        (128, 128, 4), (128, 96, 4), (128, 96, 6), (128, 96, 7),
        (128, 72, 6), (64, 144, 6), (64, 96, 6), (64, 64, 6), (64, 48, 6),
        (64, 48, 8), (64, 48, 10), (64, 32, 8))]
# The f16 Linear sets of `--shapes`: (shapes, tilings).
LINEAR_SETS = {
    "linear": (LINEAR_F16_SHAPES, LINEAR_F16_TILINGS),
    "linear-tma": (LINEAR_TMA_SHAPES, LINEAR_TMA_TILINGS),
    "linear-widths": (LINEAR_WIDTHS_SHAPES, LINEAR_WIDTHS_TILINGS),
}
# Shared memory a block may take (an H100's or H200's 227 KiB).
WGMMA_SHARED_BYTES = 227 * 1024
# Linears are timed with their weights cycling through copies of at least
# this many bytes together, three times the H200's level-2 cache.
COLD_BYTES = 3 * 50 * 2**20
# `--shapes split`: f32 products whose 64x64 tiles are fewer than an H200's
# multiprocessors (BERT-base's with 768 columns, the f32 MLP's),
# FMA tilings (tile M, N, K, thread tile M, N, split-K) with split-K.
SPLIT_F32_SHAPES = [(1, 512, 768, 768), (1, 512, 3072, 768),
                    (1, 512, 768, 3072), (1, 128, 1024, 4096),
                    (1, 128, 4096, 4096), (1, 128, 4096, 1024),
                    (1, 128, 768, 768), (1, 128, 768, 3072),
                    (1, 128, 3072, 768)]
SPLIT_F32_TILINGS = [None] + [(64, 64, 8, 4, 4, s) for s in (1, 2, 3, 4)] + [
    (32, 32, 16, 2, 2, s) for s in (1, 2, 3)] + [
    (64, 32, 16, 4, 2, s) for s in (1, 2)] + [
    (128, 64, 8, 8, 4, s) for s in (2, 4)]
# Attention (sequence, heads, head size): BERT-base at seq 512 and 128.
ATTENTION_SHAPES = [(512, 12, 64), (128, 12, 64)]
# f16: (queries, keys a step, keys a warp, stages); a warp owns 16 queries.
ATTENTION_TILINGS = [None, (64, 128, 64, 2), (64, 128, 64, 3), (64, 64, 64, 2),
                     (32, 128, 64, 2), (32, 256, 64, 2), (32, 128, 32, 2),
                     (16, 128, 32, 2), (16, 256, 64, 2), (128, 64, 64, 2)]
# f32: (queries, queries a group of 16 lanes, keys a lane, key splits,
# stages).
FMA_ATTENTION_TILINGS = [None, (64, 4, 4, 1, 2), (64, 4, 4, 2, 2),
                         (64, 8, 4, 2, 2), (64, 8, 4, 1, 2), (64, 4, 2, 2, 2),
                         (32, 4, 4, 1, 2), (32, 4, 4, 2, 2), (32, 4, 2, 2, 2),
                         (32, 2, 4, 2, 2), (32, 4, 2, 4, 2), (16, 2, 4, 2, 2),
                         (16, 4, 4, 2, 2), (16, 2, 4, 1, 2), (16, 2, 2, 2, 2),
                         (16, 1, 4, 2, 2)]


def name_of(shape, tiling, element="f32"):
    b, m, k, n = shape
    label = "auto" if tiling is None else "x".join(map(str, tiling))
    return f"{element}_b{b}_{m}x{k}x{n}_{label}"


def fma_config(tiling):
    """An FMA configuration (tile M, N, K, thread tile M, N, split-K)."""
    m, n, k, tm, tn, split_k = tiling
    threads = (m // tm) * (n // tn)
    return (f"#tesa.tile_config<tile = [{m}, {n}, {k}], thread_tile = "
            f"[{tm}, {tn}], threads = {threads}, stages = 1, copy = "
            f"registers, atom = fma_f32, work = dense_grid, "
            f"split_k = {split_k}>")


def mma_config(tiling):
    m, n, k, wm, wn, stages, split_k = tiling
    return (f"#tesa.tile_config<tile = [{m}, {n}, {k}], thread_tile = "
            f"[{wm}, {wn}], threads = 128, stages = {stages}, copy = "
            f"async_copy, atom = mma_f16_m16n8k16, work = dense_grid, "
            f"split_k = {split_k}>")


def wgmma_config(tiling):
    """A wgmma configuration (tile M, N, K, stages, split-K[, "tma"]): TMA
    copies where the tiling says, else cp.async."""
    m, n, k, stages, split_k = tiling[:5]
    copy = tiling[5] if len(tiling) > 5 else "async_copy"
    threads = 2 * m + (0 if copy == "async_copy" else 32)
    return (f"#tesa.tile_config<tile = [{m}, {n}, {k}], thread_tile = "
            f"[64, {n}], threads = {threads}, stages = {stages}, copy = "
            f"{copy}, atom = wgmma_f16_m64nNk16, work = dense_grid, split_k = "
            f"{split_k}>")


def is_wgmma_tiling(tiling):
    return len(tiling) == 5 or (len(tiling) == 6 and isinstance(tiling[5],
                                                                str))


def fits_shared_memory(shape, tiling):
    """Whether a wgmma tiling's ring fits a block's shared memory and its
    tile the product's rows."""
    if tiling is None or not is_wgmma_tiling(tiling):
        return True
    m, n, k, stages = tiling[:4]
    return (stages * 2 * k * (m + n) + 2048 <= WGMMA_SHARED_BYTES and
            m <= shape[1])


def attention_name_of(shape, tiling, element="f16"):
    label = "auto" if tiling is None else "x".join(map(str, tiling))
    return f"attention_{element}_s{shape[0]}_h{shape[1]}_d{shape[2]}_{label}"


def attention_config(tiling, head, element):
    if element == "f32":
        queries, group_queries, lane_keys, splits, stages = tiling
        threads = 16 * (queries // group_queries) * splits
        return (f"#tesa.tile_config<tile = [{queries}, "
                f"{16 * lane_keys * splits}, "
                f"{head}], thread_tile = [{group_queries}, {lane_keys}], "
                f"threads = {threads}, stages = {stages}, copy = async_copy, "
                f"atom = fma_f32, work = dense_grid, split_k = 1>")
    queries, keys, warp_keys, stages = tiling
    threads = 32 * (queries // 16) * (keys // warp_keys)
    return (f"#tesa.tile_config<tile = [{queries}, {keys}, {head}], "
            f"thread_tile = [16, {warp_keys}], threads = {threads}, stages = "
            f"{stages}, copy = async_copy, atom = mma_f16_m16n8k16, work = "
            f"dense_grid, split_k = 1>")


def attention_source(opt, shape, tiling, element):
    """Attention of `shape` with `element` operands formed into one
    attention region with `tiling` (None: the heuristic's)."""
    sys.path.insert(0, str(ROOT / "test/Integration/GPU"))
    import region_cases
    s, h, d = shape
    case = region_cases.attention("attention", s, h, d)
    text = case["mlir"].replace("f32", element)
    formed = subprocess.run(
        [str(opt), "-", "--tesa-decompose-aggregated-ops",
         "--tesa-form-kernel-regions",
         "--tesa-form-attention-regions=chip=sm_90",
         "--tesa-choose-tile-configs=chip=sm_90"], input=text,
        capture_output=True, text=True, check=True).stdout
    if tiling is None:
        return formed
    start = formed.index("tesa.kernel attention config(") + \
        len("tesa.kernel attention config(")
    end = formed.index(") ->", start)
    return formed[:start] + attention_config(tiling, d, element) + \
        formed[end:]


def product_mlir(shape, element="f32", linear=False):
    """C = A @ B; with `linear`, B is the transpose of the argument, a
    weight stored [N, K]."""
    b, m, k, n = shape
    t = lambda *d: "tensor<" + "x".join(map(str, d)) + f"x{element}>"
    if linear:
        return f"""func.func @product(%a: {t(m, k)}, %w: {t(n, k)}) -> {t(m, n)} {{
  %zero = arith.constant 0.0 : {element}
  %ew = tensor.empty() : {t(k, n)}
  %b = linalg.transpose ins(%w : {t(n, k)}) outs(%ew : {t(k, n)}) permutation = [1, 0]
  %e = tensor.empty() : {t(m, n)}
  %z = linalg.fill ins(%zero : {element}) outs(%e : {t(m, n)}) -> {t(m, n)}
  %r = linalg.matmul ins(%a, %b : {t(m, k)}, {t(k, n)}) outs(%z : {t(m, n)}) -> {t(m, n)}
  return %r : {t(m, n)}
}}
"""
    if b == 1:
        a_t, b_t, c_t, op = t(m, k), t(k, n), t(m, n), "linalg.matmul"
    else:
        a_t, b_t, c_t = t(b, m, k), t(b, k, n), t(b, m, n)
        op = "linalg.batch_matmul"
    return f"""func.func @product(%a: {a_t}, %b: {b_t}) -> {c_t} {{
  %zero = arith.constant 0.0 : {element}
  %e = tensor.empty() : {c_t}
  %z = linalg.fill ins(%zero : {element}) outs(%e : {c_t}) -> {c_t}
  %r = {op} ins(%a, %b : {a_t}, {b_t}) outs(%z : {c_t}) -> {c_t}
  return %r : {c_t}
}}
"""


def tiled_source(opt, shape, tiling, element, linear=False):
    """The product's text, formed into a region with `tiling` (as is for
    None: the heuristic's)."""
    source = product_mlir(shape, element, linear)
    if tiling is None:
        return source
    if element == "f32" and len(tiling) == 5:
        m, n, k, tm, tn = tiling
        option = (f"--tesa-choose-tile-configs=contraction-tile={m},{n},{k}"
                  f" thread-tile={tm},{tn}")
        return subprocess.run([str(opt), "-", "--tesa-form-kernel-regions",
                               option], input=source, capture_output=True,
                              text=True, check=True).stdout
    formed = subprocess.run([str(opt), "-", "--tesa-form-kernel-regions"],
                            input=source, capture_output=True, text=True,
                            check=True).stdout
    config = (fma_config(tiling) if element == "f32" else
              wgmma_config(tiling) if is_wgmma_tiling(tiling) else
              mma_config(tiling))
    return formed.replace("tesa.kernel contraction ->",
                          f"tesa.kernel contraction config({config}) ->")


def prepare(out, element, family, model="bert"):
    out.mkdir(parents=True, exist_ok=True)
    opt, compiler = ROOT / "build/bin/tesa-opt", ROOT / "build/bin/tesa-compile"
    shapes, tilings = ((SHAPES, TILINGS) if element == "f32" else
                       (F16_SHAPES, F16_TILINGS))
    if model == "mlp":
        if element != "f16" or family != "contraction":
            sys.exit("--shapes mlp takes f16 contractions")
        shapes, tilings = MLP_F16_SHAPES, MLP_F16_TILINGS
    if model in LINEAR_SETS:
        if element != "f16" or family != "contraction":
            sys.exit(f"--shapes {model} takes f16 contractions")
        shapes, tilings = LINEAR_SETS[model]
    if model == "split":
        if element != "f32" or family != "contraction":
            sys.exit("--shapes split takes f32 contractions")
        shapes, tilings = SPLIT_F32_SHAPES, SPLIT_F32_TILINGS
    if family == "attention":
        shapes = ATTENTION_SHAPES
        tilings = (FMA_ATTENTION_TILINGS if element == "f32" else
                   ATTENTION_TILINGS)
    linear = model in LINEAR_SETS
    entries = []
    for shape in shapes:
        for tiling in tilings:
            if not fits_shared_memory(shape, tiling):
                continue
            if family == "attention":
                name = attention_name_of(shape, tiling, element)
                path = out / f"{name}.mlir"
                path.write_text(attention_source(opt, shape, tiling, element))
            else:
                name = name_of(shape, tiling, element) + (
                    "_linear" if linear else "")
                path = out / f"{name}.mlir"
                path.write_text(tiled_source(opt, shape, tiling, element,
                                             linear))
            subprocess.run([str(compiler), str(path), "--target=nvvm",
                            "--chip=sm_90", "--propagate=false",
                            "-o", str(out / f"{name}.so")], check=True)
            entries.append(dict(name=name, shape=shape, tiling=tiling,
                                element=element, family=family,
                                linear=linear))
    (out / "manifest.json").write_text(json.dumps(entries, indent=1))
    print(f"prepared {len(entries)} libraries in {out}")


def run(out, result_file):
    import torch
    import tesa
    from tesa.timing import graph_median
    stream = torch.cuda.Stream()
    graph_ms = lambda fn: graph_median(fn, stream, replays=20, samples=15)
    torch.backends.cuda.matmul.allow_tf32 = False
    entries = json.loads((out / "manifest.json").read_text())
    results = []
    for entry in entries:
        if entry.get("family") == "attention":
            results.append(run_attention(out, entry, graph_ms))
            continue
        b, m, k, n = entry["shape"]
        gen = torch.Generator(device="cuda").manual_seed(b * m + k + n)
        lhs_shape, rhs_shape = ((m, k), (k, n)) if b == 1 else \
            ((b, m, k), (b, k, n))
        dtype = torch.float16 if entry.get("element") == "f16" else \
            torch.float32
        if entry.get("linear"):
            rhs_shape = (n, k)
        a = torch.randn(lhs_shape, device="cuda", generator=gen).to(dtype)
        w = torch.randn(rhs_shape, device="cuda", generator=gen).to(dtype)
        product = tesa.load(out / f"{entry['name']}.so").functions["product"]
        try:
            result = product(a, w)
        except tesa.TesaError as error:
            # A tiling the GPU refuses to launch (128x256 TMA tiles on an
            # H100: too many resources requested) is recorded as such.
            results.append(dict(entry, failed=str(error)))
            print(f"{entry['name']:44s} failed: {error}", flush=True)
            continue
        rhs = w.t() if entry.get("linear") else w
        reference = (a.double() @ rhs.double())
        error = float((result.double() - reference).norm() / reference.norm())
        if entry.get("linear"):
            # A model streams its weights from memory: each call of the
            # graph takes the next of copies that together overflow the
            # level-2 cache, as the layers of a model do.
            copies = [w] + [w.clone() for _ in range(
                -(-COLD_BYTES // w.nbytes) - 1)]
            turn = iter(range(1 << 30))
            pick = lambda: copies[next(turn) % len(copies)]
            ms = graph_ms(lambda: product(a, pick()))
            cublas = graph_ms(lambda: a @ pick().t())
        else:
            ms = graph_ms(lambda: product(a, w))
            cublas = graph_ms(lambda: a @ rhs)
        flops = 2 * b * m * k * n
        results.append(dict(entry, ms=ms, cublas_ms=cublas, error=error,
                            tflops=flops / ms / 1e9))
        print(f"{entry['name']:44s} {ms:8.4f} ms {flops / ms / 1e9:6.1f} "
              f"TFLOP/s  cuBLAS {cublas:8.4f} ms  x{ms / cublas:5.2f}  "
              f"err {error:.1e}", flush=True)
    device = torch.cuda.get_device_name()
    result_file.write_text(json.dumps(dict(device=device, results=results),
                                      indent=1))


def run_attention(out, entry, graph_ms):
    """Checks and times one attention library beside torch's
    scaled_dot_product_attention (and for f32 the unfused product, softmax
    and product) on the same inputs."""
    import torch
    import tesa
    s, h, d = entry["shape"]
    dtype = torch.float32 if entry.get("element") == "f32" else torch.float16
    gen = torch.Generator(device="cuda").manual_seed(s + h + d)
    q, k, v = (torch.randn((s, h, d), device="cuda", generator=gen)
               .to(dtype) for _ in range(3))
    attention = tesa.load(out / f"{entry['name']}.so").functions["attention"]
    result = attention(q, k, v)
    heads = lambda t: t.double().permute(1, 0, 2)
    probs = torch.softmax(heads(q) @ heads(k).transpose(1, 2) / d ** 0.5, -1)
    reference = (probs @ heads(v)).permute(1, 0, 2).reshape(s, h * d)
    error = float((result.double() - reference).norm() / reference.norm())
    ms = graph_ms(lambda: attention(q, k, v))
    qh, kh, vh = (t.permute(1, 0, 2).unsqueeze(0) for t in (q, k, v))
    sdpa = graph_ms(lambda: torch.nn.functional.scaled_dot_product_attention(
        qh, kh, vh))
    flops = 4 * h * s * s * d
    extra, unfused = "", None
    if dtype == torch.float32:
        def unfused_attention():
            scores = torch.bmm(qh[0], kh[0].transpose(1, 2)) / d ** 0.5
            return torch.bmm(torch.softmax(scores, -1), vh[0])
        unfused = graph_ms(unfused_attention)
        extra = f"  unfused {unfused:8.4f} ms  x{ms / unfused:5.2f}"
    print(f"{entry['name']:44s} {ms:8.4f} ms {flops / ms / 1e9:6.1f} "
          f"TFLOP/s  sdpa {sdpa:8.4f} ms  x{ms / sdpa:5.2f}{extra}  "
          f"err {error:.1e}", flush=True)
    return dict(entry, ms=ms, sdpa_ms=sdpa, unfused_ms=unfused, error=error,
                tflops=flops / ms / 1e9)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["prepare", "run"])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--out", type=Path, default=Path("tiles.json"))
    parser.add_argument("--element", choices=["f32", "f16"], default="f32",
                        help="prepare: the products' element type")
    parser.add_argument("--family", choices=["contraction", "attention"],
                        default="contraction",
                        help="prepare: the family whose tilings to compare")
    parser.add_argument("--shapes",
                        choices=["bert", "mlp", "split", *LINEAR_SETS],
                        default="bert",
                        help="prepare: BERT-base's products, the f16 MLP's "
                             "(128 rows), f32 products with split-K "
                             "tilings, or f16 Linears (weights [N, K]) with "
                             "wgmma tilings (linear-tma: TMA ones too; "
                             "linear-widths: TMA tiles of other widths)")
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.directory, args.element, args.family, args.shapes)
    else:
        run(args.directory, args.out)


if __name__ == "__main__":
    main()
