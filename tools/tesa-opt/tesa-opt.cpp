//===- tesa-opt.cpp - The tesa optimizer driver ---------------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// `mlir-opt` with every upstream dialect, pass, translation and GPU target
// registered, plus tesa's own. Before the requested pipeline it always runs
// `--tesa-verify-encodings`, which checks the `dense_resource` data of
// `#tesa.sparsity` maps (parsed after the types that use it), and
// `--tesa-canonicalize-encodings` on inline maps (tesa::addEncodingChecks).
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaDialect.h"
#include "tesa/InitAll.h"
#include "tesa/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>

using namespace mlir;

/// Errors reported in any context. MLIR 22's parser can report an error and
/// still return the module (a `.` right after a dialect attribute in a
/// type, an unterminated string after an attribute alias), after which
/// mlir-opt exits 0; tesa-opt exits 1 whenever an error was reported.
static std::atomic<unsigned> reportedErrors{0};

/// Counts the errors of every context that loads the tesa dialect, from
/// then on: the handler is registered after the tool's own and passes every
/// diagnostic on to it.
static void countErrors(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, tesa::TesaDialect *) {
    context->getDiagEngine().registerHandler([](Diagnostic &diagnostic) {
      if (diagnostic.getSeverity() == DiagnosticSeverity::Error)
        ++reportedErrors;
      return failure();
    });
  });
}

static void registerEverything(DialectRegistry &registry) {
  mlir::registerAllPasses();
  tesa::registerAllPasses();
  tesa::registerAllDialectsAndTranslations(registry);
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  DialectRegistry registry;
  registerEverything(registry);
  auto [inputFilename, outputFilename] = registerAndParseCLIOptions(
      argc, argv, "tesa optimizer driver\n", registry);

  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();
  if (config.shouldShowDialects()) {
    llvm::outs() << "Available Dialects: ";
    llvm::interleaveComma(registry.getDialectNames(), llvm::outs());
    llvm::outs() << "\n";
    return EXIT_SUCCESS;
  }
  if (config.shouldListPasses()) {
    printRegisteredPasses();
    return EXIT_SUCCESS;
  }

  // Check encodings, resource-backed ones included, and make inline maps
  // canonical before anything reads them.
  MlirOptMainConfig requested = config;
  config.setPassPipelineSetupFn([requested](PassManager &pm) {
    tesa::addEncodingChecks(pm);
    return requested.setupPassPipeline(pm);
  });

  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> input =
      openInputFile(inputFilename, &errorMessage);
  if (!input) {
    llvm::errs() << "tesa-opt: " << errorMessage << "\n";
    return EXIT_FAILURE;
  }
  std::unique_ptr<llvm::ToolOutputFile> output =
      openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << "tesa-opt: " << errorMessage << "\n";
    return EXIT_FAILURE;
  }
  // Expected errors are what -verify-diagnostics checks.
  if (!config.shouldVerifyDiagnostics())
    countErrors(registry);
  if (failed(MlirOptMain(output->os(), std::move(input), registry, config)) ||
      reportedErrors > 0)
    return EXIT_FAILURE;
  output->keep();
  return EXIT_SUCCESS;
}
