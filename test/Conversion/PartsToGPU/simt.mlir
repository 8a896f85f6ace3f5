// RUN: tesa-opt %s --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu=chip=sm_75 | FileCheck %s --check-prefix=NVVM
// RUN: tesa-opt %s --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu=chip=gfx906 | FileCheck %s --check-prefix=ROCDL

// Fine-grained int8 elements go in groups of four consecutive reduction
// elements, with the group's kept elements in bits 24-27 of its entry:
// (0 | 0b0101 << 24) and (4 | 0b0001 << 24) for channel 0, (0 | 0b0010 << 24)
// for channel 2; channel 1 has no work.
// NVVM-DAG: memref.global "private" constant @part0_rows : memref<2xi32> = dense<[0, 2]>
// NVVM-DAG: memref.global "private" constant @part0_entries : memref<3xi32> = dense<[83886080, 16777220, 33554432]>
// NVVM-LABEL: gpu.func @part0_quantise_dense(
// NVVM-LABEL: gpu.func @part0(
// NVVM: nvvm.dot.accumulate.4way {{.*}} <signed>, {{.*}} <signed>
// ROCDL-LABEL: gpu.func @part0(
// ROCDL: llvm.call_intrinsic "llvm.amdgcn.sdot4"
func.func @int8(%w: tensor<3x6xf32, #tesa.sparsity<map = dense<[[8, 0, 8, 0, 8, 0], [0, 0, 0, 0, 0, 0], [0, 8, 0, 0, 0, 0]]> : tensor<3x6xi8>>>,
                %x: tensor<6x5xf32>, %acc: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<3x6xf32, #tesa.sparsity<map = dense<[[8, 0, 8, 0, 8, 0], [0, 0, 0, 0, 0, 0], [0, 8, 0, 0, 0, 0]]> : tensor<3x6xi8>>>, tensor<6x5xf32>)
                     outs(%acc : tensor<3x5xf32>) -> tensor<3x5xf32>
  return %r : tensor<3x5xf32>
}
