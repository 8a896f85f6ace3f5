//===- FuzzContext.cpp - What tesa's fuzz targets share -------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "FuzzContext.h"

#include "tesa/Dialect/Tesa/IR/TesaDialect.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;

/// Inputs one context serves before it is replaced.
static constexpr unsigned kInputsPerContext = 2000;

MLIRContext &tesa::fuzz::getContext() {
  static std::unique_ptr<MLIRContext> context;
  static unsigned served = 0;
  if (!context || ++served == kInputsPerContext) {
    DialectRegistry registry;
    registerAllDialects(registry);
    registerAllExtensions(registry);
    registry.insert<tesa::TesaDialect>();
    context.reset();
    context = std::make_unique<MLIRContext>(registry,
                                            MLIRContext::Threading::DISABLED);
    context->loadAllAvailableDialects();
    served = 0;
  }
  return *context;
}

tesa::fuzz::ErrorCounter::ErrorCounter(MLIRContext &context)
    : handler(&context, [this](Diagnostic &diagnostic) {
        if (diagnostic.getSeverity() == DiagnosticSeverity::Error)
          ++errors;
        return success();
      }) {}

void tesa::fuzz::reportFinding(const char *what) {
  llvm::errs() << "tesa-fuzz finding: " << what << "\n";
  std::abort();
}
