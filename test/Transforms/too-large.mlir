// RUN: not tesa-opt %s --split-input-file --tesa-propagate 2>&1 | FileCheck %s --check-prefix=PROPAGATE
// RUN: not tesa-opt %s --split-input-file --tesa-decompose 2>&1 | FileCheck %s --check-prefix=DECOMPOSE

// A tensor with more elements than int64_t counts is an error, not a
// length_error abort, an out-of-memory kill, or an element count that
// wraps to zero and makes --tesa-decompose erase the product.

// PROPAGATE: error: tesa-propagate: 'tensor<4294967296x4294967296xf32, #tesa.sparsity<bits = 0>>' has more elements than int64_t counts
// DECOMPOSE: error: tesa-decompose: 'tensor<4294967296x4294967296xf32, #tesa.sparsity<bits = 0>>' has more elements than int64_t counts
func.func @huge(%a: tensor<4294967296x4294967296xf32>, %b: tensor<4294967296x4294967296xf32, #tesa.sparsity<bits = 0>>, %c: tensor<4294967296x4294967296xf32>) -> tensor<4294967296x4294967296xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4294967296x4294967296xf32>, tensor<4294967296x4294967296xf32, #tesa.sparsity<bits = 0>>) outs(%c : tensor<4294967296x4294967296xf32>) -> tensor<4294967296x4294967296xf32>
  return %r : tensor<4294967296x4294967296xf32>
}

// -----

// The rules that work per element (slices, concatenation, padding,
// reshapes, scrambling) leave an op with a tensor of more than 2^31
// elements conservative, with a remark; everything else works on the maps.
// PROPAGATE: remark: tesa-propagate: no propagation rule for 'tensor.extract_slice' (a tensor has more than 2147483648 elements, too many for its rule, which works per element); nothing is pruned through it
// DECOMPOSE-NOT: error
func.func @slice(%x: tensor<65536x65536xf32, #tesa.sparsity<map = dense<[[0, 32], [32, 0]]> : tensor<2x2xi8>>>) -> tensor<4x4xf32> {
  %0 = tensor.extract_slice %x[0, 0] [4, 4] [1, 1] : tensor<65536x65536xf32, #tesa.sparsity<map = dense<[[0, 32], [32, 0]]> : tensor<2x2xi8>>> to tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}
