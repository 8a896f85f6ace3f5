// RUN: tesa-opt %s --tesa-sparsity-summary="include-dense=true" -o /dev/null | FileCheck %s

// Shares are exact for shapes too large to count elements in 64 bits.
// CHECK: @huge    %arg0  3037000500x3037000500  f32  50.00%   50.00%  -  -  -  50.00%  2x1 of 1518500250x3037000500
// CHECK: @huge    %arg1  4294967296x4294967296x16  f32  100.00%  -  -  100.00%  -  -  1x1x1 of 4294967296x4294967296x16
func.func @huge(%a: tensor<3037000500x3037000500xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>,
                %b: tensor<4294967296x4294967296x16xf32, #tesa.sparsity<bits = 8>>) {
  return
}

// An empty tensor has no shares, whatever its encoding.
// CHECK: @empty   %arg0  ?x0  f32  -  -  -  -  -  -  1x2
func.func @empty(%a: tensor<?x0xf32, #tesa.sparsity<map = dense<[[8, 0]]> : tensor<1x2xi8>>>) {
  return
}

// Dense tensors of elements without a bit width are listed without shares.
// CHECK: @others  %arg0  4  index         100.00%  -  -  -  -  -  dense
// CHECK: @others  %arg1  2  complex<f32>  100.00%  -  -  -  -  -  dense
func.func @others(%i: tensor<4xindex>, %c: tensor<2xcomplex<f32>>) {
  return
}
