//===- TesaOps.td - tesa operation definitions -------------*- tablegen -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_DIALECT_TESA_IR_TESAOPS_TD
#define TESA_DIALECT_TESA_IR_TESAOPS_TD

include "tesa/Dialect/Tesa/IR/TesaDialect.td"
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

#endif // TESA_DIALECT_TESA_IR_TESAOPS_TD
