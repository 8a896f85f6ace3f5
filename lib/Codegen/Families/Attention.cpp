//===- Attention.cpp - Scores, softmax and context in one kernel ----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The attention family: an attention region (scores = Q K^T with their
// steps, a softmax along the keys, context = P V with its steps, see
// AttentionBody) as one kernel on the m16n8k16 f16 atom that never writes
// the scores (f32 regions: FmaAttention.cpp).
//
// A block of threads computes the context of `tile[0]` queries of one batch
// (head) in groups of 16, each group owned by the warps that split a key
// step between them (thread_tile[1] keys each). The block's Q tile is
// copied to shared memory once and each warp keeps its A fragments in
// registers. The keys are walked in steps of `tile[1]`: the K and V slices
// of each step go through a ring of `stages` buffers filled by cp.async
// (StagedTile.h), `stages` - 1 steps ahead. Per step, each warp computes
// its scores in f32 accumulators, rounds them to the scores' type, applies
// the score steps, and updates an online softmax: the running row maximum
// m, the running row sum l of exp(s - m), and the context accumulators
// rescaled by exp(m_old - m_new). The probabilities exp(s - m) become the A
// operand of the P V product straight from the accumulators' registers
// (MmaAtomEmitter::accumulatorsToA). At the end the warps of a group
// combine their states through shared memory, and the first divides the
// context by l and sends it through the context's steps to the one store,
// as in the contraction family.
//
// The probabilities are rounded to f16 before P V, as the three kernels do
// in the unfused program; the softmax's arithmetic is f32 throughout:
// exp(s - m) as exp2((s - m) log2(e)).
//
//===----------------------------------------------------------------------===//

#include "AttentionProblem.h"

#include "tesa/Codegen/MmaAtom.h"
#include "tesa/Codegen/StagedTile.h"
#include "tesa/Transforms/KernelRegions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace tesa;

namespace {

/// The sizes of the kernel: queries a block, keys a step, the depth of the
/// scores (Q and K) and the width of the context (V), warps, stages.
struct AttentionTiling {
  int64_t queries, keys, headDim, valueDim, warps, stages;
  /// Keys of a step that one warp takes (thread_tile[1]).
  int64_t warpKeys;
  AttentionTiling(TileConfigAttr config, int64_t valueDim)
      : queries(config.getTile()[0]), keys(config.getTile()[1]),
        headDim(config.getTile()[2]), valueDim(valueDim),
        warps(config.getThreads() / 32), stages(config.getStages()),
        warpKeys(config.getThreadTile()[1]) {}
  /// Groups of 16 queries, and the warps that split a step's keys for
  /// each.
  int64_t getQueryGroups() const { return queries / 16; }
  int64_t getKeySplits() const { return keys / warpKeys; }
  /// f32 values one lane hands over when the splits are combined: the
  /// maxima and sums of its two rows, then its context accumulators.
  int64_t getExchangeValues() const { return 4 + 4 * (valueDim / 8); }
  int64_t getExchangeBytes() const {
    return 4 * (getKeySplits() - 1) * getQueryGroups() * 32 *
           getExchangeValues();
  }
};

/// A softmax row's running state in one lane: the maximum and the lane's
/// part of the sum, for the lane's two rows (g and g + 8).
struct RowState {
  Value max[2], sum[2];
};

class AttentionEmitter {
public:
  AttentionEmitter(KernelEmitter &e, const ContractionProblem &scores,
                   const ContractionProblem &context,
                   ArrayRef<int32_t> keptBatches, bool zeroEmptyRows,
                   const AttentionTiling &tiling)
      : e(e), scores(scores), context(context), keptBatches(keptBatches),
        zeroEmptyRows(zeroEmptyRows), tiling(tiling) {}

  /// The kernel's arguments: Q, K, V, the score steps' inputs, the context
  /// steps' inputs, the result.
  void emitBody(gpu::GPUFuncOp kernel);

