//===- StagedTile.h - Operand tiles staged in shared memory -----*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The tile layer's operand pipeline on chips with asynchronous copies:
// slices of an f16 or f32 operand (`rows` rows by `depth` reduction
// elements) copied from global memory into a ring of stage buffers in
// dynamic shared memory by asynchronous copies (cp.async) of 16 bytes (8
// or 4 where the operand's rows and strides are not in 16-byte pieces; an
// f16 operand of odd rows is copied an element at a time by each thread's
// loads and stores), each
// slice kept in the order its global layout makes contiguous (see
// MmaAtom.h), every row padded by 16 bytes so that eight consecutive rows
// start in different banks (the eight rows an `ldmatrix` reads, or the
// 16-byte vectors eight lanes read at once). Copies that fall outside the
// operand fill zeros. The contraction and attention families stage their
// operands through it.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CODEGEN_STAGEDTILE_H
#define TESA_CODEGEN_STAGEDTILE_H

#include "tesa/Codegen/KernelEmitter.h"
#include "tesa/Codegen/MmaAtom.h"

#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>

namespace tesa {

/// Bytes of the widest asynchronous copy, and of the padding that ends
/// every row of a stage buffer (TileConfigAttr::getStagedF16Bytes counts
/// it).
constexpr int64_t kStagedCopyBytes = 16;
constexpr int64_t kStagedPadBytes = 16;
/// Bytes of the narrowest asynchronous copy.
constexpr int64_t kNarrowestAsyncCopyBytes = 4;

/// The shape of one stage buffer: a slice of `rows` rows by `depth`
/// reduction elements of `elementBytes` bytes (2: f16, 4: f32), stored in
/// `order`. With `swizzled`, rows are not padded but lie in the swizzled
/// layout of the wgmma atom (WarpgroupMma.h): [row][k] rows of 32, 64 or
/// 128 bytes whose 16-byte chunks are permuted.
struct StagedTileShape {
  TileOrder order;
  int64_t rows, depth;
  int64_t elementBytes = 2;
  bool swizzled = false;
  /// Bytes of one copy: 16, 8 or 4 by cp.async, or one element below
  /// kNarrowestAsyncCopyBytes by a load and a store (see
  /// getStagedCopyBytes).
  int64_t copyBytes = kStagedCopyBytes;
  /// The buffer's outer and inner (contiguous, padded) lengths.
  int64_t getOuter() const {
    return order == TileOrder::RowMajor ? rows : depth;
  }
  int64_t getInnerData() const {
    return order == TileOrder::RowMajor ? depth : rows;
  }
  /// Elements of one copy.
  int64_t getCopyElements() const { return copyBytes / elementBytes; }
  int64_t getInner() const {
    return getInnerData() + (swizzled ? 0 : kStagedPadBytes / elementBytes);
  }
  int64_t getElements() const { return getOuter() * getInner(); }
  int64_t getBytes() const { return elementBytes * getElements(); }
};

/// The order in which an operand read through per-loop `strides` lies:
/// [row][k] when the reduction loop `kLoop` is contiguous, [k][row] when
/// the row loop is; none otherwise.
std::optional<TileOrder> getStagedOrder(llvm::ArrayRef<int64_t> strides,
                                        int64_t rowLoop, int64_t kLoop);

/// An f16 or f32 operand in global memory (a flat buffer read through
/// per-loop strides) and the ring of stage buffers its slices are copied
/// into.
struct StagedOperand {
  mlir::Value global;
  /// The offset of the operand's first element for this block (its batch).
  mlir::Value base;
  llvm::SmallVector<int64_t> strides;
  int64_t rowLoop, kLoop;
  /// The operand's extent along its rows and its reduction dimension.
  int64_t rowCount, kCount;
  StagedTileShape shape;
  /// The ring: [stage][outer][inner] elements in workgroup memory.
  mlir::Value ring;
};

/// The bytes of each copy of slices of `tileRows` x `depth` of an operand
/// (`rows` x `k` elements of `elementBytes` bytes, read through `strides`):
/// the most of 16, 8 and 4 bytes that divide the operand's contiguous
/// extent, the slice's and every stride, so that each copy is aligned and
/// lies wholly inside or outside the operand; else one element. 0 where
/// the operand is contiguous along neither its rows nor K.
int64_t getStagedCopyBytes(llvm::ArrayRef<int64_t> strides, int64_t rowLoop,
                           int64_t kLoop, int64_t rows, int64_t k,
                           int64_t tileRows, int64_t depth,
                           int64_t elementBytes = 2);

/// Why slices of `tileRows` x `depth` of an operand (`rows` x `k` elements
/// of `elementBytes` bytes, read through `strides`) cannot be staged, or
/// none: the operand must be contiguous along its rows or K, and unless
/// `narrowCopies`, every copy must be 16 aligned bytes (see
/// getStagedCopyBytes). (Any number of threads copies a slice: where they
/// do not divide its copies, some are idle in the last round.)
std::optional<std::string>
checkStagedOperand(llvm::ArrayRef<int64_t> strides, int64_t rowLoop,
                   int64_t kLoop, int64_t rows, int64_t k, int64_t tileRows,
                   int64_t depth, int64_t elementBytes = 2,
                   bool narrowCopies = false);

/// The kernel's dynamic shared memory, as bytes.
mlir::Value getDynamicSharedMemory(KernelEmitter &e);

/// A ring of `stages` buffers of `shape` at `byteOffset` of `shared`.
mlir::Value makeStageRing(KernelEmitter &e, mlir::Value shared,
                          const StagedTileShape &shape, int64_t stages,
                          mlir::Value byteOffset);
mlir::Value makeStageRing(KernelEmitter &e, mlir::Value shared,
                          const StagedTileShape &shape, int64_t stages,
                          int64_t byteOffset);

/// The address of byte 0 of `shared` in the shared address space, an
/// index.
mlir::Value getSharedAddress(KernelEmitter &e, mlir::Value shared);
/// Shared address `address` (an index) as an NVVM pointer to the block's
/// shared memory (`!llvm.ptr<3>`).
mlir::Value getSharedPointer(KernelEmitter &e, mlir::Value address);
/// The offset of the first byte of `shared` whose shared address is a
/// multiple of `alignment` (a power of two); the kernel asks for
/// `alignment` bytes more.
mlir::Value getAlignedOffset(KernelEmitter &e, mlir::Value shared,
                             int64_t alignment);

/// Issues the asynchronous copies of `operand`'s slice that starts at row
/// `rowStart` and reduction element `kStart` into stage `slot` of its ring,
/// spread over `threads` threads (copies of one element below
/// kNarrowestAsyncCopyBytes are loads and stores, done when the call
/// returns). Commits no group.
void copySliceAsync(KernelEmitter &e, const StagedOperand &operand,
                    mlir::Value rowStart, mlir::Value kStart, mlir::Value slot,
                    int64_t threads);

} // namespace tesa

#endif // TESA_CODEGEN_STAGEDTILE_H
