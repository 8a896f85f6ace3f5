//===- TesaAttrs.h - tesa attributes ----------------------------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_DIALECT_TESA_IR_TESAATTRS_H
#define TESA_DIALECT_TESA_IR_TESAATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TensorEncoding.h"
#include "tesa/Support/SparsityMap.h"

#define GET_ATTRDEF_CLASSES
#include "tesa/Dialect/Tesa/IR/TesaAttrs.h.inc"

namespace tesa {

/// The `#tesa.sparsity` encoding of `type`, or null if it has none.
SparsityAttr getSparsityEncoding(mlir::Type type);

/// `type` with its encoding replaced by `encoding` (null drops it).
mlir::RankedTensorType withSparsityEncoding(mlir::RankedTensorType type,
                                            SparsityAttr encoding);

/// Checks every `#tesa.sparsity` encoding in the types that `root` and the
/// ops nested in it mention (results, block arguments, type attributes such
/// as function signatures), resource map data included, with
/// `verifyEncodingAndData`. Errors are reported at the first op that
/// mentions a bad type.
mlir::LogicalResult verifyEncodingsIn(mlir::Operation *root);

} // namespace tesa

#endif // TESA_DIALECT_TESA_IR_TESAATTRS_H
