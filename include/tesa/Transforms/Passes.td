//===- Passes.td - tesa transformation passes --------------*- tablegen -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_TRANSFORMS_PASSES_TD
#define TESA_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SparsitySummary : Pass<"tesa-sparsity-summary", "mlir::ModuleOp"> {
  let summary = "Print a per-tensor summary of #tesa.sparsity encodings";
  let description = [{
    For every function, lists each tensor value that carries a
    `#tesa.sparsity` encoding (function arguments first, then op results in
    program order): its shape and element type, the percentage of elements
    kept, the share of elements at each bit width, and the block grid of the
    encoding. The IR is not changed.

    ```mlir
    func.func @f(%w: tensor<64x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 8]]> : tensor<2x2xi8>>>)
    ```

    prints

    ```
    tesa sparsity summary
    function  value  shape  element  kept    pruned  4b  8b     16b  32b    grid
    @f        %arg0  64x64  f32      50.00%  50.00%  -   25.00% -    25.00% 2x2 of 32x32
    ```

    With `remarks=true` the same facts are also emitted as remarks at each
    value's location.
  }];
  let options = [
    Option<"emitRemarks", "remarks", "bool", /*default=*/"false",
           "Also emit one remark per tensor at its location">,
    Option<"includeDense", "include-dense", "bool", /*default=*/"false",
           "Also list tensors without an encoding (dense at full precision)">,
    Option<"outputFile", "output", "std::string", /*default=*/"\"-\"",
           "Where to write the table ('-' is standard output)">,
  ];
}

def VerifyEncodings : Pass<"tesa-verify-encodings"> {
  let summary = "Check every #tesa.sparsity encoding, resource maps included";
  let description = [{
    The data of a `dense_resource` map is parsed after the types that use it,
    so the type verifier cannot check it. This pass checks every tensor type
    with a `#tesa.sparsity` encoding in the IR (operands, results, block
    arguments and type attributes such as function signatures) against its
    data: the key must be defined, the blob must hold one byte per map entry,
    every entry must be 0, 4, 8, 16 or 32, and no entry may be wider than the
    element type. `tesa-opt` runs it before any other pass.

    ```mlir
    // error: #tesa.sparsity map dense_resource<mask> has no data
    func.func @f(%w: tensor<4x4xf32, #tesa.sparsity<map = dense_resource<mask> : tensor<4x4xi8>>>)
    ```
  }];
}

def CanonicalizeEncodings : Pass<"tesa-canonicalize-encodings"> {
  let summary = "Rewrite #tesa.sparsity encodings into canonical form";
  let description = [{
    The parser keeps a map as written: an inline map so that its shape is
    checked against each tensor that uses it, a `dense_resource` map because
    its data is parsed after the types. This pass replaces every encoding by
    the canonical attribute for the same sparsity (coarsest exact block
    grid, `bits = N` when uniform), in every type of the IR, so that equal
    sparsity gives identical types. `tesa-opt` and `tesa-compile` run it on
    inline maps (`resource-maps=false`) before any other pass, after
    `--tesa-verify-encodings`.

    ```mlir
    // Before: a 4x4 map whose entries are all 8, and a map written per
    // element that is uniform on 2x2 blocks.
    tensor<4x4xf32, #tesa.sparsity<map = dense_resource<m> : tensor<4x4xi8>>>
    tensor<4x4xf32, #tesa.sparsity<map = dense<[[8, 8, 0, 0], [8, 8, 0, 0], [0, 0, 8, 8], [0, 0, 8, 8]]> : tensor<4x4xi8>>>
    // After:
    tensor<4x4xf32, #tesa.sparsity<bits = 8>>
    tensor<4x4xf32, #tesa.sparsity<map = dense<[[8, 0], [0, 8]]> : tensor<2x2xi8>>>
    ```
  }];
  let options = [
    Option<"resourceMaps", "resource-maps", "bool", /*default=*/"true",
           "Also rewrite encodings whose map is a dense_resource (into "
           "inline maps)">
  ];
}

