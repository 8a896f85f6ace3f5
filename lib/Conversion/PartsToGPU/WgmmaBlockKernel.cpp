//===- WgmmaBlockKernel.cpp - Block parts on sm_90 warpgroups -------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The compute kernel of int8 block parts and of 2:4 structured f16 parts on
// chips with warpgroup tensor cores (sm_90): the tile layer's wgmma atom
// (WarpgroupMma.h) fed by TMA (TensorMap.h). A block of threads computes a
// group of one or more consecutive work rows of the part (block rows of
// `blockChannels` channels: slabs) for a tile of dense columns. It walks
// the columns of blocks any of the group's slabs keeps (groupKeptSlabs),
// each a step: the last warp copies the matching slice of the dense
// operand's copy ([column][k], K contiguous) once, and the packed block of
// each slab that keeps it (K-major already: a block row is a channel's run
// of the reduction), into a ring slot and signals the slot's `full`
// mbarrier; each warpgroup waits on it, multiplies its dense columns by the
// kept blocks into one accumulator per slab, and releases the slot of the
// step before through its `empty` mbarrier once those products are
// complete. The sums are added to the result as the other compute kernels
// do (KernelBuilder::accumulateSum; int8 sums dequantised by the two
// scales).
//
// A structured part's accumulators hold channels as rows, which the
// result has contiguous: where it is 16-bit (and the walks are not split),
// the warpgroups write their sums to shared memory once their walks are
// done and read them back as runs of eight channels (TransposedSums.h),
// each stored as 16 bytes.
//
// Structured parts whose tiles leave multiprocessors idle split their walks
// (split-K): the blocks of one tile's slices form a thread block cluster,
// and after their walks they add their sums up through distributed shared
// memory (ClusterSums.h), each block finishing a share of the tile's
// elements.
//
// The two kinds differ in which operand is wgmma's A:
//  - int8 blocks: the dense slice is A (64 dense columns a warpgroup), the
//    block B (its channels are N); s8 products (`wgmma` m64nNk32).
//  - structured blocks of 64 channels: the block is A, as the sparse form
//    needs (`wgmma.mma_async.sp` m64nNk32: a block row packs the two kept
//    values of every four, in order, and the metadata table names their
//    positions), the dense slice B (N = 64 or 128 dense columns a
//    warpgroup). The copying warp brings each block's metadata words into
//    the slot too (a bulk copy on the same mbarrier), from which the
//    warpgroups read them.
//
// The tensor maps view the buffers in 16-bit units (TensorMapOperand), an
// int8 buffer two values a unit: a block's row of 32, 64 or 128 bytes is
// one swizzled row of the ring, the layout the wgmma descriptors read.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "tesa/Analysis/DecompositionPlan.h"

#include "tesa/Codegen/ClusterSums.h"
#include "tesa/Codegen/StagedTile.h"
#include "tesa/Codegen/TensorMap.h"
#include "tesa/Codegen/TransposedSums.h"
#include "tesa/Codegen/WarpgroupMma.h"

using namespace mlir;
using namespace tesa;

/// Ring slots: steps in flight, never more than the longest walk, and for
/// groups of slabs, whose steps are short, more of them. Groups of four
/// int8 slabs (two structured ones, whose accumulators are twice as wide),
/// where their walks take at most 4/5 of the single slabs' steps; each step
/// reads its slice of the dense copy once for all of them. On an H200 (4096^3, kernel benchmark, packed once) 32x32 int8
/// blocks at 50% took 0.360 ms one slab a block, 0.313 in pairs, 0.264 in
/// fours (0.256 eight slots deep), 0.312 in eights; at 90% (fours: 85% of
/// the steps) 0.137 one slab a block against 0.145 in fours. 64x64 blocks
/// took 0.166 / 0.109 ms at 50 / 90% one slab a block, 0.163 / 0.113 in
/// pairs and 0.181 / 0.129 in fours: their products are twice as wide
/// already, and they keep one slab a block.
static constexpr int64_t kMaxStages = 4, kMaxGroupStages = 8, kMinStages = 3;
static constexpr int64_t kSlabsPerGroup = 4, kMaxGroupedChannels = 32;
static constexpr int64_t kStructuredSlabsPerGroup = 2;
static constexpr double kGroupMaxSteps = 0.8;
/// Groups of int8 slabs a cluster, and the fraction of the groups' steps
/// that the clusters' walks (the blocks any of their slabs keeps) must
/// stay under for a part to take clusters under BlockClusters::Auto: each
/// step's dense slice is then read once a cluster. Measured on an H100
/// (docs/benchmarks.md): 32x32 blocks at 50% of 4096^3, whose pairs walk
/// 0.53 of the groups' steps, 1.04-1.05x faster in two runs.
static constexpr int64_t kClusterGroups = 2;
static constexpr double kClusterMaxSteps = 0.6;
/// The fewest dense columns: one warpgroup's. A decode step (16 x 4096 x
/// 4096, 32x32 blocks at 90%) took 0.0083 ms here against 0.0060 on the
/// register kernel, whose warps split a row's blocks.
static constexpr int64_t kMinColumns = kWgmmaRows;
/// Dense columns a warpgroup multiplies by structured blocks, where the
/// part has as many and its tiles of as many give every multiprocessor one.
static constexpr int64_t kStructuredColumns = 128;
/// The fewest steps a slice of a structured slab's walk takes when the
/// walks are split (WgmmaBlockTiling::split), and the most slices: the
/// largest portable thread block cluster.
static constexpr int64_t kMinSplitSteps = 4, kMaxSplit = 8;
/// Sums a thread adds to the result at once where no bounds checks are
/// needed: the initial values (the bias) and the following steps' inputs
/// (a residual) of that many elements are loaded, then each element is
/// finished and stored. Element by element, a load waited behind the
/// stores before it (they may alias), one memory latency an element.
static constexpr int64_t kEpilogueBatch = 16;
/// Blocks of threads a multiprocessor that split walks aim for: one
/// warpgroup's products of one step wait for the step before, so a
/// multiprocessor needs several walks at once to keep its tensor cores
/// busy.
static constexpr int64_t kSplitBlocksPerMultiprocessor = 2;
/// Structured parts that would split their walks take unsplit tiles of
/// two warpgroups of kWideTileColumns dense columns each (of two slabs, or
/// one) instead, where those tiles alone give at least
/// kWideTileMinBlocksTenths tenths of the multiprocessors a block of
/// threads: each element's epilogue (bias, activation, rounding) then runs
/// on twice the threads a tile, with no cluster sums. BERT-base f16 with
/// 2:4 weights at 512 tokens (H200, three runs alternated): 0.611-0.619 ms
/// against 0.638-0.640 with split walks; per layer FFN1 (two slabs, 96
/// blocks) 9.5-9.7 against 10.4 us, the Q/K/V launch (one slab, 144
/// blocks) 8.5-8.6 against 9.7.
static constexpr int64_t kWideTileColumns = 64, kWideTileMinBlocksTenths = 7;
/// Shared memory the system reserves for each block of threads.
static constexpr int64_t kReservedSharedBytes = 1024;

