//===- SimtKernel.cpp - SIMT compute kernel of a part ---------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The compute kernel of fine-grained parts and of block parts without
// tensor cores: FFMA over f32 elements, or dp4a / v_dot4_i32_i8 (int8) and
// v_dot2_f32_f16 (f16) over groups of the reduction, walking the work list
// of each work row (a channel, or a block row).
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include <limits>

using namespace mlir;
using namespace tesa;

/// Blocks per multiprocessor the SIMT kernel's grid should at least have.
static constexpr int64_t kSimtBlocksPerMultiprocessor = 8;
/// Sums one block of the SIMT kernel keeps in workgroup memory at most.
static constexpr int64_t kMaxSimtStagedSums = 32 * kThreads;
static constexpr int64_t kMaxEntriesPerRowForStaging = 128;
static constexpr int64_t kMaxSimtColumnsPerThread = 4;

/// Whether the part is a decode step for the SIMT kernel: at most half as
/// many columns as a block has threads, so that one thread per column would
/// leave most of them idle (see getSimtSplits).
static bool isSimtDecodeStep(const PartLayout &layout) {
  int64_t numWork = layout.getNumColumnWork();
  return numWork > 0 && 2 * numWork <= kThreads;
}

/// Blocks of the SIMT kernel's grid along its columns, with
/// `columnsPerThread` columns per thread.
static int64_t getSimtColumnBlocks(const PartLayout &layout,
                                   int64_t columnsPerThread) {
  int64_t blockColumns = columnsPerThread * kThreads;
  return (layout.getNumColumnWork() + blockColumns - 1) / blockColumns;
}

/// Work rows one block of the SIMT kernel computes, with `columnsPerThread`
/// columns per thread. Several rows pay when rows are short (at most
/// kMaxEntriesPerRowForStaging entries on average): writing the result then
/// costs about as much as computing it, and the block writes its rows' sums
/// together. Long rows keep one row per block, so that the blocks running
/// at once read the same dense columns (measured on an H200:
/// docs/benchmarks.md). As many rows as still leave about
/// kSimtBlocksPerMultiprocessor blocks for each multiprocessor, with at most
/// kMaxSimtStagedSums sums in workgroup memory. A decode step (at most 64
/// columns) keeps one row per block, whose threads split it.
static int64_t getSimtRowsPerBlock(const PartLayout &layout,
                                   const ChipDescription &chip,
                                   int64_t columnsPerThread) {
  int64_t numRows = layout.rows.size();
  if (layout.getNumEntries() > kMaxEntriesPerRowForStaging * numRows)
    return 1;
  // A decode step splits its rows among the block's threads instead (see
  // getSimtSplits): 1.5x faster with 41 entries a row on an H200.
  if (isSimtDecodeStep(layout))
    return 1;
  int64_t columnBlocks = getSimtColumnBlocks(layout, columnsPerThread);
  int64_t wanted = kSimtBlocksPerMultiprocessor * chip.multiprocessors;
  int64_t rows = 1;
  while (2 * rows * columnsPerThread * kThreads <= kMaxSimtStagedSums &&
         numRows / (2 * rows) * columnBlocks >= wanted)
    rows *= 2;
  return rows;
}

/// Whether the SIMT kernel's grid has work rows along x (and columns along
/// y): with several rows per block, or when the dense operand does not fit
/// in the L2 cache, so that the blocks running at once (consecutive along x)
/// read the same columns of it. Otherwise consecutive blocks take the
/// columns of one row, which measured faster (docs/benchmarks.md).
static bool hasSimtRowsAlongX(const PartLayout &layout,
                              const ChipDescription &chip) {
  int64_t elementBytes = layout.compute == ComputeKind::I8 ? 1 : 4;
  return getSimtRowsPerBlock(layout, chip, 1) > 1 ||
         layout.reduction * layout.columns * elementBytes > chip.l2CacheBytes;
}

