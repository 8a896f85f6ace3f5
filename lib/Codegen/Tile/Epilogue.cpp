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
  Value running = root;
  for (Operation *op : ops) {
    if (auto annotate = dyn_cast<AnnotateOp>(op)) {
      if (annotate.getSource() != running)
        return failure();
      running = annotate.getResult();
      continue;
    }
    auto step = dyn_cast<linalg::GenericOp>(op);
    if (!step || !isEpilogueStep(step, running))
      return failure();
    for (OpOperand *input : step.getDpsInputOperands()) {
      if (input->get() == running)
        epilogue.runningInput.push_back(input->getOperandNumber());
      else
        epilogue.inputs.push_back(input->get());
    }
    epilogue.steps.push_back(step);
    running = step.getResult(0);
  }
  epilogue.resultType = cast<RankedTensorType>(running.getType());
  return epilogue;
}

void Epilogue::emit(KernelEmitter &e, Value value, ArrayRef<Value> coordinates,
                    ArrayRef<Value> inputBuffers, Value out) const {
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
  e.store(value, out,
          e.linearIndex(current, getRowMajorStrides(resultType.getShape())));
}
