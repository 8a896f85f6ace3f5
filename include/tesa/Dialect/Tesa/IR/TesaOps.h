//===- TesaOps.h - tesa operations ------------------------------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_DIALECT_TESA_IR_TESAOPS_H
#define TESA_DIALECT_TESA_IR_TESAOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"
#include "tesa/Dialect/Tesa/IR/TesaDialect.h"

#define GET_OP_CLASSES
#include "tesa/Dialect/Tesa/IR/TesaOps.h.inc"

namespace tesa {
/// `value` seen through the `tesa.annotate`s that make it: they only assert
/// facts about the value they pass on.
mlir::Value skipAnnotations(mlir::Value value);
} // namespace tesa

#endif // TESA_DIALECT_TESA_IR_TESAOPS_H
