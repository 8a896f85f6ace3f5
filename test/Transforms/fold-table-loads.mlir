// RUN: tesa-opt %s --split-input-file --tesa-fold-table-loads | FileCheck %s

// Each row's first entry, 12 entries a row: an arithmetic sequence. The
// table is gone once nothing reads it.
// CHECK-NOT: @offsets
// CHECK-LABEL: func.func @row_offsets(
// CHECK-SAME: %[[I:.*]]: index
// CHECK: %[[I32:.*]] = arith.index_castui %[[I]] : index to i32
// CHECK: %[[C12:.*]] = arith.constant 12 : i32
// CHECK: %[[V:.*]] = arith.muli %[[I32]], %[[C12]] : i32
// CHECK: return %[[V]]
memref.global "private" constant @offsets : memref<5xi32> = dense<[0, 12, 24, 36, 48]>
func.func @row_offsets(%i: index) -> i32 {
  %t = memref.get_global @offsets : memref<5xi32>
  %v = memref.load %t[%i] : memref<5xi32>
  return %v : i32
}

// -----

// The step of each entry of rows that keep all three steps: the sequence
// repeats every three entries; a second table shifted by 10 each period.
// CHECK-LABEL: func.func @repeated(
// CHECK-SAME: %[[I:.*]]: index
// CHECK: %[[I32:.*]] = arith.index_castui %[[I]] : index to i32
// CHECK: %[[C3:.*]] = arith.constant 3 : i32
// CHECK: %[[STEP:.*]] = arith.remui %[[I32]], %[[C3]] : i32
// CHECK: %[[J32:.*]] = arith.index_castui %[[I]] : index to i32
// CHECK: %[[P:.*]] = arith.constant 3 : i32
// CHECK: %[[R2:.*]] = arith.remui %[[J32]], %[[P]] : i32
// CHECK: %[[D2:.*]] = arith.divui %[[J32]], %[[P]] : i32
// CHECK: %[[C10:.*]] = arith.constant 10 : i32
// CHECK: %[[Z2:.*]] = arith.muli %[[D2]], %[[C10]] : i32
// CHECK: %[[S2:.*]] = arith.addi %[[R2]], %[[Z2]] : i32
// CHECK: %[[C4:.*]] = arith.constant 4 : i32
// CHECK: %[[SHIFTED:.*]] = arith.addi %[[S2]], %[[C4]] : i32
// CHECK: return %[[STEP]], %[[SHIFTED]]
memref.global "private" constant @steps : memref<6xi32> = dense<[0, 1, 2, 0, 1, 2]>
memref.global "private" constant @shifted : memref<6xi32> = dense<[4, 5, 6, 14, 15, 16]>
func.func @repeated(%i: index) -> (i32, i32) {
  %t = memref.get_global @steps : memref<6xi32>
  %v = memref.load %t[%i] : memref<6xi32>
  %u = memref.get_global @shifted : memref<6xi32>
  %w = memref.load %u[%i] : memref<6xi32>
  return %v, %w : i32, i32
}

// -----

// A constant table, and one with negative values.
// CHECK-LABEL: func.func @constant_and_signed(
// CHECK-SAME: %[[I:.*]]: index
// CHECK: %[[SEVEN:.*]] = arith.constant 7 : i32
// CHECK: %[[I32:.*]] = arith.index_castui %[[I]] : index to i32
// CHECK: %[[CM2:.*]] = arith.constant -2 : i32
// CHECK: %[[M:.*]] = arith.muli %[[I32]], %[[CM2]] : i32
// CHECK: %[[C3:.*]] = arith.constant 3 : i32
// CHECK: %[[V:.*]] = arith.addi %[[M]], %[[C3]] : i32
// CHECK: return %[[SEVEN]], %[[V]]
memref.global "private" constant @sevens : memref<4xi32> = dense<7>
memref.global "private" constant @down : memref<4xi32> = dense<[3, 1, -1, -3]>
func.func @constant_and_signed(%i: index) -> (i32, i32) {
  %t = memref.get_global @sevens : memref<4xi32>
  %v = memref.load %t[%i] : memref<4xi32>
  %u = memref.get_global @down : memref<4xi32>
  %w = memref.load %u[%i] : memref<4xi32>
  return %v, %w : i32, i32
}

// -----

// Irregular tables, mutable globals and wider or index elements stay
// loads.
// CHECK: memref.global "private" constant @kept
// CHECK: memref.global "private" @mutable
// CHECK: memref.global "private" constant @wide
// CHECK: memref.global "private" constant @indices
// CHECK-LABEL: func.func @kept_as_loads(
// CHECK-COUNT-4: memref.load
memref.global "private" constant @kept : memref<5xi32> = dense<[0, 1, 3, 4, 5]>
memref.global "private" @mutable : memref<3xi32> = dense<[0, 1, 2]>
memref.global "private" constant @wide : memref<3xi64> = dense<[0, 1, 2]>
memref.global "private" constant @indices : memref<3xindex> = dense<[0, 1, 2]>
func.func @kept_as_loads(%i: index) -> (i32, i32, i64, index) {
  %t = memref.get_global @kept : memref<5xi32>
  %v = memref.load %t[%i] : memref<5xi32>
  %u = memref.get_global @mutable : memref<3xi32>
  %w = memref.load %u[%i] : memref<3xi32>
  %x = memref.get_global @wide : memref<3xi64>
  %y = memref.load %x[%i] : memref<3xi64>
  %z = memref.get_global @indices : memref<3xindex>
  %n = memref.load %z[%i] : memref<3xindex>
  return %v, %w, %y, %n : i32, i32, i64, index
}