  /// Bytes of dynamic shared memory the kernel takes.
  int64_t getSharedBytes() const;

private:
  /// The scores of key step `keyStart` for the warp's 16 queries, as f32
  /// accumulators of 8 keys each, after the score steps; keys past the
  /// last are -inf.
  SmallVector<Value> computeScores(ArrayRef<Value> queryFragments,
                                   Value slot, Value keyStart);
  /// Updates `state` and the context accumulators `out` with the scores
  /// of one step, and returns the probabilities as A fragments of 16 keys.
  SmallVector<Value> updateSoftmax(ArrayRef<Value> scoreTiles,
                                   RowState &state, SmallVector<Value> &out);
  /// The lane's value of accumulator `i` of the score tile `tile` after
  /// the score steps.
  Value applyScoreSteps(Value acc, int64_t tile, int64_t i, Value keyStart);
  /// Each of `values` times `factors` of its row.
  Value scaleRows(Value acc, Value factors[2]);
  /// The state and context of the other key splits of the warp's queries
  /// added into split 0's (`state`, `out`), through shared memory; only
  /// split 0's warps hold the result.
  void combineSplits(Value shared, RowState &state, SmallVector<Value> &out);

  KernelEmitter &e;
  const ContractionProblem &scores, &context;
  ArrayRef<int32_t> keptBatches;
  /// Rows whose every score is -inf give zeros (a safe softmax).
  bool zeroEmptyRows;
  const AttentionTiling &tiling;
  std::optional<MmaAtomEmitter> atom;
  StagedOperand q, k, v;
  Value batchId, queryRow, group, split, lane;
  /// The first key of the warp's part of a step, within the step.
  Value warpKeyOffset;
  AttentionArguments arguments;
};

int64_t AttentionEmitter::getSharedBytes() const {
  return std::max(q.shape.getBytes() + tiling.stages * (k.shape.getBytes() +
                                                         v.shape.getBytes()),
                  tiling.getExchangeBytes());
}

Value AttentionEmitter::applyScoreSteps(Value acc, int64_t tile, int64_t i,
                                        Value keyStart) {
  auto [inRow, inColumn] = atom->getAccumulatorPosition(i);
  Value row = e.add(queryRow, inRow);
  Value key = e.add(e.add(keyStart, warpKeyOffset),
                    e.affine(inColumn, 1, 8 * tile));
  return tesa::applyScoreSteps(e, scores, arguments,
                               atom->getAccumulator(acc, i), row, key,
                               tiling.queries, tiling.keys);
}

SmallVector<Value>
AttentionEmitter::computeScores(ArrayRef<Value> queryFragments, Value slot,
                                Value keyStart) {
  SmallVector<Value> tiles(tiling.warpKeys / 8, atom->zeroAccumulator());
  for (int64_t depth = 0; depth < tiling.headDim; depth += 16) {
    for (int64_t key = 0; key < tiling.warpKeys; key += 16) {
      Value pair = atom->loadFragments(MmaOperand::B, k.shape.order, k.ring,
                                       slot, e.affine(warpKeyOffset, 1, key),
                                       e.index(depth));
      for (int64_t half = 0; half < 2; ++half) {
        Value &tile = tiles[key / 8 + half];
        tile = atom->multiply(queryFragments[depth / 16],
                              atom->getBHalf(pair, half), tile);
      }
    }
  }
  SmallVector<Value> result;
  for (auto [t, tile] : llvm::enumerate(tiles)) {
    SmallVector<Value> values;
    for (int64_t i = 0; i < 4; ++i)
      values.push_back(applyScoreSteps(tile, t, i, keyStart));
    result.push_back(atom->makeAccumulator(values));
  }
  return result;
}

Value AttentionEmitter::scaleRows(Value acc, Value factors[2]) {
  SmallVector<Value> values;
  for (int64_t i = 0; i < 4; ++i)
    values.push_back(e.mul(atom->getAccumulator(acc, i), factors[i / 2]));
  return atom->makeAccumulator(values);
}

SmallVector<Value>
AttentionEmitter::updateSoftmax(ArrayRef<Value> scoreTiles, RowState &state,
                                SmallVector<Value> &out) {
  ImplicitLocOpBuilder &b = e.b;
  // Accumulators 0-1 of a tile are the lane's first row, 2-3 its second;
  // the four lanes of a quad hold a row's other columns.
  Value factors[2];
  Value rawMax[2], newMax[2];
  for (int64_t r = 0; r < 2; ++r) {
    Value max = state.max[r];
    for (Value tile : scoreTiles)
      for (int64_t i = 2 * r; i < 2 * r + 2; ++i)
        max = arith::MaximumFOp::create(b, max,
                                        atom->getAccumulator(tile, i));
    rawMax[r] = e.reduceAcrossLanes(max, ReductionKind::Max, 4);
    newMax[r] = getSubtractedMax(e, rawMax[r]);
    factors[r] = exp2Difference(e, state.max[r], newMax[r]);
  }
  SmallVector<Value> probabilities;
  Value rowSums[2] = {e.f32(0), e.f32(0)};
  for (Value tile : scoreTiles) {
    SmallVector<Value> values;
    for (int64_t i = 0; i < 4; ++i) {
      Value p =
          exp2Difference(e, atom->getAccumulator(tile, i), newMax[i / 2]);
      rowSums[i / 2] = e.add(rowSums[i / 2], p);
      values.push_back(p);
    }
    probabilities.push_back(atom->makeAccumulator(values));
  }
  for (int64_t r = 0; r < 2; ++r) {
    state.sum[r] = e.add(e.mul(state.sum[r], factors[r]), rowSums[r]);
    state.max[r] = rawMax[r];
  }
  for (Value &acc : out)
    acc = scaleRows(acc, factors);
  SmallVector<Value> fragments;
  for (size_t t = 0; t < probabilities.size(); t += 2)
    fragments.push_back(
        atom->accumulatorsToA(probabilities[t], probabilities[t + 1]));
  return fragments;
}

void AttentionEmitter::emitBody(gpu::GPUFuncOp kernel) {
  ImplicitLocOpBuilder &b = e.b;
  Value tid = e.threadId();
  Value warp = e.div(tid, 32);
  lane = e.rem(tid, 32);
  atom.emplace(e, lane);
  arguments = AttentionArguments::get(e, kernel, scores, keptBatches);
  batchId = arguments.block.batchId;
  Value queryStart = e.affine(e.blockId(gpu::Dimension::y), tiling.queries);
  group = e.rem(warp, tiling.getQueryGroups());
  split = e.div(warp, tiling.getQueryGroups());
  warpKeyOffset = e.affine(split, tiling.warpKeys);
  Value warpRow = e.affine(group, 16);
  queryRow = e.add(queryStart, warpRow);

  const ContractionShape &s = scores.shape, &c = context.shape;
  const ContractionBlock &block = arguments.block;
  q = stageOperand(e, arguments.q, s, scores.aStrides, batchId, s.mLoop,
                   s.m, tiling.queries, tiling.headDim);
  k = stageOperand(e, arguments.k, s, scores.bStrides, batchId, s.nLoop,
                   s.n, tiling.keys, tiling.headDim);
  v = stageOperand(e, arguments.v, c, context.bStrides, batchId, c.nLoop,
                   c.n, tiling.valueDim, tiling.keys);
  Value shared = getDynamicSharedMemory(e);
  q.ring = makeStageRing(e, shared, q.shape, 1, 0);
  k.ring = makeStageRing(e, shared, k.shape, tiling.stages, q.shape.getBytes());
  v.ring = makeStageRing(e, shared, v.shape, tiling.stages,
                         q.shape.getBytes() +
                             tiling.stages * k.shape.getBytes());

  int64_t steps = llvm::divideCeil(s.n, tiling.keys);
  int64_t threads = 32 * tiling.warps;
  // Q, then the first steps of K and V, each a group of copies.
  copySliceAsync(e, q, queryStart, e.index(0), e.index(0), threads);
  NVVM::CpAsyncCommitGroupOp::create(b);
  auto issueStep = [&](Value i) {
    Value exists =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, e.index(steps));
    e.ifThen(exists, [&] {
      Value keyStart = e.affine(i, tiling.keys);
      Value slot = e.rem(i, tiling.stages);
      copySliceAsync(e, k, keyStart, e.index(0), slot, threads);
      copySliceAsync(e, v, e.index(0), keyStart, slot, threads);
    });
    NVVM::CpAsyncCommitGroupOp::create(b);
  };
  for (int64_t step = 0; step + 1 < tiling.stages; ++step)
    issueStep(e.index(step));
  NVVM::CpAsyncWaitGroupOp::create(b, tiling.stages - 1);
  e.barrier();
  SmallVector<Value> queryFragments;
  for (int64_t depth = 0; depth < tiling.headDim; depth += 16)
    queryFragments.push_back(atom->loadFragments(
        MmaOperand::A, q.shape.order, q.ring, e.index(0), warpRow,
        e.index(depth)));

