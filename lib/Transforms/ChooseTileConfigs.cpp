//===- ChooseTileConfigs.cpp - A #tesa.tile_config for every region -------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Target/ChipDescription.h"
#include "tesa/Transforms/KernelRegions.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/RegionUtils.h"
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
/// wherever its tiles filled the multiprocessors, 32x32x16 otherwise
/// without split-K; 128x128x8 was 1.3-5x slower than both on every
/// BERT-base product. With split-K, 64x64x8 is the fastest on products of
/// at least 64 rows and columns whose tiles are fewer than the
/// multiprocessors (see kFmaMaxSlices).
struct ContractionTiling {
  int64_t tile[3], threadTile[2];
};
constexpr ContractionTiling kContractionTilings[] = {
    {{64, 64, 8}, {4, 4}},
    {{32, 32, 16}, {2, 2}},
};

/// The tensor-core tilings, largest first: tile M x N x K, each warp's
/// M x N outputs, four warps. On an H200
/// (docs/codegen.md) BERT-base's products ran with 4-6 of 16 warps a
/// multiprocessor active when their tiles only just filled the
/// multiprocessors: a product takes, of the tilings that give each
/// multiprocessor two tiles (kMmaTilesPerProcessor), the one that pads its
/// outputs least, the largest of those (pickMmaTiling). The last two are
/// for products of few rows: MobileNet-V2's pointwise convolutions as
/// batched products have 16 to 320 filters as M, and 128x128 tiles over 16
/// filters took its first one 0.72 ms on an H200, one block of 128 KiB of
/// stages a multiprocessor computing mostly padding.
constexpr ContractionTiling kMmaTilings[] = {
    {{128, 128, 64}, {64, 64}},
    {{128, 64, 64}, {64, 32}},
    {{64, 64, 64}, {32, 32}},
    {{64, 32, 64}, {32, 16}},
    {{32, 128, 64}, {16, 64}},
    {{16, 128, 64}, {16, 32}},
};
/// Tensor-core configurations measured best on one chip for products of
/// exactly these sizes (no batch), ahead of the size rule: BERT-base's
/// projections and FFN at seq 512 and 128 on an H200
/// (bench/contraction_tiles.py --element f16, bench/results/
/// contraction-tiles-f16-h200.json). The rule's two tiles a multiprocessor
/// gave 64x32 tiles to all six; the table's choices took 7.5 against 9.1 us
/// (512x768x768), 16.9 against 18.3 (512x768x3072), 17.1 against 29.5
/// (512x3072x768, 128x128 tiles over four slices of K), 5.3 against 5.9,
/// 7.4 against 9.5 and 8.9 against 10.5 (seq 128). The f16 MLP of
/// bench/torch_models.py (128 rows, 1024-4096-4096-1024; `--shapes mlp`,
/// bench/results/contraction-tiles-f16-mlp-h200.json): 8.9 against 11.3 us
/// (128x1024x4096), 22.0 against 44.4 (128x4096x4096, four slices) and
/// 8.8 against 14.4 (128x4096x1024, eight slices); cuBLAS took 4.9, 13.2
/// and 7.1.
struct MeasuredTiling {
  llvm::StringLiteral chip;
  int64_t m, k, n;
  ContractionTiling tiling;
  int64_t splitK;
  /// wgmma: how the operands move (TMA takes one more warp), and the K
  /// steps in flight (0: as many as kWgmmaStageBytes holds).
  CopyEngine copy = CopyEngine::AsyncCopy;
  int64_t stages = 0;
};
constexpr MeasuredTiling kMeasuredMmaTilings[] = {
    {"sm_90", 512, 768, 768, {{64, 64, 64}, {32, 32}}, 1},
    {"sm_90", 512, 768, 3072, {{128, 64, 64}, {64, 32}}, 1},
    {"sm_90", 512, 3072, 768, {{128, 128, 64}, {64, 64}}, 4},
    {"sm_90", 128, 768, 768, {{64, 64, 64}, {32, 32}}, 3},
    {"sm_90", 128, 768, 3072, {{64, 64, 64}, {32, 32}}, 1},
    {"sm_90", 128, 3072, 768, {{128, 64, 64}, {64, 32}}, 6},
    {"sm_90", 128, 1024, 4096, {{64, 64, 64}, {32, 32}}, 1},
    {"sm_90", 128, 4096, 4096, {{128, 128, 64}, {64, 64}}, 4},
    {"sm_90", 128, 4096, 1024, {{128, 64, 64}, {64, 32}}, 8},
};

