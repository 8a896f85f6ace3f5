// RUN: tesa-opt %s --tesa-kernel-block-sizes | FileCheck %s

// @wide is launched twice with 288 threads: it records them, which the NVVM
// lowering turns into nvvm.maxntid. @two_sizes is launched with 128 and 256
// threads, @unknown with a block size known only at run time, and
// @persistent has launch bounds of its own: none of them is changed.

// CHECK-LABEL: gpu.module @kernels
// CHECK:         gpu.func @wide(%{{.*}}: memref<64xf32>) kernel attributes {known_block_size = array<i32: 288, 1, 1>}
// CHECK:         gpu.func @two_sizes(%{{.*}}: memref<64xf32>) kernel {
// CHECK:         gpu.func @unknown(%{{.*}}: memref<64xf32>) kernel {
// CHECK:         gpu.func @persistent(%{{.*}}: memref<64xf32>) kernel attributes {nvvm.maxntid = array<i32: 384, 1, 1>, nvvm.minctasm = 1 : i32} {
// CHECK-LABEL: func.func @launches
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @wide(%x: memref<64xf32>) kernel {
      gpu.return
    }
    gpu.func @two_sizes(%x: memref<64xf32>) kernel {
      gpu.return
    }
    gpu.func @unknown(%x: memref<64xf32>) kernel {
      gpu.return
    }
    gpu.func @persistent(%x: memref<64xf32>) kernel attributes {nvvm.maxntid = array<i32: 384, 1, 1>, nvvm.minctasm = 1 : i32} {
      gpu.return
    }
  }
  func.func @launches(%x: memref<64xf32>, %threads: index) {
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    %c128 = arith.constant 128 : index
    %c256 = arith.constant 256 : index
    %c288 = arith.constant 288 : index
    %c384 = arith.constant 384 : index
    gpu.launch_func @kernels::@wide blocks in (%c16, %c1, %c1) threads in (%c288, %c1, %c1) args(%x : memref<64xf32>)
    gpu.launch_func @kernels::@wide blocks in (%c1, %c1, %c1) threads in (%c288, %c1, %c1) args(%x : memref<64xf32>)
    gpu.launch_func @kernels::@two_sizes blocks in (%c1, %c1, %c1) threads in (%c128, %c1, %c1) args(%x : memref<64xf32>)
    gpu.launch_func @kernels::@two_sizes blocks in (%c1, %c1, %c1) threads in (%c256, %c1, %c1) args(%x : memref<64xf32>)
    gpu.launch_func @kernels::@unknown blocks in (%c1, %c1, %c1) threads in (%threads, %c1, %c1) args(%x : memref<64xf32>)
    gpu.launch_func @kernels::@persistent blocks in (%c16, %c1, %c1) threads in (%c384, %c1, %c1) args(%x : memref<64xf32>)
    return
  }
}
