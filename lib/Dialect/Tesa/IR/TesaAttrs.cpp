//===- TesaAttrs.cpp - tesa attributes ------------------------------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Dialect/Tesa/IR/TesaAttrs.h"
#include "tesa/Dialect/Tesa/IR/TesaDialect.h"

#include "mlir/Bytecode/BytecodeImplementation.h"
#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>

using namespace mlir;
using namespace tesa;

#define GET_ATTRDEF_CLASSES
#include "tesa/Dialect/Tesa/IR/TesaAttrs.cpp.inc"

using EmitErrorFn = llvm::function_ref<InFlightDiagnostic()>;

void TesaDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "tesa/Dialect/Tesa/IR/TesaAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

SparsityAttr tesa::getSparsityEncoding(Type type) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  if (!tensorType)
    return {};
  return dyn_cast_or_null<SparsityAttr>(tensorType.getEncoding());
}

RankedTensorType tesa::withSparsityEncoding(RankedTensorType type,
                                            SparsityAttr encoding) {
  return RankedTensorType::get(type.getShape(), type.getElementType(),
                               encoding);
}

LogicalResult tesa::verifyEncodingsIn(Operation *root) {
  // Each distinct attribute and type is checked once, at the first op that
  // mentions it. The walk is post-order, so an encoding's data is checked
  // before the tensor types that use it.
  llvm::DenseSet<Attribute> checkedAttrs, badAttrs;
  llvm::DenseSet<Type> checkedTypes;
  bool failed = false;
  root->walk([&](Operation *op) {
    auto emitError = [&] { return op->emitError(); };
    AttrTypeWalker walker;
    walker.addWalk([&](SparsityAttr encoding) {
      if (checkedAttrs.insert(encoding).second &&
          mlir::failed(encoding.verifyMapData(emitError))) {
        badAttrs.insert(encoding);
        failed = true;
      }
    });
    walker.addWalk([&](RankedTensorType type) {
      SparsityAttr encoding = getSparsityEncoding(type);
      if (!encoding || badAttrs.contains(encoding) ||
          !checkedTypes.insert(type).second)
        return;
      if (mlir::failed(encoding.verifyEncoding(
              type.getShape(), type.getElementType(),
              [&] { return op->emitError() << "in type " << type << ": "; })))
        failed = true;
    });
    // The attribute means nothing elsewhere in a type; as a memory space
    // the LLVM lowerings fail on it after the fact.
    walker.addWalk([&](BaseMemRefType type) {
      if (isa_and_nonnull<SparsityAttr>(type.getMemorySpace()) &&
          checkedTypes.insert(type).second) {
        op->emitError() << "#tesa.sparsity is the encoding of ranked tensor "
                           "types, not a memory space: "
                        << type;
        failed = true;
      }
    });
    walker.walk(op->getAttrDictionary());
    for (Type type : op->getResultTypes())
      walker.walk(type);
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument argument : block.getArguments())
          walker.walk(argument.getType());
  });
  return failure(failed);
}

/// The bit width of an element type a sparsity encoding can apply to.
static std::optional<unsigned> getElementBitWidth(Type type) {
  if (type.isIntOrFloat())
    return type.getIntOrFloatBitWidth();
  if (isa<IndexType>(type))
    return 64;
  return std::nullopt;
}

static ArrayRef<uint8_t> asBytes(ArrayRef<char> data) {
  return ArrayRef(reinterpret_cast<const uint8_t *>(data.data()), data.size());
}

/// Checks that a map is an i8 `dense<...>` or `dense_resource<...>` tensor
/// with positive dimensions. Its entries are checked by `verifyEntries`.
static LogicalResult verifyMapKind(EmitErrorFn emitError, ElementsAttr map) {
  if (!isa<DenseIntOrFPElementsAttr, DenseResourceElementsAttr>(map))
    return emitError() << "#tesa.sparsity map must be a dense<...> or "
                          "dense_resource<...> elements attribute, got "
                       << map;
  auto type = dyn_cast<RankedTensorType>(map.getShapedType());
  // Signless only: a ui8 or si8 map is not read as i8 behind the user's
  // back.
  if (!type || !type.getElementType().isSignlessInteger(8))
    return emitError() << "#tesa.sparsity map must be a tensor of i8, got "
                       << map.getShapedType();
  if (!type.hasStaticShape() ||
      llvm::any_of(type.getShape(), [](int64_t d) { return d <= 0; }))
    return emitError() << "#tesa.sparsity map dimensions must be positive, got "
                       << type;
  // An encoding on the map's own type would be kept by some maps and
  // dropped by others, so that equal sparsity printed differently.
  if (type.getEncoding())
    return emitError() << "#tesa.sparsity map's type must carry no encoding, "
                          "got "
                       << type;
  return success();
}

