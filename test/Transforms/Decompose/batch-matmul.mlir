// RUN: tesa-opt %s --split-input-file --verify-diagnostics --tesa-decompose="plan=fine" | FileCheck %s

#lhs = #tesa.sparsity<map = dense<[[[32, 0], [0, 0]], [[0, 0], [0, 0]]]> : tensor<2x2x2xi8>>

// One matmul per batch, on slices that carry the sparsity of their batch:
// batch 0 keeps one 2x3 block and is decomposed; batch 1 keeps nothing, so
// its product has no part and its accumulator slice is the result.
// CHECK-LABEL: func.func @per_batch(
// CHECK-SAME: %[[A:[^:]+]]: tensor<2x4x6xf32, {{.*}}>, %[[B:[^:]+]]: tensor<2x6x5xf32>, %[[C:[^:]+]]: tensor<2x4x5xf32>)
// CHECK: %[[C0:.+]] = tensor.extract_slice %[[C]][0, 0, 0] [1, 4, 5] [1, 1, 1]
// CHECK: %[[A0:.+]] = tensor.extract_slice %{{.+}}[0, 0, 0] [1, 4, 6] [1, 1, 1] : tensor<2x4x6xf32> to tensor<4x6xf32>
// CHECK: %[[S0:.+]] = tesa.annotate %[[A0]] : tensor<4x6xf32> -> tensor<4x6xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0], [0, 0]]> : tensor<2x2xi8>>>
// CHECK: %[[B0:.+]] = tensor.extract_slice %[[B]][0, 0, 0] [1, 6, 5] [1, 1, 1]
// CHECK: %[[P0:.+]] = tesa.extract_part %[[S0]]
// CHECK: %[[R0:.+]] = tesa.part_matmul fine %[[P0]], %[[B0]], %[[C0]]
// CHECK: %[[IN0:.+]] = tensor.insert_slice %[[R0]] into %[[C]][0, 0, 0] [1, 4, 5] [1, 1, 1]
// CHECK: %[[C1:.+]] = tensor.extract_slice %[[C]][1, 0, 0] [1, 4, 5] [1, 1, 1]
// CHECK-NOT: tesa.part_matmul
// CHECK: %[[IN1:.+]] = tensor.insert_slice %[[C1]] into %[[IN0]][1, 0, 0] [1, 4, 5] [1, 1, 1]
// CHECK: return %[[IN1]]
func.func @per_batch(%a: tensor<2x4x6xf32, #lhs>, %b: tensor<2x6x5xf32>, %c: tensor<2x4x5xf32>) -> tensor<2x4x5xf32> {
  %r = linalg.batch_matmul ins(%a, %b : tensor<2x4x6xf32, #lhs>, tensor<2x6x5xf32>) outs(%c : tensor<2x4x5xf32>) -> tensor<2x4x5xf32>
  return %r : tensor<2x4x5xf32>
}

// -----

// Too many batches to give each its own kernels: computed densely.
func.func @too_many_batches(%a: tensor<65x2x2xf32, #tesa.sparsity<bits = 16>>, %b: tensor<65x2x2xf32>, %c: tensor<65x2x2xf32>) -> tensor<65x2x2xf32> {
  // expected-remark @below {{sparse batched product not decomposed: it has 65 batches, more than the 64 that are split into one product each; it is computed densely}}
  %r = linalg.batch_matmul ins(%a, %b : tensor<65x2x2xf32, #tesa.sparsity<bits = 16>>, tensor<65x2x2xf32>) outs(%c : tensor<65x2x2xf32>) -> tensor<65x2x2xf32>
  return %r : tensor<65x2x2xf32>
}

// -----

func.func @dynamic_batches(%a: tensor<?x2x2xf32, #tesa.sparsity<bits = 16>>, %b: tensor<?x2x2xf32>, %c: tensor<?x2x2xf32>) -> tensor<?x2x2xf32> {
  // expected-remark @below {{sparse batched product not decomposed: its shapes are dynamic; it is computed densely}}
  %r = linalg.batch_matmul ins(%a, %b : tensor<?x2x2xf32, #tesa.sparsity<bits = 16>>, tensor<?x2x2xf32>) outs(%c : tensor<?x2x2xf32>) -> tensor<?x2x2xf32>
  return %r : tensor<?x2x2xf32>
}

// -----

// A computed operand that keeps most of its elements at 32 bits (such as
// attention scores with a thinned head) is read densely by one batched
// product, not split: its pruned elements hold computed values.
// CHECK-LABEL: func.func @mostly_kept_activations
// CHECK: %[[A:.*]] = tesa.annotate
// CHECK: linalg.batch_matmul ins(%[[A]], %{{.*}} :
// CHECK-NOT: tesa.part_matmul
func.func @mostly_kept_activations(%x: tensor<2x4x6xf32>, %b: tensor<2x6x5xf32>, %c: tensor<2x4x5xf32>) -> tensor<2x4x5xf32> {
  %a = tesa.annotate %x : tensor<2x4x6xf32> -> tensor<2x4x6xf32, #tesa.sparsity<map = dense<[[[32, 32], [32, 0]], [[32, 32], [32, 32]]]> : tensor<2x2x2xi8>>>
  %r = linalg.batch_matmul ins(%a, %b : tensor<2x4x6xf32, #tesa.sparsity<map = dense<[[[32, 32], [32, 0]], [[32, 32], [32, 32]]]> : tensor<2x2x2xi8>>>, tensor<2x6x5xf32>) outs(%c : tensor<2x4x5xf32>) -> tensor<2x4x5xf32>
  return %r : tensor<2x4x5xf32>
}

// -----

// The same operand as an argument is split: its pruned elements may hold
// anything.
// CHECK-LABEL: func.func @mostly_kept_argument
// CHECK: tesa.part_matmul
func.func @mostly_kept_argument(%a: tensor<2x4x6xf32, #tesa.sparsity<map = dense<[[[32, 32], [32, 0]], [[32, 32], [32, 32]]]> : tensor<2x2x2xi8>>>, %b: tensor<2x6x5xf32>, %c: tensor<2x4x5xf32>) -> tensor<2x4x5xf32> {
  %r = linalg.batch_matmul ins(%a, %b : tensor<2x4x6xf32, #tesa.sparsity<map = dense<[[[32, 32], [32, 0]], [[32, 32], [32, 32]]]> : tensor<2x2x2xi8>>>, tensor<2x6x5xf32>) outs(%c : tensor<2x4x5xf32>) -> tensor<2x4x5xf32>
  return %r : tensor<2x4x5xf32>
}
