//===- LibraryInterface.cpp - C interface of a compiled library -----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Compiler/LibraryInterface.h"
#include "tesa/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace tesa;

/// The text of include/tesa/Runtime/Runtime.h, embedded by the build.
static const char kRuntimeHeader[] =
#include "RuntimeHeader.inc"
    ;

/// numpy's name and C's type for an element type, or None.
static std::optional<std::pair<StringRef, StringRef>>
getElementNames(Type type) {
  if (type.isF32())
    return std::make_pair("float32", "float");
  if (type.isF64())
    return std::make_pair("float64", "double");
  if (type.isF16())
    return std::make_pair("float16", "uint16_t");
  if (type.isSignlessInteger(8))
    return std::make_pair("int8", "int8_t");
  if (type.isSignlessInteger(16))
    return std::make_pair("int16", "int16_t");
  if (type.isSignlessInteger(32))
    return std::make_pair("int32", "int32_t");
  if (type.isSignlessInteger(64))
    return std::make_pair("int64", "int64_t");
  return std::nullopt;
}

static FailureOr<BufferSignature> getBufferSignature(func::FuncOp func,
                                                     Type type,
                                                     StringRef what) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return func.emitError() << what << " has type " << type
                            << "; an entry point needs tensors of static "
                               "shape";
  auto names = getElementNames(tensor.getElementType());
  if (!names)
    return func.emitError()
           << what << " has element type " << tensor.getElementType()
           << "; an entry point supports f32, f64, f16, i8, i16, i32 and i64";
  BufferSignature signature;
  signature.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  signature.dtype = names->first.str();
  signature.cType = names->second.str();
  signature.elementBytes = tensor.getElementTypeBitWidth() / 8;
  return signature;
}

static bool isCIdentifier(StringRef name) {
  if (name.empty() || llvm::isDigit(name.front()))
    return false;
  return llvm::all_of(name, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

LogicalResult
tesa::collectEntryPoints(ModuleOp module,
                         std::vector<EntryPoint> &entryPoints) {
  entryPoints.clear();
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func.isPublic() || func.isExternal())
      continue;
    EntryPoint entry;
    entry.name = func.getSymName().str();
    if (!isCIdentifier(entry.name) || StringRef(entry.name).starts_with("tesa_") ||
        StringRef(entry.name).starts_with("mgpu"))
      return func.emitError()
             << "'" << entry.name
             << "' cannot name a C entry point: use a C identifier that does "
                "not start with 'tesa_' or 'mgpu'";
    for (auto [index, type] : llvm::enumerate(func.getArgumentTypes())) {
      auto signature = getBufferSignature(
          func, type, "argument #" + std::to_string(index));
      if (failed(signature))
        return failure();
      entry.arguments.push_back(*signature);
    }
    for (auto [index, type] : llvm::enumerate(func.getResultTypes())) {
      auto signature = getBufferSignature(
          func, type, "result #" + std::to_string(index));
      if (failed(signature))
        return failure();
      entry.results.push_back(*signature);
    }
    for (auto [role, name] : {std::pair{"pack", kPackOfAttr},
                              std::pair{"packed", kPackedOfAttr}})
      if (auto of = func->getAttrOfType<StringAttr>(name)) {
        entry.packingRole = role;
        entry.packingOf = of.str();
      }
    if (auto arguments =
            func->getAttrOfType<DenseI64ArrayAttr>(kArgumentsOfAttr))
      entry.argumentsOf.assign(arguments.asArrayRef().begin(),
                               arguments.asArrayRef().end());
    entryPoints.push_back(std::move(entry));
  }
  if (entryPoints.empty())
    return module.emitError()
           << "the module has no public function to export";
  return success();
}

LogicalResult tesa::renameEntryPoints(ModuleOp module,
                                      std::vector<EntryPoint> &entryPoints) {
  SymbolTable symbols(module);
  for (EntryPoint &entry : entryPoints) {
    entry.bodySymbol = "__tesa_body_" + entry.name;
    auto func = symbols.lookup<func::FuncOp>(entry.name);
    if (failed(symbols.rename(func, StringAttr::get(module.getContext(),
                                                    entry.bodySymbol))))
      return failure();
  }
  return success();
}

