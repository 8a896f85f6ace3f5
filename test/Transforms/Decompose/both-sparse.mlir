// RUN: tesa-opt %s --tesa-decompose="plan=fine" | FileCheck %s

// Both operands sparse: the lhs has fewer kept elements and is split. The
// parts read the rhs densely, and a pruned rhs element (rhs block (0, 1))
// meets kept lhs elements (lhs column block 0), so the rhs is masked first.
// CHECK-LABEL: func.func @mask_other_operand
// CHECK-SAME: (%[[A:.*]]: tensor<8x8xf32, {{.*}}>, %[[B:.*]]: tensor<8x8xf32, {{.*}}>, %[[ACC:.*]]: tensor<8x8xf32>)
// CHECK: %[[MASKED:.*]] = tesa.extract_part %[[B]] : tensor<8x8xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0], [32, 32]]> : tensor<2x2xi8>>> -> tensor<8x8xf32, #tesa.sparsity<map = dense<{{\[\[}}32, 0], [32, 32]]> : tensor<2x2xi8>>>
// CHECK: %[[PART:.*]] = tesa.extract_part %[[A]]
// CHECK: tesa.part_matmul fine %[[PART]], %[[MASKED]], %[[ACC]] {{.*}}sparse_operand = 0
func.func @mask_other_operand(%a: tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 0]]> : tensor<2x2xi8>>>, %b: tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [32, 32]]> : tensor<2x2xi8>>>, %acc: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [0, 0]]> : tensor<2x2xi8>>>, tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0], [32, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}

// The rhs is pruned only in rows whose lhs columns are pruned too (as after
// propagation): the pruned values never meet a kept element, no mask.
// CHECK-LABEL: func.func @no_mask_needed
// CHECK-SAME: (%[[A:.*]]: tensor<8x8xf32, {{.*}}>, %[[B:.*]]: tensor<8x8xf32, {{.*}}>, %[[ACC:.*]]: tensor<8x8xf32>)
// CHECK: %[[PART:.*]] = tesa.extract_part %[[A]]
// CHECK-NOT: tesa.extract_part
// CHECK: tesa.part_matmul fine %[[PART]], %[[B]], %[[ACC]]
func.func @no_mask_needed(%a: tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0]]> : tensor<1x2xi8>>>, %b: tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 32], [0, 32]]> : tensor<2x2xi8>>>, %acc: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 0]]> : tensor<1x2xi8>>>, tensor<8x8xf32, #tesa.sparsity<map = dense<[[32, 32], [0, 32]]> : tensor<2x2xi8>>>) outs(%acc : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}
