//===- SparsityLattice.h - Lattices of sparsity propagation -----*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// The two lattices `--tesa-propagate` solves over. Both hold a
// `tesa::SparsityMap` per tensor value and merge facts with
// `SparsityMap::join` (element-wise maximum):
//
//  - `SparsityContent` (forward): what a value may hold. Entry 0 means the
//    element is provably zero; otherwise it is the widest bit width the
//    element can carry.
//  - `SparsityDemand` (backward): what the consumers of a value need. Entry 0
//    means the element is dead (no consumer needs it); otherwise it is the
//    most bits any consumer needs.
//
// The uninitialised state of both is the optimistic bottom (everything zero,
// everything dead); the solver raises states until they are stable. The
// encoding written back is `content.meet(demand)`.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_ANALYSIS_SPARSITYLATTICE_H
#define TESA_ANALYSIS_SPARSITYLATTICE_H

#include "mlir/Analysis/DataFlow/SparseAnalysis.h"
#include "tesa/Support/SparsityMap.h"

#include <optional>
#include <string>

namespace tesa {

/// The widest bit width a `#tesa.sparsity` entry may give elements of
/// `elementType` (32, 16, 8 or 4), or nullopt if no encoding with kept
/// elements can describe the type (for example `i1`).
std::optional<uint8_t> getFullBits(mlir::Type elementType);

/// The tensor type propagation tracks `type` as, or null: a ranked tensor
/// with a static shape, at least one element, and elements an encoding can
/// describe.
mlir::RankedTensorType getTrackedTensorType(mlir::Type type);

/// Why `result` (a shaped value that getTrackedTensorType rejects) has no
/// facts, as the propagation remark says it: "its results are not
/// statically shaped tensors", or that its elements (such as i1) are
/// narrower than the 4 bits a fact can keep.
std::string describeUntrackedResult(mlir::Value result);
/// The same for an operand, as a propagation rule's reason for leaving its
/// op conservative: "an operand is not a statically shaped tensor", or
/// "an operand's elements (i1) are narrower than the 4 bits a fact keeps".
std::string describeUntrackedOperand(mlir::Value operand);

/// The most elements of one tensor that the propagation rules working per
/// element track (tensor slices, concatenation, padding, reshapes and
/// scrambling: 2^31 bytes a tensor); they leave an op with a larger tensor
/// conservative. Everything else works on the maps' grids.
constexpr int64_t kMaxTrackedElements = int64_t(1) << 31;

/// The elements of a statically shaped `type`, counted without overflow;
/// none when the count does not fit in int64_t.
std::optional<int64_t> getCheckedElementCount(mlir::ShapedType type);

/// Fails, with an error at the op that defines or takes it, for each
/// statically shaped tensor under `root` (with `encodedOnly`, each one with
/// a #tesa.sparsity encoding) whose element count does not fit in int64_t;
/// `pass` names the pass in the message.
mlir::LogicalResult checkCountableSizes(mlir::Operation *root,
                                        llvm::StringRef pass,
                                        bool encodedOnly = false);

/// What `type` (a tracked tensor type) states about its elements: its
/// encoding's map, or every element kept at full precision.
SparsityMap getDeclaredMap(mlir::RankedTensorType type);

/// A sparsity map per value, raised with `SparsityMap::join`.
class SparsityFactLattice : public mlir::dataflow::AbstractSparseLattice {
public:
  using AbstractSparseLattice::AbstractSparseLattice;

  /// The current map; nullopt while uninitialised (the optimistic bottom).
  const std::optional<SparsityMap> &getMap() const { return map; }

  /// Joins `other` into the state.
  mlir::ChangeResult raise(const SparsityMap &other);

  void print(llvm::raw_ostream &os) const override;

private:
  std::optional<SparsityMap> map;
};

/// Forward facts: 0 = provably zero, otherwise the widest bits it may hold.
class SparsityContent : public SparsityFactLattice {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SparsityContent)
  using SparsityFactLattice::SparsityFactLattice;

  mlir::ChangeResult join(const AbstractSparseLattice &rhs) override {
    const auto &other = static_cast<const SparsityContent &>(rhs);
    return other.getMap() ? raise(*other.getMap())
                          : mlir::ChangeResult::NoChange;
  }
};

/// Backward facts: 0 = dead, otherwise the most bits any consumer needs.
class SparsityDemand : public SparsityFactLattice {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SparsityDemand)
  using SparsityFactLattice::SparsityFactLattice;

  mlir::ChangeResult meet(const AbstractSparseLattice &rhs) override {
    const auto &other = static_cast<const SparsityDemand &>(rhs);
    return other.getMap() ? raise(*other.getMap())
                          : mlir::ChangeResult::NoChange;
  }
};

} // namespace tesa

#endif // TESA_ANALYSIS_SPARSITYLATTICE_H
