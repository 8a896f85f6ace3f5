//===- StagedMmaKernel.cpp - Tensor-core kernel staged in shared memory ---===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The tensor-core compute kernel for chips with asynchronous copies (sm_80
// and later). A block of warps computes one block row of the part (its work
// row), or a group of work rows with the same columns of blocks, for
// StagedTiling::columnTiles x mma.n columns. The packed blocks of
// the row and the matching rows of the dense operand's copy are staged in
// dynamic shared memory with `cp.async` (nvgpu.device_async_copy),
// StagedTiling::stages buffers deep, so that the warps share one copy of
// each instead of each reading its own, and the copies of later stages
// overlap the mma instructions of the current one. The warps read their
// fragments with `ldmatrix`; those of 2:4 structured parts, whose packed
// rows and dense copy are already in the fragments' order, with one vector
// load per lane.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

#include <map>

using namespace mlir;
using namespace tesa;

/// Channels of the block rows whose parts use the staged kernel. With
/// 32-channel blocks it measured 1.1-1.4x slower than the register-pipelined
/// kernel (buildMmaCompute), whose four warps share the packed block through
/// the L1 cache without waiting for each other; with 64-channel blocks it
/// measured 1.1-1.4x faster at 50-90% sparsity (docs/benchmarks.md). Wider
/// blocks (not on the menu) would need more accumulators per warp than
/// have been measured, so they keep the register kernel too.
static constexpr int64_t kStagedBlockChannels = 64;
/// Bytes of one `cp.async`, and of one row of an `ldmatrix` matrix.
static constexpr int64_t kCopyBytes = 16;
/// Bytes one mma step reads of a packed row (16 f16 or 32 int8 values, or
/// the 16 values a structured row keeps of 32 reduction elements).
static constexpr int64_t kStepBytes = 32;
/// Bytes of the shared-memory banks' cycle.
static constexpr int64_t kBankCycleBytes = 128;

namespace {
/// The shape of one part's staged kernel.
struct StagedTiling {
  /// Shared-memory buffers of the pipeline: the warps compute one stage
  /// while the copies of the next stages - 1 are in flight.
  int64_t stages;
  /// Bytes of one row (a channel of a packed block, a column of the dense
  /// copy) in one stage.
  int64_t stageRowBytes;
  /// Work rows one block of threads computes: a group of rows with the same
  /// columns of blocks (see getRowGroups), whose blocks' stages share one
  /// copy of the dense rows.
  int64_t groupRows;
  /// Warps along the group's channels and along its columns, and its column
  /// tiles (mma.n columns each).
  int64_t channelWarps, columnWarps, columnTiles;

  int64_t getThreads() const { return 32 * channelWarps * columnWarps; }
};
} // namespace

/// The work rows of `layout` in groups of `size` that have the same columns
/// of blocks, each group in the order of its rows, the groups in the order
/// of their first rows; -1 fills the groups that find too few rows.
static std::vector<int32_t> getRowGroups(const PartLayout &layout,
                                         int64_t size) {
  std::vector<int32_t> groups;
  // The group still filling for each list of columns of blocks.
  std::map<std::vector<int32_t>, size_t> filling;
  for (size_t w = 0; w < layout.rows.size(); ++w) {
    std::vector<int32_t> columns(layout.entries.begin() + layout.offsets[w],
                                 layout.entries.begin() +
                                     layout.offsets[w + 1]);
    auto [it, isNew] = filling.try_emplace(columns, groups.size());
    if (isNew)
      groups.resize(groups.size() + size, -1);
    size_t group = it->second;
    int64_t slot = 0;
    while (groups[group + slot] != -1)
      ++slot;
    groups[group + slot] = int32_t(w);
    if (slot + 1 == size)
      filling.erase(it);
  }
  return groups;
}

/// Groups of work rows the kernel computes (single rows when
/// `tiling.groupRows` is 1).
static int64_t getNumGroups(const PartLayout &layout,
                            const StagedTiling &tiling) {
  if (tiling.groupRows == 1)
    return layout.rows.size();
  return getRowGroups(layout, tiling.groupRows).size() / tiling.groupRows;
}