/// The warpgroup (wgmma, sm_90) tilings, largest first: tile M x N x K and
/// a warpgroup's 64 x N outputs.
constexpr ContractionTiling kWgmmaTilings[] = {
    {{128, 256, 64}, {64, 256}}, {{128, 128, 64}, {64, 128}},
    {{64, 128, 64}, {64, 128}},  {{128, 64, 64}, {64, 64}},
    {{64, 64, 64}, {64, 64}},
};
/// Those for a B contiguous along N, whose MN-major tiles are at most 64
/// columns wide (one swizzled row).
constexpr ContractionTiling kWgmmaNarrowTilings[] = {
    {{128, 64, 64}, {64, 64}},
    {{64, 64, 64}, {64, 64}},
};
/// wgmma K steps in flight: as many as 128 KiB of stages hold, three to
/// eight (eight of 64x64x64, four of 128x128x64). On an H200, with weights
/// streamed from memory as in a model, 64x64 tiles took 5.6 us eight deep
/// against 6.6 six deep and more than 7.7 four deep (128x1024x4096).
constexpr int64_t kWgmmaStageBytes = 128 * 1024, kWgmmaMinStages = 3,
                  kWgmmaMaxStages = 8;
/// wgmma configurations measured best on one chip for products of exactly
/// these sizes (no batch), ahead of the size rule: the f16 MLP's and
/// BERT-base's Linears on an H200, weights streamed from memory
/// (bench/contraction_tiles.py --shapes linear,
/// bench/results/contraction-tiles-f16-linear-h200.json), stages by
/// kWgmmaStageBytes. cuBLAS took 5.4, 14.1 and 7.9 us on the MLP's three,
/// these 5.6, 15.5 and 6.6. The first four rows, TMA copies, are
/// BERT-base's at seq 512 on an H100, tiles as wide as make their count
/// nearly a whole wave of the 132 multiprocessors (`--shapes
/// linear-widths`,
/// bench/results/contraction-tiles-f16-linear-widths-h100.json):
/// the fused Q/K/V projections (three siblings of 768 columns, see
/// chooseContractionConfig; 96 tiles) took 6.4 us against 7.4 on the
/// 128x128 tiles (72) and 10.4 on 64x64, FFN1 (128 tiles) 7.0 against 7.6,
/// FFN2 (128 tiles of 64x48) 9.7 against 10.9 on 64x64 (96), the output
/// projection 3.7 against 4.1 on 64x64; cuBLAS 6.5, 6.7, 9.4 and 4.5.
constexpr MeasuredTiling kMeasuredWgmmaTilings[] = {
    {"sm_90", 512, 768, 2304, {{128, 96, 64}, {64, 96}}, 1, CopyEngine::Tma, 6},
    {"sm_90", 512, 768, 3072, {{128, 96, 64}, {64, 96}}, 1, CopyEngine::Tma, 6},
    {"sm_90", 512, 3072, 768, {{64, 48, 64}, {64, 48}}, 1, CopyEngine::Tma, 8},
    {"sm_90", 512, 768, 768, {{64, 48, 64}, {64, 48}}, 1, CopyEngine::Tma, 8},
    {"sm_90", 128, 1024, 4096, {{64, 64, 64}, {64, 64}}, 1},
    {"sm_90", 128, 4096, 4096, {{64, 64, 64}, {64, 64}}, 1},
    {"sm_90", 128, 4096, 1024, {{64, 64, 64}, {64, 64}}, 4},
    {"sm_90", 128, 768, 768, {{64, 64, 64}, {64, 64}}, 4},
    {"sm_90", 128, 768, 3072, {{64, 64, 64}, {64, 64}}, 1},
    {"sm_90", 128, 3072, 768, {{64, 64, 64}, {64, 64}}, 4},
};
/// wgmma split-K: none where the tiles are more than half the
/// multiprocessors (there, on the H200, the finishing kernel cost more than
/// the slices gained: 128 tiles of 128x4096x4096 took 15.5 us unsplit);
/// else the most slices, a power of two up to kWgmmaMaxSlices, that keep
/// the blocks within four a multiprocessor and every slice at least three
/// steps (four slices of 24 tiles took 5.5 against 6.3 us unsplit,
/// 128x3072x768).
constexpr int64_t kWgmmaMaxSlices = 4;

/// Steps of K in flight: four of 64 where the chip's shared memory holds
/// them, else three of 32. With three of 32 the H200 waited on memory (the
/// 512 x 768 x 3072 product took about 700 cycles a step).
constexpr int64_t kMmaStages = 4, kMmaSmallStages = 3, kMmaSmallTileK = 32;
constexpr int64_t kMmaTilesPerProcessor = 2;
/// Split-K: a product with fewer tiles than multiprocessors splits its K
/// steps into slices, enough for two blocks of threads a multiprocessor,
/// each slice at least this many steps long.
constexpr int64_t kMinStepsPerSlice = 4;

