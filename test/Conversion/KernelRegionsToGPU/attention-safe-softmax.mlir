// RUN: tesa-opt %s -split-input-file --tesa-lower-kernel-regions | FileCheck %s

// torch-mlir's attention (see region_cases.torch_attention): a boolean
// mask shared by the heads, selected into 0 or -inf and added to the
// scaled scores as a score step, and the safe softmax, whose rows with no
// key above -inf give zeros. The mask is one more buffer of the kernel,
// read where each score is; at the end each row's context is multiplied by
// 1 / sum, or by 0 where the sum is 0 (every score -inf: the row's
// probabilities are zeros, not NaNs). The two warps that split a query
// group's keys combine their parts shifted by the larger maximum, or by 0
// where both are -inf, so that such a row stays at zero. On tensor cores:
// CHECK-LABEL: gpu.func @attention0(
// CHECK-SAME: %[[MASK:[^:]*]]: memref<16xi1>
// CHECK: %[[KEPT:.*]] = memref.load %[[MASK]][%{{.*}}] : memref<16xi1>
// CHECK: arith.select %[[KEPT]], %{{.*}}, %{{.*}} : f16
// CHECK: memref.view {{.*}} to memref<{{[0-9]+}}xf32, #gpu.address_space<workgroup>>
// CHECK: %[[MAX:.*]] = arith.maximumf %{{.*}}, %[[OTHER:.*]] : f32
// CHECK: %[[SEEN:.*]] = arith.cmpf one, %[[MAX]], %{{.*}} : f32
// CHECK: %[[SHIFT:.*]] = arith.select %[[SEEN]], %[[MAX]], %{{.*}} : f32
// CHECK: arith.subf %{{.*}}, %[[SHIFT]] : f32
// CHECK: arith.subf %[[OTHER]], %[[SHIFT]] : f32
// CHECK: %[[INVERSE:.*]] = arith.divf %{{.*}}, %[[SUM:.*]] : f32
// CHECK: %[[EMPTY:.*]] = arith.cmpf oeq, %[[SUM]], %{{.*}} : f32
// CHECK: arith.select %[[EMPTY]], %{{.*}}, %[[INVERSE]] : f32
// CHECK-LABEL: func.func @safe_attention(
// CHECK: gpu.launch_func  @tesa_kernels::@attention0

