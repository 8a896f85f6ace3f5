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
  SparsityMap sourceMap = getDeclaredMap(sourceType);
  std::vector<uint8_t> expected = sourceMap.getEntriesOn(sourceType.getShape());
  std::vector<uint8_t> covered(expected.size(), 0);
  for (ExtractPartOp part : parts) {
    auto partType = cast<RankedTensorType>(part.getType());
    std::vector<uint8_t> bits =
        getDeclaredMap(partType).getEntriesOn(partType.getShape());
    for (size_t i = 0; i < bits.size(); ++i) {
      if (!bits[i])
        continue;
      if (covered[i])
        return part.emitError("element ")
               << i << " (row-major) is in more than one part";
      covered[i] = bits[i];
    }
  }
  for (size_t i = 0; i < expected.size(); ++i)
    if (covered[i] != expected[i])
      return tail.emitError("element ")
             << i << " (row-major) is kept at " << unsigned(expected[i])
             << " bits by the operand but at " << unsigned(covered[i])
             << " by the parts";
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
