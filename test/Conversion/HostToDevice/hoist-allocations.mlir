// RUN: tesa-opt %s --split-input-file --tesa-hoist-allocations --scf-parallel-loop-fusion | FileCheck %s

// An f16 depthwise convolution's f32 sum, then its rounding and ReLU6 into
// an f16 buffer allocated between the two loops: with the allocation moved
// to the start of the block, the two loops are adjacent and fuse.
// CHECK-LABEL: func.func @sum_then_round
// CHECK-NEXT: %[[SUM:.*]] = gpu.alloc () : memref<8x8xf32>
// CHECK-NEXT: %[[OUT:.*]] = gpu.alloc () : memref<8x8xf16>
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %[[SUM]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK-NOT: scf.parallel
// CHECK: return %[[OUT]]
func.func @sum_then_round(%x: memref<8x8xf16>) -> memref<8x8xf16> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %sum = gpu.alloc () : memref<8x8xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<8x8xf16>
    %w = arith.extf %v : f16 to f32
    %s = arith.addf %w, %w : f32
    memref.store %s, %sum[%i, %j] : memref<8x8xf32>
    scf.reduce
  }
  %out = gpu.alloc () : memref<8x8xf16>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c8) step (%c1, %c1) {
    %s = memref.load %sum[%i, %j] : memref<8x8xf32>
    %r = arith.truncf %s : f32 to f16
    memref.store %r, %out[%i, %j] : memref<8x8xf16>
    scf.reduce
  }
  return %out : memref<8x8xf16>
}

// -----

// An allocation whose size is an operand stays where it is.
// CHECK-LABEL: func.func @dynamic_size
// CHECK: memref.load
// CHECK: memref.alloc(%{{.*}}) : memref<?xf32>
func.func @dynamic_size(%x: memref<4xindex>) -> memref<?xf32> {
  %c0 = arith.constant 0 : index
  %n = memref.load %x[%c0] : memref<4xindex>
  %a = memref.alloc(%n) : memref<?xf32>
  return %a : memref<?xf32>
}
