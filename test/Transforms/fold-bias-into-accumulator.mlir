// RUN: tesa-opt %s --tesa-fold-bias-into-accumulator --split-input-file | FileCheck %s

// A column bias added to a zero-filled product becomes its accumulator.
// CHECK-LABEL: func.func @column_bias
// CHECK-SAME: (%[[X:.*]]: tensor<16x32xf32>, %[[W:.*]]: tensor<32x64xf32>, %[[B:.*]]: tensor<64xf32>)
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<16x64xf32>
// CHECK: %[[ACC:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel"]} ins(%[[B]] : tensor<64xf32>) outs(%[[EMPTY]] : tensor<16x64xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: linalg.yield %[[IN]]
// CHECK: %[[R:.*]] = linalg.matmul ins(%[[X]], %[[W]] : {{.*}}) outs(%[[ACC]] : tensor<16x64xf32>)
// CHECK-NEXT: return %[[R]]
func.func @column_bias(%x: tensor<16x32xf32>, %w: tensor<32x64xf32>, %b: tensor<64xf32>) -> tensor<16x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %p = linalg.matmul ins(%x, %w : tensor<16x32xf32>, tensor<32x64xf32>) outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
  %e2 = tensor.empty() : tensor<16x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p, %b : tensor<16x64xf32>, tensor<64xf32>) outs(%e2 : tensor<16x64xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  return %r : tensor<16x64xf32>
}

// -----

// The fused product takes the addition's result type, encoding included.
// CHECK-LABEL: func.func @encoded_result
// CHECK: %[[ACC:.*]] = linalg.generic
// CHECK: } -> tensor<16x64xf32, #tesa.sparsity<map = dense<{{.*}}> : tensor<2x1xi8>>>
// CHECK: linalg.matmul {{.*}} outs(%[[ACC]] : tensor<16x64xf32, #tesa.sparsity<map = dense<{{.*}}> : tensor<2x1xi8>>>) -> tensor<16x64xf32, #tesa.sparsity<map = dense<{{.*}}> : tensor<2x1xi8>>>
func.func @encoded_result(%x: tensor<16x32xf32>, %w: tensor<32x64xf32>, %b: tensor<16xf32>) -> tensor<16x64xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %p = linalg.matmul ins(%x, %w : tensor<16x32xf32>, tensor<32x64xf32>) outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
  %e2 = tensor.empty() : tensor<16x64xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%b, %p : tensor<16xf32>, tensor<16x64xf32>) outs(%e2 : tensor<16x64xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %v, %u : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>
  return %r : tensor<16x64xf32, #tesa.sparsity<map = dense<[[32], [0]]> : tensor<2x1xi8>>>
}

// -----

// Left alone: an accumulator that is not zero, a product used twice, a
// body that reads the product again after adding the bias, and a bias
// made after the product by an op that may have side effects (a call).
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-4: arith.addf
// CHECK-NOT: arith.addf
func.func @left_alone(%x: tensor<4x4xf32>, %w: tensor<4x4xf32>, %b: tensor<4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %ones = linalg.fill ins(%one : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %zeros = linalg.fill ins(%zero : f32) outs(%e : tensor<4x4xf32>) -> tensor<4x4xf32>
  %p1 = linalg.matmul ins(%x, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%ones : tensor<4x4xf32>) -> tensor<4x4xf32>
  %r1 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p1, %b : tensor<4x4xf32>, tensor<4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  %p2 = linalg.matmul ins(%x, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%zeros : tensor<4x4xf32>) -> tensor<4x4xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p2, %b : tensor<4x4xf32>, tensor<4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  %p3 = linalg.matmul ins(%x, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%zeros : tensor<4x4xf32>) -> tensor<4x4xf32>
  %r3 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p3, %b : tensor<4x4xf32>, tensor<4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    %t = arith.mulf %s, %u : f32
    linalg.yield %t : f32
  } -> tensor<4x4xf32>
  %p4 = linalg.matmul ins(%x, %w : tensor<4x4xf32>, tensor<4x4xf32>) outs(%zeros : tensor<4x4xf32>) -> tensor<4x4xf32>
  %late = func.call @opaque_bias() : () -> tensor<4x4xf32>
  %r4 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p4, %late : tensor<4x4xf32>, tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    linalg.yield %s : f32
  } -> tensor<4x4xf32>
  return %r1, %r2, %r3, %p2, %r4 : tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>
}
func.func private @opaque_bias() -> tensor<4x4xf32>

// -----

