//===- FmaAttention.cpp - Exact-f32 attention in one kernel ---------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The attention family for f32 regions: scores, softmax and context as one
// kernel of f32 FMA register tiles that never writes the scores, the
// exact-f32 counterpart of Attention.cpp's tensor-core kernel (no operand
// is rounded).
//
// A block of threads computes the context of `tile[0]` queries of one batch
// (head). Its threads form groups of 16 lanes (half a warp); each group owns
// `thread_tile[0]` consecutive queries and a split of each step's keys, 16 x
// `thread_tile[1]` of them: its lanes split those keys (`thread_tile[1]`
// each, 16 apart: lane x takes keys x, x + 16, ...) and the context's
// columns (runs of up to four, 16 runs apart). The keys of a step,
// `tile[1]`, are one or more splits; each query's splits are groups of
// their own, whose states are combined at the end. Q is copied to shared
// memory once; the keys are walked in steps, each step's K and V slices
// going through a ring of `stages` buffers filled by cp.async
// (StagedTile.h), `stages` - 1 steps ahead. Every slice stays in its global order: Q and K as [row][depth],
// read four depths at a time (a 16-byte vector per query and per key), V
// as [key][column].
//
// Per step, each lane computes its queries' scores against its keys,
// applies the region's score steps, and updates an online softmax: the
// row maximum (reduced across the group's 16 lanes by shuffles), each
// lane's part of the row sum of exp(s - m), and the context accumulators
// rescaled by exp(m_old - m_new), each exp(d) as exp2(d log2(e)).
// The probabilities go through shared memory ([key][query]) to the lanes
// of the same group, which multiply them by the step's V slice into their
// columns. At the end the groups of a query's other splits hand their
// maxima, sums and accumulators to the first through shared memory (the
// same lanes hold the same columns), which adds up its lanes' sums,
// divides, and sends the context through the context's steps to the one
// store.
//
//===----------------------------------------------------------------------===//

#include "AttentionProblem.h"

#include "tesa/Codegen/StagedTile.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace tesa;

namespace {

/// Lanes that share a group's queries.
constexpr int64_t kGroupLanes = 16;
/// Bytes of an f32.
constexpr int64_t kF32Bytes = 4;

/// The widest vector (4, 2 or 1 elements) that divides `count`.
int64_t getVectorWidth(int64_t count) {
  return count % 4 == 0 ? 4 : count % 2 == 0 ? 2 : 1;
}

/// The sizes of the kernel.
struct FmaAttentionTiling {
  int64_t queries, keys, headDim, valueDim, stages, threads;
  /// Queries of a group, and keys of a step a lane takes.
  int64_t groupQueries, laneKeys;

  FmaAttentionTiling(TileConfigAttr config, int64_t valueDim)
      : queries(config.getTile()[0]), keys(config.getTile()[1]),
        headDim(config.getTile()[2]), valueDim(valueDim),
        stages(config.getStages()), threads(config.getThreads()),
        groupQueries(config.getThreadTile()[0]),
        laneKeys(config.getThreadTile()[1]) {}

  /// Keys of a split, and splits of a step.
  int64_t getSplitKeys() const { return kGroupLanes * laneKeys; }
  int64_t getSplits() const { return keys / getSplitKeys(); }
  /// Groups of a split: one a group of queries.
  int64_t getQueryGroups() const { return queries / groupQueries; }
  /// f32 values one lane hands over when the splits are combined: the
  /// maxima and sums of its queries, then their context accumulators.
  int64_t getExchangeValues() const {
    return groupQueries * (2 + getLaneColumns());
  }
  int64_t getExchangeBytes() const {
    return kF32Bytes * (getSplits() - 1) * getQueryGroups() * kGroupLanes *
           getExchangeValues();
  }

