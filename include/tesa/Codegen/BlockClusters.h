//===- BlockClusters.h - When block tiles run in clusters -------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The choice of `--tesa-lower-parts-to-gpu`'s `block-clusters` option: where
// a part in tiles of groups of block rows (slabs) on sm_90 with TMA copies
// (f16 kept-block parts, int8 block parts) runs neighbouring tiles as a
// cluster that walks the blocks any of their slabs keeps and loads each
// step's slice of the dense operand once for all of them (TMA multicast),
// instead of once a tile.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CODEGEN_BLOCKCLUSTERS_H
#define TESA_CODEGEN_BLOCKCLUSTERS_H

#include "llvm/Support/CommandLine.h"

namespace tesa {

/// When a block part's tiles of slab groups run in clusters.
enum class BlockClusters {
  /// Where the clusters' walks read few enough of the dense operand's
  /// slices for the kernels to be faster, as measured (see
  /// docs/codegen.md, "Kept-block parts").
  Auto,
  /// Wherever the clusters' walks read fewer slices than the tiles' own.
  FewerReads,
  /// Never.
  Off,
};

/// The choices' names, for the options that take one.
inline llvm::cl::ValuesClass getBlockClustersValues() {
  return llvm::cl::values(
      clEnumValN(BlockClusters::Auto, "auto",
                 "where they read few enough slices to be faster"),
      clEnumValN(BlockClusters::FewerReads, "fewer-reads",
                 "wherever they read fewer slices than the tiles alone"),
      clEnumValN(BlockClusters::Off, "off", "never"));
}

/// The fraction of the unclustered tiles' reads of the dense operand's
/// slices that clustered tiles must stay under to be taken: `measured` (a
/// family's measured bound) under Auto, 1 under FewerReads, 0 under Off.
inline double getClusterMaxReads(BlockClusters clusters, double measured) {
  switch (clusters) {
  case BlockClusters::Auto:
    return measured;
  case BlockClusters::FewerReads:
    return 1.0;
  case BlockClusters::Off:
    return 0.0;
  }
  return 0.0;
}

} // namespace tesa

#endif // TESA_CODEGEN_BLOCKCLUSTERS_H
