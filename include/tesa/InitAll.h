//===- InitAll.h - Register everything tesa provides ------------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Entry points for tools that embed tesa: call `registerAllDialects` on the
// registry the tool parses with, and `registerAllPasses` once at start-up.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_INITALL_H
#define TESA_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace tesa {

/// Adds the tesa dialect, and every dialect its passes create ops of, to
/// `registry`.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Adds what tesa's tools parse and lower with: every upstream dialect and
/// extension, the LLVM IR translations (GPU included), the NVVM and ROCDL
/// target models, and the tesa dialect.
void registerAllDialectsAndTranslations(mlir::DialectRegistry &registry);

/// Registers every tesa pass and pass pipeline with MLIR's global pass
/// registry, so that `--tesa-...` options and textual pipelines find them.
void registerAllPasses();

} // namespace tesa

#endif // TESA_INITALL_H