  /// Context columns of a lane, in runs of getColumnWidth() columns, 16
  /// runs apart.
  int64_t getLaneColumns() const { return valueDim / kGroupLanes; }
  int64_t getColumnWidth() const { return getVectorWidth(getLaneColumns()); }
  /// Queries of one vector of probabilities.
  int64_t getQueryWidth() const { return getVectorWidth(groupQueries); }
  /// The probabilities' buffer: [key][query], rows padded by 16 bytes.
  int64_t getProbabilityRow() const { return queries + 4; }
  int64_t getProbabilityBytes() const {
    return kF32Bytes * keys * getProbabilityRow();
  }
};

/// A row's running softmax state in one lane: the maximum, and the lane's
/// part of the sum.
struct RowState {
  Value max, sum;
};

class FmaAttentionEmitter {
public:
  FmaAttentionEmitter(KernelEmitter &e, const ContractionProblem &scores,
                      const ContractionProblem &context,
                      ArrayRef<int32_t> keptBatches, bool zeroEmptyRows,
                      const FmaAttentionTiling &tiling)
      : e(e), scores(scores), context(context), keptBatches(keptBatches),
        zeroEmptyRows(zeroEmptyRows), tiling(tiling) {}

  void emitBody(gpu::GPUFuncOp kernel);
  int64_t getSharedBytes() const {
    return std::max(q.shape.getBytes() +
                        tiling.stages *
                            (k.shape.getBytes() + v.shape.getBytes()) +
                        tiling.getProbabilityBytes(),
                    tiling.getExchangeBytes());
  }

private:
  /// This lane's scores of step `keyStart` (groupQueries x laneKeys, row
  /// by row) after the score steps; -inf past the last key.
  SmallVector<Value> computeScores(Value slot, Value keyStart);
  /// Updates `rows` and the context accumulators `out` with the scores of
  /// one step, and returns the probabilities (in the scores' order).
  SmallVector<Value> updateSoftmax(ArrayRef<Value> scoreValues,
                                   MutableArrayRef<RowState> rows,
                                   MutableArrayRef<Value> out);
  /// Stores this lane's probabilities in the [key][query] buffer.
  void storeProbabilities(ArrayRef<Value> probabilities);
  /// The states and accumulators of the other splits of the group's
  /// queries added into split 0's (`rows`, `out`), through shared memory;
  /// only split 0's groups hold the result.
  void combineSplits(Value shared, MutableArrayRef<RowState> rows,
                     MutableArrayRef<Value> out);
  /// out += P V over the step's keys, for the group's queries and this
  /// lane's columns.
  void multiplyValues(Value slot, MutableArrayRef<Value> out);
  /// The `width` f32 at `indices` of the workgroup buffer `buffer`, as
  /// scalars.
  SmallVector<Value> loadVector(Value buffer, ValueRange indices,
                                int64_t width);
  /// The context column of this lane's column `c`.
  Value getColumn(int64_t c);
  /// The key of a step (within the step) of this lane's key `j`.
  Value getKey(int64_t j) {
    return e.add(splitKey, e.affine(lane, 1, j * kGroupLanes));
  }

  KernelEmitter &e;
  const ContractionProblem &scores, &context;
  ArrayRef<int32_t> keptBatches;
  /// Rows whose every score is -inf give zeros (a safe softmax).
  bool zeroEmptyRows;
  const FmaAttentionTiling &tiling;
  StagedOperand q, k, v;
  AttentionArguments arguments;
  /// The probabilities' buffer.
  Value probabilities;
  /// This lane's place in its group, the group's first query in the block,
  /// its split's first key in a step, and the block's first query.
  Value lane, groupRow, splitKey, queryStart;
  /// The group's query group and split.
  Value group, split;
};

SmallVector<Value> FmaAttentionEmitter::loadVector(Value buffer,
                                                   ValueRange indices,
                                                   int64_t width) {
  auto type = VectorType::get({width}, e.b.getF32Type());
  Value vector =
      vector::LoadOp::create(e.b, type, buffer, indices,
                             /*nontemporal=*/false,
                             llvm::Align(kF32Bytes * width));
  SmallVector<Value> values;
  for (int64_t i = 0; i < width; ++i)
    values.push_back(vector::ExtractOp::create(e.b, vector, i));
  return values;
}

Value FmaAttentionEmitter::getColumn(int64_t c) {
  int64_t width = tiling.getColumnWidth();
  return e.affine(lane, width, (c / width) * kGroupLanes * width + c % width);
}

SmallVector<Value> FmaAttentionEmitter::computeScores(Value slot,
                                                      Value keyStart) {
  int64_t rows = tiling.groupQueries, keys = tiling.laneKeys;
  SmallVector<Value> acc(rows * keys, e.f32(0));
  for (int64_t depth = 0; depth < tiling.headDim; depth += 4) {
    SmallVector<SmallVector<Value>> queryValues, keyValues;
    for (int64_t i = 0; i < rows; ++i)
      queryValues.push_back(loadVector(
          q.ring, {e.index(0), e.affine(groupRow, 1, i), e.index(depth)}, 4));
    for (int64_t j = 0; j < keys; ++j)
      keyValues.push_back(loadVector(
          k.ring, {slot, getKey(j), e.index(depth)}, 4));
    for (int64_t d = 0; d < 4; ++d)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < keys; ++j)
          acc[i * keys + j] = math::FmaOp::create(
              e.b, queryValues[i][d], keyValues[j][d], acc[i * keys + j]);
  }
  Value blockQuery = e.add(queryStart, groupRow);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < keys; ++j) {
      Value key = e.add(keyStart, getKey(j));
      Value &value = acc[i * keys + j];
      value = applyScoreSteps(e, scores, arguments, value,
                              e.affine(blockQuery, 1, i), key, tiling.queries,
                              tiling.keys);
    }
  return acc;
}

