// RUN: tesa-opt %s --tesa-host-buffers-to-device --split-input-file -verify-diagnostics | FileCheck %s

// Allocations move to the device and are freed at the end of their block;
// a contiguous copy becomes a device copy.
// CHECK-LABEL: func.func @alloc_and_copy
// CHECK-SAME: (%[[IN:.*]]: memref<16x32xf32>, %[[OUT:.*]]: memref<16x32xf32>)
// CHECK: %[[BUF:.*]] = gpu.alloc () : memref<16x32xf32>
// CHECK: gpu.memcpy %[[BUF]], %[[IN]]
// CHECK: gpu.memcpy %[[OUT]], %[[BUF]]
// CHECK: gpu.dealloc %[[BUF]]
// CHECK-NEXT: return
// CHECK-NOT: memref.
func.func @alloc_and_copy(%in: memref<16x32xf32>, %out: memref<16x32xf32>) {
  %buf = memref.alloc() : memref<16x32xf32>
  memref.copy %in, %buf : memref<16x32xf32> to memref<16x32xf32>
  memref.copy %buf, %out : memref<16x32xf32> to memref<16x32xf32>
  return
}

// -----

// An existing free is kept where it is, as a device free.
// CHECK-LABEL: func.func @freed_early
// CHECK: %[[BUF:.*]] = gpu.alloc () : memref<8xi8>
// CHECK-NEXT: gpu.dealloc %[[BUF]]
// CHECK-NEXT: arith.constant
// CHECK-NOT: gpu.dealloc
func.func @freed_early() {
  %buf = memref.alloc() : memref<8xi8>
  memref.dealloc %buf : memref<8xi8>
  %c = arith.constant 0 : index
  return
}

// -----

// A copy into a strided view runs as a kernel (linalg.copy, for the generic
// path), not as a device copy.
// CHECK-LABEL: func.func @strided_copy
// CHECK: linalg.copy ins(%{{.*}} : memref<4x4xf32>) outs(%{{.*}} : memref<4x4xf32, strided<[8, 1]>>)
func.func @strided_copy(%in: memref<4x4xf32>, %out: memref<4x8xf32>) {
  %view = memref.subview %out[0, 0] [4, 4] [1, 1] : memref<4x8xf32> to memref<4x4xf32, strided<[8, 1]>>
  memref.copy %in, %view : memref<4x4xf32> to memref<4x4xf32, strided<[8, 1]>>
  return
}

// -----

// Contiguous slices at an offset are copied by a kernel too: the lowering of
// gpu.memcpy takes identity layouts only.
// CHECK-LABEL: func.func @offset_copy
// CHECK-NOT: gpu.memcpy
// CHECK: linalg.copy ins(%{{.*}} : memref<4x4xf32, strided<[4, 1], offset: 16>>) outs(%{{.*}} : memref<4x4xf32, strided<[4, 1], offset: 16>>)
func.func @offset_copy(%in: memref<2x4x4xf32>, %out: memref<2x4x4xf32>) {
  %from = memref.subview %in[1, 0, 0] [1, 4, 4] [1, 1, 1] : memref<2x4x4xf32> to memref<4x4xf32, strided<[4, 1], offset: 16>>
  %to = memref.subview %out[1, 0, 0] [1, 4, 4] [1, 1, 1] : memref<2x4x4xf32> to memref<4x4xf32, strided<[4, 1], offset: 16>>
  memref.copy %from, %to : memref<4x4xf32, strided<[4, 1], offset: 16>> to memref<4x4xf32, strided<[4, 1], offset: 16>>
  return
}

// -----

func.func @escapes() -> memref<4xf32> {
  // expected-error @below {{buffer leaves its block through 'func.return'; device buffers must be freed where they are allocated (run --buffer-results-to-out-params first)}}
  %buf = memref.alloc() : memref<4xf32>
  return %buf : memref<4xf32>
}

// -----

func.func @stack() {
  // expected-error @below {{host stack buffer cannot be given to a kernel; allocate it with memref.alloc}}
  %buf = memref.alloca() : memref<4xf32>
  return
}
