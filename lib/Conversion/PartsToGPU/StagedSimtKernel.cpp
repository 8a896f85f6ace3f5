//===- StagedSimtKernel.cpp - Fine-grained f32 parts over staged chunks ---===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The compute kernel of fine-grained f32 parts that keep enough elements: a
// block of threads takes kStagedRows work rows (channels) by kStagedColumns
// dense columns and walks the reduction in chunks of kStagedChunk. The
// block copies each chunk of the dense operand (read as [k][column]) into
// workgroup memory once; every warp then takes kRowsPerWarp of the rows,
// and for each its entries inside the chunk (compile-time table
// `<part>_chunk_offsets`): each lane loads one entry, the warp passes the
// entries' starts and weights around by shuffles, and each lane multiplies
// its kColumnsPerLane columns (one 16-byte load from workgroup memory an
// element). The dense operand is read from L2 once per block and chunk
// instead of once per kept element and column; the plain SIMT kernel
// (SimtKernel.cpp) keeps very sparse parts, whose chunks hold too few
// elements to repay the copy. The sums meet in workgroup memory and are
// written in result order, with the part's initial value and epilogue.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

using namespace mlir;
using namespace tesa;

namespace {

constexpr int64_t kStagedThreads = 256;
constexpr int64_t kWarps = kStagedThreads / 32;
constexpr int64_t kRowsPerWarp = 8;
constexpr int64_t kStagedRows = kWarps * kRowsPerWarp;
constexpr int64_t kColumnsPerLane = 4;
constexpr int64_t kStagedColumns = 32 * kColumnsPerLane;
/// Reduction elements of a chunk: a row's entries inside one are at most
/// 32, one a lane.
constexpr int64_t kStagedChunk = 32;
/// The fewest kept elements a work row keeps on average in each chunk for
/// the staged kernel: below it the copy of a chunk feeds too few products.
constexpr double kMinKeptPerChunk = 1.0;

int64_t getChunks(const PartLayout &layout) {
  return llvm::divideCeil(layout.reduction, kStagedChunk);
}

int64_t getColumnBlocks(const PartLayout &layout) {
  return llvm::divideCeil(layout.columns, kStagedColumns);
}

/// Per work row w and chunk c (then one past the last), the first of w's
/// entries that starts at or after the chunk: w's entries inside chunk c
/// are [table[w * (chunks + 1) + c], table[w * (chunks + 1) + c + 1]).
std::vector<int32_t> getChunkOffsets(const PartLayout &layout) {
  int64_t chunks = getChunks(layout);
  std::vector<int32_t> table;
  table.reserve(layout.rows.size() * (chunks + 1));
  for (size_t w = 0; w < layout.rows.size(); ++w) {
    int32_t e = layout.offsets[w], end = layout.offsets[w + 1];
    for (int64_t c = 0; c <= chunks; ++c) {
      while (e < end && (layout.entries[e] & 0xFFFFFF) < c * kStagedChunk)
        ++e;
      table.push_back(c == chunks ? end : e);
    }
  }
  return table;
}

/// Whether every work row's entries go up the reduction.
bool hasSortedRows(const PartLayout &layout) {
  for (size_t w = 0; w < layout.rows.size(); ++w)
    for (int32_t e = layout.offsets[w] + 1; e < layout.offsets[w + 1]; ++e)
      if ((layout.entries[e] & 0xFFFFFF) <= (layout.entries[e - 1] & 0xFFFFFF))
        return false;
  return true;
}

class StagedSimtEmitter {
public:
  explicit StagedSimtEmitter(KernelBuilder &kb)
      : kb(kb), b(kb.b), layout(kb.layout), chunks(getChunks(layout)) {}

  gpu::GPUFuncOp build(ArrayRef<Type> arguments);

private:
  /// The block's sums over every chunk for the columns from `firstColumn`,
  /// written to the result.
  void computeColumns(Value firstColumn);
  /// Copies chunk `chunk` of the dense operand's columns from `firstColumn`
  /// into the buffer ([k][column], kStagedColumns a row), zeros outside it.
  void stageChunk(Value chunk, Value firstColumn);
  /// `acc` (kRowsPerWarp x kColumnsPerLane sums) plus the products of this
  /// warp's rows with the staged chunk `chunk`.
  SmallVector<Value> multiplyChunk(Value chunk, ValueRange acc);
  /// Writes the block's sums `sums` (this thread's) for the columns from
  /// `firstColumn` to the result, in result order.
  void writeSums(ValueRange sums, Value firstColumn);
  /// `x` (i32 or f32, or a vector of f32) of lane `lane`.
  Value shuffleFrom(Value x, Value lane);