/// Exact-f32 products of 64x64 tiles fewer than the multiprocessors take
/// them with split-K, enough slices for three blocks a multiprocessor, at
/// most this many: on an H200 (bench/contraction_tiles.py --shapes split,
/// bench/results/contraction-tiles-f32-split-h200.json, docs/codegen.md)
/// four slices took 28.2 against 39.1 us (512x768x768, the previous rule's
/// 32x32 tiles), 91.2 against 151.7 (512x3072x768), 13.8 against 15.8
/// (128x768x768), 160.8 against 300.9 (128x4096x4096) and 52.0 against
/// 81.5 (128x4096x1024); two or three slices were at best 2% faster.
constexpr int64_t kFmaMaxSlices = 4, kFmaBlocksPerProcessor = 3;

/// The slices to split the K steps of `tiles` output tiles of `tileK` into
/// on `chip`: none where the tiles fill the multiprocessors, else enough for
/// `blocksPerProcessor` blocks a multiprocessor.
int64_t chooseSplitK(const ChipDescription &chip, int64_t tiles, int64_t k,
                     int64_t tileK, int64_t blocksPerProcessor = 2) {
  int64_t processors = chip.multiprocessors;
  if (tiles >= processors)
    return 1;
  int64_t wanted = llvm::divideCeil(blocksPerProcessor * processors, tiles);
  int64_t most = llvm::divideCeil(k, tileK) / kMinStepsPerSlice;
  return std::max<int64_t>(1, std::min(wanted, most));
}

/// Attention: queries a block of threads (halved where the grid would
/// leave more than half of the multiprocessors idle: at seq 128, BERT-base's
/// attention took 4.9 us with 32, 5.7 with 64, on an H200; at seq 512 64
/// was best, see bench/results/attention-tiles-f16-h200.json), the keys of
/// a step one warp takes, how many warps split a step's keys
/// for each group (doubling the warps: on an H200, BERT-base's attention
/// at seq 512 ran 96 blocks of four warps, 3 warps a multiprocessor), steps
/// in flight, and the widest head whose accumulators and query fragments
/// the registers of a warp hold.
constexpr int64_t kAttentionQueries = 64,
                  kAttentionWarpKeys = 64, kAttentionKeySplits = 2,
                  kAttentionStages = 2, kAttentionMaxHeadDim = 128;

/// Exact-f32 attention: queries a block and a group of 16 lanes, and the
/// groups a query's keys are split over, tried in order; the first whose
/// blocks are at least half as many as the multiprocessors is taken, else
/// the last. On an H200 (bench/results/attention-tiles-f32-h200.json),
/// BERT-base's attention at seq 512 (96 blocks of 64 queries) took 35 us
/// with 64 queries in groups of 8 and two splits, 38 with one split in
/// groups of 4 and 41-44 with 32 queries; at seq 128, 16 queries in groups
/// of 2 took 8.0 us, 32 in groups of 4 9.3 to 12.
struct FmaAttentionTiling {
  int64_t queries, groupQueries, splits;
};
constexpr FmaAttentionTiling kFmaAttentionTilings[] = {
    {64, 8, 2}, {32, 4, 2}, {16, 2, 1}};
/// Keys of a step a lane takes (a step is 16 lanes' keys).
constexpr int64_t kFmaAttentionLaneKeys = 4;

int64_t countTiles(const ContractionTiling &tiling, int64_t batch, int64_t m,
                   int64_t n) {
  return batch * llvm::divideCeil(m, tiling.tile[0]) *
         llvm::divideCeil(n, tiling.tile[1]);
}

/// The first of `tilings` (largest first) whose tiles of the `batch`
/// products of `m` x `n` give every multiprocessor of `chip` at least
/// `perProcessor`, else the last.
const ContractionTiling &pickTiling(ArrayRef<ContractionTiling> tilings,
                                    const ChipDescription &chip,
                                    int64_t batch, int64_t m, int64_t n,
                                    int64_t perProcessor = 1) {
  for (const ContractionTiling &tiling : tilings) {
    if (countTiles(tiling, batch, m, n) >=
        perProcessor * int64_t(chip.multiprocessors))
      return tiling;
  }
  return tilings.back();
}

/// The outputs `tiling`'s tiles cover, padding included.
int64_t countPaddedOutputs(const ContractionTiling &tiling, int64_t batch,
                           int64_t m, int64_t n) {
  return countTiles(tiling, batch, m, n) * tiling.tile[0] * tiling.tile[1];
}

