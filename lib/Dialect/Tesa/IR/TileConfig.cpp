//===- TileConfig.cpp - The kinds and tile configurations of kernels ------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The enumerations of TesaEnums.td and the checks of #tesa.tile_config.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"

#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace tesa;

#include "tesa/Dialect/Tesa/IR/TesaEnums.cpp.inc"

LogicalResult
TileConfigAttr::verify(llvm::function_ref<InFlightDiagnostic()> emitError,
                       ArrayRef<int64_t> tile, ArrayRef<int64_t> threadTile,
                       int64_t threads, int64_t stages, CopyEngine copy,
                       MmaAtom atom, WorkListKind work, int64_t splitK,
                       int64_t cluster) {
  auto positive = [](ArrayRef<int64_t> sizes) {
    return llvm::all_of(sizes, [](int64_t size) { return size > 0; });
  };
  if (tile.empty() || threadTile.empty() || !positive(tile) ||
      !positive(threadTile))
    return emitError() << "tile and thread_tile must be non-empty lists of "
                          "positive sizes";
  if (threads <= 0 || threads % 32 != 0 || threads > 1024)
    return emitError() << "threads must be a multiple of 32 in [32, 1024], "
                          "got "
                       << threads;
  if (stages < 1 || splitK < 1)
    return emitError() << "stages and split_k must be at least 1";
  if (work == WorkListKind::Persistent && copy != CopyEngine::Tma)
    return emitError() << "a persistent work list takes tiles copied by tma";
  // The portable cluster sizes; its blocks share A's slices by multicast.
  if (cluster != 1 && cluster != 2 && cluster != 4 && cluster != 8)
    return emitError() << "cluster must be 1, 2, 4 or 8 blocks, got "
                       << cluster;
  if (cluster > 1 &&
      (atom != MmaAtom::WgmmaF16M64NK16 || copy != CopyEngine::Tma ||
       work != WorkListKind::DenseGrid || splitK != 1))
    return emitError() << "clusters of blocks take wgmma tiles copied by tma "
                          "on a dense_grid without split_k";
  // A contraction tile: every thread (with an mma atom, every warp; with
  // wgmma, every warpgroup) keeps a thread_tile of the outputs.
  if (tile.size() == 3 && threadTile.size() == 2) {
    int64_t perTile = atom == MmaAtom::FmaF32          ? 1
                      : atom == MmaAtom::WgmmaF16M64NK16 ? 128
                                                         : 32;
    // With TMA, one more warp issues the copies.
    int64_t copyThreads = copy == CopyEngine::Tma ? 32 : 0;
    if (tile[0] % threadTile[0] != 0 || tile[1] % threadTile[1] != 0 ||
        (tile[0] / threadTile[0]) * (tile[1] / threadTile[1]) * perTile +
                copyThreads !=
            threads)
      return emitError() << "a " << tile[0] << "x" << tile[1] << " tile in "
                         << (perTile == 1    ? "thread"
                             : perTile == 32 ? "warp"
                                             : "warpgroup")
                         << " tiles of "
                         << threadTile[0] << "x" << threadTile[1]
                         << " does not take " << threads << " threads";
  }
  return success();
}

int64_t TileConfigAttr::getStagedF16Bytes() const {
  ArrayRef<int64_t> tile = getTile();
  int64_t k = tile[2];
  // wgmma: unpadded [row][k] tiles, and up to 1 KiB to align the first.
  if (getAtom() == MmaAtom::WgmmaF16M64NK16)
    return getStages() * 2 * k * (tile[0] + tile[1]) + 1024;
  // The padding is per row of either order: the larger of the two.
  auto elements = [&](int64_t rows) {
    return std::max(rows * (k + 8), k * (rows + 8));
  };
  return getStages() * 2 * (elements(tile[0]) + elements(tile[1]));
}
