//===- TesaDialect.h - The tesa dialect -------------------------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_DIALECT_TESA_IR_TESADIALECT_H
#define TESA_DIALECT_TESA_IR_TESADIALECT_H

#include "mlir/IR/Dialect.h"

#include "tesa/Dialect/Tesa/IR/TesaDialect.h.inc"

#endif // TESA_DIALECT_TESA_IR_TESADIALECT_H
