//===- FuzzContext.h - What tesa's fuzz targets share -----------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// An MLIRContext with every dialect the lit tests use, recreated every few
// thousand inputs so that what it uniques (types, attributes, resources)
// does not grow without bound, and a count of the errors reported while
// one input is processed, with the diagnostics themselves discarded.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_TOOLS_TESA_FUZZ_FUZZCONTEXT_H
#define TESA_TOOLS_TESA_FUZZ_FUZZCONTEXT_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <memory>

namespace tesa::fuzz {

/// The context for the next input; a fresh one after `kInputsPerContext`.
mlir::MLIRContext &getContext();

/// Counts the errors reported in its context while it lives and drops every
/// diagnostic.
class ErrorCounter {
public:
  explicit ErrorCounter(mlir::MLIRContext &context);
  unsigned getErrors() const { return errors; }

private:
  unsigned errors = 0;
  mlir::ScopedDiagnosticHandler handler;
};

/// Stops the process as a finding: `what` is printed and libFuzzer saves
/// the input that led here.
[[noreturn]] void reportFinding(const char *what);

} // namespace tesa::fuzz

#endif // TESA_TOOLS_TESA_FUZZ_FUZZCONTEXT_H
