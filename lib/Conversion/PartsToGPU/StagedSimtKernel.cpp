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
// workgroup memory once, the copy and the rows' entries of the next chunk
// loaded while this one is computed. Every warp takes kRowsPerWarp of the
// rows and, for each, its entries inside the chunk (compile-time table
// `<part>_chunk_offsets`): each lane loads one entry of each row, and the
// warp walks entry i of all its rows at once (independent chains of
// products), passing the entries' starts and weights around by shuffles;
// each lane multiplies its kColumnsPerLane columns, one 16-byte load from
// workgroup memory an element. The dense operand is read from L2 once per
// block and chunk instead of once per kept element and column; the plain
// SIMT kernel (SimtKernel.cpp) keeps sparser parts, whose chunks hold too
// few elements to repay the walk's work per entry. The sums meet in
// workgroup memory and are written in result order, with the part's
// initial value and epilogue.
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
/// the staged kernel. On an H200 (1024^3, f32) it was 1.49x / 1.25x /
/// 1.08x faster than the plain kernel at 16 / 9.6 / 6.4 kept a chunk (50,
/// 70, 80% sparsity), 0.92x and 0.66x at 3.2 and 1.6, and 0.68x at 4096^3
/// and 3.2: below a quarter of the chunk, the walk's work per entry (two
/// shuffles, a select, the walks of the warp's eight rows padded to the
/// longest) costs more than the dense loads it saves.
constexpr double kMinKeptPerChunk = 8.0;

int64_t getChunks(const PartLayout &layout) {
  return llvm::divideCeil(layout.reduction, kStagedChunk);
}

