// RUN: tesa-opt %s --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu="chip=sm_80 staged-simt=false" | FileCheck %s

// The maps keep diagonal blocks: not whole channels, so the parts take
// the SIMT kernel (whole channels take the contraction family, see
// kept-channels.mlir). The plain SIMT kernel: these parts keep enough
// elements for the staged one (see staged-simt.mlir).

// A grid has at most 65535 blocks along y. The SIMT kernel has its column
// blocks along y (the dense operand is larger than the L2 cache): 65537
// blocks of 512 columns (four per thread) become 65535, and each walks its
// block and every 65535th one after it.
// CHECK-LABEL: gpu.func @part0(
// CHECK: %[[FIRST:.+]] = gpu.block_id y
// CHECK: %[[STRIDE:.+]] = gpu.grid_dim y
// CHECK: scf.for %{{.+}} = %[[FIRST]] to %c65537{{.*}} step %[[STRIDE]]
// CHECK: math.fma
// CHECK-LABEL: func.func @wide
// CHECK: gpu.launch_func @tesa_kernels::@part0 blocks in (%{{.+}}, %c65535
func.func @wide(%w: tensor<16x16xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>,
                %x: tensor<16x33554944xf32>, %acc: tensor<16x33554944xf32>) -> tensor<16x33554944xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<16x16xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 32]]> : tensor<2x2xi8>>>, tensor<16x33554944xf32>)
                     outs(%acc : tensor<16x33554944xf32>) -> tensor<16x33554944xf32>
  return %r : tensor<16x33554944xf32>
}
