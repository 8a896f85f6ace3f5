//===- TesaEnums.td - tesa enumerations --------------------*- tablegen -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The kinds that code generation chooses between: kernel families, MMA
// atoms, copy engines and work lists. Each is printed as a keyword in
// `tesa.kernel` ops and `#tesa.tile_config` attributes.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_DIALECT_TESA_IR_TESAENUMS_TD
#define TESA_DIALECT_TESA_IR_TESAENUMS_TD

include "tesa/Dialect/Tesa/IR/TesaDialect.td"
include "mlir/IR/EnumAttr.td"

def Tesa_KernelFamily : I32EnumAttr<"KernelFamily",
    "the kind of kernel a region of ops becomes", [
      I32EnumAttrCase<"Contraction", 0, "contraction">,
      I32EnumAttrCase<"RowReduction", 1, "row_reduction">,
      I32EnumAttrCase<"Elementwise", 2, "elementwise">,
      I32EnumAttrCase<"Attention", 3, "attention">,
      I32EnumAttrCase<"Convolution", 4, "convolution">
    ]> {
  let cppNamespace = "::tesa";
}

def Tesa_MmaAtom : I32EnumAttr<"MmaAtom",
    "the instruction a contraction's inner product runs on", [
      I32EnumAttrCase<"FmaF32", 0, "fma_f32">,
      I32EnumAttrCase<"MmaF16M16N8K16", 1, "mma_f16_m16n8k16">,
      I32EnumAttrCase<"WgmmaF16M64NK16", 2, "wgmma_f16_m64nNk16">
    ]> {
  let cppNamespace = "::tesa";
  let genSpecializedAttr = 0;
}

def Tesa_CopyEngine : I32EnumAttr<"CopyEngine",
    "how tiles of operands move from global to shared memory", [
      I32EnumAttrCase<"Registers", 0, "registers">,
      I32EnumAttrCase<"AsyncCopy", 1, "async_copy">,
      I32EnumAttrCase<"Tma", 2, "tma">
    ]> {
  let cppNamespace = "::tesa";
  let genSpecializedAttr = 0;
}

def Tesa_PartKernel : I32EnumAttr<"PartKernel",
    "how a part of a decomposed product is computed", [
      I32EnumAttrCase<"Block", 0, "block">,
      I32EnumAttrCase<"Structured", 1, "structured">,
      I32EnumAttrCase<"Fine", 2, "fine">
    ]> {
  let cppNamespace = "::tesa";
}

def Tesa_WorkListKind : I32EnumAttr<"WorkListKind",
    "which output tiles the blocks of a kernel compute", [
      I32EnumAttrCase<"DenseGrid", 0, "dense_grid">,
      I32EnumAttrCase<"Rows", 1, "rows">,
      I32EnumAttrCase<"Persistent", 2, "persistent">
    ]> {
  let cppNamespace = "::tesa";
  let genSpecializedAttr = 0;
}

#endif // TESA_DIALECT_TESA_IR_TESAENUMS_TD
