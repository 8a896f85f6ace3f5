"""tesa's sparse kernels against cuBLAS, cuSPARSE, Triton BSR and cuSPARSELt.

Two steps, because the GPU machine has no MLIR:

  prepare DIR  (here)  writes one program per case, C = A @ W with W (K x N)
               carrying a #tesa.sparsity mask, and compiles it with
               tesa-compile for sm_90 into DIR; the masks go to DIR too.
               With --chip sm_80 (or another chip below sm_90), the kernels
               are PTX for that chip, which the driver compiles for the GPU
               at hand: the mma.sync path that RTX-class GPUs take, timed
               on the same H200.
  run DIR      (GPU)   for each case draws fresh A and W, prunes W with the
               compiled mask, checks tesa's result against float64, and
               times tesa and the anchors side by side on the same inputs:
               medians of CUDA-graph replays (every library called on one
               stream, so Python dispatch stays out of the timings). Writes
               DIR/results.json and prints a table; also measures the chip's
               peak rates and copy bandwidth for the floors. With --cold,
               tesa, dense cuBLAS and cuSPARSELt are timed again with the
               weight read from memory (a copy of it per call, three times
               the L2 cache in all), as a model's layers read theirs: a
               small product's weight otherwise stays in L2 across calls.

Cases follow issue 5: SparTA's fine-grained fp32 kernel case (1024^3 at
50-99%, 4096^3 at 90-99%), block-sparse fp16 32x32 and 64x64 at 4096^3,
the BERT-base FFN and a decode shape, int8 blocks, 2:4, and mixed plans.
"""

import argparse
import json
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from tesa.timing import cold_copies, graph_median  # noqa: E402

SPARSITIES = [0.5, 0.7, 0.8, 0.9, 0.95, 0.99]


def fine_mask(rng, shape, sparsity, bits=32):
    return np.where(rng.random(shape) >= sparsity, bits, 0).astype(np.int8)


