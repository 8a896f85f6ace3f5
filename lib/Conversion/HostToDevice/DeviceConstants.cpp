//===- DeviceConstants.cpp - Host constants read from device memory -------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//
//
// After the GPU lowering, replaces the host program's references to constant
// globals by the runtime's cached device copies, and checks that no host
// function touches memory itself.
//
//===----------------------------------------------------------------------===//

#include "tesa/Conversion/Passes.h"

#include "mlir/Interfaces/DataLayoutInterfaces.h"

namespace tesa {
#define GEN_PASS_DEF_DEVICECONSTANTS
#include "tesa/Conversion/Passes.h.inc"
} // namespace tesa

using namespace mlir;

/// The runtime function that returns a constant's device copy.
static constexpr llvm::StringLiteral kDeviceConstantFn = "mgpuTesaDeviceConstant";

namespace {
struct DeviceConstantsPass
    : public tesa::impl::DeviceConstantsBase<DeviceConstantsPass> {
  void runOnOperation() override;
};
} // namespace

static LLVM::LLVMFuncOp getOrInsertDeviceConstantFn(ModuleOp module) {
  if (auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(kDeviceConstantFn))
    return fn;
  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  MLIRContext *ctx = module.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto type = LLVM::LLVMFunctionType::get(ptr, {ptr, IntegerType::get(ctx, 64)});
  return LLVM::LLVMFuncOp::create(builder, module.getLoc(), kDeviceConstantFn,
                                  type);
}

/// Whether `op` accesses the host's own stack (an `llvm.alloca`, such as a
/// tensor map the host encodes before a launch).
static bool accessesHostStack(Operation *op) {
  Value address;
  if (auto load = dyn_cast<LLVM::LoadOp>(op))
    address = load.getAddr();
  else if (auto store = dyn_cast<LLVM::StoreOp>(op))
    address = store.getAddr();
  return address && address.getDefiningOp<LLVM::AllocaOp>();
}

/// Checks that `fn` neither loads nor stores memory other than its stack.
static LogicalResult verifyNoHostMemoryAccess(LLVM::LLVMFuncOp fn) {
  WalkResult result = fn.walk([](Operation *op) {
    if (!isa<LLVM::LoadOp, LLVM::StoreOp, LLVM::MemcpyOp, LLVM::MemmoveOp,
             LLVM::MemsetOp>(op) ||
        accessesHostStack(op))
      return WalkResult::advance();
    op->emitError() << "host code would access device memory through '"
                    << op->getName()
                    << "'; every operation on buffers must run in a kernel";
    return WalkResult::interrupt();
  });
  return failure(result.wasInterrupted());
}

void DeviceConstantsPass::runOnOperation() {
  ModuleOp module = getOperation();
  DataLayout layout(module);
  SmallVector<LLVM::AddressOfOp> references;
  for (auto fn : module.getOps<LLVM::LLVMFuncOp>()) {
    if (failed(verifyNoHostMemoryAccess(fn)))
      return signalPassFailure();
    fn.walk([&](LLVM::AddressOfOp ref) { references.push_back(ref); });
  }

  for (LLVM::AddressOfOp ref : references) {
    auto global = dyn_cast_or_null<LLVM::GlobalOp>(
        module.lookupSymbol(ref.getGlobalNameAttr()));
    if (!global)
      continue;
    if (!global.getConstant()) {
      ref.emitError() << "host code refers to the mutable global @"
                      << global.getSymName()
                      << "; only constant globals can be placed on the device";
      return signalPassFailure();
    }
    uint64_t bytes = layout.getTypeSize(global.getType()).getFixedValue();
    LLVM::LLVMFuncOp fn = getOrInsertDeviceConstantFn(module);
    OpBuilder builder(ref->getContext());
    builder.setInsertionPointAfter(ref);
    auto size = LLVM::ConstantOp::create(builder, ref.getLoc(),
                                         builder.getI64Type(), bytes);
    auto call = LLVM::CallOp::create(builder, ref.getLoc(), fn,
                                     ValueRange{ref.getResult(), size});
    ref.getResult().replaceAllUsesExcept(call.getResult(), call);
  }
}
