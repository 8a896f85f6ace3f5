//===- TileParallelLoops.cpp - Parallel loops tiled into thread blocks ----===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Tiles the host program's outermost parallel loops on their innermost
// dimensions, so that the generic path maps the tiles onto the threads of a
// block and the loops over tiles onto the grid.
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"

#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "llvm/Support/MathExtras.h"

#include <limits>

namespace tesa {
#define GEN_PASS_DEF_TILEPARALLELLOOPS
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;

/// A GPU block has three thread dimensions, and a grid three block
/// dimensions.
static constexpr unsigned kThreadDimensions = 3;
static constexpr unsigned kGridDimensions = 3;
/// Threads a block may have along z.
static constexpr int64_t kMaxThreadsZ = 64;

namespace {
struct TileParallelLoopsPass
    : public tesa::impl::TileParallelLoopsBase<TileParallelLoopsPass> {
  using Base::Base;
  LogicalResult initialize(MLIRContext *context) override;
  void runOnOperation() override;
};
} // namespace

/// A trip count only known at run time.
static constexpr int64_t kDynamicTripCount = std::numeric_limits<int64_t>::max();

/// The trip count of every dimension of `loop` (kDynamicTripCount where the
/// upper bound is not a constant), or nullopt unless every dimension runs
/// from 0 with step 1 (the loops linalg produces; upstream's bounds check
/// for fixed-size tiles is only right for those).
static std::optional<SmallVector<int64_t>> getTripCounts(scf::ParallelOp loop) {
  SmallVector<int64_t> tripCounts;
  for (auto [lower, upper, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    if (!isConstantIntValue(lower, 0) || !isConstantIntValue(step, 1))
      return std::nullopt;
    std::optional<int64_t> u = getConstantIntValue(upper);
    tripCounts.push_back(u ? std::max<int64_t>(*u, 0) : kDynamicTripCount);
  }
  return tripCounts;
}

/// Tile sizes that give the innermost dimensions `threadsPerBlock` threads
/// between them, the innermost first; 1 for the other dimensions. Dimensions
/// of a single iteration take no thread dimension.
static SmallVector<int64_t> chooseTileSizes(ArrayRef<int64_t> tripCounts,
                                            int64_t threadsPerBlock) {
  SmallVector<int64_t> tileSizes(tripCounts.size(), 1);
  int64_t budget = threadsPerBlock;
  unsigned tiled = 0;
  for (int64_t dim = tripCounts.size() - 1;
       dim >= 0 && tiled < kThreadDimensions && budget > 1; --dim) {
    if (tripCounts[dim] <= 1)
      continue;
    // The mapping gives the innermost dimension thread x; the first of
    // three takes thread z, of at most 64 threads.
    int64_t most = tripCounts.size() == kThreadDimensions && dim == 0
                       ? std::min<int64_t>(budget, kMaxThreadsZ)
                       : budget;
    int64_t tile = tripCounts[dim] >= most
                       ? most
                       : int64_t(llvm::PowerOf2Ceil(tripCounts[dim]));
    tileSizes[dim] = tile;
    budget /= tile;
    ++tiled;
  }
  return tileSizes;
}

/// `loop` with its leading dimensions collapsed into one, so that it has
/// kGridDimensions: the grid has three dimensions, and the loops over tiles
/// beyond them would run one after the other in every thread (a batch of 32
/// NCHW images would take 32 times as long). Updates `tripCounts`.
static scf::ParallelOp
collapseLeadingDimensions(RewriterBase &rewriter, scf::ParallelOp loop,
                          SmallVector<int64_t> &tripCounts) {
  unsigned leading = tripCounts.size() - kGridDimensions + 1;
  std::vector<unsigned> first;
  int64_t collapsedCount = 1;
  for (unsigned d = 0; d < leading; ++d) {
    first.push_back(d);
    collapsedCount = tripCounts[d] == kDynamicTripCount ||
                             collapsedCount == kDynamicTripCount
                         ? kDynamicTripCount
                         : collapsedCount * tripCounts[d];
  }
  SmallVector<std::vector<unsigned>> groups = {first};
  for (unsigned d = leading; d < tripCounts.size(); ++d)
    groups.push_back({d});
  Operation *before = loop->getPrevNode();
  Block *block = loop->getBlock();
  rewriter.setInsertionPoint(loop);
  collapseParallelLoops(rewriter, loop, groups);
  // The new loop follows the bounds it computes, where the old one was.
  Operation *collapsed = before ? before->getNextNode() : &block->front();
  while (!isa<scf::ParallelOp>(collapsed))
    collapsed = collapsed->getNextNode();
  SmallVector<int64_t> counts = {collapsedCount};
  counts.append(tripCounts.begin() + leading, tripCounts.end());
  tripCounts = counts;
  return cast<scf::ParallelOp>(collapsed);
}

LogicalResult TileParallelLoopsPass::initialize(MLIRContext *context) {
  int64_t threads = threadsPerBlock;
  if (threads >= 1 && threads <= 1024 && llvm::isPowerOf2_64(threads))
    return success();
  return emitError(UnknownLoc::get(context))
         << "threads-per-block must be a power of two between 1 and 1024, "
            "not "
         << threads;
}

void TileParallelLoopsPass::runOnOperation() {
  SmallVector<scf::ParallelOp> outermost;
  getOperation().walk([&](scf::ParallelOp loop) {
    if (loop.getNumResults() == 0 &&
        !loop->getParentOfType<scf::ParallelOp>() &&
        !loop->getParentOfType<gpu::LaunchOp>())
      outermost.push_back(loop);
  });
  IRRewriter rewriter(&getContext());
  for (scf::ParallelOp loop : outermost) {
    std::optional<SmallVector<int64_t>> tripCounts = getTripCounts(loop);
    if (!tripCounts)
      continue;
    if (tripCounts->size() > kGridDimensions)
      loop = collapseLeadingDimensions(rewriter, loop, *tripCounts);
    SmallVector<int64_t> tileSizes =
        chooseTileSizes(*tripCounts, threadsPerBlock);
    if (llvm::all_of(tileSizes, [](int64_t size) { return size == 1; }))
      continue;
    scf::tileParallelLoop(loop, tileSizes, /*noMinMaxBounds=*/true);
  }
}
