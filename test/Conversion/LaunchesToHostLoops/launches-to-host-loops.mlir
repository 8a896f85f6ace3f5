// RUN: tesa-opt %s -split-input-file --tesa-launches-to-host-loops -verify-diagnostics | FileCheck %s

// A barrier-free kernel: the launch becomes loops over blocks z, y, x and
// threads z, y, x, the kernel's body inside, its ids the loops' and its
// sizes the launch's. The kernel module goes with its last launch.
// CHECK-LABEL: func.func @scale
// CHECK-SAME: (%[[BUF:.*]]: memref<100xf32>)
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[GRID:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[BLOCK:.*]] = arith.constant 32 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[ONE]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[ONE]]
// CHECK: scf.for %[[BX:.*]] = %{{.*}} to %[[GRID]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[ONE]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[ONE]]
// CHECK: scf.for %[[TX:.*]] = %{{.*}} to %[[BLOCK]]
// CHECK: %[[FIRST:.*]] = arith.muli %[[BX]], %[[BLOCK]] : index
// CHECK: %[[I:.*]] = arith.addi %[[FIRST]], %[[TX]] : index
// CHECK: scf.if
// CHECK: memref.load %[[BUF]][%[[I]]]
// CHECK: memref.store %{{.*}}, %[[BUF]][%[[I]]]
// CHECK-NOT: gpu.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @scale(%buf: memref<100xf32>) kernel {
      %tx = gpu.thread_id x
      %bx = gpu.block_id x
      %size = gpu.block_dim x
      %first = arith.muli %bx, %size : index
      %i = arith.addi %first, %tx : index
      %n = arith.constant 100 : index
      %inside = arith.cmpi ult, %i, %n : index
      scf.if %inside {
        %v = memref.load %buf[%i] : memref<100xf32>
        %twice = arith.addf %v, %v : f32
        memref.store %twice, %buf[%i] : memref<100xf32>
      }
      gpu.return
    }
  }
  func.func @scale(%buf: memref<100xf32>) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c32 = arith.constant 32 : index
    gpu.launch_func @kernels::@scale blocks in (%c4, %c1, %c1) threads in (%c32, %c1, %c1) args(%buf : memref<100xf32>)
    return
  }
}

// -----

// A kernel that synchronises its threads cannot run as sequential loops.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @sync(%buf: memref<32xf32>) kernel {
      // expected-note @below {{here}}
      gpu.barrier
      gpu.return
    }
  }
  func.func @sync(%buf: memref<32xf32>) {
    %c1 = arith.constant 1 : index
    %c32 = arith.constant 32 : index
    // expected-error @below {{cannot run @kernels::@sync on the host: it uses 'gpu.barrier'}}
    gpu.launch_func @kernels::@sync blocks in (%c1, %c1, %c1) threads in (%c32, %c1, %c1) args(%buf : memref<32xf32>)
    return
  }
}

// -----

// Nor one with workgroup memory.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @staged(%buf: memref<32xf32>) workgroup(%tile: memref<32xf32, 3>) kernel {
      gpu.return
    }
  }
  func.func @staged(%buf: memref<32xf32>) {
    %c1 = arith.constant 1 : index
    // expected-error @below {{cannot run @kernels::@staged on the host: it has memory attributions}}
    gpu.launch_func @kernels::@staged blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%buf : memref<32xf32>)
    return
  }
}
