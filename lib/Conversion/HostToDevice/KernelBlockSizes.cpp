//===- KernelBlockSizes.cpp - The block size each kernel is launched with -===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// Records on each kernel the constant block size all of its launches take
// (gpu.func's known_block_size), which the NVVM lowering turns into launch
// bounds that keep the kernel's registers within what such a block may have.
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/MapVector.h"

#include <array>
#include <optional>

namespace tesa {
#define GEN_PASS_DEF_KERNELBLOCKSIZES
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;

namespace {
struct KernelBlockSizesPass
    : public tesa::impl::KernelBlockSizesBase<KernelBlockSizesPass> {
  void runOnOperation() override;
};

using BlockSize = std::array<int32_t, 3>;
} // namespace

/// The block size of `launch` where each of its dimensions is a constant
/// that fits an i32.
static std::optional<BlockSize> getConstantBlockSize(gpu::LaunchFuncOp launch) {
  gpu::KernelDim3 operands = launch.getBlockSizeOperandValues();
  std::array<Value, 3> values = {operands.x, operands.y, operands.z};
  BlockSize size;
  for (auto [dimension, value] : llvm::zip_equal(size, values)) {
    APInt constant;
    if (!matchPattern(value, m_ConstantInt(&constant)) ||
        !constant.isSignedIntN(32) || constant.getSExtValue() < 1)
      return std::nullopt;
    dimension = int32_t(constant.getSExtValue());
  }
  return size;
}

void KernelBlockSizesPass::runOnOperation() {
  // Each launched kernel's block size, none where its launches disagree
  // or one is not constant.
  llvm::MapVector<gpu::GPUFuncOp, std::optional<BlockSize>> sizes;
  getOperation().walk([&](gpu::LaunchFuncOp launch) {
    auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
        launch, launch.getKernel());
    if (!kernel)
      return;
    std::optional<BlockSize> size = getConstantBlockSize(launch);
    auto [entry, inserted] = sizes.try_emplace(kernel, size);
    if (!inserted && entry->second != size)
      entry->second = std::nullopt;
  });
  for (auto [kernel, size] : sizes) {
    if (!size || kernel.getKnownBlockSizeAttr() ||
        kernel->hasAttr(mlir::NVVM::NVVMDialect::getMaxntidAttrName()))
      continue;
    kernel.setKnownBlockSizeAttr(
        DenseI32ArrayAttr::get(kernel.getContext(), *size));
  }
}
