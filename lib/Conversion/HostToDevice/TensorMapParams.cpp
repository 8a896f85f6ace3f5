//===- TensorMapParams.cpp - Tensor maps as grid-constant parameters ------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Turns the 128-byte array arguments of NVVM kernels whose address a cast
// takes into byval, grid-constant pointer arguments: the address of the
// kernel parameter itself, which TMA reads the tensor map from.
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace tesa {
#define GEN_PASS_DEF_TENSORMAPPARAMS
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {
struct TensorMapParamsPass
    : public tesa::impl::TensorMapParamsBase<TensorMapParamsPass> {
  void runOnOperation() override;
};
} // namespace

/// Bytes of a tensor map, and the alignment its parameter takes.
static constexpr int64_t kTensorMapBytes = 128, kTensorMapAlignment = 64;

/// Whether `op` takes the address of a kernel argument: a cast of it to a
/// generic pointer.
static bool isAddressCast(Operation *op) {
  auto cast = dyn_cast<UnrealizedConversionCastOp>(op);
  if (!cast || cast->getNumOperands() != 1 || cast->getNumResults() != 1)
    return false;
  auto pointer = dyn_cast<LLVM::LLVMPointerType>(cast.getType(0));
  return pointer && pointer.getAddressSpace() == 0;
}

/// Makes argument `argument` of `kernel` (an array whose address a cast
/// takes) a byval grid-constant pointer; fails with a diagnostic when it is
/// not a tensor map's size.
static LogicalResult makeGridConstant(LLVM::LLVMFuncOp kernel,
                                      BlockArgument argument) {
  auto arrayType = cast<LLVM::LLVMArrayType>(argument.getType());
  DataLayout layout = DataLayout::closest(kernel);
  if (int64_t(layout.getTypeSize(arrayType)) != kTensorMapBytes)
    return kernel.emitError("argument ")
           << argument.getArgNumber() << " of type " << arrayType
           << " has its address taken but is not a " << kTensorMapBytes
           << "-byte tensor map";
  auto pointerType = LLVM::LLVMPointerType::get(kernel.getContext());
  SmallVector<Operation *> casts;
  SmallVector<OpOperand *> values;
  for (OpOperand &use : argument.getUses()) {
    if (isAddressCast(use.getOwner()))
      casts.push_back(use.getOwner());
    else
      values.push_back(&use);
  }
  argument.setType(pointerType);
  LLVM::LLVMFunctionType type = kernel.getFunctionType();
  kernel.setFunctionType(LLVM::LLVMFunctionType::get(
      type.getReturnType(),
      llvm::to_vector(kernel.getBody().getArgumentTypes()), type.isVarArg()));
  for (Operation *cast : casts) {
    cast->getResult(0).replaceAllUsesWith(argument);
    cast->erase();
  }
  if (!values.empty()) {
    OpBuilder builder = OpBuilder::atBlockBegin(argument.getOwner());
    Value loaded = LLVM::LoadOp::create(builder, kernel.getLoc(), arrayType,
                                        argument, kTensorMapAlignment);
    for (OpOperand *use : values)
      use->set(loaded);
  }
  unsigned index = argument.getArgNumber();
  Builder builder(kernel.getContext());
  kernel.setArgAttr(index, LLVM::LLVMDialect::getByValAttrName(),
                    TypeAttr::get(arrayType));
  kernel.setArgAttr(index, LLVM::LLVMDialect::getAlignAttrName(),
                    builder.getI32IntegerAttr(kTensorMapAlignment));
  kernel.setArgAttr(index, NVVM::NVVMDialect::getGridConstantAttrName(),
                    builder.getUnitAttr());
  return success();
}

void TensorMapParamsPass::runOnOperation() {
  for (auto kernel : getOperation().getOps<LLVM::LLVMFuncOp>()) {
    if (kernel.isExternal() ||
        !kernel->hasAttr(NVVM::NVVMDialect::getKernelFuncAttrName()))
      continue;
    for (BlockArgument argument : kernel.getArguments())
      if (isa<LLVM::LLVMArrayType>(argument.getType()) &&
          llvm::any_of(argument.getUsers(), isAddressCast) &&
          failed(makeGridConstant(kernel, argument)))
        return signalPassFailure();
  }
}