/// Dense columns one thread of the SIMT kernel computes, kThreads apart:
/// each work-list entry and packed value it loads then feeds that many
/// products, and the loads of its columns are independent. Only with rows
/// along x, where this measured 1.17-1.25x faster on an H200; with columns
/// along x (the consecutive blocks of one row) it measured 1.2x slower
/// (docs/benchmarks.md). Up to kMaxSimtColumnsPerThread, as many as the
/// columns fill while the grid keeps about kSimtBlocksPerMultiprocessor
/// blocks per multiprocessor and a block with several rows keeps at least
/// getMinSimtStagedRows() of them (or all it had).
static constexpr int64_t kMinSimtStagedRows = 8;
/// Entries a row from which the walk, not the sums' stores, bounds a block
/// with several rows (between the measured 10, where it does not, and 51,
/// where it does).
static constexpr int64_t kLongSimtRowEntries = 48;
/// Rows a block with several of them keeps when it takes more columns: with
/// the result laid out `C[column][channel]`, kMinSimtStagedRows consecutive
/// channels fill a 32-byte sector when the block writes its sums, which
/// pays on short rows; rows of at least kLongSimtRowEntries entries on
/// average keep two, trading the stores' sectors for fewer instructions per
/// product (each entry's loads shared by more columns): fine f32 at 1024^3
/// on an H100, 90% and 95% sparse, 1.37x and 1.25x faster with two columns
/// a thread and two rows a block than with one and four; at 99% (10
/// entries a row) 1.05x slower (docs/benchmarks.md).
static int64_t getMinSimtStagedRows(const PartLayout &layout) {
  int64_t numRows = layout.rows.size();
  return layout.getNumEntries() >= kLongSimtRowEntries * numRows
             ? 2
             : kMinSimtStagedRows;
}
static int64_t getSimtColumnsPerThread(const PartLayout &layout,
                                       const ChipDescription &chip) {
  if (!hasSimtRowsAlongX(layout, chip))
    return 1;
  int64_t numRows = layout.rows.size();
  int64_t wanted = kSimtBlocksPerMultiprocessor * chip.multiprocessors;
  int64_t stagedRows = getSimtRowsPerBlock(layout, chip, 1);
  int64_t minStagedRows = std::min(stagedRows, getMinSimtStagedRows(layout));
  auto fits = [&](int64_t columns) {
    if (columns * kThreads > layout.getNumColumnWork())
      return false;
    if (stagedRows > 1)
      return getSimtRowsPerBlock(layout, chip, columns) >= minStagedRows;
    return getSimtColumnBlocks(layout, columns) * numRows >= wanted;
  };
  int64_t columns = 1;
  while (2 * columns <= kMaxSimtColumnsPerThread && fits(2 * columns))
    columns *= 2;
  return columns;
}

/// Threads of the SIMT kernel that share one result column of a work row,
/// each taking every getSimtSplits()-th entry of the row. One, except for a
/// decode step with one row per block of threads: the block then takes its
/// row's columns, rounded up to a power of two, and splits the row's entries
/// among the threads of each column, so that its idle threads load entries
/// too. Their sums meet in workgroup memory.
static int64_t getSimtSplits(const PartLayout &layout,
                             const ChipDescription &chip) {
  if (hasSimtRowsAlongX(layout, chip) || !isSimtDecodeStep(layout))
    return 1;
  return kThreads / llvm::PowerOf2Ceil(layout.getNumColumnWork());
}

