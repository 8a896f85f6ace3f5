// RUN: tesa-opt %s --split-input-file --tesa-fuse-elementwise-chains | FileCheck %s

// torch-mlir's f16 query: the heads' transpose, the widening to f32 and
// the scaling become one generic that reads the query through the
// transpose's permutation.
// CHECK-LABEL: func.func @query_chain
// CHECK-SAME: (%[[Q:.*]]: tensor<1x8x2x4xf16>)
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[PERMUTED:.*]], #[[IDENTITY:.*]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[Q]] : tensor<1x8x2x4xf16>)
// CHECK: arith.extf
// CHECK: arith.mulf
// CHECK: linalg.yield
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
func.func @query_chain(%q: tensor<1x8x2x4xf16>) -> tensor<1x2x8x4xf32> {
  %e16 = tensor.empty() : tensor<1x2x8x4xf16>
  %e32 = tensor.empty() : tensor<1x2x8x4xf32>
  %t = linalg.transpose ins(%q : tensor<1x8x2x4xf16>) outs(%e16 : tensor<1x2x8x4xf16>) permutation = [0, 2, 1, 3]
  %w = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%t : tensor<1x2x8x4xf16>) outs(%e32 : tensor<1x2x8x4xf32>) {
  ^bb0(%in: f16, %out: f32):
    %x = arith.extf %in : f16 to f32
    linalg.yield %x : f32
  } -> tensor<1x2x8x4xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%w : tensor<1x2x8x4xf32>) outs(%e32 : tensor<1x2x8x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 0.5 : f32
    %y = arith.mulf %in, %c : f32
    linalg.yield %y : f32
  } -> tensor<1x2x8x4xf32>
  return %s : tensor<1x2x8x4xf32>
}

// -----

// A value with two readers, and a reduction, stay as they are.
// CHECK-LABEL: func.func @two_readers_and_a_reduction
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: linalg.generic
func.func @two_readers_and_a_reduction(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %er = tensor.empty() : tensor<4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%er : tensor<4xf32>) -> tensor<4xf32>
  %sq = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %y = arith.mulf %in, %in : f32
    linalg.yield %y : f32
  } -> tensor<4x8xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]} ins(%sq : tensor<4x8xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %y = arith.addf %in, %out : f32
    linalg.yield %y : f32
  } -> tensor<4xf32>
  %neg = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%sq : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %y = arith.negf %in : f32
    linalg.yield %y : f32
  } -> tensor<4x8xf32>
  return %neg, %sum : tensor<4x8xf32>, tensor<4xf32>
}

// -----

// An elementwise op of a product expanded back to images (a 1x1
// convolution as a batched product) works on the product's shape, and the
// expansion moves after it.
// CHECK-LABEL: func.func @expanded_product
// CHECK: %[[P:.*]] = linalg.batch_matmul
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<2x4x6xf32>) outs(%{{.*}} : tensor<2x4x6xf32>)
// CHECK: arith.maximumf
// CHECK: %[[E:.*]] = tensor.expand_shape %[[R]] {{\[\[}}0], [1], [2, 3]] output_shape [2, 4, 2, 3] : tensor<2x4x6xf32> into tensor<2x4x2x3xf32>
// CHECK: return %[[E]]
func.func @expanded_product(%w: tensor<2x4x5xf32>, %x: tensor<2x5x6xf32>, %acc: tensor<2x4x6xf32>) -> tensor<2x4x2x3xf32> {
  %zero = arith.constant 0.0 : f32
  %p = linalg.batch_matmul ins(%w, %x : tensor<2x4x5xf32>, tensor<2x5x6xf32>) outs(%acc : tensor<2x4x6xf32>) -> tensor<2x4x6xf32>
  %images = tensor.expand_shape %p [[0], [1], [2, 3]] output_shape [2, 4, 2, 3] : tensor<2x4x6xf32> into tensor<2x4x2x3xf32>
  %e = tensor.empty() : tensor<2x4x2x3xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(n, c, y, x) -> (n, c, y, x)>, affine_map<(n, c, y, x) -> (n, c, y, x)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%images : tensor<2x4x2x3xf32>) outs(%e : tensor<2x4x2x3xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.maximumf %v, %zero : f32
    linalg.yield %m : f32
  } -> tensor<2x4x2x3xf32>
  return %r : tensor<2x4x2x3xf32>
}