SmallVector<Value>
FmaAttentionEmitter::updateSoftmax(ArrayRef<Value> scoreValues,
                                   MutableArrayRef<RowState> rows,
                                   MutableArrayRef<Value> out) {
  ImplicitLocOpBuilder &b = e.b;
  int64_t keys = tiling.laneKeys, columns = tiling.getLaneColumns();
  SmallVector<Value> result;
  for (auto [i, row] : llvm::enumerate(rows)) {
    ArrayRef<Value> values = scoreValues.slice(i * keys, keys);
    Value max = row.max;
    for (Value value : values)
      max = arith::MaximumFOp::create(b, max, value);
    Value rawMax = e.reduceAcrossLanes(max, ReductionKind::Max, kGroupLanes);
    Value newMax = getSubtractedMax(e, rawMax);
    Value factor = exp2Difference(e, row.max, newMax);
    Value sum = e.f32(0);
    for (Value value : values) {
      Value p = exp2Difference(e, value, newMax);
      sum = e.add(sum, p);
      result.push_back(p);
    }
    row.sum = e.add(e.mul(row.sum, factor), sum);
    row.max = rawMax;
    for (Value &acc : out.slice(i * columns, columns))
      acc = e.mul(acc, factor);
  }
  return result;
}

void FmaAttentionEmitter::storeProbabilities(ArrayRef<Value> values) {
  int64_t rows = tiling.groupQueries, keys = tiling.laneKeys;
  int64_t width = tiling.getQueryWidth();
  auto type = VectorType::get({width}, e.b.getF32Type());
  for (int64_t j = 0; j < keys; ++j) {
    Value key = getKey(j);
    for (int64_t i = 0; i < rows; i += width) {
      SmallVector<Value> run;
      for (int64_t r = i; r < i + width; ++r)
        run.push_back(values[r * keys + j]);
      Value vector = vector::FromElementsOp::create(e.b, type, run);
      vector::StoreOp::create(e.b, vector, probabilities,
                              ValueRange{key, e.affine(groupRow, 1, i)},
                              /*nontemporal=*/false,
                              llvm::Align(kF32Bytes * width));
    }
  }
}

void FmaAttentionEmitter::multiplyValues(Value slot,
                                         MutableArrayRef<Value> out) {
  int64_t rows = tiling.groupQueries, columns = tiling.getLaneColumns();
  int64_t queryWidth = tiling.getQueryWidth();
  int64_t columnWidth = tiling.getColumnWidth();
  for (int64_t key = 0; key < tiling.getSplitKeys(); ++key) {
    Value stepKey = e.affine(splitKey, 1, key);
    SmallVector<Value> p, values;
    for (int64_t i = 0; i < rows; i += queryWidth)
      llvm::append_range(
          p, loadVector(probabilities, {stepKey, e.affine(groupRow, 1, i)},
                        queryWidth));
    for (int64_t c = 0; c < columns; c += columnWidth)
      llvm::append_range(
          values, loadVector(v.ring, {slot, stepKey, getColumn(c)},
                             columnWidth));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t c = 0; c < columns; ++c)
        out[i * columns + c] =
            math::FmaOp::create(e.b, p[i], values[c], out[i * columns + c]);
  }
}

