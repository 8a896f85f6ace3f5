//===- PropagationReport.h - What propagation found, per tensor -*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// A per-tensor account of a propagation run, like SparTA's per-layer
// propagation figures: pruned share and bit widths before and after, how
// many elements became zero (forward) or dead (backward), and which ops
// drove the change. Printed as a table or as JSON.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_ANALYSIS_PROPAGATIONREPORT_H
#define TESA_ANALYSIS_PROPAGATIONREPORT_H

#include "tesa/Analysis/SparsityPropagation.h"

#include <string>
#include <vector>

namespace tesa {

/// One tracked tensor value.
struct PropagationReportRow {
  std::string function;
  /// The value as the printer names it, e.g. `%arg0` or `%3`.
  std::string value;
  /// `argument` or the name of the defining op.
  std::string producer;
  llvm::SmallVector<int64_t> shape;
  std::string elementType;
  int64_t numElements = 0;
  BitHistogram before, after;
  /// Elements kept before that propagation proved zero / found dead.
  int64_t newlyZero = 0, newlyDead = 0;
  /// Kept elements whose bit width propagation lowered.
  int64_t bitsLowered = 0;
  /// What drove the change, e.g. `zero from linalg.matmul; dead for
  /// linalg.generic`, or `-`.
  std::string drivers;
};

/// The report of one run.
class PropagationReport {
public:
  /// Builds the report for every tracked value in the functions under
  /// `root`. Call it before the IR is rewritten: the value's current type
  /// gives the "before" facts.
  static PropagationReport build(mlir::Operation *root,
                                 const SparsityPropagation &propagation);

  llvm::ArrayRef<PropagationReportRow> getRows() const { return rows; }

  /// A human-readable table with a totals line.
  void printTable(llvm::raw_ostream &os) const;
  /// The same as a JSON document: {"values": [...], "totals": {...}}.
  void printJSON(llvm::raw_ostream &os) const;

private:
  std::vector<PropagationReportRow> rows;
};

} // namespace tesa

#endif // TESA_ANALYSIS_PROPAGATIONREPORT_H