/// Of `tilings` (largest first), those whose tiles give every
/// multiprocessor at least `perProcessor`, else those with the most tiles;
/// of them the first that pads the outputs least.
const ContractionTiling &pickMmaTiling(ArrayRef<ContractionTiling> tilings,
                                       const ChipDescription &chip,
                                       int64_t batch, int64_t m, int64_t n,
                                       int64_t perProcessor) {
  int64_t wanted = perProcessor * int64_t(chip.multiprocessors);
  int64_t most = 0;
  for (const ContractionTiling &tiling : tilings)
    most = std::max(most, countTiles(tiling, batch, m, n));
  const ContractionTiling *best = nullptr;
  for (const ContractionTiling &tiling : tilings) {
    int64_t tiles = countTiles(tiling, batch, m, n);
    if (tiles < std::min(wanted, most))
      continue;
    if (!best || countPaddedOutputs(tiling, batch, m, n) <
                     countPaddedOutputs(*best, batch, m, n))
      best = &tiling;
  }
  return *best;
}

/// A wgmma configuration of `tiling` (its thread tile is a warpgroup's)
/// whose operands move by `copy` (TMA: one more warp), `stages` deep (0: as
/// deep as kWgmmaStageBytes allows).
TileConfigAttr makeWgmmaConfig(MLIRContext *context,
                               const ContractionTiling &tiling, int64_t splitK,
                               CopyEngine copy = CopyEngine::AsyncCopy,
                               int64_t stages = 0) {
  int64_t warpgroups = tiling.tile[0] / tiling.threadTile[0];
  int64_t stageBytes = 2 * tiling.tile[2] * (tiling.tile[0] + tiling.tile[1]);
  if (!stages)
    stages = std::clamp(kWgmmaStageBytes / stageBytes, kWgmmaMinStages,
                        kWgmmaMaxStages);
  int64_t copyThreads = copy == CopyEngine::Tma ? 32 : 0;
  return TileConfigAttr::get(
      context, tiling.tile, tiling.threadTile, 128 * warpgroups + copyThreads,
      stages, copy, MmaAtom::WgmmaF16M64NK16, WorkListKind::DenseGrid, splitK);
}

TileConfigAttr makeContractionConfig(MLIRContext *context,
                                     ArrayRef<int64_t> tile,
                                     ArrayRef<int64_t> threadTile,
                                     int64_t splitK = 1) {
  int64_t threads =
      (tile[0] / threadTile[0]) * (tile[1] / threadTile[1]);
  return TileConfigAttr::get(context, tile, threadTile, threads,
                             /*stages=*/1, CopyEngine::Registers,
                             MmaAtom::FmaF32, WorkListKind::DenseGrid,
                             splitK);
}

} // namespace

/// The warpgroup (wgmma) configuration of the `batch` products of `m` x
/// `n` x `k` on `chip` whose operands lie as `operands` says: the measured
/// table's where it lists the product (operands along K); else of
/// kWgmmaTilings (kWgmmaNarrowTilings for a B along N), those that give
/// every multiprocessor a tile (or those with the most tiles), the one that
/// pads the outputs least; K steps of 64 (of 32 or 16 for a shorter K), as
/// deep as kWgmmaStageBytes allows; split-K by the rule of
/// kWgmmaMaxSlices.
static TileConfigAttr chooseWgmmaConfig(MLIRContext *context,
                                        const ChipDescription &chip,
                                        int64_t batch, int64_t m, int64_t n,
                                        int64_t k, WgmmaOperands operands,
                                        int64_t siblings) {
  bool alongK = operands == WgmmaOperands::AlongK;
  // Siblings' launch is their product of all their columns: the table's
  // row for it, else for one of them.
  for (int64_t columns : {siblings * n, n})
    for (const MeasuredTiling &measured : kMeasuredWgmmaTilings)
      if (alongK && measured.chip == chip.name && batch == 1 &&
          measured.m == m && measured.k == k && measured.n == columns)
        return makeWgmmaConfig(context, measured.tiling, measured.splitK,
                               measured.copy, measured.stages);
  const ContractionTiling &tiling =
      pickMmaTiling(alongK ? ArrayRef(kWgmmaTilings)
                           : ArrayRef(kWgmmaNarrowTilings),
                    chip, batch, m, n, /*perProcessor=*/1);
  int64_t tileK = k <= 16 ? 16 : k <= 32 ? 32 : 64;
  int64_t tiles = countTiles(tiling, batch, m, n);
  int64_t steps = llvm::divideCeil(k, tileK);
  int64_t processors = chip.multiprocessors;
  int64_t splitK = 1;
  if (2 * tiles <= processors)
    while (2 * splitK <= kWgmmaMaxSlices &&
           2 * splitK * tiles <= 4 * processors && 2 * splitK * 3 <= steps)
      splitK *= 2;
  ContractionTiling chosen = tiling;
  chosen.tile[2] = tileK;
  return makeWgmmaConfig(context, chosen, splitK);
}

