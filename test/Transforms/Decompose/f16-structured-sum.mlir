// RUN: tesa-opt %s --tesa-decompose="chip=sm_80 plan=auto" | FileCheck %s

// An f16 program's product whose W (72 x 40) is 2:4 along the reduction,
// elements 0-1 of every four kept in columns 0-19 and 2-3 in columns 20-39,
// and the last 8 reduction elements pruned in columns 0-19: a part of 64x64
// structured blocks and one of 32x16 blocks for the edge. The parts sum
// into an f32 accumulator (the f16 one extended) and the sum is rounded to
// f16 once, after the last.
// CHECK-LABEL: func.func @chain(
// CHECK-SAME: %[[X:[^:]+]]: tensor<5x72xf16>, %{{[^:]+}}: tensor<72x40xf16, {{.+}}>, %[[ACC:[^:]+]]: tensor<5x40xf16>)
// CHECK: %[[WIDE:.+]] = linalg.generic {{.+}} ins(%[[ACC]] : tensor<5x40xf16>) outs(%{{.+}} : tensor<5x40xf32>)
// CHECK: arith.extf %{{.+}} : f16 to f32
// CHECK: %[[FIRST:.+]] = tesa.part_matmul structured %[[X]], %{{[^,]+}}, %[[WIDE]] {{.+}} block = array<i64: 64, 64>{{.+}} -> tensor<5x40xf32>
// CHECK: %[[SECOND:.+]] = tesa.part_matmul structured %[[X]], %{{[^,]+}}, %[[FIRST]] {{.+}} block = array<i64: 32, 16>{{.+}} -> tensor<5x40xf32>
// CHECK: %[[RESULT:.+]] = linalg.generic {{.+}} ins(%[[SECOND]] : tensor<5x40xf32>) outs(%{{.+}} : tensor<5x40xf16>)
// CHECK: arith.truncf %{{.+}} : f32 to f16
// CHECK: return %[[RESULT]] : tensor<5x40xf16>
func.func @chain(%x: tensor<5x72xf16>, %w: tensor<72x40xf16, #tesa.sparsity<map = dense<[[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[0,0],[0,0],[0,16],[0,16],[0,0],[0,0],[0,16],[0,16]]> : tensor<72x2xi8>>>, %acc: tensor<5x40xf16>) -> tensor<5x40xf16> {
  %r = linalg.matmul ins(%x, %w : tensor<5x72xf16>, tensor<72x40xf16, #tesa.sparsity<map = dense<[[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[16,0],[16,0],[0,16],[0,16],[0,0],[0,0],[0,16],[0,16],[0,0],[0,0],[0,16],[0,16]]> : tensor<72x2xi8>>>) outs(%acc : tensor<5x40xf16>) -> tensor<5x40xf16>
  return %r : tensor<5x40xf16>
}
