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

#include "tesa/Dialect/Tesa/IR/TesaEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "tesa/Dialect/Tesa/IR/TesaAttrs.h.inc"

namespace tesa {

/// The `#tesa.sparsity` encoding of `type`, or null if it has none.
SparsityAttr getSparsityEncoding(mlir::Type type);

/// `type` with its encoding replaced by `encoding` (null drops it).
mlir::RankedTensorType withSparsityEncoding(mlir::RankedTensorType type,
                                            SparsityAttr encoding);

/// Checks every `#tesa.sparsity` encoding that `root` and the ops nested in
/// it mention (in result and block argument types, and in attributes such as
/// function signatures): the data of resource maps with `verifyMapData`, and
/// each tensor type with `verifyEncoding` once that data is known. Errors are
/// reported at the first op that mentions a bad attribute or type.
mlir::LogicalResult verifyEncodingsIn(mlir::Operation *root);

} // namespace tesa

#endif // TESA_DIALECT_TESA_IR_TESAATTRS_H
