//===- SparsityLattice.cpp - Lattices of sparsity propagation -------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/SparsityLattice.h"

#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace tesa;

std::optional<uint8_t> tesa::getFullBits(Type elementType) {
  unsigned width;
  if (elementType.isIntOrFloat())
    width = elementType.getIntOrFloatBitWidth();
  else if (isa<IndexType>(elementType))
    width = 64;
  else
    return std::nullopt;
  for (uint8_t bits : llvm::reverse(kAllowedBits))
    if (bits != kPrunedBits && bits <= width)
      return bits;
  return std::nullopt;
}

RankedTensorType tesa::getTrackedTensorType(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  // Tensors without elements have nothing to prune.
  if (!tensor || !tensor.hasStaticShape() || tensor.getNumElements() == 0 ||
      !getFullBits(tensor.getElementType()))
    return nullptr;
  // Only a #tesa.sparsity encoding (or none) is understood.
  if (tensor.getEncoding() && !getSparsityEncoding(tensor))
    return nullptr;
  return tensor;
}

SparsityMap tesa::getDeclaredMap(RankedTensorType type) {
  if (SparsityAttr encoding = getSparsityEncoding(type)) {
    // Encodings are verified before propagation runs; should one still be
    // unreadable, the error is reported and the type treated as dense.
    FailureOr<SparsityMap> map = encoding.getSparsityMap(
        type.getShape(),
        mlir::detail::getDefaultDiagnosticEmitFn(type.getContext()));
    if (succeeded(map))
      return *map;
  }
  return SparsityMap::getUniform(type.getShape(),
                                 *getFullBits(type.getElementType()));
}

ChangeResult SparsityFactLattice::raise(const SparsityMap &other) {
  if (!map) {
    map = other.getCanonical();
    return ChangeResult::Change;
  }
  SparsityMap joined = map->join(other);
  if (joined == *map)
    return ChangeResult::NoChange;
  map = std::move(joined);
  return ChangeResult::Change;
}

void SparsityFactLattice::print(raw_ostream &os) const {
  if (!map) {
    os << "<uninitialized>";
    return;
  }
  map->print(os);
}