def block_mask(rng, shape, sparsity, block, bits):
    grid = (shape[0] // block, shape[1] // block)
    return np.where(rng.random(grid) >= sparsity, bits, 0).astype(np.int8)


def two_four_mask(shape, bits=16):
    """Two of every four consecutive elements along K kept."""
    pattern = np.array([1, 1, 0, 0], dtype=np.int8)[:, None]
    return (np.tile(pattern, (shape[0] // 4, shape[1])) * bits).astype(np.int8)


def two_four_random_mask(rng, shape, bits=16):
    """Two of every four consecutive elements along K kept, at random
    positions in each group and column."""
    ranks = rng.random((shape[0] // 4, 4, shape[1])).argsort(1).argsort(1)
    return ((ranks < 2).reshape(shape) * bits).astype(np.int8)


def cases():
    """(name, family, M, K, N, sparsity, mask builder, tesa-compile options)."""
    out = []
    for s in SPARSITIES:
        out.append((f"fine_fp32_1024_{int(s*100)}", "fine_fp32", 1024, 1024,
                    1024, s, lambda r, s=s: fine_mask(r, (1024, 1024), s),
                    ["--plan=fine"]))
    # 4096^3 from 90%: below that the libraries outgrow what one device run
    # can carry (14 MB at 80%).
    for s in (0.9, 0.95, 0.99):
        out.append((f"fine_fp32_4096_{int(s*100)}", "fine_fp32", 4096, 4096,
                    4096, s, lambda r, s=s: fine_mask(r, (4096, 4096), s),
                    ["--plan=fine"]))
    for block in (32, 64):
        for s in SPARSITIES:
            out.append((f"block{block}_fp16_4096_{int(s*100)}",
                        f"block{block}_fp16", 4096, 4096, 4096, s,
                        lambda r, s=s, b=block: block_mask(
                            r, (4096, 4096), s, b, 16),
                        ["--plan=block", f"--block-shape={block}x{block}"]))
    # The same blocks in an f16 program (f16 tensors, as a PyTorch f16 model
    # exports): kept-block parts of the contraction family, on sm_90's
    # wgmma, instead of part kernels that round f32 operands to f16.
    for block in (32, 64):
        for s in SPARSITIES:
            out.append((f"block{block}_f16prog_4096_{int(s*100)}",
                        f"block{block}_fp16_program", 4096, 4096, 4096, s,
                        lambda r, s=s, b=block: block_mask(
                            r, (4096, 4096), s, b, 16),
                        ["--plan=block", f"--block-shape={block}x{block}"]))
    for (m, k, n, tag) in ((4096, 768, 3072, "ffn"), (16, 4096, 4096, "decode")):
        for s in (0.5, 0.9):
            out.append((f"block32_fp16_{tag}_{int(s*100)}", f"block32_fp16_{tag}",
                        m, k, n, s, lambda r, s=s, k=k, n=n: block_mask(
                            r, (k, n), s, 32, 16),
                        ["--plan=block", "--block-shape=32x32"]))
        out.append((f"fine_fp32_{tag}_90", f"fine_fp32_{tag}", m, k, n, 0.9,
                    lambda r, k=k, n=n: fine_mask(r, (k, n), 0.9),
                    ["--plan=fine"]))
    # A decode step with short fine-grained rows (41 kept elements each).
    out.append(("fine_fp32_decode_99", "fine_fp32_decode", 16, 4096, 4096,
                0.99, lambda r: fine_mask(r, (4096, 4096), 0.99),
                ["--plan=fine"]))
    for s in (0.5, 0.9):
        out.append((f"block32_int8_4096_{int(s*100)}", "block32_int8", 4096,
                    4096, 4096, s, lambda r, s=s: block_mask(
                        r, (4096, 4096), s, 32, 8),
                    ["--plan=block", "--block-shape=32x32"]))
    # Decode with 8- and 4-bit blocks: the weight's bytes bound the time,
    # and 4-bit values are kept two per byte.
    for bits in (8, 4):
        out.append((f"block32_int{bits}_decode_90", f"block32_int{bits}_decode",
                    16, 4096, 4096, 0.9, lambda r, b=bits: block_mask(
                        r, (4096, 4096), 0.9, 32, b),
                    ["--plan=block", "--block-shape=32x32"]))
    out.append(("two_four_fp16_ffn", "two_four_fp16", 4096, 768, 3072, 0.5,
                lambda r: two_four_mask((768, 3072)), ["--plan=auto"]))
    # Mixed: 80% of 32x32 blocks pruned, plus 1% scattered kept elements.
    for plan in ("auto", "block", "fine"):
        out.append((f"mixed_blocks_fine_{plan}", "mixed_blocks_fine", 1024,
                    1024, 1024, None, mixed_blocks_fine,
                    [f"--plan={plan}", "--block-shape=32x32"]))
    # int8 everywhere with 2% fp32 outliers.
    for plan in ("auto", "block"):
        out.append((f"int8_outliers_{plan}", "int8_outliers", 1024, 1024,
                    1024, 0.0, int8_outliers,
                    [f"--plan={plan}", "--block-shape=32x32"]))
    # int8 64x64 blocks (the staged tensor-core kernel); last, so that the
    # masks of the cases above stay those of earlier runs.
    for s in (0.5, 0.9):
        out.append((f"block64_int8_4096_{int(s*100)}", "block64_int8", 4096,
                    4096, 4096, s, lambda r, s=s: block_mask(
                        r, (4096, 4096), s, 64, 8),
                    ["--plan=block", "--block-shape=64x64"]))
    # 2:4 weights on sparse tensor cores (structured parts, mma.sp) against
    # the same weights as dense 32x64 blocks; then 2:4 at random positions.
    out.append(("two_four_fp16_ffn_dense_blocks", "two_four_fp16", 4096, 768,
                3072, 0.5, lambda r: two_four_mask((768, 3072)),
                ["--plan=block", "--block-shape=32x64"]))
    out.append(("two_four_random_fp16_ffn", "two_four_fp16", 4096, 768, 3072,
                0.5, lambda r: two_four_random_mask(r, (768, 3072)),
                ["--plan=auto"]))
    # Each block shape of structured parts (the sm_90 structured costs).
    for shape in ("16x32", "32x32", "32x64", "64x64"):
        out.append((f"two_four_fp16_ffn_structured{shape}", "two_four_fp16",
                    4096, 768, 3072, 0.5,
                    lambda r: two_four_mask((768, 3072)),
                    ["--plan=structured", f"--block-shape={shape}"]))
    # 64x64 structured blocks on mma.sp, where sm_90 takes sparse warpgroup
    # tensor cores (wgmma.sp) by default.
    out.append(("two_four_fp16_ffn_mma_sp64x64", "two_four_fp16", 4096, 768,
                3072, 0.5, lambda r: two_four_mask((768, 3072)),
                ["--plan=structured", "--block-shape=64x64",
                 "--wgmma-structured=false"]))
    # The same 2:4 weights in f16 programs (f16 operands and result, as
    # PyTorch f16 models export, and as cuSPARSELt is called): structured
    # parts that read the dense operand in place. The fixed pattern prunes
    # whole rows of W, which `auto` computes densely over the kept ones.
    for tag, build in (("", lambda r: two_four_mask((768, 3072))),
                       ("_random",
                        lambda r: two_four_random_mask(r, (768, 3072)))):
        out.append((f"two_four{tag}_f16prog_ffn", "two_four_fp16_program",
                    4096, 768, 3072, 0.5, build, ["--plan=auto"]))
    # Fine-grained f16 weights in f16 programs: one fine-grained part, on
    # tensor cores from compressed tiles where it keeps at least 5% (the
    # SIMT kernel below), with `--plan=fine` (`auto` takes it only at
    # decode steps, docs/decomposition.md); at a decode step and at square
    # sizes, where the dense product's work bounds a tensor-core kernel.
    for s in (0.5, 0.7, 0.9, 0.98, 0.99):
        out.append((f"fine_f16prog_decode_{int(s*100)}",
                    "fine_fp16_decode_program", 16, 4096, 4096, s,
                    lambda r, s=s: fine_mask(r, (4096, 4096), s, 16),
                    ["--plan=fine"]))
    for size, sparsities in ((1024, (0.5, 0.7, 0.9)), (4096, (0.7, 0.9))):
        for s in sparsities:
            out.append((f"fine_f16prog_{size}_{int(s*100)}",
                        "fine_fp16_program", size, size, size, s,
                        lambda r, s=s, n=size: fine_mask(r, (n, n), s, 16),
                        ["--plan=fine"]))
    # BERT-base's Linears at 128 and 512 tokens, 2:4 at random positions:
    # few tiles for the multiprocessors (at 128 tokens fewer than them, so
    # the structured parts split their walks).
    for tokens in (128, 512):
        for tag, k, n in (("ffn1", 768, 3072), ("ffn2", 3072, 768),
                          ("attention", 768, 768)):
            out.append((f"two_four_random_f16prog_s{tokens}_{tag}",
                        "two_four_fp16_program", tokens, k, n, 0.5,
                        lambda r, k=k, n=n: two_four_random_mask(r, (k, n)),
                        ["--plan=auto"]))
    return out


def mixed_blocks_fine(rng):
    blocks = np.kron(rng.random((32, 32)) >= 0.8, np.ones((32, 32), bool))
    scattered = rng.random((1024, 1024)) < 0.01
    return np.where(blocks | scattered, 16, 0).astype(np.int8)


def int8_outliers(rng):
    return np.where(rng.random((1024, 1024)) < 0.02, 32, 8).astype(np.int8)


def program(m, k, n, mask, element="f32"):
    """C = A @ W with `element` tensors, W carrying `mask`."""
    from tesa.encoding import resource_section, sparsity_encoding
    encoding = sparsity_encoding(mask, resource_name="w_mask",
                                 inline_limit=4096)
    t = element
    w_type = f"tensor<{k}x{n}x{t}, {encoding.attribute}>"
    return f"""func.func @matmul(%a: tensor<{m}x{k}x{t}>, %w: {w_type}) -> tensor<{m}x{n}x{t}> {{
  %zero = arith.constant 0.0 : {t}
  %e = tensor.empty() : tensor<{m}x{n}x{t}>
  %acc = linalg.fill ins(%zero : {t}) outs(%e : tensor<{m}x{n}x{t}>) -> tensor<{m}x{n}x{t}>
  %c = linalg.matmul ins(%a, %w : tensor<{m}x{k}x{t}>, {w_type}) outs(%acc : tensor<{m}x{n}x{t}>) -> tensor<{m}x{n}x{t}>
  return %c : tensor<{m}x{n}x{t}>
}}
""" + resource_section([encoding])


def element_of(family):
    """The element type of a family's program: f16 for `*_program`."""
    return "f16" if family.endswith("_program") else "f32"


def prepare(directory, only=None, chip="sm_90", case_list=None, extra=()):
    """Compiles `case_list` (default: cases()) into `directory`, with the
    tesa-compile options `extra` after each case's own."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    compiler = ROOT / "build" / "bin" / "tesa-compile"
    manifest = []
    for name, family, m, k, n, sparsity, build, options in (
            case_list if case_list is not None else cases()):
        if only and not any(part in name for part in only.split(",")):
            continue
        # Seeded by the case's name: the same mask whatever else is listed.
        mask = build(np.random.default_rng([2026, zlib.crc32(name.encode())]))
        source = out / f"{name}.mlir"
        source.write_text(program(m, k, n, mask, element_of(family)))
        start = time.time()
        # Another chip's kernels as PTX, which the driver compiles for the
        # GPU the run finds.
        formats = [] if chip == "sm_90" else ["--format=isa"]
        subprocess.run([str(compiler), str(source), "-o", str(out / f"{name}.so"),
                        "--target=nvvm", f"--chip={chip}", *formats,
                        *options, *extra], check=True)
        source.unlink()
        np.savez_compressed(out / f"{name}.mask.npz", mask=mask)
        manifest.append(dict(name=name, family=family, m=m, k=k, n=n,
                             sparsity=sparsity, options=[*options, *extra],
                             chip=chip,
                             compile_s=round(time.time() - start, 2)))
        print(f"compiled {name} in {manifest[-1]['compile_s']} s", flush=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


# --- run (GPU) -------------------------------------------------------------

def expand(mask, shape):
    reps = (shape[0] // mask.shape[0], shape[1] // mask.shape[1])
    return np.kron(mask, np.ones(reps, dtype=mask.dtype))


def relative_error(result, reference):
    return ((result.double() - reference).norm() / reference.norm()).item()


def peaks(torch, stream):
    """Rates and bandwidth seen on this GPU, for the floors."""
    out = {}
    x = torch.empty(1 << 28, dtype=torch.uint8, device="cuda")
    y = torch.empty_like(x)
    t = graph_median(lambda: y.copy_(x), stream, replays=5, samples=10)
    out["bandwidth_GBps"] = 2 * x.numel() / (t * 1e-3) / 1e9
    del x, y
    torch.backends.cuda.matmul.allow_tf32 = False
    size = 8192
    for name, dtype in (("fp32", torch.float32), ("fp16", torch.float16)):
        a = torch.randn(size, size, device="cuda", dtype=dtype)
        b = torch.randn(size, size, device="cuda", dtype=dtype)
        t = graph_median(lambda: a @ b, stream, replays=3, samples=5)
        out[f"{name}_TFLOPs"] = 2 * size ** 3 / (t * 1e-3) / 1e12
    a = torch.randint(-8, 8, (size, size), device="cuda", dtype=torch.int8)
    b = column_major_int8(torch, size, size)
    t = graph_median(lambda: torch._int_mm(a, b), stream, replays=3, samples=5)
    out["int8_TOPs"] = 2 * size ** 3 / (t * 1e-3) / 1e12
    try:
        a8, b8, one = fp8_operands(torch, size, size, size)
        t = graph_median(lambda: scaled_mm(torch, a8, b8, one), stream,
                         replays=3, samples=5)
        out["fp8_TFLOPs"] = 2 * size ** 3 / (t * 1e-3) / 1e12
    except Exception:  # noqa: BLE001 (no fp8 on this GPU or torch)
        out["fp8_TFLOPs"] = None
    return out


def column_major_int8(torch, k, n):
    """A random k x n int8 right operand stored column-major: cuBLAS's int8
    kernels take it "TN"; a row-major one takes a path about 7x slower
    (0.158 against 1.09 ms at 4096^3 on an H200)."""
    return torch.randint(-8, 8, (n, k), device="cuda", dtype=torch.int8).t()


def fp8_operands(torch, m, k, n):
    """Random e4m3 operands for torch._scaled_mm (the right one
    column-major, as cuBLASLt takes it) and a unit scale."""
    a = torch.randn(m, k, device="cuda").to(torch.float8_e4m3fn)
    b = torch.randn(n, k, device="cuda").to(torch.float8_e4m3fn).t()
    return a, b, torch.tensor(1.0, device="cuda")


def scaled_mm(torch, a, b, one):
    return torch._scaled_mm(a, b, scale_a=one, scale_b=one,
                            out_dtype=torch.float16)


def floors(case, mask, rates):
    """(compute floor ms, memory floor ms) for the case's kept elements."""
    m, k, n = case["m"], case["k"], case["n"]
    full = expand(mask, (k, n))
    kept = full > 0
    rate = {32: rates["fp32_TFLOPs"], 16: rates["fp16_TFLOPs"],
            8: rates["int8_TOPs"], 4: rates["int8_TOPs"]}
    compute = sum(2 * m * int((full == bits).sum()) / (rate[bits] * 1e12)
                  for bits in (32, 16, 8, 4))
    lowest = int(full[kept].min()) if kept.any() else 32
    element = max(lowest, 8) / 8
    bytes_ = (m * k + m * n) * element + float((full[kept] / 8).sum())
    memory = bytes_ / (rates["bandwidth_GBps"] * 1e9)
    return compute * 1e3, memory * 1e3


def anchors_for(case, a, w, stream, torch):
    """Timings of the libraries a user would otherwise call, on the same
    pruned weight."""
    out = {}
    family = case["family"]
    f16 = "fp16" in family or "int8" in family or family.startswith("mixed")
    a, w = a.float(), w.float()
    torch.backends.cuda.matmul.allow_tf32 = False
    if family.startswith("fine_fp32"):
        out["cuBLAS fp32"] = graph_median(lambda: a @ w, stream)
        torch.backends.cuda.matmul.allow_tf32 = True
        out["cuBLAS tf32"] = graph_median(lambda: a @ w, stream)
        torch.backends.cuda.matmul.allow_tf32 = False
        wt = w.t().contiguous().to_sparse_csr()
        at = a.t().contiguous()
        out["cuSPARSE CSR fp32"] = graph_median(
            lambda: torch.sparse.mm(wt, at), stream)
    if f16:
        a16, w16 = a.half(), w.half()
        out["cuBLAS fp16"] = graph_median(lambda: a16 @ w16, stream)
        if family.startswith("fine_fp16"):
            try:
                wt16 = w16.t().contiguous().to_sparse_csr()
                at16 = a16.t().contiguous()
                out["cuSPARSE CSR fp16"] = graph_median(
                    lambda: torch.sparse.mm(wt16, at16), stream)
            except Exception as error:  # noqa: BLE001
                out["cuSPARSE CSR fp16"] = f"failed: {error}"[:80]
        for block in (32, 64):
            if family.startswith(f"block{block}") or (
                    block == 32 and family.startswith(("mixed", "block32"))):
                try:
                    bsr = w16.t().contiguous().to_sparse_bsr((block, block))
                    out[f"Triton BSR{block} fp16"] = graph_median(
                        lambda: torch.nn.functional.linear(a16, bsr), stream)
                except Exception as error:  # noqa: BLE001
                    out[f"Triton BSR{block} fp16"] = f"failed: {error}"[:80]
    if "int8" in family:
        # _int_mm takes at least 17 rows; a decode step is timed at 32.
        rows = max(case["m"], 32)
        ai = torch.randint(-8, 8, (rows, case["k"]), device="cuda",
                           dtype=torch.int8)
        wi = column_major_int8(torch, case["k"], case["n"])
        out["cuBLAS int8"] = graph_median(lambda: torch._int_mm(ai, wi), stream)
        try:
            a8, b8, one = fp8_operands(torch, rows, case["k"], case["n"])
            out["cuBLASLt fp8"] = graph_median(
                lambda: scaled_mm(torch, a8, b8, one), stream)
        except Exception as error:  # noqa: BLE001
            out["cuBLASLt fp8"] = f"failed: {error}"[:80]
    if family.startswith("two_four_fp16"):
        from torch.sparse import to_sparse_semi_structured
        w24 = to_sparse_semi_structured(w.half().t().contiguous())
        a16 = a.half()
        out["cuSPARSELt 2:4 fp16"] = graph_median(
            lambda: torch.nn.functional.linear(a16, w24), stream)
    return out


def run(directory, cold=False):
    import torch
    import tesa
    directory = Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    stream = torch.cuda.Stream()
    props = torch.cuda.get_device_properties(0)
    rates = peaks(torch, stream)
    print(f"device {props.name}; peaks {json.dumps(rates)}", flush=True)
    rng = torch.Generator(device="cuda")
    rng.manual_seed(int(time.time()))
    results = []
    for case in manifest:
        # A case whose library fails (a launch the GPU refuses) is reported
        # and recorded; the others still run.
        try:
            results.append(time_case(directory, case, stream, rng, rates,
                                     cold, torch, tesa))
        except tesa.TesaError as error:
            print(f"{case['name']:28} FAILED: {error}", flush=True)
            results.append(dict(case, error=str(error)))
    summary = dict(device=props.name, peaks=rates, results=results,
                   date=time.strftime("%Y-%m-%d"), torch=torch.__version__)
    (directory / "results.json").write_text(json.dumps(summary, indent=1))
    return summary


def time_case(directory, case, stream, rng, rates, cold, torch, tesa):
    """tesa's library of `case` checked against float64 and timed beside
    its anchors: the case's row of the results."""
    mask = np.load(directory / f"{case['name']}.mask.npz")["mask"]
    full = torch.from_numpy(expand(mask, (case["k"], case["n"]))).cuda()
    dtype = (torch.float16 if element_of(case["family"]) == "f16" else
             torch.float32)
    a = torch.randn(case["m"], case["k"], device="cuda", generator=rng)
    w = torch.randn(case["k"], case["n"], device="cuda", generator=rng)
    w = torch.where(full > 0, w, torch.zeros_like(w))
    a, w = a.to(dtype), w.to(dtype)
    library = tesa.load(directory / f"{case['name']}.so")
    out = torch.full((case["m"], case["n"]), float("nan"), device="cuda",
                     dtype=dtype)
    with torch.cuda.stream(stream):
        library.matmul(a, w, out=out)
    stream.synchronize()
    reference = a.double() @ w.double()
    error = relative_error(out, reference)
    tesa_ms = graph_median(lambda: library.matmul(a, w, out=out), stream)
    # The weight packed once (matmul_pack), then matmul_packed per call;
    # parts that read the weight in place have no packing.
    packed_ms = packed_error = None
    if "matmul_pack" in library.functions:
        with torch.cuda.stream(stream):
            packed = library.matmul.pack(None, w)
            out.fill_(float("nan"))
            packed(a, out=out)
        stream.synchronize()
        packed_error = relative_error(out, reference)
        packed_ms = graph_median(lambda: packed(a, out=out), stream)
    anchors = anchors_for(case, a, w, stream, torch)
    cold_ms = (cold_timings(case, a, w, library, stream, torch)
               if cold else None)
    compute_floor, memory_floor = floors(case, mask, rates)
    row = dict(case, tesa_ms=tesa_ms, tesa_relerr=error,
               tesa_packed_ms=packed_ms, tesa_packed_relerr=packed_error,
               anchors=anchors, cold=cold_ms,
               compute_floor_ms=compute_floor,
               memory_floor_ms=memory_floor,
               kept=float((full > 0).float().mean().item()))
    shown = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in anchors.items())
    packing = ("no packing" if packed_ms is None else
               f"packed once {packed_ms:.4f} ms (err {packed_error:.1e})")
    print(f"{case['name']:28} tesa {tesa_ms:.4f} ms (err {error:.1e}), "
          f"{packing}; {shown}; floors "
          f"{compute_floor:.4f}/{memory_floor:.4f}", flush=True)
    if cold_ms:
        print(f"{'':28} weights from memory ({cold_ms['copies']} "
              "copies): " + ", ".join(
                  f"{k} {v:.4f}" for k, v in cold_ms.items()
                  if k != "copies"), flush=True)
    return row


def cold_timings(case, a, w, library, stream, torch):
    """tesa and its main anchors with the weight read from memory, as in a
    model whose layers each read their own weight once: every call of the
    timed graph reads its own copy of the weight (tesa packed once for
    each), enough copies that each is evicted from L2 before its next
    read. The activations stay the same tensor (a model's come from the
    kernel before, in L2)."""
    copies = cold_copies(w.numel() * w.element_size())
    weights = [w.clone() for _ in range(copies)]
    out = {"copies": copies}
    result = torch.empty(case["m"], case["n"], device="cuda", dtype=w.dtype)
    with torch.cuda.stream(stream):
        if "matmul_pack" in library.functions:
            packs = [library.matmul.pack(None, wi) for wi in weights]
            calls = [lambda p=p: p(a, out=result) for p in packs]
        else:
            calls = [lambda wi=wi: library.matmul(a, wi, out=result)
                     for wi in weights]
    stream.synchronize()
    out["tesa"] = graph_median(calls, stream)
    dense = "cuBLAS fp16" if w.dtype == torch.float16 else "cuBLAS fp32"
    out[dense] = graph_median([lambda wi=wi: a @ wi for wi in weights],
                              stream)
    if case["family"].startswith("two_four_fp16"):
        from torch.sparse import to_sparse_semi_structured
        w24 = [to_sparse_semi_structured(wi.t().contiguous())
               for wi in weights]
        out["cuSPARSELt 2:4 fp16"] = graph_median(
            [lambda wi=wi: torch.nn.functional.linear(a, wi) for wi in w24],
            stream)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["prepare", "run"])
    parser.add_argument("directory")
    parser.add_argument("--only", help="prepare only cases whose name contains one of "
                        "these comma-separated strings")
    parser.add_argument("--chip", default="sm_90",
                        choices=["sm_75", "sm_80", "sm_86", "sm_89", "sm_90"],
                        help="prepare: the chip the kernels are compiled for "
                             "(below sm_90 as PTX, compiled by the driver)")
    parser.add_argument("--compile-options", default="",
                        help="prepare: more tesa-compile options for every "
                             "case, space separated (one build's side of "
                             "an A/B, e.g. --compile-options="
                             "--block-clusters=off)")
    parser.add_argument("--cold", action="store_true",
                        help="run: also time tesa and its main anchors with "
                             "the weight read from memory (a copy per call, "
                             "more than the L2 cache holds), as in a model")
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.directory, args.only, args.chip,
                extra=args.compile_options.split())
    else:
        summary = run(args.directory, args.cold)
        return 1 if any("error" in row for row in summary["results"]) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
