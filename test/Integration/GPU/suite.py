"""The GPU correctness suite: compiled libraries against float64 references.

Two steps, because GPU machines need no MLIR:

  prepare DIR  (any machine) compiles every case with tesa-compile into DIR:
               random sparse products covering every part kind (block and
               fine-grained parts at f32, f16, int8 and int4, mixed, with the
               sparse operand on either side, shapes that are not tile
               multiples) for sm_90 cubins and for sm_75 PTX (compiled by the
               driver at load), wider products (128-300 columns) whose
               32x32 and 64x64 blocks run both tensor-core kernels, f16
               weights that are 2:4 along the reduction (structured parts,
               mma.sp, for sm_90 cubins and sm_80 PTX), the
               same with the sparse operand a constant
               of the module (packed at compile time), and whole propagated
               programs (the example MLP and convolution, and a BERT encoder
               layer whose batched products are decomposed), with their
               inputs, and the kernel-region cases of region_cases.py
               (contractions with epilogues and folded transposes,
               softmaxes; the library `regions`, one function a case;
               regions_block_clusters, a case compiled with options of its
               own).
               The .mlir sources are removed once compiled, unless
               --keep-sources. With --seeded-inputs=false, the inputs of
               the libraries whose cases come from seeds are not written,
               only their digest: `run` makes them again.
  run DIR      (GPU) loads each library with the Python loader, runs every
               case from numpy, from CUDA tensors and with the weights packed
               once (`Function.pack`), compares with float64
               references (the CPU test's quantisation bound for products)
               and writes one line per case and a summary; exit status 1 on
               any mismatch.

`run` with `--sanitize` runs only the numpy path, for compute-sanitizer.
"""

import argparse
import hashlib
import json
import math
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # region_cases
sys.path.insert(0, str(ROOT / "python" / "tests"))
sys.path.insert(0, str(ROOT / "python"))

import tesa  # noqa: E402
from tesa.encoding import argument_masks  # noqa: E402

