//===- Passes.h - tesa transformation passes --------------------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_TRANSFORMS_PASSES_H
#define TESA_TRANSFORMS_PASSES_H

#include "tesa/Analysis/DecompositionPlan.h"
#include "tesa/Dialect/Tesa/IR/TesaDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace tesa {

#define GEN_PASS_DECL
#include "tesa/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "tesa/Transforms/Passes.h.inc"

/// What tesa-opt and tesa-compile run before anything else:
/// `--tesa-verify-encodings`, then `--tesa-canonicalize-encodings` on inline
/// maps, so that every pass sees checked encodings and equal sparsity prints
/// as the identical attribute.
void addEncodingChecks(mlir::OpPassManager &pm);

} // namespace tesa

#endif // TESA_TRANSFORMS_PASSES_H
