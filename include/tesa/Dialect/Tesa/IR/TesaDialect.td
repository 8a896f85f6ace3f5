//===- TesaDialect.td - The tesa dialect -------------------*- tablegen -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_DIALECT_TESA_IR_TESADIALECT_TD
#define TESA_DIALECT_TESA_IR_TESADIALECT_TD

include "mlir/IR/OpBase.td"

def Tesa_Dialect : Dialect {
  let name = "tesa";
  let cppNamespace = "::tesa";
  let summary = "Tensors with a per-element sparsity and precision attribute";
  let description = [{
    The `tesa` dialect realises the SparTA idea ("Tensor with Sparsity
    Attribute", OSDI'22) in MLIR. Any ranked tensor may carry a
    `#tesa.sparsity` encoding that says, for every element, whether it is
    pruned or the bit width it is kept at (4, 8, 16 or 32):

    ```mlir
    func.func @layer(%x: tensor<16x64xf32>,
                     %w: tensor<64x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 8]]> : tensor<2x2xi8>>>)
    ```

    Propagation passes refine these encodings through whole programs, and
    code generation specialises kernels for the pattern known at compile
    time. The `tesa.annotate` op attaches an encoding to a value in the middle
    of a program.
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    /// Registers the attributes of TesaAttrs.td (defined in TesaAttrs.cpp).
    void registerAttributes();
    /// Registers the bytecode encoding (defined in TesaAttrs.cpp).
    void registerBytecodeInterface();
  }];
}

class Tesa_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tesa_Dialect, mnemonic, traits>;

#endif // TESA_DIALECT_TESA_IR_TESADIALECT_TD