namespace {
/// The shape of one part's kernel: its groups of slabs (work rows) and
/// their walks.
struct WgmmaBlockTiling {
  int64_t warpgroups, columnsPerWarpgroup, stages, slabs;
  /// Split-K: slices of each walk, each taken by its own block of threads
  /// of a cluster of `split` blocks (see getWgmmaBlockSplit); 1 where the
  /// tiles alone give every multiprocessor one.
  int64_t split = 1;
  KeptSlabGroups groups;
  /// Groups of slabs that run as a cluster: neighbouring blocks along x
  /// that walk one list (`groups` then groups `cluster` times as many
  /// slabs, and a block's slabs are bits `slabs` x rank up the masks),
  /// each loading its share of the step's dense slice into all of them.
  int64_t cluster = 1;
  int64_t getColumns() const { return warpgroups * columnsPerWarpgroup; }
  /// The warpgroups and one copying warp.
  int64_t getThreads() const { return warpgroups * kWarpgroupThreads + 32; }
  /// The walks, and the groups of slabs that take them (blocks along x,
  /// without their split slices).
  int64_t getWalks() const { return int64_t(groups.offsets.size()) - 1; }
  int64_t getGroups() const { return getWalks() * cluster; }
  /// Dense columns (rows of the dense copy) each block of a cluster loads.
  int64_t getShareColumns() const { return getColumns() / cluster; }
  /// The clusters' blocks: the slices of split walks, or the groups.
  int64_t getClusterBlocks() const { return split * cluster; }
};
} // namespace

/// Bytes of a packed block's row (int8: one value a reduction element;
/// structured f16: two bytes for each of half of them).
static int64_t getBlockRowBytes(const PartLayout &layout) {
  return layout.blockReduction;
}
/// Bytes of a dense column's slice of one block's depth.
static int64_t getDenseRowBytes(const PartLayout &layout) {
  return layout.structured ? 2 * layout.blockReduction : layout.blockReduction;
}

/// Bytes of a ring slot of the dense copy, and of one packed block.
static int64_t getDenseSlotBytes(const PartLayout &layout,
                                 const WgmmaBlockTiling &tiling) {
  return tiling.getColumns() * getDenseRowBytes(layout);
}
static int64_t getBlockBytes(const PartLayout &layout) {
  return layout.blockChannels * getBlockRowBytes(layout);
}
/// Bytes of a structured block's metadata words (one block's words are
/// contiguous, see PartLayout::getMetadataIndex), which the copying warp
/// brings into the ring with the block; none for int8 blocks.
static int64_t getMetadataBytes(const PartLayout &layout) {
  if (!layout.structured)
    return 0;
  return layout.blockChannels / layout.mma.m * 16 *
         (layout.blockReduction / layout.mma.k) * 4;
}

/// Whether every slab of every group keeps every step of its group's walk.
static bool keepsEveryStep(const WgmmaBlockTiling &tiling) {
  int32_t everySlab = (1 << (tiling.slabs * tiling.cluster)) - 1;
  return tiling.slabs == 1 ||
         llvm::all_of(tiling.groups.masks,
                      [&](int32_t mask) { return mask == everySlab; });
}

/// Dense column tiles of `columns` dense columns each.
static int64_t getColumnTiles(const PartLayout &layout, int64_t columns) {
  return llvm::divideCeil(layout.columns, columns);
}

/// The work rows of `layout` in groups of `slabs`.
static KeptSlabGroups groupWorkRows(const PartLayout &layout, int64_t slabs) {
  return groupKeptSlabs(KeptSlabs{layout.offsets, layout.entries}, slabs);
}

/// Bytes of one ring slot: the dense slice and the group's blocks and
/// their metadata.
static int64_t getStageBytes(const PartLayout &layout,
                             const WgmmaBlockTiling &tiling) {
  return getDenseSlotBytes(layout, tiling) +
         tiling.slabs * (getBlockBytes(layout) + getMetadataBytes(layout));
}

/// Bytes of the structured warpgroups' sums in shared memory: split walks'
/// (one warpgroup a block, see ClusterSums), or the runs' (see
/// TransposedSums).
static int64_t getSumBytes(const WgmmaBlockTiling &tiling) {
  if (tiling.split > 1)
    return ClusterSums::getBytes(kWarpgroupThreads,
                                 tiling.columnsPerWarpgroup / 2);
  return tiling.warpgroups * getTransposedSumsBytes(tiling.columnsPerWarpgroup);
}

/// Bytes of the rings, whose space a structured part's sums take over.
static int64_t getRingBytes(const PartLayout &layout,
                            const WgmmaBlockTiling &tiling) {
  int64_t rings = tiling.stages * getStageBytes(layout, tiling);
  return layout.structured ? std::max(rings, getSumBytes(tiling)) : rings;
}

static int64_t getSharedBytes(const PartLayout &layout,
                              const WgmmaBlockTiling &tiling) {
  // The rings start at the first 1 KiB boundary; the mbarriers follow.
  return kWgmmaTileAlignment + getRingBytes(layout, tiling) +
         MBarrierRing::getBytes(tiling.stages);
}

/// The most ring slots of `tiling` that fit one block of threads' shared
/// memory.
static int64_t getFittingStages(const PartLayout &layout,
                                const WgmmaBlockTiling &tiling,
                                const ChipDescription &chip) {
  int64_t overhead =
      kWgmmaTileAlignment + MBarrierRing::getBytes(kMaxGroupStages);
  return (int64_t(chip.maxSharedMemoryPerBlock) - overhead) /
         getStageBytes(layout, tiling);
}

/// The most ring slots of a structured part (their dense slots are up to
/// 32 KiB; at least kMinStages, else the kernel is not used): as many as
/// fit one block of threads' shared memory, or, where the grid's blocks
/// fit on the multiprocessors at once only several a multiprocessor, as
/// many as let them (when that leaves at least kMinStages): a block's
/// copies in flight are worth less than a wave fewer. BERT-base's FFN1
/// product at 512 tokens (384 blocks, 12-step walks split in two) took
/// 0.0134 ms with 4 slots (two blocks a multiprocessor, 1.45 waves) and
/// 0.0104 with 3 (three a multiprocessor, one wave; H100, kernel
/// benchmark, weights from memory); the model went from 0.872 to 0.782 ms.
static int64_t getStructuredMaxStages(const PartLayout &layout,
                                      const WgmmaBlockTiling &tiling,
                                      const ChipDescription &chip) {
  int64_t overhead =
      kWgmmaTileAlignment + MBarrierRing::getBytes(kMaxGroupStages);
  int64_t stageBytes = getStageBytes(layout, tiling);
  int64_t shared = int64_t(chip.maxSharedMemoryPerBlock);
  int64_t oneBlock = getFittingStages(layout, tiling, chip);
  int64_t blocks = tiling.getGroups() *
                   getColumnTiles(layout, tiling.getColumns()) * tiling.split;
  int64_t resident = llvm::divideCeil(blocks, chip.multiprocessors);
  if (resident <= 1)
    return oneBlock;
  // Each block of threads also takes 1 KiB the system reserves.
  int64_t shareFits =
      (shared / resident - kReservedSharedBytes - overhead) / stageBytes;
  return shareFits >= kMinStages ? shareFits : oneBlock;
}

/// The steps of the longest walk of `tiling`'s groups, split into its
/// slices.
static int64_t getLongestWalk(const WgmmaBlockTiling &tiling) {
  int64_t longest = 0;
  for (int64_t g = 0; g < tiling.getWalks(); ++g)
    longest = std::max<int64_t>(longest, tiling.groups.offsets[g + 1] -
                                             tiling.groups.offsets[g]);
  return llvm::divideCeil(longest, tiling.split);
}

/// The ring slots of `tiling`: as many as its longest walk takes, within
/// the bounds of kMinStages and the most that fit (or pay). An int8 part
/// whose ring does not fit even then (kMinStages slots) leaves the kernel
/// (usesWgmmaBlocks).
static int64_t getStages(const PartLayout &layout,
                         const WgmmaBlockTiling &tiling,
                         const ChipDescription &chip) {
  int64_t maxStages = tiling.slabs > 1 ? kMaxGroupStages : kMaxStages;
  maxStages =
      std::min(maxStages, layout.structured
                              ? getStructuredMaxStages(layout, tiling, chip)
                              : getFittingStages(layout, tiling, chip));
  return std::clamp(getLongestWalk(tiling), kMinStages,
                    std::max(kMinStages, maxStages));
}

