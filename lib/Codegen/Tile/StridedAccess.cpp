//===- StridedAccess.cpp - Tensor elements as linear offsets --------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/StridedAccess.h"

#include <cassert>

using namespace mlir;

llvm::SmallVector<int64_t>
tesa::getRowMajorStrides(llvm::ArrayRef<int64_t> shape) {
  llvm::SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

llvm::SmallVector<int64_t>
tesa::getLoopStrides(AffineMap map, llvm::ArrayRef<int64_t> shape) {
  assert(map.isProjectedPermutation() && map.getNumResults() == shape.size() &&
         "a projected permutation onto the tensor's dimensions");
  llvm::SmallVector<int64_t> tensorStrides = getRowMajorStrides(shape);
  llvm::SmallVector<int64_t> strides(map.getNumDims(), 0);
  for (unsigned i = 0, e = map.getNumResults(); i < e; ++i)
    strides[map.getDimPosition(i)] += tensorStrides[i];
  return strides;
}
