//===- TensorMap.cpp - TMA copies and mbarriers in kernels ----------------===//
//
// Part of the tesa project.
//
//===----------------------------------------------------------------------===//

#include "tesa/Codegen/TensorMap.h"
#include "tesa/Codegen/StagedTile.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace tesa;

/// How long a thread waiting on an mbarrier may be suspended per try, in
/// nanoseconds (a hint).
static constexpr int32_t kWaitTicks = 1000000;

Type tesa::getTensorMapType(MLIRContext *context) {
  return LLVM::LLVMArrayType::get(IntegerType::get(context, 64), 16);
}

Value TensorMapEmitter::getAddress(Value map) {
  // --tesa-tensor-map-params replaces the cast by the parameter's address.
  return UnrealizedConversionCastOp::create(
             e.b, LLVM::LLVMPointerType::get(e.b.getContext()), map)
      .getResult(0);
}

Value TensorMapEmitter::toShared(Value address) {
  return getSharedPointer(e, address);
}

Value TensorMapEmitter::toI32(Value index) {
  return arith::IndexCastUIOp::create(e.b, e.b.getI32Type(), index);
}

void TensorMapEmitter::prefetch(Value map) {
  NVVM::PrefetchOp::create(e.b, /*cacheLevel=*/nullptr,
                           /*evictPriority=*/nullptr, getAddress(map),
                           /*predicate=*/Value(), /*tensormap=*/true,
                           /*uniform=*/false, /*in_param_space=*/true);
}

void TensorMapEmitter::initBarrier(Value barrier, int64_t count) {
  NVVM::MBarrierInitOp::create(
      e.b, toShared(barrier),
      arith::ConstantOp::create(e.b, e.b.getI32IntegerAttr(count)),
      /*predicate=*/Value());
}

void TensorMapEmitter::fenceBarrierInit() {
  NVVM::FenceMbarrierInitOp::create(e.b);
}

void TensorMapEmitter::arriveExpectingBytes(Value barrier, int64_t bytes) {
  NVVM::MBarrierArriveExpectTxOp::create(
      e.b, /*res=*/Type(), toShared(barrier),
      arith::ConstantOp::create(e.b, e.b.getI32IntegerAttr(bytes)),
      NVVM::MemScopeKind::CTA, /*relaxed=*/false, /*predicate=*/Value());
}

void TensorMapEmitter::arriveExpectingBytes(Value barrier, Value bytes) {
  NVVM::MBarrierArriveExpectTxOp::create(
      e.b, /*res=*/Type(), toShared(barrier), toI32(bytes),
      NVVM::MemScopeKind::CTA, /*relaxed=*/false, /*predicate=*/Value());
}

void TensorMapEmitter::arrive(Value barrier) {
  NVVM::MBarrierArriveOp::create(e.b, /*res=*/Type(), toShared(barrier),
                                 /*count=*/Value());
}

void TensorMapEmitter::arriveIf(Value barrier, Value predicate) {
  // An arrival expecting no bytes is a plain arrival; this form takes a
  // predicate.
  NVVM::MBarrierArriveExpectTxOp::create(
      e.b, /*res=*/Type(), toShared(barrier),
      arith::ConstantOp::create(e.b, e.b.getI32IntegerAttr(0)),
      NVVM::MemScopeKind::CTA, /*relaxed=*/false, predicate);
}

void TensorMapEmitter::wait(Value barrier, Value parity) {
  NVVM::MBarrierTryWaitParityOp::create(
      e.b, toShared(barrier), toI32(parity),
      arith::ConstantOp::create(e.b, e.b.getI32IntegerAttr(kWaitTicks)));
}

void TensorMapEmitter::load(Value mapAddress, Value inner, Value outer,
                            Value destination, Value barrier) {
  loadBox(mapAddress, inner, outer, destination, barrier, Value());
}

void TensorMapEmitter::loadToCluster(Value mapAddress, Value inner, Value outer,
                                     Value destination, Value barrier,
                                     int64_t blocks) {
  assert(blocks > 1 && blocks <= 16 && "a multicast to 2 to 16 blocks");
  Value mask = arith::ConstantOp::create(
      e.b, e.b.getI16IntegerAttr(int16_t((1 << blocks) - 1)));
  loadBox(mapAddress, inner, outer, destination, barrier, mask);
}

void TensorMapEmitter::arriveInClusterIf(Value barrier, Value rank,
                                         Value predicate) {
  // No NVVM op arrives on another block's mbarrier under a predicate: the
  // address mapped into block `rank`'s window, then inline PTX. The
  // arrival releases at the block's scope, as CUTLASS's cluster barriers
  // do: it only says that this block's wgmma products no longer read the
  // slot (they completed before it). `.release.cluster` made each arrival
  // wait on a fence (membar stalls): the slab groups' clusters took 19.3
  // against 10.0 us without clusters (H100, 1408 x 256 x 1536).
  MLIRContext *context = e.b.getContext();
  Value remote = NVVM::MapaOp::create(
      e.b, LLVM::LLVMPointerType::get(context, kSharedClusterSpace),
      toShared(barrier), rank);
  Value flag = arith::ExtUIOp::create(e.b, e.b.getI32Type(), predicate);
  LLVM::InlineAsmOp::create(
      e.b, /*res=*/Type(), ValueRange{remote, flag},
      "{ .reg .pred p; setp.ne.b32 p, $1, 0; "
      "@p mbarrier.arrive.shared::cluster.b64 _, [$0]; }",
      "l,r,~{memory}", /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None,
      LLVM::AsmDialectAttr::get(context, LLVM::AsmDialect::AD_ATT),
      ArrayAttr());
}

