// RUN: tesa-opt %s --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu="chip=sm_90 decode-products=false" | FileCheck %s

// For `x @ W` with W sparse, the dense operand x (3x64) has its reduction
// contiguous. Its int8 copy is made by one block of 256 threads per column
// of the product (a row of x), striding over the reduction: the threads of a
// warp read consecutive elements, and three columns (a decode step) still
// make three blocks. The magnitudes meet by xor shuffles within each warp,
// then through workgroup memory, one value per warp.
// CHECK-LABEL: gpu.func @part0_quantise_dense(
// CHECK-SAME: %[[X:[^:]+]]: memref<3x64xf32>
// CHECK-SAME: workgroup(%[[MAXIMA:.+]] : memref<8xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-DAG: %[[THREAD:.+]] = gpu.thread_id x
// CHECK-DAG: %[[COLUMN:.+]] = gpu.block_id x
// CHECK: scf.for %[[K:.+]] = %[[THREAD]] to %{{.*}} step %[[STEP:[^ ]+]]
// CHECK: memref.load %[[X]][%[[COLUMN]], %[[K]]]
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[MAXIMA]]
// CHECK: gpu.barrier
// CHECK-LABEL: func.func @decode(
// CHECK: gpu.launch_func @tesa_kernels::@part0_quantise_dense blocks in (%c3{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}})
func.func @decode(%x: tensor<3x64xf32>, %w: tensor<64x16xf32, #tesa.sparsity<map = dense<8> : tensor<1x1xi8>>>,
                  %acc: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<3x64xf32>, tensor<64x16xf32, #tesa.sparsity<map = dense<8> : tensor<1x1xi8>>>)
                     outs(%acc : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %r : tensor<3x16xf32>
}
