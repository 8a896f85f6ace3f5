// RUN: tesa-opt %s --tesa-propagate 2>&1 | FileCheck %s

// Values without facts leave their ops conservative, with a remark that
// says why. A dynamically shaped operand of a tensor op whose result is
// static has no map (it used to crash reading the missing map, forward and
// backward); i1 results are narrower than any fact (the remark used to call
// them not statically shaped).

// CHECK: remark: tesa-propagate: no propagation rule for 'tensor.extract_slice' (an operand is not a statically shaped tensor); nothing is pruned through it
// CHECK: remark: tesa-propagate: no propagation rule for 'tensor.concat' (an operand is not a statically shaped tensor); nothing is pruned through it
// CHECK: remark: tesa-propagate: no propagation rule for 'linalg.generic' (its results' elements (i1) are narrower than the 4 bits a fact keeps); nothing is pruned through it
// CHECK-LABEL: func.func @slice_of_dynamic(
// CHECK-SAME: -> tensor<4x8xf32>
// CHECK: tensor.extract_slice %arg0[0, 0] [4, 8] [1, 1] : tensor<?x8xf32, #tesa.sparsity<bits = 8>> to tensor<4x8xf32>
func.func @slice_of_dynamic(%x: tensor<?x8xf32, #tesa.sparsity<bits = 8>>) -> tensor<4x8xf32> {
  %s = tensor.extract_slice %x[0, 0] [4, 8] [1, 1] : tensor<?x8xf32, #tesa.sparsity<bits = 8>> to tensor<4x8xf32>
  return %s : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @concat_with_dynamic(
// CHECK: tensor.concat dim(0) %arg0, %arg1 : (tensor<?x8xf32>, tensor<4x8xf32, #tesa.sparsity<bits = 8>>) -> tensor<8x8xf32>
func.func @concat_with_dynamic(%x: tensor<?x8xf32>, %y: tensor<4x8xf32, #tesa.sparsity<bits = 8>>) -> tensor<8x8xf32> {
  %c = tensor.concat dim(0) %x, %y : (tensor<?x8xf32>, tensor<4x8xf32, #tesa.sparsity<bits = 8>>) -> tensor<8x8xf32>
  return %c : tensor<8x8xf32>
}

// CHECK-LABEL: func.func @compare(
// CHECK-SAME: -> tensor<4xi1>
func.func @compare(%x: tensor<4xf32, #tesa.sparsity<bits = 8>>, %y: tensor<4xf32>) -> tensor<4xi1> {
  %e = tensor.empty() : tensor<4xi1>
  %c = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%x, %y : tensor<4xf32, #tesa.sparsity<bits = 8>>, tensor<4xf32>) outs(%e : tensor<4xi1>) {
  ^bb0(%a: f32, %b: f32, %o: i1):
    %r = arith.cmpf olt, %a, %b : f32
    linalg.yield %r : i1
  } -> tensor<4xi1>
  return %c : tensor<4xi1>
}