void FmaAttentionEmitter::emitBody(gpu::GPUFuncOp kernel) {
  ImplicitLocOpBuilder &b = e.b;
  Value tid = e.threadId();
  lane = e.rem(tid, kGroupLanes);
  Value groupId = e.div(tid, kGroupLanes);
  group = e.rem(groupId, tiling.getQueryGroups());
  split = e.div(groupId, tiling.getQueryGroups());
  groupRow = e.affine(group, tiling.groupQueries);
  splitKey = e.affine(split, tiling.getSplitKeys());
  queryStart = e.affine(e.blockId(gpu::Dimension::y), tiling.queries);
  arguments = AttentionArguments::get(e, kernel, scores, keptBatches);
  Value batchId = arguments.block.batchId;

  const ContractionShape &s = scores.shape, &c = context.shape;
  q = stageOperand(e, arguments.q, s, scores.aStrides, batchId, s.mLoop, s.m,
                   tiling.queries, tiling.headDim);
  k = stageOperand(e, arguments.k, s, scores.bStrides, batchId, s.nLoop, s.n,
                   tiling.keys, tiling.headDim);
  v = stageOperand(e, arguments.v, c, context.bStrides, batchId, c.nLoop, c.n,
                   tiling.valueDim, tiling.keys);
  Value shared = getDynamicSharedMemory(e);
  int64_t offset = 0;
  q.ring = makeStageRing(e, shared, q.shape, 1, offset);
  offset += q.shape.getBytes();
  k.ring = makeStageRing(e, shared, k.shape, tiling.stages, offset);
  offset += tiling.stages * k.shape.getBytes();
  v.ring = makeStageRing(e, shared, v.shape, tiling.stages, offset);
  offset += tiling.stages * v.shape.getBytes();
  auto probabilityType = MemRefType::get(
      {tiling.keys, tiling.getProbabilityRow()}, b.getF32Type(),
      MemRefLayoutAttrInterface(),
      cast<MemRefType>(shared.getType()).getMemorySpace());
  probabilities = memref::ViewOp::create(b, probabilityType, shared,
                                         e.index(offset), ValueRange{});

  int64_t steps = llvm::divideCeil(s.n, tiling.keys);
  // Q, then the first steps of K and V, each a group of copies.
  copySliceAsync(e, q, queryStart, e.index(0), e.index(0), tiling.threads);
  NVVM::CpAsyncCommitGroupOp::create(b);
  auto issueStep = [&](Value i) {
    Value exists =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, e.index(steps));
    e.ifThen(exists, [&] {
      Value keyStart = e.affine(i, tiling.keys);
      Value slot = e.rem(i, tiling.stages);
      copySliceAsync(e, k, keyStart, e.index(0), slot, tiling.threads);
      copySliceAsync(e, v, e.index(0), keyStart, slot, tiling.threads);
    });
    NVVM::CpAsyncCommitGroupOp::create(b);
  };
  for (int64_t step = 0; step + 1 < tiling.stages; ++step)
    issueStep(e.index(step));

  // Loop-carried: the context accumulators (query by query), then each
  // query's maximum and sum.
  int64_t rows = tiling.groupQueries;
  int64_t outValues = rows * tiling.getLaneColumns();
  SmallVector<Value> initial(outValues, e.f32(0));
  initial.append(rows, minusInfinity(e));
  initial.append(rows, e.f32(0));
  auto loop = scf::ForOp::create(b, e.index(0), e.index(steps), e.index(1),
                                 initial);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value i = loop.getInductionVar();
    ValueRange carried = loop.getRegionIterArgs();
    SmallVector<Value> out(carried.take_front(outValues));
    SmallVector<RowState> state;
    for (int64_t r = 0; r < rows; ++r)
      state.push_back({carried[outValues + r], carried[outValues + rows + r]});
    // Step i has arrived, and every thread is done with step i - 1, whose
    // slot the next copies overwrite, and with its probabilities.
    NVVM::CpAsyncWaitGroupOp::create(b, tiling.stages - 2);
    e.barrier();
    issueStep(e.affine(i, 1, tiling.stages - 1));
    Value slot = e.rem(i, tiling.stages);
    SmallVector<Value> scoreValues =
        computeScores(slot, e.affine(i, tiling.keys));
    storeProbabilities(updateSoftmax(scoreValues, state, out));
    // Only the lanes of the group read them.
    NVVM::SyncWarpOp::create(
        b, arith::ConstantIntOp::create(b, b.getI32Type(), -1));
    multiplyValues(slot, out);
    SmallVector<Value> next(out);
    for (const RowState &row : state)
      next.push_back(row.max);
    for (const RowState &row : state)
      next.push_back(row.sum);
    scf::YieldOp::create(b, next);
  }

  SmallVector<Value> out(loop.getResults().take_front(outValues));
  SmallVector<RowState> state;
  for (int64_t r = 0; r < rows; ++r)
    state.push_back(
        {loop.getResult(outValues + r), loop.getResult(outValues + rows + r)});
  if (tiling.getSplits() > 1)
    combineSplits(shared, state, out);

  // The context divided by the rows' sums, through the context's steps.
  int64_t columns = tiling.getLaneColumns();
  Value blockQuery = e.add(queryStart, groupRow);
  Value isFirstSplit = e.less(split, 1);
  for (int64_t r = 0; r < rows; ++r) {
    Value sum =
        e.reduceAcrossLanes(state[r].sum, ReductionKind::Add, kGroupLanes);
    Value inverse = getRowNormalizer(e, sum, zeroEmptyRows);
    Value row = e.affine(blockQuery, 1, r);
    e.ifThen(e.both(isFirstSplit, e.less(row, c.m)), [&] {
      auto result = [&](int64_t column) {
        return e.mul(out[r * columns + column], inverse);
      };
      for (int64_t column = 0; column < columns; ++column) {
        if (tiling.getColumnWidth() > 1 && column % 2 == 0) {
          storeOutputPair(e, context, arguments.block, result(column),
                          result(column + 1), row, getColumn(column));
          ++column;
          continue;
        }
        storeOutput(e, context, arguments.block, result(column), row,
                    getColumn(column));
      }
    });
  }
}

