//===- HostObject.h - Host object file from the lowered module --*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_COMPILER_HOSTOBJECT_H
#define TESA_COMPILER_HOSTOBJECT_H

#include "mlir/IR/BuiltinOps.h"

namespace tesa {

/// Translates `module` (host code in the LLVM dialect, kernels as
/// `gpu.binary`) to LLVM IR and writes a position-independent object file
/// for the host to `path`. The kernels are embedded as constant data; global
/// constructors register them with the runtime when the library is loaded.
mlir::LogicalResult emitHostObject(mlir::ModuleOp module,
                                   llvm::StringRef path);

} // namespace tesa

#endif // TESA_COMPILER_HOSTOBJECT_H
