// RUN: tesa-opt %s --tesa-sparsity-summary -o /dev/null | FileCheck %s

// CHECK: tesa sparsity summary
// CHECK: (no tensor carries a #tesa.sparsity encoding)
func.func @dense(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
