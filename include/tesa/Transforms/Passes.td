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
    Inline maps are canonical from the moment they are parsed; a
    `dense_resource` map is kept as written because its data is parsed
    later. This pass replaces every resource-backed encoding by the
    canonical attribute for the same sparsity (coarsest exact block grid,
    `bits = N` when uniform), in every type of the IR, so that equal sparsity
    gives identical types.

    ```mlir
    // Before: a 4x4 resource map whose entries are all 8.
    tensor<4x4xf32, #tesa.sparsity<map = dense_resource<m> : tensor<4x4xi8>>>
    // After:
    tensor<4x4xf32, #tesa.sparsity<bits = 8>>
    ```
  }];
}

#endif // TESA_TRANSFORMS_PASSES_TD