CASES_PER_LIBRARY = 8
# (library name, tesa-compile options)
PER_PART = "--decode-products=false"
PRODUCT_LIBRARIES = [
    ("sm90_auto", ["--chip=sm_90", "--plan=auto", PER_PART]),
    ("sm90_fine", ["--chip=sm_90", "--plan=fine", PER_PART]),
    ("sm90_block16x16", ["--chip=sm_90", "--plan=block", "--block-shape=16x16",
                         PER_PART]),
    ("sm90_block32x64", ["--chip=sm_90", "--plan=block", "--block-shape=32x64",
                         PER_PART]),
    ("sm75_ptx_auto", ["--chip=sm_75", "--format=isa", "--plan=auto",
                       PER_PART]),
    ("sm75_ptx_block16x16", ["--chip=sm_75", "--format=isa", "--plan=block",
                             "--block-shape=16x16", PER_PART]),
    # Decode products: every part of a product of at most 64 result columns
    # in one launch (all these cases have fewer than 80).
    ("sm90_decode_auto", ["--chip=sm_90", "--plan=auto"]),
    ("sm90_decode_fine", ["--chip=sm_90", "--plan=fine"]),
    ("sm90_decode_block16x16", ["--chip=sm_90", "--plan=block",
                                "--block-shape=16x16"]),
    ("sm75_ptx_decode_auto", ["--chip=sm_75", "--format=isa", "--plan=auto"]),
]
# Products with 128 result columns or more: f16 and int8 parts of 64x64
# blocks run the staged tensor-core kernel (shared memory, cp.async,
# ldmatrix), those of 32x32 blocks the register-pipelined one with four
# column tiles per warp. Block-aligned masks of the library's block shape.
WIDE_LIBRARIES = [
    (f"sm90_wide_block{c}x{r}", ["--chip=sm_90", "--plan=block",
                                 f"--block-shape={c}x{r}"], (c, r))
    for c, r in [(32, 32), (64, 64)]
]
# Fine-grained f32 products with 128-300 result columns: those that keep at
# least a quarter of their elements (every other case) run the staged SIMT
# kernel, the others the plain one.
WIDE_FINE_LIBRARIES = [
    ("sm90_wide_fine", ["--chip=sm_90", "--plan=fine", PER_PART]),
]
# f16 weights 2:4 along the reduction (a few groups not, some f32
# outliers): structured parts on sparse tensor cores, with 1-300 result
# columns; sm_80's PTX is compiled by the driver. The third field bounds the
# channels, the fourth those of the products with 128 columns or more. On
# sm_90, 64-channel blocks take the warpgroup kernel (wgmma.sp) by default;
# sm90_structured_block64x64 keeps mma.sp (--wgmma-structured=false), where
# products of more than 192 channels and 128 columns or more run the
# staged kernel; those of 449-599 channels have 8-10 block rows, which it
# computes in pairs (9: one pair lacks its second row).
STRUCTURED_LIBRARIES = [
    ("sm90_structured_auto", ["--chip=sm_90", "--plan=auto", PER_PART], 140, 1),
    ("sm90_structured_block32x64", ["--chip=sm_90", "--plan=structured",
                                    "--block-shape=32x64", PER_PART], 140, 1),
    ("sm90_structured_block64x64", ["--chip=sm_90", "--plan=structured",
                                    "--block-shape=64x64",
                                    "--wgmma-structured=false", PER_PART],
     600, 449),
    ("sm80_ptx_structured16x32", ["--chip=sm_80", "--format=isa",
                                  "--plan=structured", "--block-shape=16x32",
                                  PER_PART], 140, 1),
]
# 2:4 weights of 65-400 channels by 40-300 reduction elements with 30% of
# their 64x64 blocks pruned whole, and 64-300 result columns: the warpgroup
# kernel (wgmma.sp) on 64x64 and 64x32 blocks, 64 or 128
# columns a warpgroup. Each library's last case has 8900-9984 channels,
# enough tiles for pairs of block rows: with 10% of the 64x64 blocks pruned
# (pairs whose blocks differ, on branches), or none (pairs that keep every
# step, without branches).
WGMMA_STRUCTURED_LIBRARIES = [
    (f"sm90_wgmma_structured{shape}", [
        "--chip=sm_90", "--plan=structured", f"--block-shape={shape}",
        "--wgmma-structured=true", PER_PART], pruned)
    for shape, pruned in (("64x64", 0.1), ("64x32", 0.0))
]
# 2:4 weights of 65-320 channels by 500-1300 reduction elements (8-21
# steps of 64), 64-130 result columns: tiles too few for the
# multiprocessors and walks long enough that the warpgroup kernel splits
# them over the blocks of a thread block cluster (2-5 slices), which add
# their sums up through distributed shared memory.
WGMMA_SPLIT_LIBRARIES = [
    ("sm90_wgmma_structured_split", [
        "--chip=sm_90", "--plan=structured", "--block-shape=64x64",
        "--wgmma-structured=true", PER_PART]),
]
# 2:4 weights of 2300-3100 channels by 520-900 reduction elements, 260-520
# result columns (BERT-base's FFN1 at 512 tokens, and narrower): tiles of
# one warpgroup would split their walks, but those of two warpgroups of 64
# columns (two slabs where they give enough tiles, else one) keep 7/10 of
# the multiprocessors busy unsplit, the epilogue on 256 threads.
WGMMA_WIDE_LIBRARIES = [
    ("sm90_wgmma_structured_wide", [
        "--chip=sm_90", "--plan=structured", "--block-shape=64x64",
        "--wgmma-structured=true", PER_PART]),
]
# Cases of region_cases.py compiled again with options of their own:
# (library, tesa-compile options, case names). block_sparse_slab_pairs's
# tiles of slab groups as pairs in thread block clusters, each step's x
# slice loaded half by each block and multicast into both (off by default:
# not yet faster, docs/benchmarks.md).
REGION_VARIANT_LIBRARIES = [
    ("regions_block_clusters", ["--chip=sm_90", "--block-clusters=fewer-reads"],
     ["block_sparse_slab_pairs"]),
    # fine_decode_tensor_cores_f16 as one fine-grained f16 part on tensor
    # cores (compressed tiles; `auto` computes it densely).
    ("regions_fine_tensor_cores", ["--chip=sm_90", "--plan=fine"],
     ["fine_decode_tensor_cores_f16"]),
]
# The sparse operand a constant of the module: packed at compile time.
CONSTANT_LIBRARIES = [
    ("sm90_constant_auto", ["--chip=sm_90", "--plan=auto", PER_PART]),
    ("sm90_constant_block16x16", ["--chip=sm_90", "--plan=block",
                                  "--block-shape=16x16", PER_PART]),
    ("sm90_constant_decode_auto", ["--chip=sm_90", "--plan=auto"]),
]
CONSTANT_STRUCTURED_LIBRARIES = [
    ("sm90_constant_structured32x32", ["--chip=sm_90", "--plan=structured",
                                       "--block-shape=32x32", PER_PART]),
]


def tesa_compile(source, library, options):
    compiler = ROOT / "build" / "bin" / "tesa-compile"
    result = subprocess.run([str(compiler), str(source), "-o", str(library),
                             "--target=nvvm", *options],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"tesa-compile {source} failed:\n"
                           f"{result.stderr[-4000:]}")


def product_cases(name):
    import test_decompose_cpu as cpu
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    cases = []
    while len(cases) < CASES_PER_LIBRARY:
        case = cpu.random_case(rng)
        if (case["mask"] > 0).any():
            cases.append(case)
    return cases


