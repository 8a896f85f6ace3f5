"""Regenerates the example models in this folder (deterministic seeds).

    .venv/bin/python examples/make_examples.py

Masks are drawn at random, as a pruning run would leave them; per-element
masks are stored as dense_resource blobs, block masks inline.
"""

from pathlib import Path

import numpy as np

from tesa import resource_section, sparsity_encoding

HERE = Path(__file__).resolve().parent


def block_mask(rng, grid, kept, bits=(8, 16, 32)):
    """A grid of blocks: a `kept` share survives, each at a random width."""
    widths = rng.choice(bits, size=grid)
    return np.where(rng.random(grid) < kept, widths, 0)


def element_mask(rng, shape, kept, int8_share):
    """Per element: a `kept` share survives, `int8_share` of them at 8 bits."""
    keep = rng.random(shape) < kept
    narrow = rng.random(shape) < int8_share
    return np.where(keep, np.where(narrow, 8, 32), 0)


def mlp():
    rng = np.random.default_rng(2022)
    w1 = sparsity_encoding(block_mask(rng, (8, 16), kept=0.3))
    w2 = sparsity_encoding(element_mask(rng, (512, 128), 0.1, 0.5),
                           resource_name="w2_mask")
    act = sparsity_encoding(np.full((1, 1), 16))
    t1 = f"tensor<256x512xf32, {w1.attribute}>"
    t2 = f"tensor<512x128xf32, {w2.attribute}>"
    body = f"""// A two-layer MLP: a block-sparse first weight (32x32 blocks, 30% kept at
// mixed widths), a per-element second weight (10% kept, half at int8), and
// hidden activations declared 16-bit with tesa.annotate.
// Regenerate with examples/make_examples.py.
func.func @mlp(%x: tensor<16x256xf32>, %w1: {t1},
               %w2: {t2}) -> tensor<16x128xf32> {{
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<16x512xf32>
  %acc1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<16x512xf32>) -> tensor<16x512xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<16x256xf32>, {t1})
                     outs(%acc1 : tensor<16x512xf32>) -> tensor<16x512xf32>
  %relu = linalg.max ins(%h, %acc1 : tensor<16x512xf32>, tensor<16x512xf32>)
                     outs(%e1 : tensor<16x512xf32>) -> tensor<16x512xf32>
  %h16 = tesa.annotate %relu : tensor<16x512xf32> -> tensor<16x512xf32, {act.attribute}>
  %e2 = tensor.empty() : tensor<16x128xf32>
  %acc2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<16x128xf32>) -> tensor<16x128xf32>
  %y = linalg.matmul ins(%h16, %w2 : tensor<16x512xf32, {act.attribute}>, {t2})
                     outs(%acc2 : tensor<16x128xf32>) -> tensor<16x128xf32>
  return %y : tensor<16x128xf32>
}}
"""
    return body + resource_section([w2])


def conv():
    rng = np.random.default_rng(7)
    # Filter pruning: whole output channels (last dim of HWCF) removed.
    channels = np.where(rng.random(32) < 0.5, 8, 0)
    filt = sparsity_encoding(np.broadcast_to(channels, (1, 1, 1, 32)).copy())
    tf = f"tensor<3x3x16x32xf32, {filt.attribute}>"
    return f"""// A 3x3 convolution whose filter has half of its output channels pruned
// and the rest quantised to int8. Regenerate with examples/make_examples.py.
func.func @conv(%img: tensor<1x32x32x16xf32>, %filter: {tf}) -> tensor<1x30x30x32xf32> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x30x30x32xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<1x30x30x32xf32>) -> tensor<1x30x30x32xf32>
  %y = linalg.conv_2d_nhwc_hwcf ins(%img, %filter : tensor<1x32x32x16xf32>, {tf})
                                outs(%acc : tensor<1x30x30x32xf32>) -> tensor<1x30x30x32xf32>
  return %y : tensor<1x30x30x32xf32>
}}
"""


if __name__ == "__main__":
    (HERE / "mlp.mlir").write_text(mlp())
    (HERE / "conv.mlir").write_text(conv())
    print("wrote", HERE / "mlp.mlir", "and", HERE / "conv.mlir")
