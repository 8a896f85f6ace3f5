//===- StagedTile.cpp - Operand tiles staged in shared memory -------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/StagedTile.h"
#include "tesa/Codegen/WarpgroupMma.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace tesa;

std::optional<TileOrder> tesa::getStagedOrder(ArrayRef<int64_t> strides,
                                              int64_t rowLoop, int64_t kLoop) {
  if (strides[kLoop] == 1)
    return TileOrder::RowMajor;
  if (strides[rowLoop] == 1)
    return TileOrder::KMajor;
  return std::nullopt;
}

std::optional<std::string>
tesa::checkStagedOperand(ArrayRef<int64_t> strides, int64_t rowLoop,
                         int64_t kLoop, int64_t rows, int64_t k,
                         int64_t tileRows, int64_t depth,
                         int64_t elementBytes) {
  std::optional<TileOrder> order = getStagedOrder(strides, rowLoop, kLoop);
  if (!order)
    return "an operand is contiguous along neither its rows nor K";
  StagedTileShape shape{*order, tileRows, depth, elementBytes};
  int64_t copyElements = shape.getCopyElements();
  int64_t contiguousSize = *order == TileOrder::RowMajor ? k : rows;
  if (contiguousSize % copyElements != 0 ||
      shape.getInnerData() % copyElements != 0)
    return "an operand's contiguous dimension is not in 16-byte pieces";
  for (int64_t stride : strides)
    if (stride != 1 && stride % copyElements != 0)
      return "an operand's strides are not multiples of 16 bytes";
  return std::nullopt;
}

Value tesa::getDynamicSharedMemory(KernelEmitter &e) {
  auto workgroup = gpu::AddressSpaceAttr::get(
      e.b.getContext(), gpu::GPUDialect::getWorkgroupAddressSpace());
  return gpu::DynamicSharedMemoryOp::create(
      e.b, MemRefType::get({ShapedType::kDynamic}, e.b.getI8Type(),
                           MemRefLayoutAttrInterface(), workgroup));
}

Value tesa::makeStageRing(KernelEmitter &e, Value shared,
                          const StagedTileShape &shape, int64_t stages,
                          int64_t byteOffset) {
  return makeStageRing(e, shared, shape, stages, e.index(byteOffset));
}

Value tesa::getSharedAddress(KernelEmitter &e, Value shared) {
  return memref::ExtractAlignedPointerAsIndexOp::create(e.b, shared);
}

Value tesa::getAlignedOffset(KernelEmitter &e, Value shared,
                             int64_t alignment) {
  // (alignment - address % alignment) % alignment, as a mask.
  Value address = getSharedAddress(e, shared);
  Value negated = arith::SubIOp::create(e.b, e.index(0), address);
  return arith::AndIOp::create(e.b, negated, e.index(alignment - 1));
}

Value tesa::makeStageRing(KernelEmitter &e, Value shared,
                          const StagedTileShape &shape, int64_t stages,
                          Value byteOffset) {
  Type element =
      shape.elementBytes == 4 ? Type(e.b.getF32Type()) : e.b.getF16Type();
  auto type = MemRefType::get(
      {stages, shape.getOuter(), shape.getInner()}, element,
      MemRefLayoutAttrInterface(),
      cast<MemRefType>(shared.getType()).getMemorySpace());
  return memref::ViewOp::create(e.b, type, shared, byteOffset, ValueRange{})
      .getResult();
}

void tesa::copySliceAsync(KernelEmitter &e, const StagedOperand &operand,
                          Value rowStart, Value kStart, Value slot,
                          int64_t threads) {
  const StagedTileShape &shape = operand.shape;
  int64_t copyElements = shape.getCopyElements();
  int64_t chunksPerRow = shape.getInnerData() / copyElements;
  int64_t chunks = shape.getOuter() * chunksPerRow;
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(e.b.getContext());
  auto copyChunk = [&](Value chunk) {
    Value outer = e.div(chunk, chunksPerRow);
    Value inRow = e.rem(chunk, chunksPerRow);
    Value inner = e.affine(inRow, copyElements);
    bool rowMajor = shape.order == TileOrder::RowMajor;
    Value row = rowMajor ? outer : inner, k = rowMajor ? inner : outer;
    Value globalRow = e.add(rowStart, row);
    Value globalK = e.add(kStart, k);
    Value inBounds = e.both(e.less(globalRow, operand.rowCount),
                            e.less(globalK, operand.kCount));
    Value offset = e.add(
        operand.base,
        e.add(e.affine(globalRow, operand.strides[operand.rowLoop]),
              e.affine(globalK, operand.strides[operand.kLoop])));
    // Outside the operand: a copy of nothing from its start, which fills
    // the destination with zeros.
    offset = arith::SelectOp::create(e.b, inBounds, offset, e.index(0));
    Value stored = inner;
    if (shape.swizzled)
      stored = e.affine(emitSwizzledChunk(e, outer, inRow,
                                          kStagedCopyBytes * chunksPerRow),
                        copyElements);
    Value sourceElements = arith::SelectOp::create(
        e.b, inBounds, e.index(copyElements), e.index(0));
    nvgpu::DeviceAsyncCopyOp::create(
        e.b, tokenType, operand.ring, ValueRange{slot, outer, stored},
        operand.global, ValueRange{offset},
        e.b.getIndexAttr(copyElements), sourceElements,
        /*bypassL1=*/e.b.getUnitAttr());
  };
  for (int64_t first = 0; first < chunks; first += threads) {
    Value chunk = e.affine(e.threadId(), 1, first);
    // A last round with fewer copies than threads: the others skip it.
    if (first + threads > chunks)
      e.ifThen(e.less(chunk, chunks), [&] { copyChunk(chunk); });
    else
      copyChunk(chunk);
  }
}