def random_product(rng, m, k, n, sparse, mask):
    """A product case: random operands and accumulator of m x k by k x n,
    operand `sparse` (0 or 1) under `mask`, given in the lhs's orientation
    (channels x reduction) and transposed for a sparse rhs."""
    if sparse == 1:
        mask = np.ascontiguousarray(mask.T)
    return dict(m=m, k=k, n=n, sparse=sparse, mask=mask,
                lhs=rng.standard_normal((m, k)).astype(np.float32),
                rhs=rng.standard_normal((k, n)).astype(np.float32),
                acc=rng.standard_normal((m, n)).astype(np.float32))


def wide_cases(name, block):
    """Products with 128-300 result columns, channels and reductions that are
    not multiples of the block, and a mask of whole blocks (`block` is
    channels x reduction), 70% of them, kept at 16 bits or at 8, plus a few
    scattered f32 elements. With 6-8 block rows, a column of blocks holds
    about five: enough for the f16 parts to read a copy of the dense
    operand, as the staged kernel needs."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    bc, br = block
    cases = []
    for i in range(CASES_PER_LIBRARY):
        sparse, bits = i % 2, (16, 8)[i // 2 % 2]
        channels = int(rng.integers(6 * bc + 1, 8 * bc + bc // 2))
        k = int(rng.integers(64, 260))
        columns = int(rng.integers(128, 300))
        m, n = (channels, columns) if sparse == 0 else (columns, channels)
        grid = (-(-channels // bc), -(-k // br))
        keep = np.kron(rng.random(grid) < 0.7,
                       np.ones(block, dtype=bool))[:channels, :k]
        mask = np.where(keep, bits, np.where(rng.random(keep.shape) < 0.01,
                                             32, 0)).astype(np.int8)
        cases.append(random_product(rng, m, k, n, sparse, mask))
    return cases


def two_four_product_cases(name, count, sizes):
    """`count` 2:4 products (test_decompose_cpu.two_four_mask, some f32
    outliers), the sparse operand on either side, whose channels,
    reduction elements and result columns `sizes(rng, i)` draws for case
    i."""
    import test_decompose_cpu as cpu
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    cases = []
    for i in range(count):
        sparse = i % 2
        channels, k, columns = sizes(rng, i)
        m, n = (channels, columns) if sparse == 0 else (columns, channels)
        mask = cpu.two_four_mask(rng, channels, k, 0, broken=0.0,
                                 outliers=float(rng.choice([0.0, 0.02])))
        cases.append(random_product(rng, m, k, n, sparse, mask))
    return cases


def wgmma_split_cases(name):
    """2:4 products of 65-320 channels, 500-1300 reduction elements and
    64-130 result columns (see WGMMA_SPLIT_LIBRARIES)."""
    return two_four_product_cases(
        name, CASES_PER_LIBRARY,
        lambda rng, i: (int(rng.integers(65, 320)),
                        int(rng.integers(500, 1300)),
                        int(rng.integers(64, 130))))


def wgmma_wide_cases(name):
    """2:4 products of 2300-3100 channels, 520-900 reduction elements and
    260-520 result columns (see WGMMA_WIDE_LIBRARIES); four cases, for
    they are large. The first two take tiles of two slabs (24 groups of 128
    channels by 4 column tiles), the others one slab."""
    def sizes(rng, i):
        channels = int(rng.integers(2945, 3100) if i < 2
                       else rng.integers(2300, 2900))
        k = int(rng.integers(520, 900))
        columns = int(rng.integers(385, 520) if i < 2
                      else rng.integers(260, 520))
        return channels, k, columns
    return two_four_product_cases(name, 4, sizes)


def wide_fine_cases(name):
    """Products with 128-300 result columns (a multiple of 4 but mostly not
    of 128), 65-200 channels and 40-260 reduction elements (not multiples
    of the kernels' 64 channels and 32-element chunks), a fine-grained f32
    mask keeping 50-75% of the elements (even cases) or 10% (odd), the
    sparse operand on either side."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    cases = []
    for i in range(CASES_PER_LIBRARY):
        sparse = i // 2 % 2
        channels = int(rng.integers(65, 200))
        k = int(rng.integers(40, 260))
        columns = 4 * int(rng.integers(32, 75))
        m, n = (channels, columns) if sparse == 0 else (columns, channels)
        kept = rng.uniform(0.5, 0.75) if i % 2 == 0 else 0.1
        mask = np.where(rng.random((channels, k)) < kept, 32, 0).astype(
            np.int8)
        cases.append(random_product(rng, m, k, n, sparse, mask))
    return cases


def structured_cases(name, max_channels=140, min_wide_channels=1):
    """2:4 products (see test_decompose_cpu.random_two_four_case); every
    other one has 128-300 result columns, so that warps take four column
    tiles and every channel slice of a block, and at least
    `min_wide_channels` channels."""
    import test_decompose_cpu as cpu
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return [cpu.random_two_four_case(
        rng, max_channels=max_channels, max_k=200,
        min_columns=128 if i % 2 else 1, max_columns=300 if i % 2 else 40,
        min_channels=min_wide_channels if i % 2 else 1)
        for i in range(CASES_PER_LIBRARY)]


def wgmma_structured_cases(name, pairs_pruned):
    """2:4 products (test_decompose_cpu.two_four_mask, some groups broken,
    some f32 outliers) with 30% of their 64x64 blocks pruned whole, 64-300
    result columns, the sparse operand on either side; the last with
    8900-9984 channels (an even number of 64-channel rows), 65-128
    reduction elements, 130-250 columns and `pairs_pruned` of its blocks
    pruned."""
    import test_decompose_cpu as cpu
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    cases = []
    for i in range(CASES_PER_LIBRARY):
        sparse = i % 2
        pairs = i == CASES_PER_LIBRARY - 1
        # An even number of block rows: every pair has its second row.
        channels = int(128 * rng.integers(70, 78) - rng.integers(0, 64)
                       if pairs else rng.integers(65, 400))
        k = int(rng.integers(65, 128) if pairs else rng.integers(40, 300))
        columns = int(rng.integers(130, 250) if pairs
                      else rng.integers(64, 300))
        m, n = (channels, columns) if sparse == 0 else (columns, channels)
        # Broken groups (three of four kept) make their blocks block parts:
        # none in the pairs' case.
        broken = float(rng.choice([0.0, 0.02]))
        mask = cpu.two_four_mask(rng, channels, k, 0,
                                 broken=0.0 if pairs else broken,
                                 outliers=float(rng.choice([0.0, 0.02])))
        grid = (-(-channels // 64), -(-k // 64))
        kept = np.kron(rng.random(grid) >= (pairs_pruned if pairs else 0.3),
                       np.ones((64, 64), dtype=bool))[:channels, :k]
        mask = np.where(kept, mask, 0).astype(np.int8)
        cases.append(random_product(rng, m, k, n, sparse, mask))
    return cases


def product_module(cases):
    import test_decompose_cpu as cpu
    return "".join(cpu.case_ir(i, c).split("func.func @run")[0]
                   for i, c in enumerate(cases))


def constant_module(cases):
    """@product<i>(other, acc) with the sparse operand a constant."""
    import test_decompose_cpu as cpu
    text = ""
    for i, case in enumerate(cases):
        lhs_t, rhs_t, out_t, sparse_t = cpu.case_types(case)
        sparse_is_lhs = case["sparse"] == 0
        other_t = rhs_t if sparse_is_lhs else lhs_t
        value = case["lhs"] if sparse_is_lhs else case["rhs"]
        operands = ("%w, %other" if sparse_is_lhs else "%other, %w")
        types = (f"{sparse_t}, {other_t}" if sparse_is_lhs
                 else f"{other_t}, {sparse_t}")
        text += f"""
func.func @product{i}(%other: {other_t}, %acc: {out_t}) -> {out_t} {{
  %w = arith.constant {cpu.literal(value)} : {sparse_t}
  %r = linalg.matmul ins({operands} : {types}) outs(%acc : {out_t}) -> {out_t}
  return %r : {out_t}
}}
"""
    return text


def constant_cases(name):
    """Product cases whose other operand is dense (it is an argument)."""
    return [c for c in product_cases(name) if c.get("other_mask") is None]


def example_case(rng, name, scale=1.0):
    """examples/<name>.mlir with the masks its encodings declare, and random
    inputs of standard deviation `scale`."""
    source = ROOT / "examples" / f"{name}.mlir"
    masks = argument_masks(source.read_text(), name)
    inputs = [(rng.standard_normal(m.shape) * scale).astype(np.float32)
              for m in masks]
    return source, inputs, masks


def masked_rows_case(rng, out_dir):
    """(x @ w) * row_mask: propagation marks the product's masked rows dead,
    so its kernels skip them. w (fewer kept elements than x's live rows, so
    it is the operand decomposed) has dense f16 16x16 blocks and scattered
    f32 elements: tensor-core and SIMT kernels both skip; the dead rows
    (20-43) do not fall on tile boundaries."""
    from tesa.encoding import resource_section, sparsity_encoding
    m, k, n = 64, 64, 48
    blocks = np.kron(rng.random((k // 16, n // 16)) < 0.3,
                     np.ones((16, 16), bool))
    mask = np.where(blocks, 16, np.where(rng.random((k, n)) < 0.1, 32, 0))
    mask = mask.astype(np.int8)
    live = np.ones(m, np.float32)
    live[20:44] = 0
    encoding = sparsity_encoding(mask, resource_name="w_mask")
    w_type = f"tensor<{k}x{n}xf32, {encoding.attribute}>"
    rows = ", ".join(f"[{v:.1f}]" for v in live)
    text = f"""func.func @masked_rows(%x: tensor<{m}x{k}xf32>, %w: {w_type}) -> tensor<{m}x{n}xf32> {{
  %zero = arith.constant 0.0 : f32
  %live = arith.constant dense<[{rows}]> : tensor<{m}x1xf32>
  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %p = linalg.matmul ins(%x, %w : tensor<{m}x{k}xf32>, {w_type}) outs(%acc : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %y = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, 0)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}} ins(%p, %live : tensor<{m}x{n}xf32>, tensor<{m}x1xf32>) outs(%e : tensor<{m}x{n}xf32>) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  }} -> tensor<{m}x{n}xf32>
  return %y : tensor<{m}x{n}xf32>
}}
""" + resource_section([encoding])
    source = out_dir / "masked_rows.mlir"
    source.write_text(text)
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    return source, [x, w], [None, mask]


MASKED_ROWS = np.r_[20:44]


def masked_rows_reference(inputs, masks):
    x, w = (masked(a.astype(np.float64), m) for a, m in zip(inputs, masks))
    result = x @ w
    result[MASKED_ROWS] = 0
    return result


BERT_ARGUMENTS = ["x", "l0_wq", "l0_bq", "l0_wk", "l0_bk", "l0_wv", "l0_bv",
                  "l0_wo", "l0_bo", "l0_w1", "l0_b1", "l0_w2", "l0_b2"]


def bert_case(rng, out_dir):
    """One BERT encoder layer, half of every weight pruned per element."""
    from tesa.models import bert_encoder
    hidden, ffn, heads, seq = 64, 256, 4, 16
    shapes = {"x": (seq, hidden), "l0_w1": (hidden, ffn),
              "l0_b1": (ffn,), "l0_w2": (ffn, hidden)}
    for part in "qkvo":
        shapes[f"l0_w{part}"] = (hidden, hidden)
        shapes[f"l0_b{part}"] = (hidden,)
    shapes["l0_b2"] = (hidden,)
    masks = {key: np.where(rng.random(shapes[key]) < 0.5, 32, 0)
             .astype(np.int8) for key in
             ("l0_wq", "l0_wk", "l0_wv", "l0_wo", "l0_w1", "l0_w2")}
    masks["l0_wq"][:, 16:32] = 0  # head 1 of the query projection
    masks["l0_w2"][rng.random(ffn) < 0.25, :] = 0
    text = bert_encoder(layers=1, seq=seq, hidden=hidden, heads=heads, ffn=ffn,
                        masks=masks, name="bert_layer")
    source = out_dir / "bert_layer.mlir"
    source.write_text(text)
    inputs = [(rng.standard_normal(shapes[key]) * 0.2).astype(np.float32)
              for key in BERT_ARGUMENTS]
    return source, inputs, [masks.get(key) for key in BERT_ARGUMENTS]


def seeded_libraries():
    """(name, options, kind, the function that makes its cases) of the
    product and constant libraries, whose cases come from a generator
    seeded with the library's name: `run` can make their inputs again."""
    return ([(name, options, "products", lambda n=name: product_cases(n))
             for name, options in PRODUCT_LIBRARIES] +
            [(name, options, "products",
              lambda n=name, b=block: wide_cases(n, b))
             for name, options, block in WIDE_LIBRARIES] +
            [(name, options, "products", lambda n=name: wide_fine_cases(n))
             for name, options in WIDE_FINE_LIBRARIES] +
            [(name, options, "products",
              lambda n=name, c=channels, w=wide: structured_cases(n, c, w))
             for name, options, channels, wide in STRUCTURED_LIBRARIES] +
            [(name, options, "products",
              lambda n=name, p=pruned: wgmma_structured_cases(n, p))
             for name, options, pruned in WGMMA_STRUCTURED_LIBRARIES] +
            [(name, options, "products", lambda n=name: wgmma_split_cases(n))
             for name, options in WGMMA_SPLIT_LIBRARIES] +
            [(name, options, "products", lambda n=name: wgmma_wide_cases(n))
             for name, options in WGMMA_WIDE_LIBRARIES] +
            [(name, options, "constants", lambda n=name: constant_cases(n))
             for name, options in CONSTANT_LIBRARIES] +
            [(name, options, "constants", lambda n=name: structured_cases(n))
             for name, options in CONSTANT_STRUCTURED_LIBRARIES])


def prepare(out_dir, keep_sources=False, only=None, seeded_inputs=True):
    """Compiles the libraries (those named in `only`, a comma-separated
    list, where given) and writes their inputs and the manifest."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    names = set(only.split(",")) if only else None
    for name, options, kind, make_cases in seeded_libraries():
        if names is not None and name not in names:
            continue
        cases = make_cases()
        text = (product_module(cases) if kind == "products"
                else constant_module(cases))
        source = out / f"{name}.mlir"
        source.write_text(text)
        tesa_compile(source, out / f"{name}.so", options)
        arrays = product_arrays(cases)
        if seeded_inputs:
            np.savez(out / f"{name}.npz", **arrays)
        manifest.append(dict(kind=kind, name=name, options=options,
                             sparse=[c["sparse"] for c in cases],
                             inputs_digest=inputs_digest(arrays)))
    rng = np.random.default_rng(5)
    # conv: int8 parts over a convolution's patches; example_bert_layer:
    # propagation prunes one head's scores, so its batched products are
    # decomposed; convnet: f32 convolutions read as implicit GEMMs.
    programs = [("mlp", "mlp", lambda: example_case(rng, "mlp")),
                ("conv", "conv", lambda: example_case(rng, "conv")),
                ("bert_layer", "bert_layer", lambda: bert_case(rng, out)),
                ("example_bert_layer", "bert_layer",
                 lambda: example_case(rng, "bert_layer", scale=0.2)),
                ("masked_rows", "masked_rows",
                 lambda: masked_rows_case(rng, out)),
                ("convnet", "convnet", lambda: example_case(rng, "convnet"))]
    for name, kind, build in programs:
        if names is not None and name not in names:
            continue
        source, inputs, masks = build()
        tesa_compile(source, out / f"{name}.so", ["--chip=sm_90"])
        np.savez(out / f"{name}.npz",
                 **{f"input{i}": a for i, a in enumerate(inputs)},
                 **{f"mask{i}": m for i, m in enumerate(masks)
                    if m is not None})
        manifest.append(dict(kind=kind, name=name, function=source.stem,
                             options=["--chip=sm_90"]))
    if names is None or "regions" in names:
        manifest.append(prepare_regions(out, seeded_inputs=seeded_inputs))
    for name, options, functions in REGION_VARIANT_LIBRARIES:
        if names is None or name in names:
            manifest.append(prepare_regions(out, name, options, functions,
                                            seeded_inputs))
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    if not keep_sources:
        # `run` needs only the libraries and inputs: what goes to the GPU
        # machine stays small.
        for source in out.glob("*.mlir"):
            source.unlink()
    return manifest


def prepare_regions(out, name="regions", options=("--chip=sm_90",),
                    functions=None, seeded_inputs=True):
    """The library `name`: the cases of region_cases.py named in
    `functions` (default: every case), one function each, in one module
    compiled with `options`; the inputs in <name>.npz (`<case>__input<i>`),
    the references recomputed from them at run time."""
    from region_cases import region_cases, regions_module
    cases = [c for c in region_cases()
             if functions is None or c["name"] in functions]
    source = out / f"{name}.mlir"
    source.write_text(regions_module(cases))
    tesa_compile(source, out / f"{name}.so", list(options))
    arrays = region_arrays(cases)
    if seeded_inputs:
        np.savez(out / f"{name}.npz", **arrays)
    return dict(kind="regions", name=name, options=list(options),
                functions=[c["name"] for c in cases],
                inputs=[len(c["inputs"]) for c in cases],
                inputs_digest=inputs_digest(arrays))


def product_arrays(cases):
    """The arrays of a product or constant library's npz file."""
    return {f"{key}{i}": case[key] for i, case in enumerate(cases)
            for key in ("lhs", "rhs", "acc", "mask")}


def region_arrays(cases):
    """The arrays of a region library's npz file."""
    return {f"{case['name']}__input{i}": a for case in cases
            for i, a in enumerate(case["inputs"])}


def inputs_digest(arrays):
    """A digest of `arrays` (names, types, shapes and bytes), which tells
    inputs made again on the GPU machine from those compiled against."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def load_inputs(directory, entry):
    """The inputs of the library of `entry`: its npz file where `prepare`
    wrote one, else made again from their seeds (`prepare
    --seeded-inputs=false`, for a GPU machine that takes little data), which
    must match the digest recorded at prepare time."""
    path = directory / f"{entry['name']}.npz"
    if path.exists():
        return np.load(path)
    if entry["kind"] == "regions":
        from region_cases import region_cases
        arrays = region_arrays([c for c in region_cases()
                                if c["name"] in entry["functions"]])
    else:
        make_cases = {name: make for name, _, _, make in seeded_libraries()}
        if entry["name"] not in make_cases:
            raise SuiteError(f"{path} is missing and {entry['name']} has no "
                             "seeded cases")
        arrays = product_arrays(make_cases[entry["name"]]())
    if inputs_digest(arrays) != entry.get("inputs_digest"):
        raise SuiteError(f"{path} is missing and the inputs made again from "
                         "their seeds differ from those it was prepared with "
                         "(another numpy version?): prepare with "
                         "--seeded-inputs=true")
    return arrays


class SuiteError(Exception):
    """A library whose inputs cannot be had."""


# --- references ------------------------------------------------------------

def masked(value, mask):
    return value if mask is None else np.where(mask > 0, value, 0)


def mlp_reference(inputs, masks):
    x, w1, w2 = (masked(a.astype(np.float64), m)
                 for a, m in zip(inputs, masks))
    return np.maximum(x @ w1, 0) @ w2


def nhwc_conv(image, filt):
    kh, kw, _, filters = filt.shape
    oh, ow = image.shape[1] - kh + 1, image.shape[2] - kw + 1
    out = np.zeros((image.shape[0], oh, ow, filters))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nhwc,cf->nhwf", image[:, i:i + oh, j:j + ow],
                             filt[i, j])
    return out


def conv_reference(inputs, masks):
    image, filt = (masked(a, m).astype(np.float64)
                   for a, m in zip(inputs, masks))
    return nhwc_conv(image, filt)


def convnet_reference(inputs, masks):
    image, f1, f2 = (masked(a, m).astype(np.float64)
                     for a, m in zip(inputs, masks))
    hidden = np.maximum(nhwc_conv(image, f1), 0)
    n, h, w, c = hidden.shape
    pooled = hidden.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
    return nhwc_conv(pooled, f2)


def bert_reference(inputs, masks, heads=4):
    erf = np.vectorize(math.erf)
    a = [masked(v.astype(np.float64), m) for v, m in zip(inputs, masks)]
    x, wq, bq, wk, bk, wv, bv, wo, bo, w1, b1, w2, b2 = a
    seq, hidden = x.shape
    head = hidden // heads

    def split(t):
        return t.reshape(seq, heads, head).transpose(1, 0, 2)

    q, k, v = split(x @ wq + bq), split(x @ wk + bk), split(x @ wv + bv)
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(head)
    probs = np.exp(scores - scores.max(axis=2, keepdims=True))
    probs /= probs.sum(axis=2, keepdims=True)
    context = (probs @ v).transpose(1, 0, 2).reshape(seq, hidden)
    h1 = x + context @ wo + bo
    inner = h1 @ w1 + b1
    inner = 0.5 * inner * (1 + erf(inner / np.sqrt(2)))
    return h1 + inner @ w2 + b2


def relative_error(result, reference):
    return float(np.linalg.norm(result - reference) /
                 max(np.linalg.norm(reference), 1e-30))


# --- running ---------------------------------------------------------------

def _torch_call(function, arrays):
    import torch
    tensors = [torch.from_numpy(a).cuda() for a in arrays]
    result = function(*tensors)
    torch.cuda.synchronize()
    return result.cpu().numpy()


def _packed_call(function, arrays):
    """Packs the weights once (torch tensors), then calls twice without
    packing; the second result is the one checked."""
    import torch
    tensors = [torch.from_numpy(a).cuda() for a in arrays]
    run = function.pack(*tensors)
    kept = [tensors[i] for i in run.kept_arguments]
    run(*kept)
    result = run(*kept)
    torch.cuda.synchronize()
    return result.cpu().numpy()


def call(function, arrays, path):
    """`function` on `arrays` by one of the loader's paths."""
    if path == "torch":
        return _torch_call(function, arrays)
    if path == "packed":
        return _packed_call(function, arrays)
    return function(*arrays)


def paths_for(function, paths):
    """The packed path only where the library has packing entry points."""
    has_pack = f"{function.name}_pack" in function._library.functions
    return [p for p in paths if p != "packed" or has_pack]


def run_products(directory, entry, paths):
    import test_decompose_cpu as cpu
    library = tesa.load(directory / f"{entry['name']}.so")
    data = load_inputs(directory, entry)
    outcomes = []
    for i, sparse in enumerate(entry["sparse"]):
        case = dict(lhs=data[f"lhs{i}"], rhs=data[f"rhs{i}"],
                    acc=data[f"acc{i}"], mask=data[f"mask{i}"], sparse=sparse)
        case["m"], case["k"] = case["lhs"].shape
        case["n"] = case["rhs"].shape[1]
        function = library.functions[f"product{i}"]
        if entry["kind"] == "constants":
            args = [case["rhs"] if sparse == 0 else case["lhs"], case["acc"]]
        else:
            args = [case["lhs"], case["rhs"], case["acc"]]
        for path in paths_for(function, paths):
            result = call(function, args, path)
            try:
                cpu.check(case, result)
                outcomes.append((f"{entry['name']}/product{i}/{path}", True,
                                 f"{case['m']}x{case['k']}x{case['n']}"))
            except AssertionError as error:
                outcomes.append((f"{entry['name']}/product{i}/{path}", False,
                                 str(error)))
    return outcomes


def run_program(directory, entry, paths):
    library = tesa.load(directory / f"{entry['name']}.so")
    data = np.load(directory / f"{entry['name']}.npz")
    inputs = [data[k] for k in sorted((k for k in data if k.startswith("input")),
                                      key=lambda k: int(k[5:]))]
    masks = [data[f"mask{i}"] if f"mask{i}" in data else None
             for i in range(len(inputs))]
    reference = {"mlp": mlp_reference, "conv": conv_reference,
                 "bert_layer": bert_reference,
                 "masked_rows": masked_rows_reference,
                 "convnet": convnet_reference}[entry["kind"]](
                     inputs, masks)
    # int8 and f16 parts in the MLP, the convolution and masked_rows; f32
    # everywhere in the BERT layers and the conv net.
    tolerance = 1e-5 if entry["kind"] in ("bert_layer", "convnet") else 2e-2
    function = library.functions[entry["function"]]
    outcomes = []
    for path in paths_for(function, paths):
        result = call(function, inputs, path)
        error = relative_error(result, reference)
        outcomes.append((f"{entry['name']}/{path}", error <= tolerance,
                         f"relative error {error:.2e} (bound {tolerance:.0e})"))
    return outcomes


def run_regions(directory, entry, paths):
    """Each case of the `regions` library against its float64 reference
    (region_cases.py's, on the stored inputs)."""
    from region_cases import region_cases
    library = tesa.load(directory / f"{entry['name']}.so")
    data = load_inputs(directory, entry)
    cases = {c["name"]: c for c in region_cases()}
    outcomes = []
    for name, count in zip(entry["functions"], entry["inputs"]):
        if name not in cases:
            outcomes.append((f"{entry['name']}/{name}", False,
                             "no such case in region_cases.py"))
            continue
        case = cases[name]
        inputs = [data[f"{name}__input{i}"] for i in range(count)]
        reference = case["reference_of"](inputs)
        tolerance = case["tolerance"]
        function = library.functions[name]
        for path in paths_for(function, paths):
            outcome = f"{entry['name']}/{name}/{path}"
            result = np.asarray(call(function, inputs, path))
            if result.shape != reference.shape:
                outcomes.append((outcome, False, f"shape {result.shape}, "
                                 f"expected {reference.shape}"))
                continue
            error = relative_error(result.astype(np.float64), reference)
            outcomes.append((outcome, error <= tolerance,
                             f"relative error {error:.2e} "
                             f"(bound {tolerance:.1e})"))
    return outcomes


def run(directory, sanitize=False, only=None):
    directory = Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    if only:
        manifest = [e for e in manifest if e["name"] in only.split(",")]
    if not manifest:
        print(f"no library of {directory} is named in --only={only}")
        return False
    probe = tesa.load(directory / f"{manifest[0]['name']}.so")
    reason = probe.no_device_reason()
    if reason:
        print(f"no GPU: {reason}")
        return None
    paths = ["numpy"] if sanitize else ["numpy", "torch", "packed"]
    outcomes = []
    for entry in manifest:
        try:
            if entry["kind"] in ("products", "constants"):
                outcomes += run_products(directory, entry, paths)
            elif entry["kind"] == "regions":
                outcomes += run_regions(directory, entry, paths)
            else:
                outcomes += run_program(directory, entry, paths)
        except SuiteError as error:
            outcomes.append((entry["name"], False, str(error)))
    for name, ok, detail in outcomes:
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}")
    passed = sum(ok for _, ok, _ in outcomes)
    print(f"GPU suite on {probe.device_name()}: {passed} passed, "
          f"{len(outcomes) - passed} failed")
    return passed == len(outcomes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["prepare", "run"])
    parser.add_argument("directory")
    parser.add_argument("--sanitize", action="store_true",
                        help="numpy path only (for compute-sanitizer)")
    parser.add_argument("--only", help="comma-separated library names")
    parser.add_argument("--seeded-inputs", choices=["true", "false"],
                        default="true",
                        help="prepare: write the inputs of the libraries "
                             "whose cases come from seeds (false: `run` "
                             "makes them again, checked against a digest)")
    parser.add_argument("--keep-sources", action="store_true",
                        help="prepare: keep the .mlir sources beside the "
                             "libraries")
    args = parser.parse_args()
    if args.step == "prepare":
        manifest = prepare(args.directory, args.keep_sources, args.only,
                           args.seeded_inputs == "true")
        print(f"prepared {len(manifest)} libraries in {args.directory}")
        return 0
    ok = run(args.directory, args.sanitize, args.only)
    return 0 if ok in (True, None) else 1


if __name__ == "__main__":
    sys.exit(main())
