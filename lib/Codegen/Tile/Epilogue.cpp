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
                    ArrayRef<Value> inputBuffers, Value out) const {
  auto [result, index] = apply(e, value, coordinates, inputBuffers);
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

std::pair<Value, Value> Epilogue::apply(KernelEmitter &e, Value value,
                                        ArrayRef<Value> coordinates,
                                        ArrayRef<Value> inputBuffers) const {
  SmallVector<Value> current(coordinates);
  unsigned nextInput = 0;
  for (auto [constStep, running] : llvm::zip_equal(steps, runningInput)) {
    linalg::GenericOp step = constStep;
    SmallVector<AffineMap> maps = step.getIndexingMapsArray();
    SmallVector<Value> loops =
        invertPermutation<Value>(maps[running], current);
    Block &body = step.getRegion().front();
    IRMapping mapping;
    for (OpOperand *input : step.getDpsInputOperands()) {
      unsigned i = input->getOperandNumber();
      if (i == running) {
        mapping.map(body.getArgument(i), value);
        continue;
      }
      auto type = cast<RankedTensorType>(input->get().getType());
      Value offset = e.linearIndex(
          loops, getLoopStrides(maps[i], type.getShape()));
      mapping.map(body.getArgument(i),
                  e.load(inputBuffers[nextInput++], offset));
    }
    value = e.cloneBody(body, mapping);
    current = applyProjectedPermutation<Value>(maps.back(), loops);
  }
  return {value,
          e.linearIndex(current, getRowMajorStrides(resultType.getShape()))};
}
