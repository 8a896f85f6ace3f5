// RUN: not tesa-opt %S/Inputs/parts.mlir --tesa-pipeline="target=nvvm chip=sm_1" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not tesa-opt %S/Inputs/parts.mlir --tesa-pipeline="target=rocdl chip=sm_80" 2>&1 | FileCheck %s --check-prefix=MISMATCH
// RUN: not tesa-opt %S/Inputs/parts.mlir --tesa-pipeline="target=spirv chip=sm_80" 2>&1 | FileCheck %s --check-prefix=TARGET

// CHIP: error: unknown chip 'sm_1'; known chips: sm_75, sm_80, sm_86, sm_89, sm_90, gfx906
// MISMATCH: error: chip 'sm_80' is not a rocdl chip; known rocdl chips: gfx906
// TARGET: for the --target option: Cannot find option named 'spirv'!