/// SIMT: each thread computes getSimtColumnsPerThread() result columns,
/// kThreads apart, so a block covers getSimtBlockColumns() consecutive
/// ones. Either block (x) per block of columns and (y) per work row, or
/// (see hasSimtRowsAlongX) block (x) per getSimtRowsPerBlock() work rows,
/// which its threads walk in turn, and (y) per block of columns. With
/// several rows per block, the sums meet in workgroup memory and the block
/// then writes them in result order: consecutive threads write consecutive
/// elements whichever way the result is laid out.
gpu::GPUFuncOp tesa::buildSimtCompute(KernelBuilder &kb,
                                      ArrayRef<Type> arguments) {
  const PartLayout &layout = kb.layout;
  ImplicitLocOpBuilder &b = kb.b;
  bool isInt = layout.compute == ComputeKind::I8;
  bool isHalf = layout.compute == ComputeKind::F16;
  int64_t numRows = layout.rows.size();
  int64_t numWork = layout.getNumColumnWork();
  int64_t columnsPerThread = getSimtColumnsPerThread(layout, kb.chip);
  int64_t rowsPerBlock = getSimtRowsPerBlock(layout, kb.chip, columnsPerThread);
  int64_t blockColumns = columnsPerThread * kThreads;
  auto fn = kb.begin("", arguments);
  Value rows = kb.table("_rows", layout.rows);
  Value offsets = kb.table("_offsets", layout.offsets);
  auto [dense, denseScales, packed, scales, out] = kb.computeArguments(fn);
  Value thread = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  // The thread's j-th unit of column work, from the block's first.
  auto getThreadOffset = [&](int64_t j) {
    return j == 0 ? thread : kb.add(thread, kb.index(j * kThreads));
  };
  // The thread's units of column work in the block from `firstWork`.
  auto getThreadWork = [&](Value firstWork) {
    SmallVector<Value> work;
    for (int64_t j = 0; j < columnsPerThread; ++j)
      work.push_back(kb.add(firstWork, getThreadOffset(j)));
    return work;
  };
  // Where the dense operand is read: flat, at the entry's offset
  // (getSimtDenseOffsets) plus the column's, or by (k, column).
  bool byOffsets = readsDenseByOffsets(layout);
  assert((!byOffsets ||
          cast<MemRefType>(dense.getType()).getDimSize(1) == layout.columns) &&
         "the dense operand is [k][column] or [k / 4][column][4]");
  Value denseView = byOffsets ? flattenBuffer(b, b.getLoc(), dense) : dense;
  Value entryTable =
      byOffsets ? kb.table("_dense_offsets", getSimtDenseOffsets(layout))
                : kb.table("_entries", layout.entries);
  // Where a thread's dense column is read: with offsets, a column's offset
  // in the flat operand (i32) plus `shift` elements; else the column.
  struct ColumnAt {
    Value at;
    int64_t shift = 0;
  };
  auto locateColumn = [&](Value column) -> ColumnAt {
    if (!byOffsets)
      return {column};
    return {arith::IndexCastUIOp::create(
        b, b.getI32Type(), isInt ? kb.mul(column, kb.index(4)) : column)};
  };
  // The indices in denseView of element t of the group of `entry` (its
  // table value) in `column`.
  auto locateInput = [&](Value entry, ColumnAt column,
                         int64_t t) -> SmallVector<Value> {
    if (byOffsets) {
      // The entry's offset plus the column's fits in 32 bits: a 32-bit add
      // and one widening multiply-add per address.
      Value at = arith::IndexCastUIOp::create(
          b, b.getIndexType(),
          arith::AddIOp::create(b, entry, column.at,
                                arith::IntegerOverflowFlags::nuw));
      int64_t shift = column.shift + t * layout.columns;
      return {shift == 0 ? at : kb.add(at, kb.index(shift))};
    }
    Value start = kb.groupStart(entry);
    if (isInt)
      return {kb.div(start, 4), column.at, kb.index(0)};
    Value k = kb.add(start, kb.index(t));
    // Past the reduction's end only where it is not a multiple of the group.
    if (layout.reduction % layout.group != 0)
      k = kb.min(k, layout.reduction - 1);
    return kb.denseIndex(k, column.at);
  };
  // acc + the entry's weights times its inputs in `column`.
  auto multiplyAdd = [&](Value weights, Value entry, ColumnAt column,
                         Value acc) -> Value {
    if (isInt) {
      Value inputs = kb.loadVector(VectorType::get({4}, b.getI8Type()),
                                   denseView, locateInput(entry, column, 0));
      return kb.dot4(weights, inputs, acc);
    }
    auto loadInput = [&](int64_t t) -> Value {
      Value value =
          memref::LoadOp::create(b, denseView, locateInput(entry, column, t));
      // f32 inputs of an f16 part are rounded; f16 ones (an f16 program's)
      // are read as they are.
      if (!isHalf || value.getType().isF16())
        return value;
      return arith::TruncFOp::create(b, b.getF16Type(), value);
    };
    return kb.multiplyFloatEntry(weights, loadInput, acc);
  };
  // The sums of work row `w` for the thread's units of column `work`, the
  // first of which exists (unless `clampFirst`). The others are read
  // clamped to the last one. The thread takes the row's entries `split`,
  // `split` + `splits`, ...
  auto emitSums = [&](Value w, ArrayRef<Value> work, Value split = Value(),
                      int64_t splits = 1,
                      bool clampFirst = false) -> SmallVector<Value> {
    // With offsets, where the block's columns all exist and no live-column
    // list maps them, the thread's columns lie kThreads apart from its
    // first: their addresses are the first's plus a constant.
    bool fromFirst = byOffsets && !clampFirst && layout.liveColumns.empty() &&
                     numWork % (columnsPerThread * kThreads) == 0;
    SmallVector<ColumnAt> columns;
    for (auto [j, unit] : llvm::enumerate(work)) {
      if (j > 0 && fromFirst) {
        columns.push_back(
            {columns.front().at, int64_t(j) * kThreads * (isInt ? 4 : 1)});
        continue;
      }
      columns.push_back(locateColumn(kb.getColumnWork(
          j == 0 && !clampFirst ? unit : kb.min(unit, numWork - 1))));
    }
    Value lo = kb.loadIndex(offsets, w);
    Value hi = kb.loadIndex(offsets, kb.add(w, kb.index(1)));
    if (split)
      lo = kb.add(lo, split);
    SmallVector<Value> zeros(work.size(), kb.zeroSum());
    return kb.loop(
        lo, hi, kb.index(splits), zeros, [&](Value e, ValueRange sums) {
          Value entry = kb.loadI32(entryTable, e);
          Value weights = kb.loadEntryWeights(packed, e);
          SmallVector<Value> next;
          for (auto [column, sum] : llvm::zip(columns, sums))
            next.push_back(multiplyAdd(weights, entry, column, sum));
          return next;
        });
  };
  auto accumulate = [&](Value w, Value unit, Value sum) {
    kb.accumulateSum(out, kb.loadIndex(rows, w), kb.getColumnWork(unit), sum,
                     scales, denseScales);
  };
  // One thread's whole work with one row per block.
  auto sumOneRow = [&](Value w, Value firstWork) {
    SmallVector<Value> work = getThreadWork(firstWork);
    kb.ifThen(kb.less(work[0], numWork), [&] {
      SmallVector<Value> sums = emitSums(w, work);
      accumulate(w, work[0], sums[0]);
      for (int64_t j = 1; j < columnsPerThread; ++j)
        kb.ifThen(kb.less(work[j], numWork),
                  [&] { accumulate(w, work[j], sums[j]); });
    });
  };

  int64_t columnBlocks = getSimtColumnBlocks(layout, columnsPerThread);
  if (int64_t splits = getSimtSplits(layout, kb.chip); splits > 1) {
    // Thread t takes column t % units of the row and its entries t / units,
    // t / units + splits, ...; the sums then meet by halving strides in
    // workgroup memory (in a fixed order), and threads t < units store.
    int64_t units = kThreads / splits;
    Value partials = kb.workgroupBuffer(fn, {kThreads}, kb.zeroSum().getType());
    Value unit = kb.rem(thread, units), split = kb.div(thread, units);
    kb.forEachGridRow(numRows, [&](Value w) {
      Value sum = emitSums(w, {unit}, split, splits, /*clampFirst=*/true)[0];
      memref::StoreOp::create(b, sum, partials, ValueRange{thread});
      gpu::BarrierOp::create(b);
      for (int64_t stride = kThreads / 2; stride >= units; stride /= 2) {
        kb.ifThen(kb.less(thread, stride), [&] {
          Value other = memref::LoadOp::create(
              b, partials, ValueRange{kb.add(thread, kb.index(stride))});
          Value mine = memref::LoadOp::create(b, partials, ValueRange{thread});
          memref::StoreOp::create(b, kb.addSums(mine, other), partials,
                                  ValueRange{thread});
        });
        gpu::BarrierOp::create(b);
      }
      kb.ifThen(kb.less(thread, numWork), [&] {
        accumulate(w, thread,
                   memref::LoadOp::create(b, partials, ValueRange{thread}));
      });
      // The buffer is free for the grid's next row.
      gpu::BarrierOp::create(b);
    });
    return fn;
  }
  if (!hasSimtRowsAlongX(layout, kb.chip)) {
    Value firstWork = kb.mul(gpu::BlockIdOp::create(b, gpu::Dimension::x),
                             kb.index(blockColumns));
    kb.forEachGridRow(numRows, [&](Value w) { sumOneRow(w, firstWork); });
    return fn;
  }
  Value firstRow = kb.mul(gpu::BlockIdOp::create(b, gpu::Dimension::x),
                          kb.index(rowsPerBlock));
  Value sums;
  if (rowsPerBlock > 1)
    sums = kb.workgroupBuffer(fn, {rowsPerBlock, blockColumns + 1},
                              kb.zeroSum().getType());
  kb.forEachGridRow(columnBlocks, [&](Value y) {
    Value firstWork = kb.mul(y, kb.index(blockColumns));
    if (rowsPerBlock == 1)
      return sumOneRow(firstRow, firstWork);
    SmallVector<Value> work = getThreadWork(firstWork);
    kb.ifThen(kb.less(work[0], numWork), [&] {
      kb.loop(kb.index(0), kb.index(rowsPerBlock), {},
              [&](Value r, ValueRange) {
                Value w = kb.add(firstRow, r);
                kb.ifThen(kb.less(w, numRows), [&] {
                  for (auto [j, sum] : llvm::enumerate(emitSums(w, work)))
                    memref::StoreOp::create(b, sum, sums,
                                            ValueRange{r, getThreadOffset(j)});
                });
                return SmallVector<Value>{};
              });
    });
    gpu::BarrierOp::create(b);
    // Element i of the block's rows x columns, in result order.
    kb.forEachInResultOrder(
        thread, rowsPerBlock, blockColumns, kThreads, [&](Value r, Value c) {
          Value w = kb.add(firstRow, r), unit = kb.add(firstWork, c);
          Value inside = arith::AndIOp::create(b, kb.less(w, numRows),
                                               kb.less(unit, numWork));
          kb.ifThen(inside, [&] {
            accumulate(w, unit,
                       memref::LoadOp::create(b, sums, ValueRange{r, c}));
          });
        });
    // The next column block's sums reuse the buffer.
    gpu::BarrierOp::create(b);
  });
  return fn;
}

