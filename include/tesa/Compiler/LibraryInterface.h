//===- LibraryInterface.h - C interface of a compiled library ---*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// What `tesa-compile` exports from a shared library: one C entry point per
// public function of the input module, a generated header that documents
// them, and a JSON description of the same signatures that the Python loader
// reads from the library itself.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_COMPILER_LIBRARYINTERFACE_H
#define TESA_COMPILER_LIBRARYINTERFACE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace tesa {

/// One argument or result of an entry point: a dense, row-major buffer.
struct BufferSignature {
  std::vector<int64_t> shape;
  /// Element type as numpy spells it: "float32", "float16", "int8", ...
  std::string dtype;
  /// The C type of one element: "float", "uint16_t", "int8_t", ...
  std::string cType;
  /// The size of one element in bytes.
  int64_t elementBytes = 0;
};

/// One public function of the module.
struct EntryPoint {
  std::string name;
  /// The symbol the compiled body has once the entry point owns `name`.
  std::string bodySymbol;
  std::vector<BufferSignature> arguments;
  std::vector<BufferSignature> results;
  /// Weight-packing entry points (see --tesa-outline-weight-packing): the
  /// role ("pack" or "packed"), the function they serve and which of its
  /// arguments they take; empty for others.
  std::string packingRole;
  std::string packingOf;
  std::vector<int64_t> argumentsOf;
};

/// Where and for what a library is compiled, recorded in its metadata.
struct LibraryDescription {
  std::string libraryName;
  std::string source;
  std::string target;
  std::string chip;
  std::string format;
  std::vector<EntryPoint> entryPoints;
};

/// Collects the public functions of `module` and checks that each can be
/// called through the C ABI (static shapes, supported element types, a C
/// identifier as name); emits a diagnostic at the offending function
/// otherwise.
mlir::LogicalResult collectEntryPoints(mlir::ModuleOp module,
                                       std::vector<EntryPoint> &entryPoints);

/// Renames each entry point's function to its body symbol, which frees the
/// name for the C entry point.
mlir::LogicalResult renameEntryPoints(mlir::ModuleOp module,
                                      std::vector<EntryPoint> &entryPoints);

/// Writes the header that declares the entry points and the runtime API.
void writeLibraryHeader(const LibraryDescription &library,
                        llvm::raw_ostream &os);

/// Writes the C source of the entry points: each binds the caller's stream,
/// calls the compiled body with memref descriptors, and reports the status.
void writeEntryPointSource(const LibraryDescription &library,
                           llvm::StringRef headerName, llvm::raw_ostream &os);

/// The JSON description that `tesa_library_metadata()` returns.
std::string getLibraryMetadata(const LibraryDescription &library);

} // namespace tesa

#endif // TESA_COMPILER_LIBRARYINTERFACE_H