void FmaAttentionEmitter::combineSplits(Value shared,
                                        MutableArrayRef<RowState> rows,
                                        MutableArrayRef<Value> out) {
  ImplicitLocOpBuilder &b = e.b;
  // Every thread is done with the rings, and no copy is in flight.
  NVVM::CpAsyncWaitGroupOp::create(b, 0);
  e.barrier();
  auto workgroup = cast<MemRefType>(shared.getType()).getMemorySpace();
  auto type = MemRefType::get({tiling.getExchangeBytes() / kF32Bytes},
                              b.getF32Type(), MemRefLayoutAttrInterface(),
                              workgroup);
  Value exchange =
      memref::ViewOp::create(b, type, shared, e.index(0), ValueRange{});
  int64_t values = tiling.getExchangeValues();
  // Where value `i` of this lane of split `from` (1 ..) lies.
  auto at = [&](Value from, int64_t i) {
    Value slot = e.add(
        e.affine(e.affine(from, 1, -1), tiling.getQueryGroups()), group);
    return e.affine(e.add(e.affine(slot, kGroupLanes), lane), values, i);
  };
  int64_t rowCount = rows.size();
  Value notFirst =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ne, split, e.index(0));
  e.ifThen(notFirst, [&] {
    for (auto [r, row] : llvm::enumerate(rows)) {
      e.store(row.max, exchange, at(split, r));
      e.store(row.sum, exchange, at(split, rowCount + r));
    }
    for (auto [i, acc] : llvm::enumerate(out))
      e.store(acc, exchange, at(split, 2 * rowCount + i));
  });
  e.barrier();
  // Split 0 adds the others in: each part's context and sum scaled by
  // exp(its maximum - the largest).
  int64_t columns = tiling.getLaneColumns();
  for (int64_t from = 1; from < tiling.getSplits(); ++from) {
    auto load = [&](int64_t i) {
      return e.load(exchange, at(e.index(from), i));
    };
    for (auto [r, row] : llvm::enumerate(rows)) {
      Value otherMax = load(r);
      Value max = arith::MaximumFOp::create(b, row.max, otherMax);
      // Rows that saw no score above -inf in either part stay at zero.
      Value shift = getSubtractedMax(e, max);
      Value mine = exp2Difference(e, row.max, shift);
      Value theirs = exp2Difference(e, otherMax, shift);
      row.sum = e.add(e.mul(row.sum, mine),
                      e.mul(load(rowCount + r), theirs));
      row.max = max;
      for (int64_t c = 0; c < columns; ++c) {
        int64_t i = r * columns + c;
        out[i] = e.add(e.mul(out[i], mine),
                       e.mul(load(2 * rowCount + i), theirs));
      }
    }
  }
}

} // namespace

