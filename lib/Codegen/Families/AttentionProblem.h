//===- AttentionProblem.h - What an attention kernel computes ---*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// What the attention family's two emitters share: the kernel's arguments
// (Q, K, V, the score steps' inputs, the context steps' inputs, the
// result) and the score of one query and key after the region's score
// steps. The tensor-core emitter is Attention.cpp, the exact-f32 one
// FmaAttention.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_LIB_CODEGEN_FAMILIES_ATTENTIONPROBLEM_H
#define TESA_LIB_CODEGEN_FAMILIES_ATTENTIONPROBLEM_H

#include "ContractionProblem.h"

#include <optional>
#include <string>

namespace tesa {

/// An attention kernel's buffers, in argument order, and the block's
/// batch (head).
struct AttentionArguments {
  mlir::Value q, k, v;
  llvm::SmallVector<mlir::Value> scoreBuffers;
  /// The batch, the context steps' buffers and the result.
  ContractionBlock block;

  /// The block's batch is its z index, or with `keptBatches` the entry of
  /// their table at it.
  static AttentionArguments get(KernelEmitter &e, mlir::gpu::GPUFuncOp kernel,
                                const ContractionProblem &scores,
                                llvm::ArrayRef<int32_t> keptBatches);
};

/// The score of query `row` and key `key` whose product is `acc` (f32),
/// after the region's score steps, in f32: -inf for a key past the last.
/// Queries and keys past the last read the steps' inputs at the last (where
/// the kernel's steps of `queries` and `keys` do not divide the scores).
mlir::Value applyScoreSteps(KernelEmitter &e, const ContractionProblem &scores,
                            const AttentionArguments &arguments,
                            mlir::Value acc, mlir::Value row, mlir::Value key,
                            int64_t queries, int64_t keys);

/// The online softmax's arithmetic: -inf (a row's maximum before any key),
/// exp(`x` - `y`) as exp2((`x` - `y`) log2(e)), and the maximum
/// a row subtracts from its scores: `max`, or 0 for a row that has seen
/// only keys past the last (its probabilities are then 0, not NaN).
mlir::Value minusInfinity(KernelEmitter &e);
mlir::Value exp2Difference(KernelEmitter &e, mlir::Value x, mlir::Value y);
mlir::Value getSubtractedMax(KernelEmitter &e, mlir::Value max);
/// What a row's context is multiplied by at the end: 1 / `sum`, or where
/// `zeroEmptyRows` (a safe softmax) and no key had a score above -inf (the
/// sum is 0), 0.
mlir::Value getRowNormalizer(KernelEmitter &e, mlir::Value sum,
                             bool zeroEmptyRows);

/// Why the exact-f32 attention kernel cannot compute the region with
/// `config`, or none.
std::optional<std::string>
checkFmaAttention(const ContractionProblem &scores,
                  const ContractionProblem &context, TileConfigAttr config);
/// Emits the exact-f32 attention kernel over the batches `keptBatches`
/// (empty: all) and returns the bytes of dynamic shared memory it takes.
/// With `zeroEmptyRows`, rows whose every score is -inf give zeros.
int64_t emitFmaAttention(KernelEmitter &e, const ContractionProblem &scores,
                         const ContractionProblem &context,
                         llvm::ArrayRef<int32_t> keptBatches,
                         bool zeroEmptyRows, TileConfigAttr config,
                         mlir::gpu::GPUFuncOp kernel);

} // namespace tesa

#endif // TESA_LIB_CODEGEN_FAMILIES_ATTENTIONPROBLEM_H
