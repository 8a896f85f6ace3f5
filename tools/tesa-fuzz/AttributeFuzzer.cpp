//===- AttributeFuzzer.cpp - Fuzzing the #tesa.sparsity parser ------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// libFuzzer target. An input is the text of a type, such as
//
//   tensor<64x64xf32, #tesa.sparsity<map = dense<[[0, 8], [32, 0]]> :
//   tensor<2x2xi8>>>
//
// It is parsed (the encoding's parser and verifier run there). A tensor
// type with an inline `#tesa.sparsity` encoding must then print as text that
// parses back to the same type (a `dense_resource` map would name a new
// blob), and its canonical encoding must describe the same map as the
// written one. Errors are expected; crashes, hangs and broken
// round trips are findings.
//
//===----------------------------------------------------------------------===//

#include "FuzzContext.h"

#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/BuiltinTypes.h"

#include <cstdint>
#include <string>

using namespace mlir;

/// Checks what a parsed encoded tensor type must satisfy.
static void checkEncodedType(RankedTensorType type,
                             tesa::SparsityAttr encoding) {
  MLIRContext *context = type.getContext();
  std::string printed;
  llvm::raw_string_ostream(printed) << type;
  if (!encoding.hasResourceMap() && parseType(printed, context) != type)
    tesa::fuzz::reportFinding("an encoded type does not survive printing "
                              "and parsing");
  if (!encoding.isUniform()) {
    ArrayRef<int64_t> grid = encoding.getMap().getShapedType().getShape();
    for (auto [size, cells] : llvm::zip(type.getShape(), grid))
      if (!ShapedType::isDynamic(size) && size % cells != 0)
        tesa::fuzz::reportFinding("a map whose shape does not divide the "
                                  "tensor's is accepted");
  }
  if (!type.hasStaticShape())
    return;
  auto noDiagnostic = [&] { return emitError(UnknownLoc::get(context)); };
  FailureOr<tesa::SparsityMap> map =
      encoding.getSparsityMap(type.getShape(), noDiagnostic);
  FailureOr<tesa::SparsityAttr> canonical = encoding.getCanonical();
  if (failed(map) || failed(canonical))
    return;
  FailureOr<tesa::SparsityMap> canonicalMap =
      canonical->getSparsityMap(type.getShape(), noDiagnostic);
  if (failed(canonicalMap) ||
      canonicalMap->getCanonical() != map->getCanonical())
    tesa::fuzz::reportFinding("the canonical encoding describes another map");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext &context = tesa::fuzz::getContext();
  tesa::fuzz::ErrorCounter errors(context);
  std::string text(reinterpret_cast<const char *>(data), size);
  Type type = parseType(text, &context);
  auto tensor = dyn_cast_or_null<RankedTensorType>(type);
  if (!tensor)
    return 0;
  if (auto encoding =
          dyn_cast_or_null<tesa::SparsityAttr>(tensor.getEncoding()))
    checkEncodedType(tensor, encoding);
  return 0;
}