/// The tiling `layout.structuredTiling` gives (see checkStructuredTiling).
static WgmmaBlockTiling getGivenTiling(const PartLayout &layout,
                                       const ChipDescription &chip) {
  ArrayRef<int64_t> given = layout.structuredTiling;
  WgmmaBlockTiling tiling{given[1], given[0], 0,
                          given[2], given[3], groupWorkRows(layout, given[2])};
  tiling.stages = given[4] ? given[4] : getStages(layout, tiling, chip);
  return tiling;
}

/// Runs `tiling`'s groups of int8 slabs in clusters of kClusterGroups
/// where `layout.blockClusters` takes them: where the clusters' walks take
/// fewer than kClusterMaxSteps (BlockClusters::Auto) or 1.0
/// (BlockClusters::FewerReads) of the groups' steps, each block's share
/// of the dense slice is whole swizzle patterns (8 rows), and the ring the
/// longer walks take still fits `chip`'s shared memory.
static void takeClusters(const PartLayout &layout, const ChipDescription &chip,
                         WgmmaBlockTiling &tiling) {
  double maxSteps = getClusterMaxReads(layout.blockClusters, kClusterMaxSteps);
  if (layout.structured || maxSteps <= 0 ||
      tiling.getWalks() % kClusterGroups != 0 ||
      (tiling.getColumns() / kClusterGroups) % 8 != 0)
    return;
  WgmmaBlockTiling clustered = tiling;
  clustered.cluster = kClusterGroups;
  clustered.groups = groupWorkRows(layout, tiling.slabs * kClusterGroups);
  clustered.stages = getStages(layout, clustered, chip);
  if (double(clustered.groups.rows.size()) <
          maxSteps * double(tiling.groups.rows.size()) &&
      getSharedBytes(layout, clustered) <=
          int64_t(chip.maxSharedMemoryPerBlock))
    tiling = std::move(clustered);
}

/// The unsplit tiling of two warpgroups a structured part with few tiles
/// takes (see kWideTileColumns): of two slabs where their tiles are enough,
/// else of one; none where neither is, where the second warpgroup would
/// have no dense columns, or where the ring does not fit.
static std::optional<WgmmaBlockTiling>
getWideTiling(const PartLayout &layout, const ChipDescription &chip) {
  if (layout.columns <= kWideTileColumns)
    return std::nullopt;
  int64_t minBlocks = llvm::divideCeil(
      kWideTileMinBlocksTenths * int64_t(chip.multiprocessors), 10);
  for (int64_t slabs : {kStructuredSlabsPerGroup, int64_t(1)}) {
    WgmmaBlockTiling wide{
        2, kWideTileColumns, 0, slabs, 1, groupWorkRows(layout, slabs)};
    if (wide.getGroups() * getColumnTiles(layout, wide.getColumns()) <
        minBlocks)
      continue;
    wide.stages = getStages(layout, wide, chip);
    if (getSharedBytes(layout, wide) > int64_t(chip.maxSharedMemoryPerBlock))
      return std::nullopt;
    return wide;
  }
  return std::nullopt;
}

static WgmmaBlockTiling getTiling(const PartLayout &layout,
                                  const ChipDescription &chip) {
  if (layout.structured && !layout.structuredTiling.empty())
    return getGivenTiling(layout, chip);
  int64_t workRows = layout.rows.size();
  int64_t columnsPerWarpgroup =
      layout.structured && layout.columns >= kStructuredColumns &&
              workRows * getColumnTiles(layout, kStructuredColumns) >=
                  int64_t(chip.multiprocessors)
          ? kStructuredColumns
          : kWgmmaRows;
  // Two warpgroups where the tiles of twice the columns still give every
  // multiprocessor two.
  int64_t warpgroups =
      workRows * getColumnTiles(layout, 2 * columnsPerWarpgroup) >=
              2 * int64_t(chip.multiprocessors)
          ? 2
          : 1;
  WgmmaBlockTiling tiling{warpgroups, columnsPerWarpgroup, 0, 1, 1,
                          groupWorkRows(layout, 1)};
  // Groups of slabs where their walks are short enough and their tiles
  // still give every multiprocessor one.
  int64_t slabs =
      layout.structured ? kStructuredSlabsPerGroup : kSlabsPerGroup;
  KeptSlabGroups groups = groupWorkRows(layout, slabs);
  int64_t groupTiles = int64_t(groups.offsets.size() - 1) *
                       getColumnTiles(layout, tiling.getColumns());
  if ((layout.structured || layout.blockChannels <= kMaxGroupedChannels) &&
      double(groups.rows.size()) <=
          kGroupMaxSteps * double(layout.getNumEntries()) &&
      groupTiles >= int64_t(chip.multiprocessors)) {
    tiling.slabs = slabs;
    tiling.groups = std::move(groups);
    takeClusters(layout, chip, tiling);
  }
  // Structured slabs split their walks where their tiles give fewer than
  // kSplitBlocksPerMultiprocessor blocks of threads a multiprocessor (a
  // product of few dense columns: BERT-base's Linears at 128 tokens), each
  // slice at least kMinSplitSteps long, unless tiles of two warpgroups
  // keep enough of them busy unsplit (getWideTiling).
  int64_t tiles =
      tiling.getGroups() * getColumnTiles(layout, tiling.getColumns());
  int64_t wanted = kSplitBlocksPerMultiprocessor * chip.multiprocessors;
  if (layout.structured && tiling.slabs == 1 && tiling.warpgroups == 1 &&
      tiles < wanted) {
    tiling.split = std::max<int64_t>(
        1, std::min({int64_t(llvm::divideCeil(wanted, tiles)),
                     getLongestWalk(tiling) / kMinSplitSteps, kMaxSplit}));
    if (tiling.split > 1)
      if (std::optional<WgmmaBlockTiling> wide = getWideTiling(layout, chip))
        return *wide;
  }
  assert((tiling.split == 1 || tiling.cluster == 1) &&
         "a tiling splits its walks or shares them, not both");
  tiling.stages = getStages(layout, tiling, chip);
  return tiling;
}

std::string tesa::checkStructuredTiling(ArrayRef<int64_t> tiling) {
  if (tiling.size() != 5)
    return "structured-tiling takes five values (dense columns a warpgroup, "
           "warpgroups, slabs a block, walk slices, ring slots), not " +
           std::to_string(tiling.size());
  auto [columns, warpgroups, slabs, split, stages] =
      std::tuple(tiling[0], tiling[1], tiling[2], tiling[3], tiling[4]);
  // A tensor map's box is at most 256 dense columns; a warpgroup's
  // accumulators are at most 64 x 256 f32 for all of its slabs.
  if (columns < 32 || columns % 32 != 0 || columns * slabs > 256 ||
      columns * warpgroups > 256)
    return "structured-tiling: " + std::to_string(columns) +
           " dense columns a warpgroup is not a multiple of 32 whose "
           "product with the warpgroups and with the slabs is at most 256";
  if (warpgroups < 1 || warpgroups > 2 || slabs < 1 || slabs > 2)
    return "structured-tiling: warpgroups and slabs a block are 1 or 2";
  if (split < 1 || split > kMaxSplit || (split > 1 && warpgroups * slabs > 1))
    return "structured-tiling: walk slices are 1 to 8, and above 1 only "
           "with one warpgroup of one slab";
  if (stages != 0 && (stages < 2 || stages > kMaxGroupStages))
    return "structured-tiling: ring slots are 2 to 8 (0: the heuristic's)";
  return "";
}

int64_t tesa::getWgmmaBlockSplit(const PartLayout &layout,
                                 const ChipDescription &chip) {
  return getTiling(layout, chip).split;
}

/// Whether the kernel's shared memory fits the chip.
static bool fitsSharedMemory(const PartLayout &layout,
                             const ChipDescription &chip) {
  return getSharedBytes(layout, getTiling(layout, chip)) <=
         int64_t(chip.maxSharedMemoryPerBlock);
}