/// Checks the raw entries of a map whose type is `mapType`.
static LogicalResult verifyEntries(EmitErrorFn emitError,
                                   RankedTensorType mapType,
                                   ArrayRef<uint8_t> entries) {
  if (static_cast<int64_t>(entries.size()) != mapType.getNumElements())
    return emitError() << "#tesa.sparsity map data has " << entries.size()
                       << " bytes, expected " << mapType.getNumElements()
                       << " for " << mapType;
  const uint8_t *bad = llvm::find_if(
      entries, [](uint8_t bits) { return !isAllowedBits(bits); });
  if (bad != entries.end())
    return emitError() << "#tesa.sparsity map entry " << (bad - entries.begin())
                       << " is " << static_cast<int>(static_cast<int8_t>(*bad))
                       << ", expected one of 0, 4, 8, 16, 32";
  return success();
}

/// Checks the one value of a splat map without expanding it (a splat may
/// stand for billions of entries).
static LogicalResult verifySplatEntry(EmitErrorFn emitError,
                                      DenseIntOrFPElementsAttr map) {
  auto bits = static_cast<uint8_t>(map.getSplatValue<int8_t>());
  if (isAllowedBits(bits))
    return success();
  return emitError() << "#tesa.sparsity map entries are "
                     << static_cast<int>(static_cast<int8_t>(bits))
                     << ", expected one of 0, 4, 8, 16, 32";
}

/// The splat map of `attr`, if its map is an inline splat.
static DenseIntOrFPElementsAttr getSplatMap(SparsityAttr attr) {
  auto dense = dyn_cast_or_null<DenseIntOrFPElementsAttr>(attr.getMap());
  return dense && dense.isSplat() ? dense : DenseIntOrFPElementsAttr();
}

//===----------------------------------------------------------------------===//
// SparsityAttr
//===----------------------------------------------------------------------===//

SparsityAttr SparsityAttr::get(MLIRContext *context,
                               const SparsityMap &sparsity) {
  SparsityMap canonical = sparsity.getCanonical();
  if (std::optional<uint8_t> bits = canonical.getUniformBits())
    return Base::get(context, *bits, ElementsAttr());
  auto mapType = RankedTensorType::get(canonical.getGridShape(),
                                       IntegerType::get(context, 8));
  ArrayRef<uint8_t> entries = canonical.getEntries();
  auto map = DenseElementsAttr::getFromRawBuffer(
      mapType, ArrayRef(reinterpret_cast<const char *>(entries.data()),
                        entries.size()));
  return Base::get(context, 0, cast<ElementsAttr>(map));
}

bool SparsityAttr::hasResourceMap() const {
  return isa_and_nonnull<DenseResourceElementsAttr>(getMap());
}

std::optional<ArrayRef<uint8_t>> SparsityAttr::getMapEntries() const {
  ElementsAttr map = getMap();
  if (!map)
    return ArrayRef<uint8_t>();
  if (auto dense = dyn_cast<DenseIntOrFPElementsAttr>(map))
    return asBytes(dense.getRawData());
  AsmResourceBlob *blob =
      cast<DenseResourceElementsAttr>(map).getRawHandle().getBlob();
  if (!blob)
    return std::nullopt;
  return asBytes(blob->getData());
}

SmallVector<int64_t> SparsityAttr::getGridShape(unsigned rank) const {
  if (isUniform())
    return SmallVector<int64_t>(rank, 1);
  return llvm::to_vector(getMap().getShapedType().getShape());
}

std::optional<unsigned> SparsityAttr::getMaxBits() const {
  if (isUniform())
    return getUniformBits();
  std::optional<ArrayRef<uint8_t>> entries = getMapEntries();
  if (!entries || entries->empty())
    return std::nullopt;
  return *llvm::max_element(*entries);
}

