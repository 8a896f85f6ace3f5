"""Decomposed sparse products run on the CPU and match a float64 reference.

Each case is a random `linalg.matmul` with a sparse operand (lhs or rhs) whose
mask mixes pruned elements with elements kept at 32, 16, 8 and 4 bits, in
blocks and scattered, over shapes that are not multiples of any tile. The
program goes through `--tesa-decompose` (cost-model, all-fine and forced block
plans), `--tesa-check-decomposition` and `--tesa-cpu-pipeline`, runs under
`mlir-runner`, and its result (printed bit-exactly as i32) is compared with
the dense product in float64 on the masked operand:

- cases kept entirely at 32 bits must match to float32 rounding;
- otherwise each output element must lie within the quantisation error bound:
  per product term, |x| * dw + |w| * dx + dx * dw, with dw and dx half a
  quantisation step (f16: half an ulp; int8 / int4: half the per-channel
  scale), plus float32 accumulation slack.
"""

import os
import re
import zlib
import subprocess
from pathlib import Path

import numpy as np
import pytest

import gpu_suite_modules
from mlir_runner import call_module, run_lowered
from tesa import sparsity_encoding

ROOT = Path(__file__).resolve().parents[2]
TESA_OPT = os.environ.get("TESA_OPT", str(ROOT / "build" / "bin" / "tesa-opt"))
LLVM_BIN = Path(os.environ.get("LLVM_BIN", "/usr/lib/llvm-22/bin"))
RUNNER_LIBS = [LLVM_BIN.parent / "lib" / "libmlir_c_runner_utils.so",
               LLVM_BIN.parent / "lib" / "libmlir_runner_utils.so"]

CASES_PER_PLAN = 12
PLANS = ["plan=auto", "plan=fine", "plan=block block-shape=16x16",
         "plan=block block-shape=32x16 chip=sm_75", "plan=auto chip=gfx906"]
MIXES = [(32,), (16,), (8,), (4,), (32, 16), (32, 8), (16, 8, 4, 32)]


