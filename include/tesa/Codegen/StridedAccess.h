//===- StridedAccess.h - Tensor elements as linear offsets ------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The index math of the tile layer: where the element that a loop nest's
// iteration reads lies in a row-major buffer. Every kernel family reads and
// writes its operands through these strides, so that transposes and
// broadcasts folded into indexing maps cost no copy.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CODEGEN_STRIDEDACCESS_H
#define TESA_CODEGEN_STRIDEDACCESS_H

#include "mlir/IR/AffineMap.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace tesa {

/// The row-major strides of a tensor of `shape`, in elements.
llvm::SmallVector<int64_t> getRowMajorStrides(llvm::ArrayRef<int64_t> shape);

/// How far apart, in elements of a row-major buffer of `shape`, the elements
/// read by neighbouring iterations of each loop are, for an operand read
/// through `map` (a projected permutation from loops to the tensor's
/// dimensions): entry d is the stride of loop d, 0 for a loop the map does
/// not use (a broadcast). The offset of iteration (i_0, ..., i_n) is
/// sum_d i_d * stride_d.
llvm::SmallVector<int64_t> getLoopStrides(mlir::AffineMap map,
                                          llvm::ArrayRef<int64_t> shape);

/// The strides of the dimensions one dimension of stride `stride` expands
/// into, of sizes `sizes` (row-major within it).
llvm::SmallVector<int64_t> getExpandedStrides(int64_t stride,
                                              llvm::ArrayRef<int64_t> sizes);

/// The stride of the one dimension that dimensions of `sizes` and `strides`
/// collapse into, if their elements are evenly spaced in row-major order
/// (each non-unit dimension's stride is the next non-unit one's times its
/// size); none otherwise. Dimensions of size 1 do not matter.
std::optional<int64_t> getCollapsedStride(llvm::ArrayRef<int64_t> sizes,
                                          llvm::ArrayRef<int64_t> strides);

/// The coordinates, in the dimensions of the tensor `map` reads, of the
/// iteration `loops` (a projected permutation picks them).
template <typename T>
llvm::SmallVector<T> applyProjectedPermutation(mlir::AffineMap map,
                                               llvm::ArrayRef<T> loops) {
  llvm::SmallVector<T> result;
  for (unsigned i = 0, e = map.getNumResults(); i < e; ++i)
    result.push_back(loops[map.getDimPosition(i)]);
  return result;
}

/// The iteration that writes or reads the coordinates `coordinates` through
/// the permutation `map`: its inverse applied.
template <typename T>
llvm::SmallVector<T> invertPermutation(mlir::AffineMap map,
                                       llvm::ArrayRef<T> coordinates) {
  llvm::SmallVector<T> loops(coordinates.size());
  for (unsigned i = 0, e = map.getNumResults(); i < e; ++i)
    loops[map.getDimPosition(i)] = coordinates[i];
  return loops;
}

} // namespace tesa

#endif // TESA_CODEGEN_STRIDEDACCESS_H