// -----

// A sparse f16 convolution computed densely as a batched product gives its
// declared encoding back through an annotation after the expansion. The
// clamp reads the expansion itself, so that it still works on the
// product's shape, where the product's epilogue takes it.
// CHECK-LABEL: func.func @annotated_expanded_product
// CHECK: %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK: %[[CLAMPED:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<2x96x64xf32>)
// CHECK: %[[R:.*]] = tensor.expand_shape %[[CLAMPED]] {{\[}}[0], [1], [2, 3]]
// CHECK: return %[[R]]
func.func @annotated_expanded_product(%w: tensor<96x16xf16>, %x: tensor<2x16x64xf16>, %acc: tensor<2x96x64xf32>) -> tensor<2x96x8x8xf16, #tesa.sparsity<bits = 16>> {
  %six = arith.constant 6.0 : f16
  %p = linalg.generic {indexing_maps = [affine_map<(n, f, p, c) -> (f, c)>, affine_map<(n, f, p, c) -> (n, c, p)>, affine_map<(n, f, p, c) -> (n, f, p)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%w, %x : tensor<96x16xf16>, tensor<2x16x64xf16>) outs(%acc : tensor<2x96x64xf32>) {
  ^bb0(%a: f16, %b: f16, %o: f32):
    %aw = arith.extf %a : f16 to f32
    %bw = arith.extf %b : f16 to f32
    %m = arith.mulf %aw, %bw : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x96x64xf32>
  %e = tensor.expand_shape %p [[0], [1], [2, 3]] output_shape [2, 96, 8, 8] : tensor<2x96x64xf32> into tensor<2x96x8x8xf32>
  %a = tesa.annotate %e : tensor<2x96x8x8xf32> -> tensor<2x96x8x8xf32, #tesa.sparsity<bits = 16>>
  %init = tensor.empty() : tensor<2x96x8x8xf16, #tesa.sparsity<bits = 16>>
  %y = linalg.generic {indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>, affine_map<(a, b, c, d) -> (a, b, c, d)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%a : tensor<2x96x8x8xf32, #tesa.sparsity<bits = 16>>) outs(%init : tensor<2x96x8x8xf16, #tesa.sparsity<bits = 16>>) {
  ^bb0(%in: f32, %o: f16):
    %t = arith.truncf %in : f32 to f16
    %below = arith.cmpf olt, %six, %t : f16
    %c = arith.select %below, %six, %t : f16
    linalg.yield %c : f16
  } -> tensor<2x96x8x8xf16, #tesa.sparsity<bits = 16>>
  return %y : tensor<2x96x8x8xf16, #tesa.sparsity<bits = 16>>
}

// -----

// torch-mlir's attention mask: booleans per query and per key, combined and
// selected into 0 / -inf once over queries x keys, then added to the scores
// of two layers. The broadcast is copied into each layer's add, which then
// reads the two boolean vectors (and no mask of queries x keys); the
// booleans per key come from a gather, which stays apart: a plain op does
// not take it.
// CHECK-DAG: #[[BY_QUERY:.+]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-DAG: #[[BY_KEY:.+]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @shared_attention_mask
// CHECK-SAME: (%[[S0:[^:]+]]: tensor<2x4x4xf32>, %[[S1:[^:]+]]: tensor<2x4x4xf32>, %[[Q:[^:]+]]: tensor<4xi1>, %[[IDS:[^:]+]]: tensor<4xi64>, %[[TABLE:[^:]+]]: tensor<8xi1>)
// CHECK: %[[KEYS:.+]] = linalg.generic
// CHECK-SAME: ins(%[[IDS]] : tensor<4xi64>)
// CHECK: tensor.extract %[[TABLE]]
// CHECK: %[[A0:.+]] = linalg.generic {indexing_maps = [#{{[^,]+}}, #[[BY_QUERY]], #[[BY_KEY]],
// CHECK-SAME: ins(%[[S0]], %[[Q]], %[[KEYS]] : tensor<2x4x4xf32>, tensor<4xi1>, tensor<4xi1>)
// CHECK: arith.andi
// CHECK: arith.select
// CHECK: arith.addf
// CHECK: %[[A1:.+]] = linalg.generic {indexing_maps = [#{{[^,]+}}, #[[BY_QUERY]], #[[BY_KEY]],
// CHECK-SAME: ins(%[[S1]], %[[Q]], %[[KEYS]] : tensor<2x4x4xf32>, tensor<4xi1>, tensor<4xi1>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[A0]], %[[A1]]
func.func @shared_attention_mask(%s0: tensor<2x4x4xf32>, %s1: tensor<2x4x4xf32>, %q: tensor<4xi1>, %ids: tensor<4xi64>, %table: tensor<8xi1>) -> (tensor<2x4x4xf32>, tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f16
  %ninf = arith.constant 0xFC00 : f16
  %ek = tensor.empty() : tensor<4xi1>
  %keys = linalg.generic {indexing_maps = [affine_map<(k) -> (k)>, affine_map<(k) -> (k)>], iterator_types = ["parallel"]} ins(%ids : tensor<4xi64>) outs(%ek : tensor<4xi1>) {
  ^bb0(%id: i64, %out: i1):
    %i = arith.index_cast %id : i64 to index
    %kept = tensor.extract %table[%i] : tensor<8xi1>
    linalg.yield %kept : i1
  } -> tensor<4xi1>
  %eb = tensor.empty() : tensor<4x4xi1>
  %both = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%q, %keys : tensor<4xi1>, tensor<4xi1>) outs(%eb : tensor<4x4xi1>) {
  ^bb0(%a: i1, %b: i1, %out: i1):
    %c = arith.andi %a, %b : i1
    linalg.yield %c : i1
  } -> tensor<4x4xi1>
  %em = tensor.empty() : tensor<4x4xf16>
  %mask = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%both : tensor<4x4xi1>) outs(%em : tensor<4x4xf16>) {
  ^bb0(%m: i1, %out: f16):
    %v = arith.select %m, %zero, %ninf : f16
    linalg.yield %v : f16
  } -> tensor<4x4xf16>
  %e = tensor.empty() : tensor<2x4x4xf32>
  %a0 = linalg.generic {indexing_maps = [affine_map<(h, i, j) -> (h, i, j)>, affine_map<(h, i, j) -> (i, j)>, affine_map<(h, i, j) -> (h, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s0, %mask : tensor<2x4x4xf32>, tensor<4x4xf16>) outs(%e : tensor<2x4x4xf32>) {
  ^bb0(%s: f32, %m: f16, %out: f32):
    %w = arith.extf %m : f16 to f32
    %y = arith.addf %s, %w : f32
    linalg.yield %y : f32
  } -> tensor<2x4x4xf32>
  %a1 = linalg.generic {indexing_maps = [affine_map<(h, i, j) -> (h, i, j)>, affine_map<(h, i, j) -> (i, j)>, affine_map<(h, i, j) -> (h, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s1, %mask : tensor<2x4x4xf32>, tensor<4x4xf16>) outs(%e : tensor<2x4x4xf32>) {
  ^bb0(%s: f32, %m: f16, %out: f32):
    %w = arith.extf %m : f16 to f32
    %y = arith.addf %s, %w : f32
    linalg.yield %y : f32
  } -> tensor<2x4x4xf32>
  return %a0, %a1 : tensor<2x4x4xf32>, tensor<2x4x4xf32>
}

// -----

// A shared op that reads as many elements as it writes is not copied.
// CHECK-LABEL: func.func @shared_same_size
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: linalg.generic
func.func @shared_same_size(%x: tensor<4x8xf16>, %y: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %w = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf16>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f16, %out: f32):
    %v = arith.extf %in : f16 to f32
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  %a = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%w, %y : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %v = arith.addf %in, %in2 : f32
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  %m = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%w, %y : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %v = arith.mulf %in, %in2 : f32
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  return %a, %m : tensor<4x8xf32>, tensor<4x8xf32>
}
