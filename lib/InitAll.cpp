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
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVM/ROCDL/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void tesa::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<tesa::TesaDialect>();
}

void tesa::registerAllDialectsAndTranslations(
    mlir::DialectRegistry &registry) {
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::registerAllGPUToLLVMIRTranslations(registry);
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  mlir::ROCDL::registerROCDLTargetInterfaceExternalModels(registry);
  tesa::registerAllDialects(registry);
}

void tesa::registerAllPasses() {
  tesa::registerTesaPasses();
  tesa::registerTesaConversionPasses();
  tesa::registerPipelines();
}
