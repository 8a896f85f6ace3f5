// RUN: tesa-opt %s --tesa-lower-parts-to-gpu=chip=sm_90 | FileCheck %s
// RUN: tesa-opt %s --tesa-lower-parts-to-gpu="chip=sm_90 fine-tensor-cores=false" | FileCheck %s --check-prefix=SIMT

// A fine-grained part of an f16 program keeping 19% of its weight (three
// 8x8 cells of 16 channels by 64 reduction elements): laid out in 16x64
// tiles whose packed buffer holds only the 192 kept values, row by row
// (channels 0-7 keep 16 each, channels 8-15 eight), with each tile's mask
// words. The compute kernel expands a tile in workgroup memory: each lane
// loads its mask word (the lanes of a row's second half starting after the
// first's count, by a shuffle), zeroes half a row, then writes the word's
// kept values, one a set bit; the tile's fragments are then loaded from
// there for mma.sync.
// CHECK-DAG: memref.global "private" constant @part0_row_offsets : memref<17xi32> = dense<[0, 16, 32, 48, 64, 80, 96, 112, 128, 136, 144, 152, 160, 168, 176, 184, 192]>
// CHECK-DAG: memref.global "private" constant @part0_masks : memref<32xi32> = dense<[16711935, 0, {{.*}}, 65280, 0]>
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[DENSE:[^:]+]]: memref<16x64xf16>, %[[PACKED:[^:]+]]: memref<192xf16>, %[[OUT:[^:]+]]: memref<16x16xf16>
// CHECK-SAME: %[[TILES:[^ ]+]] : memref<8x16x72xf16, #gpu.address_space<workgroup>>
// CHECK: %[[WORD:.+]] = memref.load %{{.+}} : memref<32xi32>
// CHECK: %[[PARTNER:.+]], %{{.+}} = gpu.shuffle xor %[[WORD]]
// CHECK: math.ctpop %[[PARTNER]]
// CHECK: nvvm.bar.warp.sync
// CHECK: vector.store %{{.+}}, %[[TILES]]
// CHECK: %[[COUNT:.+]] = math.ctpop %[[WORD]]
// CHECK: %[[N:.+]] = arith.index_castui %[[COUNT]]
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[N]] {{.*}} iter_args(%[[BITS:.+]] = %[[WORD]], %[[AT:.+]] = %{{.+}})
// CHECK: %[[PLACE:.+]] = math.cttz %[[BITS]]
// CHECK: %[[PLACE_INDEX:.+]] = arith.index_castui %[[PLACE]]
// CHECK: %[[COLUMN:.+]] = arith.addi %{{.+}}, %[[PLACE_INDEX]]
// CHECK: %[[VALUE:.+]] = memref.load %[[PACKED]][%[[AT]]]
// CHECK: memref.store %[[VALUE]], %[[TILES]][%{{.+}}, %{{.+}}, %[[COLUMN]]]
// CHECK: nvvm.bar.warp.sync
// The next block's mask word is loaded before this one's fragments.
// CHECK: memref.load %{{.+}} : memref<32xi32>
// CHECK: %[[LOADED:.+]] = vector.load %[[TILES]]{{.*}} vector<8xf16>
// CHECK: vector.shuffle %[[LOADED]], %[[LOADED]] [0, 1]
// CHECK: nvvm.mma.sync
// CHECK-LABEL: func.func @fine_f16_tensor_cores(
// CHECK: gpu.launch_func @tesa_kernels::@part0_pack
// CHECK: gpu.launch_func @tesa_kernels::@part0 

// Without fine-tensor-cores, the SIMT kernel (fine-f16.mlir): a work list
// of kept pairs, no tiles.
// SIMT-NOT: _row_offsets
// SIMT-LABEL: gpu.func @part0(
// SIMT-SAME: memref<192xf16>
// SIMT-NOT: nvvm.mma.sync
// SIMT: math.fma
#w = #tesa.sparsity<map = dense<[[16, 0], [0, 16], [16, 0], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]]> : tensor<8x2xi8>>
func.func @fine_f16_tensor_cores(%x: tensor<16x64xf16>, %w: tensor<64x16xf16, #w>, %acc: tensor<16x16xf16>) -> tensor<16x16xf16> {
  %p = tesa.extract_part %w : tensor<64x16xf16, #w> -> tensor<64x16xf16, #w>
  %r = tesa.part_matmul fine %x, %p, %acc {bits = 16 : i64, block = array<i64>, sparse_operand = 1 : i64} : tensor<16x64xf16>, tensor<64x16xf16, #w>, tensor<16x16xf16> -> tensor<16x16xf16>
  return %r : tensor<16x16xf16>
}
