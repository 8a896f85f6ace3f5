//===- ClusterSums.cpp - Split-K sums added up across a cluster ----------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/ClusterSums.h"
#include "tesa/Codegen/StagedTile.h"
#include "tesa/Codegen/TensorMap.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;
using namespace tesa;

Value ClusterSums::getAddress(Value thread, Value i) {
  Value offset = e.affine(e.add(e.affine(i, threads), thread), 4);
  return getSharedPointer(e, e.add(base, offset));
}

void ClusterSums::write(Value thread, int64_t i, Value sum) {
  assert(i < count && "sum outside the area");
  LLVM::StoreOp::create(e.b, sum, getAddress(thread, e.index(i)));
}

void ClusterSums::barrier() { emitClusterBarrier(e); }

Value ClusterSums::add(Value thread, Value i, int64_t blocks) {
  assert(blocks > 0 && "no block's sums to add");
  Value local = getAddress(thread, i);
  auto clusterPointer =
      LLVM::LLVMPointerType::get(e.b.getContext(), kSharedClusterSpace);
  Value total;
  for (int64_t rank = 0; rank < blocks; ++rank) {
    Value remote = NVVM::MapaOp::create(
        e.b, clusterPointer, local,
        arith::ConstantOp::create(e.b, e.b.getI32IntegerAttr(rank)));
    Value sum = LLVM::LoadOp::create(e.b, e.b.getF32Type(), remote);
    total = total ? arith::AddFOp::create(e.b, total, sum) : sum;
  }
  return total;
}
