//===- RuleUtils.h - Helpers shared by the propagation rules ----*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Private to lib/Analysis: element-level views of maps, slice walks and the
// structural hash used as the key of derived-rule caches.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_LIB_ANALYSIS_RULEUTILS_H
#define TESA_LIB_ANALYSIS_RULEUTILS_H

#include "tesa/Analysis/BodySummary.h"
#include "tesa/Analysis/PropagationRules.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/Hashing.h"

#include <string>
#include <vector>

namespace tesa {
namespace propagation {

/// The full bit width of `value`'s elements (of the value itself if it is a
/// scalar); 32 where no encoding can describe the type.
uint8_t getFullBitsOf(mlir::Value value);

/// One entry per element, row-major.
std::vector<uint8_t> getElementEntries(const SparsityMap &map);

/// The canonical map of row-major per-element `entries` over `shape`.
SparsityMap mapFromElements(llvm::ArrayRef<int64_t> shape,
                            std::vector<uint8_t> entries);

/// A static strided slice of a tensor: where a smaller tensor's elements sit.
struct Slice {
  llvm::SmallVector<int64_t> offsets, sizes, strides;
};

/// The slice of an extract_slice or insert_slice; fails if it is dynamic.
mlir::FailureOr<Slice> getStaticSlice(mlir::OffsetSizeAndStrideOpInterface op);
/// The inputs of a tensor.concat as slices of its result.
llvm::SmallVector<Slice> getConcatPieces(mlir::tensor::ConcatOp op);
/// Where a tensor.pad's source sits in its result; fails if it is dynamic.
mlir::FailureOr<Slice> getPadSlice(mlir::tensor::PadOp op);

/// Calls `fn(tensorLinear, sliceLinear)` for every element of the strided
/// slice (`offsets`, `sizes`, `strides`) of a tensor of `shape`, in the
/// row-major order of the slice.
void forEachSliceElement(llvm::ArrayRef<int64_t> shape,
                         llvm::ArrayRef<int64_t> offsets,
                         llvm::ArrayRef<int64_t> sizes,
                         llvm::ArrayRef<int64_t> strides,
                         llvm::function_ref<void(int64_t, int64_t)> fn);

/// A hash of `op` and everything nested in it, with values numbered by
/// position so that structurally equal ops hash equally wherever they are.
llvm::hash_code hashOpStructure(mlir::Operation *op);

/// The structured-op rule (see PropagationRules.h) for `op` with payload
/// summary `summary`. Fails with a reason if the op is outside what the rule
/// handles (dynamic shapes, non-affine maps).
mlir::FailureOr<MapList>
forwardStructuredOp(mlir::linalg::LinalgOp op, const BodySummary &summary,
                    llvm::ArrayRef<const SparsityMap *> operandContent,
                    std::string &reason);
mlir::FailureOr<MapList>
backwardStructuredOp(mlir::linalg::LinalgOp op, const BodySummary &summary,
                     llvm::ArrayRef<const SparsityMap *> operandContent,
                     llvm::ArrayRef<const SparsityMap *> resultDemand,
                     std::string &reason);

/// The rules for non-structured ops with a hand-written rule. `handled` is
/// false if `op` has none.
mlir::FailureOr<MapList>
forwardTensorOp(mlir::Operation *op,
                llvm::ArrayRef<const SparsityMap *> operandContent,
                bool &handled, std::string &reason);
mlir::FailureOr<MapList>
backwardTensorOp(mlir::Operation *op,
                 llvm::ArrayRef<const SparsityMap *> operandContent,
                 llvm::ArrayRef<const SparsityMap *> resultDemand,
                 bool &handled, std::string &reason);

} // namespace propagation
} // namespace tesa

#endif // TESA_LIB_ANALYSIS_RULEUTILS_H
