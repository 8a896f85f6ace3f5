//===- Epilogue.cpp - The elementwise tail of a kernel region -------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/Epilogue.h"
#include "tesa/Codegen/StridedAccess.h"
#include "tesa/Dialect/Tesa/IR/TesaOps.h"
#include "tesa/Transforms/KernelRegions.h"

#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace tesa;

FailureOr<Epilogue> Epilogue::get(Value root, ArrayRef<Operation *> ops) {
  Epilogue epilogue;
  FailureOr<Value> last = followEpilogueSteps(
      ops, root, [&](linalg::GenericOp step, Value running) {
        for (OpOperand *input : step.getDpsInputOperands()) {
          if (input->get() == running)
            epilogue.runningInput.push_back(input->getOperandNumber());
          else
            epilogue.inputs.push_back(input->get());
        }
        epilogue.steps.push_back(step);
        return success();
      });
  if (failed(last))
    return failure();
  epilogue.resultType = cast<RankedTensorType>(last->getType());
  return epilogue;
}

void Epilogue::emit(KernelEmitter &e, Value value, ArrayRef<Value> coordinates,
                    ArrayRef<Value> inputBuffers, Value out,
                    ArrayRef<Value> loaded) const {
  auto [result, index] = apply(e, value, coordinates, inputBuffers, loaded);
  e.store(result, out, index);
}

int64_t Epilogue::getResultStride(unsigned dim) const {
  // Follow the root's dimensions through the steps' permutations.
  auto rank = unsigned(resultType.getRank());
  SmallVector<unsigned> current = llvm::to_vector(llvm::seq(0u, rank));
  for (auto [constStep, running] : llvm::zip_equal(steps, runningInput)) {
    linalg::GenericOp step = constStep;
    SmallVector<AffineMap> maps = step.getIndexingMapsArray();
    SmallVector<unsigned> loops =
        invertPermutation<unsigned>(maps[running], current);
    current = applyProjectedPermutation<unsigned>(maps.back(), loops);
  }
  SmallVector<int64_t> strides = getRowMajorStrides(resultType.getShape());
  for (unsigned i = 0; i < rank; ++i)
    if (current[i] == dim)
      return strides[i];
  return 0;
}

SmallVector<Value> Epilogue::walkSteps(
    ArrayRef<Value> coordinates,
    function_ref<void(linalg::GenericOp, unsigned, ArrayRef<Value>)> visit)
    const {
  SmallVector<Value> current(coordinates);
  for (auto [constStep, running] : llvm::zip_equal(steps, runningInput)) {
    linalg::GenericOp step = constStep;
    SmallVector<AffineMap> maps = step.getIndexingMapsArray();
    SmallVector<Value> loops =
        invertPermutation<Value>(maps[running], current);
    visit(step, running, loops);
    current = applyProjectedPermutation<Value>(maps.back(), loops);
  }
  return current;
}

/// The element of `step`'s input `input` at the step's `loops`, from its
/// flat buffer `buffer`.
static Value loadStepInput(KernelEmitter &e, linalg::GenericOp step,
                           OpOperand *input, ArrayRef<Value> loops,
                           Value buffer) {
  auto type = cast<RankedTensorType>(input->get().getType());
  AffineMap map = step.getMatchingIndexingMap(input);
  return e.load(buffer,
                e.linearIndex(loops, getLoopStrides(map, type.getShape())));
}

SmallVector<Value> Epilogue::loadInputs(KernelEmitter &e,
                                        ArrayRef<Value> coordinates,
                                        ArrayRef<Value> inputBuffers) const {
  SmallVector<Value> values;
  walkSteps(coordinates, [&](linalg::GenericOp step, unsigned running,
                             ArrayRef<Value> loops) {
    for (OpOperand *input : step.getDpsInputOperands())
      if (input->getOperandNumber() != running)
        values.push_back(
            loadStepInput(e, step, input, loops, inputBuffers[values.size()]));
  });
  return values;
}

std::pair<Value, Value> Epilogue::apply(KernelEmitter &e, Value value,
                                        ArrayRef<Value> coordinates,
                                        ArrayRef<Value> inputBuffers,
                                        ArrayRef<Value> loaded) const {
  unsigned nextInput = 0;
  SmallVector<Value> last = walkSteps(coordinates, [&](linalg::GenericOp step,
                                                       unsigned running,
                                                       ArrayRef<Value> loops) {
    Block &body = step.getRegion().front();
    IRMapping mapping;
    for (OpOperand *input : step.getDpsInputOperands()) {
      unsigned i = input->getOperandNumber();
      if (i == running) {
        mapping.map(body.getArgument(i), value);
        continue;
      }
      unsigned at = nextInput++;
      mapping.map(body.getArgument(i),
                  loaded.empty()
                      ? loadStepInput(e, step, input, loops, inputBuffers[at])
                      : loaded[at]);
    }
    value = e.cloneBody(body, mapping);
  });
  return {value,
          e.linearIndex(last, getRowMajorStrides(resultType.getShape()))};
}