TileConfigAttr
tesa::chooseContractionConfig(MLIRContext *context, const ChipDescription &chip,
                              int64_t batch, int64_t m, int64_t n, int64_t k,
                              bool tensorCores, WgmmaOperands wgmmaOperands,
                              int64_t siblings) {
  // Fewer rows than a warpgroup's 64 take the mma.sync tiles of 16 or 32
  // rows (MobileNet-V2's pointwise convolutions of 16 and 24 filters).
  if (tensorCores && wgmmaOperands != WgmmaOperands::None &&
      chip.hasWarpgroupMma && m >= 64)
    return chooseWgmmaConfig(context, chip, batch, m, n, k, wgmmaOperands,
                             siblings);
  if (tensorCores && chip.f16Mma && chip.hasAsyncCopy &&
      chip.f16Mma->m == 16 && chip.f16Mma->n == 8 && chip.f16Mma->k == 16) {
    const ContractionTiling &tiling =
        pickMmaTiling(kMmaTilings, chip, batch, m, n, kMmaTilesPerProcessor);
    int64_t warps = (tiling.tile[0] / tiling.threadTile[0]) *
                    (tiling.tile[1] / tiling.threadTile[1]);
    auto make = [&](int64_t tileK, int64_t stages) {
      int64_t tile[] = {tiling.tile[0], tiling.tile[1], tileK};
      int64_t splitK =
          chooseSplitK(chip, countTiles(tiling, batch, m, n), k, tileK);
      return TileConfigAttr::get(context, tile, tiling.threadTile, 32 * warps,
                                 stages, CopyEngine::AsyncCopy,
                                 MmaAtom::MmaF16M16N8K16,
                                 WorkListKind::DenseGrid, splitK);
    };
    for (const MeasuredTiling &measured : kMeasuredMmaTilings) {
      if (measured.chip != chip.name || batch != 1 || measured.m != m ||
          measured.k != k || measured.n != n)
        continue;
      const ContractionTiling &best = measured.tiling;
      auto config = TileConfigAttr::get(
          context, best.tile, best.threadTile,
          32 * (best.tile[0] / best.threadTile[0]) *
              (best.tile[1] / best.threadTile[1]),
          kMmaStages, CopyEngine::AsyncCopy, MmaAtom::MmaF16M16N8K16,
          WorkListKind::DenseGrid, measured.splitK);
      if (config.getStagedF16Bytes() <= chip.maxSharedMemoryPerBlock)
        return config;
    }
    // A reduction of one small step takes small steps.
    TileConfigAttr config = make(tiling.tile[2], kMmaStages);
    if (k > kMmaSmallTileK &&
        config.getStagedF16Bytes() <= chip.maxSharedMemoryPerBlock)
      return config;
    return make(kMmaSmallTileK, kMmaSmallStages);
  }
  const ContractionTiling &large = kContractionTilings[0];
  if (m >= large.tile[0] && n >= large.tile[1]) {
    int64_t splitK = std::min(
        chooseSplitK(chip, countTiles(large, batch, m, n), k, large.tile[2],
                     kFmaBlocksPerProcessor),
        kFmaMaxSlices);
    if (splitK > 1)
      return makeContractionConfig(context, large.tile, large.threadTile,
                                   splitK);
  }
  const ContractionTiling &tiling =
      pickTiling(kContractionTilings, chip, batch, m, n);
  return makeContractionConfig(
      context, tiling.tile, tiling.threadTile,
      chooseSplitK(chip, countTiles(tiling, batch, m, n), k, tiling.tile[2]));
}

/// `map` (onto the result of `collapse`) onto its source, when each of
/// its groups holds at most one dimension other than 1 (torch-mlir's unit
/// batch merged with the heads): the others are read at 0.
static std::optional<AffineMap>
getMapThroughUnitCollapse(tensor::CollapseShapeOp collapse, AffineMap map) {
  ArrayRef<int64_t> shape = collapse.getSrcType().getShape();
  SmallVector<AffineExpr> results;
  for (auto [group, result] :
       llvm::zip_equal(collapse.getReassociationIndices(), map.getResults())) {
    if (llvm::count_if(group, [&](int64_t d) { return shape[d] != 1; }) > 1)
      return std::nullopt;
    for (int64_t d : group)
      results.push_back(shape[d] == 1 && group.size() > 1
                            ? getAffineConstantExpr(0, map.getContext())
                            : result);
  }
  return AffineMap::get(map.getNumDims(), 0, results, map.getContext());
}

