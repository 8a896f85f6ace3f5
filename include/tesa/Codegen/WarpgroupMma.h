//===- WarpgroupMma.h - The sm_90 warpgroup tensor-core atom ----*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The tile layer's sm_90 tensor-core atom: `wgmma.mma_async` m64nNk16 with
// f16 operands and f32 accumulators, or m64nNk32 with s8 operands and s32
// accumulators. The four warps of a warpgroup (128 threads) multiply a 64 x
// 16 (s8: 64 x 32) tile of A by a 16 x N (32 x N) tile of B; both operands
// are read from shared memory through 64-bit matrix descriptors, never
// loaded into registers. The accumulators (N / 2 a thread) stay in
// registers as an LLVM struct across the K loop; both kinds lie alike.
//
// A's tile lies K-major ([row][k], K contiguous) in shared memory, rows of
// 32, 64 or 128 bytes (K = 16, 32 or 64 f16, or 32, 64, 128 s8); B's
// K-major too, or, for f16 only, MN-major ([k][column], its 16, 32 or 64
// columns contiguous: a weight stored [K][N]), which wgmma transposes as it
// reads. Either kind's instruction reads 32 bytes of each K-major row. Either way the tile's rows
// are swizzled the way the descriptor's layout mode says: within each group
// of 8 rows, the 16-byte chunks of a row are permuted by XOR with the row's
// position, so that the eight rows of a core matrix (and the 16-byte
// copies that fill them) fall in different banks. A tile starts on a
// multiple of 1024 bytes.
//
// The index math (the swizzle, the descriptor's fields, where each
// accumulator lies) is plain integer arithmetic here, unit-tested in
// test/Unit/WarpgroupMmaTest.cpp against the PTX ISA's layouts; the emitter
// applies the same math to SSA values.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CODEGEN_WARPGROUPMMA_H
#define TESA_CODEGEN_WARPGROUPMMA_H

#include "tesa/Codegen/KernelEmitter.h"

#include <cstdint>
#include <utility>

namespace tesa {

/// Threads of a warpgroup, rows (M) of its tile, and the K of one f16
/// instruction (32 bytes of a K-major row; an s8 one takes 32 values).
constexpr int64_t kWarpgroupThreads = 128;
constexpr int64_t kWgmmaRows = 64;
constexpr int64_t kWgmmaK = 16;
/// The alignment of a swizzled operand tile in shared memory.
constexpr int64_t kWgmmaTileAlignment = 1024;

/// Whether K-major tile rows of `rowBytes` bytes have a swizzle mode (32,
/// 64 or 128).
bool isWgmmaRowBytes(int64_t rowBytes);

/// The byte offset, from its tile's start, of 16-byte chunk `chunk` of row
/// `row` of a K-major tile with rows of `rowBytes` bytes, swizzled.
int64_t getSwizzledChunkOffset(int64_t row, int64_t chunk, int64_t rowBytes);

/// The position (0 .. rowBytes / 16 - 1) within its row that chunk `chunk`
/// of row `row` is stored at: getSwizzledChunkOffset without the row.
int64_t getSwizzledChunk(int64_t row, int64_t chunk, int64_t rowBytes);

/// getSwizzledChunk of SSA index values.
mlir::Value emitSwizzledChunk(KernelEmitter &e, mlir::Value row,
                              mlir::Value chunk, int64_t rowBytes);

/// The fields of a wgmma shared-memory matrix descriptor other than the
/// start address: for a swizzled tile with rows of `rowBytes` bytes (rows
/// along M or N of a K-major tile, along K of an MN-major one), 8-row
/// groups `8 * rowBytes` apart (the stride byte offset), the leading byte
/// offset unused (16: a K-major tile's K slice and an MN-major tile's
/// columns lie within one swizzled row), the swizzle mode in bits 62-63.
/// The start address, in 16-byte units, goes in bits 0-13.
uint64_t getWgmmaDescriptorFields(int64_t rowBytes);

/// How far a descriptor moves for the next 16-deep slice of K: 32 bytes
/// along a K-major tile's rows, 16 rows of an MN-major tile.
int64_t getWgmmaSliceBytes(bool mnMajor, int64_t rowBytes);

/// Where accumulator `i` (0 .. N / 2 - 1) of thread `thread` (0-127) of a
/// warpgroup lies in its 64 x N tile: (row, column). Pairs 2j, 2j + 1 are
/// neighbouring columns of one row.
std::pair<int64_t, int64_t> getWgmmaAccumulatorPosition(int64_t thread,
                                                        int64_t i);

/// The operands of the atom: f16 into f32 accumulators, or s8 into s32.
enum class WgmmaOperands { F16, S8 };

/// Emits the atom's instructions for tiles N columns wide.
class WarpgroupMmaEmitter {
public:
  /// With `bMnMajor`, B's tile is MN-major ([k][column]); s8 tiles are
  /// K-major only.
  WarpgroupMmaEmitter(KernelEmitter &e, int64_t n, bool bMnMajor = false,
                      WgmmaOperands operands = WgmmaOperands::F16);

