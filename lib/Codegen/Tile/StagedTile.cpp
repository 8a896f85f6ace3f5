//===- StagedTile.cpp - Operand tiles staged in shared memory -------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/StagedTile.h"
#include "tesa/Codegen/WarpgroupMma.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

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

int64_t tesa::getStagedCopyBytes(ArrayRef<int64_t> strides, int64_t rowLoop,
                                 int64_t kLoop, int64_t rows, int64_t k,
                                 int64_t tileRows, int64_t depth,
                                 int64_t elementBytes) {
  std::optional<TileOrder> order = getStagedOrder(strides, rowLoop, kLoop);
  if (!order)
    return 0;
  StagedTileShape shape{*order, tileRows, depth, elementBytes};
  int64_t contiguousSize = *order == TileOrder::RowMajor ? k : rows;
  for (int64_t bytes = kStagedCopyBytes; bytes > elementBytes; bytes /= 2) {
    int64_t elements = bytes / elementBytes;
    if (contiguousSize % elements == 0 &&
        shape.getInnerData() % elements == 0 &&
        llvm::all_of(strides, [&](int64_t stride) {
          return stride == 1 || stride % elements == 0;
        }))
      return bytes;
  }
  return elementBytes;
}

std::optional<std::string>
tesa::checkStagedOperand(ArrayRef<int64_t> strides, int64_t rowLoop,
                         int64_t kLoop, int64_t rows, int64_t k,
                         int64_t tileRows, int64_t depth,
                         int64_t elementBytes, bool narrowCopies) {
  int64_t copyBytes = getStagedCopyBytes(strides, rowLoop, kLoop, rows, k,
                                         tileRows, depth, elementBytes);
  if (copyBytes == 0)
    return "an operand is contiguous along neither its rows nor K";
  if (!narrowCopies && copyBytes < kStagedCopyBytes)
    return "an operand's contiguous dimension or a stride is not in 16-byte "
           "pieces";
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

Value tesa::getSharedPointer(KernelEmitter &e, Value address) {
  Value integer = arith::IndexCastUIOp::create(e.b, e.b.getI64Type(), address);
  return LLVM::IntToPtrOp::create(
      e.b, LLVM::LLVMPointerType::get(e.b.getContext(), /*shared*/ 3), integer);
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

namespace {

/// Where copy `chunk` of a slice goes and comes from.
struct ChunkCopy {
  /// Its first element's indices in the ring's stage: outer, inner.
  Value outer, stored;
  /// Its first element's offset in the operand, and whether it lies inside
  /// the operand.
  Value offset, inBounds;
};

ChunkCopy getChunkCopy(KernelEmitter &e, const StagedOperand &operand,
                       Value rowStart, Value kStart, Value chunk) {
  const StagedTileShape &shape = operand.shape;
  int64_t copyElements = shape.getCopyElements();
  int64_t chunksPerRow = shape.getInnerData() / copyElements;
  ChunkCopy copy;
  copy.outer = e.div(chunk, chunksPerRow);
  Value inRow = e.rem(chunk, chunksPerRow);
  Value inner = e.affine(inRow, copyElements);
  bool rowMajor = shape.order == TileOrder::RowMajor;
  Value row = rowMajor ? copy.outer : inner, k = rowMajor ? inner : copy.outer;
  Value globalRow = e.add(rowStart, row);
  Value globalK = e.add(kStart, k);
  copy.inBounds = e.both(e.less(globalRow, operand.rowCount),
                         e.less(globalK, operand.kCount));
  copy.offset = e.add(
      operand.base,
      e.add(e.affine(globalRow, operand.strides[operand.rowLoop]),
            e.affine(globalK, operand.strides[operand.kLoop])));
  copy.stored = inner;
  if (shape.swizzled)
    copy.stored = e.affine(emitSwizzledChunk(e, copy.outer, inRow,
                                             kStagedCopyBytes * chunksPerRow),
                           copyElements);
  return copy;
}

/// Rounds of element copies that a thread has in flight at once: its loads
/// of one group are issued before their stores.
constexpr int64_t kElementCopiesInFlight = 8;

/// Copies the slice an element at a time, `chunks` of them over `threads`
/// threads: loads of kElementCopiesInFlight rounds, then their stores (a
/// loop over the groups of rounds, the rounds of a group unrolled).
void copySliceByElements(KernelEmitter &e, const StagedOperand &operand,
                         Value rowStart, Value kStart, Value slot,
                         int64_t chunks, int64_t threads) {
  Type element = getElementTypeOrSelf(operand.global.getType());
  Value zero = arith::ConstantOp::create(e.b, e.b.getZeroAttr(element));
  int64_t rounds = llvm::divideCeil(chunks, threads);
  bool partial = chunks % threads != 0;
  auto copyRounds = [&](Value firstChunk, int64_t count) {
    SmallVector<std::tuple<ChunkCopy, Value, Value>> loaded;
    for (int64_t r = 0; r < count; ++r) {
      Value chunk = e.affine(firstChunk, 1, r * threads);
      // Threads past the slice's last copy load nothing and skip the store.
      Value exists = partial ? e.less(chunk, chunks) : Value();
      ChunkCopy copy = getChunkCopy(e, operand, rowStart, kStart, chunk);
      Value inBounds = exists ? e.both(exists, copy.inBounds) : copy.inBounds;
      loaded.emplace_back(
          copy, exists, e.loadOr(operand.global, copy.offset, inBounds, zero));
    }
    for (auto &[copy, exists, value] : loaded) {
      auto store = [&, &copy = copy, &value = value] {
        memref::StoreOp::create(e.b, value, operand.ring,
                                ValueRange{slot, copy.outer, copy.stored});
      };
      if (exists)
        e.ifThen(exists, store);
      else
        store();
    }
  };
  int64_t groups = rounds / kElementCopiesInFlight;
  int64_t stride = kElementCopiesInFlight * threads;
  if (groups > 0) {
    auto loop = scf::ForOp::create(e.b, e.index(0), e.index(groups * stride),
                                   e.index(stride));
    OpBuilder::InsertionGuard guard(e.b);
    e.b.setInsertionPointToStart(loop.getBody());
    copyRounds(e.add(loop.getInductionVar(), e.threadId()),
               kElementCopiesInFlight);
  }
  if (int64_t left = rounds - groups * kElementCopiesInFlight)
    copyRounds(e.affine(e.threadId(), 1, groups * stride), left);
}

} // namespace

void tesa::copySliceAsync(KernelEmitter &e, const StagedOperand &operand,
                          Value rowStart, Value kStart, Value slot,
                          int64_t threads) {
  const StagedTileShape &shape = operand.shape;
  int64_t copyElements = shape.getCopyElements();
  int64_t chunks =
      shape.getOuter() * (shape.getInnerData() / copyElements);
  if (shape.copyBytes < kNarrowestAsyncCopyBytes)
    return copySliceByElements(e, operand, rowStart, kStart, slot, chunks,
                               threads);
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(e.b.getContext());
  // Only 16-byte copies may bypass L1 (cp.async.cg).
  UnitAttr bypassL1 =
      shape.copyBytes == kStagedCopyBytes ? e.b.getUnitAttr() : UnitAttr();
  auto copyChunk = [&](Value chunk) {
    ChunkCopy copy = getChunkCopy(e, operand, rowStart, kStart, chunk);
    // Outside the operand: a copy of nothing from its start, which fills
    // the destination with zeros.
    Value offset =
        arith::SelectOp::create(e.b, copy.inBounds, copy.offset, e.index(0));
    Value sourceElements = arith::SelectOp::create(
        e.b, copy.inBounds, e.index(copyElements), e.index(0));
    nvgpu::DeviceAsyncCopyOp::create(
        e.b, tokenType, operand.ring, ValueRange{slot, copy.outer, copy.stored},
        operand.global, ValueRange{offset},
        e.b.getIndexAttr(copyElements), sourceElements, bypassL1);
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
