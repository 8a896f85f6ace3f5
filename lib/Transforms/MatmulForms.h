//===- MatmulForms.h - Sparse products rewritten as matmuls -----*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The decomposition splits `linalg.matmul`. Batched products and
// convolutions with a sparse operand are first rewritten into matmuls whose
// operands carry the sparsity of the slices they read. Private to the
// Decompose pass.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_LIB_TRANSFORMS_MATMULFORMS_H
#define TESA_LIB_TRANSFORMS_MATMULFORMS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <string>

namespace tesa {

/// Why the operands or results of the linalg op `op` rule out decomposing it
/// (buffers, dynamic shapes, elements other than f32, or with `allowF16`
/// other than all f32, all f16, or f16 operands with f32 accumulators and
/// results), or an empty string.
std::string getUnsupportedOperandReason(mlir::linalg::LinalgOp op,
                                        bool allowF16 = false);

/// Most batches a batched product is split into; above it the product is
/// computed densely (one set of kernels per batch would be too much code).
constexpr int64_t kMaxSplitBatches = 64;

/// Rewrites `op` (default maps, static shapes) as one `linalg.matmul` per
/// batch on `tensor.extract_slice`s, results put together with
/// `tensor.insert_slice`, and returns the matmuls; or, with `reason` set,
/// leaves it alone.
llvm::SmallVector<mlir::linalg::MatmulOp>
splitBatchMatmul(mlir::linalg::BatchMatmulOp op, std::string &reason);

/// Rewrites a 2-D convolution (`linalg.conv_2d_nhwc_hwcf` or
/// `linalg.conv_2d_nchw_fchw`, static shapes) as an explicit GEMM: the
/// input's patches (im2col, a `linalg.generic` copy) times the filter
/// flattened to a matrix, and returns the matmul; or, with `reason` set,
/// leaves it alone. Element types are f32, or with `allowF16` also f16, or
/// f16 operands into f32.
mlir::linalg::MatmulOp convolutionAsMatmul(mlir::linalg::LinalgOp op,
                                           std::string &reason,
                                           bool allowF16 = false);

} // namespace tesa

#endif // TESA_LIB_TRANSFORMS_MATMULFORMS_H
