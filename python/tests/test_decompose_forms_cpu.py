"""Batched products and convolutions with sparse operands, decomposed as
matmuls, run on the CPU and match a float64 reference.

`--tesa-decompose` splits a sparse `linalg.batch_matmul` into one matmul per
batch and rewrites a 2-D convolution (NHWC/HWCF and NCHW/FCHW, with strides
and dilations) as an explicit GEMM over the input's patches. Each case goes
through `--tesa-check-decomposition` and `--tesa-cpu-pipeline` and runs under
`mlir-runner`. Masks keep elements at 32 bits, so results match to float32
rounding; the 16-bit cases check the f16 parts within their rounding bound.
"""

import zlib

import numpy as np
import pytest

from tesa import sparsity_encoding
from test_decompose_cpu import literal, run_module


def encoded(shape, mask):
    text = f"tensor<{'x'.join(map(str, shape))}xf32"
    if mask is None:
        return text + ">"
    return text + ", " + sparsity_encoding(mask, inline_limit=1 << 30).attribute + ">"


def printer(index, value_type, shape):
    """@run<index> calls @f<index> and prints its result's bits."""
    size = int(np.prod(shape))
    rank = len(shape)
    return f"""
  %flat = tensor.collapse_shape %r [[{', '.join(map(str, range(rank)))}]] : {value_type} into tensor<{size}xf32>
  %e = tensor.empty() : tensor<{size}xi32>
  %bits = linalg.generic {{indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                          iterator_types = ["parallel"]}}
      ins(%flat : tensor<{size}xf32>) outs(%e : tensor<{size}xi32>) {{
  ^bb0(%v: f32, %o: i32):
    %b = arith.bitcast %v : f32 to i32
    linalg.yield %b : i32
  }} -> tensor<{size}xi32>
  %u = tensor.cast %bits : tensor<{size}xi32> to tensor<*xi32>
  call @printMemrefI32(%u) : (tensor<*xi32>) -> ()
  return
}}
"""


def call_ir(index, op_text, operands):
    """@f<index>(operands...) with `op_text` as its body, and @run<index>
    calling it on constants. `operands` are (name, array, mask)."""
    args = ", ".join(f"%{name}: {encoded(a.shape, m)}" for name, a, m in operands)
    result_t = encoded(operands[-1][1].shape, None)
    plain = lambda a: encoded(a.shape, None)  # noqa: E731
    constants = "".join(
        f"  %{name}0 = arith.constant {literal(a)} : {plain(a)}\n"
        f"  %{name} = tesa.annotate %{name}0 : {plain(a)} -> {encoded(a.shape, m)}\n"
        for name, a, m in operands)
    names = ", ".join(f"%{name}" for name, _, _ in operands)
    types = ", ".join(encoded(a.shape, m) for _, a, m in operands)
    return (f"func.func @f{index}({args}) -> {result_t} {{\n"
            f"  %r = {op_text}\n  return %r : {result_t}\n}}\n"
            f"func.func @run{index}() {{\n{constants}"
            f"  %r = func.call @f{index}({names}) : ({types}) -> {result_t}"
            + printer(index, result_t, operands[-1][1].shape))


def random_mask(rng, shape, bits, density):
    mask = np.where(rng.random(shape) < density, bits, 0).astype(np.int8)
    return mask


def batch_case(rng, bits):
    b, m, k, n = rng.integers(2, 4), rng.integers(3, 20), rng.integers(3, 40), rng.integers(3, 20)
    lhs = rng.standard_normal((b, m, k)).astype(np.float32)
    rhs = rng.standard_normal((b, k, n)).astype(np.float32)
    acc = rng.standard_normal((b, m, n)).astype(np.float32)
    sparse_lhs = bool(rng.integers(2))
    mask = random_mask(rng, lhs.shape if sparse_lhs else rhs.shape, bits, 0.4)
    masks = (mask, None) if sparse_lhs else (None, mask)
    types = [encoded(lhs.shape, masks[0]), encoded(rhs.shape, masks[1]),
             encoded(acc.shape, None)]
    op = (f"linalg.batch_matmul ins(%lhs, %rhs : {types[0]}, {types[1]}) "
          f"outs(%acc : {types[2]}) -> {types[2]}")
    operands = [("lhs", lhs, masks[0]), ("rhs", rhs, masks[1]), ("acc", acc, None)]
    masked = [np.where(m > 0, a, 0) if m is not None else a
              for (_, a, m) in operands[:2]]
    reference = acc.astype(np.float64) + np.matmul(
        masked[0].astype(np.float64), masked[1].astype(np.float64))
    return op, operands, reference, masked