  // Loop-carried: the context accumulators, then the rows' maxima and sums.
  int64_t outTiles = tiling.valueDim / 8;
  SmallVector<Value> initial(outTiles, atom->zeroAccumulator());
  initial.append({minusInfinity(e), minusInfinity(e), e.f32(0), e.f32(0)});
  auto loop = scf::ForOp::create(b, e.index(0), e.index(steps), e.index(1),
                                 initial);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value i = loop.getInductionVar();
    ValueRange carried = loop.getRegionIterArgs();
    SmallVector<Value> out(carried.take_front(outTiles));
    RowState state{{carried[outTiles], carried[outTiles + 1]},
                   {carried[outTiles + 2], carried[outTiles + 3]}};
    // Step i has arrived, and every warp is done with step i - 1, whose
    // slot the next copies overwrite.
    NVVM::CpAsyncWaitGroupOp::create(b, tiling.stages - 2);
    e.barrier();
    issueStep(e.affine(i, 1, tiling.stages - 1));
    Value slot = e.rem(i, tiling.stages);
    SmallVector<Value> scoreTiles =
        computeScores(queryFragments, slot, e.affine(i, tiling.keys));
    SmallVector<Value> probabilities =
        updateSoftmax(scoreTiles, state, out);
    for (auto [t, fragment] : llvm::enumerate(probabilities)) {
      for (int64_t column = 0; column < tiling.valueDim; column += 16) {
        Value pair = atom->loadFragments(
            MmaOperand::B, v.shape.order, v.ring, slot, e.index(column),
            e.affine(warpKeyOffset, 1, 16 * t));
        for (int64_t half = 0; half < 2; ++half) {
          Value &acc = out[column / 8 + half];
          acc = atom->multiply(fragment, atom->getBHalf(pair, half), acc);
        }
      }
    }
    SmallVector<Value> next(out);
    next.append({state.max[0], state.max[1], state.sum[0], state.sum[1]});
    scf::YieldOp::create(b, next);
  }

  SmallVector<Value> out(loop.getResults().take_front(outTiles));
  RowState state{{loop.getResult(outTiles), loop.getResult(outTiles + 1)},
                 {loop.getResult(outTiles + 2), loop.getResult(outTiles + 3)}};
  Value isFirstSplit = e.less(split, 1);
  if (tiling.getKeySplits() > 1)
    combineSplits(shared, state, out);

  // The context divided by the rows' sums, through the context's steps.
  e.ifThen(isFirstSplit, [&] {
    Value inverse[2];
    for (int64_t r = 0; r < 2; ++r) {
      Value sum = e.reduceAcrossLanes(state.sum[r], ReductionKind::Add, 4);
      inverse[r] = getRowNormalizer(e, sum, zeroEmptyRows);
    }
    for (int64_t t = 0; t < outTiles; ++t) {
      Value acc = scaleRows(out[t], inverse);
      for (int64_t i = 0; i < 4; i += 2) {
        auto [inRow, inColumn] = atom->getAccumulatorPosition(i);
        Value row = e.add(queryRow, inRow);
        Value column = e.affine(inColumn, 1, 8 * t);
        e.ifThen(e.less(row, c.m), [&] {
          storeOutputPair(e, context, block, atom->getAccumulator(acc, i),
                          atom->getAccumulator(acc, i + 1), row, column);
        });
      }
    }
  });
}

