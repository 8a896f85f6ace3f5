// RUN: tesa-opt %s --split-input-file --verify-diagnostics --tesa-order-constant-globals | FileCheck %s

// The globals are renamed and moved to the start of the module in the order
// of their first use: @f's constant first, then @g's; an unused one last.
// Other globals keep their names and places.
// CHECK-LABEL: module
// CHECK-NEXT: memref.global "private" constant @__tesa_constant_0 : memref<3xf32> = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]>
// CHECK-NEXT: memref.global "private" constant @__tesa_constant_1 : memref<2xf32> = dense<[1.000000e+00, 2.000000e+00]>
// CHECK-NEXT: memref.global "private" constant @__tesa_constant_2 : memref<1xf32> = dense<4.000000e+00>
// CHECK-NEXT: memref.global "private" constant @weights : memref<2xf32>
// CHECK-LABEL: func.func @f
// CHECK: memref.get_global @__tesa_constant_0 : memref<3xf32>
// CHECK: memref.get_global @weights : memref<2xf32>
// CHECK-LABEL: func.func @g
// CHECK: memref.get_global @__tesa_constant_1 : memref<2xf32>
// CHECK: memref.get_global @__tesa_constant_0 : memref<3xf32>
memref.global "private" constant @__constant_2xf32 : memref<2xf32> = dense<[1.0, 2.0]>
memref.global "private" constant @__constant_1xf32 : memref<1xf32> = dense<4.0>
memref.global "private" constant @weights : memref<2xf32> = dense<[5.0, 6.0]>
memref.global "private" constant @__constant_3xf32 : memref<3xf32> = dense<[1.0, 2.0, 3.0]>
func.func @f() -> (memref<3xf32>, memref<2xf32>) {
  %0 = memref.get_global @__constant_3xf32 : memref<3xf32>
  %1 = memref.get_global @weights : memref<2xf32>
  return %0, %1 : memref<3xf32>, memref<2xf32>
}
func.func @g() -> (memref<2xf32>, memref<3xf32>) {
  %0 = memref.get_global @__constant_2xf32 : memref<2xf32>
  %1 = memref.get_global @__constant_3xf32 : memref<3xf32>
  return %0, %1 : memref<2xf32>, memref<3xf32>
}

// -----

// A module that already has a symbol of the new name cannot be renamed.
memref.global "private" constant @__tesa_constant_0 : memref<1xf32> = dense<1.0>
// expected-error @+1 {{cannot rename the constant global to '__tesa_constant_0': the module already has a symbol of that name}}
memref.global "private" constant @__constant_1xf32 : memref<1xf32> = dense<2.0>
func.func @h() -> memref<1xf32> {
  %0 = memref.get_global @__constant_1xf32 : memref<1xf32>
  return %0 : memref<1xf32>
}