#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map4 = affine_map<(d0, d1, d2) -> (d1)>
#map5 = affine_map<(d0, d1, d2) -> (d0, d1)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
#map7 = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
func.func @safe_attention(%arg0: tensor<2x16x16xf16>, %arg1: tensor<2x16x16xf16>, %arg2: tensor<2x16x16xf16>) -> tensor<16x32xf16> {
  %cst = arith.constant dense<[true, false, false, true, true, false, false, false, true, true, true, true, true, true, true, true]> : tensor<16xi1>
  %cst_0 = arith.constant 2.500000e-01 : f32
  %cst_1 = arith.constant 0.000000e+00 : f32
  %cst_2 = arith.constant 0xFF800000 : f32
  %cst_3 = arith.constant 0xFFF0000000000000 : f64
  %true = arith.constant true
  %cst_4 = arith.constant 0.000000e+00 : f16
  %cst_5 = arith.constant 0xFC00 : f16
  %0 = tensor.empty() : tensor<2x16x16xf32>
  %1 = linalg.fill ins(%cst_1 : f32) outs(%0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %2 = tensor.empty() : tensor<2x16x16xf32>
  %3 = tensor.empty() : tensor<2x16xf32>
  %4 = linalg.fill ins(%cst_2 : f32) outs(%3 : tensor<2x16xf32>) -> tensor<2x16xf32>
  %5 = tensor.empty() : tensor<2x16x16xf32>
  %6 = tensor.empty() : tensor<2x16xf32>
  %7 = linalg.fill ins(%cst_1 : f32) outs(%6 : tensor<2x16xf32>) -> tensor<2x16xf32>
  %8 = tensor.empty() : tensor<2x16x16xi1>
  %9 = tensor.empty() : tensor<2x16xi1>
  %10 = linalg.fill ins(%true : i1) outs(%9 : tensor<2x16xi1>) -> tensor<2x16xi1>
  %11 = tensor.empty() : tensor<2x16x16xf16>
  %12 = tensor.empty() : tensor<2x16x16xf32>
  %13 = linalg.fill ins(%cst_1 : f32) outs(%12 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %14 = tensor.empty() : tensor<2x16x16xf16>
  %15 = tensor.empty() : tensor<16x2x16xf16>
  %16 = tesa.kernel attention config(#tesa.tile_config<tile = [32, 128, 16], thread_tile = [16, 64], threads = 128, stages = 2, copy = async_copy, atom = mma_f16_m16n8k16, work = dense_grid, split_k = 1>) -> tensor<16x2x16xf16> {
    %17 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<2x16x16xf16>, tensor<2x16x16xf16>) outs(%1 : tensor<2x16x16xf32>) {
    ^bb0(%in: f16, %in_6: f16, %out: f32):
      %28 = arith.extf %in : f16 to f32
      %29 = arith.extf %in_6 : f16 to f32
      %30 = arith.mulf %28, %29 : f32
      %31 = arith.addf %out, %30 : f32
      linalg.yield %31 : f32
    } -> tensor<2x16x16xf32>
    %18 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%17, %cst : tensor<2x16x16xf32>, tensor<16xi1>) outs(%2 : tensor<2x16x16xf32>) {
    ^bb0(%in: f32, %in_6: i1, %out: f32):
      %28 = arith.mulf %in, %cst_0 : f32
      %29 = arith.select %in_6, %cst_4, %cst_5 : f16
      %30 = arith.extf %29 : f16 to f32
      %31 = arith.addf %28, %30 : f32
      linalg.yield %31 : f32
    } -> tensor<2x16x16xf32>
    %19 = linalg.generic {indexing_maps = [#map3, #map5], iterator_types = ["parallel", "parallel", "reduction"]} ins(%18 : tensor<2x16x16xf32>) outs(%4 : tensor<2x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %28 = arith.maximumf %in, %out : f32
      linalg.yield %28 : f32
    } -> tensor<2x16xf32>
    %20 = linalg.generic {indexing_maps = [#map3, #map5, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%18, %19 : tensor<2x16x16xf32>, tensor<2x16xf32>) outs(%5 : tensor<2x16x16xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %28 = arith.subf %in, %in_6 : f32
      %29 = math.exp %28 : f32
      linalg.yield %29 : f32
    } -> tensor<2x16x16xf32>
    %21 = linalg.generic {indexing_maps = [#map3, #map5], iterator_types = ["parallel", "parallel", "reduction"]} ins(%20 : tensor<2x16x16xf32>) outs(%7 : tensor<2x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %28 = arith.addf %in, %out : f32
      linalg.yield %28 : f32
    } -> tensor<2x16xf32>
    %22 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%18 : tensor<2x16x16xf32>) outs(%8 : tensor<2x16x16xi1>) {
    ^bb0(%in: f32, %out: i1):
      %28 = arith.extf %in : f32 to f64
      %29 = arith.cmpf oeq, %28, %cst_3 : f64
      linalg.yield %29 : i1
    } -> tensor<2x16x16xi1>
    %23 = linalg.generic {indexing_maps = [#map3, #map5], iterator_types = ["parallel", "parallel", "reduction"]} ins(%22 : tensor<2x16x16xi1>) outs(%10 : tensor<2x16xi1>) {
    ^bb0(%in: i1, %out: i1):
      %28 = arith.andi %in, %out : i1
      linalg.yield %28 : i1
    } -> tensor<2x16xi1>
    %24 = linalg.generic {indexing_maps = [#map5, #map3, #map5, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%23, %20, %21 : tensor<2x16xi1>, tensor<2x16x16xf32>, tensor<2x16xf32>) outs(%11 : tensor<2x16x16xf16>) {
    ^bb0(%in: i1, %in_6: f32, %in_7: f32, %out: f16):
      %28 = arith.divf %in_6, %in_7 : f32
      %29 = arith.select %in, %cst_1, %28 : f32
      %30 = arith.truncf %29 : f32 to f16
      linalg.yield %30 : f16
    } -> tensor<2x16x16xf16>
    %25 = linalg.generic {indexing_maps = [#map, #map6, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%24, %arg2 : tensor<2x16x16xf16>, tensor<2x16x16xf16>) outs(%13 : tensor<2x16x16xf32>) {
    ^bb0(%in: f16, %in_6: f16, %out: f32):
      %28 = arith.extf %in : f16 to f32
      %29 = arith.extf %in_6 : f16 to f32
      %30 = arith.mulf %28, %29 : f32
      %31 = arith.addf %out, %30 : f32
      linalg.yield %31 : f32
    } -> tensor<2x16x16xf32>
    %26 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%25 : tensor<2x16x16xf32>) outs(%14 : tensor<2x16x16xf16>) {
    ^bb0(%in: f32, %out: f16):
      %28 = arith.truncf %in : f32 to f16
      linalg.yield %28 : f16
    } -> tensor<2x16x16xf16>
    %27 = linalg.generic {indexing_maps = [#map7, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%26 : tensor<2x16x16xf16>) outs(%15 : tensor<16x2x16xf16>) {
    ^bb0(%in: f16, %out: f16):
      linalg.yield %in : f16
    } -> tensor<16x2x16xf16>
    tesa.yield %27 : tensor<16x2x16xf16>
  }
  %collapsed = tensor.collapse_shape %16 [[0], [1, 2]] : tensor<16x2x16xf16> into tensor<16x32xf16>
  return %collapsed : tensor<16x32xf16>
}

// -----

// The same in f32, on the exact-f32 kernel (two groups of lanes split each
// step's keys).
// CHECK-LABEL: gpu.func @attention0(
// CHECK-SAME: %[[MASK:[^:]*]]: memref<16xi1>
// CHECK: %[[KEPT:.*]] = memref.load %[[MASK]][%{{.*}}] : memref<16xi1>
// CHECK: arith.select %[[KEPT]], %{{.*}}, %{{.*}} : f16
// CHECK: memref.view {{.*}} to memref<{{[0-9]+}}xf32, #gpu.address_space<workgroup>>
// CHECK: %[[MAX:.*]] = arith.maximumf %{{.*}}, %[[OTHER:.*]] : f32
// CHECK: %[[SEEN:.*]] = arith.cmpf one, %[[MAX]], %{{.*}} : f32
// CHECK: %[[SHIFT:.*]] = arith.select %[[SEEN]], %[[MAX]], %{{.*}} : f32
// CHECK: arith.subf %{{.*}}, %[[SHIFT]] : f32
// CHECK: arith.subf %[[OTHER]], %[[SHIFT]] : f32
// CHECK: %[[INVERSE:.*]] = arith.divf %{{.*}}, %[[SUM:.*]] : f32
// CHECK: %[[EMPTY:.*]] = arith.cmpf oeq, %[[SUM]], %{{.*}} : f32
// CHECK: arith.select %[[EMPTY]], %{{.*}}, %[[INVERSE]] : f32
// CHECK-LABEL: func.func @safe_attention_f32(
// CHECK: gpu.launch_func  @tesa_kernels::@attention0

#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map4 = affine_map<(d0, d1, d2) -> (d1)>
#map5 = affine_map<(d0, d1, d2) -> (d0, d1)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
#map7 = affine_map<(d0, d1, d2) -> (d1, d0, d2)>
func.func @safe_attention_f32(%arg0: tensor<2x16x16xf32>, %arg1: tensor<2x16x16xf32>, %arg2: tensor<2x16x16xf32>) -> tensor<16x32xf32> {
  %cst = arith.constant dense<[true, false, true, true, true, true, true, true, false, true, true, true, false, true, true, true]> : tensor<16xi1>
  %cst_0 = arith.constant 2.500000e-01 : f32
  %cst_1 = arith.constant 0.000000e+00 : f32
  %cst_2 = arith.constant 0xFF800000 : f32
  %cst_3 = arith.constant 0xFFF0000000000000 : f64
  %true = arith.constant true
  %cst_4 = arith.constant 0.000000e+00 : f16
  %cst_5 = arith.constant 0xFC00 : f16
  %0 = tensor.empty() : tensor<2x16x16xf32>
  %1 = linalg.fill ins(%cst_1 : f32) outs(%0 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %2 = tensor.empty() : tensor<2x16x16xf32>
  %3 = tensor.empty() : tensor<2x16xf32>
  %4 = linalg.fill ins(%cst_2 : f32) outs(%3 : tensor<2x16xf32>) -> tensor<2x16xf32>
  %5 = tensor.empty() : tensor<2x16x16xf32>
  %6 = tensor.empty() : tensor<2x16xf32>
  %7 = linalg.fill ins(%cst_1 : f32) outs(%6 : tensor<2x16xf32>) -> tensor<2x16xf32>
  %8 = tensor.empty() : tensor<2x16x16xi1>
  %9 = tensor.empty() : tensor<2x16xi1>
  %10 = linalg.fill ins(%true : i1) outs(%9 : tensor<2x16xi1>) -> tensor<2x16xi1>
  %11 = tensor.empty() : tensor<2x16x16xf32>
  %12 = tensor.empty() : tensor<2x16x16xf32>
  %13 = linalg.fill ins(%cst_1 : f32) outs(%12 : tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %14 = tensor.empty() : tensor<2x16x16xf32>
  %15 = tensor.empty() : tensor<16x2x16xf32>
  %16 = tesa.kernel attention config(#tesa.tile_config<tile = [32, 128, 16], thread_tile = [4, 4], threads = 256, stages = 2, copy = async_copy, atom = fma_f32, work = dense_grid, split_k = 1>) -> tensor<16x2x16xf32> {
    %17 = linalg.generic {indexing_maps = [#map, #map1, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg0, %arg1 : tensor<2x16x16xf32>, tensor<2x16x16xf32>) outs(%1 : tensor<2x16x16xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %28 = arith.mulf %in, %in_6 : f32
      %29 = arith.addf %out, %28 : f32
      linalg.yield %29 : f32
    } -> tensor<2x16x16xf32>
    %18 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%17, %cst : tensor<2x16x16xf32>, tensor<16xi1>) outs(%2 : tensor<2x16x16xf32>) {
    ^bb0(%in: f32, %in_6: i1, %out: f32):
      %28 = arith.mulf %in, %cst_0 : f32
      %29 = arith.select %in_6, %cst_4, %cst_5 : f16
      %30 = arith.extf %29 : f16 to f32
      %31 = arith.addf %28, %30 : f32
      linalg.yield %31 : f32
    } -> tensor<2x16x16xf32>
    %19 = linalg.generic {indexing_maps = [#map3, #map5], iterator_types = ["parallel", "parallel", "reduction"]} ins(%18 : tensor<2x16x16xf32>) outs(%4 : tensor<2x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %28 = arith.maximumf %in, %out : f32
      linalg.yield %28 : f32
    } -> tensor<2x16xf32>
    %20 = linalg.generic {indexing_maps = [#map3, #map5, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%18, %19 : tensor<2x16x16xf32>, tensor<2x16xf32>) outs(%5 : tensor<2x16x16xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %28 = arith.subf %in, %in_6 : f32
      %29 = math.exp %28 : f32
      linalg.yield %29 : f32
    } -> tensor<2x16x16xf32>
    %21 = linalg.generic {indexing_maps = [#map3, #map5], iterator_types = ["parallel", "parallel", "reduction"]} ins(%20 : tensor<2x16x16xf32>) outs(%7 : tensor<2x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %28 = arith.addf %in, %out : f32
      linalg.yield %28 : f32
    } -> tensor<2x16xf32>
    %22 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%18 : tensor<2x16x16xf32>) outs(%8 : tensor<2x16x16xi1>) {
    ^bb0(%in: f32, %out: i1):
      %28 = arith.extf %in : f32 to f64
      %29 = arith.cmpf oeq, %28, %cst_3 : f64
      linalg.yield %29 : i1
    } -> tensor<2x16x16xi1>
    %23 = linalg.generic {indexing_maps = [#map3, #map5], iterator_types = ["parallel", "parallel", "reduction"]} ins(%22 : tensor<2x16x16xi1>) outs(%10 : tensor<2x16xi1>) {
    ^bb0(%in: i1, %out: i1):
      %28 = arith.andi %in, %out : i1
      linalg.yield %28 : i1
    } -> tensor<2x16xi1>
    %24 = linalg.generic {indexing_maps = [#map5, #map3, #map5, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%23, %20, %21 : tensor<2x16xi1>, tensor<2x16x16xf32>, tensor<2x16xf32>) outs(%11 : tensor<2x16x16xf32>) {
    ^bb0(%in: i1, %in_6: f32, %in_7: f32, %out: f32):
      %28 = arith.divf %in_6, %in_7 : f32
      %29 = arith.select %in, %cst_1, %28 : f32
      linalg.yield %29 : f32
    } -> tensor<2x16x16xf32>
    %25 = linalg.generic {indexing_maps = [#map, #map6, #map2], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%24, %arg2 : tensor<2x16x16xf32>, tensor<2x16x16xf32>) outs(%13 : tensor<2x16x16xf32>) {
    ^bb0(%in: f32, %in_6: f32, %out: f32):
      %28 = arith.mulf %in, %in_6 : f32
      %29 = arith.addf %out, %28 : f32
      linalg.yield %29 : f32
    } -> tensor<2x16x16xf32>
    %26 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%25 : tensor<2x16x16xf32>) outs(%14 : tensor<2x16x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %28 = arith.addf %in, %cst_1 : f32
      linalg.yield %28 : f32
    } -> tensor<2x16x16xf32>
    %27 = linalg.generic {indexing_maps = [#map7, #map3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%26 : tensor<2x16x16xf32>) outs(%15 : tensor<16x2x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<16x2x16xf32>
    tesa.yield %27 : tensor<16x2x16xf32>
  }
  %collapsed = tensor.collapse_shape %16 [[0], [1, 2]] : tensor<16x2x16xf32> into tensor<16x32xf32>
  return %collapsed : tensor<16x32xf32>
}
