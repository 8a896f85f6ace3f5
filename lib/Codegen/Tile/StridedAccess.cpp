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

llvm::SmallVector<int64_t>
tesa::getExpandedStrides(int64_t stride, llvm::ArrayRef<int64_t> sizes) {
  llvm::SmallVector<int64_t> strides = getRowMajorStrides(sizes);
  for (int64_t &each : strides)
    each *= stride;
  return strides;
}

std::optional<int64_t>
tesa::getCollapsedStride(llvm::ArrayRef<int64_t> sizes,
                         llvm::ArrayRef<int64_t> strides) {
  assert(sizes.size() == strides.size() && "a stride per dimension");
  std::optional<int64_t> inner;
  int64_t innerSize = 1;
  std::optional<int64_t> collapsed;
  for (int64_t i = int64_t(sizes.size()) - 1; i >= 0; --i) {
    if (sizes[i] == 1)
      continue;
    if (inner && strides[i] != *inner * innerSize)
      return std::nullopt;
    if (!collapsed)
      collapsed = strides[i];
    inner = strides[i];
    innerSize = sizes[i];
  }
  // Only unit dimensions: any stride serves.
  return collapsed.value_or(1);
}