// torch-mlir's f16 Linear: the bias is widened and broadcast after the
// product, whose zero accumulator carries an annotation. The broadcast
// moves above the product and is copied into its accumulator.
// CHECK-LABEL: func.func @late_bias_moves
// CHECK-SAME: (%[[X:.*]]: tensor<16x32xf16>, %[[W:.*]]: tensor<32x64xf16>, %[[B:.*]]: tensor<64xf16>)
// CHECK: %[[WIDE:.*]] = linalg.generic {{.*}} ins(%[[B]] : tensor<64xf16>)
// CHECK: %[[BIAS:.*]] = linalg.generic {{.*}} ins(%[[WIDE]] : tensor<64xf32>)
// CHECK: %[[ACC:.*]] = linalg.generic {{.*}} ins(%[[BIAS]] : tensor<16x64xf32>)
// CHECK: %[[P:.*]] = linalg.matmul ins(%[[X]], %[[W]] : {{.*}}) outs(%[[ACC]] : tensor<16x64xf32>)
// CHECK-NOT: arith.addf
// CHECK: return %[[P]]
func.func @late_bias_moves(%x: tensor<16x32xf16>, %w: tensor<32x64xf16>, %b: tensor<64xf16>) -> tensor<16x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x64xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %acc = tesa.annotate %fill : tensor<16x64xf32> -> tensor<16x64xf32, #tesa.sparsity<bits = 32>>
  %p = linalg.matmul ins(%x, %w : tensor<16x32xf16>, tensor<32x64xf16>) outs(%acc : tensor<16x64xf32, #tesa.sparsity<bits = 32>>) -> tensor<16x64xf32, #tesa.sparsity<bits = 32>>
  %e1 = tensor.empty() : tensor<64xf32>
  %wide = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%b : tensor<64xf16>) outs(%e1 : tensor<64xf32>) {
  ^bb0(%u: f16, %o: f32):
    %v = arith.extf %u : f16 to f32
    linalg.yield %v : f32
  } -> tensor<64xf32>
  %e2 = tensor.empty() : tensor<16x64xf32>
  %bias = linalg.generic {indexing_maps = [affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%wide : tensor<64xf32>) outs(%e2 : tensor<16x64xf32>) {
  ^bb0(%u: f32, %o: f32):
    linalg.yield %u : f32
  } -> tensor<16x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p, %bias : tensor<16x64xf32, #tesa.sparsity<bits = 32>>, tensor<16x64xf32>) outs(%e2 : tensor<16x64xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  return %r : tensor<16x64xf32>
}

// -----

// A bias followed by an activation (GELU) in one generic: the bias becomes
// the accumulator and the activation stays, on the biased product alone
// (--tesa-fuse-epilogues then moves it into the product's last part).
// CHECK-LABEL: func.func @bias_then_gelu
// CHECK-SAME: (%[[X:.*]]: tensor<16x32xf32>, %[[W:.*]]: tensor<32x64xf32>, %[[B:.*]]: tensor<64xf32>)
// CHECK: %[[ACC:.*]] = linalg.generic {{.*}} ins(%[[B]] : tensor<64xf32>)
// CHECK: %[[P:.*]] = linalg.matmul ins(%[[X]], %[[W]] : {{.*}}) outs(%[[ACC]] : tensor<16x64xf32>) -> tensor<16x64xf32>
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<16x64xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NOT: arith.addf %[[IN]]
// CHECK: math.erf
// CHECK: return %[[R]]
func.func @bias_then_gelu(%x: tensor<16x32xf32>, %w: tensor<32x64xf32>, %b: tensor<64xf32>) -> tensor<16x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %p = linalg.matmul ins(%x, %w : tensor<16x32xf32>, tensor<32x64xf32>) outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
  %e2 = tensor.empty() : tensor<16x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p, %b : tensor<16x64xf32>, tensor<64xf32>) outs(%e2 : tensor<16x64xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    %c = arith.constant 0.70710678 : f32
    %h = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %t = arith.mulf %s, %c : f32
    %erf = math.erf %t : f32
    %q = arith.addf %erf, %one : f32
    %hs = arith.mulf %s, %h : f32
    %g = arith.mulf %hs, %q : f32
    linalg.yield %g : f32
  } -> tensor<16x64xf32>
  return %r : tensor<16x64xf32>
}

// -----

// Left alone: the same late bias on an f32 product, whose parts apply the
// bias as an elementwise step instead (kept-channel parts skip pruned
// channels, which an accumulator would make them write).
// CHECK-LABEL: func.func @late_bias_of_f32_product
// CHECK: %[[P:.*]] = linalg.matmul
// CHECK: linalg.generic {{.*}} ins(%[[P]], %{{.*}} : tensor<16x64xf32>, tensor<16x64xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.addf
func.func @late_bias_of_f32_product(%x: tensor<16x32xf32>, %w: tensor<32x64xf32>, %b: tensor<64xf32>) -> tensor<16x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<16x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<16x64xf32>) -> tensor<16x64xf32>
  %p = linalg.matmul ins(%x, %w : tensor<16x32xf32>, tensor<32x64xf32>) outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
  %e2 = tensor.empty() : tensor<16x64xf32>
  %bias = linalg.generic {indexing_maps = [affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%b : tensor<64xf32>) outs(%e2 : tensor<16x64xf32>) {
  ^bb0(%u: f32, %o: f32):
    linalg.yield %u : f32
  } -> tensor<16x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p, %bias : tensor<16x64xf32>, tensor<16x64xf32>) outs(%e2 : tensor<16x64xf32>) {
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    linalg.yield %s : f32
  } -> tensor<16x64xf32>
  return %r : tensor<16x64xf32>
}