std::optional<std::string>
tesa::checkFmaAttention(const ContractionProblem &scores,
                        const ContractionProblem &context,
                        TileConfigAttr config) {
  if (config.getCopy() != CopyEngine::AsyncCopy || config.getStages() < 2)
    return "the fma_f32 attention kernel copies its operands by async_copy, "
           "at least two stages deep";
  for (Value operand : {scores.a, scores.b, context.a, context.b})
    if (!getElementTypeOrSelf(operand.getType()).isF32())
      return "the fma_f32 attention kernel multiplies f32 operands only";
  FmaAttentionTiling tiling(config, context.shape.n);
  if (tiling.keys % tiling.getSplitKeys() != 0 ||
      tiling.queries % tiling.groupQueries != 0 ||
      tiling.threads !=
          kGroupLanes * tiling.getQueryGroups() * tiling.getSplits())
    return "each group of 16 lanes must own thread_tile[0] queries and 16 x "
           "thread_tile[1] keys of a step";
  if (tiling.groupQueries > 8 || tiling.laneKeys > 8)
    return "a group owns at most 8 queries and a lane at most 8 keys of a "
           "step";
  if (tiling.headDim % 4 != 0 || tiling.valueDim % kGroupLanes != 0 ||
      tiling.getLaneColumns() > 8)
    return "the head must be a multiple of 4 wide, and the context a "
           "multiple of 16 and at most 128";
  const ContractionShape &s = scores.shape, &c = context.shape;
  if (getStagedOrder(scores.aStrides, s.mLoop, s.kLoop) !=
          TileOrder::RowMajor ||
      getStagedOrder(scores.bStrides, s.nLoop, s.kLoop) !=
          TileOrder::RowMajor ||
      getStagedOrder(context.bStrides, c.nLoop, c.kLoop) != TileOrder::KMajor)
    return "Q and K must be contiguous along the head, and V along the "
           "context's columns";
  for (std::optional<std::string> reason :
       {checkStagedOperand(scores.aStrides, s.mLoop, s.kLoop, s.m, s.k,
                           tiling.queries, tiling.headDim, kF32Bytes),
        checkStagedOperand(scores.bStrides, s.nLoop, s.kLoop, s.n, s.k,
                           tiling.keys, tiling.headDim, kF32Bytes),
        checkStagedOperand(context.bStrides, c.nLoop, c.kLoop, c.n, c.k, c.n,
                           tiling.keys, kF32Bytes)})
    if (reason)
      return reason;
  return std::nullopt;
}

int64_t tesa::emitFmaAttention(KernelEmitter &e,
                               const ContractionProblem &scores,
                               const ContractionProblem &context,
                               ArrayRef<int32_t> keptBatches,
                               bool zeroEmptyRows, TileConfigAttr config,
                               gpu::GPUFuncOp kernel) {
  FmaAttentionTiling tiling(config, context.shape.n);
  FmaAttentionEmitter emitter(e, scores, context, keptBatches, zeroEmptyRows,
                              tiling);
  emitter.emitBody(kernel);
  return emitter.getSharedBytes();
}
