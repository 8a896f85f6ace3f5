//===- TesaDialect.cpp - The tesa dialect ---------------------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaDialect.h"
#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"

#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace tesa;

#include "tesa/Dialect/Tesa/IR/TesaDialect.cpp.inc"

void TesaDialect::initialize() {
  registerAttributes();
  registerBytecodeInterface();
  addOperations<
#define GET_OP_LIST
#include "tesa/Dialect/Tesa/IR/TesaOps.cpp.inc"
      >();
}