/// Whether grouping the work rows by `size` leaves at most one in eight of
/// the groups' slots without a row.
static bool groupsRowsWell(const PartLayout &layout, int64_t size) {
  int64_t slots = getRowGroups(layout, size).size();
  return 8 * (slots - int64_t(layout.rows.size())) <= slots;
}

static int64_t getElementBytes(const PartLayout &layout) {
  return layout.compute == ComputeKind::I8 ? 1 : 2;
}

/// Bytes one mma step reads of a dense column: kStepBytes, or twice that
/// for a structured part (32 f16 values).
static int64_t getDenseStepBytes(const PartLayout &layout) {
  return layout.mma.k * getElementBytes(layout);
}

/// Bytes of a packed row in one stage, whose dense rows are `stageRowBytes`
/// long: as many, or half as many for a structured part.
static int64_t getPackedStageRowBytes(const PartLayout &layout,
                                      int64_t stageRowBytes) {
  return layout.structured ? stageRowBytes / 2 : stageRowBytes;
}

/// Bytes by which a row in shared memory is longer than its `rowBytes` of
/// data, so that an `ldmatrix`, which reads eight rows of 16 bytes, has no
/// bank conflicts: rows of 48, 80 or 144 bytes start in eight different
/// groups of four banks. Structured parts read their fragments otherwise
/// and need no padding (see buildStagedMmaCompute).
static int64_t getRowPaddingBytes(const PartLayout &layout) {
  return layout.structured ? 0 : kCopyBytes;
}

/// Lengths, in elements, of a row of the staged kernel's buffers: a packed
/// row, and a dense column.
static std::pair<int64_t, int64_t> getStageRowLengths(const PartLayout &layout,
                                                      int64_t stageRowBytes) {
  int64_t packedBytes = getPackedStageRowBytes(layout, stageRowBytes);
  return {(packedBytes + getRowPaddingBytes(layout)) / getElementBytes(layout),
          (stageRowBytes + getRowPaddingBytes(layout)) /
              getElementBytes(layout)};
}

/// Bytes of shared memory the staged kernel's buffers take: `stages` copies
/// of a group's channels and of the block's columns.
static int64_t getStagedSharedBytes(const PartLayout &layout,
                                    const StagedTiling &tiling) {
  auto [packedLength, denseLength] =
      getStageRowLengths(layout, tiling.stageRowBytes);
  return tiling.stages * getElementBytes(layout) *
         (tiling.groupRows * layout.blockChannels * packedLength +
          tiling.columnTiles * layout.mma.n * denseLength);
}

/// Tilings, best first. Dense and int8 blocks: 256 columns by eight warps,
/// then 128 columns by four, with stage rows of 128 bytes (a 64x64 f16
/// block's whole row), then 128 columns with rows of 64 bytes, which fits
/// the 48 KB every chip has. Measured on an H200 (docs/benchmarks.md): the
/// first ran 64x64 blocks 1.03-1.12x faster than the last, and four stages
/// instead of three changed little.
static constexpr StagedTiling kTilings[] = {
    {3, 128, 1, 2, 4, 32}, {3, 128, 1, 2, 2, 16}, {3, 64, 1, 2, 2, 16}};
/// Structured blocks: pairs of work rows by 64 columns (32 KB), else one
/// row by 128 columns (40 KB), four warps and two buffers either way, so
/// that three blocks of threads share a multiprocessor. On an H200's 2:4
/// FFN product (docs/benchmarks.md) one row ran 1.04-1.05x faster than the
/// register-pipelined kernel and pairs 1.03-1.05x faster again; three
/// buffers were slower than two, and every tiling of eight warps (one block
/// of threads per multiprocessor) or of three or four rows slower still.
static constexpr StagedTiling kStructuredTilings[] = {
    {2, 128, 2, 2, 2, 8}, {2, 128, 1, 2, 2, 16}};

