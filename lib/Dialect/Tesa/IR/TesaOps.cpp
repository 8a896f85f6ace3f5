//===- TesaOps.cpp - tesa operations --------------------------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace tesa;

LogicalResult AnnotateOp::verify() {
  auto sourceType = cast<RankedTensorType>(getSource().getType());
  auto resultType = cast<RankedTensorType>(getResult().getType());
  if (sourceType.getShape() != resultType.getShape())
    return emitOpError("result shape ")
           << resultType << " differs from the operand shape " << sourceType;
  if (sourceType.getElementType() != resultType.getElementType())
    return emitOpError("result element type ")
           << resultType.getElementType()
           << " differs from the operand element type "
           << sourceType.getElementType();
  if (resultType.getEncoding() && !getSparsityEncoding(resultType))
    return emitOpError("result encoding must be a #tesa.sparsity attribute or "
                       "none, got ")
           << resultType.getEncoding();
  return success();
}

OpFoldResult AnnotateOp::fold(FoldAdaptor) {
  if (getSource().getType() == getResult().getType())
    return getSource();
  return {};
}

#define GET_OP_CLASSES
#include "tesa/Dialect/Tesa/IR/TesaOps.cpp.inc"
