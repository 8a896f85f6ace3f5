// RUN: tesa-opt %s --tesa-decompose="plan=block block-shape=16x16" --tesa-lower-parts-to-gpu=chip=sm_80 | FileCheck %s

// A grid has at most 65535 blocks along y. A tensor-core kernel with more
// rows of blocks (65537 block rows of 16 channels) launches 65535 of them,
// and each walks its row and every 65535th one after it.
// CHECK-LABEL: gpu.func @part0(
// CHECK: %[[FIRST:.+]] = gpu.block_id y
// CHECK: %[[STRIDE:.+]] = gpu.grid_dim y
// CHECK: scf.for %{{.+}} = %[[FIRST]] to %c65537{{.*}} step %[[STRIDE]]
// CHECK: nvvm.mma.sync
// CHECK-LABEL: func.func @tall
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%{{.+}}, %c65535
func.func @tall(%w: tensor<1048592x16xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>,
                %x: tensor<16x8xf32>, %acc: tensor<1048592x8xf32>) -> tensor<1048592x8xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<1048592x16xf32, #tesa.sparsity<map = dense<16> : tensor<1x1xi8>>>, tensor<16x8xf32>)
                     outs(%acc : tensor<1048592x8xf32>) -> tensor<1048592x8xf32>
  return %r : tensor<1048592x8xf32>
}