LogicalResult SparsityAttr::verify(EmitErrorFn emitError, unsigned uniformBits,
                                   ElementsAttr map) {
  if (!map) {
    if (!isAllowedBits(uniformBits))
      return emitError() << "#tesa.sparsity bits = " << uniformBits
                         << " is not one of 0, 4, 8, 16, 32";
    return success();
  }
  if (uniformBits != 0)
    return emitError() << "#tesa.sparsity takes either bits or a map, not both";
  if (failed(verifyMapKind(emitError, map)))
    return failure();
  auto mapType = cast<RankedTensorType>(map.getShapedType());
  auto dense = dyn_cast<DenseIntOrFPElementsAttr>(map);
  if (!dense) {
    // The data of a resource map is parsed after the types that use it; it
    // is checked here when already present, else by verifyMapData.
    AsmResourceBlob *blob =
        cast<DenseResourceElementsAttr>(map).getRawHandle().getBlob();
    if (!blob)
      return success();
    return verifyEntries(emitError, mapType, asBytes(blob->getData()));
  }
  if (dense.isSplat())
    return verifySplatEntry(emitError, dense);
  return verifyEntries(emitError, mapType, asBytes(dense.getRawData()));
}

LogicalResult SparsityAttr::verifyEncoding(ArrayRef<int64_t> shape,
                                           Type elementType,
                                           EmitErrorFn emitError) const {
  // A tensor type whose element type failed to parse reaches here with none.
  if (!elementType)
    return emitError() << "#tesa.sparsity needs an element type";
  std::optional<unsigned> width = getElementBitWidth(elementType);
  if (!width)
    return emitError() << "#tesa.sparsity needs integer, index or "
                          "floating-point elements, got "
                       << elementType;
  if (!isUniform()) {
    ArrayRef<int64_t> grid = getMap().getShapedType().getShape();
    if (grid.size() != shape.size())
      return emitError() << "#tesa.sparsity map rank " << grid.size()
                         << " does not match tensor rank " << shape.size();
    for (auto [d, dims] : llvm::enumerate(llvm::zip_equal(shape, grid))) {
      auto [size, cells] = dims;
      if (ShapedType::isDynamic(size) && cells != 1)
        return emitError() << "#tesa.sparsity map dimension " << d << " is "
                           << cells << " but tensor dimension " << d
                           << " is dynamic; it must be 1";
      if (!ShapedType::isDynamic(size) && size % cells != 0)
        return emitError() << "#tesa.sparsity map dimension " << d << " ("
                           << cells << ") does not divide tensor dimension "
                           << d << " (" << size << ")";
    }
  }
  // A resource map's data may not be parsed yet; verifyMapData checks it.
  std::optional<unsigned> maxBits = getMaxBits();
  if (maxBits && *maxBits > *width)
    return emitError() << "#tesa.sparsity keeps elements at " << *maxBits
                       << " bits, wider than the element type " << elementType;
  return success();
}

LogicalResult SparsityAttr::verifyMapData(EmitErrorFn emitError) const {
  if (!hasResourceMap())
    return success();
  std::optional<ArrayRef<uint8_t>> entries = getMapEntries();
  if (!entries)
    return emitError() << "#tesa.sparsity map dense_resource<"
                       << cast<DenseResourceElementsAttr>(getMap())
                              .getRawHandle()
                              .getKey()
                       << "> has no data: the key is not defined in the "
                          "file's dialect_resources section";
  return verifyEntries(emitError,
                       cast<RankedTensorType>(getMap().getShapedType()),
                       *entries);
}

/// The value of `attr` over `shape`, or an error message.
static llvm::Expected<SparsityMap> toSparsityMap(SparsityAttr attr,
                                                 ArrayRef<int64_t> shape) {
  std::optional<ArrayRef<uint8_t>> entries = attr.getMapEntries();
  if (!entries)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "the map's dense_resource has no data");
  std::vector<uint8_t> values(entries->begin(), entries->end());
  SmallVector<int64_t> grid = attr.getGridShape(shape.size());
  if (attr.isUniform()) {
    values.assign(1, attr.getUniformBits());
  } else if (DenseIntOrFPElementsAttr splat = getSplatMap(attr)) {
    // Uniform however it is written; its written shape was checked against
    // the tensor by verifyEncoding.
    values.assign(1, static_cast<uint8_t>(splat.getSplatValue<int8_t>()));
    grid.assign(grid.size(), 1);
  }
  return SparsityMap::get(shape, grid, std::move(values));
}

