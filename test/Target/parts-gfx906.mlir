// gfx906 has no matrix cores: int8 parts use v_dot4_i32_i8, f16 parts
// v_dot2_f32_f16, whether blocks or scattered elements.
// RUN: tesa-opt %S/Inputs/parts.mlir --tesa-pipeline="target=rocdl chip=gfx906 format=isa plan=block block-shape=16x32" | FileCheck %s
// RUN: tesa-opt %S/Inputs/parts.mlir --tesa-pipeline="target=rocdl chip=gfx906 format=isa plan=fine" | FileCheck %s

// CHECK: gpu.binary @tesa_kernels
// CHECK-SAME: gfx906
// CHECK-DAG: v_dot4_i32_i8
// CHECK-DAG: v_dot2_f32_f16
