//===- WgmmaBlockKernel.cpp - int8 block parts on sm_90 warpgroups --------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The compute kernel of int8 block parts on chips with warpgroup tensor
// cores (sm_90): the tile layer's s8 wgmma atom (WarpgroupMma.h) fed by
// TMA (TensorMap.h). A block of threads computes one work row of the part
// (a block row: `blockChannels` channels) for 64 or 128 dense columns. Each
// step takes one packed block of the row: the last warp copies the block
// (K-major already: a block row is a channel's run of the reduction) and
// the matching slice of the dense operand's int8 copy ([column][k], K
// contiguous) into a ring slot and signals the slot's `full` mbarrier;
// each warpgroup waits on it, multiplies its 64 dense columns by the
// block's channels with s32 accumulators, and releases the slot of the
// step before through its `empty` mbarrier once those products are
// complete. The sums are dequantised by the two scales and added to the
// result as the other compute kernels do (KernelBuilder::accumulateSum).
//
// The tensor maps view the int8 buffers in 16-bit units (TensorMapOperand),
// two values a unit: a block's row of 32, 64 or 128 bytes is one swizzled
// row of the ring, the layout the wgmma descriptors read.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "tesa/Codegen/StagedTile.h"
#include "tesa/Codegen/TensorMap.h"
#include "tesa/Codegen/WarpgroupMma.h"

using namespace mlir;
using namespace tesa;

/// Ring slots: steps in flight. A step moves a block and its slice of the
/// dense copy (5 KiB for 32x32 blocks and 128 columns); the ring is never
/// deeper than the longest walk.
static constexpr int64_t kMaxStages = 4, kMinStages = 3;

namespace {
/// The shape of one part's kernel.
struct WgmmaBlockTiling {
  int64_t warpgroups, stages;
  int64_t getColumns() const { return warpgroups * kWgmmaRows; }
  /// The warpgroups and one copying warp.
  int64_t getThreads() const { return warpgroups * kWarpgroupThreads + 32; }
};
} // namespace

/// Bytes of a block's row: the rows of both rings.
static int64_t getRowBytes(const PartLayout &layout) {
  return layout.blockReduction;
}

/// Bytes of a ring slot of the dense copy, and of the packed blocks.
static int64_t getDenseSlotBytes(const PartLayout &layout,
                                 const WgmmaBlockTiling &tiling) {
  return tiling.getColumns() * getRowBytes(layout);
}
static int64_t getBlockSlotBytes(const PartLayout &layout) {
  return layout.blockChannels * getRowBytes(layout);
}

/// Dense column tiles of `columns` dense columns each.
static int64_t getColumnTiles(const PartLayout &layout, int64_t columns) {
  return llvm::divideCeil(layout.columns, columns);
}

static WgmmaBlockTiling getTiling(const PartLayout &layout,
                                  const ChipDescription &chip) {
  // Two warpgroups where the tiles of 128 columns still give every
  // multiprocessor two.
  int64_t workRows = layout.rows.size();
  int64_t warpgroups =
      workRows * getColumnTiles(layout, 2 * kWgmmaRows) >=
              2 * int64_t(chip.multiprocessors)
          ? 2
          : 1;
  int64_t longest = 0;
  for (size_t row = 0; row + 1 < layout.offsets.size(); ++row)
    longest = std::max<int64_t>(longest,
                                layout.offsets[row + 1] - layout.offsets[row]);
  return {warpgroups, std::clamp(longest, kMinStages, kMaxStages)};
}

static int64_t getSharedBytes(const PartLayout &layout,
                              const WgmmaBlockTiling &tiling) {
  // The rings start at the first 1 KiB boundary; the mbarriers follow.
  return kWgmmaTileAlignment +
         tiling.stages * (getDenseSlotBytes(layout, tiling) +
                          getBlockSlotBytes(layout) + 2 * kMBarrierBytes);
}

bool tesa::usesWgmmaBlocks(const PartLayout &layout,
                           const ChipDescription &chip) {
  int64_t bc = layout.blockChannels;
  // s8 products are bc wide: a multiple of 16 up to 256, or 8 or 24.
  bool wgmmaWidth = bc > 0 && bc <= 256 && (bc % 16 == 0 || bc == 8 || bc == 24);
  if (!chip.hasWarpgroupMma || !layout.useMma || layout.structured ||
      layout.compute != ComputeKind::I8 || layout.packedInt4 ||
      !layout.liveColumns.empty() || layout.getNumEntries() == 0 ||
      !wgmmaWidth || !isWgmmaRowBytes(getRowBytes(layout)) ||
      getBlockSlotBytes(layout) % kWgmmaTileAlignment != 0)
    return false;
  return getSharedBytes(layout, getTiling(layout, chip)) <=
         chip.maxSharedMemoryPerBlock;
}

