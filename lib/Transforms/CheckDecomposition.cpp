//===- CheckDecomposition.cpp - Parts cover their operand exactly ---------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Analysis/SparsityLattice.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/Passes.h"

namespace tesa {
#define GEN_PASS_DEF_CHECKDECOMPOSITION
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

struct CheckDecompositionPass
    : public tesa::impl::CheckDecompositionBase<CheckDecompositionPass> {
  void runOnOperation() override;
};

/// Whether some part_matmul accumulates into `op`'s result.
bool hasPartUser(PartMatmulOp op) {
  return llvm::any_of(op->getUses(), [](OpOperand &use) {
    auto user = dyn_cast<PartMatmulOp>(use.getOwner());
    return user && use.get() == user.getAcc();
  });
}

/// The row-major index, in a tensor of `shape`, of the first element of the
/// cell `cell` (row-major) of `grid`.
int64_t getFirstElement(int64_t cell, ArrayRef<int64_t> grid,
                        ArrayRef<int64_t> shape) {
  int64_t element = 0, stride = 1;
  for (int64_t d = int64_t(grid.size()) - 1; d >= 0; --d) {
    int64_t position = cell % grid[d];
    cell /= grid[d];
    element += position * (shape[d] / grid[d]) * stride;
    stride *= shape[d];
  }
  return element;
}

LogicalResult checkChain(PartMatmulOp tail) {
  SmallVector<PartMatmulOp> chain;
  for (PartMatmulOp op = tail; op;
       op = op.getAcc().getDefiningOp<PartMatmulOp>())
    chain.push_back(op);
  std::reverse(chain.begin(), chain.end());
  Value source;
  SmallVector<ExtractPartOp> parts;
  for (PartMatmulOp op : chain) {
    auto part = op.getSparse().getDefiningOp<ExtractPartOp>();
    if (!part)
      return op.emitError("sparse operand is not a tesa.extract_part");
    if (source && part.getSource() != source)
      return op.emitError("parts of one chain extract from different values");
    source = part.getSource();
    parts.push_back(part);
  }
  auto sourceType = dyn_cast<RankedTensorType>(source.getType());
  if (!sourceType || !sourceType.hasStaticShape())
    return tail.emitError("decomposed operand is not a static tensor");
  // Compared on the cells of the maps' common grid; a cell that differs
  // differs at its first element, which is the one reported.
  ArrayRef<int64_t> shape = sourceType.getShape();
  SparsityMap sourceMap = getDeclaredMap(sourceType);
  SmallVector<SparsityMap> partMaps;
  SmallVector<const SparsityMap *> maps = {&sourceMap};
  for (ExtractPartOp part : parts)
    partMaps.push_back(getDeclaredMap(cast<RankedTensorType>(part.getType())));
  for (const SparsityMap &map : partMaps)
    maps.push_back(&map);
  SmallVector<int64_t> grid = SparsityMap::getCommonGrid(maps);
  auto firstElement = [&](int64_t cell) {
    return getFirstElement(cell, grid, shape);
  };
  std::vector<uint8_t> expected = sourceMap.getEntriesOn(grid);
  std::vector<uint8_t> covered(expected.size(), 0);
  for (auto [part, map] : llvm::zip_equal(parts, partMaps)) {
    std::vector<uint8_t> bits = map.getEntriesOn(grid);
    std::optional<int64_t> overlap;
    for (size_t i = 0; i < bits.size(); ++i) {
      if (!bits[i])
        continue;
      if (covered[i])
        overlap = std::min(overlap.value_or(INT64_MAX), firstElement(i));
      covered[i] = bits[i];
    }
    if (overlap)
      return part.emitError("element ")
             << *overlap << " (row-major) is in more than one part";
  }
  std::optional<int64_t> mismatch;
  for (size_t i = 0; i < expected.size(); ++i)
    if (covered[i] != expected[i] &&
        (!mismatch || firstElement(i) < firstElement(*mismatch)))
      mismatch = i;
  if (mismatch)
    return tail.emitError("element ")
           << firstElement(*mismatch) << " (row-major) is kept at "
           << unsigned(expected[*mismatch]) << " bits by the operand but at "
           << unsigned(covered[*mismatch]) << " by the parts";
  tail.emitRemark() << "exact disjoint cover of " << sourceMap.getNumKept()
                    << " elements by " << parts.size() << " parts";
  return success();
}

} // namespace

void CheckDecompositionPass::runOnOperation() {
  bool failedAny = false;
  getOperation()->walk([&](PartMatmulOp op) {
    if (!hasPartUser(op))
      failedAny |= failed(checkChain(op));
  });
  if (failedAny)
    signalPassFailure();
}
