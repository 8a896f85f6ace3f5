//===- RuleUtils.cpp - Helpers shared by the propagation rules ------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "RuleUtils.h"

#include "tesa/Analysis/ScalarEvaluation.h"
#include "tesa/Analysis/SparsityLattice.h"

#include "mlir/IR/BuiltinTypes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/Operation.h"

using namespace mlir;
using namespace tesa;
using namespace tesa::propagation;

uint8_t propagation::getFullBitsOf(Value value) {
  Type type = value.getType();
  if (auto shaped = dyn_cast<ShapedType>(type))
    type = shaped.getElementType();
  return getFullBits(type).value_or(32);
}

std::vector<uint8_t> propagation::getElementEntries(const SparsityMap &map) {
  return map.getEntriesOn(map.getShape());
}

SparsityMap propagation::mapFromElements(ArrayRef<int64_t> shape,
                                    std::vector<uint8_t> entries) {
  return llvm::cantFail(SparsityMap::get(shape, shape, std::move(entries)))
      .getCanonical();
}

FailureOr<Slice>
propagation::getStaticSlice(OffsetSizeAndStrideOpInterface op) {
  Slice slice{SmallVector<int64_t>(op.getStaticOffsets()),
              SmallVector<int64_t>(op.getStaticSizes()),
              SmallVector<int64_t>(op.getStaticStrides())};
  for (ArrayRef<int64_t> values : {ArrayRef(slice.offsets),
                                   ArrayRef(slice.sizes),
                                   ArrayRef(slice.strides)})
    if (llvm::any_of(values, ShapedType::isDynamic))
      return failure();
  return slice;
}

SmallVector<Slice> propagation::getConcatPieces(tensor::ConcatOp op) {
  SmallVector<Slice> pieces;
  int64_t offset = 0;
  unsigned dim = op.getDim();
  for (Value input : op.getInputs()) {
    ArrayRef<int64_t> shape = cast<RankedTensorType>(input.getType()).getShape();
    Slice slice{SmallVector<int64_t>(shape.size(), 0),
                SmallVector<int64_t>(shape),
                SmallVector<int64_t>(shape.size(), 1)};
    slice.offsets[dim] = offset;
    offset += shape[dim];
    pieces.push_back(std::move(slice));
  }
  return pieces;
}

FailureOr<Slice> propagation::getPadSlice(tensor::PadOp op) {
  ArrayRef<int64_t> low = op.getStaticLow();
  if (llvm::any_of(low, ShapedType::isDynamic) ||
      llvm::any_of(op.getStaticHigh(), ShapedType::isDynamic))
    return failure();
  ArrayRef<int64_t> shape = op.getSourceType().getShape();
  return Slice{SmallVector<int64_t>(low), SmallVector<int64_t>(shape),
               SmallVector<int64_t>(shape.size(), 1)};
}

void propagation::forEachSliceElement(ArrayRef<int64_t> shape,
                                 ArrayRef<int64_t> offsets,
                                 ArrayRef<int64_t> sizes,
                                 ArrayRef<int64_t> strides,
                                 function_ref<void(int64_t, int64_t)> fn) {
  unsigned rank = shape.size();
  SmallVector<int64_t> tensorStride(rank, 1);
  for (int d = int(rank) - 2; d >= 0; --d)
    tensorStride[d] = tensorStride[d + 1] * shape[d + 1];
  int64_t count = 1;
  for (int64_t size : sizes)
    count *= size;
  if (count == 0)
    return;
  SmallVector<int64_t> index(rank, 0);
  for (int64_t slice = 0; slice < count; ++slice) {
    int64_t linear = 0;
    for (unsigned d = 0; d < rank; ++d)
      linear += (offsets[d] + index[d] * strides[d]) * tensorStride[d];
    fn(linear, slice);
    for (int d = int(rank) - 1; d >= 0; --d) {
      if (++index[d] < sizes[d])
        break;
      index[d] = 0;
    }
  }
}

llvm::hash_code propagation::hashOpStructure(Operation *root) {
  DenseMap<Value, unsigned> numbering;
  llvm::hash_code hash = llvm::hash_value(root->getNumOperands());
  auto hashOperand = [&](Value v) {
    auto it = numbering.find(v);
    if (it != numbering.end())
      return llvm::hash_combine(1, it->second);
    Attribute constant;
    if (matchPattern(v, m_Constant(&constant)))
      return llvm::hash_combine(2, constant);
    return llvm::hash_combine(3, v.getType());
  };
  root->walk<WalkOrder::PreOrder>([&](Operation *op) {
    hash = llvm::hash_combine(hash, op->getName(), op->getRawDictionaryAttrs(),
                              op->hashProperties());
    for (Value operand : op->getOperands())
      hash = llvm::hash_combine(hash, hashOperand(operand));
    for (Type type : op->getResultTypes())
      hash = llvm::hash_combine(hash, type);
    for (Value result : op->getResults())
      numbering.try_emplace(result, numbering.size());
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments()) {
          hash = llvm::hash_combine(hash, arg.getType());
          numbering.try_emplace(arg, numbering.size());
        }
  });
  return hash;
}