/// The tensor the kernel reads for the input `operand` of `op`, and the
/// map from `op`'s loops onto it: through annotations and transposed
/// copies (see matchCopy), and with `throughUnitCollapses` the collapses
/// of unit dimensions before them.
static std::pair<Value, AffineMap>
getViewedOperand(linalg::LinalgOp op, OpOperand *operand,
                 bool throughUnitCollapses) {
  Value value = operand->get();
  AffineMap map = op.getMatchingIndexingMap(operand);
  Value source;
  AffineMap copyMap;
  while (true) {
    auto collapse = value.getDefiningOp<tensor::CollapseShapeOp>();
    std::optional<AffineMap> collapsed =
        collapse && throughUnitCollapses
            ? getMapThroughUnitCollapse(collapse, map)
            : std::nullopt;
    if (auto annotate = value.getDefiningOp<AnnotateOp>())
      value = annotate.getSource();
    else if (matchCopy(value, source, copyMap))
      std::tie(value, map) = std::pair(source, copyMap.compose(map));
    else if (collapsed)
      std::tie(value, map) = std::pair(collapse.getSrc(), *collapsed);
    else
      return {value, map};
  }
}

bool tesa::fitsTensorCoreTiles(linalg::LinalgOp op, bool alignedCopies) {
  return llvm::all_of(op.getDpsInputOperands(), [&](OpOperand *operand) {
    return fitsTensorCoreTiles(op, operand->getOperandNumber(),
                               /*throughViews=*/false, alignedCopies);
  });
}

bool tesa::fitsTensorCoreTiles(linalg::LinalgOp op, unsigned input,
                               bool throughViews, bool alignedCopies) {
  FailureOr<linalg::ContractionDimensions> dims =
      getKernelContractionDims(op);
  if (failed(dims))
    return false;
  auto [viewed, map] =
      throughViews
          ? getViewedOperand(op, op.getDpsInputOperand(input),
                             /*throughUnitCollapses=*/true)
          : std::pair(op.getDpsInputs()[input],
                      op.getIndexingMapsArray()[input]);
  auto type = cast<RankedTensorType>(viewed.getType());
  if (!type.getElementType().isF16())
    return false;
  // The innermost dimension a multiple of eight elements (16 bytes), so
  // that every stride is too; it is K or the operand's rows, not the
  // batch.
  if (type.getRank() < 2 || map.getNumResults() == 0 ||
      (alignedCopies && type.getShape().back() % 8 != 0))
    return false;
  auto innermost = dyn_cast<AffineDimExpr>(map.getResults().back());
  return innermost &&
         (dims->batch.empty() || innermost.getPosition() != dims->batch[0]);
}

/// The loop of `op` along which its input `operand` lies contiguous where
/// the kernel reads it (see getViewedOperand), if any.
static std::optional<unsigned>
getContiguousLoop(linalg::LinalgOp op, OpOperand *operand,
                  bool throughUnitCollapses = false) {
  AffineMap map = getViewedOperand(op, operand, throughUnitCollapses).second;
  if (map.getNumResults() == 0)
    return std::nullopt;
  auto innermost = dyn_cast<AffineDimExpr>(map.getResults().back());
  if (!innermost)
    return std::nullopt;
  return innermost.getPosition();
}

WgmmaOperands tesa::getWgmmaOperands(linalg::LinalgOp op) {
  FailureOr<linalg::ContractionDimensions> dims =
      getKernelContractionDims(op);
  if (failed(dims) || op.getNumDpsInputs() != 2)
    return WgmmaOperands::None;
  std::optional<unsigned> lhs = getContiguousLoop(op, op.getDpsInputOperand(0));
  std::optional<unsigned> rhs = getContiguousLoop(op, op.getDpsInputOperand(1));
  if (lhs != dims->k[0])
    return WgmmaOperands::None;
  if (rhs == dims->k[0])
    return WgmmaOperands::AlongK;
  if (rhs == dims->n[0])
    return WgmmaOperands::RhsAlongN;
  return WgmmaOperands::None;
}

/// Whether every input of the attention body's products is f32.
static bool isF32Attention(const AttentionBody &body) {
  for (linalg::GenericOp product : {body.scores, body.context})
    for (Value input : product.getDpsInputs())
      if (!getElementTypeOrSelf(input.getType()).isF32())
        return false;
  return true;
}

/// Whether input `input` of the contraction `product` is contiguous along
/// the loop `loop` where the kernel reads it: the innermost dimension of
/// the tensor its copies and unit collapses view is indexed by that loop.
static bool isContiguousAlong(linalg::GenericOp product, unsigned input,
                              unsigned loop) {
  return getContiguousLoop(product, product.getDpsInputOperand(input),
                           /*throughUnitCollapses=*/true) == loop;
}

