// RUN: tesa-opt %s --tesa-device-constants --split-input-file -verify-diagnostics | FileCheck %s

// A constant the host hands to kernels is read through the runtime's cached
// device copy, sized from the global's type.
// CHECK-LABEL: llvm.func @uses_constant
// CHECK: %[[HOST:.*]] = llvm.mlir.addressof @__constant_4x8xf32 : !llvm.ptr
// CHECK: %[[BYTES:.*]] = llvm.mlir.constant(128 : i64) : i64
// CHECK: %[[DEVICE:.*]] = llvm.call @mgpuTesaDeviceConstant(%[[HOST]], %[[BYTES]])
// CHECK: llvm.return %[[DEVICE]]
// CHECK: llvm.func @mgpuTesaDeviceConstant(!llvm.ptr, i64) -> !llvm.ptr
module {
  llvm.mlir.global private constant @__constant_4x8xf32(dense<1.0> : tensor<4x8xf32>) : !llvm.array<4 x array<8 x f32>>
  llvm.func @uses_constant() -> !llvm.ptr {
    %0 = llvm.mlir.addressof @__constant_4x8xf32 : !llvm.ptr
    llvm.return %0 : !llvm.ptr
  }
}

// -----

module {
  llvm.mlir.global private @counter(0 : i32) : i32
  llvm.func @uses_mutable() -> !llvm.ptr {
    // expected-error @below {{host code refers to the mutable global @counter; only constant globals can be placed on the device}}
    %0 = llvm.mlir.addressof @counter : !llvm.ptr
    llvm.return %0 : !llvm.ptr
  }
}

// -----

module {
  llvm.func @reads_memory(%p: !llvm.ptr) -> f32 {
    // expected-error @below {{host code would access device memory through 'llvm.load'; every operation on buffers must run in a kernel}}
    %0 = llvm.load %p : !llvm.ptr -> f32
    llvm.return %0 : f32
  }
}
