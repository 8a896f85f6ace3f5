// RUN: tesa-opt %s --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu="chip=sm_75 decode-products=false" | FileCheck %s --check-prefix=NVVM
// RUN: tesa-opt %s --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu="chip=gfx906 decode-products=false" | FileCheck %s --check-prefix=ROCDL

// Fine-grained int8 elements go in groups of four consecutive reduction
// elements, with the group's kept elements in bits 24-27 of its entry:
// (0 | 0b0101 << 24) and (4 | 0b0001 << 24) for channel 0, (0 | 0b0010 << 24)
// for channel 2; channel 1 has no work.
// NVVM-DAG: memref.global "private" constant @part0_rows : memref<2xi32> = dense<[0, 2]>
// NVVM-DAG: memref.global "private" constant @part0_entries : memref<3xi32> = dense<[83886080, 16777220, 33554432]>
// The compute kernel reads the quantised operand flat, at each entry's
// offset (its start times the 5 columns) plus four bytes a column.
// NVVM-DAG: memref.global "private" constant @part0_dense_offsets : memref<3xi32> = dense<[0, 20, 0]>
// The dense operand (6x5) is quantised into [k / 4][column][k % 4], the
// reduction padded to 8, by blocks of 32 columns x 8 reduction slices that
// meet in workgroup memory; the compute kernel's threads, one per column,
// read it a word each: the loads are aligned to a word, so that they become
// one load instruction, not four.
// NVVM-LABEL: gpu.func @part0_quantise_dense(
// NVVM-SAME: %{{.*}}: memref<6x5xf32>, %{{.*}}: memref<2x5x4xi8>, %{{.*}}: memref<5xf32>)
// NVVM-SAME: workgroup(%{{.*}} : memref<8x32xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// NVVM: gpu.barrier
// NVVM-LABEL: gpu.func @part0(
// NVVM-SAME: %[[QUANTISED:.*]]: memref<2x5x4xi8>
// NVVM: %[[FLAT:.*]] = memref.collapse_shape %[[QUANTISED]] {{\[\[}}0, 1, 2]] : memref<2x5x4xi8> into memref<40xi8>
// NVVM: %[[OFFSETS:.*]] = memref.get_global @part0_dense_offsets
// The five columns take eight threads of a block of 128 each (each every
// sixteenth entry of the row); the columns past the last are clamped.
// NVVM: %[[UNIT:.*]] = arith.remui %thread_id_x, %c8
// NVVM: %[[COLUMN:.*]] = arith.minui %[[UNIT]], %c4
// NVVM: %[[BYTES:.*]] = arith.muli %[[COLUMN]], %{{.*}} : index
// NVVM: %[[COLUMN_OFFSET:.*]] = arith.index_castui %[[BYTES]] : index to i32
// NVVM: scf.for
// NVVM: %[[OFFSET:.*]] = memref.load %[[OFFSETS]][%{{.*}}] : memref<3xi32>
// NVVM: %[[SUM:.*]] = arith.addi %[[OFFSET]], %[[COLUMN_OFFSET]] overflow<nuw> : i32
// NVVM: %[[AT:.*]] = arith.index_castui %[[SUM]] : i32 to index
// NVVM: vector.load %[[FLAT]][%[[AT]]] {alignment = 4 : i64} : memref<40xi8>, vector<4xi8>
// NVVM: nvvm.dot.accumulate.4way {{.*}} <signed>, {{.*}} <signed>
// NVVM: gpu.launch_func @tesa_kernels::@part0_quantise_dense blocks in ({{.*}}) threads in (%c32{{.*}}, %c8{{.*}}, %c1{{.*}})
// ROCDL-LABEL: gpu.func @part0(
// ROCDL: llvm.call_intrinsic "llvm.amdgcn.sdot4"
func.func @int8(%w: tensor<3x6xf32, #tesa.sparsity<map = dense<[[8, 0, 8, 0, 8, 0], [0, 0, 0, 0, 0, 0], [0, 8, 0, 0, 0, 0]]> : tensor<3x6xi8>>>,
                %x: tensor<6x5xf32>, %acc: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %r = linalg.matmul ins(%w, %x : tensor<3x6xf32, #tesa.sparsity<map = dense<[[8, 0, 8, 0, 8, 0], [0, 0, 0, 0, 0, 0], [0, 8, 0, 0, 0, 0]]> : tensor<3x6xi8>>>, tensor<6x5xf32>)
                     outs(%acc : tensor<3x5xf32>) -> tensor<3x5xf32>
  return %r : tensor<3x5xf32>
}
