// RUN: tesa-opt %s --split-input-file --tesa-fold-operand-extensions | FileCheck %s
// RUN: tesa-opt %s --split-input-file --tesa-fold-operand-extensions="round-operands=false" | FileCheck %s --check-prefix=EXACT

#id = affine_map<(i, j) -> (i, j)>

// Both operands widened from f16 (torch-mlir's f16 Linear): the product
// reads them directly and the widenings go.
// CHECK-LABEL: func.func @widened(
// CHECK-SAME: %[[X:.*]]: tensor<16x64xf16>, %[[W:.*]]: tensor<64x32xf16>, %[[ACC:.*]]: tensor<16x32xf32>
// CHECK-NOT: arith.extf
// CHECK: %[[P:.*]] = linalg.matmul ins(%[[X]], %[[W]] : tensor<16x64xf16>, tensor<64x32xf16>) outs(%[[ACC]] : tensor<16x32xf32>) -> tensor<16x32xf32>
// CHECK: return %[[P]]
func.func @widened(%x: tensor<16x64xf16>, %w: tensor<64x32xf16>, %acc: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %ex = tensor.empty() : tensor<16x64xf32>
  %x32 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<16x64xf16>) outs(%ex : tensor<16x64xf32>) {
  ^bb0(%in: f16, %out: f32):
    %v = arith.extf %in : f16 to f32
    linalg.yield %v : f32
  } -> tensor<16x64xf32>
  %ew = tensor.empty() : tensor<64x32xf32>
  %w32 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<64x32xf16>) outs(%ew : tensor<64x32xf32>) {
  ^bb0(%in: f16, %out: f32):
    %v = arith.extf %in : f16 to f32
    linalg.yield %v : f32
  } -> tensor<64x32xf32>
  %p = linalg.matmul ins(%x32, %w32 : tensor<16x64xf32>, tensor<64x32xf32>) outs(%acc : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %p : tensor<16x32xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>

// Only one operand widened: nothing changes.
// CHECK-LABEL: func.func @one_widened(
// CHECK: %[[X32:.*]] = linalg.generic
// CHECK: arith.extf
// CHECK: linalg.matmul ins(%[[X32]], %{{.*}} : tensor<16x64xf32>, tensor<64x32xf32>)
func.func @one_widened(%x: tensor<16x64xf16>, %w: tensor<64x32xf32>, %acc: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %ex = tensor.empty() : tensor<16x64xf32>
  %x32 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<16x64xf16>) outs(%ex : tensor<16x64xf32>) {
  ^bb0(%in: f16, %out: f32):
    %v = arith.extf %in : f16 to f32
    linalg.yield %v : f32
  } -> tensor<16x64xf32>
  %p = linalg.matmul ins(%x32, %w : tensor<16x64xf32>, tensor<64x32xf32>) outs(%acc : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %p : tensor<16x32xf32>
}

// -----

// torch-mlir's attention scores: each head of the f16 projections moved
// first, widened and scaled by 1/sqrt(sqrt(d)) in one op, then merged with
// the batch. The product reads f16 copies in the heads' order (which
// kernel regions read in place), and the product of the scales as f32
// values (1/8 up to their rounding) multiplies its result.
#q = affine_map<(b, h, s, d) -> (b, s, h, d)>
#k = affine_map<(b, h, d, s) -> (b, s, h, d)>
#id4 = affine_map<(b, h, s, d) -> (b, h, s, d)>
// CHECK-LABEL: func.func @scaled_heads
// CHECK-SAME: (%[[Q:.*]]: tensor<1x16x2x8xf16>, %[[K:.*]]: tensor<1x16x2x8xf16>)
// CHECK: %[[QH:.*]] = linalg.generic {{.*}} ins(%[[Q]] : tensor<1x16x2x8xf16>) outs(%{{.*}} : tensor<1x2x16x8xf16>)
// CHECK-NEXT: ^bb0(%[[QIN:.*]]: f16, %{{.*}}: f16):
// CHECK-NEXT: linalg.yield %[[QIN]] : f16
// CHECK: %[[QB:.*]] = tensor.collapse_shape %[[QH]] {{.*}} into tensor<2x16x8xf16>
// CHECK: %[[KH:.*]] = linalg.generic {{.*}} ins(%[[K]] : tensor<1x16x2x8xf16>) outs(%{{.*}} : tensor<1x2x8x16xf16>)
// CHECK: %[[KB:.*]] = tensor.collapse_shape %[[KH]] {{.*}} into tensor<2x8x16xf16>
// CHECK: %[[S:.*]] = linalg.batch_matmul ins(%[[QB]], %[[KB]] : tensor<2x16x8xf16>, tensor<2x8x16xf16>) outs(%{{.*}} : tensor<2x16x16xf32>)
// CHECK: %[[FACTOR:.*]] = arith.constant 0.124999993 : f32
// CHECK: %[[SCALED:.*]] = linalg.generic {{.*}} ins(%[[S]] : tensor<2x16x16xf32>)
// CHECK: arith.mulf %{{.*}}, %[[FACTOR]] : f32
// CHECK: return %[[SCALED]]
func.func @scaled_heads(%q: tensor<1x16x2x8xf16>, %k: tensor<1x16x2x8xf16>) -> tensor<2x16x16xf32> {
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant 0.35355339059327379 : f64
  %eq = tensor.empty() : tensor<1x2x16x8xf32>
  %qs = linalg.generic {indexing_maps = [#q, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%q : tensor<1x16x2x8xf16>) outs(%eq : tensor<1x2x16x8xf32>) {
  ^bb0(%in: f16, %out: f32):
    %w = arith.extf %in : f16 to f32
    %c = arith.truncf %scale : f64 to f32
    %m = arith.mulf %w, %c : f32
    linalg.yield %m : f32
  } -> tensor<1x2x16x8xf32>
  %ek = tensor.empty() : tensor<1x2x8x16xf32>
  %ks = linalg.generic {indexing_maps = [#k, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%k : tensor<1x16x2x8xf16>) outs(%ek : tensor<1x2x8x16xf32>) {
  ^bb0(%in: f16, %out: f32):
    %w = arith.extf %in : f16 to f32
    %c = arith.truncf %scale : f64 to f32
    %m = arith.mulf %c, %w : f32
    linalg.yield %m : f32
  } -> tensor<1x2x8x16xf32>
  %qb = tensor.collapse_shape %qs [[0, 1], [2], [3]] : tensor<1x2x16x8xf32> into tensor<2x16x8xf32>
  %kb = tensor.collapse_shape %ks [[0, 1], [2], [3]] : tensor<1x2x8x16xf32> into tensor<2x8x16xf32>
  %e = tensor.empty() : tensor<2x16x16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %s = linalg.batch_matmul ins(%qb, %kb : tensor<2x16x8xf32>, tensor<2x8x16xf32>) outs(%acc : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  return %s : tensor<2x16x16xf32>
}

// -----

// The same heads in f32 (torch-mlir's f32 attention scales Q and K apart,
// without widening them): the product reads the moved copies without
// their factors, and the factors' product scales its result.
#q = affine_map<(b, h, s, d) -> (b, s, h, d)>
#k = affine_map<(b, h, d, s) -> (b, s, h, d)>
#id4 = affine_map<(b, h, s, d) -> (b, h, s, d)>
// CHECK-LABEL: func.func @scaled_f32_heads
// CHECK-SAME: (%[[Q:.*]]: tensor<1x16x2x8xf32>, %[[K:.*]]: tensor<1x16x2x8xf32>)
// CHECK: %[[QH:.*]] = linalg.generic {{.*}} ins(%[[Q]] : tensor<1x16x2x8xf32>) outs(%{{.*}} : tensor<1x2x16x8xf32>)
// CHECK-NEXT: ^bb0(%[[QIN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: linalg.yield %[[QIN]] : f32
// CHECK: %[[QB:.*]] = tensor.collapse_shape %[[QH]] {{.*}} into tensor<2x16x8xf32>
// CHECK: %[[KH:.*]] = linalg.generic {{.*}} ins(%[[K]] : tensor<1x16x2x8xf32>) outs(%{{.*}} : tensor<1x2x8x16xf32>)
// CHECK: %[[KB:.*]] = tensor.collapse_shape %[[KH]] {{.*}} into tensor<2x8x16xf32>
// CHECK: %[[S:.*]] = linalg.batch_matmul ins(%[[QB]], %[[KB]] : tensor<2x16x8xf32>, tensor<2x8x16xf32>) outs(%{{.*}} : tensor<2x16x16xf32>)
// CHECK: %[[FACTOR:.*]] = arith.constant 0.124999993 : f32
// CHECK: %[[SCALED:.*]] = linalg.generic {{.*}} ins(%[[S]] : tensor<2x16x16xf32>)
// CHECK: arith.mulf %{{.*}}, %[[FACTOR]] : f32
// CHECK: return %[[SCALED]]
func.func @scaled_f32_heads(%q: tensor<1x16x2x8xf32>, %k: tensor<1x16x2x8xf32>) -> tensor<2x16x16xf32> {
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant 0.35355339059327379 : f64
  %eq = tensor.empty() : tensor<1x2x16x8xf32>
  %qs = linalg.generic {indexing_maps = [#q, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%q : tensor<1x16x2x8xf32>) outs(%eq : tensor<1x2x16x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.truncf %scale : f64 to f32
    %m = arith.mulf %in, %c : f32
    linalg.yield %m : f32
  } -> tensor<1x2x16x8xf32>
  %ek = tensor.empty() : tensor<1x2x8x16xf32>
  %ks = linalg.generic {indexing_maps = [#k, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%k : tensor<1x16x2x8xf32>) outs(%ek : tensor<1x2x8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.truncf %scale : f64 to f32
    %m = arith.mulf %c, %in : f32
    linalg.yield %m : f32
  } -> tensor<1x2x8x16xf32>
  %qb = tensor.collapse_shape %qs [[0, 1], [2], [3]] : tensor<1x2x16x8xf32> into tensor<2x16x8xf32>
  %kb = tensor.collapse_shape %ks [[0, 1], [2], [3]] : tensor<1x2x8x16xf32> into tensor<2x8x16xf32>
  %e = tensor.empty() : tensor<2x16x16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %s = linalg.batch_matmul ins(%qb, %kb : tensor<2x16x8xf32>, tensor<2x8x16xf32>) outs(%acc : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  return %s : tensor<2x16x16xf32>
}

// -----

// Left alone: a scaled product that does not start from zero (the scale
// would apply to its start too), and a body that scales by a value that is
// not a constant.
// CHECK-LABEL: func.func @scales_left_alone
// CHECK-COUNT-2: linalg.batch_matmul ins({{.*}} : tensor<2x16x8xf32>, tensor<2x8x16xf32>)
func.func @scales_left_alone(%q: tensor<2x16x8xf16>, %k: tensor<2x8x16xf16>, %acc: tensor<2x16x16xf32>, %factor: f32) -> (tensor<2x16x16xf32>, tensor<2x16x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %eq = tensor.empty() : tensor<2x16x8xf32>
  %qs = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%q : tensor<2x16x8xf16>) outs(%eq : tensor<2x16x8xf32>) {
  ^bb0(%in: f16, %out: f32):
    %w = arith.extf %in : f16 to f32
    %m = arith.mulf %w, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x16x8xf32>
  %ek = tensor.empty() : tensor<2x8x16xf32>
  %kw = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%k : tensor<2x8x16xf16>) outs(%ek : tensor<2x8x16xf32>) {
  ^bb0(%in: f16, %out: f32):
    %w = arith.extf %in : f16 to f32
    linalg.yield %w : f32
  } -> tensor<2x8x16xf32>
  %ks = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%k : tensor<2x8x16xf16>) outs(%ek : tensor<2x8x16xf32>) {
  ^bb0(%in: f16, %out: f32):
    %w = arith.extf %in : f16 to f32
    %m = arith.mulf %w, %factor : f32
    linalg.yield %m : f32
  } -> tensor<2x8x16xf32>
  %s1 = linalg.batch_matmul ins(%qs, %kw : tensor<2x16x8xf32>, tensor<2x8x16xf32>) outs(%acc : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %e = tensor.empty() : tensor<2x16x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %s2 = linalg.batch_matmul ins(%qs, %ks : tensor<2x16x8xf32>, tensor<2x8x16xf32>) outs(%z : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  return %s1, %s2 : tensor<2x16x16xf32>, tensor<2x16x16xf32>
}

// -----

// torch-mlir's attention context: f32 probabilities times the widened f16
// V, the sum rounded to f16. The probabilities are rounded to f16 (before
// their collapse, next to the softmax) and the product reads f16 operands;
// with round-operands=false it stays an f32 product.
// CHECK-LABEL: func.func @rounded_context
// CHECK-SAME: (%[[P:.*]]: tensor<1x2x16x16xf32>, %[[V:.*]]: tensor<2x16x8xf16>)
// CHECK: %[[P16:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<1x2x16x16xf32>) outs(%{{.*}} : tensor<1x2x16x16xf16>)
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: %[[PB:.*]] = tensor.collapse_shape %[[P16]] {{.*}} into tensor<2x16x16xf16>
// CHECK: linalg.batch_matmul ins(%[[PB]], %[[V]] : tensor<2x16x16xf16>, tensor<2x16x8xf16>) outs(%{{.*}} : tensor<2x16x8xf32>)
// EXACT-LABEL: func.func @rounded_context
// EXACT: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<2x16x16xf32>, tensor<2x16x8xf32>)
func.func @rounded_context(%p: tensor<1x2x16x16xf32>, %v: tensor<2x16x8xf16>) -> tensor<1x2x16x8xf16> {
  %zero = arith.constant 0.0 : f32
  %pb = tensor.collapse_shape %p [[0, 1], [2], [3]] : tensor<1x2x16x16xf32> into tensor<2x16x16xf32>
  %ev = tensor.empty() : tensor<2x16x8xf32>
  %vw = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%v : tensor<2x16x8xf16>) outs(%ev : tensor<2x16x8xf32>) {
  ^bb0(%in: f16, %out: f32):
    %w = arith.extf %in : f16 to f32
    linalg.yield %w : f32
  } -> tensor<2x16x8xf32>
  %e = tensor.empty() : tensor<2x16x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %c = linalg.batch_matmul ins(%pb, %vw : tensor<2x16x16xf32>, tensor<2x16x8xf32>) outs(%acc : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %e16 = tensor.empty() : tensor<1x2x16x8xf16>
  %r = linalg.generic {indexing_maps = [affine_map<(u, b, i, j) -> (b, i, j)>, affine_map<(u, b, i, j) -> (u, b, i, j)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%c : tensor<2x16x8xf32>) outs(%e16 : tensor<1x2x16x8xf16>) {
  ^bb0(%in: f32, %out: f16):
    %t = arith.truncf %in : f32 to f16
    linalg.yield %t : f16
  } -> tensor<1x2x16x8xf16>
  return %r : tensor<1x2x16x8xf16>
}

// -----

// Left alone: the same product whose result is also read unrounded.
// CHECK-LABEL: func.func @unrounded_context
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<2x16x16xf32>, tensor<2x16x8xf32>)
func.func @unrounded_context(%p: tensor<2x16x16xf32>, %v: tensor<2x16x8xf16>) -> (tensor<2x16x8xf16>, tensor<2x16x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %ev = tensor.empty() : tensor<2x16x8xf32>
  %vw = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%v : tensor<2x16x8xf16>) outs(%ev : tensor<2x16x8xf32>) {
  ^bb0(%in: f16, %out: f32):
    %w = arith.extf %in : f16 to f32
    linalg.yield %w : f32
  } -> tensor<2x16x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%ev : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %c = linalg.batch_matmul ins(%p, %vw : tensor<2x16x16xf32>, tensor<2x16x8xf32>) outs(%acc : tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %e16 = tensor.empty() : tensor<2x16x8xf16>
  %r = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%c : tensor<2x16x8xf32>) outs(%e16 : tensor<2x16x8xf16>) {
  ^bb0(%in: f32, %out: f16):
    %t = arith.truncf %in : f32 to f16
    linalg.yield %t : f16
  } -> tensor<2x16x8xf16>
  return %r, %c : tensor<2x16x8xf16>, tensor<2x16x8xf32>
}

// -----

// The f16 heads before --tesa-fuse-elementwise-chains: widened, moved and
// scaled by three ops. The f32 fold leaves the scales where they are, so
// that the f16 fold takes the whole chain once it is one op.
// CHECK-LABEL: func.func @scales_of_widened_heads
// CHECK: %[[QS:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<2x16x8xf32>) outs(%{{.*}} : tensor<2x16x8xf32>)
// CHECK: %[[KS:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<2x8x16xf32>) outs(%{{.*}} : tensor<2x8x16xf32>)
// CHECK: %[[S:.*]] = linalg.batch_matmul ins(%[[QS]], %[[KS]] : tensor<2x16x8xf32>, tensor<2x8x16xf32>)
// CHECK-NOT: arith.mulf
// CHECK: return %[[S]]
func.func @scales_of_widened_heads(%q: tensor<2x16x8xf16>, %k: tensor<2x16x8xf16>) -> tensor<2x16x16xf32> {
  %zero = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %eq = tensor.empty() : tensor<2x16x8xf32>
  %qw = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%q : tensor<2x16x8xf16>) outs(%eq : tensor<2x16x8xf32>) {
  ^bb0(%in: f16, %out: f32):
    %w = arith.extf %in : f16 to f32
    linalg.yield %w : f32
  } -> tensor<2x16x8xf32>
  %qs = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%qw : tensor<2x16x8xf32>) outs(%eq : tensor<2x16x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x16x8xf32>
  %kw = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%k : tensor<2x16x8xf16>) outs(%eq : tensor<2x16x8xf32>) {
  ^bb0(%in: f16, %out: f32):
    %w = arith.extf %in : f16 to f32
    linalg.yield %w : f32
  } -> tensor<2x16x8xf32>
  %ekt = tensor.empty() : tensor<2x8x16xf32>
  %kt = linalg.transpose ins(%kw : tensor<2x16x8xf32>) outs(%ekt : tensor<2x8x16xf32>) permutation = [0, 2, 1]
  %ks = linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>, affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%kt : tensor<2x8x16xf32>) outs(%ekt : tensor<2x8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %half : f32
    linalg.yield %m : f32
  } -> tensor<2x8x16xf32>
  %e = tensor.empty() : tensor<2x16x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %s = linalg.batch_matmul ins(%qs, %ks : tensor<2x16x8xf32>, tensor<2x8x16xf32>) outs(%z : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  return %s : tensor<2x16x16xf32>
}

// -----

// Both operands the same scaled copy: the product reads its input twice,
// the factors' product (4) scales the result, and the copy is erased once.
// CHECK-LABEL: func.func @same_scaled_operand
// CHECK-SAME: (%[[X:.*]]: tensor<16x16xf32>)
// CHECK-NOT: arith.mulf
// CHECK: %[[P:.*]] = linalg.matmul ins(%[[X]], %[[X]] : tensor<16x16xf32>, tensor<16x16xf32>)
// CHECK: %[[FOUR:.*]] = arith.constant 4.000000e+00 : f32
// CHECK: arith.mulf %{{.*}}, %[[FOUR]] : f32
func.func @same_scaled_operand(%x: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 2.0 : f32
  %e = tensor.empty() : tensor<16x16xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<16x16xf32>) outs(%e : tensor<16x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %c : f32
    linalg.yield %m : f32
  } -> tensor<16x16xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<16x16xf32>) -> tensor<16x16xf32>
  %p = linalg.matmul ins(%s, %s : tensor<16x16xf32>, tensor<16x16xf32>) outs(%acc : tensor<16x16xf32>) -> tensor<16x16xf32>
  return %p : tensor<16x16xf32>
}