/// The first tiling that the part's columns fill and whose buffers fit the
/// chip's shared memory.
static std::optional<StagedTiling> getStagedTiling(const PartLayout &layout,
                                                   const ChipDescription &chip) {
  int64_t rowBytes = layout.blockReduction * getElementBytes(layout);
  for (StagedTiling tiling : layout.structured
                                 ? ArrayRef<StagedTiling>(kStructuredTilings)
                                 : ArrayRef<StagedTiling>(kTilings)) {
    tiling.stageRowBytes = std::min(tiling.stageRowBytes, rowBytes);
    // Each warp's channels lie in one work row of the group.
    int64_t warpChannels =
        tiling.groupRows * layout.blockChannels / tiling.channelWarps;
    if (layout.getNumColumnWork() >= tiling.columnTiles &&
        layout.blockChannels % warpChannels == 0 &&
        warpChannels % layout.mma.m == 0 &&
        tiling.columnTiles % tiling.columnWarps == 0 &&
        (tiling.groupRows == 1 || groupsRowsWell(layout, tiling.groupRows)) &&
        getStagedSharedBytes(layout, tiling) <= chip.maxSharedMemoryPerBlock)
      return tiling;
  }
  return std::nullopt;
}

bool tesa::usesStagedMma(const PartLayout &layout,
                         const ChipDescription &chip) {
  if (!layout.useMma || !chip.hasAsyncCopy || !hasDenseCopy(layout) ||
      layout.packedInt4 || layout.blockChannels != kStagedBlockChannels)
    return false;
  // The fragments ldmatrix loads (16 x 32-byte A tiles, 8 x 32-byte B
  // tiles; structured, 16 x 32-byte A and 8 x 64-byte B tiles), whole
  // stages in a block's row (and whole runs of a structured row's packed
  // steps), and a tiling that fits.
  std::optional<StagedTiling> tiling = getStagedTiling(layout, chip);
  if (!tiling || layout.mma.m != 16 || layout.mma.n != 8)
    return false;
  int64_t rowBytes = layout.blockReduction * getElementBytes(layout);
  int64_t stepBytes = getDenseStepBytes(layout);
  int64_t stepsPerStage = tiling->stageRowBytes / stepBytes;
  return stepBytes == (layout.structured ? 2 : 1) * kStepBytes &&
         rowBytes % tiling->stageRowBytes == 0 &&
         tiling->stageRowBytes % stepBytes == 0 &&
         (!layout.structured ||
          stepsPerStage % layout.getStructuredStepsPerRun() == 0);
}

KernelLaunch tesa::getStagedMmaLaunch(const PartLayout &layout,
                                      const ChipDescription &chip) {
  StagedTiling tiling = *getStagedTiling(layout, chip);
  int64_t numWork = layout.getNumColumnWork();
  return {{(numWork + tiling.columnTiles - 1) / tiling.columnTiles,
           std::min(getNumGroups(layout, tiling), kMaxGridY)},
          {tiling.getThreads(), 1},
          getStagedSharedBytes(layout, tiling)};
}

