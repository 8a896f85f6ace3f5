// RUN: tesa-opt %s --split-input-file --tesa-lower-kernel-regions -verify-diagnostics | FileCheck %s

// A 40x72 transpose: tiles of 32 x 32 (3 along the columns, 2 along the
// rows), 256 threads a tile. Each thread reads four elements of the tile's
// rows into workgroup memory (rows of 33), then after one barrier writes
// four of its columns as rows of the result.
// CHECK-LABEL: gpu.func @elementwise0(
// CHECK-SAME: %[[IN:.*]]: memref<2880xf32>, %[[OUT:.*]]: memref<2880xf32>)
// CHECK-SAME: workgroup(%[[TILE:.*]] : memref<1056xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-COUNT-4: memref.store %{{.*}}, %[[TILE]]
// CHECK: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK-COUNT-4: memref.store %{{.*}}, %[[OUT]]
// CHECK-LABEL: func.func @transpose
// CHECK: gpu.launch_func @tesa_kernels::@elementwise0 blocks in (%c3{{.*}}, %c2{{.*}}, %c1{{.*}}) threads in (%c256
func.func @transpose(%x: tensor<40x72xf32>) -> tensor<72x40xf32> {
  %e = tensor.empty() : tensor<72x40xf32>
  %t = tesa.kernel elementwise -> tensor<72x40xf32> {
    %r = linalg.transpose ins(%x : tensor<40x72xf32>) outs(%e : tensor<72x40xf32>) permutation = [1, 0]
    tesa.yield %r : tensor<72x40xf32>
  }
  return %t : tensor<72x40xf32>
}

// -----

// Anything else the elementwise family does not compute yet: the region is
// put back in place with a remark.
func.func @not_a_transpose(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  // expected-remark @below {{kept on the generic path: the elementwise family computes 2-D transposes only}}
  %t = tesa.kernel elementwise -> tensor<4x8xf32> {
    %r = linalg.exp ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
    tesa.yield %r : tensor<4x8xf32>
  }
  return %t : tensor<4x8xf32>
}
