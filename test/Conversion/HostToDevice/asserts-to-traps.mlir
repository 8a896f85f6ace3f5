// RUN: tesa-opt %s --tesa-asserts-to-traps | FileCheck %s

// An index check inside a parallel loop (as torch-mlir writes for embedding
// lookups) becomes a trap on the failing branch.
// CHECK-LABEL: func.func @gather
// CHECK-SAME: (%[[IDS:.*]]: memref<16xi64>, %[[TABLE:.*]]: memref<100x8xf32>, %[[OUT:.*]]: memref<16x8xf32>)
// CHECK: scf.parallel
// CHECK: %[[IN_RANGE:.*]] = arith.cmpi slt
// CHECK-NOT: cf.assert
// CHECK: %[[TRUE:.*]] = arith.constant true
// CHECK: %[[FAILED:.*]] = arith.xori %[[IN_RANGE]], %[[TRUE]] : i1
// CHECK: scf.if %[[FAILED]] {
// CHECK-NEXT: llvm.intr.trap
// CHECK-NEXT: }
// CHECK: memref.load %[[TABLE]]
func.func @gather(%ids: memref<16xi64>, %table: memref<100x8xf32>,
                  %out: memref<16x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c100 = arith.constant 100 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c8) step (%c1, %c1) {
    %id = memref.load %ids[%i] : memref<16xi64>
    %row = arith.index_cast %id : i64 to index
    %in_range = arith.cmpi slt, %row, %c100 : index
    cf.assert %in_range, "index must be smaller than dim size"
    %v = memref.load %table[%row, %j] : memref<100x8xf32>
    memref.store %v, %out[%i, %j] : memref<16x8xf32>
    scf.reduce
  }
  return
}

// Asserts of host code stay.
// CHECK-LABEL: func.func @host_check
// CHECK-SAME: (%[[OK:.*]]: i1)
// CHECK-NEXT: cf.assert %[[OK]], "shapes must match"
// CHECK-NOT: llvm.intr.trap
func.func @host_check(%ok: i1) {
  cf.assert %ok, "shapes must match"
  return
}
