// Tensor scrambling, forced on every op that has a hand-written rule, must
// derive the same encodings as the rules do.
//
// RUN: tesa-opt %S/ops.mlir --tesa-propagate 2>/dev/null > %t.ops.rules
// RUN: tesa-opt %S/ops.mlir --tesa-propagate=force-scrambling 2>/dev/null > %t.ops.scrambled
// RUN: diff %t.ops.rules %t.ops.scrambled
// RUN: tesa-opt %S/conv.mlir --tesa-propagate > %t.conv.rules
// RUN: tesa-opt %S/conv.mlir --tesa-propagate=force-scrambling > %t.conv.scrambled
// RUN: diff %t.conv.rules %t.conv.scrambled
// RUN: tesa-opt %S/mlp-fixpoint.mlir --tesa-propagate > %t.mlp.rules
// RUN: tesa-opt %S/mlp-fixpoint.mlir --tesa-propagate=force-scrambling > %t.mlp.scrambled
// RUN: diff %t.mlp.rules %t.mlp.scrambled
// RUN: tesa-opt %S/bits.mlir --tesa-propagate > %t.bits.rules
// RUN: tesa-opt %S/bits.mlir --tesa-propagate=force-scrambling > %t.bits.scrambled
// RUN: diff %t.bits.rules %t.bits.scrambled
