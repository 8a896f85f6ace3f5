"""Generators of linalg-on-tensors models with #tesa.sparsity masks.

The models are written the way importers (torch-mlir, IREE) emit them:
`linalg.matmul` / `batch_matmul` with `linalg.fill` inits, bias and
activations as `linalg.generic`, heads split with `tensor.expand_shape` and
`linalg.transpose`, and `linalg.softmax`. Used by examples/make_examples.py
and bench/propagate_bert.py.
"""

from typing import Dict, List, Optional

import numpy as np

from .encoding import resource_section, sparsity_encoding


def _t(shape, encoding: Optional[str] = None) -> str:
    dims = "x".join(str(d) for d in shape)
    return f"tensor<{dims}xf32{', ' + encoding if encoding else ''}>"


class _Builder:
    """Accumulates the body of one function."""

    def __init__(self):
        self.lines: List[str] = ["%zero = arith.constant 0.0 : f32"]
        self.count = 0

    def name(self, stem):
        self.count += 1
        return f"%{stem}{self.count}"

    def emit(self, line):
        self.lines.append(line)

    def empty(self, shape):
        value = self.name("e")
        self.emit(f"{value} = tensor.empty() : {_t(shape)}")
        return value

    def zeros(self, shape):
        value = self.name("z")
        self.emit(f"{value} = linalg.fill ins(%zero : f32) outs("
                  f"{self.empty(shape)} : {_t(shape)}) -> {_t(shape)}")
        return value

    def matmul(self, lhs, rhs, m, k, n, rhs_type):
        value = self.name("mm")
        self.emit(f"{value} = linalg.matmul ins({lhs}, {rhs} : {_t((m, k))}, "
                  f"{rhs_type}) outs({self.zeros((m, n))} : {_t((m, n))}) -> "
                  f"{_t((m, n))}")
        return value

    def batch_matmul(self, lhs, rhs, b, m, k, n):
        value = self.name("bmm")
        self.emit(f"{value} = linalg.batch_matmul ins({lhs}, {rhs} : "
                  f"{_t((b, m, k))}, {_t((b, k, n))}) outs("
                  f"{self.zeros((b, m, n))} : {_t((b, m, n))}) -> "
                  f"{_t((b, m, n))}")
        return value

    def bias(self, value, bias, bias_type, shape, activation=None):
        """`activation(value + bias)` in one linalg.generic."""
        out = self.name("act" if activation else "biased")
        body = ["%s = arith.addf %a, %b : f32"]
        result = "%s"
        if activation == "relu":
            body.append("%r = arith.maximumf %s, %zero : f32")
            result = "%r"
        elif activation == "gelu":
            body += ["%c = arith.constant 0.70710678 : f32",
                     "%h = arith.constant 0.5 : f32",
                     "%one = arith.constant 1.0 : f32",
                     "%u = arith.mulf %s, %c : f32",
                     "%erf = math.erf %u : f32",
                     "%p = arith.addf %erf, %one : f32",
                     "%q = arith.mulf %s, %h : f32",
                     "%r = arith.mulf %q, %p : f32"]
            result = "%r"
        self.emit(
            f"{out} = linalg.generic {{indexing_maps = [affine_map<(i, j) -> "
            "(i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>]"
            ", iterator_types = [\"parallel\", \"parallel\"]} ins("
            f"{value}, {bias} : {_t(shape)}, {bias_type}) outs("
            f"{self.empty(shape)} : {_t(shape)}) {{")
        self.emit("^bb0(%a: f32, %b: f32, %unused: f32):")
        for line in body:
            self.emit("  " + line)
        self.emit(f"  linalg.yield {result} : f32")
        self.emit(f"}} -> {_t(shape)}")
        return out

    def add(self, lhs, rhs, shape):
        value = self.name("sum")
        self.emit(f"{value} = linalg.add ins({lhs}, {rhs} : {_t(shape)}, "
                  f"{_t(shape)}) outs({self.empty(shape)} : {_t(shape)}) -> "
                  f"{_t(shape)}")
        return value

    def transpose(self, value, shape, permutation):
        out = self.name("tr")
        result = [shape[p] for p in permutation]
        self.emit(f"{out} = linalg.transpose ins({value} : {_t(shape)}) outs("
                  f"{self.empty(result)} : {_t(result)}) permutation = "
                  f"{list(permutation)}")
        return out, result


