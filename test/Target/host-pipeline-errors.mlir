// sm_90's warpgroup kernels (wgmma, TMA) do not run on the host: the host
// pipeline names the instruction that stops them.
// RUN: tesa-opt %s --tesa-host-pipeline="chip=sm_90" -verify-diagnostics -o /dev/null

func.func @linear(%x: tensor<128x256xf16>, %w: tensor<256x128xf16>) -> tensor<128x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x128xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<128x128xf32>) -> tensor<128x128xf32>
  // expected-error @below {{cannot run @tesa_kernels::@contraction0 on the host: it uses 'nvvm.fence.proxy'}}
  %y = linalg.matmul ins(%x, %w : tensor<128x256xf16>, tensor<256x128xf16>) outs(%z : tensor<128x128xf32>) -> tensor<128x128xf32>
  return %y : tensor<128x128xf32>
}
