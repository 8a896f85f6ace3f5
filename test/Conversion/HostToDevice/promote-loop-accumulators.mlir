// RUN: tesa-opt %s --split-input-file --tesa-promote-loop-accumulators | FileCheck %s

// A depthwise convolution after scf-parallel-loop-fusion: the fill, the
// sum over the window (a load and store of %acc per term) and the bias and
// ReLU6 in one loop. The sum is carried by the loops, the bias reads it,
// and %acc, no longer read, is gone.
// CHECK-LABEL: func.func @depthwise
// CHECK-SAME: %[[IN:[^:]+]]: memref<1x8x10x10xf32>, %[[F:[^:]+]]: memref<8x3x3xf32>, %[[B:[^:]+]]: memref<8xf32>, %[[OUT:[^:]+]]: memref<1x8x8x8xf32>)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NOT: memref.alloc
// CHECK: scf.parallel (%[[N:.*]], %[[C:.*]], %[[Y:.*]], %[[X:.*]]) =
// CHECK-NOT: memref.store
// CHECK: %[[SUM:.*]] = scf.for %{{.*}} iter_args(%[[OUTER:.*]] = %[[ZERO]]) -> (f32) {
// CHECK: %[[ROW:.*]] = scf.for %{{.*}} iter_args(%[[INNER:.*]] = %[[OUTER]]) -> (f32) {
// CHECK: memref.load %[[IN]]
// CHECK: memref.load %[[F]]
// CHECK: %[[NEXT:.*]] = arith.addf %[[INNER]], %{{.*}} : f32
// CHECK: scf.yield %[[NEXT]] : f32
// CHECK: scf.yield %[[ROW]] : f32
// CHECK: %[[BIAS:.*]] = memref.load %[[B]][%[[C]]]
// CHECK: %[[S:.*]] = arith.addf %[[SUM]], %[[BIAS]] : f32
// CHECK: memref.store %{{.*}}, %[[OUT]][%[[N]], %[[C]], %[[Y]], %[[X]]]
// CHECK-NOT: memref.store
#window = affine_map<(d0, d1) -> (d0 + d1)>
func.func @depthwise(%in: memref<1x8x10x10xf32>, %f: memref<8x3x3xf32>, %b: memref<8xf32>, %out: memref<1x8x8x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %acc = memref.alloc() : memref<1x8x8x8xf32>
  scf.parallel (%n, %c, %y, %x) = (%c0, %c0, %c0, %c0) to (%c1, %c8, %c8, %c8) step (%c1, %c1, %c1, %c1) {
    memref.store %zero, %acc[%n, %c, %y, %x] : memref<1x8x8x8xf32>
    scf.for %i = %c0 to %c3 step %c1 {
      scf.for %j = %c0 to %c3 step %c1 {
        %yi = affine.apply #window(%y, %i)
        %xj = affine.apply #window(%x, %j)
        %v = memref.load %in[%n, %c, %yi, %xj] : memref<1x8x10x10xf32>
        %w = memref.load %f[%c, %i, %j] : memref<8x3x3xf32>
        %a = memref.load %acc[%n, %c, %y, %x] : memref<1x8x8x8xf32>
        %p = arith.mulf %v, %w : f32
        %s = arith.addf %a, %p : f32
        memref.store %s, %acc[%n, %c, %y, %x] : memref<1x8x8x8xf32>
      }
    }
    %r = memref.load %acc[%n, %c, %y, %x] : memref<1x8x8x8xf32>
    %bias = memref.load %b[%c] : memref<8xf32>
    %t = arith.addf %r, %bias : f32
    %lo = arith.maximumf %t, %zero : f32
    %hi = arith.minimumf %lo, %six : f32
    memref.store %hi, %out[%n, %c, %y, %x] : memref<1x8x8x8xf32>
    scf.reduce
  }
  memref.dealloc %acc : memref<1x8x8x8xf32>
  return
}

// -----

// The loop also writes a buffer that may alias the accumulator's (both are
// arguments): the sum stays in memory.
// CHECK-LABEL: func.func @aliasing_write
// CHECK: scf.for
// CHECK-NOT: iter_args
// CHECK: memref.load %{{.*}} : memref<4xf32>
// CHECK: memref.store
// CHECK: memref.store
func.func @aliasing_write(%acc: memref<4xf32>, %other: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.for %k = %c0 to %c4 step %c1 {
      %a = memref.load %acc[%i] : memref<4xf32>
      %s = arith.addf %a, %a : f32
      memref.store %s, %other[%k] : memref<4xf32>
      memref.store %s, %acc[%i] : memref<4xf32>
    }
    scf.reduce
  }
  return
}

// -----

// A buffer another loop reads stays, with its last store (the fill's is
// overwritten unread).
// CHECK-LABEL: func.func @read_later
// CHECK: %[[ACC:.*]] = memref.alloc
// CHECK: scf.parallel
// CHECK-NOT: memref.store
// CHECK: %[[SUM:.*]] = scf.for {{.*}} iter_args
// CHECK: memref.store %[[SUM]], %[[ACC]]
// CHECK: scf.parallel
// CHECK: memref.load %[[ACC]]
func.func @read_later(%in: memref<4x4xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %acc = memref.alloc() : memref<4xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    memref.store %zero, %acc[%i] : memref<4xf32>
    scf.for %k = %c0 to %c4 step %c1 {
      %v = memref.load %in[%i, %k] : memref<4x4xf32>
      %a = memref.load %acc[%i] : memref<4xf32>
      %s = arith.addf %a, %v : f32
      memref.store %s, %acc[%i] : memref<4xf32>
    }
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %j = arith.subi %c4, %i : index
    %k = arith.subi %j, %c1 : index
    %v = memref.load %acc[%k] : memref<4xf32>
    memref.store %v, %out[%i] : memref<4xf32>
    scf.reduce
  }
  return
}

// -----

// A device buffer that the loop only writes, once its value is forwarded,
// is not allocated.
// CHECK-LABEL: func.func @device_buffer
// CHECK-NOT: gpu.alloc
// CHECK: scf.parallel
// CHECK: %[[V:.*]] = memref.load %{{.*}} : memref<4xf32>
// CHECK: %[[D:.*]] = arith.addf %[[V]], %[[V]] : f32
// CHECK: memref.store %[[D]], %{{.*}} : memref<4xf32>
// CHECK-NOT: gpu.dealloc
func.func @device_buffer(%in: memref<4xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %tmp = gpu.alloc () : memref<4xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %v = memref.load %in[%i] : memref<4xf32>
    memref.store %v, %tmp[%i] : memref<4xf32>
    %w = memref.load %tmp[%i] : memref<4xf32>
    %d = arith.addf %w, %w : f32
    memref.store %d, %out[%i] : memref<4xf32>
    scf.reduce
  }
  gpu.dealloc %tmp : memref<4xf32>
  return
}
