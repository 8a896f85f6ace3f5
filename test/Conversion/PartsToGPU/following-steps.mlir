// RUN: tesa-opt %s --tesa-decompose="plan=fine" --tesa-lower-parts-to-gpu="chip=sm_80 decode-products=false" | FileCheck %s

// The elementwise steps after a product's only part (as torch-mlir's f16
// Linear leaves them: the f32 sum rounded to f16, then a residual add of
// another f16 tensor) run in the part's kernel: it applies them to each
// element it writes and stores the last step's value into their result,
// taken as a flat buffer after the result (and the residual's flat buffer
// before it). The steps take no kernel of their own.
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[OUT:[^:]+]]: memref<5x3xf32>, %[[RESIDUAL:[^:]+]]: memref<15xf16>, %[[STEPS:[^:]+]]: memref<15xf16>)
// CHECK: %[[SUM:.+]] = arith.addf %{{.+}}, %{{.+}} : f32
// CHECK-NOT: memref.store %{{.+}}, %[[OUT]]
// CHECK: %[[ROUNDED:.+]] = arith.truncf %[[SUM]] : f32 to f16
// CHECK: %[[OTHER:.+]] = memref.load %[[RESIDUAL]][%{{.+}}] : memref<15xf16>
// CHECK: %[[ADDED:.+]] = arith.addf %[[ROUNDED]], %[[OTHER]] : f16
// CHECK: memref.store %[[ADDED]], %[[STEPS]][%{{.+}}] : memref<15xf16>
// CHECK-LABEL: func.func @rounded_residual
// CHECK-SAME: %[[Y:[a-z0-9]+]]: tensor<5x3xf16>
// CHECK-NOT: linalg.generic
// CHECK: %[[Y_BUFFER:.+]] = bufferization.to_buffer %[[Y]]
// CHECK: %[[Y_FLAT:.+]] = memref.collapse_shape %[[Y_BUFFER]]
// CHECK: %[[RESULT:.+]] = memref.alloc() : memref<5x3xf16>
// CHECK: %[[RESULT_FLAT:.+]] = memref.collapse_shape %[[RESULT]]
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.+}}, %[[Y_FLAT]] : memref<15xf16>, %[[RESULT_FLAT]] : memref<15xf16>)
// CHECK-NOT: linalg.generic
// CHECK: %[[TENSOR:.+]] = bufferization.to_tensor %[[RESULT]]
// CHECK: return %[[TENSOR]]
func.func @rounded_residual(%x: tensor<5x4xf32>,
                            %w: tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>,
                            %y: tensor<5x3xf16>) -> tensor<5x3xf16> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<5x3xf32>
  %zeros = linalg.fill ins(%zero : f32) outs(%e : tensor<5x3xf32>) -> tensor<5x3xf32>
  %p = linalg.matmul ins(%x, %w : tensor<5x4xf32>, tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>)
                     outs(%zeros : tensor<5x3xf32>) -> tensor<5x3xf32>
  %h = tensor.empty() : tensor<5x3xf16>
  %rounded = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%p : tensor<5x3xf32>) outs(%h : tensor<5x3xf16>) {
  ^bb0(%in: f32, %out: f16):
    %t = arith.truncf %in : f32 to f16
    linalg.yield %t : f16
  } -> tensor<5x3xf16>
  %added = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%rounded, %y : tensor<5x3xf16>, tensor<5x3xf16>) outs(%h : tensor<5x3xf16>) {
  ^bb0(%a: f16, %b: f16, %out: f16):
    %s = arith.addf %a, %b : f16
    linalg.yield %s : f16
  } -> tensor<5x3xf16>
  return %added : tensor<5x3xf16>
}