/// Whether the warpgroup kernel takes a structured part of `layout`'s
/// shape on `chip`, whatever its shared memory.
static bool hasWgmmaStructuredShape(const PartLayout &layout,
                                    const ChipDescription &chip) {
  // One warpgroup's rows (64 channels) a block; a block row of 32 or 64
  // reduction elements packs 32 or 64 bytes, a swizzled row.
  int64_t br = layout.blockReduction;
  return chip.hasWarpgroupMma && layout.structured &&
         layout.compute == ComputeKind::F16 &&
         layout.blockChannels == kWgmmaRows && (br == 32 || br == 64) &&
         layout.liveColumns.empty() && !layout.gather &&
         layout.getNumEntries() != 0 && layout.columns >= kMinColumns;
}

bool tesa::canUseWgmmaStructured(const PartLayout &layout,
                                 const ChipDescription &chip) {
  return hasWgmmaStructuredShape(layout, chip) &&
         fitsSharedMemory(layout, chip);
}

std::string tesa::checkGivenStructuredTiling(const PartLayout &layout,
                                             const ChipDescription &chip) {
  if (layout.structuredTiling.empty() ||
      !hasWgmmaStructuredShape(layout, chip) || fitsSharedMemory(layout, chip))
    return "";
  return "structured-tiling takes " +
         std::to_string(getSharedBytes(layout, getTiling(layout, chip))) +
         " bytes of shared memory a block of threads, more than the chip's " +
         std::to_string(chip.maxSharedMemoryPerBlock);
}

bool tesa::usesWgmmaBlocks(const PartLayout &layout,
                           const ChipDescription &chip) {
  if (layout.structured)
    return layout.structuredRows;
  int64_t bc = layout.blockChannels;
  // s8 products are bc wide: a multiple of 16 up to 256, or 8 or 24.
  bool wgmmaWidth =
      bc > 0 && bc <= 256 && (bc % 16 == 0 || bc == 8 || bc == 24);
  if (!chip.hasWarpgroupMma || !layout.useMma ||
      layout.compute != ComputeKind::I8 || layout.packedInt4 ||
      !layout.liveColumns.empty() || layout.getNumEntries() == 0 ||
      layout.columns < kMinColumns || !wgmmaWidth ||
      !isWgmmaRowBytes(getBlockRowBytes(layout)) ||
      getBlockBytes(layout) % kWgmmaTileAlignment != 0)
    return false;
  return fitsSharedMemory(layout, chip);
}

/// The compute kernel's argument that holds the packed blocks.
static unsigned getPackedArgument(const PartLayout &layout) {
  return layout.compute == ComputeKind::I8 ? 2 : 1;
}

KernelLaunch tesa::getWgmmaBlockLaunch(const PartLayout &layout,
                                       const ChipDescription &chip) {
  WgmmaBlockTiling tiling = getTiling(layout, chip);
  KernelLaunch launch;
  launch.grid = {tiling.getGroups() * tiling.split,
                 getColumnTiles(layout, tiling.getColumns())};
  launch.block = {tiling.getThreads(), 1};
  launch.sharedBytes = getSharedBytes(layout, tiling);
  launch.clusterBlocks = tiling.getClusterBlocks();
  // In 16-bit units: the dense copy ([column][padded k], argument 0) in
  // boxes of a block's depth by the tile's columns, the packed blocks as
  // [entry * bc + channel][packed row] in boxes of one block.
  int64_t denseRowUnits = getDenseRowBytes(layout) / 2;
  int64_t blockRowUnits = getBlockRowBytes(layout) / 2;
  int64_t denseUnits =
      layout.getPaddedReduction() * getDenseRowBytes(layout) /
      (2 * layout.blockReduction);
  launch.tensorMaps = {{0, denseUnits, layout.columns, denseUnits,
                        denseRowUnits, tiling.getShareColumns()},
                       {getPackedArgument(layout), blockRowUnits,
                        layout.getNumEntries() * layout.blockChannels,
                        blockRowUnits, blockRowUnits, layout.blockChannels}};
  return launch;
}

/// The values of the accumulator `acc`.
static SmallVector<Value> getAccumulators(WarpgroupMmaEmitter &atom,
                                          Value acc) {
  SmallVector<Value> values;
  for (int64_t i = 0; i < atom.getAccumulatorCount(); ++i)
    values.push_back(atom.getAccumulator(acc, i));
  return values;
}

namespace {
/// Emits the compute kernel's body (see the file comment).
class WgmmaBlockEmitter {
public:
  WgmmaBlockEmitter(KernelBuilder &kb, gpu::GPUFuncOp fn);
  /// The mbarriers' set-up, the copying warp, then the warpgroups.
  void emit();

private:
  /// Step i's mask of this block's slabs (bit j: whether slab j keeps the
  /// step's block), loaded once a step.
  Value getStepMask(Value i);
  /// Bit `slab` of a step's mask (an index, 0 or 1).
  Value getSlabBit(Value stepMask, int64_t slab);
  Value lessThan(Value x, Value y);
  Value isSet(Value bit);
  /// The first packed block of each slab of the group.
  SmallVector<Value> getFirstBlocks();
  /// The copying warp's first lane: step i waits until the products of step
  /// i - stages have released its slot, then loads the step's dense slice
  /// and the blocks of the slabs that keep it, carrying each slab's next
  /// packed block.
  void emitCopies();
  /// Warpgroup `warpgroup` (thread `inGroup` of it): its products of each
  /// step into an accumulator per slab, then the stores.
  void emitProducts(Value warpgroup, Value inGroup);
  /// The threads of each warpgroup that free a ring slot (arrive on its
  /// `empty` mbarrier): the first, or all where they read the slot.
  int64_t getReleasingThreadsPerWarpgroup() const {
    return structured ? kWarpgroupThreads : 1;
  }
  /// Whether every walk of every block takes an even number of steps.
  bool evenWalks() const;
  /// The products of a walk of at least one step into accumulators that
  /// start at `zeros`, yielded once complete.
  void emitWalk(WarpgroupMmaEmitter &atom, ValueRange zeros, Value warpgroup,
                Value inGroup);
  /// Structured: this thread's metadata words of slab `slab`'s block in
  /// ring slot `slot`, one a 32-deep step.
  SmallVector<Value> loadMetadataWords(Value slot, int64_t slab, Value inGroup);
  /// Shared address of slab `slab`'s metadata words in ring slot `slot`.
  Value getMetadataSlot(Value slot, int64_t slab);
  /// The descriptors of the operands (A, B) of each of a step's products
  /// of the dense slice (descriptor `denseSlot`) and a packed block
  /// (`block`), one a 32-byte (int8) or 32-deep (structured) piece.
  SmallVector<std::pair<Value, Value>>
  getProductOperands(WarpgroupMmaEmitter &atom, Value denseSlot, Value block);
  /// `acc` + a step's products of the dense slice and a packed block (the
  /// descriptors of their `operands`; structured: the block's metadata
  /// `words`). The descriptors are computed before the products' wgmma
  /// fence: computed between the products, they made ptxas serialise them
  /// (C7513).
  Value multiplyBlock(WarpgroupMmaEmitter &atom,
                      ArrayRef<std::pair<Value, Value>> operands,
                      ValueRange words, Value acc);
  /// The warpgroup atom the kernel multiplies with.
  WarpgroupMmaEmitter getAtom();
  /// Adds the warpgroup's sums (`sums`, one accumulator a slab) to the
  /// result.
  void storeSums(WarpgroupMmaEmitter &atom, ValueRange sums, Value warpgroup,
                 Value inGroup);
  /// The warpgroup's sums in shared memory, where the rings were.
  TransposedSums getTransposedSums(Value warpgroup);
  /// Every thread of the warpgroups: the named barrier after which no
  /// product reads the rings any more.
  void waitForProducts();
  /// Writes the warpgroup's sums (one accumulator a slab) to shared memory
  /// and adds them to the result a run at a time, a slab after the other.
  void storeSumsAsRuns(WarpgroupMmaEmitter &atom, ValueRange sums,
                       Value warpgroup, Value inGroup);
  /// Split walks: adds up this block's share of the tile's sums over the
  /// cluster (the accumulators i with i mod split = slice) into the
  /// result.
  void storeClusterSums(WarpgroupMmaEmitter &atom, Value warpgroup,
                        Value inGroup);
  /// Adds thread `inGroup`'s runs of slab `slab` (see TransposedSums) to
  /// the result.
  void storeRuns(TransposedSums &staged, int64_t slab, Value warpgroup,
                 Value inGroup);
  /// The first channel of the work row of `slab` (of the block's group)
  /// and whether the row exists.
  std::pair<Value, Value> getSlabRow(int64_t slab);
  /// One accumulator's sum for the result: `sum`, of the accumulator at
  /// `position` (row and column of the warpgroup's tile) of the slab whose
  /// row `getSlabRow` gives (`slabRow`).
  struct TileSum {
    std::pair<Value, Value> slabRow, position;
    Value sum;
  };
  /// The channel and dense column of the result that `tileSum` lands on.
  std::pair<Value, Value> getResultElement(const TileSum &tileSum,
                                           Value warpgroup);
  /// Whether every tile lies inside the result: groups of whole slabs,
  /// blocks of whole channels and tiles of whole columns.
  bool coversWholeTiles() const;
  /// Adds `tileSum` to the result, within bounds.
  void storeSum(const TileSum &tileSum, Value warpgroup);
  /// Adds `tileSums` to the result; where no bounds checks are needed,
  /// kEpilogueBatch at a time, each batch's loads (KernelBuilder::
  /// loadElement) issued before any of its elements is stored.
  void storeSumsInBatches(ArrayRef<TileSum> tileSums, Value warpgroup);