static std::string formatShape(const BufferSignature &buffer) {
  if (buffer.shape.empty())
    return "scalar";
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(buffer.shape, os, "x");
  return text;
}

/// The C parameters of one entry point, without the stream.
static void writeParameters(const EntryPoint &entry, llvm::raw_ostream &os) {
  for (auto [index, arg] : llvm::enumerate(entry.arguments))
    os << ",\n    const " << arg.cType << " *arg" << index << " /* "
       << formatShape(arg) << " " << arg.dtype << " */";
  for (auto [index, result] : llvm::enumerate(entry.results))
    os << ",\n    " << result.cType << " *result" << index << " /* "
       << formatShape(result) << " " << result.dtype << " */";
}

static std::string getGuard(StringRef libraryName) {
  std::string guard = "TESA_LIBRARY_";
  for (char c : libraryName)
    guard += llvm::isAlnum(c) ? llvm::toUpper(c) : '_';
  return guard + "_H";
}

void tesa::writeLibraryHeader(const LibraryDescription &library,
                              llvm::raw_ostream &os) {
  std::string guard = getGuard(library.libraryName);
  os << "/* " << library.libraryName
     << ".h - generated by tesa-compile; do not edit.\n"
     << " *\n"
     << " * Source: " << library.source << "\n"
     << " * Target: " << library.target << ", chip " << library.chip
     << ", kernels as " << library.format << "\n"
     << " *\n"
     << " * Calling convention of every entry point below:\n"
     << " *  - every pointer is device memory holding a dense, row-major "
        "array\n"
     << " *    of exactly the shape and element type in its comment;\n"
     << " *  - results are written into caller-owned buffers (`result<i>`), "
        "which\n"
     << " *    must not overlap the arguments;\n"
     << " *  - work is queued on `stream` (NULL: the default stream) and the "
        "call\n"
     << " *    returns without waiting: call tesa_rt_synchronize(stream) "
        "before\n"
     << " *    reading results on the host;\n"
     << " *  - the return value is 0 on success; otherwise the reason is in\n"
     << " *    tesa_rt_last_error() on the calling thread.\n"
     << " */\n\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << kRuntimeHeader << "\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  for (const EntryPoint &entry : library.entryPoints) {
    os << "/* " << entry.name << ": " << entry.arguments.size()
       << " argument(s), " << entry.results.size() << " result(s). */\n"
       << "TESA_RT_EXPORT int " << entry.name
       << "(\n    tesa_rt_stream stream";
    writeParameters(entry, os);
    os << ");\n\n";
  }
  os << "/* A JSON description of the entry points above (names, shapes,\n"
     << " * element types) and of the target; the Python loader reads it. "
        "*/\n"
     << "TESA_RT_EXPORT const char *tesa_library_metadata(void);\n\n"
     << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
}

/// The parameters of a memref in the compiled body's calling convention:
/// allocated and aligned pointer, offset, sizes, strides.
static void writeDescriptorArguments(StringRef pointer,
                                     const BufferSignature &buffer,
                                     llvm::raw_ostream &os) {
  os << "(void *)" << pointer << ", (void *)" << pointer << ", 0";
  for (int64_t size : buffer.shape)
    os << ", " << size;
  int64_t stride = 1;
  SmallVector<int64_t> strides(buffer.shape.size());
  for (int64_t dim = buffer.shape.size() - 1; dim >= 0; --dim) {
    strides[dim] = stride;
    stride *= buffer.shape[dim];
  }
  for (int64_t value : strides)
    os << ", " << value;
}

static void writeDescriptorParameterTypes(const BufferSignature &buffer,
                                          bool first, llvm::raw_ostream &os) {
  os << (first ? "" : ", ") << "void *, void *, int64_t";
  for (size_t i = 0; i < 2 * buffer.shape.size(); ++i)
    os << ", int64_t";
}

static std::string quoteC(StringRef text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      quoted += '\\';
    if (c == '\n') {
      quoted += "\\n";
      continue;
    }
    quoted += c;
  }
  return quoted + "\"";
}