FailureOr<SparsityMap>
SparsityAttr::getSparsityMap(ArrayRef<int64_t> shape,
                             EmitErrorFn emitError) const {
  llvm::Expected<SparsityMap> map = toSparsityMap(*this, shape);
  if (!map)
    return emitError() << "#tesa.sparsity: " << llvm::toString(map.takeError());
  return std::move(*map);
}

FailureOr<SparsityAttr> SparsityAttr::getCanonical() const {
  if (isUniform())
    return *this;
  llvm::Expected<SparsityMap> map =
      toSparsityMap(*this, getMap().getShapedType().getShape());
  if (!map) {
    llvm::consumeError(map.takeError());
    return failure();
  }
  return SparsityAttr::get(getContext(), *map);
}

//===----------------------------------------------------------------------===//
// Assembly format
//===----------------------------------------------------------------------===//

Attribute SparsityAttr::parse(AsmParser &parser, Type) {
  MLIRContext *context = parser.getContext();
  if (parser.parseLess())
    return {};
  SMLoc keyLoc = parser.getCurrentLocation();
  StringRef key;
  if (failed(parser.parseOptionalKeyword(&key, {"bits", "map"}))) {
    parser.emitError(keyLoc,
                     "expected 'bits = N' or 'map = <i8 elements attribute>' "
                     "in #tesa.sparsity");
    return {};
  }
  if (parser.parseEqual())
    return {};
  SMLoc valueLoc = parser.getCurrentLocation();
  auto emitError = [&] { return parser.emitError(valueLoc); };

  if (key == "bits") {
    int64_t bits = 0;
    if (parser.parseInteger(bits) || parser.parseGreater())
      return {};
    if (!isAllowedBits(bits)) {
      emitError() << "#tesa.sparsity bits = " << bits
                  << " is not one of 0, 4, 8, 16, 32";
      return {};
    }
    return SparsityAttr::get(context, bits, ElementsAttr());
  }

  Attribute value;
  if (parser.parseAttribute(value) || parser.parseGreater())
    return {};
  auto map = dyn_cast<ElementsAttr>(value);
  if (!map) {
    emitError() << "#tesa.sparsity map must be an i8 elements attribute, got "
                << value;
    return {};
  }
  // Kept as written: its shape is checked against the tensor's by
  // verifyEncoding, and --tesa-canonicalize-encodings (which tesa-opt runs
  // first) rewrites it into canonical form.
  return SparsityAttr::getChecked(emitError, context, 0, map);
}

void SparsityAttr::print(AsmPrinter &printer) const {
  printer << "<";
  if (isUniform()) {
    printer << "bits = " << getUniformBits();
  } else {
    printer << "map = ";
    printer.printAttribute(getMap());
  }
  printer << ">";
}

//===----------------------------------------------------------------------===//
// Bytecode
//===----------------------------------------------------------------------===//
//
// `#tesa.sparsity` is written to bytecode as its bit width and its map
// attribute, so that a `dense_resource` map keeps its resource handle (and
// with it the blob in the bytecode's resource section); the textual fallback
// would lose the blob.

namespace {
/// Attribute codes in a tesa bytecode stream.
enum AttributeCode : uint64_t { kSparsityAttr = 0 };

struct TesaBytecodeInterface : public BytecodeDialectInterface {
  explicit TesaBytecodeInterface(Dialect *dialect)
      : BytecodeDialectInterface(dialect) {}

  Attribute readAttribute(DialectBytecodeReader &reader) const override {
    uint64_t code = 0, bits = 0;
    if (failed(reader.readVarInt(code)))
      return {};
    if (code != kSparsityAttr) {
      reader.emitError() << "unknown tesa attribute code " << code;
      return {};
    }
    ElementsAttr map;
    if (failed(reader.readVarInt(bits)) ||
        failed(reader.readOptionalAttribute(map)))
      return {};
    return SparsityAttr::getChecked([&] { return reader.emitError(); },
                                    reader.getContext(), bits, map);
  }

  LogicalResult writeAttribute(Attribute attr,
                               DialectBytecodeWriter &writer) const override {
    auto sparsity = dyn_cast<SparsityAttr>(attr);
    if (!sparsity)
      return failure();
    writer.writeVarInt(kSparsityAttr);
    writer.writeVarInt(sparsity.getUniformBits());
    writer.writeOptionalAttribute(sparsity.getMap());
    return success();
  }
};
} // namespace

void TesaDialect::registerBytecodeInterface() {
  addInterfaces<TesaBytecodeInterface>();
}
