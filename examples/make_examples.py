"""Regenerates the example models in this folder (deterministic seeds).

    .venv/bin/python examples/make_examples.py

Masks are drawn at random, as a pruning run would leave them; per-element
masks are stored as dense_resource blobs, block masks inline.
"""

from pathlib import Path

import numpy as np

from tesa import resource_section, sparsity_encoding
from tesa.models import bert_encoder

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


def bert_layer():
    """One BERT encoder layer (seq 16, hidden 64, 4 heads, FFN 256)."""
    rng = np.random.default_rng(12)
    hidden, ffn, heads = 64, 256, 4
    head = hidden // heads

    def fine(shape, kept=0.5):
        return element_mask(rng, shape, kept, int8_share=0.0)

    masks = {name: fine((hidden, hidden)) for name in
             ("l0_wq", "l0_wk", "l0_wv", "l0_wo")}
    # Head 1 pruned from the query projection: its scores are zero, so its
    # key projection is dead.
    masks["l0_wq"][:, head:2 * head] = 0
    masks["l0_bq"] = np.full(hidden, 32)
    masks["l0_bq"][head:2 * head] = 0
    masks["l0_w1"] = fine((hidden, ffn))
    # A quarter of the FFN neurons pruned in the second weight: the matching
    # columns of the first weight and entries of its bias are dead.
    masks["l0_w2"] = fine((ffn, hidden))
    masks["l0_w2"][rng.random(ffn) < 0.25, :] = 0
    header = ("// One BERT encoder layer (no layer norm): Q/K/V projections, "
              "4 heads, softmax\n// attention with batch_matmul, FFN with "
              "bias + GELU. Half of every weight is\n// pruned per element; "
              "head 1 of the query weight and bias and a quarter of the FFN\n// "
              "neurons (rows of l0_w2) are pruned whole. Regenerate with "
              "examples/make_examples.py.\n")
    return header + bert_encoder(layers=1, seq=16, hidden=hidden, heads=heads,
                                 ffn=ffn, masks=masks, name="bert_layer")


def convnet():
    rng = np.random.default_rng(5)
    # First conv: half of the 16 output channels pruned (filter pruning).
    channels = np.where(rng.random(16) < 0.5, 32, 0)
    f1 = sparsity_encoding(np.broadcast_to(channels, (1, 1, 1, 16)).copy())
    t1 = f"tensor<3x3x8x16xf32, {f1.attribute}>"
    f2 = sparsity_encoding(element_mask(rng, (3, 3, 16, 16), 0.5, 0.0),
                           resource_name="conv2_filter")
    t2 = f"tensor<3x3x16x16xf32, {f2.attribute}>"
    return f"""// A small conv net: conv 3x3 (8->16, half the filters pruned), bias-free
// relu, 2x2 max pooling, conv 3x3 (16->16, half pruned per element). The
// pruned filters zero channels of the activations, so the matching input
// channels of the second filter are dead. Regenerate with
// examples/make_examples.py.
func.func @convnet(%img: tensor<1x18x18x8xf32>, %f1: {t1},
                   %f2: {t2}) -> tensor<1x6x6x16xf32> {{
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e1 = tensor.empty() : tensor<1x16x16x16xf32>
  %a1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x16x16x16xf32>) -> tensor<1x16x16x16xf32>
  %c1 = linalg.conv_2d_nhwc_hwcf ins(%img, %f1 : tensor<1x18x18x8xf32>, {t1})
                                 outs(%a1 : tensor<1x16x16x16xf32>) -> tensor<1x16x16x16xf32>
  %e2 = tensor.empty() : tensor<1x16x16x16xf32>
  %relu = linalg.generic {{indexing_maps = [affine_map<(n, h, w, c) -> (n, h, w, c)>, affine_map<(n, h, w, c) -> (n, h, w, c)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
      ins(%c1 : tensor<1x16x16x16xf32>) outs(%e2 : tensor<1x16x16x16xf32>) {{
  ^bb0(%a: f32, %unused: f32):
    %m = arith.maximumf %a, %zero : f32
    linalg.yield %m : f32
  }} -> tensor<1x16x16x16xf32>
  %window = tensor.empty() : tensor<2x2xf32>
  %e3 = tensor.empty() : tensor<1x8x8x16xf32>
  %a3 = linalg.fill ins(%ninf : f32) outs(%e3 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %pool = linalg.pooling_nhwc_max {{dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}}
      ins(%relu, %window : tensor<1x16x16x16xf32>, tensor<2x2xf32>) outs(%a3 : tensor<1x8x8x16xf32>) -> tensor<1x8x8x16xf32>
  %e4 = tensor.empty() : tensor<1x6x6x16xf32>
  %a4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<1x6x6x16xf32>) -> tensor<1x6x6x16xf32>
  %c2 = linalg.conv_2d_nhwc_hwcf ins(%pool, %f2 : tensor<1x8x8x16xf32>, {t2})
                                 outs(%a4 : tensor<1x6x6x16xf32>) -> tensor<1x6x6x16xf32>
  return %c2 : tensor<1x6x6x16xf32>
}}
""" + resource_section([f2])


if __name__ == "__main__":
    models = {"mlp.mlir": mlp(), "conv.mlir": conv(),
              "bert_layer.mlir": bert_layer(), "convnet.mlir": convnet()}
    for name, text in models.items():
        (HERE / name).write_text(text)
    print("wrote", ", ".join(str(HERE / name) for name in models))