void AttentionEmitter::combineSplits(Value shared, RowState &state,
                                     SmallVector<Value> &out) {
  ImplicitLocOpBuilder &b = e.b;
  // Every warp is done with the rings, and no copy is in flight.
  NVVM::CpAsyncWaitGroupOp::create(b, 0);
  e.barrier();
  auto workgroup = cast<MemRefType>(shared.getType()).getMemorySpace();
  auto type = MemRefType::get({tiling.getExchangeBytes() / 4}, b.getF32Type(),
                              MemRefLayoutAttrInterface(), workgroup);
  Value exchange =
      memref::ViewOp::create(b, type, shared, e.index(0), ValueRange{});
  int64_t values = tiling.getExchangeValues();
  // Where value `i` of this lane of split `from` (1 ..) lies: the lanes of
  // two splits' warps of a group hold the same queries and columns.
  auto at = [&](Value from, int64_t i) {
    Value slot = e.add(e.affine(e.affine(from, 1, -1),
                                tiling.getQueryGroups()),
                       group);
    return e.affine(e.add(e.affine(slot, 32), lane), values, i);
  };
  auto flatten = [&](const RowState &rows, ArrayRef<Value> tiles) {
    SmallVector<Value> flat = {rows.max[0], rows.max[1], rows.sum[0],
                               rows.sum[1]};
    for (Value tile : tiles)
      for (int64_t i = 0; i < 4; ++i)
        flat.push_back(atom->getAccumulator(tile, i));
    return flat;
  };
  Value notFirst =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ne, split, e.index(0));
  e.ifThen(notFirst, [&] {
    for (auto [i, value] : llvm::enumerate(flatten(state, out)))
      e.store(value, exchange, at(split, i));
  });
  e.barrier();
  // Split 0 adds the others in: each part's context and sum scaled by
  // exp(its maximum - the largest).
  int64_t outTiles = out.size();
  for (int64_t from = 1; from < tiling.getKeySplits(); ++from) {
    auto load = [&](int64_t i) {
      return e.load(exchange, at(e.index(from), i));
    };
    for (int64_t r = 0; r < 2; ++r) {
      Value otherMax = load(r);
      Value max = arith::MaximumFOp::create(b, state.max[r], otherMax);
      // Rows that saw no score above -inf in either part stay at zero.
      Value shift = getSubtractedMax(e, max);
      Value mine = exp2Difference(e, state.max[r], shift);
      Value theirs = exp2Difference(e, otherMax, shift);
      state.sum[r] =
          e.add(e.mul(state.sum[r], mine), e.mul(load(2 + r), theirs));
      state.max[r] = max;
      for (int64_t t = 0; t < outTiles; ++t) {
        SmallVector<Value> values;
        for (int64_t i = 0; i < 4; ++i) {
          Value own = atom->getAccumulator(out[t], i);
          if (i / 2 != r) {
            values.push_back(own);
            continue;
          }
          values.push_back(e.add(e.mul(own, mine),
                                 e.mul(load(4 + 4 * t + i), theirs)));
        }
        out[t] = atom->makeAccumulator(values);
      }
    }
  }
}

