"""Programs that --tesa-form-kernel-regions groups into tesa.kernel regions.

`region_cases()` returns a list of cases, each a dict with

  name       the function's name
  mlir       the text of one `func.func @<name>(...) -> tensor<...>`
  inputs     its arguments: float32 arrays, standard normal, a fixed seed
             per case
  reference  its result in float64, computed from `inputs` with numpy
  reference_of  the function that computes it (from the inputs as float64)
  regions    the regions the pass is meant to form, in order: (kind, the
             number of ops inside) with kind "contraction",
             "row_reduction" or "attention"
  tile       the output tile (M, N) --tesa-choose-tile-configs=chip=sm_90
             is meant to give each contraction region, or the queries and
             keys of an attention region's steps (None for a row_reduction
             region); or a list of them, one per such region in order
  plain_mlir (optional) the function without encodings, for the CPU
             oracle when the case's arguments carry them
  tolerance  the bound on the relative error (Frobenius norm) of a float32
             result: 1e-5, more only where float32 summation alone exceeds
             it (a softmax of 9000 columns summed in order, as the generic
             path does, is off by about 1.1e-5)

The MLIR is written the way importers emit it (see python/tesa/models.py and
examples/bert_layer.mlir): linalg.matmul / batch_matmul into a linalg.fill of
zero (or a bias broadcast by a linalg.generic, as
--tesa-fold-bias-into-accumulator writes it), bias and activations as
linalg.generic, heads moved with linalg.transpose, linalg.add, and
linalg.softmax. Most sizes are not multiples of 32, 64 or 128.

Used by python/tests/test_kernel_regions_cpu.py (the CPU pipeline, after
forming and inlining the regions) and by suite.py's `regions` library (the
GPU, regions compiled as kernels).
"""

import math
import zlib

import numpy as np

SQRT_HALF = 0.70710678


def _t(shape):
    return "tensor<" + "x".join(str(d) for d in shape) + "xf32>"


