//===- InitAll.cpp - Register everything tesa provides --------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/InitAll.h"
#include "tesa/Dialect/Tesa/IR/TesaDialect.h"
#include "tesa/Conversion/Passes.h"
#include "tesa/Pipelines/Pipelines.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"

void tesa::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<tesa::TesaDialect>();
}

void tesa::registerAllPasses() {
  tesa::registerTesaPasses();
  tesa::registerTesaConversionPasses();
  tesa::registerPipelines();
}
