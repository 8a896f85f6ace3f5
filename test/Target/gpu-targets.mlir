// tesa-opt carries the upstream GPU targets and LLVM IR translations that
// later pipelines need: a kernel serialises to PTX for sm_75 and to gfx906 ISA.
// RUN: tesa-opt %s --nvvm-attach-target="chip=sm_75" --convert-gpu-to-nvvm --reconcile-unrealized-casts --gpu-module-to-binary="format=isa" | FileCheck %s --check-prefix=PTX
// RUN: tesa-opt %s --rocdl-attach-target="chip=gfx906" --convert-gpu-to-rocdl --reconcile-unrealized-casts --gpu-module-to-binary="format=isa" | FileCheck %s --check-prefix=GCN

// PTX: gpu.binary @kernels
// PTX-SAME: .target sm_75
// PTX-SAME: .entry scale
// GCN: gpu.binary @kernels
// GCN-SAME: gfx906
// GCN-SAME: v_mul_f32

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @scale(%buf: memref<256xf32>, %factor: f32) kernel {
      %i = gpu.thread_id x
      %v = memref.load %buf[%i] : memref<256xf32>
      %s = arith.mulf %v, %factor : f32
      memref.store %s, %buf[%i] : memref<256xf32>
      gpu.return
    }
  }
}
