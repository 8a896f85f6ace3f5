// Tensor-core instructions for block parts, dp4a for int8 SIMT parts, sparse
// tensor cores (mma.sp) for 2:4 structured f16 parts on sm_80 and later.
// RUN: tesa-opt %S/Inputs/parts.mlir --tesa-pipeline="target=nvvm decode-products=false chip=sm_75 format=isa plan=block block-shape=16x32" | FileCheck %s --check-prefix=SM75
// RUN: tesa-opt %S/Inputs/parts.mlir --tesa-pipeline="target=nvvm decode-products=false chip=sm_80 format=isa plan=block block-shape=16x32" | FileCheck %s --check-prefix=SM80
// RUN: tesa-opt %S/Inputs/parts.mlir --tesa-pipeline="target=nvvm decode-products=false chip=sm_75 format=isa plan=fine" | FileCheck %s --check-prefix=FINE
// RUN: tesa-opt %S/Inputs/two-four.mlir --tesa-pipeline="target=nvvm decode-products=false chip=sm_80 format=isa" | FileCheck %s --check-prefix=SPARSE80
// RUN: tesa-opt %S/Inputs/two-four.mlir --tesa-pipeline="target=nvvm decode-products=false chip=sm_90 format=isa" | FileCheck %s --check-prefix=SPARSE90
// RUN: tesa-opt %S/Inputs/two-four.mlir --tesa-pipeline="target=nvvm decode-products=false chip=sm_75 format=isa" | FileCheck %s --check-prefix=SPARSE75

// SM75: gpu.binary @tesa_kernels
// SM75-SAME: .target sm_75
// SM75-DAG: mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32
// SM75-DAG: mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32
// SM75-NOT: m16n8k16

// SM80: gpu.binary @tesa_kernels
// SM80-SAME: .target sm_80
// Every kernel has launch bounds (--tesa-kernel-block-sizes), within which
// ptxas keeps its registers.
// SM80-DAG: .entry part0({{[^)]*}})\0A.maxntid 256, 1, 1
// SM80-DAG: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// SM80-DAG: mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32

// FINE: gpu.binary @tesa_kernels
// FINE-SAME: dp4a.s32.s32
// FINE-NOT: mma.sync

// SPARSE80: gpu.binary @tesa_kernels
// SPARSE80-SAME: .target sm_80
// SPARSE80-SAME: mma.sp.sync.aligned.m16n8k32.row.col.f32.f16.f16.f32
// SPARSE80-NOT: mma.sync

// SPARSE90: gpu.binary @tesa_kernels
// SPARSE90-SAME: .target sm_90
// SPARSE90-SAME: mma.sp.sync.aligned.m16n8k32.row.col.f32.f16.f16.f32

// SPARSE75: gpu.binary @tesa_kernels
// SPARSE75-SAME: mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32
// SPARSE75-NOT: mma.sp
