// RUN: tesa-opt %s --tesa-programmatic-launch --split-input-file | FileCheck %s
// RUN: tesa-opt %s --tesa-programmatic-launch --tesa-programmatic-launch --split-input-file | FileCheck %s --check-prefix=TWICE

// Every kernel waits for its predecessor before its first op that touches memory (here the load after the thread
// id); device functions are left alone, and the module gets the runtime's marker.

// CHECK-LABEL: gpu.module @kernels
// CHECK:         llvm.mlir.global external constant @__tesa_programmatic_launch(1 : i8) {addr_space = 1 : i32} : i8
// CHECK-LABEL:   gpu.func @scale
// CHECK-NEXT:      %[[TID:.*]] = gpu.thread_id x
// CHECK-NEXT:      nvvm.griddepcontrol wait
// CHECK-NEXT:      memref.load %{{.*}}[%[[TID]]]
// CHECK-LABEL:   gpu.func @helper
// CHECK-NOT:       nvvm.griddepcontrol
// CHECK:           gpu.return

// TWICE-LABEL:   gpu.module @kernels
// TWICE-COUNT-1: llvm.mlir.global external constant @__tesa_programmatic_launch
// TWICE-COUNT-1: nvvm.griddepcontrol wait
// TWICE-NOT:     nvvm.griddepcontrol
// TWICE-LABEL:   gpu.module @no_kernels
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

// -----

// A TMA kernel's set-up runs before the wait: thread 0's tensor-map
// prefetch and mbarrier initialisation, the block's barrier and a load from
// a constant table (no kernel writes them). The wait precedes the first op
// that may read what an earlier kernel wrote: the branch with the copy.

// CHECK-LABEL: gpu.module @tma_kernels
// TWICE-LABEL:   gpu.module @tma_kernels
// TWICE-COUNT-1: nvvm.griddepcontrol wait
// TWICE-NOT:     nvvm.griddepcontrol
// CHECK-LABEL:   gpu.func @setup
// CHECK-SAME:      (%[[X:.*]]: memref<64xf32>, %[[MAP:.*]]: !llvm.ptr)
// CHECK:           scf.if
// CHECK-NEXT:        nvvm.prefetch tensormap in_param_space, %[[MAP]]
// CHECK:             nvvm.mbarrier.init
// CHECK-NEXT:        nvvm.fence.mbarrier.init
// CHECK:           gpu.barrier
// CHECK-NEXT:      %[[TABLE:.*]] = memref.get_global @steps
// CHECK-NEXT:      %[[STEP:.*]] = memref.load %[[TABLE]]
// CHECK-NEXT:      %[[K:.*]] = arith.index_castui %[[STEP]]
// CHECK-NEXT:      nvvm.griddepcontrol wait
// CHECK-NEXT:      scf.if
// CHECK-NEXT:        memref.load %[[X]][%[[K]]]
module attributes {gpu.container_module} {
  gpu.module @tma_kernels {
    memref.global "private" constant @steps : memref<4xi32> = dense<[0, 1, 3, 4]>
    gpu.func @setup(%x: memref<64xf32>, %map: !llvm.ptr) kernel {
      %i = gpu.thread_id x
      %c1 = arith.constant 1 : index
      %c1_i32 = arith.constant 1 : i32
      %first = arith.cmpi ult, %i, %c1 : index
      scf.if %first {
        nvvm.prefetch tensormap in_param_space, %map : !llvm.ptr
        %barrier = llvm.mlir.zero : !llvm.ptr<3>
        nvvm.mbarrier.init %barrier, %c1_i32 : !llvm.ptr<3>, i32
        nvvm.fence.mbarrier.init
      }
      gpu.barrier
      %t = memref.get_global @steps : memref<4xi32>
      %s = memref.load %t[%c1] : memref<4xi32>
      %k = arith.index_castui %s : i32 to index
      scf.if %first {
        %v = memref.load %x[%k] : memref<64xf32>
        memref.store %v, %x[%i] : memref<64xf32>
      }
      gpu.return
    }
  }
}
