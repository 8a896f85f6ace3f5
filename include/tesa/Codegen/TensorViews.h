//===- TensorViews.h - Tensors read in place of their copies ----*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Operands that are copies of another tensor's elements in another order,
// or reshapes of one (torch-mlir splits a projection's 768 columns into 12
// heads, moves the heads first and merges them with the batch before each
// attention product), are read from that tensor through strides, so the
// copies are never made.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CODEGEN_TENSORVIEWS_H
#define TESA_CODEGEN_TENSORVIEWS_H

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"

namespace tesa {

/// A tensor's elements as elements of another tensor, `source`, stored
/// row-major: element (i_0, ..., i_n) of the tensor is element
/// sum_d i_d * strides[d] of `source`'s buffer.
struct StridedView {
  mlir::Value source;
  llvm::SmallVector<int64_t> strides;
};

/// `value` as a view of the tensor it is made from by annotations,
/// `tensor.expand_shape`, `tensor.collapse_shape` of dimensions that are
/// evenly spaced there, and copies in another order (see matchCopy) of the
/// same element type, or with `allowWidening` copies that widen it (for
/// readers that convert what they load), with `allowBroadcast` copies that
/// broadcast it (strides of 0); `value` itself, row-major, when it is none
/// of those.
StridedView getStridedView(mlir::Value value, bool allowWidening = false,
                           bool allowBroadcast = false);

/// The strides of the loops reading `view` through `map` (a projected
/// permutation from the loops to the viewed tensor's dimensions), as
/// getLoopStrides gives them for a tensor of its own.
llvm::SmallVector<int64_t> getLoopStrides(const StridedView &view,
                                          mlir::AffineMap map);

} // namespace tesa

#endif // TESA_CODEGEN_TENSORVIEWS_H