gpu::GPUFuncOp tesa::buildStagedMmaCompute(KernelBuilder &kb,
                                           ArrayRef<Type> arguments) {
  const PartLayout &layout = kb.layout;
  ImplicitLocOpBuilder &b = kb.b;
  MLIRContext *ctx = b.getContext();
  bool isInt = layout.compute == ComputeKind::I8;
  bool structured = layout.structured;
  Type element = isInt ? Type(b.getI8Type()) : Type(b.getF16Type());
  int64_t elementBytes = getElementBytes(layout);
  int64_t bc = layout.blockChannels, br = layout.blockReduction;
  int64_t numWork = layout.getNumColumnWork();
  MatrixShape shape = layout.mma;

  StagedTiling tiling = *getStagedTiling(layout, kb.chip);
  int64_t stages = tiling.stages, columnTiles = tiling.columnTiles;
  int64_t groupRows = tiling.groupRows, groupChannels = groupRows * bc;
  int64_t threads = tiling.getThreads();
  // One stage: `stageLength` reduction elements of each of the block's bc
  // channels (packed: `packedStageLength` values) and of each of the block's
  // columns.
  int64_t stageBytes = tiling.stageRowBytes;
  int64_t packedStageBytes = getPackedStageRowBytes(layout, stageBytes);
  int64_t stageLength = stageBytes / elementBytes;
  int64_t packedStageLength = packedStageBytes / elementBytes;
  int64_t packedRowLength = structured ? br / 2 : br;
  int64_t chunksPerBlock = br / stageLength;
  int64_t stepsPerStage = stageBytes / getDenseStepBytes(layout);
  auto [packedBufferRow, denseBufferRow] =
      getStageRowLengths(layout, stageBytes);
  int64_t copyLength = kCopyBytes / elementBytes;
  int64_t columnRows = columnTiles * shape.n;

  // The warps, tiling.channelWarps along the group's channels by
  // tiling.columnWarps along columns, each take `slices` x mma.m channels
  // (of one work row) by `tiles` x mma.n columns.
  int64_t columnWarps = tiling.columnWarps;
  int64_t slices = groupChannels / tiling.channelWarps / shape.m;
  int64_t tiles = columnTiles / columnWarps;

  auto fn = kb.begin("", arguments);
  // The buffers, in dynamic shared memory (aligned to 16 bytes): the packed
  // blocks' rows, then the dense rows.
  auto workgroup = gpu::AddressSpaceAttr::get(
      ctx, gpu::GPUDialect::getWorkgroupAddressSpace());
  Value sharedMemory = gpu::DynamicSharedMemoryOp::create(
      b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                         MemRefLayoutAttrInterface(), workgroup));
  auto stagesType = [&](int64_t rows, int64_t rowLength) {
    return MemRefType::get({stages, rows, rowLength}, element,
                           MemRefLayoutAttrInterface(), workgroup);
  };
  Value packedStages = memref::ViewOp::create(
      b, stagesType(groupChannels, packedBufferRow), sharedMemory,
      kb.index(0), ValueRange{});
  Value denseStages = memref::ViewOp::create(
      b, stagesType(columnRows, denseBufferRow), sharedMemory,
      kb.index(stages * groupChannels * packedBufferRow * elementBytes),
      ValueRange{});
  auto [dense, denseScales, packed, scales, out] = kb.computeArguments(fn);
  // A structured part's dense copy, [column][k / 32][32], is copied as
  // [column][k]: a stage holds whole steps, in the fragments' order.
  if (structured)
    dense = memref::CollapseShapeOp::create(
        b, dense, ArrayRef<ReassociationIndices>{{0}, {1, 2}});
  Value rows = kb.table("_rows", layout.rows);
  Value offsets = kb.table("_offsets", layout.offsets);
  Value entries = kb.table("_entries", layout.entries);
  Value metadata =
      structured ? kb.table("_metadata", layout.metadata) : Value();
  Value groups = groupRows > 1
                     ? kb.table("_groups", getRowGroups(layout, groupRows))
                     : Value();

  Value thread = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value warp = kb.div(thread, 32), lane = kb.rem(thread, 32);
  Value group = kb.div(lane, 4), inGroup = kb.rem(lane, 4);
  Value firstTile = kb.mul(gpu::BlockIdOp::create(b, gpu::Dimension::x),
                           kb.index(columnTiles));
  // The warp's first channel in the group's buffer rows; its work row in
  // the group, and its first channel in that row's block row.
  Value warpChannel =
      kb.mul(kb.div(warp, columnWarps), kb.index(slices * shape.m));
  Value warpSlot = kb.index(0), warpRowChannel = warpChannel;
  if (groupRows > 1) {
    warpSlot = kb.div(warpChannel, bc);
    warpRowChannel = kb.rem(warpChannel, bc);
  }
  Value warpTile = kb.mul(kb.rem(warp, columnWarps), kb.index(tiles));
  // The first column of the block's `tile`-th tile (tiles past the end
  // repeat the last one).
  auto getTileColumn = [&](Value tile) {
    return kb.mul(kb.getColumnWork(kb.min(tile, numWork - 1)),
                  kb.index(shape.n));
  };

  // The copies of one stage: copy i of the packed blocks is piece
  // i % copiesPerRow of channel i / copiesPerRow, and likewise for the
  // block's columns. Thread t issues copies t, t + threads, ...; the
  // dense columns its copies read are the same in every stage. The last
  // round of copies is `partial` when the threads outnumber its copies.
  struct Copy {
    Value row, offset, column;
    bool partial;
  };
  auto getCopies = [&](int64_t rowCount, int64_t rowBytes, bool ofColumns) {
    int64_t copiesPerRow = rowBytes / kCopyBytes;
    SmallVector<Copy> copies;
    for (int64_t first = 0; first < rowCount * copiesPerRow; first += threads) {
      Value id = kb.add(thread, kb.index(first));
      Copy copy{kb.div(id, copiesPerRow),
                kb.mul(kb.rem(id, copiesPerRow), kb.index(copyLength)),
                Value(), first + threads > rowCount * copiesPerRow};
      if (ofColumns) {
        Value tile = kb.add(firstTile, kb.div(copy.row, shape.n));
        copy.column = kb.min(
            kb.add(getTileColumn(tile), kb.rem(copy.row, shape.n)),
            layout.columns - 1);
      }
      copies.push_back(copy);
    }
    return copies;
  };
  // Where element `offset` of dense row `row` is in its buffer row. A
  // structured part's lanes read 16 bytes each of a step of a dense row:
  // eight consecutive lanes read 64 bytes of each of two rows. Rows of 128
  // bytes keep every bank once only if the odd rows are rotated by 64
  // bytes; rows of 64 bytes already do.
  bool rotateOddRows = structured && stageBytes % kBankCycleBytes == 0;
  auto getDenseSlot = [&](Value row, Value offset) {
    if (!rotateOddRows)
      return offset;
    return kb.rem(
        kb.add(offset, kb.mul(kb.rem(row, 2), kb.index(stageLength / 2))),
        stageLength);
  };
  SmallVector<Copy> packedCopies =
      getCopies(groupChannels, packedStageBytes, false);
  SmallVector<Copy> denseCopies = getCopies(columnRows, stageBytes, true);
  // Runs `issue` for copy `c` of a buffer of `rowCount` rows, if the copy
  // exists.
  auto issueCopy = [&](const Copy &c, int64_t rowCount,
                       llvm::function_ref<void()> issue) {
    if (c.partial)
      kb.ifThen(kb.less(c.row, rowCount), issue);
    else
      issue();
  };
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(ctx);
  auto copy = [&](Value src, ValueRange srcIndices, Value dst,
                  ValueRange dstIndices) {
    nvgpu::DeviceAsyncCopyOp::create(b, tokenType, dst, dstIndices, src,
                                     srcIndices,
                                     b.getIndexAttr(copyLength),
                                     /*srcElements=*/Value(),
                                     /*bypassL1=*/b.getUnitAttr());
  };

  // The lane's row and first element within an ldmatrix of four 8 x 16-byte
  // matrices: for A, (rows 0-7, bytes 0-15), (8-15, 0-15), (0-7, 16-31),
  // (8-15, 16-31), the order of the mma's A registers; for B, two tiles'
  // (bytes 0-15, bytes 16-31) in turn.
  Value quarter = kb.div(lane, 8), inQuarter = kb.rem(lane, 8);
  Value aRow = kb.add(kb.mul(kb.rem(quarter, 2), kb.index(8)), inQuarter);
  Value aOffset = kb.mul(kb.div(quarter, 2), kb.index(copyLength));
  Value bRow = kb.add(kb.mul(kb.div(quarter, 2), kb.index(8)), inQuarter);
  Value bOffset = kb.mul(kb.rem(quarter, 2), kb.index(copyLength));
  auto fragmentsType = VectorType::get({4, 4 / elementBytes}, element);
  // The four registers of an ldmatrix of `buffers` at (buffer, row,
  // offset).
  auto loadMatrices = [&](Value buffers, Value buffer, Value row,
                          Value offset) {
    Value matrices = nvgpu::LdMatrixOp::create(
        b, fragmentsType, buffers, ValueRange{buffer, row, offset},
        b.getBoolAttr(false), b.getI32IntegerAttr(4));
    SmallVector<Value> registers;
    for (int64_t i = 0; i < 4; ++i) {
      Value reg = vector::ExtractOp::create(b, matrices, i);
      registers.push_back(isInt ? kb.bitcastToI32(reg) : reg);
    }
    return registers;
  };

  // The mma instructions of one stage, with ldmatrix. The sums of (tile t,
  // slice sl) are at (t * slices + sl) * 4.
  auto computeStage = [&](Value buffer, MutableArrayRef<Value> sums) {
    for (int64_t step = 0; step < stepsPerStage; ++step) {
      Value stepOffset = kb.index(step * kStepBytes / elementBytes);
      SmallVector<SmallVector<Value>> a;
      for (int64_t sl = 0; sl < slices; ++sl)
        a.push_back(loadMatrices(
            packedStages, buffer,
            kb.add(warpChannel, kb.add(kb.index(sl * shape.m), aRow)),
            kb.add(stepOffset, aOffset)));
      for (int64_t t = 0; t < tiles; t += 2) {
        SmallVector<Value> pair = loadMatrices(
            denseStages, buffer,
            kb.add(kb.mul(kb.add(warpTile, kb.index(t)), kb.index(shape.n)),
                   bRow),
            kb.add(stepOffset, bOffset));
        for (int64_t half = 0; half < 2; ++half)
          for (int64_t sl = 0; sl < slices; ++sl)
            kb.mma(a[sl], ArrayRef<Value>(pair).slice(half * 2, 2),
                   sums.slice(((t + half) * slices + sl) * 4, 4), Value());
      }
    }
  };

  // The same for a structured part, with `words` the stage's metadata
  // (loadStageMetadata). A packed row is in runs of `runSteps` steps, in
  // which lane i of a group holds 4 values a step, consecutive
  // (PartLayout::getStructuredOffset); a dense step holds lane i's B
  // fragment at 8i (see getDenseCopyType). Each lane loads its registers of
  // a run of a packed row, and of a step of a dense column, at once.
  int64_t runSteps = structured ? layout.getStructuredStepsPerRun() : 0;
  // The lane's metadata words of stage `s` of the work row whose entries
  // start at `lo`, per (slice, step): those of lane 0 or 1 of its group
  // (sparsity selector 0), from the constant table.
  Value metadataLane = kb.add(kb.mul(group, kb.index(2)), kb.rem(inGroup, 2));
  auto loadStageMetadata = [&](Value lo, Value s) {
    // A row without entries (see addEmptyWorkRows) loads an existing
    // entry's words, unused.
    Value e = arith::MinUIOp::create(b, kb.add(lo, kb.div(s, chunksPerBlock)),
                                     kb.index(layout.getNumEntries() - 1));
    Value firstStep =
        kb.mul(kb.rem(s, chunksPerBlock), kb.index(stepsPerStage));
    Value firstSlice = kb.div(warpRowChannel, shape.m);
    SmallVector<Value> words;
    for (int64_t sl = 0; sl < slices; ++sl) {
      Value index = kb.metadataIndex(e, kb.add(firstSlice, kb.index(sl)),
                                     metadataLane, firstStep);
      Value loaded =
          kb.loadVector(VectorType::get({stepsPerStage}, b.getI32Type()),
                        metadata, ValueRange{index});
      for (int64_t step = 0; step < stepsPerStage; ++step)
        words.push_back(vector::ExtractOp::create(b, loaded, step));
    }
    return words;
  };
  auto computeStructuredStage = [&](Value buffer, ArrayRef<Value> words,
                                    MutableArrayRef<Value> sums) {
    auto runType = VectorType::get({4 * runSteps}, element);
    auto stepType = VectorType::get({8}, element);
    for (int64_t run = 0; run < stepsPerStage / runSteps; ++run) {
      // Per (slice, row offset 0 / 8): two registers a step.
      SmallVector<SmallVector<Value>> runs;
      Value at = kb.add(kb.index(run * 16 * runSteps),
                        kb.mul(inGroup, kb.index(4 * runSteps)));
      for (int64_t sl = 0; sl < slices; ++sl)
        for (int64_t rowOffset : {0, 8})
          runs.push_back(kb.fragmentRegisters(kb.loadVector(
              runType, packedStages,
              ValueRange{
                  buffer,
                  kb.add(warpChannel,
                         kb.add(kb.index(sl * shape.m + rowOffset), group)),
                  at})));
      for (int64_t inRun = 0; inRun < runSteps; ++inRun) {
        int64_t step = run * runSteps + inRun;
        for (int64_t t = 0; t < tiles; ++t) {
          SmallVector<Value> bFragment = kb.fragmentRegisters(kb.loadVector(
              stepType, denseStages,
              ValueRange{
                  buffer,
                  kb.add(
                      kb.mul(kb.add(warpTile, kb.index(t)), kb.index(shape.n)),
                      group),
                  getDenseSlot(group, kb.add(kb.index(step * shape.k),
                                             kb.mul(inGroup, kb.index(8))))}));
          for (int64_t sl = 0; sl < slices; ++sl) {
            ArrayRef<Value> low = runs[sl * 2], high = runs[sl * 2 + 1];
            Value a[] = {low[2 * inRun], high[2 * inRun], low[2 * inRun + 1],
                         high[2 * inRun + 1]};
            kb.mma(a, bFragment, sums.slice((t * slices + sl) * 4, 4),
                   words[sl * stepsPerStage + step]);
          }
        }
      }
    }
  };

  // The value of `perRow` for the work row in slot `slot` of the group.
  auto selectBySlot = [&](Value slot, ArrayRef<Value> perRow) {
    Value selected = perRow[0];
    for (int64_t i = 1; i < groupRows; ++i)
      selected = arith::SelectOp::create(
          b,
          arith::CmpIOp::create(b, arith::CmpIPredicate::eq, slot,
                                kb.index(i)),
          perRow[i], selected);
    return selected;
  };

  kb.forEachGridRow(getNumGroups(layout, tiling), [&](Value g) {
    // The group's work rows, and whether each is present (a slot without one
    // computes the first row's again, and writes nothing). Their entries
    // start at `los`; they all have the first row's columns of blocks.
    SmallVector<Value> members = {g}, present, los;
    if (groupRows > 1) {
      members.clear();
      for (int64_t i = 0; i < groupRows; ++i) {
        Value member = kb.loadIndex(
            groups, kb.add(kb.mul(g, kb.index(groupRows)), kb.index(i)));
        // -1, read as an unsigned index, is past the last row.
        present.push_back(kb.less(member, int64_t(layout.rows.size())));
        members.push_back(i == 0 ? member
                                 : arith::SelectOp::create(b, present.back(),
                                                           member, members[0]));
      }
    }
    for (Value member : members)
      los.push_back(kb.loadIndex(offsets, member));
    Value lo = los[0];
    Value hi = kb.loadIndex(offsets, kb.add(members[0], kb.index(1)));
    Value numStages = kb.mul(arith::SubIOp::create(b, hi, lo),
                             kb.index(chunksPerBlock));
    // Where each packed copy of stage 0 reads: its row's packed blocks start
    // at entry `lo` of its slot.
    SmallVector<Value> packedBases;
    for (const Copy &c : packedCopies) {
      Value slot = kb.index(0), channel = c.row;
      if (groupRows > 1) {
        slot = kb.div(c.row, bc);
        channel = kb.rem(c.row, bc);
      }
      packedBases.push_back(kb.add(
          kb.mul(selectBySlot(slot, los), kb.index(bc * packedRowLength)),
          kb.add(kb.mul(channel, kb.index(packedRowLength)), c.offset)));
    }
    // Issues the copies of stage `s` (chunk s % chunksPerBlock of the row's
    // block s / chunksPerBlock) into buffer s % stages if the row has that
    // stage, and commits them as one group (empty otherwise, so that the
    // number of groups in flight is the same in every iteration).
    auto issueStage = [&](Value s) {
      Value exists =
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, s, numStages);
      kb.ifThen(exists, [&] {
        Value block = kb.div(s, chunksPerBlock);
        Value chunk = kb.rem(s, chunksPerBlock);
        Value buffer = kb.rem(s, stages);
        Value packedStart =
            kb.add(kb.mul(block, kb.index(bc * packedRowLength)),
                   kb.mul(chunk, kb.index(packedStageLength)));
        for (auto [c, base] : llvm::zip(packedCopies, packedBases))
          issueCopy(c, groupChannels, [&] {
            copy(packed, kb.add(base, packedStart), packedStages,
                 {buffer, c.row, c.offset});
          });
        Value e = kb.add(lo, block);
        Value k = kb.add(kb.mul(kb.loadIndex(entries, e), kb.index(br)),
                         kb.mul(chunk, kb.index(stageLength)));
        for (const Copy &c : denseCopies)
          issueCopy(c, columnRows, [&] {
            copy(dense, {c.column, kb.add(k, c.offset)}, denseStages,
                 {buffer, c.row, getDenseSlot(c.row, c.offset)});
          });
      });
      NVVM::CpAsyncCommitGroupOp::create(b);
    };

    for (int64_t s = 0; s + 1 < stages; ++s)
      issueStage(kb.index(s));
    int64_t numSums = tiles * slices * 4;
    SmallVector<Value> inits(numSums, kb.zeroSum());
    // A structured part's loop also carries the metadata of its stage,
    // loaded one stage ahead (from the row's last stage past its end).
    Value lastStage = arith::SubIOp::create(
        b, arith::MaxUIOp::create(b, numStages, kb.index(1)), kb.index(1));
    Value warpLo = selectBySlot(warpSlot, los);
    if (structured)
      llvm::append_range(inits, loadStageMetadata(warpLo, kb.index(0)));
    ValueRange results =
        kb.loop(kb.index(0), numStages, inits, [&](Value s, ValueRange args) {
          SmallVector<Value> sums(args.take_front(numSums));
          SmallVector<Value> next;
          if (structured)
            next = loadStageMetadata(
                warpLo,
                arith::MinUIOp::create(b, kb.add(s, kb.index(1)), lastStage));
          // Stage s has arrived for every thread, and every warp is done
          // with stage s - 1, whose buffer the next copies overwrite.
          NVVM::CpAsyncWaitGroupOp::create(b, stages - 2);
          gpu::BarrierOp::create(b);
          issueStage(kb.add(s, kb.index(stages - 1)));
          if (structured)
            computeStructuredStage(kb.rem(s, stages),
                                   SmallVector<Value>(args.drop_front(numSums)),
                                   sums);
          else
            computeStage(kb.rem(s, stages), sums);
          llvm::append_range(sums, next);
          return sums;
        });
    SmallVector<Value> sums(results.take_front(numSums));
    // The buffers are free for the grid's next row.
    gpu::BarrierOp::create(b);

    Value rowBase = kb.mul(
        kb.loadIndex(rows, selectBySlot(warpSlot, members)), kb.index(bc));
    Value warpRowExists =
        groupRows > 1 ? selectBySlot(warpSlot, present) : Value();
    for (int64_t t = 0; t < tiles; ++t) {
      Value tile = kb.add(firstTile, kb.add(warpTile, kb.index(t)));
      Value tileExists = kb.less(tile, numWork);
      if (warpRowExists)
        tileExists = arith::AndIOp::create(b, tileExists, warpRowExists);
      Value firstColumn = getTileColumn(tile);
      for (int64_t sl = 0; sl < slices; ++sl) {
        Value channelBase =
            kb.add(rowBase, kb.add(warpRowChannel, kb.index(sl * shape.m)));
        kb.storeAccumulators(
            out, channelBase, firstColumn, tileExists,
            ArrayRef<Value>(sums).slice((t * slices + sl) * 4, 4), lane,
            scales, denseScales);
      }
    }
  });
  return fn;
}
