// RUN: tesa-opt %s --split-input-file --tesa-drop-unit-batch-loops | FileCheck %s

// A mask add over 1 x heads x queries x keys reading the scores (heads x
// queries x keys) through a map that skips the unit loop, and the row
// maximum after it: both run over the scores' coordinates, the mask read
// without its unit dimensions, the maximum's init a fill of the collapsed
// shape. Only the returned value is expanded back.
// CHECK-LABEL: func.func @mask_add_and_maximum
// CHECK-SAME: (%[[S:.*]]: tensor<2x8x8xf32>, %[[M:.*]]: tensor<1x1x8xi1>)
// CHECK: %[[MASK:.*]] = tensor.collapse_shape %[[M]] {{\[}}[0, 1, 2]] : tensor<1x1x8xi1> into tensor<8xi1>
// CHECK: %[[ADDED:.*]] = linalg.generic {indexing_maps = [#[[ID:.*]], #{{.*}}, #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[S]], %[[MASK]] : tensor<2x8x8xf32>, tensor<8xi1>) outs(%{{.*}} : tensor<2x8x8xf32>)
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<2x8xf32>
// CHECK: %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[EMPTY]] : tensor<2x8xf32>)
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[ADDED]] : tensor<2x8x8xf32>) outs(%[[INIT]] : tensor<2x8xf32>)
// CHECK: %[[BACK:.*]] = tensor.expand_shape %[[MAX]] {{\[}}[0, 1], [2]] output_shape [1, 2, 8] : tensor<2x8xf32> into tensor<1x2x8xf32>
// CHECK: return %[[BACK]]
func.func @mask_add_and_maximum(%scores: tensor<2x8x8xf32>, %mask: tensor<1x1x8xi1>) -> tensor<1x2x8xf32> {
  %open = arith.constant 0.0 : f32
  %shut = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<1x2x8x8xf32>
  %added = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, 0, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%scores, %mask : tensor<2x8x8xf32>, tensor<1x1x8xi1>) outs(%e : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %m: i1, %o: f32):
    %b = arith.select %m, %open, %shut : f32
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8x8xf32>
  %er = tensor.empty() : tensor<1x2x8xf32>
  %init = linalg.fill ins(%shut : f32) outs(%er : tensor<1x2x8xf32>) -> tensor<1x2x8xf32>
  %max = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%added : tensor<1x2x8x8xf32>) outs(%init : tensor<1x2x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<1x2x8xf32>
  return %max : tensor<1x2x8xf32>
}

// -----

// A layer norm's rows (1 x rows x columns) read a product's result (rows x
// columns) through a map that skips the unit loop, but without it that is
// two dimensions: left as it is.
// CHECK-LABEL: func.func @rows_of_two_dimensions
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0 : tensor<8x16xf32>) outs(%{{.*}} : tensor<1x8x16xf32>)
// CHECK-NOT: tensor.expand_shape
func.func @rows_of_two_dimensions(%x: tensor<8x16xf32>) -> tensor<1x8x16xf32> {
  %e = tensor.empty() : tensor<1x8x16xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<8x16xf32>) outs(%e : tensor<1x8x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = arith.mulf %a, %a : f32
    linalg.yield %y : f32
  } -> tensor<1x8x16xf32>
  return %r : tensor<1x8x16xf32>
}

// -----

