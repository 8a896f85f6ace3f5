// Every listed chip gets a kernel binary: cubin for NVIDIA, HSACO for AMD.
// REQUIRES: ptxas
// RUN: tesa-opt %S/Inputs/parts.mlir --tesa-pipeline="target=nvvm decode-products=false chip=sm_75" | FileCheck %s --check-prefix=SM75
// RUN: tesa-opt %S/Inputs/parts.mlir --tesa-pipeline="target=nvvm decode-products=false chip=sm_80" | FileCheck %s --check-prefix=SM80
// RUN: tesa-opt %S/Inputs/parts.mlir --tesa-pipeline="target=nvvm decode-products=false chip=sm_86" | FileCheck %s --check-prefix=SM86
// RUN: tesa-opt %S/Inputs/parts.mlir --tesa-pipeline="target=nvvm decode-products=false chip=sm_89" | FileCheck %s --check-prefix=SM89
// RUN: tesa-opt %S/Inputs/parts.mlir --tesa-pipeline="target=nvvm decode-products=false chip=sm_90" | FileCheck %s --check-prefix=SM90
// RUN: tesa-opt %S/Inputs/parts.mlir --tesa-pipeline="target=rocdl chip=gfx906" | FileCheck %s --check-prefix=GFX906

// SM75: gpu.binary @tesa_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_75", features = "+ptx70">, {{.*}}bin = "\7FELF
// SM80: gpu.binary @tesa_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx71">, {{.*}}bin = "\7FELF
// SM86: gpu.binary @tesa_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_86", features = "+ptx71">, {{.*}}bin = "\7FELF
// SM89: gpu.binary @tesa_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_89", features = "+ptx78">, {{.*}}bin = "\7FELF
// sm_90 compiles for sm_90a, whose wgmma the contraction family uses.
// SM90: gpu.binary @tesa_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx82">, {{.*}}bin = "\7FELF
// GFX906: gpu.binary @tesa_kernels [#gpu.object<#rocdl.target<O = 3, chip = "gfx906">, bin = "\7FELF
// Host code is in the LLVM dialect, launching the kernels one after another
// on one stream, with the result as an out-parameter.
// SM90: llvm.func @parts(
// SM90: %[[STREAM:.*]] = llvm.call @mgpuStreamCreate()
// SM90: gpu.launch_func <%[[STREAM]] : !llvm.ptr> @tesa_kernels::@part0_pack
// SM90: gpu.launch_func <%[[STREAM]] : !llvm.ptr> @tesa_kernels::@part0 
