//===- TensorViews.cpp - Tensors read in place of their copies ------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/TensorViews.h"

#include "tesa/Codegen/StridedAccess.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/KernelRegions.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace tesa;

/// `view` of the tensor `expand` expands.
static StridedView expandView(tensor::ExpandShapeOp expand, StridedView view) {
  ArrayRef<int64_t> shape = expand.getResultType().getShape();
  SmallVector<int64_t> strides;
  for (auto [dimension, group] :
       llvm::enumerate(expand.getReassociationIndices())) {
    SmallVector<int64_t> sizes;
    for (int64_t expanded : group)
      sizes.push_back(shape[expanded]);
    llvm::append_range(strides,
                       getExpandedStrides(view.strides[dimension], sizes));
  }
  return {view.source, strides};
}

/// `view` of the tensor `collapse` collapses, if its groups are evenly
/// spaced there.
static std::optional<StridedView>
collapseView(tensor::CollapseShapeOp collapse, const StridedView &view) {
  ArrayRef<int64_t> shape = collapse.getSrcType().getShape();
  SmallVector<int64_t> strides;
  for (ReassociationIndices group : collapse.getReassociationIndices()) {
    SmallVector<int64_t> sizes, groupStrides;
    for (int64_t dimension : group) {
      sizes.push_back(shape[dimension]);
      groupStrides.push_back(view.strides[dimension]);
    }
    std::optional<int64_t> stride = getCollapsedStride(sizes, groupStrides);
    if (!stride)
      return std::nullopt;
    strides.push_back(*stride);
  }
  return StridedView{view.source, strides};
}

StridedView tesa::getStridedView(Value value, bool allowWidening,
                                 bool allowBroadcast) {
  auto viewOf = [&](Value source) {
    return getStridedView(source, allowWidening, allowBroadcast);
  };
  auto type = cast<RankedTensorType>(value.getType());
  StridedView itself{value, getRowMajorStrides(type.getShape())};
  if (!type.hasStaticShape())
    return itself;
  if (auto annotate = value.getDefiningOp<AnnotateOp>())
    return viewOf(annotate.getSource());
  if (auto expand = value.getDefiningOp<tensor::ExpandShapeOp>())
    return expandView(expand, viewOf(expand.getSrc()));
  if (auto collapse = value.getDefiningOp<tensor::CollapseShapeOp>())
    return collapseView(collapse, viewOf(collapse.getSrc())).value_or(itself);
  Value source;
  AffineMap map;
  if (matchCopy(value, source, map, allowBroadcast, allowWidening)) {
    StridedView view = viewOf(source);
    return {view.source, getLoopStrides(view, map)};
  }
  return itself;
}

SmallVector<int64_t> tesa::getLoopStrides(const StridedView &view,
                                          AffineMap map) {
  assert(map.isProjectedPermutation() &&
         map.getNumResults() == view.strides.size() &&
         "a projected permutation onto the view's dimensions");
  SmallVector<int64_t> strides(map.getNumDims(), 0);
  for (unsigned i = 0, e = map.getNumResults(); i < e; ++i)
    strides[map.getDimPosition(i)] += view.strides[i];
  return strides;
}