  KernelBuilder &kb;
  ImplicitLocOpBuilder &b;
  const PartLayout &layout;
  gpu::GPUFuncOp fn;
  WgmmaBlockTiling tiling;
  bool structured;
  int64_t bc, denseRowBytes, blockRowBytes, denseSlotBytes, blockBytes,
      blockSlotBytes, metadataBytes, workRows;
  Value denseScales, scales, out;
  /// The work lists: the part's rows and their packed blocks, the groups'
  /// steps and masks, a structured part's metadata.
  Value rows, offsets, steps, stepOffsets, masks, metadata;
  Value tid, firstRow, firstColumn, lo, count;
  /// Split-K: the block's slice of its walk (its rank in its cluster) and
  /// the slice's first step (null where the walks are not split), and the
  /// sums the cluster's blocks share.
  Value slice, firstStep;
  /// Clustered groups: the block's rank in its cluster (null otherwise).
  Value rank;
  std::optional<ClusterSums> clusterSums;
  /// Whether the warpgroups store runs of channels (TransposedSums).
  bool storesRuns = false;
  /// Shared addresses of the rings (the dense slices, the blocks, the
  /// blocks' metadata words), and their slots' mbarriers.
  Value denseRing, blockRing, metadataRing;
  TensorMapEmitter copies;
  std::optional<MBarrierRing> ring;
};
} // namespace

WgmmaBlockEmitter::WgmmaBlockEmitter(KernelBuilder &kb, gpu::GPUFuncOp fn)
    : kb(kb), b(kb.b), layout(kb.layout), fn(fn),
      tiling(getTiling(layout, kb.chip)), structured(layout.structured),
      bc(layout.blockChannels), denseRowBytes(getDenseRowBytes(layout)),
      blockRowBytes(getBlockRowBytes(layout)),
      denseSlotBytes(getDenseSlotBytes(layout, tiling)),
      blockBytes(getBlockBytes(layout)),
      blockSlotBytes(tiling.slabs * blockBytes),
      metadataBytes(getMetadataBytes(layout)),
      workRows(int64_t(layout.rows.size())), copies(kb) {
  auto arguments = kb.computeArguments(fn);
  denseScales = arguments[1];
  scales = arguments[3];
  out = arguments[4];
  rows = kb.table("_rows", layout.rows);
  offsets = kb.table("_offsets", layout.offsets);
  steps = kb.table("_steps", tiling.groups.rows);
  stepOffsets = kb.table("_step_offsets", tiling.groups.offsets);
  if (tiling.slabs > 1)
    masks = kb.table("_step_masks", tiling.groups.masks);
  if (structured)
    metadata = kb.table("_metadata", layout.metadata);

  tid = kb.threadId();
  Value group = kb.blockId(gpu::Dimension::x);
  if (tiling.split > 1) {
    slice = kb.rem(group, tiling.split);
    group = kb.div(group, tiling.split);
  }
  firstRow = kb.affine(group, tiling.slabs);
  firstColumn = kb.affine(kb.blockId(gpu::Dimension::y), tiling.getColumns());
  // Clustered groups: group g is block g mod cluster of the cluster that
  // walks list g / cluster (the clusters are consecutive blocks along x).
  Value walk = group;
  if (tiling.cluster > 1) {
    rank = kb.rem(group, tiling.cluster);
    walk = kb.div(group, tiling.cluster);
  }
  lo = kb.loadIndex(stepOffsets, walk);
  count = arith::SubIOp::create(
      b, kb.loadIndex(stepOffsets, kb.affine(walk, 1, 1)), lo);
  if (slice) {
    // Slice z walks steps [count z / split, count (z + 1) / split).
    firstStep = kb.div(kb.mul(count, slice), tiling.split);
    Value end = kb.div(kb.mul(count, kb.affine(slice, 1, 1)), tiling.split);
    lo = kb.add(lo, firstStep);
    count = arith::SubIOp::create(b, end, firstStep);
  }

  // The rings of the dense slices then of the blocks, then each slot's
  // `full` and `empty` mbarriers.
  Value shared = getDynamicSharedMemory(kb);
  denseRing = kb.add(getSharedAddress(kb, shared),
                     getAlignedOffset(kb, shared, kWgmmaTileAlignment));
  blockRing = kb.affine(denseRing, 1, tiling.stages * denseSlotBytes);
  metadataRing = kb.affine(blockRing, 1, tiling.stages * blockSlotBytes);
  ring.emplace(kb, copies,
               kb.affine(denseRing, 1, getRingBytes(layout, tiling)),
               tiling.stages, tiling.cluster);
  // Split walks leave their sums where the rings were.
  if (slice)
    clusterSums.emplace(kb, denseRing, kWarpgroupThreads,
                        tiling.columnsPerWarpgroup / 2);
  else
    storesRuns = structured && kb.canStoreChannelRuns(out, kRunRows);
}

Value WgmmaBlockEmitter::getStepMask(Value i) {
  Value mask = kb.loadIndex(masks, kb.add(lo, i));
  if (rank)
    mask = arith::ShRUIOp::create(b, mask, kb.affine(rank, tiling.slabs));
  return mask;
}

Value WgmmaBlockEmitter::getSlabBit(Value stepMask, int64_t slab) {
  return kb.rem(kb.div(stepMask, 1 << slab), 2);
}

Value WgmmaBlockEmitter::lessThan(Value x, Value y) {
  return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, x, y);
}

Value WgmmaBlockEmitter::isSet(Value bit) {
  return arith::CmpIOp::create(b, arith::CmpIPredicate::ne, bit, kb.index(0));
}