void TensorMapEmitter::loadBox(Value mapAddress, Value inner, Value outer,
                               Value destination, Value barrier,
                               Value multicastMask) {
  // The destination in the cluster's shared window (this block's own; a
  // multicast writes the same offset in each block).
  Value cluster = LLVM::AddrSpaceCastOp::create(
      e.b, LLVM::LLVMPointerType::get(e.b.getContext(), kSharedClusterSpace),
      toShared(destination));
  NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
      e.b, cluster, mapAddress, ValueRange{toI32(inner), toI32(outer)},
      toShared(barrier), /*im2colOffsets=*/ValueRange(), multicastMask,
      /*l2CacheHint=*/Value(),
      NVVM::TMALoadModeAttr::get(e.b.getContext(), NVVM::TMALoadMode::TILE),
      /*isCTAOnly=*/BoolAttr(), /*group=*/NVVM::CTAGroupKindAttr(),
      /*predicate=*/Value());
}

void TensorMapEmitter::loadBytes(Value source, int64_t bytes, Value destination,
                                 Value barrier) {
  assert(bytes % 16 == 0 && "bulk copies move multiples of 16 bytes");
  MLIRContext *context = e.b.getContext();
  Value integer = arith::IndexCastUIOp::create(e.b, e.b.getI64Type(), source);
  Value generic = LLVM::IntToPtrOp::create(
      e.b, LLVM::LLVMPointerType::get(context), integer);
  Value global = LLVM::AddrSpaceCastOp::create(
      e.b, LLVM::LLVMPointerType::get(context, 1), generic);
  Value cluster = LLVM::AddrSpaceCastOp::create(
      e.b, LLVM::LLVMPointerType::get(context, kSharedClusterSpace),
      toShared(destination));
  NVVM::CpAsyncBulkGlobalToSharedClusterOp::create(
      e.b, cluster, global, toShared(barrier),
      arith::ConstantOp::create(e.b, e.b.getI32IntegerAttr(bytes)),
      /*multicastMask=*/Value(), /*l2CacheHint=*/Value());
}

Value MBarrierRing::full(Value slot) {
  return e.add(barriers, e.affine(slot, kMBarrierBytes));
}

Value MBarrierRing::empty(Value slot) {
  return e.add(barriers,
               e.affine(slot, kMBarrierBytes, stages * kMBarrierBytes));
}

void MBarrierRing::init(Value thread, int64_t consumers, ValueRange maps) {
  e.ifThen(e.less(thread, 1), [&] {
    for (Value map : maps)
      copies.prefetch(map);
    for (int64_t slot = 0; slot < stages; ++slot) {
      copies.initBarrier(full(e.index(slot)), 1);
      copies.initBarrier(empty(e.index(slot)), consumers * clusterBlocks);
    }
    copies.fenceBarrierInit();
  });
  // A cluster's copies and arrivals reach every block's mbarriers: none
  // may start before all are initialised.
  if (clusterBlocks > 1)
    emitClusterBarrier(e);
  else
    e.barrier();
}

void MBarrierRing::waitUntilFree(Value step, Value slot, Value round) {
  // Step - stages, of the round before, released the slot.
  Value reused = arith::CmpIOp::create(e.b, arith::CmpIPredicate::uge, step,
                                       e.index(stages));
  e.ifThen(reused, [&] {
    copies.wait(empty(slot), e.rem(e.affine(round, 1, 1), 2));
  });
}

void MBarrierRing::waitUntilFull(Value step, Value slot) {
  copies.wait(full(slot), e.rem(e.div(step, stages), 2));
}

Value MBarrierRing::releasesSlots(Value inGroup) {
  return e.less(inGroup, clusterBlocks);
}

void MBarrierRing::releaseIf(Value step, Value predicate, Value inGroup) {
  Value slot = empty(e.rem(step, stages));
  if (clusterBlocks == 1)
    return copies.arriveIf(slot, predicate);
  assert(inGroup && "a ring of several blocks frees a slot in block inGroup");
  copies.arriveInClusterIf(
      slot, arith::IndexCastUIOp::create(e.b, e.b.getI32Type(), inGroup),
      predicate);
}

void tesa::emitClusterBarrier(KernelEmitter &e) {
  UnitAttr aligned = e.b.getUnitAttr();
  NVVM::ClusterArriveOp::create(e.b, aligned);
  NVVM::ClusterWaitOp::create(e.b, aligned);
}