/// The exact-f32 attention configuration of `body` (see
/// chooseAttentionConfig), or null.
static TileConfigAttr chooseFmaAttentionConfig(MLIRContext *context,
                                               const ChipDescription &chip,
                                               const AttentionBody &body) {
  int64_t headDim = body.getHeadDim(), valueDim = body.getValueDim();
  if (!chip.hasAsyncCopy || headDim % 4 != 0 || valueDim % 16 != 0 ||
      valueDim > kAttentionMaxHeadDim)
    return nullptr;
  FailureOr<linalg::ContractionDimensions> scores =
      getKernelContractionDims(body.scores);
  FailureOr<linalg::ContractionDimensions> contextDims =
      getKernelContractionDims(body.context);
  if (failed(scores) || failed(contextDims) ||
      !isContiguousAlong(body.scores, 0, scores->k[0]) ||
      !isContiguousAlong(body.scores, 1, scores->k[0]) ||
      !isContiguousAlong(body.context, 1, contextDims->n[0]))
    return nullptr;
  // The heads read the context's encoding once.
  int64_t heads = body.getComputedHeads();
  const FmaAttentionTiling *tiling = &kFmaAttentionTilings[0];
  for (const FmaAttentionTiling &candidate : kFmaAttentionTilings) {
    tiling = &candidate;
    if (2 * heads *
            int64_t(llvm::divideCeil(body.getQueries(), candidate.queries)) >=
        int64_t(chip.multiprocessors))
      break;
  }
  int64_t queries = tiling->queries;
  int64_t keys = 16 * kFmaAttentionLaneKeys * tiling->splits;
  // Q, the stages of K and V, and the probabilities ([key][query]), rows
  // padded by four f32.
  int64_t bytes = 4 * (queries * (headDim + 4) +
                       kAttentionStages * keys * (headDim + 4 + valueDim + 4) +
                       keys * (queries + 4));
  if (bytes > chip.maxSharedMemoryPerBlock)
    return nullptr;
  return TileConfigAttr::get(
      context, {queries, keys, headDim}, {tiling->groupQueries,
                                          kFmaAttentionLaneKeys},
      16 * (queries / tiling->groupQueries) * tiling->splits,
      kAttentionStages,
      CopyEngine::AsyncCopy, MmaAtom::FmaF32, WorkListKind::DenseGrid,
      /*splitK=*/1);
}

TileConfigAttr tesa::chooseAttentionConfig(MLIRContext *context,
                                           const ChipDescription &chip,
                                           const AttentionBody &body) {
  if (isF32Attention(body))
    return chooseFmaAttentionConfig(context, chip, body);
  int64_t headDim = body.getHeadDim(), valueDim = body.getValueDim();
  if (!chip.f16Mma || !chip.hasAsyncCopy || chip.f16Mma->m != 16 ||
      chip.f16Mma->n != 8 || chip.f16Mma->k != 16)
    return nullptr;
  for (int64_t size : {headDim, valueDim})
    if (size % 16 != 0 || size > kAttentionMaxHeadDim)
      return nullptr;
  // The widest split of a step's keys whose Q tile and K and V rings
  // (rows padded by 8 elements) fit in shared memory.
  int64_t width = std::max(headDim, valueDim) + 8;
  int64_t queries = kAttentionQueries;
  if (2 * body.getComputedHeads() *
          int64_t(llvm::divideCeil(body.getQueries(), queries)) <
      int64_t(chip.multiprocessors))
    queries /= 2;
  for (int64_t splits = kAttentionKeySplits; splits >= 1; --splits) {
    int64_t keys = kAttentionWarpKeys * splits;
    int64_t bytes = 2 * (queries * (headDim + 8) +
                         kAttentionStages * 2 * keys * width);
    if (splits > 1 && bytes > chip.maxSharedMemoryPerBlock)
      continue;
    return TileConfigAttr::get(
        context, {queries, keys, headDim}, {16, kAttentionWarpKeys},
        32 * (queries / 16) * splits, kAttentionStages,
        CopyEngine::AsyncCopy, MmaAtom::MmaF16M16N8K16,
        WorkListKind::DenseGrid, /*splitK=*/1);
  }
  return nullptr;
}

TileConfigAttr tesa::chooseRowReductionConfig(MLIRContext *context,
                                              int64_t rowLength) {
  // About four elements a thread, 32 to 256 threads. On an H200, BERT-base
  // f16 (block90, seq 512) took 0.179-0.181 ms so, 0.181 with about 16
  // elements a thread and 0.189 with a warp a row (24 a lane).
  int64_t threads = std::clamp<int64_t>(
      int64_t(llvm::PowerOf2Ceil(llvm::divideCeil(rowLength, 4))), 32, 256);
  int64_t perThread = llvm::divideCeil(rowLength, threads);
  return TileConfigAttr::get(context, {1, rowLength}, {perThread}, threads,
                             /*stages=*/1, CopyEngine::Registers,
                             MmaAtom::FmaF32, WorkListKind::Rows,
                             /*splitK=*/1);
}