SmallVector<Value> WgmmaBlockEmitter::getFirstBlocks() {
  SmallVector<Value> firstBlocks;
  for (int64_t j = 0; j < tiling.slabs; ++j)
    firstBlocks.push_back(
        kb.loadIndex(offsets, kb.min(kb.affine(firstRow, 1, j), workRows)));
  // A slice of a split walk (one slab a block, which keeps every step)
  // starts at its first step's block.
  if (firstStep)
    firstBlocks.front() = kb.add(firstBlocks.front(), firstStep);
  return firstBlocks;
}

void WgmmaBlockEmitter::emit() {
  ring->init(tid, tiling.warpgroups * getReleasingThreadsPerWarpgroup(),
             {fn.getArgument(fn.getNumArguments() - 2),
              fn.getArgument(fn.getNumArguments() - 1)});
  Value copier =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid,
                            kb.index(tiling.warpgroups * kWarpgroupThreads));
  kb.ifThen(copier, [&] { emitCopies(); });
  // The warpgroups, on a branch the compiler sees is uniform across each
  // warp.
  Value warpgroup = kb.div(tid, kWarpgroupThreads);
  Value inGroup = kb.rem(tid, kWarpgroupThreads);
  Value isConsumer = kb.less(kb.fromFirstLane(warpgroup), tiling.warpgroups);
  kb.ifThen(isConsumer, [&] { emitProducts(warpgroup, inGroup); });
  // A clustered block's warpgroups arrive on the other blocks' mbarriers
  // to the end: no block leaves before all are done.
  if (rank)
    emitClusterBarrier(kb);
  if (!clusterSums)
    return;
  // Split walks: every block of the cluster has left its sums in its
  // shared memory; each adds up its share of the tile's elements.
  clusterSums->barrier();
  kb.ifThen(isConsumer, [&] {
    WarpgroupMmaEmitter atom = getAtom();
    storeClusterSums(atom, warpgroup, inGroup);
  });
  clusterSums->barrier();
}

void WgmmaBlockEmitter::emitCopies() {
  int64_t stages = tiling.stages, slabs = tiling.slabs;
  Value denseMap = copies.getAddress(fn.getArgument(fn.getNumArguments() - 2));
  Value blockMap = copies.getAddress(fn.getArgument(fn.getNumArguments() - 1));
  Value metadataAddress;
  if (structured)
    metadataAddress =
        memref::ExtractAlignedPointerAsIndexOp::create(b, metadata);
  kb.loop(kb.index(0), count, getFirstBlocks(), [&](Value i, ValueRange next) {
    Value slot = kb.rem(i, stages);
    ring->waitUntilFree(i, slot, kb.div(i, stages));
    SmallVector<Value> bits(slabs, kb.index(1));
    if (slabs == 1) {
      copies.arriveExpectingBytes(ring->full(slot),
                                  denseSlotBytes + blockBytes + metadataBytes);
    } else {
      Value bytes = kb.index(denseSlotBytes);
      Value stepMask = getStepMask(i);
      for (int64_t j = 0; j < slabs; ++j) {
        bits[j] = getSlabBit(stepMask, j);
        bytes = kb.add(bytes, kb.affine(bits[j], blockBytes + metadataBytes));
      }
      copies.arriveExpectingBytes(ring->full(slot), bytes);
    }
    Value k = kb.affine(kb.loadIndex(steps, kb.add(lo, i)), denseRowBytes / 2);
    Value denseSlot = kb.add(denseRing, kb.affine(slot, denseSlotBytes));
    if (rank) {
      // This block's dense columns of the slice, into every block of the
      // cluster.
      Value columns = kb.affine(rank, tiling.getShareColumns());
      copies.loadToCluster(denseMap, k, kb.add(firstColumn, columns),
                           kb.add(denseSlot, kb.affine(columns, denseRowBytes)),
                           ring->full(slot), tiling.cluster);
    } else {
      copies.load(denseMap, k, firstColumn, denseSlot, ring->full(slot));
    }
    SmallVector<Value> after;
    for (int64_t j = 0; j < slabs; ++j) {
      auto loadBlock = [&] {
        copies.load(
            blockMap, kb.index(0), kb.affine(next[j], bc),
            kb.add(blockRing, kb.affine(slot, blockSlotBytes, j * blockBytes)),
            ring->full(slot));
        if (structured)
          copies.loadBytes(
              kb.add(metadataAddress, kb.affine(next[j], metadataBytes)),
              metadataBytes, getMetadataSlot(slot, j), ring->full(slot));
      };
      if (slabs > 1)
        kb.ifThen(isSet(bits[j]), loadBlock);
      else
        loadBlock();
      after.push_back(kb.add(next[j], bits[j]));
    }
    return after;
  });
}

SmallVector<Value>
WgmmaBlockEmitter::loadMetadataWords(Value slot, int64_t slab, Value inGroup) {
  // Warp w's metadata are those of the block's 16-channel slice w; lanes
  // 4g and 4g + 1 hold words 2g and 2g + 1 of it (lanes 4g + 2 and 4g + 3
  // load them too, unused). The block's words are in the slot, in the
  // layout of PartLayout::getMetadataIndex.
  Value lane = kb.rem(inGroup, 32);
  Value metadataLane = kb.add(kb.affine(kb.div(lane, 4), 2), kb.rem(lane, 2));
  Value slice = kb.div(inGroup, 32);
  int64_t steps = layout.blockReduction / layout.mma.k;
  Value first =
      kb.add(getMetadataSlot(slot, slab),
             kb.affine(kb.add(kb.affine(slice, 16), metadataLane), steps * 4));
  SmallVector<Value> words;
  for (int64_t step = 0; step < steps; ++step)
    words.push_back(LLVM::LoadOp::create(
        b, b.getI32Type(),
        getSharedPointer(kb, kb.affine(first, 1, step * 4))));
  return words;
}

Value WgmmaBlockEmitter::getMetadataSlot(Value slot, int64_t slab) {
  return kb.add(metadataRing, kb.affine(slot, tiling.slabs * metadataBytes,
                                        slab * metadataBytes));
}

SmallVector<std::pair<Value, Value>>
WgmmaBlockEmitter::getProductOperands(WarpgroupMmaEmitter &atom,
                                      Value denseSlot, Value block) {
  SmallVector<std::pair<Value, Value>> operands;
  if (!structured) {
    for (int64_t offset = 0; offset < blockRowBytes; offset += 32)
      operands.push_back(
          {atom.advance(denseSlot, offset), atom.advance(block, offset)});
    return operands;
  }
  // Each 32-deep step reads 16 packed values (32 bytes) of the block's
  // rows and 32 dense values (64 bytes).
  for (int64_t step = 0; step < layout.blockReduction / 32; ++step)
    operands.push_back(
        {atom.advance(block, 32 * step), atom.advance(denseSlot, 64 * step)});
  return operands;
}

Value WgmmaBlockEmitter::multiplyBlock(
    WarpgroupMmaEmitter &atom, ArrayRef<std::pair<Value, Value>> operands,
    ValueRange words, Value acc) {
  for (auto [step, pair] : llvm::enumerate(operands)) {
    auto [a, bOperand] = pair;
    acc = structured ? atom.multiplySparse(a, bOperand, words[step], acc)
                     : atom.multiply(a, bOperand, acc);
  }
  return acc;
}

WarpgroupMmaEmitter WgmmaBlockEmitter::getAtom() {
  return structured ? WarpgroupMmaEmitter(kb, tiling.columnsPerWarpgroup)
                    : WarpgroupMmaEmitter(kb, bc, /*bMnMajor=*/false,
                                          WgmmaOperands::S8);
}

