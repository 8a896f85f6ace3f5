// RUN: tesa-opt %s --tesa-programmatic-launch --split-input-file | FileCheck %s
// RUN: tesa-opt %s --tesa-programmatic-launch --tesa-programmatic-launch --split-input-file | FileCheck %s --check-prefix=TWICE

// Every kernel waits for its predecessor before its first instruction; device functions are left alone, and the
// module gets the runtime's marker.

// CHECK-LABEL: gpu.module @kernels
// CHECK:         llvm.mlir.global external constant @__tesa_programmatic_launch(1 : i8) {addr_space = 1 : i32} : i8
// CHECK-LABEL:   gpu.func @scale
// CHECK-NEXT:      nvvm.griddepcontrol wait
// CHECK-NEXT:      %[[TID:.*]] = gpu.thread_id x
// CHECK-NEXT:      memref.load %{{.*}}[%[[TID]]]
// CHECK-LABEL:   gpu.func @helper
// CHECK-NOT:       nvvm.griddepcontrol
// CHECK:           gpu.return

// TWICE-COUNT-1: llvm.mlir.global external constant @__tesa_programmatic_launch
// TWICE-COUNT-1: nvvm.griddepcontrol wait
// TWICE-NOT:     nvvm.griddepcontrol
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @scale(%x: memref<64xf32>) kernel {
      %i = gpu.thread_id x
      %v = memref.load %x[%i] : memref<64xf32>
      %w = arith.addf %v, %v : f32
      memref.store %w, %x[%i] : memref<64xf32>
      gpu.return
    }
    gpu.func @helper(%x: f32) -> f32 {
      gpu.return %x : f32
    }
  }
}

// -----

// A module without kernels is not marked.

// CHECK-LABEL: gpu.module @no_kernels
// CHECK-NOT:     __tesa_programmatic_launch
module attributes {gpu.container_module} {
  gpu.module @no_kernels {
    gpu.func @helper(%x: f32) -> f32 {
      gpu.return %x : f32
    }
  }
}
