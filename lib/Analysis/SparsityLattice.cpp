//===- SparsityLattice.cpp - Lattices of sparsity propagation -------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/SparsityLattice.h"

#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/MathExtras.h"

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

/// That the elements of `value` are narrower than a fact keeps, said of
/// `whose` ("its results'"), if that is why it is not tracked.
static std::optional<std::string> describeNarrowElements(Value value,
                                                         StringRef whose) {
  auto tensor = dyn_cast<RankedTensorType>(value.getType());
  if (!tensor || !tensor.hasStaticShape() ||
      getFullBits(tensor.getElementType()))
    return std::nullopt;
  std::string text;
  llvm::raw_string_ostream os(text);
  os << whose << " elements (" << tensor.getElementType()
     << ") are narrower than the 4 bits a fact keeps";
  return text;
}

std::string tesa::describeUntrackedResult(Value result) {
  return describeNarrowElements(result, "its results'")
      .value_or("its results are not statically shaped tensors");
}

std::string tesa::describeUntrackedOperand(Value operand) {
  return describeNarrowElements(operand, "an operand's")
      .value_or("an operand is not a statically shaped tensor");
}

std::optional<int64_t> tesa::getCheckedElementCount(ShapedType type) {
  int64_t count = 1;
  for (int64_t size : type.getShape())
    if (size < 0 || llvm::MulOverflow(count, size, count))
      return std::nullopt;
  return count;
}

LogicalResult tesa::checkCountableSizes(Operation *root, StringRef pass,
                                        bool encodedOnly) {
  bool failed = false;
  llvm::DenseSet<Type> reported;
  auto check = [&](Operation *op, Type type) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor || !tensor.hasStaticShape() ||
        (encodedOnly && !getSparsityEncoding(tensor)) ||
        !reported.insert(type).second)
      return;
    if (getCheckedElementCount(tensor))
      return;
    op->emitError() << pass << ": " << tensor
                    << " has more elements than int64_t counts";
    failed = true;
  };
  root->walk([&](Operation *op) {
    for (Type type : op->getResultTypes())
      check(op, type);
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument argument : block.getArguments())
          check(op, argument.getType());
  });
  return failure(failed);
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