void WgmmaBlockEmitter::emitProducts(Value warpgroup, Value inGroup) {
  WarpgroupMmaEmitter atom = getAtom();
  int64_t slabs = tiling.slabs;
  // A walk of no steps (a work row without entries) leaves zero sums; the
  // others wait for their last step's products inside the branch of their
  // walk: waited for on a path that merged with the zero sums' moves, they
  // made ptxas serialise the products (C7515).
  SmallVector<Value> zeros(slabs, atom.zeroAccumulator());
  auto walk = scf::IfOp::create(b, ValueRange(zeros).getTypes(),
                                lessThan(kb.index(0), count),
                                /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&walk.getElseRegion().front());
    scf::YieldOp::create(b, zeros);
    b.setInsertionPointToStart(&walk.getThenRegion().front());
    emitWalk(atom, zeros, warpgroup, inGroup);
  }
  ValueRange sums = walk.getResults();
  if (clusterSums) {
    // The rings are no longer read: every step's copies have landed and
    // every product is complete.
    for (int64_t i = 0; i < atom.getAccumulatorCount(); ++i)
      clusterSums->write(inGroup, i, atom.getAccumulator(sums[0], i));
    return;
  }
  if (storesRuns)
    return storeSumsAsRuns(atom, sums, warpgroup, inGroup);
  storeSums(atom, sums, warpgroup, inGroup);
}

bool WgmmaBlockEmitter::evenWalks() const {
  const std::vector<int32_t> &offsets = tiling.groups.offsets;
  for (size_t g = 0; g + 1 < offsets.size(); ++g)
    if ((offsets[g + 1] - offsets[g]) % 2 != 0)
      return false;
  return tiling.split == 1;
}

void WgmmaBlockEmitter::emitWalk(WarpgroupMmaEmitter &atom, ValueRange zeros,
                                 Value warpgroup, Value inGroup) {
  int64_t stages = tiling.stages, slabs = tiling.slabs;
  // This warpgroup's dense columns and the blocks in slot 0; another slot
  // is its bytes / 16 further.
  Value denseDescriptor = atom.getDescriptor(
      kb.add(denseRing, kb.affine(warpgroup, tiling.columnsPerWarpgroup *
                                                 denseRowBytes)),
      denseRowBytes);
  Value blockDescriptor = atom.getDescriptor(blockRing, blockRowBytes);
  // Structured parts read their metadata words from the slot: every
  // thread frees it, its arrival releasing its own reads (one thread's
  // arrival does not order the others' reads before the copier's next
  // copy). Other parts read the slot by wgmma only, whose completion the
  // first thread of the warpgroup waits for (a cluster's first threads,
  // one for each block).
  assert((!structured || tiling.cluster == 1) &&
         "structured parts free their slots from every thread, in one block");
  Value releases = structured ? kb.less(inGroup, kWarpgroupThreads)
                              : ring->releasesSlots(inGroup);
  // Structured slabs that keep every step of their group (one slab a
  // block, or pairs of rows of a 2:4 weight) multiply without branches,
  // their metadata words read from the slot before the step's products.
  // Slabs that skip steps read theirs on the branch of their products:
  // used there from outside it, they made ptxas serialize the products
  // (C7520, on pairs of rows of the BERT-base FFN product).
  bool wordsFirst = structured && keepsEveryStep(tiling);
  int64_t wordsPerBlock = layout.blockReduction / 32;
  // Step i: its products into the carried accumulators, which it returns
  // updated, leaving `inFlight` groups of products in flight.
  auto emitStep = [&](Value i, ValueRange carried,
                      int64_t inFlight) -> SmallVector<Value> {
    SmallVector<Value> next, stepWords;
    Value slot = kb.rem(i, stages);
    ring->waitUntilFull(i, slot);
    for (int64_t j = 0; wordsFirst && j < slabs; ++j)
      llvm::append_range(stepWords, loadMetadataWords(slot, j, inGroup));
    Value denseSlot =
        atom.advance(denseDescriptor, kb.affine(slot, denseSlotBytes / 16));
    Value blocks =
        atom.advance(blockDescriptor, kb.affine(slot, blockSlotBytes / 16));
    SmallVector<SmallVector<std::pair<Value, Value>>> operands;
    for (int64_t j = 0; j < slabs; ++j)
      operands.push_back(getProductOperands(
          atom, denseSlot, atom.advance(blocks, j * blockBytes)));
    atom.fence();
    Value stepMask = slabs == 1 || wordsFirst ? Value() : getStepMask(i);
    for (int64_t j = 0; j < slabs; ++j) {
      Value acc = carried[j];
      if (slabs == 1 || wordsFirst) {
        ValueRange words =
            wordsFirst
                ? ValueRange(stepWords).slice(j * wordsPerBlock, wordsPerBlock)
                : ValueRange();
        next.push_back(multiplyBlock(atom, operands[j], words, acc));
        continue;
      }
      // The same in every lane, so that ptxas keeps the slabs' products
      // in flight together.
      Value bit = kb.fromFirstLane(getSlabBit(stepMask, j));
      auto branch = scf::IfOp::create(b, acc.getType(), isSet(bit),
                                      /*withElseRegion=*/true);
      next.push_back(branch.getResult(0));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&branch.getThenRegion().front());
      SmallVector<Value> words;
      if (structured)
        words = loadMetadataWords(slot, j, inGroup);
      scf::YieldOp::create(b, multiplyBlock(atom, operands[j], words, acc));
      b.setInsertionPointToStart(&branch.getElseRegion().front());
      scf::YieldOp::create(b, acc);
    }
    atom.commitAndWait(inFlight);
    // Step i - inFlight's products are complete: its slot may be refilled.
    ring->releaseIf(
        kb.affine(i, 1, -inFlight),
        inFlight == 0 ? releases
                      : kb.both(lessThan(kb.index(inFlight - 1), i), releases),
        inGroup);
    return next;
  };
  // A step's metadata words must not be loaded into registers that
  // products in flight read (registers carried from one step to the next
  // were, which made ptxas serialise the products: C7513). Walks of an
  // even number of steps take them in pairs, each step's products in
  // flight during the next: the even steps' words and the odd steps' are
  // different registers, each loaded after the wait that completes the
  // products of the step two before. Other walks that read words first
  // complete each step's products before the next (a branch for an odd
  // walk's last step made ptxas serialise them, C7520).
  if (wordsFirst && evenWalks()) {
    ValueRange results =
        kb.loop(kb.index(0), kb.div(count, 2), zeros,
                [&](Value pair, ValueRange carried) {
                  Value even = kb.affine(pair, 2);
                  SmallVector<Value> next = emitStep(even, carried, 1);
                  return emitStep(kb.affine(even, 1, 1), next, 1);
                });
    atom.commitAndWait(0);
    scf::YieldOp::create(b, results);
    return;
  }
  ValueRange results =
      kb.loop(kb.index(0), count, zeros, [&](Value i, ValueRange carried) {
        return emitStep(i, carried, wordsFirst ? 0 : 1);
      });
  atom.commitAndWait(0);
  scf::YieldOp::create(b, results);
}

void WgmmaBlockEmitter::storeSums(WarpgroupMmaEmitter &atom, ValueRange sums,
                                  Value warpgroup, Value inGroup) {
  for (auto [slab, sum] : llvm::enumerate(sums)) {
    std::pair<Value, Value> slabRow = getSlabRow(slab);
    SmallVector<TileSum> tileSums;
    for (int64_t i = 0; i < atom.getAccumulatorCount(); ++i)
      tileSums.push_back({slabRow, atom.getAccumulatorPosition(inGroup, i),
                          atom.getAccumulator(sum, i)});
    storeSumsInBatches(tileSums, warpgroup);
  }
}

TransposedSums WgmmaBlockEmitter::getTransposedSums(Value warpgroup) {
  Value base = kb.add(
      denseRing,
      kb.affine(warpgroup, getTransposedSumsBytes(tiling.columnsPerWarpgroup)));
  return TransposedSums(kb, base, tiling.columnsPerWarpgroup);
}

void WgmmaBlockEmitter::waitForProducts() {
  Value id = kb.i32(1);
  Value threads = kb.i32(int32_t(tiling.warpgroups * kWarpgroupThreads));
  NVVM::BarrierOp::create(b, TypeRange{}, id, threads,
                          NVVM::BarrierReductionAttr(), Value());
}