int64_t getColumnBlocks(const PartLayout &layout) {
  return llvm::divideCeil(layout.columns, kStagedColumns);
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
  /// What one chunk takes, loaded the chunk before (so that the loads of
  /// chunk c + 1 are in flight while chunk c is computed): this thread's
  /// part of the chunk's copy, and per row of the warp the chunk's first
  /// and past-the-last entries and the entry (and its weights) that this
  /// lane loaded, the chunk's lane-th.
  struct ChunkLoads {
    SmallVector<Value> staged, lo, hi, entry, weights;
    SmallVector<Value> flatten() const;
    static ChunkLoads unflatten(ValueRange values);
  };
  /// The block's sums over every chunk for the columns from `firstColumn`,
  /// written to the result.
  void computeColumns(Value firstColumn);
  /// This thread's part of chunk `chunk` of the dense operand's columns
  /// from `firstColumn` ([k][column], zeros outside the operand).
  SmallVector<Value> loadChunk(Value chunk, Value firstColumn);
  /// Stores `staged` (loadChunk) into the buffer, kStagedColumns a row.
  void storeChunk(ArrayRef<Value> staged);
  /// The entries of chunk `chunk` (of the warp's rows, `lo` their first,
  /// past the last chunk none).
  void loadEntries(Value chunk, ArrayRef<Value> lo, ChunkLoads &loads);
  /// `acc` (kRowsPerWarp x kColumnsPerLane sums) plus the products of this
  /// warp's rows with the staged chunk `chunk`.
  SmallVector<Value> multiplyChunk(Value chunk, const ChunkLoads &loads,
                                   ValueRange acc);
  /// Writes the block's sums `sums` (this thread's) for the columns from
  /// `firstColumn` to the result, in result order.
  void writeSums(ValueRange sums, Value firstColumn);

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

/// The i-th run of kColumnsPerLane columns of a chunk a thread copies:
/// its row and its first column.
static std::pair<Value, Value> getChunkRun(KernelBuilder &kb, Value thread,
                                           int64_t i) {
  int64_t runsPerRow = kStagedColumns / kColumnsPerLane;
  Value run = kb.affine(thread, 1, i * kStagedThreads);
  return {kb.div(run, runsPerRow),
          kb.affine(kb.rem(run, runsPerRow), kColumnsPerLane)};
}

/// Runs of a chunk each thread copies.
constexpr int64_t kRunsPerThread =
    kStagedChunk * kStagedColumns / kColumnsPerLane / kStagedThreads;

SmallVector<Value> StagedSimtEmitter::loadChunk(Value chunk,
                                                Value firstColumn) {
  auto run = VectorType::get({kColumnsPerLane}, b.getF32Type());
  Value zeros = arith::ConstantOp::create(
      b, DenseElementsAttr::get(run, b.getF32FloatAttr(0)));
  SmallVector<Value> staged;
  for (int64_t i = 0; i < kRunsPerThread; ++i) {
    auto [row, column] = getChunkRun(kb, thread, i);
    Value k = kb.add(kb.affine(chunk, kStagedChunk), row);
    Value q = kb.add(firstColumn, column);
    Value inside =
        kb.both(kb.less(k, layout.reduction), kb.less(q, layout.columns));
    // Read clamped inside the operand, then dropped outside it.
    Value value = kb.loadVector(
        run, dense,
        kb.denseIndex(kb.min(k, layout.reduction - 1),
                      kb.min(q, layout.columns - kColumnsPerLane)));
    staged.push_back(arith::SelectOp::create(b, inside, value, zeros));
  }
  return staged;
}

void StagedSimtEmitter::storeChunk(ArrayRef<Value> staged) {
  for (auto [i, value] : llvm::enumerate(staged)) {
    auto [row, column] = getChunkRun(kb, thread, i);
    vector::StoreOp::create(
        b, value, buffer,
        ValueRange{kb.add(kb.affine(row, kStagedColumns), column)},
        /*nontemporal=*/false, llvm::Align(16));
  }
  // The row of zeros after the chunk, which the rows' walks past their
  // entries read (the sums overwrite it).
  auto run = VectorType::get({kColumnsPerLane}, b.getF32Type());
  kb.ifThen(kb.less(thread, kStagedColumns / kColumnsPerLane), [&] {
    vector::StoreOp::create(
        b,
        arith::ConstantOp::create(
            b, DenseElementsAttr::get(run, b.getF32FloatAttr(0))),
        buffer,
        ValueRange{
            kb.affine(thread, kColumnsPerLane, kStagedChunk * kStagedColumns)},
        /*nontemporal=*/false, llvm::Align(16));
  });
}

void StagedSimtEmitter::loadEntries(Value chunk, ArrayRef<Value> lo,
                                    ChunkLoads &loads) {
  int64_t numRows = layout.rows.size();
  // Past the last chunk the table's last column: no entries.
  Value next =
      arith::MinUIOp::create(b, kb.affine(chunk, 1, 1), kb.index(chunks));
  for (int64_t r = 0; r < kRowsPerWarp; ++r) {
    Value w = kb.min(kb.affine(firstRow, 1, r), numRows - 1);
    loads.hi.push_back(
        kb.loadIndex(chunkOffsets, kb.add(kb.affine(w, chunks + 1), next)));
    // Lane l loads the chunk's l-th entry (the last one where there are
    // fewer).
    Value e = kb.min(kb.add(lo[r], lane), layout.getNumEntries() - 1);
    loads.entry.push_back(kb.loadI32(entries, e));
    loads.weights.push_back(kb.loadEntryWeights(packed, e));
  }
  loads.lo.assign(lo.begin(), lo.end());
}

SmallVector<Value> StagedSimtEmitter::ChunkLoads::flatten() const {
  SmallVector<Value> values;
  for (const SmallVector<Value> *part : {&staged, &lo, &hi, &entry, &weights})
    llvm::append_range(values, *part);
  return values;
}

StagedSimtEmitter::ChunkLoads
StagedSimtEmitter::ChunkLoads::unflatten(ValueRange values) {
  ChunkLoads loads;
  auto take = [&](SmallVector<Value> &part, int64_t count) {
    llvm::append_range(part, values.take_front(count));
    values = values.drop_front(count);
  };
  take(loads.staged, kRunsPerThread);
  for (SmallVector<Value> *part :
       {&loads.lo, &loads.hi, &loads.entry, &loads.weights})
    take(*part, kRowsPerWarp);
  return loads;
}

SmallVector<Value> StagedSimtEmitter::multiplyChunk(Value chunk,
                                                    const ChunkLoads &loads,
                                                    ValueRange acc) {
  auto run = VectorType::get({kColumnsPerLane}, b.getF32Type());
  Type i32 = b.getI32Type();
  int64_t numRows = layout.rows.size();
  Value chunkStart = kb.affine(chunk, kStagedChunk);
  Value laneColumn = kb.affine(lane, kColumnsPerLane);
  Value zeroRow = kb.i32(kStagedChunk * kStagedColumns);
  // Per row (the same in every lane): its entries in the chunk (none past
  // the last row), and where this lane's entry starts in the staged chunk.
  SmallVector<Value> counts, starts;
  Value most = kb.index(0);
  for (int64_t r = 0; r < kRowsPerWarp; ++r) {
    Value count = arith::SelectOp::create(
        b, kb.less(kb.affine(firstRow, 1, r), numRows),
        arith::SubIOp::create(b, loads.hi[r], loads.lo[r]), kb.index(0));
    counts.push_back(count);
    most = arith::MaxUIOp::create(b, most, count);
    Value start =
        arith::SubIOp::create(b, kb.groupStart(loads.entry[r]), chunkStart);
    starts.push_back(
        arith::IndexCastOp::create(b, i32, kb.affine(start, kStagedColumns)));
  }
  // Entry i of every row at once: eight independent chains of products.
  // A row with fewer entries reads the row of zeros with a zero weight.
  return kb.loop(kb.index(0), most, acc, [&](Value i, ValueRange sums) {
    SmallVector<Value> next(sums);
    for (int64_t r = 0; r < kRowsPerWarp; ++r) {
      Value walks =
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, counts[r]);
      Value start = arith::SelectOp::create(
          b, walks, kb.shuffleFrom(starts[r], i), zeroRow);
      Value weights = kb.shuffleFrom(loads.weights[r], i);
      weights = arith::SelectOp::create(
          b, walks, weights,
          arith::ConstantOp::create(b, b.getZeroAttr(weights.getType())));
      Value at = kb.add(arith::IndexCastOp::create(b, b.getIndexType(), start),
                        laneColumn);
      for (int64_t t = 0; t < layout.group; ++t) {
        Value weight =
            layout.group == 1
                ? weights
                : vector::ExtractOp::create(b, weights, t).getResult();
        // (A group's elements lie in the chunk; past a row's entries
        // the zero row is read layout.group times.)
        Value inputs = vector::LoadOp::create(
            b, run, buffer,
            ValueRange{
                t == 0 ? at
                       : arith::SelectOp::create(
                             b, walks, kb.affine(at, 1, t * kStagedColumns), at)
                             .getResult()},
            /*nontemporal=*/false, llvm::Align(16));
        for (int64_t j = 0; j < kColumnsPerLane; ++j) {
          int64_t s = r * kColumnsPerLane + j;
          next[s] = math::FmaOp::create(
              b, weight, vector::ExtractOp::create(b, inputs, j), next[s]);
        }
      }
    }
    return next;
  });
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
  kb.forEachInResultOrder(
      thread, kStagedRows, kStagedColumns, kStagedThreads,
      [&](Value r, Value c) {
        Value w = kb.add(blockRow, r), column = kb.add(firstColumn, c);
        kb.ifThen(
            kb.both(kb.less(w, numRows), kb.less(column, layout.columns)), [&] {
              Value sum = memref::LoadOp::create(
                  b, buffer, ValueRange{kb.add(kb.affine(r, kSumsStride), c)});
              kb.accumulateSum(out, kb.loadIndex(rows, w), column, sum, scales,
                               denseScales);
            });
      });
  // The buffer is free for the next block of columns.
  kb.barrier();
}

