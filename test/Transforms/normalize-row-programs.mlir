// RUN: tesa-opt %s --split-input-file --tesa-normalize-row-programs | FileCheck %s

// torch-mlir's row maximum also computes its index; nothing reads it, so
// the index, its init and the body ops only it needs go.
// CHECK-LABEL: func.func @unread_index
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x8xf32>)
// CHECK: %[[FILL:.*]] = linalg.fill
// CHECK: %[[MAX:.*]] = linalg.generic
// CHECK-SAME: ins(%[[X]] : tensor<2x4x8xf32>) outs(%[[FILL]] : tensor<2x4xf32>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: f32, %[[OUT:.*]]: f32):
// CHECK-NEXT: %[[NEW:.*]] = arith.maximumf %[[IN]], %[[OUT]] : f32
// CHECK-NEXT: linalg.yield %[[NEW]] : f32
// CHECK: return %[[MAX]]
func.func @unread_index(%x: tensor<2x4x8xf32>) -> tensor<2x4xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0 : i64
  %e = tensor.empty() : tensor<2x4xf32>
  %ei = tensor.empty() : tensor<2x4xi64>
  %m = linalg.fill ins(%ninf : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %i = linalg.fill ins(%zero : i64) outs(%ei : tensor<2x4xi64>) -> tensor<2x4xi64>
  %max:2 = linalg.generic {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b)>, affine_map<(a, b, c) -> (a, b)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x4x8xf32>) outs(%m, %i : tensor<2x4xf32>, tensor<2x4xi64>) {
  ^bb0(%in: f32, %om: f32, %oi: i64):
    %c = linalg.index 2 : index
    %ci = arith.index_cast %c : index to i64
    %new = arith.maximumf %in, %om : f32
    %gt = arith.cmpf ogt, %in, %om : f32
    %idx = arith.select %gt, %ci, %oi : i64
    linalg.yield %new, %idx : f32, i64
  } -> (tensor<2x4xf32>, tensor<2x4xi64>)
  return %max#0 : tensor<2x4xf32>
}

// -----

// A result that is read depends on the one that is not: both stay.
// CHECK-LABEL: func.func @dependent_results
// CHECK: linalg.generic
// CHECK-SAME: outs(%{{.*}}, %{{.*}} : tensor<4xf32>, tensor<4xf32>)
func.func @dependent_results(%x: tensor<4x8xf32>) -> tensor<4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %r:2 = linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>, affine_map<(a, b) -> (a)>, affine_map<(a, b) -> (a)>], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%z, %z : tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%in: f32, %o1: f32, %o2: f32):
    %s = arith.addf %in, %o2 : f32
    %t = arith.addf %s, %o1 : f32
    linalg.yield %t, %s : f32, f32
  } -> (tensor<4xf32>, tensor<4xf32>)
  return %r#0 : tensor<4xf32>
}

// -----

// A per-row value whose reduced dimension a tensor.expand_shape keeps is
// read directly, through the map without that dimension; a splat constant
// input becomes a scalar in the body.
// CHECK-LABEL: func.func @through_unit_expansion
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>, %[[ROW:.*]]: tensor<2xf32>)
// CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: linalg.generic {indexing_maps = [#[[WHOLE:.*]], #[[PER_ROW:.*]], #[[WHOLE]]]
// CHECK-SAME: ins(%[[X]], %[[ROW]] : tensor<2x8xf32>, tensor<2xf32>)
// CHECK-NEXT: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: arith.subf %[[A]], %[[B]]
// CHECK: arith.mulf %{{.*}}, %[[HALF]]
func.func @through_unit_expansion(%x: tensor<2x8xf32>, %row: tensor<2xf32>) -> tensor<2x8xf32> {
  %half = arith.constant dense<0.5> : tensor<2x8xf32>
  %kept = tensor.expand_shape %row [[0, 1]] output_shape [2, 1] : tensor<2xf32> into tensor<2x1xf32>
  %e = tensor.empty() : tensor<2x8xf32>
  %d = linalg.generic {indexing_maps = [affine_map<(a, b) -> (a, b)>, affine_map<(a, b) -> (a, 0)>, affine_map<(a, b) -> (a, b)>, affine_map<(a, b) -> (a, b)>], iterator_types = ["parallel", "parallel"]} ins(%x, %kept, %half : tensor<2x8xf32>, tensor<2x1xf32>, tensor<2x8xf32>) outs(%e : tensor<2x8xf32>) {
  ^bb0(%a: f32, %b: f32, %h: f32, %o: f32):
    %s = arith.subf %a, %b : f32
    %m = arith.mulf %s, %h : f32
    linalg.yield %m : f32
  } -> tensor<2x8xf32>
  return %d : tensor<2x8xf32>
}
