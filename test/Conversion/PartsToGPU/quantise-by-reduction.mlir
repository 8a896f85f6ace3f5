// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu="chip=sm_90 decode-products=false" | FileCheck %s

// For `x @ W` with W sparse, the dense operand x (3x64) has its reduction
// contiguous. Its int8 copy is made by one block of 256 threads per column
// of the product (a row of x), striding over the reduction in runs of four
// elements: the threads of a warp read consecutive 16 bytes, and three
// columns (a decode step) still make three blocks. The magnitudes meet by
// xor shuffles within each warp, then through workgroup memory, one value
// per warp; each run is quantised and stored as one vector of four int8.
// CHECK-LABEL: gpu.func @part0_quantise_dense(
// CHECK-SAME: %[[X:[^:]+]]: memref<3x64xf32>, %[[COPY:[^:]+]]: memref<16x3x4xi8>
// CHECK-SAME: workgroup(%[[MAXIMA:.+]] : memref<8xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-DAG: %[[THREAD:.+]] = gpu.thread_id x
// CHECK-DAG: %[[COLUMN:.+]] = gpu.block_id x
// CHECK: %[[FIRST:.+]] = arith.muli %[[THREAD]], %c4
// CHECK: scf.for %[[K:.+]] = %[[FIRST]] to %{{.*}} step %c1024
// CHECK: vector.load %[[X]][%[[COLUMN]], %[[K]]] {alignment = 16 : i64} : memref<3x64xf32>, vector<4xf32>
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[MAXIMA]]
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK: %[[VALUES:.+]] = vector.from_elements {{.+}} : vector<4xi8>
// CHECK: vector.store %[[VALUES]], %[[COPY]][%{{.+}}, %[[COLUMN]], %{{.+}}] {alignment = 4 : i64} : memref<16x3x4xi8>, vector<4xi8>
// CHECK-LABEL: func.func @decode(
// CHECK: gpu.launch_func @tesa_kernels::@part0_quantise_dense blocks in (%c3{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}})
func.func @decode(%x: tensor<3x64xf32>, %w: tensor<64x16xf32, #tesa.sparsity<map = dense<8> : tensor<1x1xi8>>>,
                  %acc: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<3x64xf32>, tensor<64x16xf32, #tesa.sparsity<map = dense<8> : tensor<1x1xi8>>>)
                     outs(%acc : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %r : tensor<3x16xf32>
}

// -----

// A reduction that is not a multiple of four (62) is read one element at a
// time.
// CHECK-LABEL: gpu.func @part0_quantise_dense(
// CHECK-SAME: %[[X:[^:]+]]: memref<3x62xf32>
// CHECK-DAG: %[[THREAD:.+]] = gpu.thread_id x
// CHECK-DAG: %[[COLUMN:.+]] = gpu.block_id x
// CHECK: scf.for %[[K:.+]] = %[[THREAD]] to %{{.*}} step %c256
// CHECK: memref.load %[[X]][%[[COLUMN]], %[[K]]]
// CHECK-NOT: vector.
// CHECK: gpu.return
// CHECK-LABEL: func.func @odd_reduction(
func.func @odd_reduction(%x: tensor<3x62xf32>, %w: tensor<62x16xf32, #tesa.sparsity<map = dense<8> : tensor<1x1xi8>>>,
                         %acc: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %r = linalg.matmul ins(%x, %w : tensor<3x62xf32>, tensor<62x16xf32, #tesa.sparsity<map = dense<8> : tensor<1x1xi8>>>)
                     outs(%acc : tensor<3x16xf32>) -> tensor<3x16xf32>
  return %r : tensor<3x16xf32>
}
