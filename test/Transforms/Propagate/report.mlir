// RUN: tesa-opt %s --tesa-propagate="report=-" -o /dev/null | FileCheck %s --check-prefix=TABLE
// RUN: tesa-opt %s --tesa-propagate="report=%t.json report-format=json" -o /dev/null
// RUN: FileCheck %s --check-prefix=JSON < %t.json
// RUN: not tesa-opt %s --tesa-propagate="report=- report-format=xml" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BAD

// The report lists every tensor with its pruned share and bit widths before
// and after propagation and what drove the change.

// TABLE: tesa propagation report
// TABLE-NEXT: function  value  producer       shape  pruned before  pruned after  bits before  bits after  driver
// TABLE-NEXT: @mlp      %arg0  argument       2x4    0.00%          0.00%         32           32          -
// TABLE-NEXT: @mlp      %arg1  argument       4x4    0.00%          50.00%        32           32          dead for linalg.matmul
// TABLE-NEXT: @mlp      %arg2  argument       4x2    50.00%         50.00%        8            8           -
// TABLE-NEXT: @mlp      %2     linalg.matmul  2x4    0.00%          50.00%        32           32          dead for linalg.matmul
// TABLE-NEXT: @mlp      %5     linalg.matmul  2x2    0.00%          0.00%         32           32          -
// TABLE-NEXT: total: 5 tensors, 44 elements; pruned before 4 (9.09%), after 16 (36.36%), 4.00x

// JSON: "totals": {
// JSON-NEXT: "elements": 44,
// JSON-NEXT: "pruned_after": 16,
// JSON-NEXT: "pruned_before": 4,
// JSON-NEXT: "tensors": 5
// JSON: "value": "%arg0"
// JSON: "after": {
// JSON-NEXT: "0": 8,
// JSON-NEXT: "16": 0,
// JSON-NEXT: "32": 8,
// JSON: "driver": "dead for linalg.matmul",
// JSON-NEXT: "element_type": "f32",
// JSON-NEXT: "elements": 16,
// JSON: "newly_dead": 8,
// JSON-NEXT: "newly_zero": 0,
// JSON-NEXT: "producer": "argument",
// JSON-NEXT: "shape": [
// JSON-NEXT: 4,
// JSON-NEXT: 4
// JSON-NEXT: ],
// JSON-NEXT: "value": "%arg1"

// BAD: error: tesa-propagate: report-format must be 'table' or 'json', got 'xml'

#rows = #tesa.sparsity<map = dense<[[8], [0], [8], [0]]> : tensor<4x1xi8>>
func.func @mlp(%x: tensor<2x4xf32>, %w1: tensor<4x4xf32>, %w2: tensor<4x2xf32, #rows>) -> tensor<2x2xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  %e2 = tensor.empty() : tensor<2x2xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = linalg.matmul ins(%h, %w2 : tensor<2x4xf32>, tensor<4x2xf32, #rows>) outs(%f2 : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}