KernelLaunch tesa::getWgmmaBlockLaunch(const PartLayout &layout,
                                       const ChipDescription &chip) {
  WgmmaBlockTiling tiling = getTiling(layout, chip);
  KernelLaunch launch;
  launch.grid = {int64_t(layout.rows.size()),
                 getColumnTiles(layout, tiling.getColumns())};
  launch.block = {tiling.getThreads(), 1};
  launch.sharedBytes = getSharedBytes(layout, tiling);
  // In 16-bit units: the dense copy ([column][padded k], argument 0) in
  // boxes of a block's depth by the tile's columns, the packed blocks
  // (argument 2) as [entry * bc + channel][k] in boxes of one block.
  int64_t rowUnits = getRowBytes(layout) / 2;
  int64_t denseUnits = layout.getPaddedReduction() / 2;
  launch.tensorMaps = {
      {0, denseUnits, layout.columns, denseUnits, rowUnits,
       tiling.getColumns()},
      {2, rowUnits, layout.getNumEntries() * layout.blockChannels, rowUnits,
       rowUnits, layout.blockChannels}};
  return launch;
}

gpu::GPUFuncOp tesa::buildWgmmaBlockCompute(KernelBuilder &kb,
                                            ArrayRef<Type> arguments) {
  const PartLayout &layout = kb.layout;
  ImplicitLocOpBuilder &b = kb.b;
  WgmmaBlockTiling tiling = getTiling(layout, kb.chip);
  int64_t bc = layout.blockChannels, rowBytes = getRowBytes(layout);
  int64_t stages = tiling.stages, warpgroups = tiling.warpgroups;
  int64_t denseSlotBytes = getDenseSlotBytes(layout, tiling);
  int64_t blockSlotBytes = getBlockSlotBytes(layout);

  SmallVector<Type> withMaps(arguments);
  withMaps.append(2, getTensorMapType(b.getContext()));
  gpu::GPUFuncOp fn = kb.begin("", withMaps);
  auto [dense, denseScales, packed, scales, out] = kb.computeArguments(fn);
  (void)dense;
  (void)packed;
  Value rows = kb.table("_rows", layout.rows);
  Value offsets = kb.table("_offsets", layout.offsets);
  Value entries = kb.table("_entries", layout.entries);

  Value tid = kb.threadId();
  Value workRow = kb.blockId(gpu::Dimension::x);
  Value firstColumn =
      kb.affine(kb.blockId(gpu::Dimension::y), tiling.getColumns());
  Value lo = kb.loadIndex(offsets, workRow);
  Value count = arith::SubIOp::create(
      b, kb.loadIndex(offsets, kb.affine(workRow, 1, 1)), lo);

  // The rings of the dense slices then of the blocks, then each slot's
  // `full` and `empty` mbarriers.
  Value shared = getDynamicSharedMemory(kb);
  Value denseRing =
      kb.add(getSharedAddress(kb, shared),
             getAlignedOffset(kb, shared, kWgmmaTileAlignment));
  Value blockRing = kb.affine(denseRing, 1, stages * denseSlotBytes);
  Value barriers = kb.affine(blockRing, 1, stages * blockSlotBytes);
  auto full = [&](Value slot) {
    return kb.add(barriers, kb.affine(slot, kMBarrierBytes));
  };
  auto empty = [&](Value slot) {
    return kb.add(barriers,
                  kb.affine(slot, kMBarrierBytes, stages * kMBarrierBytes));
  };
  TensorMapEmitter copies(kb);
  kb.ifThen(kb.less(tid, 1), [&] {
    for (int64_t slot = 0; slot < stages; ++slot) {
      copies.initBarrier(full(kb.index(slot)), 1);
      copies.initBarrier(empty(kb.index(slot)), warpgroups);
    }
    copies.fenceBarrierInit();
  });
  kb.barrier();

  auto lessThan = [&](Value x, Value y) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, x, y);
  };
  int64_t consumers = warpgroups * kWarpgroupThreads;
  // The copying warp's first lane: step i waits until the products of step
  // i - stages have released its slot.
  Value copier = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid,
                                       kb.index(consumers));
  kb.ifThen(copier, [&] {
    Value denseMap = copies.getAddress(fn.getArgument(fn.getNumArguments() - 2));
    Value blockMap = copies.getAddress(fn.getArgument(fn.getNumArguments() - 1));
    kb.loop(kb.index(0), count, ValueRange{}, [&](Value i, ValueRange) {
      Value slot = kb.rem(i, stages), round = kb.div(i, stages);
      kb.ifThen(lessThan(kb.index(stages - 1), i), [&] {
        copies.wait(empty(slot), kb.rem(kb.affine(round, 1, 1), 2));
      });
      copies.arriveExpectingBytes(full(slot), denseSlotBytes + blockSlotBytes);
      Value entry = kb.add(lo, i);
      Value k = kb.affine(kb.loadIndex(entries, entry), rowBytes / 2);
      copies.load(denseMap, k, firstColumn,
                  kb.add(denseRing, kb.affine(slot, denseSlotBytes)),
                  full(slot));
      copies.load(blockMap, kb.index(0), kb.affine(entry, bc),
                  kb.add(blockRing, kb.affine(slot, blockSlotBytes)),
                  full(slot));
      return SmallVector<Value>{};
    });
  });

  // The warpgroups, on a branch the compiler sees is uniform across each
  // warp.
  Value warpgroup = kb.div(tid, kWarpgroupThreads);
  Value inGroup = kb.rem(tid, kWarpgroupThreads);
  kb.ifThen(kb.less(kb.fromFirstLane(warpgroup), warpgroups), [&] {
    WarpgroupMmaEmitter atom(kb, bc, /*bMnMajor=*/false, WgmmaOperands::S8);
    // This warpgroup's dense columns and the block in slot 0; another slot
    // is its bytes / 16 further.
    Value denseDescriptor = atom.getDescriptor(
        kb.add(denseRing, kb.affine(warpgroup, kWgmmaRows * rowBytes)),
        rowBytes);
    Value blockDescriptor = atom.getDescriptor(blockRing, rowBytes);
    Value releases = kb.less(inGroup, 1);
    auto release = [&](Value i, Value when) {
      copies.arriveIf(empty(kb.rem(i, stages)), when);
    };
    Value sum = kb.loop(
        kb.index(0), count, ValueRange{atom.zeroAccumulator()},
        [&](Value i, ValueRange accs) {
          Value slot = kb.rem(i, stages);
          copies.wait(full(slot), kb.rem(kb.div(i, stages), 2));
          Value denseSlot =
              atom.advance(denseDescriptor, kb.affine(slot, denseSlotBytes / 16));
          Value blockSlot =
              atom.advance(blockDescriptor, kb.affine(slot, blockSlotBytes / 16));
          atom.fence();
          Value acc = accs[0];
          // Each product takes 32 bytes of the rows.
          for (int64_t offset = 0; offset < rowBytes; offset += 32)
            acc = atom.multiply(atom.advance(denseSlot, offset),
                                atom.advance(blockSlot, offset), acc);
          atom.commitAndWait(1);
          // Step i - 1's products are complete: its slot may be refilled.
          release(kb.affine(i, 1, -1),
                  kb.both(lessThan(kb.index(0), i), releases));
          return SmallVector<Value>{acc};
        })[0];
    atom.commitAndWait(0);

    // Accumulator pairs are neighbouring channels of one dense column.
    Value channelBase = kb.affine(kb.loadIndex(rows, workRow), bc);
    Value columnBase =
        kb.add(firstColumn, kb.affine(warpgroup, kWgmmaRows));
    for (int64_t i = 0; i < atom.getAccumulatorCount(); ++i) {
      auto [inColumn, inChannel] = atom.getAccumulatorPosition(inGroup, i);
      Value channel = kb.add(channelBase, inChannel);
      Value column = kb.add(columnBase, inColumn);
      Value inside = kb.both(kb.less(channel, layout.channels),
                             kb.less(column, layout.columns));
      kb.ifThen(inside, [&] {
        kb.accumulateSum(out, channel, column, atom.getAccumulator(sum, i),
                         scales, denseScales);
      });
    }
  });
  return fn;
}