  KernelBuilder &kb;
  ImplicitLocOpBuilder &b;
  const PartLayout &layout;
  int64_t chunks;
  /// Rows of the sums in the buffer: kStagedColumns + 1 apart, so that a
  /// column of them spans every bank.
  static constexpr int64_t kSumsStride = kStagedColumns + 1;
  Value thread, lane, warp;
  /// The block's first row and this warp's.
  Value blockRow, firstRow;
  /// Tables, arguments and the workgroup buffer.
  Value rows, chunkOffsets, entries, dense, denseScales, packed, scales, out,
      buffer;
};

Value StagedSimtEmitter::shuffleFrom(Value x, Value from) {
  Value width = kb.i32(32);
  Value source = arith::IndexCastUIOp::create(b, b.getI32Type(), from);
  auto vector = dyn_cast<VectorType>(x.getType());
  if (!vector)
    return gpu::ShuffleOp::create(b, x, source, width, gpu::ShuffleMode::IDX)
        .getShuffleResult();
  SmallVector<Value> lanes;
  for (int64_t t = 0; t < vector.getNumElements(); ++t)
    lanes.push_back(shuffleFrom(vector::ExtractOp::create(b, x, t), from));
  return vector::FromElementsOp::create(b, vector, lanes);
}

void StagedSimtEmitter::stageChunk(Value chunk, Value firstColumn) {
  auto quad = VectorType::get({kColumnsPerLane}, b.getF32Type());
  Value zeros = arith::ConstantOp::create(
      b, DenseElementsAttr::get(quad, b.getF32FloatAttr(0)));
  int64_t quadsPerRow = kStagedColumns / kColumnsPerLane;
  for (int64_t first = 0; first < kStagedChunk * quadsPerRow;
       first += kStagedThreads) {
    Value i = kb.affine(thread, 1, first);
    Value row = kb.div(i, quadsPerRow);
    Value column = kb.affine(kb.rem(i, quadsPerRow), kColumnsPerLane);
    Value k = kb.add(kb.affine(chunk, kStagedChunk), row);
    Value q = kb.add(firstColumn, column);
    Value inside =
        kb.both(kb.less(k, layout.reduction), kb.less(q, layout.columns));
    // Read clamped inside the operand, then dropped outside it.
    Value value = kb.loadVector(
        quad, dense,
        kb.denseIndex(kb.min(k, layout.reduction - 1),
                      kb.min(q, layout.columns - kColumnsPerLane)));
    value = arith::SelectOp::create(b, inside, value, zeros);
    vector::StoreOp::create(
        b, value, buffer,
        ValueRange{kb.add(kb.affine(row, kStagedColumns), column)},
        /*nontemporal=*/false, llvm::Align(16));
  }
}

SmallVector<Value> StagedSimtEmitter::multiplyChunk(Value chunk,
                                                    ValueRange acc) {
  auto quad = VectorType::get({kColumnsPerLane}, b.getF32Type());
  int64_t numRows = layout.rows.size();
  Value chunkStart = kb.affine(chunk, kStagedChunk);
  Value laneColumn = kb.affine(lane, kColumnsPerLane);
  SmallVector<Value> next(acc);
  for (int64_t r = 0; r < kRowsPerWarp; ++r) {
    // The same row in every lane; rows past the last walk no entry.
    Value w = kb.affine(firstRow, 1, r);
    Value at = kb.add(kb.affine(kb.min(w, numRows - 1), chunks + 1), chunk);
    Value lo = kb.loadIndex(chunkOffsets, at);
    Value hi = kb.loadIndex(chunkOffsets, kb.affine(at, 1, 1));
    hi = arith::SelectOp::create(b, kb.less(w, numRows), hi, lo);
    // Lane l loads the chunk's l-th entry (its last where there are fewer).
    Value e = kb.min(kb.add(lo, lane), layout.getNumEntries() - 1);
    Value entry = kb.loadI32(entries, e);
    Value weights = kb.loadEntryWeights(packed, e);
    ValueRange sums =
        ValueRange(next).slice(r * kColumnsPerLane, kColumnsPerLane);
    ValueRange rowSums = kb.loop(
        kb.index(0), arith::SubIOp::create(b, hi, lo).getResult(), sums,
        [&](Value i, ValueRange sums) {
          Value k = arith::SubIOp::create(
              b, kb.groupStart(shuffleFrom(entry, i)), chunkStart);
          Value entryWeights = shuffleFrom(weights, i);
          SmallVector<Value> updated(sums);
          for (int64_t t = 0; t < layout.group; ++t) {
            Value weight =
                layout.group == 1
                    ? entryWeights
                    : vector::ExtractOp::create(b, entryWeights, t).getResult();
            Value inputs = vector::LoadOp::create(
                b, quad, buffer,
                ValueRange{
                    kb.add(kb.affine(k, kStagedColumns, t * kStagedColumns),
                           laneColumn)},
                /*nontemporal=*/false, llvm::Align(16));
            for (int64_t j = 0; j < kColumnsPerLane; ++j)
              updated[j] = math::FmaOp::create(
                  b, weight, vector::ExtractOp::create(b, inputs, j),
                  updated[j]);
          }
          return updated;
        });
    for (int64_t j = 0; j < kColumnsPerLane; ++j)
      next[r * kColumnsPerLane + j] = rowSums[j];
  }
  return next;
}

void StagedSimtEmitter::writeSums(ValueRange sums, Value firstColumn) {
  kb.barrier();
  for (int64_t r = 0; r < kRowsPerWarp; ++r)
    for (int64_t j = 0; j < kColumnsPerLane; ++j)
      memref::StoreOp::create(
          b, sums[r * kColumnsPerLane + j], buffer,
          ValueRange{
              kb.add(kb.affine(kb.affine(warp, kRowsPerWarp, r), kSumsStride),
                     kb.affine(lane, kColumnsPerLane, j))});
  kb.barrier();
  // Element i of the block's rows x columns, in result order.
  int64_t numRows = layout.rows.size();
  kb.loop(
      thread, kb.index(kStagedRows * kStagedColumns), kb.index(kStagedThreads),
      {}, [&](Value i, ValueRange) {
        Value r = layout.sparseIsLhs ? kb.div(i, kStagedColumns)
                                     : kb.rem(i, kStagedRows);
        Value c = layout.sparseIsLhs ? kb.rem(i, kStagedColumns)
                                     : kb.div(i, kStagedRows);
        Value w = kb.add(blockRow, r), column = kb.add(firstColumn, c);
        kb.ifThen(
            kb.both(kb.less(w, numRows), kb.less(column, layout.columns)), [&] {
              Value sum = memref::LoadOp::create(
                  b, buffer, ValueRange{kb.add(kb.affine(r, kSumsStride), c)});
              kb.accumulateSum(out, kb.loadIndex(rows, w), column, sum, scales,
                               denseScales);
            });
        return SmallVector<Value>{};
      });
  // The buffer is free for the next block of columns.
  kb.barrier();
}

void StagedSimtEmitter::computeColumns(Value firstColumn) {
  SmallVector<Value> zeros(kRowsPerWarp * kColumnsPerLane, kb.zeroSum());
  ValueRange sums = kb.loop(kb.index(0), kb.index(chunks), zeros,
                            [&](Value chunk, ValueRange acc) {
                              // Every warp is done with the previous chunk.
                              kb.barrier();
                              stageChunk(chunk, firstColumn);
                              kb.barrier();
                              return multiplyChunk(chunk, acc);
                            });
  writeSums(sums, firstColumn);
}

gpu::GPUFuncOp StagedSimtEmitter::build(ArrayRef<Type> arguments) {
  auto fn = kb.begin("", arguments);
  rows = kb.table("_rows", layout.rows);
  chunkOffsets = kb.table("_chunk_offsets", getChunkOffsets(layout));
  entries = kb.table("_entries", layout.entries);
  auto [denseArgument, denseScalesArgument, packedArgument, scalesArgument,
        outArgument] = kb.computeArguments(fn);
  dense = denseArgument;
  denseScales = denseScalesArgument;
  packed = packedArgument;
  scales = scalesArgument;
  out = outArgument;
  thread = kb.threadId();
  lane = kb.rem(thread, 32);
  warp = kb.div(thread, 32);
  // One buffer: each chunk's copy, then the block's sums.
  buffer = kb.workgroupBuffer(
      fn, {std::max(kStagedChunk * kStagedColumns, kStagedRows * kSumsStride)});
  blockRow = kb.affine(kb.blockId(gpu::Dimension::x), kStagedRows);
  firstRow = kb.add(blockRow, kb.affine(warp, kRowsPerWarp));
  // Blocks along x take the rows of one block of columns, so that the
  // blocks at work together copy the same chunks.
  kb.forEachGridRow(getColumnBlocks(layout), [&](Value y) {
    computeColumns(kb.affine(y, kStagedColumns));
  });
  return fn;
}

} // namespace

bool tesa::usesStagedSimt(const PartLayout &layout) {
  if (layout.useMma || layout.compute != ComputeKind::F32 || layout.gather ||
      !layout.liveColumns.empty() ||
      !(layout.sparseIsLhs || layout.transposedDense) ||
      layout.columns % kColumnsPerLane != 0 ||
      layout.columns < kStagedColumns || layout.getNumEntries() == 0 ||
      kStagedChunk % layout.group != 0)
    return false;
  double keptPerChunk = double(layout.getNumKept()) /
                        double(layout.rows.size() * getChunks(layout));
  return keptPerChunk >= kMinKeptPerChunk && hasSortedRows(layout);
}

gpu::GPUFuncOp tesa::buildStagedSimtCompute(KernelBuilder &kb,
                                            ArrayRef<Type> arguments) {
  return StagedSimtEmitter(kb).build(arguments);
}

KernelLaunch tesa::getStagedSimtLaunch(const PartLayout &layout) {
  int64_t rowBlocks =
      llvm::divideCeil(int64_t(layout.rows.size()), kStagedRows);
  return {{rowBlocks, std::min(getColumnBlocks(layout), kMaxGridY)},
          {kStagedThreads, 1}};
}
