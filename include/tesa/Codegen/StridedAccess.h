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