/// Why the attention kernel cannot compute the region with `config`, or
/// none.
std::optional<std::string> checkAttention(const ContractionProblem &scores,
                                          const ContractionProblem &context,
                                          TileConfigAttr config) {
  if (config.getAtom() != MmaAtom::MmaF16M16N8K16 ||
      config.getCopy() != CopyEngine::AsyncCopy || config.getStages() < 2)
    return "the attention family runs on the mma_f16_m16n8k16 or fma_f32 "
           "atom with operands copied by async_copy, at least two stages "
           "deep";
  for (Value operand : {scores.a, scores.b, context.b})
    if (!getElementTypeOrSelf(operand.getType()).isF16())
      return "the attention family multiplies f16 operands only";
  if (!getElementTypeOrSelf(context.a.getType()).isF16())
    return "the probabilities must be f16, the A operand of the context";
  ArrayRef<int64_t> tile = config.getTile();
  int64_t queries = tile[0], keys = tile[1], headDim = tile[2];
  int64_t warpKeys = config.getThreadTile()[1];
  if (config.getThreadTile()[0] != 16 || queries % 16 != 0 ||
      warpKeys % 16 != 0 || keys % warpKeys != 0 ||
      config.getThreads() != 32 * (queries / 16) * (keys / warpKeys))
    return "each warp must own 16 queries and thread_tile[1] keys of a step";
  if (headDim % 16 != 0 || context.shape.n % 16 != 0)
    return "keys a step, the head and the context's width must be multiples "
           "of 16";
  const ContractionShape &s = scores.shape, &c = context.shape;
  for (std::optional<std::string> reason :
       {checkStagedOperand(scores.aStrides, s.mLoop, s.kLoop, s.m, s.k,
                           queries, headDim),
        checkStagedOperand(scores.bStrides, s.nLoop, s.kLoop, s.n, s.k, keys,
                           headDim),
        checkStagedOperand(context.bStrides, c.nLoop, c.kLoop, c.n, c.k, c.n,
                           keys)})
    if (reason)
      return reason;
  return std::nullopt;
}

} // namespace