def Propagate : Pass<"tesa-propagate", "mlir::ModuleOp"> {
  let summary = "Propagate #tesa.sparsity through whole programs";
  let description = [{
    Finds, for every tensor in the module, which elements are provably zero
    (forward from pruned weights, constants, `tesa.annotate` and zero
    padding) and which are dead (backward: no consumer needs them), and at
    how many bits each element is kept (the lowest precision wins a
    conflict). Then rewrites every tensor type, function signatures
    included, with the refined encoding; a tensor with nothing pruned at
    full precision keeps no encoding. Calls between functions are followed.
    See docs/propagation.md for the contract and the rule of every op.

    A pruned row of the second weight makes the matching column of the
    first weight dead, and the hidden activation's column with it:

    ```mlir
    func.func @mlp(%x: tensor<4x8xf32>,
                   %w1: tensor<8x4xf32>,
                   %w2: tensor<4x2xf32, #tesa.sparsity<map = dense<[[32], [0], [32], [32]]> : tensor<4x1xi8>>>)
    // becomes
    func.func @mlp(%x: tensor<4x8xf32>,
                   %w1: tensor<8x4xf32, #tesa.sparsity<map = dense<[[32, 0, 32, 32]]> : tensor<1x4xi8>>>,
                   %w2: tensor<4x2xf32, #tesa.sparsity<map = dense<[[32], [0], [32], [32]]> : tensor<4x1xi8>>>)
    ```

    Every `linalg` structured op is handled by one rule derived from its
    indexing maps and an analysis of its payload (`max(a + b, 0)` is zero
    iff a and b are; `acc + a * b` ignores a where b is zero). Ops with no
    rule, and payloads with ops the payload analysis does not know, get a
    rule by tensor scrambling: the op is evaluated on the CPU with random
    inputs, zeros where inputs are zero, and each input element perturbed
    in turn. An op for which neither works is reported with a remark and
    treated conservatively: nothing is pruned through it.

    Where a rewritten type must equal another (a `linalg` init and its
    result, call operands and the callee's arguments, loop-carried values),
    the pass inserts a `tesa.annotate` to convert between them.
  }];
  let options = [
    Option<"report", "report", "std::string", /*default=*/"\"\"",
           "Write a per-tensor report to this file ('-' for standard "
           "output); none if empty">,
    Option<"reportFormat", "report-format", "std::string",
           /*default=*/"\"table\"", "Report format: 'table' or 'json'">,
    Option<"forceScrambling", "force-scrambling", "bool", /*default=*/"false",
           "Derive rules by tensor scrambling also for ops that have a "
           "hand-written rule">,
    Option<"scrambleTrials", "scramble-trials", "unsigned", /*default=*/"4",
           "Random trials per scrambling experiment (at least 2, at most "
           "1000)">,
    Option<"scrambleBudget", "scramble-budget", "int64_t",
           /*default=*/"50000000",
           "The most scalar evaluations one op's scrambling may take "
           "(at most 200000000)">,
    Option<"seed", "seed", "uint64_t", /*default=*/"8",
           "Seed of the random values scrambling uses">,
  ];
  let dependentDialects = ["::tesa::TesaDialect"];
}


def Decompose : Pass<"tesa-decompose", "mlir::ModuleOp"> {
  let summary = "Split sparse matrix products into block, fine-grained and "
                "low-precision parts";
  let description = [{
    The transformation policy. Every `linalg.matmul` with a sparse operand
    (an encoding that prunes elements or keeps them below 32 bits) becomes a
    chain of `tesa.part_matmul` ops, one per part, each reading the sparse
    operand through a `tesa.extract_part` whose encoding is the part's kept
    set; each part accumulates into the previous part's result. The parts
    are disjoint and together keep exactly the operand's kept elements.

    Elements are grouped by bit width (32 -> f32, 16 -> f16, 8 and 4 ->
    int8). Within a width, a weighted greedy cover over the chip's block
    menu takes the block that saves most against computing its elements
    fine-grained, re-evaluating savings as blocks are taken, so one operand
    may use several block sizes; the rest is one fine-grained part. On chips
    with sparse tensor cores (sm_80 and later), f16 blocks in which every
    channel keeps at most two of every four consecutive reduction elements
    may instead become `kernel = "structured"` blocks (2:4, `mma.sp`), at
    about half a dense block's cost. Costs come from the chip's table
    (docs/decomposition.md). When both operands are sparse, the one with
    fewer kept elements is decomposed.

    ```mlir
    %r = linalg.matmul ins(%x, %w : tensor<16x64xf32>, tensor<64x64xf32, #tesa.sparsity<map = dense<[[16, 0], [0, 32]]> : tensor<2x2xi8>>>)
                       outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
    // becomes (with plan=block block-shape=32x32)
    %p0 = tesa.extract_part %w : ... -> tensor<64x64xf32, #tesa.sparsity<map = dense<[[0, 0], [0, 32]]> : tensor<2x2xi8>>>
    %r0 = tesa.part_matmul %x, %p0, %acc {bits = 32 : i64, block = array<i64: 32, 32>, kernel = "block", sparse_operand = 1 : i64} : ...
    %p1 = tesa.extract_part %w : ... -> tensor<64x64xf32, #tesa.sparsity<map = dense<[[16, 0], [0, 0]]> : tensor<2x2xi8>>>
    %r = tesa.part_matmul %x, %p1, %r0 {bits = 16 : i64, block = array<i64: 32, 32>, kernel = "block", sparse_operand = 1 : i64} : ...
    ```

    Products of f16 operands, accumulating in f16 or in f32 (as an importer
    widens them, see `--tesa-fold-operand-extensions`), are decomposed when
    their plan is all 16-bit blocks of a sparse rhs kept in whole 32x32
    tiles; the parts read the f16 operands and accumulate in the product's
    own type:

    ```mlir
    %r = linalg.matmul ins(%x, %w : tensor<16x64xf16>, tensor<64x64xf16, #tesa.sparsity<map = dense<[[16, 0], [0, 16]]> : tensor<2x2xi8>>>)
                       outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
    // becomes
    %p = tesa.extract_part %w : ... -> tensor<64x64xf16, #tesa.sparsity<...>>
    %r = tesa.part_matmul %x, %p, %acc {bits = 16 : i64, block = array<i64: 32, 32>, kernel = "block", sparse_operand = 1 : i64}
        : tensor<16x64xf16>, tensor<64x64xf16, #tesa.sparsity<...>>, tensor<16x64xf32> -> tensor<16x64xf32>
    ```

    Products that cannot be decomposed (elements other than f32 and f16,
    dynamic shapes, transposed or broadcast indexing maps, f16 plans other
    than the above) stay as they are, computed densely, with a remark saying
    why. A product, batched product or convolution with an operand that is
    entirely pruned (`#tesa.sparsity<bits = 0>`, such as a MobileNet-V2
    filter whose 90% pruned blocks are all of its blocks) adds nothing to
    its accumulator, whatever its element types: the accumulator is its
    result (with `remarks`, a remark says so). A 1x1 NCHW convolution of
    unit strides whose sparse operands keep more than a fifth of their
    elements (such as a filter with half its filters pruned and half its
    channels dead) is left dense: `--tesa-convolutions-as-products` makes it
    one batched product, measured faster than parts over its copied
    patches (MobileNet-V2 f32 with structured50 filters on an H200: 4.9 ms
    as parts, 2.2 ms dense).
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_80\"",
           "Chip whose block menu and cost table drive the plan">,
    Option<"plan", "plan", "::tesa::DecompositionOptions::Mode",
           /*default=*/"::tesa::DecompositionOptions::Mode::Auto",
           "How the parts are chosen",
           [{::tesa::getDecompositionPlanValues()}]>,
    Option<"blockShape", "block-shape", "std::string", /*default=*/"\"16x16\"",
           "Block shape for plan=block and plan=structured, as "
           "<channels>x<reduction>">,
    Option<"emitRemarks", "remarks", "bool", /*default=*/"false",
           "Describe each plan in a remark on its operation">,
  ];
  let dependentDialects = ["::tesa::TesaDialect"];
}

def CheckDecomposition : Pass<"tesa-check-decomposition"> {
  let summary = "Check that decomposed operands are covered exactly";
  let description = [{
    For every chain of `tesa.part_matmul` ops (each accumulating into the
    previous one), reads the kept sets of the parts' `tesa.extract_part`
    encodings and checks, element by element, that they are disjoint, that
    they come from one source, and that their union is exactly the source's
    kept set at the source's bit widths. A chain that passes gets a remark
    (`exact disjoint cover of <n> elements by <k> parts`); one that fails
    gets an error naming the first offending element.
  }];
}


def LowerPartsToLinalg : Pass<"tesa-lower-parts-to-linalg"> {
  let summary = "Lower decomposed parts to linalg, for the host CPU";
  let description = [{
    Gives `tesa.extract_part` and `tesa.part_matmul` their meaning in plain
    `linalg`, `arith` and `math` ops on tensors, so a decomposed program runs
    on the host through MLIR's standard CPU lowering (`--tesa-cpu-pipeline`).
    The rounding and quantisation are exactly those the GPU kernels compute:
    an extracted part is a select against the part's mask; a 16-bit part
    rounds both operands to f16; an 8- or 4-bit part quantises the sparse
    operand per output channel and the dense operand per output index,
    multiplies in i32 and dequantises into the accumulator.

    ```mlir
    %r = tesa.part_matmul %x, %p, %acc {bits = 16 : i64, block = array<i64>, kernel = "fine", sparse_operand = 1 : i64} : ...
    // becomes
    %x16 = linalg.generic ... { arith.truncf, arith.extf }
    %p16 = linalg.generic ... { arith.truncf, arith.extf }
    %r = linalg.matmul ins(%x16, %p16 : ...) outs(%acc : ...)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def DropEncodings : Pass<"tesa-drop-encodings", "mlir::ModuleOp"> {
  let summary = "Remove #tesa.sparsity encodings from every type";
  let description = [{
    Rewrites every tensor type in the module, function signatures included,
    without its `#tesa.sparsity` encoding and erases `tesa.annotate` ops
    that become identities. Run once the encodings have been used (after
    decomposition and lowering): bufferization does not accept tensor
    encodings.
  }];
}

def OrderConstantGlobals : Pass<"tesa-order-constant-globals", "mlir::ModuleOp"> {
  let summary = "Name and order bufferized tensor constants by their first use";
  let description = [{
    One-Shot Bufferize turns each tensor constant into a `memref.global`
    named `__constant_<shape>` (with a suffix when the name is taken), at the
    start of the module. In MLIR 22 it visits independent functions in an
    order that changes from run to run (fixed upstream in llvm-project
    #184722, not in MLIR 22), so the same program compiled twice could give
    its globals other orders and names, and the host object other bytes.
    This pass renames those globals `__tesa_constant_<i>` and moves them to
    the start of the module, numbered in the order of their first
    `memref.get_global` in the module (unused ones last), so that a
    compilation's output depends on its input only.

    ```mlir
    memref.global "private" constant @__constant_2xf32 : memref<2xf32> = dense<[1.0, 2.0]>
    memref.global "private" constant @__constant_3xf32 : memref<3xf32> = dense<[1.0, 2.0, 3.0]>
    func.func @f() { %0 = memref.get_global @__constant_3xf32 : memref<3xf32> ... }
    func.func @g() { %0 = memref.get_global @__constant_2xf32 : memref<2xf32> ... }
    ```

    becomes

    ```mlir
    memref.global "private" constant @__tesa_constant_0 : memref<3xf32> = dense<[1.0, 2.0, 3.0]>
    memref.global "private" constant @__tesa_constant_1 : memref<2xf32> = dense<[1.0, 2.0]>
    func.func @f() { %0 = memref.get_global @__tesa_constant_0 : memref<3xf32> ... }
    func.func @g() { %0 = memref.get_global @__tesa_constant_1 : memref<2xf32> ... }
    ```
  }];
}

def FoldBiasIntoAccumulator : Pass<"tesa-fold-bias-into-accumulator"> {
  let summary = "Start a product's accumulator at its bias instead of zero";
  let description = [{
    A bias added to a product is an epilogue: one more pass over the result.
    This pass fuses it into the product's accumulator: when a
    `linalg.matmul` (or `linalg.batch_matmul`) whose accumulator is filled
    with zero has a single use, an all-parallel `linalg.generic` that adds a
    broadcast operand to it element by element, the accumulator starts at
    the broadcast bias and the addition disappears. The decomposition then
    accumulates every part onto the bias, so a product with a bias costs the
    same kernels as one without.

    ```mlir
    %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
    %p = linalg.matmul ins(%x, %w : ...) outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
    %y = linalg.generic {indexing_maps = [(i, j) -> (i, j), (i, j) -> (j), (i, j) -> (i, j)], ...}
        ins(%p, %bias : tensor<16x64xf32>, tensor<64xf32>) outs(%e2 : tensor<16x64xf32>) {
      ^bb0(%a: f32, %b: f32, %o: f32):
        %s = arith.addf %a, %b : f32
        linalg.yield %s : f32
    } -> tensor<16x64xf32>
    // becomes
    %acc = linalg.generic {indexing_maps = [(i, j) -> (j), (i, j) -> (i, j)], ...}
        ins(%bias : tensor<64xf32>) outs(%e2 : tensor<16x64xf32>) {
      ^bb0(%b: f32, %o: f32):
        linalg.yield %b : f32
    } -> tensor<16x64xf32>
    %y = linalg.matmul ins(%x, %w : ...) outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
    ```

    The fused product takes the addition's result type, encoding included.
    An f32 generic that goes on to apply more to the sum alone (an
    activation such as GELU after the bias) keeps that on the biased
    product, whose result then has no encoding; `--tesa-fuse-epilogues` can then move it
    into the product's last part. The zero accumulator is seen through its
    annotations. A bias made after a product of narrower operands
    (torch-mlir's f16 `Linear`: f16 operands, an f32 sum, the bias widened
    and broadcast after the matmul, the sum rounded to f16 after the bias)
    has its side-effect-free definitions moved above the product first. A
    late bias of an f32 product stays an addition, which the parts apply as
    an elementwise step (kept-channel parts skip pruned channels, which a
    biased accumulator would make them write). `--tesa-pipeline` runs it
    before the decomposition.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}
def FuseEpilogues : Pass<"tesa-fuse-epilogues"> {
  let summary = "Fuse elementwise activations into the last part of a product";
  let description = [{
    After `--tesa-decompose`, an elementwise op that reads the result of a
    product's last `tesa.part_matmul` (and nothing else of it) is an
    epilogue: one more pass over the result. This pass moves its body into
    the part's `epilogue` region, so the part's kernel applies it as it
    writes each element. The op must be all-parallel with identity indexing
    maps, its body free of side effects; other inputs may only be tensors
    filled with a constant (the zero of `linalg.max` as a ReLU), which
    become constants of the region. Biases are folded earlier, into the
    accumulator (`--tesa-fold-bias-into-accumulator`).

    ```mlir
    %r = tesa.part_matmul %x, %p, %acc {...} : ... -> tensor<16x64xf32>
    %y = linalg.max ins(%r, %zeros : tensor<16x64xf32>, tensor<16x64xf32>) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
    // becomes
    %y = tesa.part_matmul %x, %p, %acc {...} : ... -> tensor<16x64xf32> epilogue {
    ^bb0(%v: f32):
      %zero = arith.constant 0.0 : f32
      %m = arith.maximumf %v, %zero : f32
      tesa.yield %m : f32
    }
    ```

    The fused part takes the op's result type, encoding included.

    First, an elementwise op between a `tensor.expand_shape` and the
    `tensor.collapse_shape` that undoes it (torch-mlir expands a Linear's
    result to the batch's shape for its activation, then collapses it for
    the next product) is rebuilt on the unexpanded tensor, so that it reads
    the part directly: as an epilogue, or as an elementwise step that
    `--tesa-lower-parts-to-gpu` applies in the part's kernel.

    ```mlir
    %e = tensor.expand_shape %r [[0, 1], [2]] output_shape [1, 128, 3072] : tensor<128x3072xf16> into tensor<1x128x3072xf16>
    %g = linalg.generic {identity maps} ins(%e : tensor<1x128x3072xf16>) ... -> tensor<1x128x3072xf16>
    %c = tensor.collapse_shape %g [[0, 1], [2]] : tensor<1x128x3072xf16> into tensor<128x3072xf16>
    // becomes
    %c = linalg.generic {identity maps} ins(%r : tensor<128x3072xf16>) ... -> tensor<128x3072xf16>
    ```

    `--tesa-pipeline` runs it after the decomposition.
  }];
  let dependentDialects = ["tesa::TesaDialect", "mlir::tensor::TensorDialect"];
}

def DecomposeAggregatedOps : Pass<"tesa-decompose-aggregated-ops"> {
  let summary = "Expand aggregated linalg ops (softmax) into structured ops";
  let description = [{
    Rewrites every op with `linalg::AggregatedOpInterface` (such as
    `linalg.softmax`) into the `linalg` ops its interface decomposes it
    into, so the loop and GPU lowerings, which handle structured ops only,
    compile the whole program. Both `--tesa-pipeline` and
    `--tesa-cpu-pipeline` run it. An op with `#tesa.sparsity` encodings is
    expanded on plain tensors between `tesa.annotate`s (upstream's
    expansions give intermediate results the input's type).

    ```mlir
    %s = linalg.softmax dimension(1) ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
    // becomes a max reduction, a subtract-and-exp, a sum and a division
    ```
  }];
}

def ConvolutionsAsProducts : Pass<"tesa-convolutions-as-products"> {
  let summary = "Rewrite dense convolutions as products for kernel regions";
  let description = [{
    The decomposition rewrites a convolution with a sparse operand as an
    implicit GEMM (patches times the flattened filter) and splits the
    product; a convolution left dense would run on the generic path, one
    thread per output element. This pass gives every remaining
    `linalg.conv_2d_nchw_fchw` and `linalg.conv_2d_nhwc_hwcf` (static
    shapes, f32 or f16) the same form, so that `--tesa-form-kernel-regions`
    makes its product a contraction region (FMA tiles for f32, tensor cores
    for f16). Depthwise convolutions stay as they are.

    ```mlir
    %y = linalg.conv_2d_nchw_fchw ins(%x, %w : tensor<1x2x3x3xf32>, tensor<3x2x2x2xf32>)
                                  outs(%acc : tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32>
    // becomes: patches (c kh kw) x (n oh ow), the filter as f x (c kh kw)
    %patches = linalg.generic ... -> tensor<8x4xf32>
    %filter = tensor.collapse_shape %w [[0], [1, 2, 3]] : tensor<3x2x2x2xf32> into tensor<3x8xf32>
    %p = linalg.matmul ins(%filter, %patches : tensor<3x8xf32>, tensor<8x4xf32>) outs(...) -> tensor<3x4xf32>
    // and the result back to NCHW through an expand_shape and a transpose
    ```

    A 1x1 `linalg.conv_2d_nchw_fchw` with unit strides (MobileNet's
    expansions and projections) needs no patches: it becomes a batched
    product over the images, `out[n, f, p] = sum_c W[f, c] * x[n, c, p]`
    with `p = (h, w)`, a `linalg.generic` contraction whose batch the filter
    does not have (see getKernelContractionDims), between free reshapes:

    ```mlir
    %y = linalg.conv_2d_nchw_fchw {strides = dense<1> : tensor<2xi64>, ...}
        ins(%x, %w : tensor<2x8x4x4xf32>, tensor<16x8x1x1xf32>)
        outs(%acc : tensor<2x16x4x4xf32>) -> tensor<2x16x4x4xf32>
    // becomes
    %xs = tensor.collapse_shape %x [[0], [1], [2, 3]] : ... into tensor<2x8x16xf32>
    %ws = tensor.collapse_shape %w [[0], [1, 2, 3]] : ... into tensor<16x8xf32>
    %p = linalg.generic {indexing_maps = [(n, f, p, c) -> (f, c),
                                          (n, f, p, c) -> (n, c, p),
                                          (n, f, p, c) -> (n, f, p)], ...}
        ins(%ws, %xs : ...) outs(%accs : tensor<2x16x16xf32>) ...
    %y = tensor.expand_shape %p [[0], [1], [2, 3]] ... into tensor<2x16x4x4xf32>
    ```

    `--tesa-pipeline` runs it with `only-pointwise`: measured on
    MobileNet-V2 (batch 32, H200), the patch products are fast regions, but
    the patches and the NCHW transposes around each product run on the
    generic path and cost more than the convolutions did
    (docs/pytorch.md).
  }];
  let options = [
    Option<"onlyPointwise", "only-pointwise", "bool", /*default=*/"false",
           "Rewrite only the 1x1 NCHW convolutions (as batched products); "
           "leave the others as they are">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def FoldOperandExtensions : Pass<"tesa-fold-operand-extensions"> {
  let summary = "Let dense products read the f16 operands an importer widened";
  let description = [{
    torch-mlir lowers an f16 `Linear` or `bmm` to an f32 product of widened
    operands: each operand goes through an elementwise `linalg.generic` whose
    body is one `arith.extf` from f16, and the product accumulates in f32. A
    named product computes the same when it reads the f16 operands itself
    (its body widens each element to the accumulator's type). This pass
    makes `linalg.matmul` and `linalg.batch_matmul` (default indexing maps)
    read through such widenings when both operands are widened f16 and the
    accumulator is f32, so that their kernel regions run on tensor cores and
    `--tesa-decompose` splits a sparse f16 weight into f16 parts (read as
    they are, not widened on every call). A widening with other uses stays
    for them. The sparsity encodings of the f16 operands are kept.

    ```mlir
    %x32 = linalg.generic {indexing_maps = [(i, j) -> (i, j), (i, j) -> (i, j)], ...}
        ins(%x : tensor<16x64xf16>) outs(%e : tensor<16x64xf32>) {
      ^bb0(%in: f16, %out: f32):
        %w = arith.extf %in : f16 to f32
        linalg.yield %w : f32
    } -> tensor<16x64xf32>
    %p = linalg.matmul ins(%x32, %w32 : tensor<16x64xf32>, tensor<64x32xf32>)
                       outs(%acc : tensor<16x32xf32>) -> tensor<16x32xf32>
    // becomes
    %p = linalg.matmul ins(%x, %w : tensor<16x64xf16>, tensor<64x32xf16>)
                       outs(%acc : tensor<16x32xf32>) -> tensor<16x32xf32>
    ```

    The widening may also move the elements (a permutation map, possibly
    followed by a `tensor.collapse_shape`) and multiply them by constants:
    torch-mlir's attention moves each head of the f16 Q and K projections
    before the rows, widens and scales it by 1/sqrt(sqrt(d)), then merges
    heads with the batch. The product then reads an f16 copy in the moved
    order, collapsed the same way (kernel regions read such copies where
    their source is, so they are never made), and the product of the
    constants multiplies its result in a `linalg.generic` after it. A scaled
    product must start from zero. Multiplying the sum once instead of each
    operand rounds differently in the last bits of f32. An f32 product
    whose operands such an op moves and scales without widening them
    (torch-mlir's f32 attention) reads them moved alone, the same way.

    ```mlir
    %q32 = linalg.generic {indexing_maps = [(b, h, s, d) -> (b, s, h, d), (b, h, s, d) -> (b, h, s, d)], ...}
        ins(%q : tensor<1x128x12x64xf16>) outs(%e : tensor<1x12x128x64xf32>) {
      ^bb0(%in: f16, %out: f32):
        %w = arith.extf %in : f16 to f32
        %s = arith.mulf %w, %c : f32
        linalg.yield %s : f32
    } -> tensor<1x12x128x64xf32>
    %qb = tensor.collapse_shape %q32 [[0, 1], [2], [3]] : tensor<1x12x128x64xf32> into tensor<12x128x64xf32>
    %p = linalg.batch_matmul ins(%qb, %kb : ...) outs(%zeros : tensor<12x128x128xf32>) -> tensor<12x128x128xf32>
    // becomes
    %q16 = linalg.generic {(same maps), body yields %in} ins(%q : ...) -> tensor<1x12x128x64xf16>
    %qb = tensor.collapse_shape %q16 [[0, 1], [2], [3]] : tensor<1x12x128x64xf16> into tensor<12x128x64xf16>
    %p = linalg.batch_matmul ins(%qb, %kb16 : ...) outs(%zeros : tensor<12x128x128xf32>) -> tensor<12x128x128xf32>
    %scores = linalg.generic {...} ins(%p : tensor<12x128x128xf32>) ... // %in * (c * c)
    ```

    With `round-operands` (the default), a product of a widened f16 operand
    and an f32 one whose result is only rounded to f16 (each use an
    elementwise `arith.truncf` to f16) multiplies the f32 operand rounded
    to f16: torch-mlir's attention context, the f32 probabilities times
    the widened V, rounded to f16. The sum stays f32; the rounding of the
    f32 operand adds an error of the size the result's own rounding has
    (PyTorch's fused f16 attention rounds its probabilities the same way),
    and the product runs on tensor cores instead of exact f32 FMA tiles.
    `round-operands=false` keeps such products exact.

    `--tesa-pipeline` runs it before the decomposition (so that sparse f16
    weights become f16 parts), and again after
    `--tesa-fuse-elementwise-chains` (which makes each operand's chain of
    transposes, widenings and scalings one op), before forming kernel
    regions.
  }];
  let options = [
    Option<"roundOperands", "round-operands", "bool", /*default=*/"true",
           "Round the f32 operand of a product of a widened f16 tensor "
           "whose result is only rounded to f16">
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::arith::ArithDialect"];
}

def NormalizeRowPrograms : Pass<"tesa-normalize-row-programs"> {
  let summary = "Rewrite importers' reductions into the forms row programs take";
  let description = [{
    Row programs (softmax, layer norm; see `--tesa-form-kernel-regions`)
    are chains of `linalg.generic` ops over the rows of a tensor. Importers
    write two things between them that break the chain:

    * a reduction with results that nothing reads: torch-mlir computes a
      softmax's row maximum as `aten.max.dim`, the maximum and its index.
      The unread results are dropped with the body ops only they need,
      when the results that are read do not depend on them.
    * a per-row value read through a `tensor.expand_shape` that only
      inserts unit dimensions (the reduced dimension kept). The reader
      reads the source instead, through its indexing map without the
      inserted dimensions' results (their index is always 0).

    ```mlir
    %max:2 = linalg.generic {indexing_maps = [(a, b, c) -> (a, b, c),
                                              (a, b, c) -> (a, b),
                                              (a, b, c) -> (a, b)],
                             iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x : tensor<2x4x8xf32>)
        outs(%m, %i : tensor<2x4xf32>, tensor<2x4xi64>) {
      ^bb0(%in: f32, %om: f32, %oi: i64):
        %c = linalg.index 2 : index
        %ci = arith.index_cast %c : index to i64
        %new = arith.maximumf %in, %om : f32
        %gt = arith.cmpf ogt, %in, %om : f32
        %idx = arith.select %gt, %ci, %oi : i64
        linalg.yield %new, %idx : f32, i64
    } -> (tensor<2x4xf32>, tensor<2x4xi64>)
    %kept = tensor.expand_shape %max#0 [[0], [1, 2]] output_shape [2, 4, 1]
        : tensor<2x4xf32> into tensor<2x4x1xf32>
    %d = linalg.generic {indexing_maps = [(a, b, c) -> (a, b, c),
                                          (a, b, c) -> (a, b, 0), ...]}
        ins(%x, %kept : tensor<2x4x8xf32>, tensor<2x4x1xf32>) ...
    // becomes
    %max = linalg.generic {... outs(%m : tensor<2x4xf32>)} {
      ^bb0(%in: f32, %om: f32):
        %new = arith.maximumf %in, %om : f32
        linalg.yield %new : f32
    } -> tensor<2x4xf32>
    %d = linalg.generic {indexing_maps = [(a, b, c) -> (a, b, c),
                                          (a, b, c) -> (a, b), ...]}
        ins(%x, %max : tensor<2x4x8xf32>, tensor<2x4xf32>) ...
    ```

    Contractions are left as they are. `--tesa-pipeline` runs this pass
    before forming kernel regions.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def FuseElementwiseChains : Pass<"tesa-fuse-elementwise-chains"> {
  let summary = "Fuse each elementwise op into its only elementwise reader";
  let description = [{
    An importer writes a chain of elementwise ops where one would do:
    torch-mlir moves an f16 query's heads with a `linalg.transpose`, widens
    it to f32 with one generic and scales it with another. Each op left on
    the generic path is a launch that writes and reads its whole result.
    This pass fuses every elementwise op (an all-parallel `linalg.generic`
    or a `linalg.transpose`, static tensors) into its only reader when that
    is elementwise too (upstream's `linalg::fuseElementwiseOps`): the chain
    becomes one generic whose maps read the first op's inputs. Reductions,
    contractions and ops with several readers are left as they are, so the
    kernel regions formed after it see the same products, reductions and
    epilogues.

    One kind of op with several readers is copied into each of them: a
    plain broadcast, whose inputs are all smaller than its result, of
    f16, f32 or boolean tensors, computed by arith and math ops alone (no
    loop index, no gather's `tensor.extract`). torch-mlir's attention mask
    is one: booleans by query and by key, combined and selected into
    0 / -inf once over queries x keys, then added to every layer's scores.
    Copied, each layer's mask add reads the booleans (a few hundred bytes,
    as the attention kernel's epilogue) instead of the queries x keys
    mask. Plain ops are fused first, the others (gathers, integer index
    arithmetic) after, so that a broadcast does not take the gather that
    feeds it and stays plain.

    Then an elementwise op that reads a product's result through a
    `tensor.expand_shape` (a 1x1 convolution rewritten as a batched product
    over the images, expanded back to NCHW) works on the product's shape
    instead, the expansion moved after it (upstream's
    `linalg::populateFoldReshapeOpsByCollapsingPatterns`), so that the
    product's kernel region takes it as its epilogue: MobileNet-V2's
    ReLU6 and residual adds after its pointwise convolutions. A
    `tesa.annotate` between the expansion and the elementwise op (the
    declared encoding of a sparse convolution computed densely) is skipped:
    the op reads the expansion.

    ```mlir
    %t = linalg.transpose ins(%q : tensor<1x128x12x64xf16>)
                          outs(%e0 : tensor<1x12x128x64xf16>) permutation = [0, 2, 1, 3]
    %w = linalg.generic {...} ins(%t : ...) outs(%e1 : tensor<1x12x128x64xf32>) {
      ^bb0(%in: f16, %out: f32):
        %x = arith.extf %in : f16 to f32
        linalg.yield %x : f32
    } -> tensor<1x12x128x64xf32>
    %s = linalg.generic {...} ins(%w : ...) outs(%e1 : ...) {
      ^bb0(%in: f32, %out: f32):
        %y = arith.mulf %in, %scale : f32
        linalg.yield %y : f32
    } -> tensor<1x12x128x64xf32>
    // becomes one generic reading %q through (d0, d1, d2, d3) -> (d0, d2, d1, d3),
    // widening and scaling each element
    ```

    `--tesa-pipeline` runs it before forming kernel regions.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def DropUnitBatchLoops : Pass<"tesa-drop-unit-batch-loops"> {
  let summary = "Run the steps between batched products over the products' coordinates";
  let description = [{
    torch-mlir computes an attention head's batched products over
    heads x rows x keys, and what comes between them (the mask add, the
    softmax's row steps, the heads' permute after the context) over
    1 x heads x rows x keys: each step reads the product's result through
    a map that skips the unit batch loop. Kernel regions take a product's
    epilogue and a row program only in the product's coordinates, so each
    of those steps was a launch of its own.

    This pass drops the unit loops of every `linalg.generic` that is not a
    contraction and reads a tensor of rank 3 or more through a permutation
    of its other loops (upstream's unit-extent folding, restricted to those
    ops by its control function). Operands and results are collapsed and
    expanded around the op; the reshapes between two such ops fold away,
    so the chain runs over the products' coordinates. Ops over a layer
    norm's rows (rank 2 without the unit loop) are left as they are.

    ```mlir
    %s = linalg.batch_matmul ins(%q, %k : ...) outs(%f : tensor<12x128x128xf32>)
    %m = linalg.generic {indexing_maps = [(a, h, r, k) -> (h, r, k),
                                          (a, h, r, k) -> (k),
                                          (a, h, r, k) -> (a, h, r, k)], ...}
        ins(%s, %mask : tensor<12x128x128xf32>, tensor<128xf32>)
        outs(%e : tensor<1x12x128x128xf32>)
    // becomes
    %m = linalg.generic {indexing_maps = [(h, r, k) -> (h, r, k),
                                          (h, r, k) -> (k),
                                          (h, r, k) -> (h, r, k)], ...}
        ins(%s, %mask : tensor<12x128x128xf32>, tensor<128xf32>)
        outs(%c : tensor<12x128x128xf32>)
    %x = tensor.expand_shape %m [[0, 1], [2], [3]] ...
        : tensor<12x128x128xf32> into tensor<1x12x128x128xf32>
    ```
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def FormKernelRegions : Pass<"tesa-form-kernel-regions"> {
  let summary = "Group a program's ops into tesa.kernel regions";
  let description = [{
    Forms the kernel regions of code generation: each becomes one kernel.

    * **contraction**: a `linalg.matmul`, `linalg.batch_matmul` or
      `linalg.generic` contraction on static f32 tensors with one M, one N,
      one reduction and at most one batch dimension, generalised to a
      `linalg.generic`. A transpose that produces one of its operands is
      folded into the operand's indexing map (the contraction reads the
      transpose's source). The elementwise ops that consume its result one
      after the other, each the only user of the previous one, are its
      epilogue: bias and residual adds, activations, scaling, a transpose of
      the result (named elementwise ops are generalised too).
    * **row_reduction**: a `linalg.generic` that reduces each row (the last
      dimension) of a static f32 tensor to one value, with the
      `linalg.generic` ops over the same rows around it: elementwise ops
      that produce its input for it alone, and the ops after it that read
      the region's values (elementwise over the rows' elements, further
      reductions, elementwise over the per-row values), up to the last op
      whose result alone is read outside. A softmax (after
      `--tesa-decompose-aggregated-ops`) or a layer norm becomes one
      region.
    * **convolution**: a convolution (`linalg::isaConvolutionOpInterface`:
      depthwise or across channels, any strides, dilations and layout) on
      static f32 or f16 tensors, generalised to a `linalg.generic`, with
      the elementwise ops after it as its epilogue as for a contraction
      (a bias read where it is, rounding to f16, ReLU6). A `tensor.pad`
      producing its input stays outside: the kernel reads the pad's source
      and the padding value where the window leaves it. 1x1 convolutions
      that `--tesa-convolutions-as-products` made products are
      contractions.
    * **elementwise**: a 2-D `linalg.transpose` of a static tensor that no
      contraction folded (such as the transposed dense operand a
      fine-grained part reads), a region of its own.

    What no family takes stays as it is (the generic path).

    ```mlir
    %p = tensor.pad %x low[0, 0, 1, 1] high[0, 0, 1, 1] {...} : tensor<32x96x112x112xf16> to tensor<32x96x114x114xf16>
    %c = linalg.depthwise_conv_2d_nchw_chw {strides = dense<2> : vector<2xi64>, ...}
        ins(%p, %w : ...) outs(%bias_broadcast : tensor<32x96x56x56xf32>) -> tensor<32x96x56x56xf32>
    %y = linalg.generic {...} ins(%c : ...) outs(%e : tensor<32x96x56x56xf16>) { truncf, ReLU6 }
    // becomes
    %y = tesa.kernel convolution -> tensor<32x96x56x56xf16> {
      %c = linalg.generic {indexing_maps = [(n, h, w, c, kh, kw) -> (n, c, h * 2 + kh, w * 2 + kw), ...]}
          ins(%p, %w : ...) outs(%bias_broadcast : ...) { ... }
      %y = linalg.generic {...} ins(%c : ...) outs(%e : ...) { ... }
      tesa.yield %y : tensor<32x96x56x56xf16>
    }
    ```

    ```mlir
    %t = linalg.transpose ins(%k : tensor<4x64x16xf32>) outs(%e : tensor<4x16x64xf32>) permutation = [0, 2, 1]
    %s = linalg.batch_matmul ins(%q, %t : ...) outs(%acc : tensor<4x64x64xf32>) -> tensor<4x64x64xf32>
    %y = linalg.generic {...} ins(%s : tensor<4x64x64xf32>) outs(%e2 : ...) { ... arith.mulf ... }
    // becomes
    %y = tesa.kernel contraction -> tensor<4x64x64xf32> {
      %s = linalg.generic {indexing_maps = [(b, m, n, k) -> (b, m, k), (b, m, n, k) -> (b, n, k), ...]}
          ins(%q, %k : ...) outs(%acc : ...) { ... }
      %y = linalg.generic {...} ins(%s : ...) outs(%e2 : ...) { ... }
      tesa.yield %y : tensor<4x64x64xf32>
    }
    ```
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect", "tesa::TesaDialect"];
}

def FormAttentionRegions : Pass<"tesa-form-attention-regions"> {
  let summary = "Merge attention's scores, softmax and context regions into "
                "one attention region";
  let description = [{
    Runs after `--tesa-form-kernel-regions`. Where a contraction region
    computes attention scores (Q K^T over the head dimension, with its
    scaling or mask as the epilogue), its only reader is a row-reduction
    region that is a softmax along the keys (the four ops of a
    `linalg.softmax`, or torch-mlir's safe softmax, whose rows with every
    score -inf give zeros), and that one's only
    reader is a contraction region that multiplies the probabilities by V,
    the three become one `attention` region, computed as one kernel that
    never writes the scores (see docs/codegen.md). The pass merges only what
    the attention family computes on `chip`: f16 operands whose copies fit
    the tensor-core tiles (checked on the tensors the copies view), on a chip with the m16n8k16 atom and
    asynchronous copies, heads of 16 to 128 elements in steps of 16 (see
    matchAttentionBody in KernelRegions.h). Other attention stays three
    regions.

    ```mlir
    %s = tesa.kernel contraction -> tensor<12x128x128xf16> { ... Q K^T, scaled ... }
    %p = tesa.kernel row_reduction -> tensor<12x128x128xf16> { ... softmax of %s ... }
    %c = tesa.kernel contraction -> tensor<128x12x64xf16> { ... %p V, transposed ... }
    // becomes
    %c = tesa.kernel attention -> tensor<128x12x64xf16> {
      %0 = linalg.generic ... // Q K^T
      %1 = linalg.generic ... // scaled
      ...                     // the softmax's ops
      %6 = linalg.generic ... // P V
      %7 = linalg.generic ... // transposed
      tesa.yield %7 : tensor<128x12x64xf16>
    }
    ```
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_80\"",
           "Chip whose attention kernels the regions become">,
  ];
  let dependentDialects = ["tesa::TesaDialect"];
}

def ChooseTileConfigs : Pass<"tesa-choose-tile-configs"> {
  let summary = "Give every tesa.kernel region a #tesa.tile_config";
  let description = [{
    Chooses the configuration of each kernel region for `chip`, and writes
    it as the region's `config` (a region that has one keeps it, so that a
    program can carry tuned configurations):

    * contraction of f16 operands that the tensor-core tiles copy in
      16-byte pieces, on a chip with the m16n8k16 atom and `cp.async`:
      that atom, four warps; the configuration in the chip's measured table
      for the product's exact size if it has one, else the largest of
      128x128, 128x64, 64x64 and 64x32 tiles that gives every
      multiprocessor two, K steps of 64 four deep where shared memory holds
      them (else 32, three deep). On sm_90, Linears (both operands along
      K) of 64 rows or more take the wgmma atom instead: the chip's
      measured wgmma table (whose rows may copy by TMA, one more warp),
      else a size rule on cp.async tiles. Contraction regions of the same
      sizes that multiply one operand and do not depend on each other (a
      layer's Q, K and V projections), which the lowering launches as one
      grid, take the table's row for their product of all their columns
      where it has one.
    * other contractions: 64x64x8 output tiles (4x4 outputs a thread) when
      they give every multiprocessor a tile, else 32x32x16 (2x2), 256
      threads; exact f32 FMA. `contraction-tile` and `thread-tile` override
      the choice.
    * either: every output tile computed (`work = dense_grid`), and K split
      into `split_k` slices when the tiles are fewer than the
      multiprocessors.
    * row_reduction: one row per block of threads, about four elements a
      thread, 32 to 256 threads.
    * convolution: 256 threads a block, each a run of neighbouring outputs
      along the output's last dimension, since they share most of their
      windows' input elements (`thread_tile`: of an even dimension the
      longest power of two that divides it, whose results one aligned
      vector stores, else its longest divisor; at most `convolution-run`,
      8 unless given).
    * attention: 64 queries a block (32 where blocks of 64 would leave
      more than half of the multiprocessors without one) in warps' groups
      of 16, each group's keys split between two warps (128 keys a step)
      where shared memory holds the rings, else one (64); two stages.

    ```mlir
    %y = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 8], thread_tile = [4, 4], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<512x3072xf32> {
    ```
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_80\"",
           "Chip to choose configurations for">,
    ListOption<"contractionTile", "contraction-tile", "int64_t",
               "Every contraction's output tile M,N and reduction step K">,
    ListOption<"threadTile", "thread-tile", "int64_t",
               "With contraction-tile: the M,N outputs of each thread">,
    Option<"convolutionRun", "convolution-run", "int64_t",
           /*default=*/"8",
           "The most neighbouring outputs a convolution thread computes "
           "(1: one output a thread)">,
  ];
}

def InlineKernelRegions : Pass<"tesa-inline-kernel-regions"> {
  let summary = "Put the ops of tesa.kernel regions back in place";
  let description = [{
    Replaces every `tesa.kernel` with the ops of its body, its results with
    the values its `tesa.yield` gives. The program computes the same; the
    operand transposes that region formation folded stay folded.
  }];
}

def SimplifyFloatMath : Pass<"tesa-simplify-float-math"> {
  let summary = "Cheaper forms of scalar float math that compute the same values";
  let description = [{
    Rewrites scalar float ops, wherever they are (linalg payloads, kernel
    bodies), into forms that compute the same value for every input and
    cost GPU threads less:

    * a `math` op of constants whose result is a 16-bit float (upstream
      folds only f32 and f64) becomes a constant: evaluated in double and
      rounded to the format, the value a correctly rounded op gives (the
      GPU otherwise computes torch-mlir's `math.sqrt` of 2 in an f16 GELU
      with an approximate f32 square root, per element);
    * a division by a constant power of two whose reciprocal the type
      holds exactly becomes a multiplication by that reciprocal (any float
      type);
    * a division of a 16-bit float by a constant becomes one f32
      multiplication by the f32 reciprocal, rounded to the format, where
      that gives the format's quotient for every one of its 65536 values
      (checked when the pass runs; true of every f16 divisor in [1, 2)).
      On GPUs a division is a subroutine (`div.rn.f32`: a reciprocal, a
      correction and a branch to a slow path).

    ```mlir
    %c2 = arith.constant 2.0 : f16
    %s = math.sqrt %c2 : f16
    %q = arith.divf %x, %s : f16
    %h = arith.divf %y, %c8 : f32
    // becomes
    %r = arith.constant 0.70717... : f32    // 1 / 1.4140625 rounded to f32
    %e = arith.extf %x : f16 to f32
    %m = arith.mulf %e, %r : f32
    %q = arith.truncf %m : f32 to f16
    %h = arith.mulf %y, %c0_125 : f32
    ```

    `--tesa-pipeline` and `--tesa-host-pipeline` run it after the kernel
    regions and parts are lowered (the regions' patterns see the program as
    written).
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def FoldTableLoads : Pass<"tesa-fold-table-loads"> {
  let summary = "Loads from regular constant tables as index arithmetic";
  let description = [{
    The kernels tesa emits walk constant integer tables (`memref.global`
    constants: the rows a part keeps, where each row's entries start, the
    step of each entry), often in a chain of loads from global memory
    before their first copy can start. Where a table's values follow

    ```
    table[i] = base + step * (i mod period) + periodStep * (i div period)
    ```

    (a constant, an arithmetic sequence, or one repeated with a constant
    shift: every block of a 2:4 weight is kept, so its entries start at
    12 r and entry e is step e mod 12), each `memref.load` from it becomes
    that arithmetic on its index, and the table, once nothing reads it, is
    erased:

    ```mlir
    memref.global "private" constant @p_steps : memref<24xi32> =
        dense<[0, 1, ..., 11, 0, 1, ..., 11]>
    %t = memref.get_global @p_steps : memref<24xi32>
    %s = memref.load %t[%i] : memref<24xi32>
    // becomes
    %j = arith.index_castui %i : index to i32
    %c12 = arith.constant 12 : i32
    %s = arith.remui %j, %c12 : i32
    ```

    The arithmetic is in i32 (32-bit division by a constant is a few
    instructions; the 64-bit division of `index` made the copy loop of the
    2:4 warpgroup kernel 4% slower than its table loads). A load's index
    is in the table's bounds wherever the load runs, so the form's values
    beyond them are never used. Tables of 1-D integers of at most 32 bits
    only. `--tesa-pipeline` and `--tesa-host-pipeline` run
    it on the kernel modules once the kernels are outlined.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def ExpandHalfErf : Pass<"tesa-expand-half-erf"> {
  let summary = "erf of 16-bit floats as a branch-free polynomial in f32";
  let description = [{
    Rewrites `math.erf` on `f16` or `bf16` scalars into f32 arithmetic
    without branches: t = min(|x|, 2.5996), the odd polynomial
    t + t * Q(t^2) (Q of degree 10), rounded to the format, then given x's
    sign bit by an integer `or` (the rounded magnitude has none; LLVM
    lowers an f16 `copysign` to an abs, a negation and a select). It is the
    correctly rounded erf of every value of the format (`HalfFloatMathTest`
    checks all of them; NaN stays NaN, erf(-0) is -0, erf(+-inf) is +-1).

    On GPUs `math.erf` otherwise becomes libdevice's `erff` (NVVM), whose
    branch for large arguments splits each element's code into basic
    blocks: ptxas then cannot interleave the elements of a thread (a part's
    epilogue applies torch-mlir's f16 GELU to each of its accumulators one
    after the other, each waiting for its own loads).

    ```mlir
    %y = math.erf %x : f16
    // becomes
    %e = arith.extf %x : f16 to f32
    %a = math.absf %e : f32
    %t = arith.minimumf %a, %clamp : f32
    %s = arith.mulf %t, %t : f32
    ... Q(%s) by math.fma, then %r = math.fma %t, %q, %t
    %m = arith.truncf %r : f32 to f16
    %sign = arith.andi (arith.bitcast %x : f16 to i16), %c-32768_i16 : i16
    %y = arith.bitcast (arith.ori (arith.bitcast %m : f16 to i16), %sign)
        : i16 to f16
    ```

    `--tesa-pipeline` and `--tesa-host-pipeline` run it after
    `--tesa-simplify-float-math`. `math.erf` on f32 and f64 is left to the
    target's library.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::math::MathDialect"];
}

#endif // TESA_TRANSFORMS_PASSES_TD