int64_t tesa::getConvolutionRun(int64_t rowLength, int64_t longest) {
  // An even row: the longest power of two, whose outputs one aligned vector
  // store writes; an odd one: its longest divisor.
  int64_t step = rowLength % 2 == 0 ? 2 : 1;
  int64_t best = 1;
  for (int64_t run = step; run <= std::min(longest, rowLength);
       run = step == 2 ? run * 2 : run + 1)
    if (rowLength % run == 0)
      best = run;
  return best;
}

TileConfigAttr tesa::chooseConvolutionConfig(MLIRContext *context,
                                             int64_t rowLength,
                                             int64_t longest) {
  constexpr int64_t threads = 256;
  int64_t run = getConvolutionRun(rowLength, longest);
  return TileConfigAttr::get(context, {threads * run}, {run}, threads,
                             /*stages=*/1, CopyEngine::Registers,
                             MmaAtom::FmaF32, WorkListKind::DenseGrid,
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
    if (convolutionRun < 1) {
      emitError(getOperation()->getLoc())
          << "convolution-run must be at least 1 (one output a thread), got "
          << int64_t(convolutionRun);
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
              config.getThreadTile(), config.getThreads(), config.getStages(),
              config.getCopy(), config.getAtom(), config.getWork(),
              config.getSplitK(), config.getCluster())))
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
    if (kernel.getFamily() == KernelFamily::Attention)
      return chooseForAttention(kernel, chip);
    if (kernel.getFamily() == KernelFamily::Convolution) {
      auto type = dyn_cast<ShapedType>(root->getResult(0).getType());
      if (!type || !type.hasStaticShape() || type.getRank() == 0)
        return nullptr;
      return chooseConvolutionConfig(&getContext(), type.getShape().back(),
                                     convolutionRun);
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
          getKernelContractionDims(linalgOp);
      if (failed(dims))
        return nullptr;
      int64_t batch = dims->batch.empty() ? 1 : ranges[dims->batch[0]];
      // Operands not in 16-byte pieces (MobileNet-V2's 14x14 and 7x7
      // images) take the mma.sync tiles, not wgmma.
      bool aligned = fitsTensorCoreTiles(linalgOp);
      WgmmaOperands operands =
          aligned ? getWgmmaOperands(linalgOp) : WgmmaOperands::None;
      // Only the wgmma table has rows for siblings' products.
      int64_t siblings =
          chip.hasWarpgroupMma && operands == WgmmaOperands::AlongK
              ? countSiblings(kernel, ranges)
              : 1;
      return chooseContractionConfig(
          &getContext(), chip, batch, ranges[dims->m[0]], ranges[dims->n[0]],
          ranges[dims->k[0]],
          aligned || fitsTensorCoreTiles(linalgOp, /*alignedCopies=*/false),
          operands, siblings);
    }
    return nullptr;
  }

  /// The contraction regions of `kernel`'s block with its loop ranges,
  /// itself included, that its lowering may launch with it as one grid
  /// (groupSiblingKernels): each multiplies an operand `kernel`'s product
  /// multiplies, and the later of the two reads only values that exist
  /// before the earlier or that ops other than regions make of such values
  /// (the broadcast bias its sums start from).
  int64_t countSiblings(KernelOp kernel, ArrayRef<int64_t> ranges) {
    DominanceInfo &dominance = getAnalysis<DominanceInfo>();
    auto getProduct = [&](KernelOp region) {
      return dyn_cast<linalg::LinalgOp>(&region.getBody().front().front());
    };
    SmallVector<Value> operands = getProduct(kernel).getDpsInputs();
    int64_t siblings = 0;
    for (KernelOp other : kernel->getBlock()->getOps<KernelOp>()) {
      linalg::LinalgOp product = getProduct(other);
      if (other.getFamily() != KernelFamily::Contraction || !product ||
          product.getStaticLoopRanges() != ranges ||
          llvm::none_of(product.getDpsInputs(), [&](Value operand) {
            return llvm::is_contained(operands, operand);
          }))
        continue;
      bool first = other == kernel || other->isBeforeInBlock(kernel);
      Operation *earlier = first ? other : kernel;
      std::function<bool(Value)> existsBefore = [&](Value value) {
        if (dominance.properlyDominates(value, earlier))
          return true;
        Operation *definition = value.getDefiningOp();
        return definition && !isa<KernelOp>(definition) &&
               llvm::all_of(definition->getOperands(), existsBefore);
      };
      SetVector<Value> inputs;
      getUsedValuesDefinedAbove((first ? kernel : other).getBody(), inputs);
      if (llvm::all_of(inputs, existsBefore))
        ++siblings;
    }
    return siblings;
  }

  TileConfigAttr chooseForAttention(KernelOp kernel,
                                    const ChipDescription &chip) {
    FailureOr<AttentionBody> body = matchAttentionBody(kernel.getBodyOps());
    if (failed(body))
      return nullptr;
    return chooseAttentionConfig(&getContext(), chip, *body);
  }
};

} // namespace
