// RUN: tesa-opt %s --split-input-file --tesa-decompose="plan=auto" --tesa-lower-parts-to-gpu="chip=sm_80 decode-products=false" | FileCheck %s

// The accumulator is a bias broadcast along the result's rows (as
// --tesa-fold-bias-into-accumulator leaves it): the only part's kernel
// takes the bias as its last argument and writes bias[column] plus the sum
// for every result element without reading the result. Nothing is
// copied, and the broadcast is left unused (the pipeline's canonicaliser
// removes it).
// CHECK-LABEL: gpu.module @tesa_kernels
// CHECK-DAG: memref.global "private" constant @part0_rows : memref<3xi32> = dense<[0, 1, 2]>
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %{{.+}}: memref<4x5xf32>, %{{.+}}: memref<{{[0-9]+}}xf32>, %[[OUT:.+]]: memref<5x3xf32>, %[[BIAS:.+]]: memref<3xf32>)
// CHECK: scf.for
// CHECK: math.fma
// CHECK-NOT: memref.load %[[OUT]]
// CHECK: %[[INIT:.+]] = memref.load %[[BIAS]][%[[CHANNEL:.+]]] : memref<3xf32>
// CHECK-NOT: memref.load %[[OUT]]
// CHECK: %[[SUM:.+]] = arith.addf %[[INIT]], %{{.+}} : f32
// CHECK: memref.store %[[SUM]], %[[OUT]][%{{.+}}, %[[CHANNEL]]]
// CHECK-LABEL: func.func @column_bias
// CHECK-SAME: %[[B:[a-z0-9]+]]: tensor<3xf32>
// CHECK: %[[BROADCAST:.+]] = linalg.generic
// CHECK-NOT: %[[BROADCAST]]
// CHECK-NOT: memref.copy
// CHECK: %[[RESULT:.+]] = memref.alloc() : memref<5x3xf32>
// CHECK: %[[BIASBUF:.+]] = bufferization.to_buffer %[[B]]
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.+}} args({{.+}}, %[[RESULT]] : memref<5x3xf32>, %[[BIASBUF]] : memref<3xf32>)
func.func @column_bias(%x: tensor<5x4xf32>,
                       %w: tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>,
                       %b: tensor<3xf32>) -> tensor<5x3xf32> {
  %e = tensor.empty() : tensor<5x3xf32>
  %acc = linalg.generic {indexing_maps = [affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%b : tensor<3xf32>) outs(%e : tensor<5x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<5x3xf32>
  %p = linalg.matmul ins(%x, %w : tensor<5x4xf32>, tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>)
                     outs(%acc : tensor<5x3xf32>) -> tensor<5x3xf32>
  return %p : tensor<5x3xf32>
}

// -----

// An accumulator that is not a broadcast bias (here a bias added to
// something) is copied into the result first, as before.
// CHECK-LABEL: func.func @not_a_bias
// CHECK: memref.copy
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.+}} args({{.+}} : memref<5x3xf32>)
func.func @not_a_bias(%x: tensor<5x4xf32>,
                      %w: tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>,
                      %b: tensor<3xf32>, %y: tensor<5x3xf32>) -> tensor<5x3xf32> {
  %e = tensor.empty() : tensor<5x3xf32>
  %acc = linalg.generic {indexing_maps = [affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%b, %y : tensor<3xf32>, tensor<5x3xf32>) outs(%e : tensor<5x3xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %s = arith.addf %in, %in2 : f32
    linalg.yield %s : f32
  } -> tensor<5x3xf32>
  %p = linalg.matmul ins(%x, %w : tensor<5x4xf32>, tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>)
                     outs(%acc : tensor<5x3xf32>) -> tensor<5x3xf32>
  return %p : tensor<5x3xf32>
}

// -----

// torch-mlir's f16 Linear widens its f16 bias to f32, and
// --tesa-fold-bias-into-accumulator copies the broadcast into the
// product's own accumulator: the bias is seen through the copy and the
// widening, and the kernel reads the f16 vector itself (extended exactly).
// CHECK-LABEL: gpu.func @part0(
// CHECK-SAME: %[[OUT:[^:]+]]: memref<5x3xf32>, %[[BIAS:[^:]+]]: memref<3xf16>)
// CHECK: %[[INIT:.+]] = memref.load %[[BIAS]][%{{.+}}] : memref<3xf16>
// CHECK: %[[WIDE:.+]] = arith.extf %[[INIT]] : f16 to f32
// CHECK: arith.addf %[[WIDE]], %{{.+}} : f32
// CHECK-LABEL: func.func @widened_bias_copy
// CHECK-SAME: %[[B:[a-z0-9]+]]: tensor<3xf16>
// CHECK-NOT: memref.copy
// CHECK: %[[BIASBUF:.+]] = bufferization.to_buffer %[[B]]
// CHECK: gpu.launch_func @tesa_kernels::@part0 {{.+}}, %[[BIASBUF]] : memref<3xf16>)
func.func @widened_bias_copy(%x: tensor<5x4xf32>,
                             %w: tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>,
                             %b: tensor<3xf16>) -> tensor<5x3xf32> {
  %e1 = tensor.empty() : tensor<3xf32>
  %wide = linalg.generic {indexing_maps = [affine_map<(j) -> (j)>, affine_map<(j) -> (j)>], iterator_types = ["parallel"]} ins(%b : tensor<3xf16>) outs(%e1 : tensor<3xf32>) {
  ^bb0(%in: f16, %out: f32):
    %v = arith.extf %in : f16 to f32
    linalg.yield %v : f32
  } -> tensor<3xf32>
  %e = tensor.empty() : tensor<5x3xf32>
  %broadcast = linalg.generic {indexing_maps = [affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%wide : tensor<3xf32>) outs(%e : tensor<5x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<5x3xf32>
  %e2 = tensor.empty() : tensor<5x3xf32>
  %acc = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%broadcast : tensor<5x3xf32>) outs(%e2 : tensor<5x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<5x3xf32>
  %p = linalg.matmul ins(%x, %w : tensor<5x4xf32>, tensor<4x3xf32, #tesa.sparsity<map = dense<[[32, 0, 0], [32, 0, 0], [0, 0, 32], [0, 0, 0]]> : tensor<4x3xi8>>>)
                     outs(%acc : tensor<5x3xf32>) -> tensor<5x3xf32>
  return %p : tensor<5x3xf32>
}