def _rng(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def _normal(rng, *shapes):
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def _case(name, mlir, inputs, reference_of, regions, tile, tolerance=1e-5):
    def of(arrays):
        return np.asarray(reference_of(*[np.asarray(a, np.float64)
                                         for a in arrays]), np.float64)
    return dict(name=name, mlir=mlir, inputs=inputs, reference=of(inputs),
                reference_of=of, regions=regions, tile=tile,
                tolerance=tolerance)


def _erf(values):
    return np.vectorize(math.erf)(values)


def tile_for(batch, m, n, k=None, processors=132):
    """The output tile --tesa-choose-tile-configs gives a contraction on
    the H200 (132 multiprocessors): 64x64 if there are at least as many
    such tiles as multiprocessors, or if the output is at least 64 x 64
    and the reduction (`k`, long unless given) at least eight steps of 8
    (fewer tiles then split K); else 32x32."""
    splits = k is None or -(-k // 8) // 4 >= 2
    if batch * -(-m // 64) * -(-n // 64) >= processors or (
            m >= 64 and n >= 64 and splits):
        return (64, 64)
    return (32, 32)


# --- a) bias + GELU epilogue ----------------------------------------------

def matmul_bias_gelu(name="matmul_bias_gelu", m=70, k=90, n=50):
    """x @ w into a zero fill, then bias (broadcast along rows) and GELU (erf
    form) in one linalg.generic."""
    x, w, b = _normal(_rng(name), (m, k), (k, n), (n,))
    mlir = f"""func.func @{name}(%x: {_t((m, k))}, %w: {_t((k, n))}, %b: {_t((n,))}) -> {_t((m, n))} {{
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : {_t((m, n))}
  %z = linalg.fill ins(%zero : f32) outs(%e0 : {_t((m, n))}) -> {_t((m, n))}
  %mm = linalg.matmul ins(%x, %w : {_t((m, k))}, {_t((k, n))}) outs(%z : {_t((m, n))}) -> {_t((m, n))}
  %e1 = tensor.empty() : {_t((m, n))}
  %act = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}} ins(%mm, %b : {_t((m, n))}, {_t((n,))}) outs(%e1 : {_t((m, n))}) {{
  ^bb0(%a: f32, %bias: f32, %unused: f32):
    %s = arith.addf %a, %bias : f32
    %c = arith.constant {SQRT_HALF} : f32
    %h = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %u = arith.mulf %s, %c : f32
    %erf = math.erf %u : f32
    %p = arith.addf %erf, %one : f32
    %q = arith.mulf %s, %h : f32
    %r = arith.mulf %q, %p : f32
    linalg.yield %r : f32
  }} -> {_t((m, n))}
  return %act : {_t((m, n))}
}}
"""
    def reference(x, w, b):
        v = x @ w + b
        return 0.5 * v * (1 + _erf(v * np.float64(np.float32(SQRT_HALF))))
    return _case(name, mlir, [x, w, b], reference,
                 [("contraction", 2)], tile_for(1, m, n))


def _sparse_operand(case, index, grid, keep):
    """matmul_bias_gelu's `case` with operand `index` (0: x, 1: w) declared
    with the map `grid` (a 2-D list) and its elements outside `keep` (a mask
    broadcast to it) zeroed; the dense program stays as `plain_mlir` for the
    host oracle, which computes the same product densely."""
    x_shape, w_shape = case["inputs"][0].shape, case["inputs"][1].shape
    shape = (x_shape, w_shape)[index]
    rows = ", ".join("[" + ", ".join(str(int(v)) for v in row) + "]"
                     for row in grid)
    grid_shape = "x".join(map(str, (len(grid), len(grid[0]))))
    encoding = (f"#tesa.sparsity<map = dense<[{rows}]> : "
                f"tensor<{grid_shape}xi8>>")
    types = [_t(x_shape), _t(w_shape)]
    plain = f"ins(%x, %w : {types[0]}, {types[1]})"
    types[index] = f"tensor<{shape[0]}x{shape[1]}xf32, {encoding}>"
    argument = ("%x", "%w")[index]
    case["plain_mlir"] = case["mlir"]
    case["mlir"] = case["mlir"] \
        .replace(f"{argument}: {_t(shape)}", f"{argument}: {types[index]}") \
        .replace(plain, f"ins(%x, %w : {types[0]}, {types[1]})")
    case["inputs"][index] = np.where(keep, case["inputs"][index], 0) \
        .astype(np.float32)
    case["reference"] = case["reference_of"](case["inputs"])
    return case


def block_sparse_gelu(name="block_sparse_gelu", m=70, k=96, n=128, bits=32):
    """matmul_bias_gelu with w pruned in 32x32 blocks (half of them kept at
    `bits`, the element type's own precision): decomposed on the GPU into a
    block part that the contraction family computes over its kept blocks,
    the bias in its accumulator and GELU as its epilogue. Pruned elements
    are zero in the input."""
    case = matmul_bias_gelu(name, m, k, n)
    rng = _rng(name + "_mask")
    grid = (rng.random((k // 32, n // 32)) < 0.5).astype(np.int8) * bits
    grid[0, 0] = bits
    keep = np.kron(grid > 0, np.ones((32, 32), dtype=bool))
    return _sparse_operand(case, 1, grid.tolist(), keep)


def structured_gelu(name, m, k, n):
    """matmul_bias_gelu with w 2:4 along the reduction (two of every four
    consecutive elements of each column kept, at random positions): in an
    f16 program a structured part on sparse tensor cores, the bias in its
    accumulator and GELU as its epilogue."""
    case = matmul_bias_gelu(name, m, k, n)
    ranks = _rng(name + "_mask").random((k // 4, 4, n)).argsort(1).argsort(1)
    keep = (ranks < 2).reshape(k, n)
    return _sparse_operand(case, 1, (keep * 16).astype(np.int8).tolist(),
                           keep)


def fine_sparse_gelu(name="fine_sparse_gelu", m=16, k=512, n=128, kept=0.01,
                     bits=32):
    """matmul_bias_gelu with w pruned element by element (a fraction `kept`
    kept at `bits`, and the first four reduction elements of every column,
    so that no block is 2:4): in an f16 program of few rows (a decode step)
    and a weight this sparse, one fine-grained part on the SIMT kernel,
    which reads the f16 operands as they are, with the bias and GELU
    applied as it writes."""
    case = matmul_bias_gelu(name, m, k, n)
    keep = _rng(name + "_mask").random((k, n)) < kept
    keep[:4, :] = True
    grid = keep.astype(np.int8) * bits
    return _sparse_operand(case, 1, grid.tolist(), keep)


def widened_block_sparse_gelu(name="widened_block_sparse_gelu", m=70, k=96,
                              n=128, element="f16"):
    """block_sparse_gelu as torch-mlir writes an f16 Linear: f16 x and the
    weight wt (n x k, half of its 32x32 blocks kept at 16 bits), the weight
    transposed by a `linalg.transpose`, both operands widened to f32 by
    `arith.extf` generics, the product, bias and GELU in f32. The GPU
    pipeline folds the widenings, so the product is an f16 kept-block part
    on tensor cores accumulating in f32, which reads wt where it is. With
    `element` f32, the same without widenings: an f32 kept-block part on
    FMA tiles reading wt where it is."""
    rng = _rng(name)
    dtype = np.float16 if element == "f16" else np.float32
    x, wt = [a.astype(dtype) for a in _normal(rng, (m, k), (n, k))]
    (b,) = _normal(rng, (n,))
    grid = (rng.random((n // 32, k // 32)) < 0.5).astype(np.int8) * 16
    grid[0, 0] = 16
    bits = 16 if element == "f16" else 32
    grid = grid // 16 * bits
    wt = np.where(np.kron(grid > 0, np.ones((32, 32), dtype=bool)), wt, 0) \
        .astype(dtype)

    def encoding(g):
        rows = ", ".join("[" + ", ".join(str(v) for v in row) + "]"
                         for row in g)
        return (f", #tesa.sparsity<map = dense<[{rows}]> : "
                f"tensor<{g.shape[0]}x{g.shape[1]}xi8>>")
    case = matmul_bias_gelu(name, m, k, n)

    def widen(value, shape, encoding=""):
        f16 = f"tensor<{shape[0]}x{shape[1]}x{element}{encoding}>"
        f32 = _t(shape)
        if element == "f32":
            return ""
        return f"""  %{value}e = tensor.empty() : {f32}
  %{value} = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}} ins(%{value}16 : {f16}) outs(%{value}e : {f32}) {{
  ^bb0(%h: f16, %o: f32):
    %v = arith.extf %h : f16 to f32
    linalg.yield %v : f32
  }} -> {f32}
"""

    def text(wt_encoding, w_encoding):
        head, body = case["mlir"].split(" {\n", 1)
        # f32: no widenings, the transpose writes %w itself.
        x, w = ("%x16", "%w16") if element == "f16" else ("%x", "%w")
        head = head.replace(f"%x: {_t((m, k))}",
                            f"{x}: tensor<{m}x{k}x{element}>") \
            .replace(f"%w: {_t((k, n))}",
                     f"%wt: tensor<{n}x{k}x{element}{wt_encoding}>")
        w16 = f"tensor<{k}x{n}x{element}{w_encoding}>"
        transpose = (f"  {w}e = tensor.empty() : {w16}\n"
                     f"  {w} = linalg.transpose ins(%wt : tensor<{n}x{k}x"
                     f"{element}{wt_encoding}>) outs({w}e : {w16}) "
                     f"permutation = [1, 0]\n")
        if element == "f32":
            body = body.replace(f"ins(%x, %w : {_t((m, k))}, {_t((k, n))})",
                                f"ins(%x, %w : {_t((m, k))}, {w16})")
        return (head + " {\n" + widen("x", (m, k)) + transpose +
                widen("w", (k, n), w_encoding) + body)

    def reference(x, wt, b):
        v = x @ wt.T + b
        return 0.5 * v * (1 + _erf(v * np.float64(np.float32(SQRT_HALF))))
    result = _case(name, text(encoding(grid), encoding(grid.T)), [x, wt, b],
                   reference, [("contraction", 2)],
                   wgmma_tile_for(1, m, n) if element == "f16"
                   else tile_for(1, m, n), tolerance=2e-5)
    result["plain_mlir"] = text("", "")
    return result


def sparse_lhs_columns(name, m, k, n, width, kept):
    """matmul_bias_gelu with x's columns dead in runs of `width` (`kept`: one
    flag a run), as an activation whose channels are pruned: x's map is
    1 x (k / width). Decomposed into a part of a sparse lhs that the
    contraction family computes over the kept K only (kept slabs for runs of
    32, gathered K for single columns), bias and GELU in its epilogue. Dead
    elements are zero in the input."""
    case = matmul_bias_gelu(name, m, k, n)
    runs = [32 if flag else 0 for flag in kept]
    keep = np.repeat(np.array(runs) > 0, width)[None, :]
    return _sparse_operand(case, 0, [runs], keep)


def block_sparse_lhs(name="block_sparse_lhs", m=70, k=96, n=128):
    """The first and last of x's three slabs of 32 columns kept."""
    return sparse_lhs_columns(name, m, k, n, 32, [1, 0, 1])


def channel_sparse_lhs(name="channel_sparse_lhs", m=70, k=96, n=128):
    """About half of x's columns kept, one by one."""
    kept = _rng(name + "_mask").random(k) < 0.5
    kept[0] = True
    return sparse_lhs_columns(name, m, k, n, 1, kept)


def channel_sparse_rhs_rows(name="channel_sparse_rhs_rows", m=70, k=96,
                            n=128):
    """matmul_bias_gelu with about half of w's rows (K) pruned one by one:
    the part walks the kept K only (gathered), every column kept."""
    case = matmul_bias_gelu(name, m, k, n)
    kept = _rng(name + "_mask").random(k) < 0.5
    kept[0] = True
    return _sparse_operand(case, 1, [[32 if flag else 0] for flag in kept],
                           kept[:, None])


def block_sparse_siblings(name="block_sparse_siblings", m=64, k=96, n=128,
                          bits=32):
    """Two block-pruned projections of one input (half of their 32x32
    blocks kept at `bits`), q = x @ wq and k = x @ wk, then q @ k^T: the
    two kept-block parts read the same dense operand, so they run as one
    launch (their blocks side by side); the scores are a contraction
    region."""
    rng = _rng(name)
    x, wq, wk = _normal(rng, (m, k), (k, n), (k, n))
    encodings, weights = [], []
    for i, w in enumerate((wq, wk)):
        grid = (rng.random((k // 32, n // 32)) < 0.5).astype(np.int8) * bits
        grid[0, 0] = bits
        rows = ", ".join("[" + ", ".join(str(v) for v in row) + "]"
                         for row in grid)
        encodings.append(f"#tesa.sparsity<map = dense<[{rows}]> : "
                         f"tensor<{k // 32}x{n // 32}xi8>>")
        keep = np.kron(grid > 0, np.ones((32, 32), dtype=bool))
        weights.append(np.where(keep, w, 0).astype(np.float32))

    def text(wq_type, wk_type):
        return f"""func.func @{name}(%x: {_t((m, k))}, %wq: {wq_type}, %wk: {wk_type}) -> {_t((m, m))} {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : {_t((m, n))}
  %z = linalg.fill ins(%zero : f32) outs(%e : {_t((m, n))}) -> {_t((m, n))}
  %q = linalg.matmul ins(%x, %wq : {_t((m, k))}, {wq_type}) outs(%z : {_t((m, n))}) -> {_t((m, n))}
  %kp = linalg.matmul ins(%x, %wk : {_t((m, k))}, {wk_type}) outs(%z : {_t((m, n))}) -> {_t((m, n))}
  %et = tensor.empty() : {_t((n, m))}
  %kt = linalg.transpose ins(%kp : {_t((m, n))}) outs(%et : {_t((n, m))}) permutation = [1, 0]
  %es = tensor.empty() : {_t((m, m))}
  %zs = linalg.fill ins(%zero : f32) outs(%es : {_t((m, m))}) -> {_t((m, m))}
  %s = linalg.matmul ins(%q, %kt : {_t((m, n))}, {_t((n, m))}) outs(%zs : {_t((m, m))}) -> {_t((m, m))}
  return %s : {_t((m, m))}
}}
"""
    def reference(x, wq, wk):
        return (x @ wq) @ (x @ wk).T
    case = _case(name, text(*[f"tensor<{k}x{n}xf32, {e}>" for e in encodings]),
                 [x, *weights], reference,
                 [("contraction", 1), ("contraction", 2), ("contraction", 1)],
                 tile_for(1, m, m))
    case["plain_mlir"] = text(_t((k, n)), _t((k, n)))
    return case


# --- b) bias in the accumulator, residual add -----------------------------

def matmul_bias_accumulator_residual(name="matmul_bias_acc_residual", m=33,
                                     k=64, n=65):
    """x @ w into the bias broadcast by a linalg.generic (what
    --tesa-fold-bias-into-accumulator writes), then + r by linalg.add."""
    x, w, b, r = _normal(_rng(name), (m, k), (k, n), (n,), (m, n))
    mlir = f"""func.func @{name}(%x: {_t((m, k))}, %w: {_t((k, n))}, %b: {_t((n,))}, %r: {_t((m, n))}) -> {_t((m, n))} {{
  %e0 = tensor.empty() : {_t((m, n))}
  %acc = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}} ins(%b : {_t((n,))}) outs(%e0 : {_t((m, n))}) {{
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }} -> {_t((m, n))}
  %mm = linalg.matmul ins(%x, %w : {_t((m, k))}, {_t((k, n))}) outs(%acc : {_t((m, n))}) -> {_t((m, n))}
  %e1 = tensor.empty() : {_t((m, n))}
  %sum = linalg.add ins(%r, %mm : {_t((m, n))}, {_t((m, n))}) outs(%e1 : {_t((m, n))}) -> {_t((m, n))}
  return %sum : {_t((m, n))}
}}
"""
    def reference(x, w, b, r):
        return r + (x @ w + b)
    return _case(name, mlir, [x, w, b, r], reference,
                 [("contraction", 2)], tile_for(1, m, n))


# --- c) attention scores ----------------------------------------------------

def attention_scores(name="attention_scores", s=77, h=3, d=40):
    """q [s,h,d] -> [h,s,d] and k [s,h,d] -> [h,d,s] by linalg.transpose,
    batch_matmul into a zero fill, then a scaling linalg.generic."""
    q, k = _normal(_rng(name), (s, h, d), (s, h, d))
    scale = 1.0 / math.sqrt(d)
    out = (h, s, s)
    mlir = f"""func.func @{name}(%q: {_t((s, h, d))}, %k: {_t((s, h, d))}) -> {_t(out)} {{
  %zero = arith.constant 0.0 : f32
  %eq = tensor.empty() : {_t((h, s, d))}
  %qt = linalg.transpose ins(%q : {_t((s, h, d))}) outs(%eq : {_t((h, s, d))}) permutation = [1, 0, 2]
  %ek = tensor.empty() : {_t((h, d, s))}
  %kt = linalg.transpose ins(%k : {_t((s, h, d))}) outs(%ek : {_t((h, d, s))}) permutation = [1, 2, 0]
  %e0 = tensor.empty() : {_t(out)}
  %z = linalg.fill ins(%zero : f32) outs(%e0 : {_t(out)}) -> {_t(out)}
  %bmm = linalg.batch_matmul ins(%qt, %kt : {_t((h, s, d))}, {_t((h, d, s))}) outs(%z : {_t(out)}) -> {_t(out)}
  %e1 = tensor.empty() : {_t(out)}
  %scaled = linalg.generic {{indexing_maps = [affine_map<(h, i, j) -> (h, i, j)>, affine_map<(h, i, j) -> (h, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]}} ins(%bmm : {_t(out)}) outs(%e1 : {_t(out)}) {{
  ^bb0(%a: f32, %unused: f32):
    %c = arith.constant {scale:.8e} : f32
    %r = arith.mulf %a, %c : f32
    linalg.yield %r : f32
  }} -> {_t(out)}
  return %scaled : {_t(out)}
}}
"""
    def reference(q, k):
        return (q.transpose(1, 0, 2) @ k.transpose(1, 2, 0)) * \
            np.float64(np.float32(scale))
    return _case(name, mlir, [q, k], reference,
                 [("contraction", 2)], tile_for(h, s, s, d))


# --- d) attention context ---------------------------------------------------

def attention_context(name="attention_context", s=77, h=3, d=40):
    """probs [h,s,s] @ (v [s,h,d] transposed to [h,s,d]) by batch_matmul,
    the result transposed to [s,h,d] by linalg.transpose and collapsed to
    [s, h*d]."""
    probs, v = _normal(_rng(name), (h, s, s), (s, h, d))
    mlir = f"""func.func @{name}(%probs: {_t((h, s, s))}, %v: {_t((s, h, d))}) -> {_t((s, h * d))} {{
  %zero = arith.constant 0.0 : f32
  %ev = tensor.empty() : {_t((h, s, d))}
  %vt = linalg.transpose ins(%v : {_t((s, h, d))}) outs(%ev : {_t((h, s, d))}) permutation = [1, 0, 2]
  %e0 = tensor.empty() : {_t((h, s, d))}
  %z = linalg.fill ins(%zero : f32) outs(%e0 : {_t((h, s, d))}) -> {_t((h, s, d))}
  %bmm = linalg.batch_matmul ins(%probs, %vt : {_t((h, s, s))}, {_t((h, s, d))}) outs(%z : {_t((h, s, d))}) -> {_t((h, s, d))}
  %e1 = tensor.empty() : {_t((s, h, d))}
  %ct = linalg.transpose ins(%bmm : {_t((h, s, d))}) outs(%e1 : {_t((s, h, d))}) permutation = [1, 0, 2]
  %flat = tensor.collapse_shape %ct [[0], [1, 2]] : {_t((s, h, d))} into {_t((s, h * d))}
  return %flat : {_t((s, h * d))}
}}
"""
    def reference(probs, v):
        context = probs @ v.transpose(1, 0, 2)
        return context.transpose(1, 0, 2).reshape(s, h * d)
    return _case(name, mlir, [probs, v], reference,
                 [("contraction", 2)], tile_for(h, s, d))


# --- d') attention ------------------------------------------------------------

def attention(name="attention", s=77, h=3, d=40, dv=None, mask=False):
    """Q, K, V [s,h,d] with their heads split by linalg.transpose as
    models.py's BERT does, scores by batch_matmul into a zero fill, scaled
    (and with `mask`, an additive [s,s] mask broadcast over the heads),
    linalg.softmax over the keys, context by batch_matmul, transposed back
    to [s,h,dv] and collapsed. Three regions; one attention region where
    --tesa-form-attention-regions merges them (on sm_90, f16, or f32 with
    a context a multiple of 16 wide: see attention_f32). `mask="min_row"`:
    the mask's second row is finfo(f32).min, query 1's scores all equal
    that (its probabilities uniform)."""
    dv = dv or d
    rng = _rng(name)
    q, k = _normal(rng, (s, h, d), (s, h, d))
    (v,) = _normal(rng, (s, h, dv))
    masks = _normal(rng, (s, s)) if mask else []
    if mask == "min_row":
        masks[0][1, :] = np.finfo(np.float32).min
    scale = 1.0 / math.sqrt(d)
    sc = (h, s, s)
    mask_argument = f", %mask: {_t((s, s))}" if mask else ""
    mask_ops = f"""
  %e2 = tensor.empty() : {_t(sc)}
  %masked = linalg.generic {{indexing_maps = [affine_map<(h, i, j) -> (h, i, j)>, affine_map<(h, i, j) -> (i, j)>, affine_map<(h, i, j) -> (h, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]}} ins(%scaled, %mask : {_t(sc)}, {_t((s, s))}) outs(%e2 : {_t(sc)}) {{
  ^bb0(%a: f32, %m: f32, %unused: f32):
    %r = arith.addf %a, %m : f32
    linalg.yield %r : f32
  }} -> {_t(sc)}""" if mask else ""
    probs_input = "%masked" if mask else "%scaled"
    mlir = f"""func.func @{name}(%q: {_t((s, h, d))}, %k: {_t((s, h, d))}, %v: {_t((s, h, dv))}{mask_argument}) -> {_t((s, h * dv))} {{
  %zero = arith.constant 0.0 : f32
  %eq = tensor.empty() : {_t((h, s, d))}
  %qt = linalg.transpose ins(%q : {_t((s, h, d))}) outs(%eq : {_t((h, s, d))}) permutation = [1, 0, 2]
  %ek = tensor.empty() : {_t((h, d, s))}
  %kt = linalg.transpose ins(%k : {_t((s, h, d))}) outs(%ek : {_t((h, d, s))}) permutation = [1, 2, 0]
  %ev = tensor.empty() : {_t((h, s, dv))}
  %vt = linalg.transpose ins(%v : {_t((s, h, dv))}) outs(%ev : {_t((h, s, dv))}) permutation = [1, 0, 2]
  %e0 = tensor.empty() : {_t(sc)}
  %z = linalg.fill ins(%zero : f32) outs(%e0 : {_t(sc)}) -> {_t(sc)}
  %bmm = linalg.batch_matmul ins(%qt, %kt : {_t((h, s, d))}, {_t((h, d, s))}) outs(%z : {_t(sc)}) -> {_t(sc)}
  %e1 = tensor.empty() : {_t(sc)}
  %scaled = linalg.generic {{indexing_maps = [affine_map<(h, i, j) -> (h, i, j)>, affine_map<(h, i, j) -> (h, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]}} ins(%bmm : {_t(sc)}) outs(%e1 : {_t(sc)}) {{
  ^bb0(%a: f32, %unused: f32):
    %c = arith.constant {scale:.8e} : f32
    %r = arith.mulf %a, %c : f32
    linalg.yield %r : f32
  }} -> {_t(sc)}{mask_ops}
  %es = tensor.empty() : {_t(sc)}
  %probs = linalg.softmax dimension(2) ins({probs_input} : {_t(sc)}) outs(%es : {_t(sc)}) -> {_t(sc)}
  %ec = tensor.empty() : {_t((h, s, dv))}
  %zc = linalg.fill ins(%zero : f32) outs(%ec : {_t((h, s, dv))}) -> {_t((h, s, dv))}
  %ctx = linalg.batch_matmul ins(%probs, %vt : {_t(sc)}, {_t((h, s, dv))}) outs(%zc : {_t((h, s, dv))}) -> {_t((h, s, dv))}
  %et = tensor.empty() : {_t((s, h, dv))}
  %ct = linalg.transpose ins(%ctx : {_t((h, s, dv))}) outs(%et : {_t((s, h, dv))}) permutation = [1, 0, 2]
  %flat = tensor.collapse_shape %ct [[0], [1, 2]] : {_t((s, h, dv))} into {_t((s, h * dv))}
  return %flat : {_t((s, h * dv))}
}}
"""
    def reference(q, k, v, *mask_values):
        scores = (q.transpose(1, 0, 2) @ k.transpose(1, 2, 0)) * \
            np.float64(np.float32(scale))
        if mask_values:
            scores = scores + mask_values[0]
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs = e / e.sum(axis=-1, keepdims=True)
        context = probs @ v.transpose(1, 0, 2)
        return context.transpose(1, 0, 2).reshape(s, h * dv)
    # The scaling and the mask, fused into one step by
    # --tesa-fuse-elementwise-chains.
    score_ops = 2
    return _case(name, mlir, [q, k, v, *masks], reference,
                 [("contraction", score_ops), ("row_reduction", 4),
                  ("contraction", 2)], tile_for(h, s, s, d),
                 tolerance=max(1e-5, 4 * math.sqrt(s) * 2.0 ** -24))


def attention_tile_for(queries, heads, processors=132):
    """The attention tile ChooseTileConfigs picks on the H200: 128 keys a
    step, 64 queries a block unless that leaves more than half of the
    multiprocessors without a block, then 32."""
    blocks = heads * -(-queries // 64)
    return (64 if 2 * blocks >= processors else 32, 128)


def fma_attention_tile_for(queries, heads, processors=132):
    """The f32 attention tile ChooseTileConfigs picks on the H200: 64
    queries a block and 128 keys a step (two splits) if the blocks are at
    least half as many as the multiprocessors, else 32 and 128, else 16
    and 64."""
    for tile_queries, keys in ((64, 128), (32, 128)):
        if 2 * heads * -(-queries // tile_queries) >= processors:
            return (tile_queries, keys)
    return (16, 64)


def attention_f32(name, s, h, d, dv=None, mask=False):
    """An f32 attention case whose head sizes the exact-f32 attention
    kernel takes (Q and K a multiple of 4 wide, V of 16): one attention
    region."""
    case = attention(name, s, h, d, dv, mask)
    case["regions"] = [("attention", sum(n for _, n in case["regions"]))]
    case["tile"] = fma_attention_tile_for(s, h)
    return case


def as_attention_f16(case, name, reduction):
    """An f16 attention case, formed into one attention region."""
    queries, heads, _ = case["inputs"][0].shape
    f16 = as_f16(case, name, attention_tile_for(queries, heads), reduction)
    f16["regions"] = [("attention", sum(n for _, n in case["regions"]))]
    return f16


# --- e) transposed left operand ---------------------------------------------

def transposed_lhs(name="transposed_lhs", m=61, k=45, n=83):
    """A stored as [K, M], transposed to [M, K] by linalg.transpose, then
    linalg.matmul with B [K, N] into a zero fill."""
    a, b = _normal(_rng(name), (k, m), (k, n))
    mlir = f"""func.func @{name}(%a: {_t((k, m))}, %b: {_t((k, n))}) -> {_t((m, n))} {{
  %zero = arith.constant 0.0 : f32
  %ea = tensor.empty() : {_t((m, k))}
  %at = linalg.transpose ins(%a : {_t((k, m))}) outs(%ea : {_t((m, k))}) permutation = [1, 0]
  %e0 = tensor.empty() : {_t((m, n))}
  %z = linalg.fill ins(%zero : f32) outs(%e0 : {_t((m, n))}) -> {_t((m, n))}
  %mm = linalg.matmul ins(%at, %b : {_t((m, k))}, {_t((k, n))}) outs(%z : {_t((m, n))}) -> {_t((m, n))}
  return %mm : {_t((m, n))}
}}
"""
    def reference(a, b):
        return a.T @ b
    return _case(name, mlir, [a, b], reference,
                 [("contraction", 1)], tile_for(1, m, n, k))


# --- f) softmax -------------------------------------------------------------

def softmax(name, shape):
    """linalg.softmax along the last dimension."""
    (x,) = _normal(_rng(name), shape)
    x *= 3  # rows whose maximum matters
    last = len(shape) - 1
    mlir = f"""func.func @{name}(%x: {_t(shape)}) -> {_t(shape)} {{
  %e = tensor.empty() : {_t(shape)}
  %y = linalg.softmax dimension({last}) ins(%x : {_t(shape)}) outs(%e : {_t(shape)}) -> {_t(shape)}
  return %y : {_t(shape)}
}}
"""
    def reference(x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    # A float32 sum of n terms in order is off by some sqrt(n) ulps.
    tolerance = max(1e-5, 4 * math.sqrt(shape[-1]) * 2.0 ** -24)
    return _case(name, mlir, [x], reference, [("row_reduction", 4)], None,
                 tolerance)


# --- layer norm -----------------------------------------------------------

def _residual_layer_norm(x, y, gain, shift):
    h = x + y
    mean = h.mean(axis=-1, keepdims=True)
    var = ((h - mean) ** 2).mean(axis=-1, keepdims=True)
    return (h - mean) / np.sqrt(var + 1e-5) * gain + shift


def layer_norm(name, rows, columns):
    """A residual add, then a layer norm over the last dimension, written
    as tesa.models writes it (row sums into zeros, divisions, the centred
    values, the mean of their squares, one generic for the rest): one
    row_reduction region of six ops (the add fused into the op after it)."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "python"))
    from tesa.models import _Builder
    x, y, gamma, beta = _normal(_rng(name), (rows, columns), (rows, columns),
                                (columns,), (columns,))
    shape, vector = (rows, columns), _t((columns,))
    builder = _Builder()
    added = builder.add("%x", "%y", shape)
    out = builder.layer_norm(added, "%gain", vector, "%shift", vector, shape,
                             1e-5)
    body = "\n  ".join(builder.lines)
    mlir = f"""func.func @{name}(%x: {_t(shape)}, %y: {_t(shape)}, %gain: {vector}, %shift: {vector}) -> {_t(shape)} {{
  {body}
  return {out} : {_t(shape)}
}}
"""
    tolerance = max(1e-5, 4 * math.sqrt(columns) * 2.0 ** -24)
    return _case(name, mlir, [x, y, gamma, beta], _residual_layer_norm,
                 [("row_reduction", 6)], None, tolerance)


def torch_layer_norm(name, rows, columns):
    """A residual add, then a layer norm, written as torch-mlir writes
    BERT's: a batch of one, per-row values with the reduced dimension kept
    (1 x rows x 1, read through (d0, d1, 0)), the variance in f64 and the
    mean again in f32: one row_reduction region of 15 generics, 8 once
    --tesa-fuse-elementwise-chains has fused the elementwise chains."""
    x, y, gamma, beta = _normal(_rng(name), (1, rows, columns),
                                (1, rows, columns), (columns,), (columns,))
    whole, kept = (1, rows, columns), (1, rows, 1)
    maps = {"whole": "(d0, d1, d2)", "kept": "(d0, d1, 0)",
            "column": "(d2)"}
    lines, count = [], [0]

    def generic(kind, inputs, out_shape, out_type, body, reduce=False,
                init=None):
        count[0] += 1
        name_ = f"%v{count[0]}"
        if init is None:
            lines.append(f"%e{count[0]} = tensor.empty() : "
                         f"{_t(out_shape)[:-4]}{out_type}>")
            init = f"%e{count[0]}"
        out_t = f"{_t(out_shape)[:-4]}{out_type}>"
        keepdim_rows = out_shape == kept and not reduce
        in_maps = [("(d0, d1, d2)" if keepdim_rows else maps[m])
                   for _, m, _ in inputs]
        out_map = maps["kept"] if reduce else "(d0, d1, d2)"
        iterators = '"parallel", "parallel", ' + (
            '"reduction"' if reduce else '"parallel"')
        all_maps = ", ".join(f"affine_map<(d0, d1, d2) -> {m}>"
                             for m in in_maps + [out_map])
        args = ", ".join(f"%a{i}: {t}" for i, (_, _, t) in
                         enumerate(inputs))
        values = ", ".join(v for v, _, _ in inputs)
        types = ", ".join(
            (f"{_t(whole)[:-4]}{t}>" if m == "whole" else
             f"{_t(kept)[:-4]}{t}>" if m == "kept" else _t((columns,)))
            for _, m, t in inputs)
        lines.append(
            f"{name_} = linalg.generic {{indexing_maps = [{all_maps}], "
            f"iterator_types = [{iterators}]}} ins({values} : {types}) "
            f"outs({init} : {out_t}) {{\n  ^bb0({args}, %out: {out_type}):"
            f"\n    {body}\n  }} -> {out_t}")
        return name_

    def fill(value, element):
        count[0] += 1
        lines.append(f"%c{count[0]} = arith.constant {value} : {element}")
        lines.append(f"%e{count[0]} = tensor.empty() : "
                     f"{_t(kept)[:-4]}{element}>")
        lines.append(f"%f{count[0]} = linalg.fill ins(%c{count[0]} : "
                     f"{element}) outs(%e{count[0]} : "
                     f"{_t(kept)[:-4]}{element}>) -> "
                     f"{_t(kept)[:-4]}{element}>")
        return f"%f{count[0]}"

    n64, n32 = f"{float(columns):e}", f"{float(columns):e}"
    added = generic("add", [("%x", "whole", "f32"), ("%y", "whole", "f32")],
                    whole, "f32", "%r = arith.addf %a0, %a1 : f32\n"
                    "    linalg.yield %r : f32")
    wide = generic("extf", [(added, "whole", "f32")], whole, "f64",
                   "%r = arith.extf %a0 : f32 to f64\n    linalg.yield %r : f64")

    def mean(value, element, n):
        total = generic("sum", [(value, "whole", element)], kept, element,
                        f"%r = arith.addf %a0, %out : {element}\n"
                        f"    linalg.yield %r : {element}", reduce=True,
                        init=fill("0.0", element))
        return generic("div", [(total, "kept", element)], kept, element,
                       f"%n = arith.constant {n} : {element}\n"
                       f"    %r = arith.divf %a0, %n : {element}\n"
                       f"    linalg.yield %r : {element}")
    mean64 = mean(wide, "f64", n64)
    centred = generic("sub", [(wide, "whole", "f64"), (mean64, "kept", "f64")],
                      whole, "f64", "%r = arith.subf %a0, %a1 : f64\n"
                      "    linalg.yield %r : f64")
    square = generic("mul", [(centred, "whole", "f64"),
                             (centred, "whole", "f64")], whole, "f64",
                     "%r = arith.mulf %a0, %a1 : f64\n"
                     "    linalg.yield %r : f64")
    var64 = mean(square, "f64", n64)
    var32 = generic("trunc", [(var64, "kept", "f64")], kept, "f32",
                    "%r = arith.truncf %a0 : f64 to f32\n"
                    "    linalg.yield %r : f32")
    mean32 = mean(added, "f32", n32)
    rstd = generic("rstd", [(var32, "kept", "f32")], kept, "f32",
                   "%eps = arith.constant 1.000000e-05 : f64\n"
                   "    %e = arith.truncf %eps : f64 to f32\n"
                   "    %s = arith.addf %a0, %e : f32\n"
                   "    %r = math.rsqrt %s : f32\n    linalg.yield %r : f32")
    normed = generic("norm", [(added, "whole", "f32"), (mean32, "kept", "f32"),
                              (rstd, "kept", "f32")], whole, "f32",
                     "%d = arith.subf %a0, %a1 : f32\n"
                     "    %r = arith.mulf %d, %a2 : f32\n"
                     "    linalg.yield %r : f32")
    scaled = generic("gain", [(normed, "whole", "f32"),
                              ("%gain", "column", "f32")], whole, "f32",
                     "%r = arith.mulf %a0, %a1 : f32\n"
                     "    linalg.yield %r : f32")
    out = generic("shift", [(scaled, "whole", "f32"),
                            ("%shift", "column", "f32")], whole, "f32",
                  "%r = arith.addf %a0, %a1 : f32\n    linalg.yield %r : f32")
    vector = _t((columns,))
    body = "\n  ".join(lines)
    mlir = f"""func.func @{name}(%x: {_t(whole)}, %y: {_t(whole)}, %gain: {vector}, %shift: {vector}) -> {_t(whole)} {{
  {body}
  return {out} : {_t(whole)}
}}
"""
    tolerance = max(1e-5, 4 * math.sqrt(columns) * 2.0 ** -24)
    return _case(name, mlir, [x, y, gamma, beta], _residual_layer_norm,
                 [("row_reduction", 8)], None, tolerance)


def _torch_safe_softmax(heads, queries, keys, dead_sum=False):
    """torch-mlir's safe softmax of %added (1 x heads x queries x keys, f32)
    into %y, as MLIR lines inside a function that defines %e (an empty
    tensor of that shape) and the constants %ninf, %ninf64, %zero, %zi,
    %true and %zeros (a splat of 0.0 of that shape): the row maximum with
    its index, exp(x - max), the row sum (its fill annotated away from a
    bits = 0 encoding where `dead_sum`, as an export leaves it), the
    division, whether each score is -inf, whether a whole row is, and the
    select of zeros for those rows."""
    s4 = (1, heads, queries, keys)
    rows, kept = (1, heads, queries), (1, heads, queries, 1)
    t, ti64, ti1 = _t(s4), _t(rows)[:-4] + "i64>", _t(s4)[:-4] + "i1>"
    tr, tk, tki1 = _t(rows), _t(kept), _t(kept)[:-4] + "i1>"
    whole = "affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>"
    row = "affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>"
    keep = "affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>"
    par = '"parallel", "parallel", "parallel", "parallel"'
    red = '"parallel", "parallel", "parallel", "reduction"'
    dead = tk[:-1] + ", #tesa.sparsity<bits = 0>>"
    sum_init = (f"""  %ek = tensor.empty() : {dead}
  %si0 = linalg.fill ins(%zero : f32) outs(%ek : {dead}) -> {dead}
  %si = tesa.annotate %si0 : {dead} -> {tk}
""" if dead_sum else f"""  %ek = tensor.empty() : {tk}
  %si = linalg.fill ins(%zero : f32) outs(%ek : {tk}) -> {tk}
""")
    return f"""  %er = tensor.empty() : {tr}
  %mi = linalg.fill ins(%ninf : f32) outs(%er : {tr}) -> {tr}
  %eri = tensor.empty() : {ti64}
  %ii = linalg.fill ins(%zi : i64) outs(%eri : {ti64}) -> {ti64}
  %max:2 = linalg.generic {{indexing_maps = [{whole}, {row}, {row}], iterator_types = [{red}]}} ins(%added : {t}) outs(%mi, %ii : {tr}, {ti64}) {{
  ^bb0(%a: f32, %om: f32, %oi: i64):
    %c = linalg.index 3 : index
    %ci = arith.index_cast %c : index to i64
    %n = arith.maximumf %a, %om : f32
    %gt = arith.cmpf ogt, %a, %om : f32
    %ni = arith.select %gt, %ci, %oi : i64
    linalg.yield %n, %ni : f32, i64
  }} -> ({tr}, {ti64})
  %mk = tensor.expand_shape %max#0 [[0], [1], [2, 3]] output_shape [1, {heads}, {queries}, 1] : {tr} into {tk}
  %d = linalg.generic {{indexing_maps = [{whole}, {keep}, {whole}], iterator_types = [{par}]}} ins(%added, %mk : {t}, {tk}) outs(%e : {t}) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  }} -> {t}
  %x = linalg.generic {{indexing_maps = [{whole}, {whole}], iterator_types = [{par}]}} ins(%d : {t}) outs(%e : {t}) {{
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  }} -> {t}
{sum_init}  %sum = linalg.generic {{indexing_maps = [{whole}, {keep}], iterator_types = [{red}]}} ins(%x : {t}) outs(%si : {tk}) {{
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %o : f32
    linalg.yield %r : f32
  }} -> {tk}
  %p = linalg.generic {{indexing_maps = [{whole}, {keep}, {whole}], iterator_types = [{par}]}} ins(%x, %sum : {t}, {tk}) outs(%e : {t}) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  }} -> {t}
  %eb = tensor.empty() : {ti1}
  %masked = linalg.generic {{indexing_maps = [{whole}, {whole}], iterator_types = [{par}]}} ins(%added : {t}) outs(%eb : {ti1}) {{
  ^bb0(%a: f32, %o: i1):
    %w = arith.extf %a : f32 to f64
    %r = arith.cmpf oeq, %w, %ninf64 : f64
    linalg.yield %r : i1
  }} -> {ti1}
  %ekb = tensor.empty() : {tki1}
  %ai = linalg.fill ins(%true : i1) outs(%ekb : {tki1}) -> {tki1}
  %all = linalg.generic {{indexing_maps = [{whole}, {keep}], iterator_types = [{red}]}} ins(%masked : {ti1}) outs(%ai : {tki1}) {{
  ^bb0(%a: i1, %o: i1):
    %r = arith.andi %a, %o : i1
    linalg.yield %r : i1
  }} -> {tki1}
  %y = linalg.generic {{indexing_maps = [{keep}, {whole}, {whole}, {whole}], iterator_types = [{par}]}} ins(%all, %zeros, %p : {tki1}, {t}, {t}) outs(%e : {t}) {{
  ^bb0(%empty_row: i1, %zero_in: f32, %p_in: f32, %o: f32):
    %r = arith.select %empty_row, %zero_in, %p_in : f32
    linalg.yield %r : f32
  }} -> {t}
"""


def torch_softmax(name, heads, queries, keys):
    """Masked attention probabilities as torch-mlir writes
    nn.TransformerEncoderLayer's and BERT's: the scores plus a mask shared
    by the heads, the row maximum with its index (aten.max.dim), the
    maximum's reduced dimension kept by a tensor.expand_shape, then
    exp(x - max) / sum, and the "safe softmax" that gives zeros to a row
    whose every key is masked (-inf): one row_reduction region of nine ops
    once --tesa-normalize-row-programs drops the index, seven once
    --tesa-fuse-elementwise-chains has fused the elementwise chains."""
    rng = _rng(name)
    scores = rng.standard_normal((1, heads, queries, keys)).astype(np.float32)
    mask = np.where(rng.random((1, 1, queries, keys)) < 0.3, -np.inf,
                    0.0).astype(np.float32)
    mask[0, 0, 1, :] = -np.inf  # a query that sees no key
    s4, m4 = (1, heads, queries, keys), (1, 1, queries, keys)
    t = _t(s4)
    whole = "affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>"
    shared = "affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>"
    par = '"parallel", "parallel", "parallel", "parallel"'
    mlir = f"""func.func @{name}(%s: {t}, %m: {_t(m4)}) -> {t} {{
  %ninf = arith.constant 0xFF800000 : f32
  %ninf64 = arith.constant 0xFFF0000000000000 : f64
  %zero = arith.constant 0.0 : f32
  %zi = arith.constant 0 : i64
  %true = arith.constant true
  %zeros = arith.constant dense<0.0> : {t}
  %e = tensor.empty() : {t}
  %added = linalg.generic {{indexing_maps = [{whole}, {shared}, {whole}], iterator_types = [{par}]}} ins(%s, %m : {t}, {_t(m4)}) outs(%e : {t}) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  }} -> {t}
{_torch_safe_softmax(heads, queries, keys)}  return %y : {t}
}}
"""
    def reference(s, m):
        x = s + m
        top = x.max(axis=-1, keepdims=True)
        safe = np.where(np.isinf(top), 0.0, top)
        e = np.exp(x - safe)
        total = e.sum(axis=-1, keepdims=True)
        return np.where(total > 0, e / np.where(total > 0, total, 1), 0.0)
    return _case(name, mlir, [scores, mask], reference,
                 [("row_reduction", 7)], None)


def torch_attention(name, s, h, d, element="f32", mask_keys=False):
    """A whole attention head as torch-mlir writes BERT's: Q and K in the
    projections' layout (1 x queries x heads x width), each moved to the
    heads' order and scaled by the square root of the scale in one op
    (widened from f16 first in an f16 program), merged with the batch;
    scores by batch_matmul over heads x queries x keys; the rest over
    1 x heads x queries x keys, reading the scores through a map that skips
    the unit batch loop: a boolean mask shared by the heads selected into
    f16 0 or -inf and added (per query: one query sees no key; with
    `mask_keys`, per key as a padding mask is), the safe softmax of
    torch_softmax (rounded to f16 in an f16 program), then the context by
    batch_matmul and the heads' permute back to queries x (heads x width),
    also over the unit batch loop; the scores' and the row sum's fills
    annotated as an export leaves them. One attention region once
    --tesa-drop-unit-batch-loops has put the steps on the products'
    coordinates and the mask add has become a score step."""
    rng = _rng(name)
    el = element
    q, k, v = [np.asarray(a, np.float16 if el == "f16" else np.float32)
               for a in _normal(rng, (1, s, h, d), (1, s, h, d), (h, s, d))]
    keep = rng.random(s) < 0.8
    keep[1] = False  # a masked query (every key of its row) or key
    mask_text = ", ".join("true" if x else "false" for x in keep)
    # Q and K each scaled by the square root of the scale.
    root = float(np.float32(1.0 / math.sqrt(math.sqrt(d))))
    widen = "\n    %w = arith.extf %a : f16 to f32" if el == "f16" else ""
    src = "%w" if el == "f16" else "%a"

    def ty(shape, of=el):
        return "tensor<" + "x".join(str(x) for x in shape) + f"x{of}>"
    sc, s4 = (h, s, s), (1, h, s, s)
    ctx, c4, perm = (h, s, d), (1, h, s, d), (1, s, h, d)
    whole = "affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>"
    skip = "affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>"
    # The mask indexed by the query (rows masked whole) or by the key
    # (padding: every row sees some keys at -inf).
    query = ("affine_map<(d0, d1, d2, d3) -> (d0, 0, d3)>" if mask_keys else
             "affine_map<(d0, d1, d2, d3) -> (d0, 0, d2)>")
    moved = "affine_map<(d0, d1, d2, d3) -> (d0, d2, d1, d3)>"
    keys = "affine_map<(d0, d1, d2, d3) -> (d0, d3, d1, d2)>"
    par = '"parallel", "parallel", "parallel", "parallel"'
    f32 = lambda shape: ty(shape, "f32")
    i1 = lambda shape: ty(shape, "i1")
    # torch-mlir's exported fills carry the encoding of values nothing
    # computes yet, annotated away.
    dead = lambda shape: f32(shape)[:-1] + ", #tesa.sparsity<bits = 0>>"
    rounded = f"""
  %eh = tensor.empty() : {ty(s4)}
  %ph = linalg.generic {{indexing_maps = [{whole}, {whole}], iterator_types = [{par}]}} ins(%y : {f32(s4)}) outs(%eh : {ty(s4)}) {{
  ^bb0(%a: f32, %o: {el}):
    %r = arith.truncf %a : f32 to {el}
    linalg.yield %r : {el}
  }} -> {ty(s4)}""" if el == "f16" else ""
    probs = "%ph" if el == "f16" else "%y"
    convert = (f"%r = arith.truncf %a : f32 to {el}" if el == "f16" else
               "%r = arith.addf %a, %zero : f32")
    mlir = f"""func.func @{name}(%q: {ty((1, s, h, d))}, %k: {ty((1, s, h, d))}, %v: {ty((h, s, d))}) -> {ty((s, h * d))} {{
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %ninf64 = arith.constant 0xFFF0000000000000 : f64
  %zi = arith.constant 0 : i64
  %true = arith.constant true
  %open = arith.constant 0.0 : f16
  %shut = arith.constant 0xFC00 : f16
  %zeros = arith.constant dense<0.0> : {f32(s4)}
  %mask = arith.constant dense<[[[{mask_text}]]]> : {i1((1, 1, s))}
  %e0 = tensor.empty() : {dead(sc)}
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : {dead(sc)}) -> {dead(sc)}
  %zs = tesa.annotate %z0 : {dead(sc)} -> {f32(sc)}
  %eq = tensor.empty() : {f32((1, h, s, d))}
  %qs = linalg.generic {{indexing_maps = [{moved}, {whole}], iterator_types = [{par}]}} ins(%q : {ty((1, s, h, d))}) outs(%eq : {f32((1, h, s, d))}) {{
  ^bb0(%a: {el}, %o: f32):{widen}
    %c = arith.constant {root:.8e} : f32
    %r = arith.mulf {src}, %c : f32
    linalg.yield %r : f32
  }} -> {f32((1, h, s, d))}
  %ekh = tensor.empty() : {f32((1, h, d, s))}
  %ks = linalg.generic {{indexing_maps = [{keys}, {whole}], iterator_types = [{par}]}} ins(%k : {ty((1, s, h, d))}) outs(%ekh : {f32((1, h, d, s))}) {{
  ^bb0(%a: {el}, %o: f32):{widen}
    %c = arith.constant {root:.8e} : f32
    %r = arith.mulf %c, {src} : f32
    linalg.yield %r : f32
  }} -> {f32((1, h, d, s))}
  %qb = tensor.collapse_shape %qs [[0, 1], [2], [3]] : {f32((1, h, s, d))} into {f32((h, s, d))}
  %kb = tensor.collapse_shape %ks [[0, 1], [2], [3]] : {f32((1, h, d, s))} into {f32((h, d, s))}
  %bmm = linalg.batch_matmul ins(%qb, %kb : {f32((h, s, d))}, {f32((h, d, s))}) outs(%zs : {f32(sc)}) -> {f32(sc)}
  %e = tensor.empty() : {f32(s4)}
  %added = linalg.generic {{indexing_maps = [{skip}, {query}, {whole}], iterator_types = [{par}]}} ins(%bmm, %mask : {f32(sc)}, {i1((1, 1, s))}) outs(%e : {f32(s4)}) {{
  ^bb0(%a: f32, %m: i1, %o: f32):
    %b = arith.select %m, %open, %shut : f16
    %w = arith.extf %b : f16 to f32
    %r = arith.addf %a, %w : f32
    linalg.yield %r : f32
  }} -> {f32(s4)}
{_torch_safe_softmax(h, s, s, dead_sum=True)}{rounded}
  %p3 = tensor.collapse_shape {probs} [[0, 1], [2], [3]] : {ty(s4)} into {ty(sc)}
  %ec = tensor.empty() : {f32(ctx)}
  %zc = linalg.fill ins(%zero : f32) outs(%ec : {f32(ctx)}) -> {f32(ctx)}
  %context = linalg.batch_matmul ins(%p3, %v : {ty(sc)}, {ty(ctx)}) outs(%zc : {f32(ctx)}) -> {f32(ctx)}
  %e4 = tensor.empty() : {ty(c4)}
  %c4 = linalg.generic {{indexing_maps = [{skip}, {whole}], iterator_types = [{par}]}} ins(%context : {f32(ctx)}) outs(%e4 : {ty(c4)}) {{
  ^bb0(%a: f32, %o: {el}):
    {convert}
    linalg.yield %r : {el}
  }} -> {ty(c4)}
  %ep = tensor.empty() : {ty(perm)}
  %moved = linalg.transpose ins(%c4 : {ty(c4)}) outs(%ep : {ty(perm)}) permutation = [0, 2, 1, 3]
  %flat = tensor.collapse_shape %moved [[0, 1], [2, 3]] : {ty(perm)} into {ty((s, h * d))}
  return %flat : {ty((s, h * d))}
}}
"""
    def reference(q, k, v):
        qh, kh = q[0].transpose(1, 0, 2), k[0].transpose(1, 0, 2)
        scores = (qh * root) @ (kh * root).transpose(0, 2, 1)
        masked = np.where(keep, 0.0, -np.inf)
        scores = scores + (masked[None, None, :] if mask_keys else
                           masked[None, :, None])
        top = scores.max(axis=-1, keepdims=True)
        e = np.exp(scores - np.where(np.isinf(top), 0.0, top))
        total = e.sum(axis=-1, keepdims=True)
        probs = np.where(total > 0, e / np.where(total > 0, total, 1), 0.0)
        return (probs @ v).transpose(1, 0, 2).reshape(s, h * d)
    if el == "f16":
        tile, tolerance = attention_tile_for(s, h), 2.0 ** -11 * 6
    else:
        tile = fma_attention_tile_for(s, h)
        tolerance = max(1e-5, 4 * math.sqrt(s) * 2.0 ** -24)
    # Scores, the scaled mask add, six softmax steps (the rounding fused
    # into the last in f16), the context, its conversion and the permute.
    return _case(name, mlir, [q, k, v], reference, [("attention", 11)],
                 tile, tolerance=tolerance)


def pointwise_conv(name, n, c, f, hw, element="f32"):
    """A 1x1 convolution over NCHW images into a zero fill (MobileNet-V2's
    expansions and projections as torch-mlir writes them; f16 operands
    accumulate in f32): --tesa-convolutions-as-products makes it a batched
    product over the images whose filter has no batch, one contraction
    region."""
    rng = _rng(name)
    x = rng.standard_normal((n, c, hw, hw)).astype(np.float32)
    w = (rng.standard_normal((f, c, 1, 1)) / math.sqrt(c)).astype(np.float32)
    if element == "f16":
        x, w = x.astype(np.float16), w.astype(np.float16)
    xt = _t((n, c, hw, hw))[:-4] + element + ">"
    wt = _t((f, c, 1, 1))[:-4] + element + ">"
    yt = _t((n, f, hw, hw))
    mlir = f"""func.func @{name}(%x: {xt}, %w: {wt}) -> {yt} {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : {yt}
  %z = linalg.fill ins(%zero : f32) outs(%e : {yt}) -> {yt}
  %y = linalg.conv_2d_nchw_fchw {{dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}} ins(%x, %w : {xt}, {wt}) outs(%z : {yt}) -> {yt}
  return %y : {yt}
}}
"""
    def reference(x, w):
        return np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x)
    # Images whose rows are not 16-byte pieces take mma.sync tiles at any
    # number of filters.
    aligned = (hw * hw) % 8 == 0
    tile = (tile_for(n, f, hw * hw, c) if element == "f32" else
            mma_tile_for(n, f, hw * hw) if f < 64 or not aligned else
            wgmma_tile_for(n, f, hw * hw, rhs_along_n=True))
    return _case(name, mlir, [x, w], reference, [("contraction", 1)], tile,
                 tolerance=1e-5 if element == "f32" else 2e-3)


def convolution_relu6(name, n, c, f, hw, kernel, stride, pad, depthwise,
                      element="f32", dilation=1):
    """A padded 2-D convolution over NCHW images (depthwise, or across the
    channels like MobileNet-V2's first one) into a bias broadcast to every
    pixel, then ReLU6, as torch-mlir writes it: the input padded with zeros
    by tensor.pad, f16 operands accumulating in f32 from the bias widened,
    the result rounded to f16 before the clamps. One convolution region of
    two ops; the pad read as zeros where the window leaves the image."""
    rng = _rng(name)
    x = rng.standard_normal((n, c, hw, hw)).astype(np.float32)
    wshape = (f, 1, kernel, kernel) if depthwise else (f, c, kernel, kernel)
    w = (rng.standard_normal(wshape) /
         math.sqrt(wshape[1] * kernel * kernel)).astype(np.float32)
    bias = rng.standard_normal((f,)).astype(np.float32)
    if element == "f16":
        x, w, bias = (a.astype(np.float16) for a in (x, w, bias))
    def typed(shape, of=element):
        return _t(shape)[:-4] + of + ">"
    padded = hw + 2 * pad
    out = (padded - dilation * (kernel - 1) - 1) // stride + 1
    xt, wt, bt = typed((n, c, hw, hw)), typed(wshape), typed((f,))
    pt = typed((n, c, padded, padded))
    acc, yt = _t((n, f, out, out)), typed((n, f, out, out))
    attrs = (f"{{dilations = dense<{dilation}> : vector<2xi64>, "
             f"strides = dense<{stride}> : vector<2xi64>}}")
    if depthwise:
        ft = typed((c, kernel, kernel))
        filter_ = (f"%filter = tensor.collapse_shape %w [[0, 1], [2], [3]] : "
                   f"{wt} into {ft}")
        conv = (f"%conv = linalg.depthwise_conv_2d_nchw_chw {attrs} "
                f"ins(%padded, %filter : {pt}, {ft}) outs(%acc : {acc}) "
                f"-> {acc}")
    else:
        filter_ = ""
        conv = (f"%conv = linalg.conv_2d_nchw_fchw {attrs} "
                f"ins(%padded, %w : {pt}, {wt}) outs(%acc : {acc}) -> {acc}")
    if element == "f16":
        widen = f"""%ef = tensor.empty() : {_t((f,))}
  %wide = linalg.generic {{indexing_maps = [affine_map<(c) -> (c)>, affine_map<(c) -> (c)>], iterator_types = ["parallel"]}} ins(%bias : {bt}) outs(%ef : {_t((f,))}) {{
  ^bb0(%in: f16, %o: f32):
    %v = arith.extf %in : f16 to f32
    linalg.yield %v : f32
  }} -> {_t((f,))}"""
        round_ = "%t = arith.truncf %in : f32 to f16"
    else:
        widen = f"%wide = tensor.empty() : {_t((f,))}"
        round_ = "%t = arith.addf %in, %z32 : f32"
    id4 = "affine_map<(a, b, c, d) -> (a, b, c, d)>"
    mlir = f"""func.func @{name}(%x: {xt}, %w: {wt}, %bias: {bt}) -> {yt} {{
  %zero = arith.constant 0.0 : {element}
  %six = arith.constant 6.0 : {element}
  %z32 = arith.constant 0.0 : f32
  %padded = tensor.pad %x low[0, 0, {pad}, {pad}] high[0, 0, {pad}, {pad}] {{
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : {element}
  }} : {xt} to {pt}
  {widen}
  %ea = tensor.empty() : {acc}
  %acc = linalg.broadcast ins(%{"wide" if element == "f16" else "bias"} : {_t((f,))}) outs(%ea : {acc}) dimensions = [0, 2, 3]
  {filter_}
  {conv}
  %ey = tensor.empty() : {yt}
  %y = linalg.generic {{indexing_maps = [{id4}, {id4}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}} ins(%conv : {acc}) outs(%ey : {yt}) {{
  ^bb0(%in: f32, %o: {element}):
    {round_}
    %above = arith.cmpf ogt, %t, %zero : {element}
    %low = arith.select %above, %t, %zero : {element}
    %below = arith.cmpf olt, %low, %six : {element}
    %high = arith.select %below, %low, %six : {element}
    linalg.yield %high : {element}
  }} -> {yt}
  return %y : {yt}
}}
"""
    if element != "f16":
        mlir = mlir.replace(f"  %wide = tensor.empty() : {_t((f,))}\n", "")

    def reference(x, w, bias):
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        y = np.zeros((n, f, out, out)) + bias[None, :, None, None]
        for kh in range(kernel):
            for kw in range(kernel):
                window = xp[:, :, kh * dilation::stride, kw * dilation::stride]
                window = window[:, :, :out, :out]
                if depthwise:
                    y += window * w[None, :, 0, kh, kw, None, None]
                else:
                    y += np.einsum("nchw,fc->nfhw", window, w[:, :, kh, kw])
        return np.clip(y, 0.0, 6.0)
    return _case(name, mlir, [x, w, bias], reference,
                 [("convolution", 2)], None,
                 tolerance=1e-5 if element == "f32" else 2e-3)


# --- g, h) plain batched and unbatched products ---------------------------

def batch_matmul(name, batch, m, k, n):
    """linalg.batch_matmul into a zero fill, nothing else."""
    a, b = _normal(_rng(name), (batch, m, k), (batch, k, n))
    out = (batch, m, n)
    mlir = f"""func.func @{name}(%a: {_t((batch, m, k))}, %b: {_t((batch, k, n))}) -> {_t(out)} {{
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : {_t(out)}
  %z = linalg.fill ins(%zero : f32) outs(%e0 : {_t(out)}) -> {_t(out)}
  %bmm = linalg.batch_matmul ins(%a, %b : {_t((batch, m, k))}, {_t((batch, k, n))}) outs(%z : {_t(out)}) -> {_t(out)}
  return %bmm : {_t(out)}
}}
"""
    def reference(a, b):
        return a @ b
    return _case(name, mlir, [a, b], reference,
                 [("contraction", 1)], tile_for(batch, m, n, k))


def matmul(name, m, k, n):
    """linalg.matmul into a zero fill, nothing else."""
    a, b = _normal(_rng(name), (m, k), (k, n))
    mlir = f"""func.func @{name}(%a: {_t((m, k))}, %b: {_t((k, n))}) -> {_t((m, n))} {{
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : {_t((m, n))}
  %z = linalg.fill ins(%zero : f32) outs(%e0 : {_t((m, n))}) -> {_t((m, n))}
  %mm = linalg.matmul ins(%a, %b : {_t((m, k))}, {_t((k, n))}) outs(%z : {_t((m, n))}) -> {_t((m, n))}
  return %mm : {_t((m, n))}
}}
"""
    def reference(a, b):
        return a @ b
    return _case(name, mlir, [a, b], reference,
                 [("contraction", 1)], tile_for(1, m, n, k))


# --- i) f16 programs ---------------------------------------------------------

def mma_tile_for(batch, m, n, processors=132):
    """The output tile --tesa-choose-tile-configs gives a contraction of
    f16 operands whose copies fit the tensor-core tiles on the H200, by its
    size rule (products in its measured table excepted): of 128x128,
    128x64, 64x64, 64x32, 32x128 and 16x128, those with two tiles for every
    multiprocessor (else those with the most tiles), and of them the first
    that pads the outputs least."""
    tiles = ((128, 128), (128, 64), (64, 64), (64, 32), (32, 128), (16, 128))

    def count(tile):
        return batch * -(-m // tile[0]) * -(-n // tile[1])
    wanted = min(2 * processors, max(count(t) for t in tiles))
    fitting = [t for t in tiles if count(t) >= wanted]
    return min(fitting, key=lambda t: count(t) * t[0] * t[1])


def wgmma_tile_for(batch, m, n, processors=132, rhs_along_n=False):
    """The output tile --tesa-choose-tile-configs gives, on the H200, a
    contraction of f16 operands whose lhs is contiguous along K (sm_90's
    wgmma atom, at least 64 rows): of 128x256, 128x128, 64x128, 128x64 and
    64x64 (only the last two for a rhs contiguous along N, `rhs_along_n`),
    those with a tile for every multiprocessor (else those with the most
    tiles), and of them the first that pads the outputs least."""
    tiles = ((128, 256), (128, 128), (64, 128), (128, 64), (64, 64))
    if rhs_along_n:
        tiles = tiles[3:]

    def count(tile):
        return batch * -(-m // tile[0]) * -(-n // tile[1])
    wanted = min(processors, max(count(t) for t in tiles))
    fitting = [t for t in tiles if count(t) >= wanted]
    return min(fitting, key=lambda t: count(t) * t[0] * t[1])


def linear_bias_gelu(name, m, k, n):
    """matmul_bias_gelu as torch-mlir writes a Linear: the weight stored
    [N, K] and transposed by linalg.transpose, so that both operands are
    contiguous along K where the kernel reads them."""
    case = matmul_bias_gelu(name + "_src", m, k, n)
    x, w, b = case["inputs"]
    wt = f"tensor<{k}x{n}xf32>"
    mlir = case["mlir"].replace(f"@{name}_src(", f"@{name}(").replace(
        f"%w: {wt}", f"%w: tensor<{n}x{k}xf32>").replace(
        "  %zero = arith.constant 0.0 : f32\n",
        "  %zero = arith.constant 0.0 : f32\n"
        f"  %ew = tensor.empty() : {wt}\n"
        f"  %wt = linalg.transpose ins(%w : tensor<{n}x{k}xf32>) outs(%ew : "
        f"{wt}) permutation = [1, 0]\n").replace(
        "ins(%x, %w :", "ins(%x, %wt :")
    return _case(name, mlir, [x, np.ascontiguousarray(w.T), b],
                 lambda x, w, b: case["reference_of"]([x, w.T, b]),
                 [("contraction", 2)], case["tile"])


def as_f16(case, name, tile, reduction=1):
    """`case` as an f16 program: every f32 tensor and scalar f16, the
    inputs rounded to float16 and the reference recomputed from them. The
    bound allows the CPU oracle's f16 accumulator (linalg's semantics: a
    rounding per term of a `reduction`-long sum) and f16 epilogue
    arithmetic; the GPU accumulates in f32 and lands far inside it."""
    f16 = dict(case)
    f16["name"] = name
    for key in ("mlir", "plain_mlir"):
        if key in case:
            f16[key] = case[key].replace(f"@{case['name']}(", f"@{name}(") \
                .replace("f32", "f16")
    f16["inputs"] = [np.asarray(a, np.float16) for a in case["inputs"]]
    f16["reference"] = case["reference_of"](f16["inputs"])
    f16["tile"] = tile
    f16["tolerance"] = 2.0 ** -11 * (4 + math.sqrt(reduction))
    return f16


def f16_cases(small=False):
    """Products of f16 programs on tensor cores: wgmma where the innermost
    dimension of each operand is a multiple of eight (both orders of each
    operand in shared memory; attention with 3 heads), else mma.sync tiles
    that copy in narrower pieces (the unaligned product with its f16 GELU
    epilogue: 90 columns of x, copied 4 bytes at a time)."""
    bmm = (2, 130, 64, 72) if small else (12, 512, 64, 512)
    attention_bert = (128, 2, 64) if small else (512, 12, 64)
    ffn2 = (128, 3072, 768) if small else (512, 3072, 768)
    linear_wgmma = [(100, 72, 80), (70, 24, 48), (64, 16, 200),
                    (128, 1536, 768)]
    linear_wgmma += ([(130, 64, 300)] if small else
                     [(128, 1024, 4096), (1024, 128, 2304),
                      (1536, 96, 2816)])
    # BERT-base's FFN1 and output projection at 512 tokens, whose sizes
    # have rows in the sm_90 table: TMA tiles 96 and 48 columns wide (FFN2
    # takes the second's tiles; ffn2_f16 above holds its weight [K][N]).
    measured_linears = [] if small else [(512, 768, 3072, (128, 96)),
                                         (512, 768, 768, (64, 48))]
    return [
        as_f16(matmul("matmul_100x64x80", 100, 64, 80), "matmul_f16",
               wgmma_tile_for(1, 100, 80, rhs_along_n=True), 64),
        as_f16(attention_scores("attention_scores_f16_src", 80, 3, 40),
               "attention_scores_f16", wgmma_tile_for(3, 80, 80), 40),
        as_f16(attention_context("attention_context_f16_src", 80, 3, 40),
               "attention_context_f16",
               wgmma_tile_for(3, 80, 40, rhs_along_n=True), 80),
        as_f16(transposed_lhs("transposed_lhs_f16_src", 64, 48, 80),
               "transposed_lhs_f16", mma_tile_for(1, 64, 80), 48),
        as_f16(matmul_bias_gelu("matmul_bias_gelu_f16_src"),
               "matmul_bias_gelu_f16", mma_tile_for(1, 70, 50), 90),
        as_f16(batch_matmul("bmm_f16_src", *bmm), "bmm_f16",
               mma_tile_for(bmm[0], bmm[1], bmm[3]), bmm[2]),
        # Too few tiles for the multiprocessors: K split into slices.
        as_f16(matmul_bias_gelu("linear_split_k_f16_src", 128, 1536, 768),
               "linear_split_k_f16",
               wgmma_tile_for(1, 128, 768, rhs_along_n=True), 1536),
        # BERT-base's second FFN product with its weight stored [K][N]: on
        # sm_90's wgmma, B's tiles MN-major, 64 columns wide.
        as_f16(matmul_bias_gelu("ffn2_f16_src", *ffn2), "ffn2_f16",
               wgmma_tile_for(1, ffn2[0], ffn2[2], rhs_along_n=True), 3072),
        # Scores, softmax and context as one attention kernel: queries and
        # keys not a multiple of the steps, a mask read by the score steps,
        # heads of 128, BERT-base's heads.
        as_attention_f16(attention("attention_f16_src", 80, 3, 64),
                         "attention_f16", 80),
        # Fewer keys than one warp's part of a step: the second warp of
        # each group sees none.
        as_attention_f16(attention("attention_short_f16_src", 48, 2, 32),
                         "attention_short_f16", 48),
        as_attention_f16(attention("attention_mask_f16_src", 100, 2, 32,
                                   mask=True), "attention_mask_f16", 100),
        as_attention_f16(attention("attention_wide_f16_src", 70, 2, 128, 96),
                         "attention_wide_f16", 128),
        as_attention_f16(attention("attention_bert_f16_src", *attention_bert),
                         "attention_bert_f16", attention_bert[0]),
        # Linears (weights [N, K]) on sm_90's wgmma: K not a multiple of
        # the steps, and K steps of 64, 32 and 16 (128-, 64- and 32-byte
        # swizzles); split-K; 128x128 and 128x256 tiles of two warpgroups.
        *[as_f16(linear_bias_gelu(f"linear_{m}x{k}x{n}_src", m, k, n),
                 f"linear_{m}x{k}x{n}_f16", wgmma_tile_for(1, m, n), k)
          for m, k, n in linear_wgmma],
        *[as_f16(linear_bias_gelu(f"linear_{m}x{k}x{n}_src", m, k, n),
                 f"linear_{m}x{k}x{n}_f16", tile, k)
          for m, k, n, tile in measured_linears],
        # Kept 16-bit blocks on tensor cores (a decomposed part, no
        # region).
        as_f16(block_sparse_gelu("block_sparse_gelu_f16_src", bits=16),
               "block_sparse_gelu_f16",
               wgmma_tile_for(1, 70, 128, rhs_along_n=True), 96),
        # Kept blocks walked 8 deep on average: copies by TMA on sm_90
        # (the last row tile partial).
        as_f16(block_sparse_gelu("block_sparse_tma_f16_src", m=200, k=512,
                                 bits=16),
               "block_sparse_tma_f16",
               wgmma_tile_for(1, 200, 128, rhs_along_n=True), 512),
        widened_block_sparse_gelu("widened_block_sparse_tma", m=200, k=512),
        # 2:4 weights on sm_90's sparse wgmma, the result stored in runs of
        # eight channels: channels and columns not multiples of the tiles;
        # whole tiles (each batch's loads first); few tiles, the walks
        # split over a cluster that adds its sums up (in four, eight and
        # three slices).
        *[as_f16(structured_gelu(f"structured_{m}x{k}x{n}_src", m, k, n),
                 f"structured_{m}x{k}x{n}_f16",
                 wgmma_tile_for(1, m, n, rhs_along_n=True), k)
          for m, k, n in ((200, 256, 200), (1024, 128, 512),
                          (64, 1024, 128), (128, 2048, 768),
                          (512, 1152, 768))],
        # A decode step (16 rows) by a weight keeping 2% of its elements:
        # one fine-grained f16 part (SIMT) instead of the dense product.
        as_f16(fine_sparse_gelu("fine_decode_f16_src", bits=16),
               "fine_decode_f16", mma_tile_for(1, 16, 128), 512),
        # The same decode step by a weight keeping 30%: computed densely
        # here, and as one fine-grained f16 part on tensor cores (compressed
        # tiles) in suite.py's regions_fine_tensor_cores.
        as_f16(fine_sparse_gelu("fine_decode_tensor_cores_f16_src",
                                kept=0.3, bits=16),
               "fine_decode_tensor_cores_f16", mma_tile_for(1, 16, 128), 512),
        # torch-mlir's f16 Linear: f16 kept blocks into an f32
        # accumulator.
        widened_block_sparse_gelu(),
        widened_block_sparse_gelu("transposed_block_sparse_gelu",
                                  element="f32"),
        # Two kept-block parts of one input in one launch.
        as_f16(block_sparse_siblings("block_sparse_siblings_f16_src",
                                     bits=16),
               "block_sparse_siblings_f16",
               [wgmma_tile_for(1, 64, 128, rhs_along_n=True),
                wgmma_tile_for(1, 64, 128, rhs_along_n=True),
                wgmma_tile_for(1, 64, 64, rhs_along_n=True)], 128),
    ]


def region_cases(small=False):
    """Every case; with `small`, the large batched products (g) at sizes a
    CPU test runs quickly (same ops, a different tiling on the GPU)."""
    if small:
        large = [batch_matmul("bmm_12x512", 2, 130, 64, 70),
                 batch_matmul("bmm_4x300", 2, 75, 100, 90),
                 attention_f32("attention_bert_f32", 128, 2, 64),
                 torch_attention("torch_attention_split_f32", 64, 2, 64),
                 widened_block_sparse_gelu("block_sparse_slab_pairs", m=140,
                                           k=64, n=256)]
    else:
        large = [batch_matmul("bmm_12x512", 12, 512, 64, 512),
                 batch_matmul("bmm_4x300", 4, 300, 100, 600),
                 attention_f32("attention_bert_f32", 512, 12, 64),
                 # Enough blocks for two groups of lanes to split each
                 # step's keys: their parts combine, a masked row too.
                 torch_attention("torch_attention_split_f32", 256, 12, 64),
                 # Tiles of four kept 32-column slabs, enough for the
                 # multiprocessors (11 x 12); the suite's library
                 # regions_block_clusters runs them as pairs in thread
                 # block clusters that share x's slices (TMA multicast).
                 widened_block_sparse_gelu("block_sparse_slab_pairs",
                                           m=1408, k=256, n=1536)]
    return [
        matmul_bias_gelu(),
        block_sparse_gelu(),
        # 16 slabs deep, 4 tiles: each column's kept slabs split in slices.
        block_sparse_gelu("block_sparse_split_k", m=64, k=512, n=64),
        block_sparse_lhs(),
        channel_sparse_lhs(),
        channel_sparse_rhs_rows(),
        # 16 rows by 128 columns, four tiles: the gathered K split in
        # slices (split-K), added up by a second kernel.
        channel_sparse_rhs_rows("channel_sparse_rhs_split_k", 16, 1024, 128),
        matmul_bias_accumulator_residual(),
        attention_scores(),
        attention_context(),
        # The context 40 wide: three regions.
        attention(),
        # Scores, softmax and context as one exact-f32 kernel: queries and
        # keys not multiples of the steps, a mask, heads of 32 to 128.
        attention_f32("attention_f32", 80, 3, 64),
        attention_f32("attention_short_f32", 48, 2, 32),
        attention_f32("attention_mask_f32", 100, 2, 32, mask=True),
        # A row masked whole with finfo(f32).min: scores scaled by log2(e)
        # before their maximum would overflow to -inf.
        attention_f32("attention_min_row_f32", 100, 2, 32, mask="min_row"),
        attention_f32("attention_wide_f32", 70, 2, 128, 96),
        attention_f32("attention_head_f32", 33, 2, 20, 16),
        transposed_lhs(),
        softmax("softmax_37", (3, 5, 37)),
        softmax("softmax_300", (20, 300)),
        softmax("softmax_2000", (2, 3, 2000)),
        # Longer than 8192 (32 a thread): the region forms, lowering keeps
        # it on the generic path (with a remark).
        softmax("softmax_9000", (2, 9000)),
        layer_norm("layer_norm_768", 33, 768),
        layer_norm("layer_norm_100", 7, 100),
        # torch-mlir's form (keepdim, the variance in f64).
        torch_layer_norm("torch_layer_norm_768", 33, 768),
        torch_layer_norm("torch_layer_norm_100", 7, 100),
        torch_softmax("torch_softmax_128", 3, 20, 128),
        torch_softmax("torch_softmax_77", 2, 9, 77),
        # BERT's attention as torch-mlir writes it: one region (in f16 with
        # 70 keys: K is read where the projection wrote it, heads of 64
        # innermost, not as its moved copy, keys innermost).
        torch_attention("torch_attention_f32", 80, 3, 32),
        torch_attention("torch_attention_f16", 70, 2, 64, "f16"),
        torch_attention("torch_attention_keys_f16", 70, 2, 64, "f16",
                        mask_keys=True),
        pointwise_conv("pointwise_conv", 3, 24, 40, 9),
        pointwise_conv("pointwise_conv_f16", 4, 32, 64, 16, "f16"),
        # 16 filters over 24 channels: 16-row tiles, one small K step.
        pointwise_conv("pointwise_conv_narrow_f16", 8, 24, 16, 28, "f16"),
        # MobileNet-V2's 14x14 and 7x7 images, whose rows are not 16-byte
        # pieces: mma.sync tiles copying the image 8 bytes at a time (196
        # pixels) or an element at a time (49).
        pointwise_conv("pointwise_conv_14x14_f16", 4, 64, 96, 14, "f16"),
        pointwise_conv("pointwise_conv_7x7_f16", 4, 160, 96, 7, "f16"),
        pointwise_conv("pointwise_conv_7x7_narrow_f16", 4, 96, 24, 7, "f16"),
        # MobileNet-V2's depthwise convolutions (stride 2 and 1) and its
        # first convolution (3 channels to 32, stride 2), one thread an
        # output; a dilated one.
        convolution_relu6("depthwise_s2", 2, 24, 24, 15, 3, 2, 1, True),
        convolution_relu6("depthwise_s1_f16", 3, 20, 20, 14, 3, 1, 1, True,
                          "f16"),
        convolution_relu6("depthwise_dilated", 1, 8, 8, 11, 3, 1, 2, True,
                          dilation=2),
        # Rows of 16 and 112 f16 pixels: runs of 8 outputs, their image
        # rows read as aligned 16-byte vectors and the edge pixels alone.
        convolution_relu6("depthwise_s1_16_f16", 2, 8, 8, 16, 3, 1, 1, True,
                          "f16"),
        convolution_relu6("depthwise_s2_112_f16", 1, 4, 4, 112, 3, 2, 1,
                          True, "f16"),
        convolution_relu6("stem_s2_f16", 2, 3, 16, 33, 3, 2, 1, False,
                          "f16"),
        # 16 channels of 3x3, 144 taps: the channel loop stays a loop.
        convolution_relu6("channels_s1", 2, 16, 8, 12, 3, 1, 1, False),
        *large,
        matmul("matmul_1x300x7", 1, 300, 7),
        # BERT's projections at seq 128: too few tiles for the
        # multiprocessors, so K is split into slices (split_k).
        matmul_bias_gelu("linear_split_k", 128, 768, 768),
        *f16_cases(small),
    ]


def regions_module(cases):
    """All the cases' functions in one module."""
    return "\n".join(case["mlir"] for case in cases)