def conv_case(rng, bits, channels_first):
    n, c, f = rng.integers(1, 3), rng.integers(2, 6), rng.integers(2, 9)
    kh, kw = rng.integers(1, 4), rng.integers(1, 4)
    stride, dilation = [int(x) for x in rng.integers(1, 3, 2)], [int(x) for x in rng.integers(1, 3, 2)]
    oh, ow = rng.integers(2, 7), rng.integers(2, 7)
    h = (oh - 1) * stride[0] + (kh - 1) * dilation[0] + 1
    w = (ow - 1) * stride[1] + (kw - 1) * dilation[1] + 1
    if channels_first:
        image_shape, filter_shape, out_shape = (n, c, h, w), (f, c, kh, kw), (n, f, oh, ow)
        name = "linalg.conv_2d_nchw_fchw"
    else:
        image_shape, filter_shape, out_shape = (n, h, w, c), (kh, kw, c, f), (n, oh, ow, f)
        name = "linalg.conv_2d_nhwc_hwcf"
    image = rng.standard_normal(image_shape).astype(np.float32)
    filt = rng.standard_normal(filter_shape).astype(np.float32)
    acc = rng.standard_normal(out_shape).astype(np.float32)
    filter_mask = random_mask(rng, filter_shape, bits, 0.4)
    # Sometimes the image is sparse too (propagated from an earlier layer).
    image_mask = (random_mask(rng, image_shape, 32, 0.7)
                  if rng.integers(2) else None)
    types = [encoded(image_shape, image_mask), encoded(filter_shape, filter_mask),
             encoded(out_shape, None)]
    op = (f"{name} {{dilations = dense<{dilation}> : tensor<2xi64>, "
          f"strides = dense<{stride}> : tensor<2xi64>}} "
          f"ins(%image, %filter : {types[0]}, {types[1]}) "
          f"outs(%acc : {types[2]}) -> {types[2]}")
    x = np.where(image_mask > 0, image, 0) if image_mask is not None else image
    wt = np.where(filter_mask > 0, filt, 0)
    if not channels_first:
        x, wt = x.transpose(0, 3, 1, 2), wt.transpose(3, 2, 0, 1)
    x, wt = x.astype(np.float64), wt.astype(np.float64)
    out = np.zeros((n, f, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i * dilation[0]: i * dilation[0] + (oh - 1) * stride[0] + 1: stride[0],
                      j * dilation[1]: j * dilation[1] + (ow - 1) * stride[1] + 1: stride[1]]
            out += np.einsum("nchw,fc->nfhw", patch, wt[:, :, i, j])
    if not channels_first:
        out = out.transpose(0, 2, 3, 1)
    reference = acc.astype(np.float64) + out
    operands = [("image", image, image_mask), ("filter", filt, filter_mask),
                ("acc", acc, None)]
    return op, operands, reference, (x, wt)


def check(result, reference, bits, magnitude):
    result = result.reshape(reference.shape).astype(np.float64)
    # f32: accumulation rounding; f16 parts: half an f16 ulp per operand.
    tolerance = (1e-5 if bits == 32 else 2e-3) * (magnitude + 1.0)
    error = np.abs(result - reference)
    assert np.all(error <= tolerance), float(error.max())


@pytest.mark.parametrize("bits", [32, 16])
@pytest.mark.parametrize("plan", ["plan=auto", "plan=fine",
                                  "plan=block block-shape=16x16"])
def test_batched_products_and_convolutions(bits, plan):
    rng = np.random.default_rng(zlib.crc32(f"{plan}{bits}".encode()))
    cases = ([batch_case(rng, bits) for _ in range(3)] +
             [conv_case(rng, bits, channels_first=False) for _ in range(3)] +
             [conv_case(rng, bits, channels_first=True) for _ in range(3)])
    body = "".join(call_ir(i, op, operands)
                   for i, (op, operands, _, _) in enumerate(cases))
    results, covers = run_module(body, len(cases), plan)
    # Every batch and every convolution was decomposed and checked.
    assert covers >= len(cases)
    for result, (_, operands, reference, masked) in zip(results, cases):
        magnitude = np.abs(reference).max()
        check(result, reference, bits, magnitude)