AttentionArguments AttentionArguments::get(KernelEmitter &e,
                                           gpu::GPUFuncOp kernel,
                                           const ContractionProblem &scores,
                                           ArrayRef<int32_t> keptBatches) {
  Value batchId = e.blockId(gpu::Dimension::z);
  if (!keptBatches.empty()) {
    auto module = kernel->getParentOfType<gpu::GPUModuleOp>();
    batchId = e.loadIndex(
        e.table(module, (kernel.getName() + "_kept_batches").str(),
                keptBatches),
        batchId);
  }
  SmallVector<Value> all(kernel.getArguments());
  AttentionArguments arguments;
  arguments.q = all[0];
  arguments.k = all[1];
  arguments.v = all[2];
  size_t scoreInputs = scores.epilogue->getInputs().size();
  arguments.scoreBuffers.assign(all.begin() + 3,
                                all.begin() + 3 + scoreInputs);
  arguments.block.batchId = batchId;
  arguments.block.out = all.back();
  arguments.block.storeBuffers.assign(all.begin() + 3 + scoreInputs,
                                      all.end() - 1);
  return arguments;
}

Value tesa::minusInfinity(KernelEmitter &e) {
  return e.f32(-std::numeric_limits<double>::infinity());
}

Value tesa::exp2Difference(KernelEmitter &e, Value x, Value y) {
  // Scaled after the subtraction: a finite score times log2(e) could
  // overflow (below about -2.4e38), the difference of two scores is at
  // most 0 here.
  return math::Exp2Op::create(
      e.b, e.mul(arith::SubFOp::create(e.b, x, y), e.f32(M_LOG2E)));
}

Value tesa::getSubtractedMax(KernelEmitter &e, Value max) {
  Value seen = arith::CmpFOp::create(e.b, arith::CmpFPredicate::ONE, max,
                                     minusInfinity(e));
  return arith::SelectOp::create(e.b, seen, max, e.f32(0));
}

Value tesa::getRowNormalizer(KernelEmitter &e, Value sum, bool zeroEmptyRows) {
  Value inverse = arith::DivFOp::create(e.b, e.f32(1), sum);
  if (!zeroEmptyRows)
    return inverse;
  Value empty =
      arith::CmpFOp::create(e.b, arith::CmpFPredicate::OEQ, sum, e.f32(0));
  return arith::SelectOp::create(e.b, empty, e.f32(0), inverse);
}