bool tesa::readsDenseByOffsets(const PartLayout &layout) {
  if (layout.useMma || layout.stagedSimt || layout.gather ||
      layout.rowMultiple > 1 || layout.columns == 0)
    return false;
  if (layout.compute == ComputeKind::I8)
    return layout.getPaddedReduction() * layout.columns <=
           std::numeric_limits<int32_t>::max();
  return (layout.sparseIsLhs || layout.transposedDense) &&
         layout.reduction % layout.group == 0 &&
         layout.reduction * layout.columns <=
             std::numeric_limits<int32_t>::max();
}

std::vector<int32_t> tesa::getSimtDenseOffsets(const PartLayout &layout) {
  std::vector<int32_t> offsets;
  offsets.reserve(layout.entries.size());
  for (int32_t entry : layout.entries)
    offsets.push_back(int32_t((entry & 0xFFFFFF) * layout.columns));
  return offsets;
}

KernelLaunch tesa::getSimtLaunch(const PartLayout &layout,
                                 const ChipDescription &chip) {
  int64_t numRows = layout.rows.size();
  int64_t columnsPerThread = getSimtColumnsPerThread(layout, chip);
  int64_t columnBlocks = getSimtColumnBlocks(layout, columnsPerThread);
  if (!hasSimtRowsAlongX(layout, chip))
    return {{columnBlocks, std::min(numRows, kMaxGridY)}, {kThreads, 1}};
  int64_t rowsPerBlock = getSimtRowsPerBlock(layout, chip, columnsPerThread);
  return {{(numRows + rowsPerBlock - 1) / rowsPerBlock,
           std::min(columnBlocks, kMaxGridY)},
          {kThreads, 1}};
}