void StagedSimtEmitter::computeColumns(Value firstColumn) {
  int64_t numRows = layout.rows.size();
  // Chunk 0's loads.
  ChunkLoads first;
  first.staged = loadChunk(kb.index(0), firstColumn);
  SmallVector<Value> lo;
  for (int64_t r = 0; r < kRowsPerWarp; ++r)
    lo.push_back(kb.loadIndex(
        chunkOffsets,
        kb.affine(kb.min(kb.affine(firstRow, 1, r), numRows - 1), chunks + 1)));
  loadEntries(kb.index(0), lo, first);

  int64_t numSums = kRowsPerWarp * kColumnsPerLane;
  SmallVector<Value> init(numSums, kb.zeroSum());
  llvm::append_range(init, first.flatten());
  ValueRange results = kb.loop(
      kb.index(0), kb.index(chunks), init, [&](Value chunk, ValueRange state) {
        ChunkLoads loads = ChunkLoads::unflatten(state.drop_front(numSums));
        // Every warp is done with the chunk before: this one replaces it.
        kb.barrier();
        storeChunk(loads.staged);
        // The next chunk's loads, in flight while this one is computed.
        Value following = kb.affine(chunk, 1, 1);
        ChunkLoads next;
        next.staged = loadChunk(following, firstColumn);
        loadEntries(following, loads.hi, next);
        kb.barrier();
        SmallVector<Value> sums =
            multiplyChunk(chunk, loads, state.take_front(numSums));
        llvm::append_range(sums, next.flatten());
        return sums;
      });
  writeSums(results.take_front(numSums), firstColumn);
}

gpu::GPUFuncOp StagedSimtEmitter::build(ArrayRef<Type> arguments) {
  auto fn = kb.begin("", arguments);
  rows = kb.table("_rows", layout.rows);
  chunkOffsets = kb.table("_chunk_offsets", getStagedSimtChunkOffsets(layout));
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
  buffer = kb.workgroupBuffer(fn, {std::max((kStagedChunk + 1) * kStagedColumns,
                                            kStagedRows * kSumsStride)});
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

std::vector<int32_t> tesa::getStagedSimtChunkOffsets(const PartLayout &layout) {
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