/// The byte size of a buffer, for tesa_rt_check_buffer.
static int64_t getByteSize(const BufferSignature &buffer) {
  int64_t bytes = buffer.elementBytes;
  for (int64_t size : buffer.shape)
    bytes *= size;
  return bytes;
}

/// `|| tesa_rt_check_buffer(...) != 0` for every buffer of `entry`, so that
/// a NULL, misaligned or (with TESA_CHECK_BUFFERS) too small buffer fails the
/// call before anything is launched.
static void writeBufferChecks(const EntryPoint &entry, llvm::raw_ostream &os) {
  auto check = [&](StringRef name, size_t index, const BufferSignature &buf) {
    std::string what = entry.name + ": " + name.str() +
                       std::to_string(index) + " (" + formatShape(buf) + " " +
                       buf.dtype + ")";
    os << " ||\n      tesa_rt_check_buffer(" << name << index << ", "
       << getByteSize(buf) << "u, " << quoteC(what) << ") != 0";
  };
  for (auto [index, arg] : llvm::enumerate(entry.arguments))
    check("arg", index, arg);
  for (auto [index, result] : llvm::enumerate(entry.results))
    check("result", index, result);
}

void tesa::writeEntryPointSource(const LibraryDescription &library,
                                 StringRef headerName, llvm::raw_ostream &os) {
  StringRef backend = library.target == "rocdl" ? "TESA_RT_BACKEND_HIP"
                                                : "TESA_RT_BACKEND_CUDA";
  os << "/* Entry points of " << library.libraryName
     << ", generated by tesa-compile. */\n"
     << "#include \"" << headerName << "\"\n\n";
  for (const EntryPoint &entry : library.entryPoints) {
    os << "void " << entry.bodySymbol << "(";
    bool first = true;
    for (const BufferSignature &buffer : entry.arguments) {
      writeDescriptorParameterTypes(buffer, first, os);
      first = false;
    }
    for (const BufferSignature &buffer : entry.results) {
      writeDescriptorParameterTypes(buffer, first, os);
      first = false;
    }
    os << ");\n\nint " << entry.name << "(\n    tesa_rt_stream stream";
    writeParameters(entry, os);
    os << ") {\n  if (tesa_rt_begin_call(" << backend << ", stream) != 0";
    writeBufferChecks(entry, os);
    os << ")\n    return tesa_rt_end_call();\n  " << entry.bodySymbol << "(";
    first = true;
    auto writeBuffer = [&](std::string pointer, const BufferSignature &buf) {
      os << (first ? "" : ",\n      ");
      first = false;
      writeDescriptorArguments(pointer, buf, os);
    };
    for (auto [index, arg] : llvm::enumerate(entry.arguments))
      writeBuffer("arg" + std::to_string(index), arg);
    for (auto [index, result] : llvm::enumerate(entry.results))
      writeBuffer("result" + std::to_string(index), result);
    os << ");\n  return tesa_rt_end_call();\n}\n\n";
  }
  os << "const char *tesa_library_metadata(void) {\n  return "
     << quoteC(getLibraryMetadata(library)) << ";\n}\n";
}

static llvm::json::Array toJSON(const std::vector<BufferSignature> &buffers) {
  llvm::json::Array array;
  for (const BufferSignature &buffer : buffers)
    array.push_back(llvm::json::Object{
        {"shape", llvm::json::Array(buffer.shape)},
        {"dtype", buffer.dtype}});
  return array;
}

std::string tesa::getLibraryMetadata(const LibraryDescription &library) {
  llvm::json::Array functions;
  for (const EntryPoint &entry : library.entryPoints) {
    llvm::json::Object function{{"name", entry.name},
                                {"arguments", toJSON(entry.arguments)},
                                {"results", toJSON(entry.results)}};
    if (!entry.packingRole.empty())
      function[entry.packingRole + "_of"] = llvm::json::Object{
          {"function", entry.packingOf},
          {"arguments", llvm::json::Array(entry.argumentsOf)}};
    functions.push_back(std::move(function));
  }
  llvm::json::Object metadata{{"tesa_abi", 1},
                              {"library", library.libraryName},
                              {"source", library.source},
                              {"target", library.target},
                              {"chip", library.chip},
                              {"format", library.format},
                              {"functions", std::move(functions)}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(metadata));
  return text;
}