  /// A zero accumulator (an LLVM struct of N / 2 f32 or i32).
  mlir::Value zeroAccumulator();
  /// The descriptor (i64) of the K-major tile at shared address `address`
  /// (an index, in bytes), rows of `rowBytes` bytes.
  mlir::Value getDescriptor(mlir::Value address, int64_t rowBytes);
  /// The descriptor `descriptor` moved `bytes` (a multiple of 16) along
  /// its rows: the next 16 deep slice of K.
  mlir::Value advance(mlir::Value descriptor, int64_t bytes);
  /// The descriptor `descriptor` moved `units` 16-byte units (an index):
  /// the same tile in another stage of a ring.
  mlir::Value advance(mlir::Value descriptor, mlir::Value units);
  /// acc + A * B for the 64 x 16 (s8: 64 x 32) tile of A and the 16 x N
  /// (32 x N) tile of B that the descriptors give. Between wgmmaFence and commitAndWait.
  mlir::Value multiply(mlir::Value a, mlir::Value b, mlir::Value acc);
  /// acc + A * B for a 2:4 structured A (`wgmma.mma_async.sp`, f16 only,
  /// K-major): A's descriptor gives its 64 x 16 packed values (the kept two
  /// of each four of a 64 x 32 tile), B's the 32 x N tile; `metadata` (an
  /// i32) is this thread's word of A's positions, as `mma.sp` m16n8k32 lays
  /// them out for the rows of its warp (sparsity selector 0: threads 0 and
  /// 1 of each four hold them). Between fence and commitAndWait.
  mlir::Value multiplySparse(mlir::Value a, mlir::Value b,
                             mlir::Value metadata, mlir::Value acc);
  /// Orders the accumulators' registers before a group of products.
  void fence();
  /// Commits the products issued since the last commit and waits until at
  /// most `pending` groups are in flight.
  void commitAndWait(int64_t pending);
  /// Accumulator `i` of `acc`, an f32 (s8: i32) value.
  mlir::Value getAccumulator(mlir::Value acc, int64_t i);
  /// The position of this thread's accumulator `i` (see
  /// getWgmmaAccumulatorPosition) for thread `thread` of the warpgroup.
  std::pair<mlir::Value, mlir::Value>
  getAccumulatorPosition(mlir::Value thread, int64_t i);
  /// The same for an accumulator index `i` known only at run time.
  std::pair<mlir::Value, mlir::Value> getAccumulatorPosition(mlir::Value thread,
                                                             mlir::Value i);
  int64_t getAccumulatorCount() const { return n / 2; }

private:
  KernelEmitter &e;
  int64_t n;
  bool bMnMajor;
  WgmmaOperands operands;
  mlir::Type accumulatorType;
};

} // namespace tesa

#endif // TESA_CODEGEN_WARPGROUPMMA_H
