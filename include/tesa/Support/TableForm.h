//===- TableForm.h - Tables that index arithmetic computes ------*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The kernels tesa emits walk constant i32 tables (work lists: the rows a
// part keeps, where each row's entries start, the step of each entry),
// which they load from global memory, often in a chain (a row's first
// entry, then that entry's step, then the copy it starts). Many of these
// tables are regular: every block of a 2:4 weight is kept, so a row's
// entries start at 12 r and entry e is step e mod 12. A table of that form
// is index arithmetic, and a load from it a few integer operations instead
// of a memory round trip (--tesa-fold-table-loads).
//
// The form recognised here is, for 0 <= i < size,
//
//   table[i] = base + step * (i mod period) + periodStep * (i div period)
//
// which covers constant tables (step = periodStep = 0), arithmetic
// sequences (period = size) and repeated sequences shifted by a constant
// (a row's steps, repeated for every row).
//
//===----------------------------------------------------------------------===//

#ifndef TESA_SUPPORT_TABLEFORM_H
#define TESA_SUPPORT_TABLEFORM_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <optional>

namespace tesa {

/// table[i] = base + step * (i mod period) + periodStep * (i div period).
struct TableForm {
  int64_t base = 0, step = 0, period = 1, periodStep = 0;

  /// The table's value at `i` (any i >= 0: the form extends the table).
  int64_t evaluate(int64_t i) const {
    return base + step * (i % period) + periodStep * (i / period);
  }
  /// Whether the value does not depend on the index.
  bool isConstant() const { return step == 0 && periodStep == 0; }
  /// Whether the form needs no `mod` / `div` (one arithmetic sequence).
  bool isAffine() const { return periodStep == step * period; }
};

/// The form of `table` (non-empty), if it has one: the shortest period
/// whose first values are an arithmetic sequence and whose later periods
/// repeat it shifted by a constant. Values and the form's evaluation are
/// compared as int64_t.
std::optional<TableForm> fitTableForm(llvm::ArrayRef<int32_t> table);

} // namespace tesa

#endif // TESA_SUPPORT_TABLEFORM_H
