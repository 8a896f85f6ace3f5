//===- Tesa.td - The whole tesa dialect --------------------*- tablegen -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Umbrella file for the dialect reference documentation.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_DIALECT_TESA_IR_TESA_TD
#define TESA_DIALECT_TESA_IR_TESA_TD

include "tesa/Dialect/Tesa/IR/TesaDialect.td"
include "tesa/Dialect/Tesa/IR/TesaEnums.td"
include "tesa/Dialect/Tesa/IR/TesaAttrs.td"
include "tesa/Dialect/Tesa/IR/TesaOps.td"

#endif // TESA_DIALECT_TESA_IR_TESA_TD
