// RUN: tesa-opt %s --tesa-tile-parallel-loops --split-input-file | FileCheck %s
// RUN: tesa-opt %s --tesa-tile-parallel-loops=threads-per-block=64 --split-input-file | FileCheck %s --check-prefix=SMALL
// RUN: not tesa-opt %s --tesa-tile-parallel-loops=threads-per-block=48 --split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: error: threads-per-block must be a power of two between 1 and 1024, not 48

// The innermost dimension takes 128 threads (100 rounded up), the next one
// the 2 left; the tiles check their bounds.
// CHECK-LABEL: func.func @rows_and_columns
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK-DAG: %[[STEP_I:.*]] = arith.muli %{{.*}}, %[[C2]]
// CHECK-DAG: %[[STEP_J:.*]] = arith.muli %{{.*}}, %[[C128]]
// CHECK: scf.parallel (%[[I:.*]], %[[J:.*]]) = {{.*}} step (%[[STEP_I]], %[[STEP_J]])
// CHECK: scf.parallel ({{.*}}) = {{.*}} to (%[[STEP_I]], %[[STEP_J]])
// CHECK: scf.if
// CHECK: memref.store
// With 64 threads a block, the innermost dimension takes them all.
// SMALL-LABEL: func.func @rows_and_columns
// SMALL-DAG: %[[C1:.*]] = arith.constant 1 : index
// SMALL-DAG: %[[C64:.*]] = arith.constant 64 : index
// SMALL-DAG: %[[STEP_I:.*]] = arith.muli %{{.*}}, %[[C1]]
// SMALL-DAG: %[[STEP_J:.*]] = arith.muli %{{.*}}, %[[C64]]
// SMALL: scf.parallel ({{.*}}) = {{.*}} step (%[[STEP_I]], %[[STEP_J]])
func.func @rows_and_columns(%a: memref<16x100xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c100 = arith.constant 100 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c100) step (%c1, %c1) {
    memref.store %one, %a[%i, %j] : memref<16x100xf32>
  }
  return
}

// -----

// Small dimensions share the block: 16 x 4 for the two innermost, the 4
// threads left for the outermost.
// CHECK-LABEL: func.func @heads
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK: %[[S0:.*]] = arith.muli %{{.*}}, %[[C4]]
// CHECK: %[[S1:.*]] = arith.muli %{{.*}}, %[[C4]]
// CHECK: %[[S2:.*]] = arith.muli %{{.*}}, %[[C16]]
// CHECK: scf.parallel {{.*}} step (%[[S0]], %[[S1]], %[[S2]])
// CHECK: scf.parallel {{.*}} to (%[[S0]], %[[S1]], %[[S2]])
func.func @heads(%a: memref<16x4x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %h, %j) = (%c0, %c0, %c0) to (%c16, %c4, %c16) step (%c1, %c1, %c1) {
    memref.store %one, %a[%i, %h, %j] : memref<16x4x16xf32>
  }
  return
}

// -----

// A grid has three block dimensions: the two leading dimensions of a
// four-dimensional loop collapse into one (which would otherwise run one
// after the other in every thread), and the three left are tiled.
// CHECK-LABEL: func.func @four_dimensions
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK: %[[S0:.*]] = arith.muli %{{.*}}, %[[C4]] : index
// CHECK: %[[S1:.*]] = arith.muli %{{.*}}, %[[C2]]{{.*}} : index
// CHECK: %[[S2:.*]] = arith.muli %{{.*}}, %[[C2]]{{.*}} : index
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) = {{.*}} step (%[[S0]], %[[S1]], %[[S2]])
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) = {{.*}} to (%[[S0]], %[[S1]], %[[S2]])
// CHECK: arith.remsi
// CHECK: arith.divsi
func.func @four_dimensions(%a: memref<2x2x2x2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j, %k, %l) = (%c0, %c0, %c0, %c0) to (%c2, %c2, %c2, %c2) step (%c1, %c1, %c1, %c1) {
    memref.store %one, %a[%i, %j, %k, %l] : memref<2x2x2x2xf32>
  }
  return
}

// -----

// The first of three dimensions takes thread z, which has at most 64
// threads: 1024 rows with unit dimensions after them get 64, not 256.
// CHECK-LABEL: func.func @rows_on_thread_z
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[S0:.*]] = arith.muli %{{.*}}, %[[C64]]
// CHECK: scf.parallel {{.*}} step (%[[S0]], %{{.*}}, %{{.*}})
func.func @rows_on_thread_z(%a: memref<1024x1x1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c1024 = arith.constant 1024 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%c1024, %c1, %c1) step (%c1, %c1, %c1) {
    memref.store %one, %a[%i, %j, %k] : memref<1024x1x1xf32>
  }
  return
}

// -----

// Dimensions of one iteration take no thread dimension: the 64 rows get the
// threads.
// CHECK-LABEL: func.func @unit_dimensions
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[S0:.*]] = arith.muli %{{.*}}, %[[C64]]
// CHECK: scf.parallel {{.*}} step (%[[S0]], %{{.*}}, %{{.*}})
func.func @unit_dimensions(%a: memref<64x1x1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%c64, %c1, %c1) step (%c1, %c1, %c1) {
    memref.store %one, %a[%i, %j, %k] : memref<64x1x1xf32>
  }
  return
}

// -----

// A bound known only at run time counts as large: its dimension takes all
// 256 threads; the bounds check compares with the run-time bound.
// CHECK-LABEL: func.func @dynamic_bound
// CHECK-SAME: (%{{.*}}: memref<?xf32>, %[[N:.*]]: index)
// CHECK: %[[C256:.*]] = arith.constant 256 : index
// CHECK: %[[STEP:.*]] = arith.muli %{{.*}}, %[[C256]]
// CHECK: scf.parallel (%[[I:.*]]) = (%{{.*}}) to (%[[N]]) step (%[[STEP]])
// CHECK: scf.parallel
// CHECK: arith.cmpi ult, %{{.*}}, %[[N]]
func.func @dynamic_bound(%a: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %one, %a[%i] : memref<?xf32>
  }
  return
}

// -----

// Loops with a step other than 1, with reductions, and loops already nested
// in a parallel loop are left alone.
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-4: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK-NOT: scf.if
func.func @left_alone(%a: memref<?xf32>, %n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c2) {
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      memref.store %zero, %a[%j] : memref<?xf32>
    }
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c2) {
    memref.store %zero, %a[%i] : memref<?xf32>
  }
  %sum = scf.parallel (%i) = (%c0) to (%c8) step (%c1) init (%zero) -> f32 {
    %v = memref.load %a[%i] : memref<?xf32>
    scf.reduce(%v : f32) {
    ^bb0(%x: f32, %y: f32):
      %s = arith.addf %x, %y : f32
      scf.reduce.return %s : f32
    }
  }
  return %sum : f32
}