Value tesa::applyScoreSteps(KernelEmitter &e, const ContractionProblem &scores,
                            const AttentionArguments &arguments, Value acc,
                            Value row, Value key, int64_t queries,
                            int64_t keys) {
  auto clamp = [&](Value x, int64_t size, int64_t step) {
    if (size % step == 0)
      return x;
    return arith::MinUIOp::create(e.b, x, e.index(size - 1)).getResult();
  };
  SmallVector<Value> loops = getOutputLoops(
      e, scores.shape, arguments.block.batchId,
      clamp(row, scores.shape.m, queries), clamp(key, scores.shape.n, keys));
  Value value = addInitialValue(e, scores, acc, Value(), loops);
  value = e.toF32(
      scores.computeOutput(e, value, loops, arguments.scoreBuffers).first);
  if (scores.shape.n % keys == 0)
    return value;
  return arith::SelectOp::create(e.b, e.less(key, scores.shape.n), value,
                                 minusInfinity(e));
}

llvm::Expected<RegionKernel>
tesa::buildAttentionKernel(KernelOp region, gpu::GPUModuleOp module,
                           StringRef name) {
  TileConfigAttr config = region.getConfigAttr();
  if (!config)
    return kernelError("the region has no tile_config");
  FailureOr<AttentionBody> body = matchAttentionBody(region.getBodyOps());
  if (failed(body))
    return kernelError(
        "the region is not scores, a softmax and a context product");
  FailureOr<Epilogue> scoreSteps =
      Epilogue::get(body->scores.getResult(0), body->scoreSteps);
  FailureOr<Epilogue> contextSteps =
      Epilogue::get(body->context.getResult(0), body->contextSteps);
  if (failed(scoreSteps) || failed(contextSteps))
    return kernelError("a step after a product is not elementwise");
  bool exactF32 = config.getAtom() == MmaAtom::FmaF32;
  // Q, K and V read where the tensors they view are (the projections'
  // results, whatever torch-mlir's head reshapes and transposes), unless
  // the kernel cannot read them there.
  ContractionProblem scores, context;
  std::optional<std::string> reason;
  for (OperandViews views : {OperandViews::SameType, OperandViews::None}) {
    scores = describeContraction(body->scores, views);
    scores.epilogue = &*scoreSteps;
    context = describeContraction(body->context, views);
    context.epilogue = &*contextSteps;
    if (config.getTile()[2] != scores.shape.k ||
        context.shape.k != scores.shape.n ||
        context.shape.m != scores.shape.m ||
        context.shape.batch != scores.shape.batch)
      return kernelError(
          "the tile's head size or the products' shapes do not match");
    if (!(reason = exactF32 ? checkFmaAttention(scores, context, config)
                            : checkAttention(scores, context, config)))
      break;
  }
  if (reason)
    return kernelError(*reason);

  ImplicitLocOpBuilder b(module.getLoc(), module.getContext());
  KernelEmitter e(b);
  RegionKernel result;
  result.inputs = {scores.a, scores.b, context.b};
  llvm::append_range(result.inputs, scoreSteps->getInputs());
  llvm::append_range(result.inputs, context.getFinishInputs());
  SmallVector<Type> arguments;
  for (Value input : result.inputs)
    arguments.push_back(getFlatType(input));
  RankedTensorType resultType = contextSteps->getResultType();
  arguments.push_back(MemRefType::get({resultType.getNumElements()},
                                      resultType.getElementType()));
  result.kernel = e.beginKernel(module, name, arguments);
  // Heads whose context is pruned whole take no blocks.
  std::vector<int32_t> keptBatches = body->getKeptHeads();
  if (exactF32) {
    result.sharedBytes =
        emitFmaAttention(e, scores, context, keptBatches, body->safeSoftmax,
                         config, result.kernel);
  } else {
    AttentionTiling tiling(config, context.shape.n);
    AttentionEmitter emitter(e, scores, context, keptBatches,
                             body->safeSoftmax, tiling);
    emitter.emitBody(result.kernel);
    result.sharedBytes = emitter.getSharedBytes();
  }
  int64_t queries = config.getTile()[0];
  result.grid = {1, int64_t(llvm::divideCeil(scores.shape.m, queries)),
                 keptBatches.empty() ? scores.shape.batch
                                     : int64_t(keptBatches.size())};
  result.threads = config.getThreads();
  return result;
}
