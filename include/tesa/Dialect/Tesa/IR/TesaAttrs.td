//===- TesaAttrs.td - tesa attribute definitions -----------*- tablegen -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_DIALECT_TESA_IR_TESAATTRS_TD
#define TESA_DIALECT_TESA_IR_TESAATTRS_TD

include "tesa/Dialect/Tesa/IR/TesaDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/IR/TensorEncoding.td"

def Tesa_SparsityAttr : AttrDef<Tesa_Dialect, "Sparsity",
    [DeclareAttrInterfaceMethods<VerifiableTensorEncoding>]> {
  let mnemonic = "sparsity";
  let summary = "Per-element sparsity and precision of a tensor";
  let description = [{
    A tensor encoding that says, for every element of the tensor, whether it
    is pruned (`0`) or the number of bits it is kept at (`4`, `8`, `16` or
    `32`). It has two forms:

    ```mlir
    // Every element kept at 8 bits.
    tensor<64x64xf16, #tesa.sparsity<bits = 8>>
    // A 2x2 grid of 32x32 blocks: one block at 32 bits, one at 8, two pruned.
    tensor<64x64xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 8]]> : tensor<2x2xi8>>>
    // One entry per element, stored as a resource blob.
    tensor<1024x1024xf32, #tesa.sparsity<map = dense_resource<w1_mask> : tensor<1024x1024xi8>>>
    ```

    `map` is a `dense<...>` (hex strings included) or `dense_resource<...>`
    elements attribute of `i8` with the tensor's rank. Each map dimension
    divides the tensor dimension, and each entry covers a block of
    (tensor dim / map dim) elements; a map dimension over a dynamic tensor
    dimension must be 1. No element may be kept at more bits than its element
    type has.

    Canonical form: equal sparsity gives the identical attribute. The parser
    and the builders reduce an inline map to the coarsest block grid that
    represents it exactly, and a uniform map to `bits = N` (`bits = 0` means
    every element is pruned). A `dense_resource` map is kept as written,
    because its data is parsed after the types that use it;
    `--tesa-canonicalize-encodings` rewrites it into canonical form, and
    `--tesa-verify-encodings` (which `tesa-opt` always runs first) checks
    its data.
  }];
  let parameters = (ins
    "unsigned":$uniformBits,
    OptionalParameter<"::mlir::ElementsAttr">:$map
  );
  let builders = [
    AttrBuilder<(ins "const ::tesa::SparsityMap &":$sparsity)>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// True for the `bits = N` form.
    bool isUniform() const { return !getMap(); }

    /// True if the map is a `dense_resource` blob.
    bool hasResourceMap() const;

    /// The map entries, row-major over the grid, or std::nullopt for a
    /// resource map whose data has not been parsed (yet). Empty for the
    /// uniform form.
    std::optional<::llvm::ArrayRef<uint8_t>> getMapEntries() const;

    /// The block grid over a tensor of rank `rank`.
    ::llvm::SmallVector<int64_t> getGridShape(unsigned rank) const;

    /// The widest bit width of any element, or std::nullopt if the map data
    /// is not available.
    std::optional<unsigned> getMaxBits() const;

    /// Checks the data of a resource map: present, one byte per entry, every
    /// entry allowed. Succeeds for the other forms.
    ::llvm::LogicalResult verifyMapData(
        ::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError) const;

    /// The value of this encoding over a statically shaped tensor. Emits an
    /// error and fails if the shape does not fit or the map data is missing.
    ::mlir::FailureOr<::tesa::SparsityMap> getSparsityMap(
        ::llvm::ArrayRef<int64_t> shape,
        ::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError) const;

    /// The canonical attribute for the same sparsity. Fails, without a
    /// diagnostic, if the map data is missing or invalid (see verifyMapData).
    ::mlir::FailureOr<SparsityAttr> getCanonical() const;
  }];
}

#endif // TESA_DIALECT_TESA_IR_TESAATTRS_TD
