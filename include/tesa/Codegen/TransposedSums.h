//===- TransposedSums.h - Accumulator columns as runs of rows ---*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// A warpgroup's m64nN f32 accumulators (wgmma's D fragments: lane 4g + t of
// warp w holds rows 16w + g and 16w + g + 8 of columns 2t and 2t + 1 of
// every group of eight columns) written to shared memory column by column,
// so that each thread then reads runs of kRunRows consecutive rows of one
// column. Where the rows are the result's contiguous dimension (a
// structured part's channels: the packed block is wgmma's A), a run is 16
// bytes of an f16 result, stored at once, where the fragments alone leave
// two bytes a store.
//
// Each warp has an area of its own: its 16 rows of every column, a column
// kTransposedColumnWords words (16 rows, then padding), so that a warp's
// stores of one accumulator (8 rows x 4 columns) and each quarter-warp's
// 16-byte loads of runs (8 columns) fall in distinct banks. Run r of a
// warp's area (r < 2N) is column r mod 8 + 8 (r / 16) from row
// 8 ((r / 8) mod 2) on; lane l reads runs l, l + 32, ... A warp reads only
// its own area.
//
// The index math is plain integer arithmetic here, unit-tested in
// test/Unit/TransposedSumsTest.cpp; TransposedSums applies it to SSA values.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_CODEGEN_TRANSPOSEDSUMS_H
#define TESA_CODEGEN_TRANSPOSEDSUMS_H

#include "tesa/Codegen/KernelEmitter.h"

#include <cstdint>
#include <utility>

namespace tesa {

/// Rows of a run, and words of a column of a warp's area.
constexpr int64_t kRunRows = 8;
constexpr int64_t kTransposedColumnWords = 20;

/// The word of a warp's area that holds its row `row` (0 .. 15) of column
/// `column`.
int64_t getTransposedWord(int64_t row, int64_t column);
/// The column and first row (0 or kRunRows) of run `run` of a warp's area.
std::pair<int64_t, int64_t> getTransposedRun(int64_t run);
/// Bytes of a warpgroup's areas for accumulators of `columns` columns.
int64_t getTransposedSumsBytes(int64_t columns);

/// Emits the shared-memory side of a warpgroup's transposed sums (see the
/// file comment): accumulators of `columns` columns, the warpgroup's areas
/// at shared address `base` (an index).
class TransposedSums {
public:
  TransposedSums(KernelEmitter &e, mlir::Value base, int64_t columns)
      : e(e), base(base), columns(columns) {}

  /// Runs each lane reads.
  int64_t getRunsPerLane() const { return 2 * columns / 32; }
  /// Thread `thread` (of the warpgroup) writes its accumulators, `sums[i]`
  /// accumulator i.
  void write(mlir::Value thread, llvm::ArrayRef<mlir::Value> sums);
  /// The row (of the warpgroup's 64) and column of the first sum of run
  /// `k` of thread `thread`.
  std::pair<mlir::Value, mlir::Value> getRunPosition(mlir::Value thread,
                                                     int64_t k);
  /// Run `k` of thread `thread`: its kRunRows f32 sums.
  llvm::SmallVector<mlir::Value> read(mlir::Value thread, int64_t k);
  /// Every lane of the warp: its writes are seen by its reads after this,
  /// and its reads are done before its next writes.
  void syncWarp();

private:
  /// The shared address of the warp area's word `word` (an index) of the
  /// warp of `thread`.
  mlir::Value getAddress(mlir::Value thread, mlir::Value word);

  KernelEmitter &e;
  mlir::Value base;
  int64_t columns;
};

} // namespace tesa

#endif // TESA_CODEGEN_TRANSPOSEDSUMS_H