// The context's conversion to f16 into an annotated tensor (the dead
// heads' encoding), then the heads' permute (a linalg.transpose) and the
// collapse to rows x (heads x width): the conversion runs over the
// context's coordinates, the permute becomes a generic over them too, and
// the encoding is annotated back on the expanded result.
// CHECK-LABEL: func.func @heads_permute
// CHECK-SAME: (%[[C:.*]]: tensor<2x8x4xf32>)
// CHECK: %[[H:.*]] = linalg.generic {{.*}} ins(%[[C]] : tensor<2x8x4xf32>) outs(%{{.*}} : tensor<2x8x4xf16>)
// CHECK: %[[T:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[H]] : tensor<2x8x4xf16>) outs(%{{.*}} : tensor<8x2x4xf16>)
// CHECK-NOT: linalg.transpose
// CHECK: %[[X:.*]] = tensor.expand_shape %[[T]] {{\[}}[0, 1], [2], [3]] output_shape [1, 8, 2, 4] : tensor<8x2x4xf16> into tensor<1x8x2x4xf16>
// CHECK: %[[A:.*]] = tesa.annotate %[[X]] : tensor<1x8x2x4xf16> -> tensor<1x8x2x4xf16, #tesa.sparsity<bits = 16>>
// CHECK: tensor.collapse_shape %[[A]]
func.func @heads_permute(%context: tensor<2x8x4xf32>) -> tensor<8x8xf16, #tesa.sparsity<bits = 16>> {
  %e0 = tensor.empty() : tensor<1x2x8x4xf16, #tesa.sparsity<bits = 0>>
  %e = tesa.annotate %e0 : tensor<1x2x8x4xf16, #tesa.sparsity<bits = 0>> -> tensor<1x2x8x4xf16, #tesa.sparsity<bits = 16>>
  %h = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%context : tensor<2x8x4xf32>) outs(%e : tensor<1x2x8x4xf16, #tesa.sparsity<bits = 16>>) {
  ^bb0(%a: f32, %o: f16):
    %r = arith.truncf %a : f32 to f16
    linalg.yield %r : f16
  } -> tensor<1x2x8x4xf16, #tesa.sparsity<bits = 16>>
  %et = tensor.empty() : tensor<1x8x2x4xf16, #tesa.sparsity<bits = 16>>
  %t = linalg.transpose ins(%h : tensor<1x2x8x4xf16, #tesa.sparsity<bits = 16>>) outs(%et : tensor<1x8x2x4xf16, #tesa.sparsity<bits = 16>>) permutation = [0, 2, 1, 3]
  %flat = tensor.collapse_shape %t [[0, 1], [2, 3]] : tensor<1x8x2x4xf16, #tesa.sparsity<bits = 16>> into tensor<8x8xf16, #tesa.sparsity<bits = 16>>
  return %flat : tensor<8x8xf16, #tesa.sparsity<bits = 16>>
}

// -----

// An op that accumulates into an expansion of an encoded tensor: its
// result over the product's coordinates is a plain tensor (the source
// read through an annotation without the encoding), not the source's
// encoded type.
// CHECK-LABEL: func.func @encoded_expansion
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x8xf32, #tesa.sparsity<bits = 0>>, %[[S:.*]]: tensor<2x8x8xf32>)
// CHECK: %[[PLAIN:.*]] = tesa.annotate %[[X]] : tensor<2x8x8xf32, #tesa.sparsity<bits = 0>> -> tensor<2x8x8xf32>
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[S]] : tensor<2x8x8xf32>) outs(%[[PLAIN]] : tensor<2x8x8xf32>)
// CHECK: tensor.expand_shape %[[SUM]] {{.*}} : tensor<2x8x8xf32> into tensor<1x2x8x8xf32>
func.func @encoded_expansion(%x: tensor<2x8x8xf32, #tesa.sparsity<bits = 0>>, %s: tensor<2x8x8xf32>) -> tensor<1x2x8x8xf32> {
  %e = tensor.expand_shape %x [[0, 1], [2], [3]] output_shape [1, 2, 8, 8] : tensor<2x8x8xf32, #tesa.sparsity<bits = 0>> into tensor<1x2x8x8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s : tensor<2x8x8xf32>) outs(%e : tensor<1x2x8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = arith.addf %a, %o : f32
    linalg.yield %y : f32
  } -> tensor<1x2x8x8xf32>
  return %r : tensor<1x2x8x8xf32>
}
