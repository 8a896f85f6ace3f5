//===- Passes.h - tesa conversion passes ------------------------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CONVERSION_PASSES_H
#define TESA_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "tesa/Codegen/BlockClusters.h"
#include "tesa/Target/ChipDescription.h"

namespace tesa {

/// Attributes that OutlineWeightPacking puts on the entry points it adds:
/// the function they pack for or replace, and which of its arguments they
/// take (in order; `<f>_packed` takes the packed buffers after them).
constexpr llvm::StringLiteral kPackOfAttr = "tesa.pack_of";
constexpr llvm::StringLiteral kPackedOfAttr = "tesa.packed_of";
constexpr llvm::StringLiteral kArgumentsOfAttr = "tesa.arguments_of";

/// The name of the kernel a launch at `loc` in `functionName` computes (see
/// --tesa-name-kernels), or an empty string where `loc` names nothing.
std::string getKernelNameFromLocation(mlir::Location loc,
                                      llvm::StringRef functionName);

#define GEN_PASS_DECL
#include "tesa/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "tesa/Conversion/Passes.h.inc"

} // namespace tesa

#endif // TESA_CONVERSION_PASSES_H