def random_mask(rng, shape, widths):
    """Blocks of random density and width, plus scattered elements."""
    rows, cols = shape
    block = int(rng.choice([8, 16, 32]))
    grid = (-(-rows // block), -(-cols // block))
    block_bits = rng.choice(widths, size=grid)
    dense_block = rng.random(grid) < 0.3
    bits = np.kron(block_bits, np.ones((block, block), dtype=int))[:rows, :cols]
    keep = np.kron(dense_block, np.ones((block, block), dtype=bool))[:rows, :cols]
    keep |= rng.random(shape) < rng.choice([0.02, 0.1, 0.4])
    return np.where(keep, bits, 0).astype(np.int8)


def random_case(rng, mixes=MIXES):
    m, k, n = (int(rng.integers(1, 24)), int(rng.integers(1, 80)),
               int(rng.integers(1, 80)))
    sparse = int(rng.integers(0, 2))
    widths = mixes[int(rng.integers(0, len(mixes)))]
    shape = (m, k) if sparse == 0 else (k, n)
    mask = random_mask(rng, shape, widths)
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    # A few outliers, as fp32 parts of real weights have.
    w[rng.random(w.shape) < 0.01] *= 50
    acc = rng.standard_normal((m, n)).astype(np.float32)
    return dict(m=m, k=k, n=n, sparse=sparse, mask=mask, lhs=x, rhs=w, acc=acc)


def two_four_mask(rng, channels, k, sparse, broken=0.0, outliers=0.0):
    """A 16-bit mask (in the operand's orientation: channels x k for a sparse
    lhs, k x channels for a sparse rhs) keeping at most two of every four
    consecutive reduction elements at random positions (some groups keep one
    or none); a fraction `broken` of the groups keep three, and `outliers`
    of the pruned elements are kept at 32 bits."""
    groups = -(-k // 4)
    counts = rng.choice([0, 1, 2, 2, 2, 2], size=(channels, groups))
    counts[rng.random(counts.shape) < broken] = 3
    ranks = rng.random((channels, groups, 4)).argsort(axis=2).argsort(axis=2)
    keep = (ranks < counts[:, :, None]).reshape(channels, groups * 4)[:, :k]
    extra = ~keep & (rng.random(keep.shape) < outliers)
    mask = np.where(keep, 16, np.where(extra, 32, 0)).astype(np.int8)
    return mask if sparse == 0 else np.ascontiguousarray(mask.T)


def random_two_four_case(rng, max_channels=80, max_k=120, min_columns=1,
                         max_columns=80, min_channels=1):
    sparse = int(rng.integers(0, 2))
    channels = int(rng.integers(min_channels, max_channels))
    k = int(rng.integers(4, max_k))
    columns = int(rng.integers(min_columns, max_columns))
    m, n = (channels, columns) if sparse == 0 else (columns, channels)
    mask = two_four_mask(rng, channels, k, sparse,
                         broken=float(rng.choice([0.0, 0.02])),
                         outliers=float(rng.choice([0.0, 0.02])))
    return dict(m=m, k=k, n=n, sparse=sparse, mask=mask,
                lhs=rng.standard_normal((m, k)).astype(np.float32),
                rhs=rng.standard_normal((k, n)).astype(np.float32),
                acc=rng.standard_normal((m, n)).astype(np.float32))


def literal(array):
    return "dense<" + repr(array.tolist()).replace("(", "[").replace(")", "]") + ">"


def case_types(case):
    """The plain tensor types of a case's operands and result, and the sparse
    operand's type with its encoding."""
    m, k, n = case["m"], case["k"], case["n"]
    enc = sparsity_encoding(case["mask"], inline_limit=1 << 30).attribute
    lhs_t = f"tensor<{m}x{k}xf32>"
    rhs_t = f"tensor<{k}x{n}xf32>"
    out_t = f"tensor<{m}x{n}xf32>"
    sparse_t = (lhs_t if case["sparse"] == 0 else rhs_t)[:-1] + f", {enc}>"
    return lhs_t, rhs_t, out_t, sparse_t


def case_ir(index, case):
    m, n = case["m"], case["n"]
    lhs_t, rhs_t, out_t, sparse_t = case_types(case)
    # The other operand: dense, or with a mask of its own.
    other_t = rhs_t if case["sparse"] == 0 else lhs_t
    if case.get("other_mask") is not None:
        other = sparsity_encoding(case["other_mask"],
                                  inline_limit=1 << 30).attribute
        other_t = other_t[:-1] + f", {other}>"
    lhs_arg_t = sparse_t if case["sparse"] == 0 else other_t
    rhs_arg_t = sparse_t if case["sparse"] == 1 else other_t
    sparse_name = "%lhs" if case["sparse"] == 0 else "%rhs"
    dense_t = lhs_t if case["sparse"] == 0 else rhs_t
    return f"""
func.func @product{index}(%lhs: {lhs_arg_t}, %rhs: {rhs_arg_t}, %acc: {out_t}) -> {out_t} {{
  %r = linalg.matmul ins(%lhs, %rhs : {lhs_arg_t}, {rhs_arg_t}) outs(%acc : {out_t}) -> {out_t}
  return %r : {out_t}
}}
func.func @run{index}() {{
  %lhs0 = arith.constant {literal(case["lhs"])} : {lhs_t}
  %rhs0 = arith.constant {literal(case["rhs"])} : {rhs_t}
  %acc = arith.constant {literal(case["acc"])} : {out_t}
  {sparse_name} = tesa.annotate {sparse_name}0 : {dense_t} -> {sparse_t}
  {"%rhs = tesa.annotate %rhs0 : " + rhs_t + " -> " + other_t if case["sparse"] == 0 else "%lhs = tesa.annotate %lhs0 : " + lhs_t + " -> " + other_t}
  %r = func.call @product{index}(%lhs, %rhs, %acc) : ({lhs_arg_t}, {rhs_arg_t}, {out_t}) -> {out_t}
{print_bits(m, n, "f32")}
}}
"""


def print_bits(m, n, element):
    """The end of a @run function: prints its m x n result %r, of f32 or
    f16 `element`s, as the bits of each value in f32 (i32)."""
    extend = "%w = arith.extf %v : f16 to f32" if element == "f16" else ""
    value = "%w" if element == "f16" else "%v"
    return f"""  %e = tensor.empty() : tensor<{m}x{n}xi32>
  %bits = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                          iterator_types = ["parallel", "parallel"]}}
      ins(%r : tensor<{m}x{n}x{element}>) outs(%e : tensor<{m}x{n}xi32>) {{
  ^bb0(%v: {element}, %o: i32):
    {extend}
    %b = arith.bitcast {value} : f32 to i32
    linalg.yield %b : i32
  }} -> tensor<{m}x{n}xi32>
  %u = tensor.cast %bits : tensor<{m}x{n}xi32> to tensor<*xi32>
  call @printMemrefI32(%u) : (tensor<*xi32>) -> ()
  return"""


def run_cases(cases, plan, after=()):
    body = "".join(case_ir(i, c) for i, c in enumerate(cases))
    results, covers = run_module(body, len(cases), plan, after=after)
    return results, covers


def run_module(body, count, plan, before=(), after=()):
    """Decomposes and runs `body`, whose functions @run0 .. @run<count-1>
    print one result each (its bits as i32); returns the results as float32
    arrays and the number of decompositions checked to be exact covers.
    `before` and `after` are tesa-opt options run before and after the
    decomposition."""
    calls = "".join(f"  call @run{i}() : () -> ()\n" for i in range(count))
    module = (body + "func.func private @printMemrefI32(tensor<*xi32>)\n"
              f"func.func @main() {{\n{calls}  return\n}}\n")
    lowered = subprocess.run(
        [TESA_OPT, *before, f"--tesa-decompose={plan}",
         "--tesa-check-decomposition", *after,
         "--tesa-cpu-pipeline", "-"],
        input=module, capture_output=True, text=True)
    assert lowered.returncode == 0, lowered.stderr[-4000:]
    covers = lowered.stderr.count("exact disjoint cover")
    run = subprocess.run(
        [str(LLVM_BIN / "mlir-runner"), "-e", "main",
         "-entry-point-result=void",
         "-shared-libs=" + ",".join(map(str, RUNNER_LIBS))],
        input=lowered.stdout, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-4000:]
    results = []
    for chunk in run.stdout.split("Unranked Memref")[1:]:
        data = chunk[chunk.index("data =") + len("data ="):]
        numbers = np.array([int(t) for t in
                            data.replace("[", " ").replace("]", " ")
                            .replace(",", " ").split()], dtype=np.int64)
        results.append(numbers.astype(np.uint32).view(np.float32))
    assert len(results) == count
    return results, covers


def step(values, widths, axis):
    """Half the quantisation step of each element's part (0 at 32 bits)."""
    half = np.zeros(values.shape, dtype=np.float64)
    f16 = widths == 16
    half[f16] = np.abs(values[f16]) * 2.0 ** -11 + 2.0 ** -25
    for bits, qmax in ((8, 127.0), (4, 7.0)):
        selected = widths == bits
        if selected.any():
            magnitude = np.where(selected, np.abs(values), 0).max(axis=axis,
                                                                  keepdims=True)
            half = np.where(selected, magnitude / qmax / 2, half)
    return half


def check(case, result):
    mask = case["mask"]
    lhs = case["lhs"].astype(np.float64)
    rhs = case["rhs"].astype(np.float64)
    sparse_lhs = case["sparse"] == 0
    if sparse_lhs:
        lhs = np.where(mask > 0, lhs, 0)
    else:
        rhs = np.where(mask > 0, rhs, 0)
    other = case.get("other_mask")
    if other is not None and sparse_lhs:
        rhs = np.where(other > 0, rhs, 0)
    elif other is not None:
        lhs = np.where(other > 0, lhs, 0)
    reference = case["acc"] + lhs @ rhs
    # The dense operand is rounded like the parts it meets: bound it by the
    # coarsest of them (int8 with qmax 127 for 8- and 4-bit parts, f16, none).
    coarsest = min(mask[mask > 0], default=32)
    dense_width = 8 if coarsest == 4 else coarsest
    lhs_widths = mask if sparse_lhs else np.full(lhs.shape, dense_width)
    rhs_widths = np.full(rhs.shape, dense_width) if sparse_lhs else mask
    dl = step(lhs, lhs_widths, axis=1)
    dr = step(rhs, rhs_widths, axis=0)
    bound = np.abs(lhs) @ dr + dl @ np.abs(rhs) + dl @ dr
    magnitude = np.abs(case["acc"]) + np.abs(lhs) @ np.abs(rhs)
    slack = 4e-7 * (case["k"] + 2) * magnitude
    error = np.abs(result.reshape(reference.shape) - reference)
    if np.all((mask == 0) | (mask == 32)):
        assert np.all(error <= slack), f"max f32 error {error.max()}"
    excess = error - (bound * 1.001 + slack)
    assert np.all(excess <= 0), (
        f"error {error.max()} beyond the bound at {np.unravel_index(excess.argmax(), excess.shape)}")


@pytest.mark.parametrize("where", ["linalg", "kernels"])
@pytest.mark.parametrize("plan", PLANS)
def test_decomposed_products_match_reference(plan, where):
    """The parts as linalg (--tesa-lower-parts-to-linalg in the CPU
    pipeline), or their GPU kernels run as host loops."""
    rng = np.random.default_rng(zlib.crc32(plan.encode()))
    cases = [random_case(rng) for _ in range(CASES_PER_PLAN)]
    results, covers = run_cases(
        cases, plan, after=part_kernels(plan) if where == "kernels" else ())
    decomposed = [c for c in cases
                  if (c["mask"] > 0).any() and not (c["mask"] == 32).all()]
    assert covers == len(decomposed), \
        "every decomposed product is checked as an exact cover"
    for case, result in zip(cases, results):
        check(case, result)



def part_kernels(plan, decode_products=True):
    """The tesa-opt options that lower the parts of `plan` to their GPU
    kernels and run each launch as loops over its blocks and, between
    barriers, shuffles and tensor-core instructions, its threads
    (`--tesa-launches-to-host-loops`, docs/codegen.md "Correctness")."""
    chip = plan.split("chip=")[1].split()[0] if "chip=" in plan else "sm_80"
    decode = str(decode_products).lower()
    return ("--tesa-fuse-epilogues",
            f"--tesa-lower-parts-to-gpu=chip={chip} decode-products={decode}",
            "--tesa-launches-to-host-loops")


def test_staged_fine_kernel_matches_reference_on_cpu():
    """The staged fine-grained SIMT kernel (parts that keep at least 8 of
    every 32 reduction elements a row, 128 columns and more), run as host
    loops: its chunks staged in workgroup memory, the rows' entries passed
    around the warp by shuffles."""
    rng = np.random.default_rng(23)
    cases = []
    for m, k, n in ((70, 96, 130), (64, 40, 256)):
        case = random_case(rng, [(32,)])
        case.update(m=m, k=k, n=n, sparse=0,
                    mask=np.where(rng.random((m, k)) < 0.5, 32,
                                  0).astype(np.int8),
                    lhs=rng.standard_normal((m, k)).astype(np.float32),
                    rhs=rng.standard_normal((k, n)).astype(np.float32),
                    acc=rng.standard_normal((m, n)).astype(np.float32))
        cases.append(case)
    plan = "plan=fine chip=sm_80"
    body = "".join(case_ir(i, c) for i, c in enumerate(cases))
    kernels = subprocess.run(
        [TESA_OPT, f"--tesa-decompose={plan}", "--tesa-fuse-epilogues",
         "--tesa-lower-parts-to-gpu=chip=sm_80", "-"],
        input=body + "func.func private @printMemrefI32(tensor<*xi32>)\n",
        capture_output=True, text=True)
    assert kernels.returncode == 0, kernels.stderr[-4000:]
    assert kernels.stdout.count("gpu.shuffle  idx") >= 2 * len(cases), \
        "every part takes the staged kernel"
    results, _ = run_cases(cases, plan, after=part_kernels(plan))
    for case, result in zip(cases, results):
        check(case, result)


def test_plain_fine_kernel_with_several_columns_a_thread_on_cpu():
    """The plain SIMT kernel where a block walks two work rows of about 51
    entries and each thread computes two columns, 128 apart (rows averaging
    at least 48 entries, docs/decomposition.md), run as host loops: 1088
    channels by 256 columns fill sm_75's 68 multiprocessors so."""
    rng = np.random.default_rng(31)
    m, k, n = 256, 256, 1088
    mask = np.where(rng.random((k, n)) < 0.2, 32, 0).astype(np.int8)
    encoding = sparsity_encoding(mask, inline_limit=1 << 30).attribute
    a = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    acc = rng.standard_normal((m, n)).astype(np.float32)
    plain, sparse = f"tensor<{k}x{n}xf32>", f"tensor<{k}x{n}xf32, {encoding}>"
    out = f"tensor<{m}x{n}xf32>"
    product = f"""
func.func @product(%a: tensor<{m}x{k}xf32>, %w: {plain}, %acc: {out}) -> {out} {{
  %ws = tesa.annotate %w : {plain} -> {sparse}
  %r = linalg.matmul ins(%a, %ws : tensor<{m}x{k}xf32>, {sparse}) outs(%acc : {out}) -> {out}
  return %r : {out}
}}
"""
    module = call_module(product, "product", [a, w, acc], (m, n))
    plan = "--tesa-decompose=plan=fine chip=sm_75"
    kernels = subprocess.run(
        [TESA_OPT, plan, "--tesa-lower-parts-to-gpu=chip=sm_75", "-"],
        input=module, capture_output=True, text=True)
    assert kernels.returncode == 0, kernels.stderr[-4000:]
    assert "memref<2x257xf32, #gpu.address_space<workgroup>>" in \
        kernels.stdout, "two rows a block, 256 columns (two a thread)"
    lowered = subprocess.run(
        [TESA_OPT, plan, "--tesa-lower-parts-to-gpu=chip=sm_75",
         "--tesa-launches-to-host-loops", "--tesa-cpu-pipeline", "-"],
        input=module, capture_output=True, text=True)
    assert lowered.returncode == 0, lowered.stderr[-4000:]
    result = run_lowered(lowered.stdout).reshape(m, n).astype(np.float64)
    reference = acc + a.astype(np.float64) @ np.where(mask > 0, w, 0)
    error = np.abs(result - reference).max() / np.abs(reference).max()
    assert error < 1e-6, error


@pytest.mark.parametrize("plan", [
    "plan=auto chip=sm_90", "plan=structured block-shape=16x32 chip=sm_80",
    "plan=structured block-shape=32x64 chip=sm_75"])
@pytest.mark.parametrize("where", ["linalg", "kernels"])
def test_structured_products_match_reference(plan, where):
    """f16 weights that are 2:4 along the reduction (with a few groups that
    are not, and f32 outliers): structured parts where the chip has sparse
    tensor cores (mma.sp), dense blocks on sm_75."""
    rng = np.random.default_rng(zlib.crc32(plan.encode()))
    cases = [random_two_four_case(rng) for _ in range(CASES_PER_PLAN)]
    results, _ = run_cases(
        cases, plan, after=part_kernels(plan) if where == "kernels" else ())
    for case, result in zip(cases, results):
        check(case, result)


def f16_program_ir(index, case):
    """@product<index>: an f16 program's product of a dense lhs and the
    case's 2:4 rhs, accumulating into its f16 accumulator (`acc`) or, without
    one, into zeros; @run<index> prints its result extended to f32."""
    m, k, n = case["m"], case["k"], case["n"]
    enc = sparsity_encoding(case["mask"], inline_limit=1 << 30).attribute
    lhs_t, rhs_t, out_t = (f"tensor<{m}x{k}xf16>", f"tensor<{k}x{n}xf16>",
                           f"tensor<{m}x{n}xf16>")
    sparse_t = rhs_t[:-1] + f", {enc}>"
    if case["acc"] is None:
        init = (f"%zero = arith.constant 0.0 : f16\n"
                f"  %e = tensor.empty() : {out_t}\n"
                f"  %init = linalg.fill ins(%zero : f16) outs(%e : {out_t}) "
                f"-> {out_t}")
    else:
        init = f"%init = arith.constant {literal(case['acc'])} : {out_t}"
    return f"""
func.func @product{index}(%lhs: {lhs_t}, %rhs: {sparse_t}) -> {out_t} {{
  {init}
  %r = linalg.matmul ins(%lhs, %rhs : {lhs_t}, {sparse_t}) outs(%init : {out_t}) -> {out_t}
  return %r : {out_t}
}}
func.func @run{index}() {{
  %lhs = arith.constant {literal(case["lhs"])} : {lhs_t}
  %rhs0 = arith.constant {literal(case["rhs"])} : {rhs_t}
  %rhs = tesa.annotate %rhs0 : {rhs_t} -> {sparse_t}
  %r = func.call @product{index}(%lhs, %rhs) : ({lhs_t}, {sparse_t}) -> {out_t}
{print_bits(m, n, "f16")}
}}
"""


def check_f16_program(case, result, sums_in_f16):
    """An f16 program's result: products of f16 values summed in f32 (the
    parts' sums too), rounded to f16 once (half an ulp: 2^-11 of the value),
    or with `sums_in_f16` (the CPU's linalg lowering of f16 products)
    rounded at every addition."""
    lhs = case["lhs"].astype(np.float64)
    rhs = np.where(case["mask"] > 0, case["rhs"].astype(np.float64), 0)
    acc = 0 if case["acc"] is None else case["acc"].astype(np.float64)
    reference = acc + lhs @ rhs
    magnitude = np.abs(acc) + np.abs(lhs) @ np.abs(rhs)
    ulp = 2.0 ** -11
    bound = (ulp * (np.abs(reference) + 2.0 ** -13) +
             (case["k"] + 2) * (ulp if sums_in_f16 else 2.0 ** -24) *
             magnitude)
    error = np.abs(result.reshape(reference.shape) - reference)
    excess = error - bound * 1.001
    assert np.all(excess <= 0), (
        f"error {error.max()} beyond the bound at "
        f"{np.unravel_index(excess.argmax(), excess.shape)}")


@pytest.mark.parametrize("plan", [
    "plan=auto chip=sm_80", "plan=structured block-shape=32x64 chip=sm_80",
    "plan=structured block-shape=64x64 chip=sm_80"])
@pytest.mark.parametrize("where", ["linalg", "kernels"])
def test_f16_programs_with_two_four_weights_match_reference(plan, where):
    """f16 programs (as PyTorch f16 models export) whose weight is 2:4 along
    the reduction: structured parts on sparse tensor cores (`mma.sp`) that
    read the f16 dense operand through its f16 copy and write the f16
    result, into zeros or onto an accumulator. Edges take several parts
    (a reduction of 72: 64, 32 and 16 deep), which sum in f32 and round
    once."""
    rng = np.random.default_rng(zlib.crc32(plan.encode()))
    cases = []
    for index, (m, k, n) in enumerate(((24, 64, 64), (70, 128, 96),
                                       (33, 192, 130), (5, 72, 40))):
        to_f16 = lambda a: a.astype(np.float16)  # noqa: E731
        cases.append(dict(
            m=m, k=k, n=n, mask=two_four_mask(rng, n, k, sparse=1),
            lhs=to_f16(rng.standard_normal((m, k))),
            rhs=to_f16(rng.standard_normal((k, n))),
            acc=None if index % 2 else to_f16(rng.standard_normal((m, n)))))
    body = "".join(f16_program_ir(i, c) for i, c in enumerate(cases))
    results, _ = run_module(body, len(cases), plan,
                            after=part_kernels(plan) if where == "kernels"
                            else ())
    for case, result in zip(cases, results):
        check_f16_program(case, result, sums_in_f16=where == "linalg")


def fine_f16_program_ir(index, case, constant_weight):
    """f16_program_ir for a fine-grained weight, whose values are an
    argument of @product<index> (packed by the pack kernel) or, with
    `constant_weight`, a constant of it (packed at compile time)."""
    if not constant_weight:
        return f16_program_ir(index, case)
    m, k, n = case["m"], case["k"], case["n"]
    enc = sparsity_encoding(case["mask"], inline_limit=1 << 30).attribute
    lhs_t, rhs_t, out_t = (f"tensor<{m}x{k}xf16>", f"tensor<{k}x{n}xf16>",
                           f"tensor<{m}x{n}xf16>")
    sparse_t = rhs_t[:-1] + f", {enc}>"
    return f"""
func.func @product{index}(%lhs: {lhs_t}) -> {out_t} {{
  %rhs0 = arith.constant {literal(case["rhs"])} : {rhs_t}
  %rhs = tesa.annotate %rhs0 : {rhs_t} -> {sparse_t}
  %init = arith.constant {literal(case['acc'])} : {out_t}
  %r = linalg.matmul ins(%lhs, %rhs : {lhs_t}, {sparse_t}) outs(%init : {out_t}) -> {out_t}
  return %r : {out_t}
}}
func.func @run{index}() {{
  %lhs = arith.constant {literal(case["lhs"])} : {lhs_t}
  %r = func.call @product{index}(%lhs) : ({lhs_t}) -> {out_t}
{print_bits(m, n, "f16")}
}}
"""


@pytest.mark.parametrize("constant_weight", [False, True])
def test_f16_programs_with_fine_weights_on_tensor_cores(constant_weight):
    """f16 programs whose weight keeps scattered elements (10-90%): one
    fine-grained part on tensor cores (`--tesa-lower-parts-to-gpu`'s
    `fine-tensor-cores`), its kept values packed row by row of 16 x 64
    tiles and expanded into mma fragments from the tiles' masks, at decode
    steps and wider, at edges (a reduction of 72, 130 columns), packed by
    the pack kernel or, for a constant weight, at compile time."""
    rng = np.random.default_rng(31 + constant_weight)
    cases = []
    for index, (m, k, n, kept) in enumerate(((16, 64, 32, 0.5),
                                             (5, 72, 40, 0.1),
                                             (24, 128, 70, 0.9),
                                             (70, 96, 130, 0.3))):
        to_f16 = lambda a: a.astype(np.float16)  # noqa: E731
        cases.append(dict(
            m=m, k=k, n=n,
            mask=np.where(rng.random((k, n)) < kept, 16, 0).astype(np.int8),
            lhs=to_f16(rng.standard_normal((m, k))),
            rhs=to_f16(rng.standard_normal((k, n))),
            acc=None if index % 2 and not constant_weight
            else to_f16(rng.standard_normal((m, n)))))
    body = "".join(fine_f16_program_ir(i, c, constant_weight)
                   for i, c in enumerate(cases))
    plan = "plan=fine chip=sm_80"
    kernels = subprocess.run(
        [TESA_OPT, f"--tesa-decompose={plan}", *part_kernels(plan)[:2], "-"],
        input=body + "func.func private @printMemrefI32(tensor<*xi32>)\n",
        capture_output=True, text=True)
    assert kernels.returncode == 0, kernels.stderr[-4000:]
    tables = re.findall(r'memref\.global "private" constant @\w+_row_offsets',
                        kernels.stdout)
    assert len(tables) == len(cases), \
        "every part takes the compressed tiles"
    assert ("_pack(" in kernels.stdout) != constant_weight
    results, _ = run_module(body, len(cases), plan, after=part_kernels(plan))
    for case, result in zip(cases, results):
        check_f16_program(case, result, sums_in_f16=False)


def test_both_operands_sparse_match_reference():
    """The operand that is not split is read densely: its pruned elements
    must count as zero whatever is stored in them."""
    rng = np.random.default_rng(11)
    cases = []
    for _ in range(CASES_PER_PLAN):
        case = random_case(rng)
        other_shape = case["rhs" if case["sparse"] == 0 else "lhs"].shape
        # Full precision where kept, so that only the mask matters.
        case["other_mask"] = np.where(rng.random(other_shape) < 0.6, 32,
                                      0).astype(np.int8)
        cases.append(case)
    results, _ = run_cases(cases, "plan=auto")
    for case, result in zip(cases, results):
        check(case, result)


SWEEP = gpu_suite_modules.load("sweep")
SWEEP_PRODUCTS = [name for name, family in SWEEP.FAMILIES.items()
                  if family[1] == "products"]


@pytest.mark.parametrize("family", SWEEP_PRODUCTS)
def test_random_products_through_part_kernels_on_cpu(family):
    """One random product of each of the GPU sweep's product families
    (test/Integration/GPU/sweep.py: shapes of 1 to 700, every width and
    mix, aligned and scattered masks, 2:4 weights, wide and decode
    products, both operands masked) through its part kernels as host
    loops; sm_90's families as for sm_80, whose kernels they share but
    for the warpgroup ones, which the host loops do not emulate."""
    _, _, options, generator, arguments, _ = SWEEP.FAMILIES[family]
    settings = dict(o.lstrip("-").split("=", 1) for o in options)
    chip = "sm_80" if settings["chip"] == "sm_90" else settings["chip"]
    plan = f"plan={settings['plan']} chip={chip}"
    if "block-shape" in settings:
        plan += f" block-shape={settings['block-shape']}"
    rng = np.random.default_rng(zlib.crc32(family.encode()))
    draw = (SWEEP.product_case if generator == "product"
            else SWEEP.two_four_case)
    case = draw(rng, **arguments)
    results, _ = run_cases([case], plan, after=part_kernels(
        plan, settings.get("decode-products", "true") == "true"))
    check(case, results[0])

