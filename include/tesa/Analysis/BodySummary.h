//===- BodySummary.h - Zero and dependence facts of a payload ---*- C++ -*-===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// A `BodySummary` says, for every combination of payload arguments that are
// zero, which yielded values are zero and which arguments each yielded value
// depends on. It is what lets one rule serve every `linalg` structured op:
// `max(a + b, 0)` is zero iff a and b are, `acc + a * b` ignores `a` where
// `b` is zero, and so on. It is derived by abstract interpretation of the
// known `arith`/`math` ops, or, for payloads with other ops, by scrambling:
// evaluating the payload on random values with chosen arguments zeroed and
// perturbed.
//
//===----------------------------------------------------------------------===//

#ifndef TESA_ANALYSIS_BODYSUMMARY_H
#define TESA_ANALYSIS_BODYSUMMARY_H

#include "mlir/IR/Block.h"
#include "mlir/Support/LLVM.h"

#include <optional>
#include <string>
#include <vector>

namespace tesa {

/// Zero and dependence facts of a payload block, tabulated over every set of
/// zero arguments (a bit mask with bit i set when argument i is zero).
class BodySummary {
public:
  /// The most payload arguments a summary tabulates.
  static constexpr unsigned kMaxArguments = 12;

  /// Derives the summary by abstract interpretation. Fails, naming the first
  /// op it does not know in `reason`, if the payload has such an op.
  static mlir::FailureOr<BodySummary> analyse(mlir::Block &body,
                                              std::string &reason);

  /// Derives the summary by evaluating the payload on random values
  /// (`trials` rounds per set of zero arguments, seeded by `seed`). Fails if
  /// the payload has an op the scalar interpreter does not know.
  static mlir::FailureOr<BodySummary>
  scramble(mlir::Block &body, unsigned trials, uint64_t seed,
           std::string &reason);

  unsigned getNumArguments() const { return numArguments; }
  unsigned getNumYields() const { return numYields; }

  /// True if yield `yield` is zero whenever the arguments in `zeroArguments`
  /// are zero.
  bool isZero(unsigned yield, uint32_t zeroArguments) const {
    return zero[index(yield, zeroArguments)];
  }
  /// The arguments whose value can change yield `yield` when the arguments
  /// in `zeroArguments` are zero.
  uint32_t getDependences(unsigned yield, uint32_t zeroArguments) const {
    return dependences[index(yield, zeroArguments)];
  }
  /// The arguments whose value yield `yield` passes on unchanged: a copy,
  /// `max(x, 0)`, or the operands of a max/min (as in max pooling). Bit
  /// widths flow through such yields; 0 if there are none.
  uint32_t getPreservedArguments(unsigned yield) const {
    return preserved[yield];
  }
  /// True if the summary was derived by scrambling.
  bool isScrambled() const { return scrambled; }

  /// True if yield 0 behaves as `acc + a * b` for arguments `a`, `b` and
  /// accumulator `acc`: zero iff acc is zero and a or b is, and a (b)
  /// matters unless b (a) is zero.
  bool isMultiplyAccumulate(unsigned a, unsigned b, unsigned acc) const;

private:
  BodySummary(unsigned numArguments, unsigned numYields, bool scrambled);
  size_t index(unsigned yield, uint32_t zeroArguments) const {
    return (size_t(zeroArguments) << yieldBits) | yield;
  }

  unsigned numArguments;
  unsigned numYields;
  unsigned yieldBits;
  bool scrambled;
  std::vector<bool> zero;
  std::vector<uint32_t> dependences;
  std::vector<uint32_t> preserved;
};

} // namespace tesa

#endif // TESA_ANALYSIS_BODYSUMMARY_H