def bert_encoder(layers: int = 1, seq: int = 128, hidden: int = 768,
                 heads: int = 12, ffn: int = 3072,
                 masks: Optional[Dict[str, np.ndarray]] = None,
                 inline_limit: int = 256, name: str = "bert") -> str:
    """A BERT encoder (without layer norm) as one function.

    Each layer: Q/K/V projections with bias, heads split with expand_shape
    and transpose, scores by batch_matmul, scaled, softmax, context by
    batch_matmul, output projection with bias and a residual add, then the
    FFN (bias + GELU fused, second projection with bias, residual add).
    `masks` maps weight and bias names (`l0_wq`, `l0_bq`, `l0_wk`, ...,
    `l0_wo`, `l0_w1`, `l0_b1`, `l0_w2`, `l0_b2`, ...) to per-element (or
    block) maps; those without a mask are dense.
    """
    masks = masks or {}
    head = hidden // heads
    b = _Builder()
    arguments = [f"%x: {_t((seq, hidden))}"]
    encodings = []

    def weight(key, shape):
        encoding = None
        if key in masks:
            encoding = sparsity_encoding(masks[key], resource_name=key,
                                         inline_limit=inline_limit)
            encodings.append(encoding)
        weight_type = _t(shape, encoding.attribute if encoding else None)
        arguments.append(f"%{key}: {weight_type}")
        return f"%{key}", weight_type

    def bias(key, size):
        return weight(key, (size,))

    x = "%x"
    scale = 1.0 / np.sqrt(head)
    for layer in range(layers):
        p = f"l{layer}_"
        projections = {}
        for part in ("q", "k", "v"):
            w, w_type = weight(p + "w" + part, (hidden, hidden))
            mm = b.matmul(x, w, seq, hidden, hidden, w_type)
            biased = b.bias(mm, *bias(p + "b" + part, hidden), (seq, hidden))
            split = b.name("heads")
            b.emit(f"{split} = tensor.expand_shape {biased} [[0], [1, 2]] "
                   f"output_shape [{seq}, {heads}, {head}] : "
                   f"{_t((seq, hidden))} into {_t((seq, heads, head))}")
            order = (1, 2, 0) if part == "k" else (1, 0, 2)
            projections[part], _ = b.transpose(split, (seq, heads, head), order)
        scores = b.batch_matmul(projections["q"], projections["k"], heads, seq,
                                head, seq)
        scaled = b.name("scaled")
        shape3 = (heads, seq, seq)
        b.emit(f"{scaled} = linalg.generic {{indexing_maps = [affine_map<(h, "
               "i, j) -> (h, i, j)>, affine_map<(h, i, j) -> (h, i, j)>], "
               "iterator_types = [\"parallel\", \"parallel\", \"parallel\"]} "
               f"ins({scores} : {_t(shape3)}) outs({b.empty(shape3)} : "
               f"{_t(shape3)}) {{")
        b.emit("^bb0(%a: f32, %unused: f32):")
        b.emit(f"  %c = arith.constant {scale:.8e} : f32")
        b.emit("  %s = arith.mulf %a, %c : f32")
        b.emit("  linalg.yield %s : f32")
        b.emit(f"}} -> {_t(shape3)}")
        probs = b.name("probs")
        b.emit(f"{probs} = linalg.softmax dimension(2) ins({scaled} : "
               f"{_t(shape3)}) outs({b.empty(shape3)} : {_t(shape3)}) -> "
               f"{_t(shape3)}")
        context = b.batch_matmul(probs, projections["v"], heads, seq, seq, head)
        merged, _ = b.transpose(context, (heads, seq, head), (1, 0, 2))
        flat = b.name("merged")
        b.emit(f"{flat} = tensor.collapse_shape {merged} [[0], [1, 2]] : "
               f"{_t((seq, heads, head))} into {_t((seq, hidden))}")
        wo, wo_type = weight(p + "wo", (hidden, hidden))
        attention = b.bias(b.matmul(flat, wo, seq, hidden, hidden, wo_type),
                           *bias(p + "bo", hidden), (seq, hidden))
        h1 = b.add(x, attention, (seq, hidden))
        w1, w1_type = weight(p + "w1", (hidden, ffn))
        inner = b.bias(b.matmul(h1, w1, seq, hidden, ffn, w1_type),
                       *bias(p + "b1", ffn), (seq, ffn), activation="gelu")
        w2, w2_type = weight(p + "w2", (ffn, hidden))
        out = b.bias(b.matmul(inner, w2, seq, ffn, hidden, w2_type),
                     *bias(p + "b2", hidden), (seq, hidden))
        x = b.add(h1, out, (seq, hidden))
    b.emit(f"return {x} : {_t((seq, hidden))}")
    text = (f"func.func @{name}(" + ",\n    ".join(arguments) +
            f") -> {_t((seq, hidden))} {{\n  " + "\n  ".join(b.lines) +
            "\n}\n")
    return text + resource_section(encodings)
