//===- TesaOps.td - tesa operation definitions -------------*- tablegen -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_DIALECT_TESA_IR_TESAOPS_TD
#define TESA_DIALECT_TESA_IR_TESAOPS_TD

include "tesa/Dialect/Tesa/IR/TesaDialect.td"
include "tesa/Dialect/Tesa/IR/TesaAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Tesa_AnnotateOp : Tesa_Op<"annotate", [Pure]> {
  let summary = "Attach or replace the sparsity encoding of a tensor value";
  let description = [{
    Returns its operand with the result type's encoding: the user declares
    that the result has the given sparsity (elements the encoding prunes are
    zero or not needed; kept elements need no more than the given bits). The
    result has the operand's shape and element type; its encoding is a
    `#tesa.sparsity` attribute, or none to drop the operand's encoding.

    ```mlir
    %w8 = tesa.annotate %w : tensor<64x64xf32>
        -> tensor<64x64xf32, #tesa.sparsity<map = dense<[[8, 0], [0, 8]]> : tensor<2x2xi8>>>
    ```

    An annotation whose result type equals its operand type folds away.
  }];
  let arguments = (ins AnyRankedTensor:$source);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$source attr-dict `:` type($source) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}


def Tesa_ExtractPartOp : Tesa_Op<"extract_part", [Pure]> {
  let summary = "The part of a sparse tensor that one sub-operator computes";
  let description = [{
    Returns a tensor equal to its operand on the elements that the result
    type's `#tesa.sparsity` encoding keeps, and zero everywhere else. The
    kept set of the result must be a subset of the operand's. Written by
    `--tesa-decompose`: each part of a decomposed operator reads the sparse
    operand through one of these, so the plan is visible in the IR and the
    parts of one operand can be checked to cover it exactly.

    ```mlir
    %blocks = tesa.extract_part %w : tensor<64x64xf32, #tesa.sparsity<map = dense<[[8, 0], [32, 8]]> : tensor<2x2xi8>>>
        -> tensor<64x64xf32, #tesa.sparsity<map = dense<[[8, 0], [0, 8]]> : tensor<2x2xi8>>>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$source);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$source attr-dict `:` type($source) `->` type($result)";
  let hasVerifier = 1;
}

def Tesa_PartMatmulOp : Tesa_Op<"part_matmul", [Pure]> {
  let summary = "One part of a decomposed sparse matrix multiplication";
  let description = [{
    Computes `acc + lhs * rhs` for 2-D tensors of one element type (f32, or
    f16 as a half-precision program has them), or for f16 operands with an
    f32 accumulator and result (a product that widens its f16 operands, as
    `linalg.matmul` of f16 tensors into f32 does), where the operand named by
    `sparse_operand` (0 = lhs, 1 = rhs) is one part of a decomposed sparse
    operand: only the elements its encoding keeps take part, rounded to the
    width the part is computed in:

    * `bits = 32`: f32 products, f32 accumulation.
    * `bits = 16`: both operands rounded to f16 (f16 operands as they are),
      products accumulated in f32, the sum rounded to the result's type.
    * `bits = 8` / `bits = 4`: symmetric integer quantisation. The sparse
      operand has one scale per output channel, `max |w| / qmax` over the
      channel's kept elements (qmax = 127, or 7 for 4 bits); the dense operand
      has one scale per output index of its own, `max |x| / 127`. Values round
      to nearest even, products accumulate in i32 and are dequantised into
      the f32 accumulator.

    The keyword after the op's name (`kernel`) names the kind of kernel the
    cost model chose: `block` (the
    part's kept elements lie in blocks of shape `block`, in the sparse
    operand's dimensions, computed as dense tiles), `structured` (f16 only:
    blocks as for `block`, in which every output channel keeps at most two
    of every four consecutive reduction elements, computed on sparse tensor
    cores where the chip has them, as dense tiles elsewhere) or `fine`
    (scattered elements, computed one by one). The kind and block shape
    select the code generated for the part; they do not change the result.

    The last part of a product may carry an `epilogue`: a region with one
    argument of the result's element type, ending in `tesa.yield` of one
    value of that type, applied to every element of the
    result once the part is added (an activation, fused by
    `--tesa-fuse-epilogues`). Its ops must be free of side effects.

    ```mlir
    %r = tesa.part_matmul fine %x, %p, %acc {sparse_operand = 1, block = array<i64>, bits = 32}
        : tensor<16x64xf32>, tensor<64x64xf32, #tesa.sparsity<...>>, tensor<16x64xf32> -> tensor<16x64xf32>
        epilogue {
    ^bb0(%v: f32):
      %zero = arith.constant 0.0 : f32
      %relu = arith.maximumf %v, %zero : f32
      tesa.yield %relu : f32
    }
    ```

    ```mlir
    %p = tesa.extract_part %w : tensor<64x64xf32, #tesa.sparsity<map = dense<[[8, 0], [32, 8]]> : tensor<2x2xi8>>>
        -> tensor<64x64xf32, #tesa.sparsity<map = dense<[[8, 0], [0, 8]]> : tensor<2x2xi8>>>
    %r = tesa.part_matmul block %x, %p, %acc {sparse_operand = 1, block = array<i64: 32, 32>, bits = 8}
        : tensor<16x64xf32>, tensor<64x64xf32, #tesa.sparsity<map = dense<[[8, 0], [0, 8]]> : tensor<2x2xi8>>>, tensor<16x64xf32>
        -> tensor<16x64xf32>
    ```

    ```mlir
    %r = tesa.part_matmul block %x, %p, %acc {sparse_operand = 1, block = array<i64: 32, 32>, bits = 16}
        : tensor<16x64xf16>, tensor<64x64xf16, #tesa.sparsity<map = dense<[[16, 0], [0, 16]]> : tensor<2x2xi8>>>, tensor<16x64xf32>
        -> tensor<16x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs,
                       AnyRankedTensor:$acc,
                       ConfinedAttr<I64Attr, [IntMinValue<0>, IntMaxValue<1>]>:$sparse_operand,
                       Tesa_PartKernel:$kernel,
                       DenseI64ArrayAttr:$block,
                       I64Attr:$bits);
  let results = (outs AnyRankedTensor:$result);
  let regions = (region AnyRegion:$epilogue);
  let assemblyFormat = [{
    $kernel $lhs `,` $rhs `,` $acc attr-dict `:` type($lhs) `,` type($rhs)
    `,` type($acc) `->` type($result) (`epilogue` $epilogue^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The sparse operand (lhs or rhs).
    ::mlir::Value getSparse() {
      return getSparseOperand() == 0 ? getLhs() : getRhs();
    }
    /// The other, dense operand.
    ::mlir::Value getDense() {
      return getSparseOperand() == 0 ? getRhs() : getLhs();
    }
    /// Whether `op` may be part of an epilogue: a pure arith or math op
    /// without regions.
    static bool canBeInEpilogue(::mlir::Operation *op);
    /// The checks of a `structured` kernel: f16, blocks along whole groups
    /// of four reduction elements, and a 2:4 map.
    ::mlir::LogicalResult verifyStructured();
    /// Whether the part applies an epilogue to its result.
    bool hasEpilogue() { return !getEpilogue().empty(); }
    /// The epilogue applied to `value` (an element of the result): its ops
    /// cloned at `builder`'s insertion point; `value` when there is none.
    ::mlir::Value buildEpilogue(::mlir::OpBuilder &builder,
                                ::mlir::Value value);
    /// The largest quantised magnitude of the sparse operand's elements.
    int64_t getSparseQmax() { return getBits() == 4 ? 7 : 127; }

    // The integer semantics, built as scalar arith/math ops so that every
    // lowering (linalg for the host, the GPU kernels) computes them alike.

    /// The scale of a channel whose largest magnitude is `maxAbs`.
    static ::mlir::Value buildScale(::mlir::OpBuilder &builder,
                                    ::mlir::Location loc,
                                    ::mlir::Value maxAbs, int64_t qmax);
    /// What quantising multiplies by: 1 / scale, or 0 where the scale is
    /// not positive. Built once per scale, outside the loops that use it.
    static ::mlir::Value buildInverseScale(::mlir::OpBuilder &builder,
                                           ::mlir::Location loc,
                                           ::mlir::Value scale);
    /// `value` as i8: value * inverseScale (see buildInverseScale), clamped
    /// to [-qmax, qmax] and rounded to nearest, ties to even.
    static ::mlir::Value buildQuantise(::mlir::OpBuilder &builder,
                                       ::mlir::Location loc,
                                       ::mlir::Value value,
                                       ::mlir::Value inverseScale,
                                       int64_t qmax);
    /// `acc + float(product) * (scale * otherScale)`.
    static ::mlir::Value buildDequantise(::mlir::OpBuilder &builder,
                                         ::mlir::Location loc,
                                         ::mlir::Value product,
                                         ::mlir::Value scale,
                                         ::mlir::Value otherScale,
                                         ::mlir::Value acc);
  }];
}

def Tesa_KernelOp : Tesa_Op<"kernel", [
    RecursiveMemoryEffects, SingleBlock]> {
  let summary = "A region of ops that becomes one GPU kernel";
  let description = [{
    Groups ops of a linalg-on-tensors program that code generation emits as
    one kernel of the family `family`, with the configuration `config`
    (see `#tesa.tile_config`; absent until `--tesa-choose-tile-configs`
    runs). The region is executed once, in place: it may use any value
    defined above it, and its `tesa.yield` gives the op's results.
    `--tesa-form-kernel-regions` forms the regions:

    * `contraction`: one `linalg.generic` contraction (matmul, batch_matmul
      and their transposed forms), the transposes of its operands folded
      into its indexing maps, and the elementwise ops after it (bias,
      activation, residual add, scaling, a transpose of the result) as its
      epilogue;
    * `row_reduction`: reductions of rows (the last dimension) and the
      elementwise ops over the same rows around them: a softmax, a layer
      norm;
    * `convolution`: one convolution (depthwise or not), generalised to a
      `linalg.generic`, and the elementwise ops after it as its epilogue
      (bias, batch norm, ReLU6); a `tensor.pad` producing its input stays
      outside and is read as the padding value where the window leaves
      the source.

    ```mlir
    %r = tesa.kernel contraction config(#tesa.tile_config<tile = [64, 64, 16], thread_tile = [4, 4], threads = 256, stages = 1, copy = registers, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<16x64xf32> {
      %p = linalg.generic {...} ins(%x, %w : ...) outs(%acc : tensor<16x64xf32>) {...} -> tensor<16x64xf32>
      %y = linalg.generic {...} ins(%p, %bias : ...) outs(%e : tensor<16x64xf32>) {...} -> tensor<16x64xf32>
      tesa.yield %y : tensor<16x64xf32>
    }
    ```

    `--tesa-lower-kernel-regions` turns each region into a kernel and its
    launch; `--tesa-inline-kernel-regions` puts the ops back in place.
  }];
  let arguments = (ins Tesa_KernelFamily:$family,
                       OptionalAttr<Tesa_TileConfigAttr>:$config);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $family (`config` `(` qualified($config)^ `)`)? (`->` type($results)^)?
    attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The terminator of the body.
    YieldOp getYield();
    /// The ops of the body, in order, without the terminator.
    llvm::SmallVector<mlir::Operation *> getBodyOps();
  }];
}

def Tesa_YieldOp : Tesa_Op<"yield",
    [Pure, Terminator,
     ParentOneOf<["PartMatmulOp", "KernelOp"]>]> {
  let summary = "The values a region of a tesa op computes";
  let description = [{
    Ends the `epilogue` region of a `tesa.part_matmul` with the element's
    new value, or the body of a `tesa.kernel` with its results.
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif // TESA_DIALECT_TESA_IR_TESAOPS_TD