void WgmmaBlockEmitter::storeSumsAsRuns(WarpgroupMmaEmitter &atom,
                                        ValueRange sums, Value warpgroup,
                                        Value inGroup) {
  // Every step's copies have landed; once every warpgroup's products are
  // complete the rings are no longer read.
  waitForProducts();
  TransposedSums staged = getTransposedSums(warpgroup);
  for (auto [slab, sum] : llvm::enumerate(sums)) {
    // A warp reads only its own area: the warp's barrier orders its
    // writes before its reads, and the slab before's reads before them.
    if (slab > 0)
      staged.syncWarp();
    staged.write(inGroup, getAccumulators(atom, sum));
    staged.syncWarp();
    storeRuns(staged, slab, warpgroup, inGroup);
  }
}

void WgmmaBlockEmitter::storeClusterSums(WarpgroupMmaEmitter &atom,
                                         Value warpgroup, Value inGroup) {
  // Accumulator i = u split + slice: the index is known at run time only,
  // which keeps the remote loads of every u free of branches (on a branch
  // an accumulator each, each waited for its loads). The sums of every
  // whole u are loaded first.
  int64_t count = atom.getAccumulatorCount(), split = tiling.split;
  std::pair<Value, Value> slabRow = getSlabRow(0);
  SmallVector<TileSum> tileSums;
  for (int64_t u = 0; (u + 1) * split <= count; ++u) {
    Value i = kb.affine(slice, 1, u * split);
    tileSums.push_back({slabRow, atom.getAccumulatorPosition(inGroup, i),
                        clusterSums->add(inGroup, i, split)});
  }
  storeSumsInBatches(tileSums, warpgroup);
  if (count % split == 0)
    return;
  Value i = kb.affine(slice, 1, count / split * split);
  kb.ifThen(kb.less(i, count), [&] {
    storeSum({slabRow, atom.getAccumulatorPosition(inGroup, i),
              clusterSums->add(inGroup, i, split)},
             warpgroup);
  });
}

void WgmmaBlockEmitter::storeRuns(TransposedSums &staged, int64_t slab,
                                  Value warpgroup, Value inGroup) {
  std::pair<Value, Value> slabRow = getSlabRow(slab);
  // Run k's sums, each with its position in the warpgroup's tile.
  auto readRun = [&](int64_t k) {
    auto [row, column] = staged.getRunPosition(inGroup, k);
    SmallVector<TileSum> run;
    for (auto [i, sum] : llvm::enumerate(staged.read(inGroup, k)))
      run.push_back({slabRow, {kb.affine(row, 1, int64_t(i)), column}, sum});
    return run;
  };
  // Adds `batch`'s runs to the result, all their loads issued first.
  auto storeBatch = [&](ArrayRef<SmallVector<TileSum>> batch) {
    SmallVector<SmallVector<KernelBuilder::ElementLoads>> loads;
    for (const SmallVector<TileSum> &run : batch) {
      loads.emplace_back();
      for (const TileSum &tileSum : run) {
        auto [channel, column] = getResultElement(tileSum, warpgroup);
        loads.back().push_back(kb.loadElement(out, channel, column));
      }
    }
    for (auto [run, runLoads] : llvm::zip_equal(batch, loads)) {
      auto [channel, column] = getResultElement(run.front(), warpgroup);
      SmallVector<Value> sums = llvm::map_to_vector(
          run, [](const TileSum &tileSum) { return tileSum.sum; });
      kb.accumulateRun(out, channel, column, sums, scales, denseScales,
                       runLoads);
    }
  };
  // Two runs (16 elements) at a time where no bounds checks are needed;
  // else each run where it lies inside the result (runs lie wholly inside
  // it or outside: whole runs of channels, see canStoreChannelRuns).
  int64_t runs = staged.getRunsPerLane();
  if (coversWholeTiles()) {
    for (int64_t k = 0; k < runs; k += kEpilogueBatch / kRunRows) {
      SmallVector<SmallVector<TileSum>> batch;
      for (int64_t j = k; j < std::min(runs, k + kEpilogueBatch / kRunRows);
           ++j)
        batch.push_back(readRun(j));
      storeBatch(batch);
    }
    return;
  }
  for (int64_t k = 0; k < runs; ++k) {
    SmallVector<TileSum> run = readRun(k);
    auto [channel, column] = getResultElement(run.front(), warpgroup);
    kb.ifThen(kb.both(slabRow.second, kb.both(kb.less(channel, layout.channels),
                                              kb.less(column, layout.columns))),
              [&] { storeBatch({run}); });
  }
}

std::pair<Value, Value> WgmmaBlockEmitter::getSlabRow(int64_t slab) {
  Value workRow = kb.affine(firstRow, 1, slab);
  Value first =
      kb.affine(kb.loadIndex(rows, kb.min(workRow, workRows - 1)), bc);
  return {first, kb.less(workRow, workRows)};
}

std::pair<Value, Value>
WgmmaBlockEmitter::getResultElement(const TileSum &tileSum, Value warpgroup) {
  // Rows of the accumulator tile are A's: the block's channels (structured)
  // or the dense columns (int8).
  auto [tileRow, tileColumn] = tileSum.position;
  Value channel =
      kb.add(tileSum.slabRow.first, structured ? tileRow : tileColumn);
  Value column = kb.add(
      kb.add(firstColumn, kb.affine(warpgroup, tiling.columnsPerWarpgroup)),
      structured ? tileColumn : tileRow);
  return {channel, column};
}

bool WgmmaBlockEmitter::coversWholeTiles() const {
  return workRows % tiling.slabs == 0 && layout.channels % bc == 0 &&
         layout.columns % tiling.getColumns() == 0;
}

void WgmmaBlockEmitter::storeSum(const TileSum &tileSum, Value warpgroup) {
  auto [channel, column] = getResultElement(tileSum, warpgroup);
  auto add = [&] {
    kb.accumulateSum(out, channel, column, tileSum.sum, scales, denseScales);
  };
  if (coversWholeTiles())
    return add();
  kb.ifThen(
      kb.both(tileSum.slabRow.second, kb.both(kb.less(channel, layout.channels),
                                              kb.less(column, layout.columns))),
      add);
}

void WgmmaBlockEmitter::storeSumsInBatches(ArrayRef<TileSum> tileSums,
                                           Value warpgroup) {
  if (!coversWholeTiles()) {
    for (const TileSum &tileSum : tileSums)
      storeSum(tileSum, warpgroup);
    return;
  }
  for (size_t first = 0; first < tileSums.size(); first += kEpilogueBatch) {
    ArrayRef<TileSum> batch = tileSums.slice(
        first, std::min<size_t>(kEpilogueBatch, tileSums.size() - first));
    SmallVector<std::pair<Value, Value>> elements;
    SmallVector<KernelBuilder::ElementLoads> loads;
    for (const TileSum &tileSum : batch) {
      elements.push_back(getResultElement(tileSum, warpgroup));
      loads.push_back(
          kb.loadElement(out, elements.back().first, elements.back().second));
    }
    for (auto [tileSum, element, elementLoads] :
         llvm::zip_equal(batch, elements, loads))
      kb.accumulateSum(out, element.first, element.second, tileSum.sum, scales,
                       denseScales, &elementLoads);
  }
}

gpu::GPUFuncOp tesa::buildWgmmaBlockCompute(KernelBuilder &kb,
                                            ArrayRef<Type> arguments) {
  SmallVector<Type> withMaps(arguments);
  withMaps.append(2, getTensorMapType(kb.b.getContext()));
  gpu::GPUFuncOp fn = kb.begin("", withMaps);
  WgmmaBlockEmitter(kb, fn).emit();
  return fn;
}
