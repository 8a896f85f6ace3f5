//===- ChooseTileConfigs.cpp - A #tesa.tile_config for every region -------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Target/ChipDescription.h"
#include "tesa/Transforms/KernelRegions.h"
#include "tesa/Transforms/Passes.h"

#include "llvm/Support/MathExtras.h"

namespace tesa {
#define GEN_PASS_DEF_CHOOSETILECONFIGS
#include "tesa/Transforms/Passes.h.inc"
} // namespace tesa

using namespace mlir;
using namespace tesa;

namespace {

/// The contraction tilings to choose from, largest first: tile M x N x K and
/// each thread's M x N outputs, 256 threads each. Measured on an H200
/// (bench/contraction_tiles.py, docs/codegen.md): 64x64x8 was the fastest
/// wherever its tiles filled the multiprocessors, 32x32x16 otherwise;
/// 128x128x8 was 1.3-5x slower than both on every BERT-base product.
struct ContractionTiling {
  int64_t tile[3], threadTile[2];
};
constexpr ContractionTiling kContractionTilings[] = {
    {{64, 64, 8}, {4, 4}},
    {{32, 32, 16}, {2, 2}},
};

TileConfigAttr makeContractionConfig(MLIRContext *context,
                                     ArrayRef<int64_t> tile,
                                     ArrayRef<int64_t> threadTile) {
  int64_t threads =
      (tile[0] / threadTile[0]) * (tile[1] / threadTile[1]);
  return TileConfigAttr::get(context, tile, threadTile, threads,
                             /*stages=*/1, CopyEngine::Registers,
                             MmaAtom::FmaF32, WorkListKind::DenseGrid,
                             /*splitK=*/1);
}

} // namespace

TileConfigAttr tesa::chooseContractionConfig(MLIRContext *context,
                                             const ChipDescription &chip,
                                             int64_t batch, int64_t m,
                                             int64_t n) {
  // The largest tiling that still gives every multiprocessor a tile.
  const ContractionTiling *chosen = std::end(kContractionTilings) - 1;
  for (const ContractionTiling &tiling : kContractionTilings) {
    int64_t tiles = batch * llvm::divideCeil(m, tiling.tile[0]) *
                    llvm::divideCeil(n, tiling.tile[1]);
    if (tiles >= int64_t(chip.multiprocessors)) {
      chosen = &tiling;
      break;
    }
  }
  return makeContractionConfig(context, chosen->tile, chosen->threadTile);
}

TileConfigAttr tesa::chooseRowReductionConfig(MLIRContext *context,
                                              int64_t rowLength) {
  // About four elements a thread, 32 to 256 threads.
  int64_t threads = std::clamp<int64_t>(
      int64_t(llvm::PowerOf2Ceil(llvm::divideCeil(rowLength, 4))), 32, 256);
  int64_t perThread = llvm::divideCeil(rowLength, threads);
  return TileConfigAttr::get(context, {1, rowLength}, {perThread}, threads,
                             /*stages=*/1, CopyEngine::Registers,
                             MmaAtom::FmaF32, WorkListKind::Rows,
                             /*splitK=*/1);
}

namespace {

struct ChooseTileConfigsPass
    : public tesa::impl::ChooseTileConfigsBase<ChooseTileConfigsPass> {
  using ChooseTileConfigsBase::ChooseTileConfigsBase;

  void runOnOperation() override {
    llvm::Expected<const ChipDescription &> found = getChip(chip);
    if (!found) {
      emitError(getOperation()->getLoc()) << llvm::toString(found.takeError());
      return signalPassFailure();
    }
    if ((!contractionTile.empty() || !threadTile.empty()) &&
        (contractionTile.size() != 3 || threadTile.size() != 2)) {
      emitError(getOperation()->getLoc())
          << "contraction-tile takes three sizes (M,N,K) and thread-tile two "
             "(M,N)";
      return signalPassFailure();
    }
    WalkResult result = getOperation()->walk([&](KernelOp kernel) {
      // A configuration given in the input stays.
      if (kernel.getConfigAttr())
        return WalkResult::advance();
      TileConfigAttr config = chooseFor(kernel, *found);
      if (!config)
        return WalkResult::advance();
      if (failed(TileConfigAttr::verifyInvariants(
              [&] { return kernel.emitOpError(); }, config.getTile(),
              config.getThreadTile(), config.getThreads(),
              config.getStages(), config.getCopy(), config.getAtom(),
              config.getWork(), config.getSplitK())))
        return WalkResult::interrupt();
      kernel.setConfigAttr(config);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }

  TileConfigAttr chooseFor(KernelOp kernel, const ChipDescription &chip) {
    Operation *root = &kernel.getBody().front().front();
    if (kernel.getFamily() == KernelFamily::RowReduction) {
      auto type = dyn_cast<ShapedType>(root->getOperand(0).getType());
      if (!type || !type.hasStaticShape() || type.getRank() == 0)
        return nullptr;
      return chooseRowReductionConfig(&getContext(), type.getShape().back());
    }
    auto linalgOp = dyn_cast<linalg::LinalgOp>(root);
    if (!linalgOp)
      return nullptr;
    SmallVector<int64_t> ranges = linalgOp.getStaticLoopRanges();
    if (kernel.getFamily() == KernelFamily::Contraction) {
      if (!contractionTile.empty())
        return makeContractionConfig(&getContext(), contractionTile,
                                     threadTile);
      FailureOr<linalg::ContractionDimensions> dims =
          linalg::inferContractionDims(linalgOp);
      if (failed(dims))
        return nullptr;
      int64_t batch = dims->batch.empty() ? 1 : ranges[dims->batch[0]];
      return chooseContractionConfig(&getContext(), chip, batch,
                                     ranges[dims->m[0]], ranges[dims->n[0]]);
    }
    return nullptr;
  }
};

} // namespace
