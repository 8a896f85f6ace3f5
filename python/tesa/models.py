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

    def _row_sum(self, value, shape, square=False):
        """The sum over the last dimension (of the squares if `square`)
        into a zero-filled tensor<rows x f32>: a reduction linalg.generic."""
        rows = shape[0]
        out = self.name("rowsum")
        self.emit(
            f"{out} = linalg.generic {{indexing_maps = [affine_map<(i, j) -> "
            "(i, j)>, affine_map<(i, j) -> (i)>], iterator_types = "
            "[\"parallel\", \"reduction\"]} "
            f"ins({value} : {_t(shape)}) outs({self.zeros((rows,))} : "
            f"{_t((rows,))}) {{")
        self.emit("^bb0(%a: f32, %acc: f32):")
        if square:
            self.emit("  %sq = arith.mulf %a, %a : f32")
            self.emit("  %s = arith.addf %sq, %acc : f32")
        else:
            self.emit("  %s = arith.addf %a, %acc : f32")
        self.emit("  linalg.yield %s : f32")
        self.emit(f"}} -> {_t((rows,))}")
        return out

    def _row_divide(self, value, rows, divisor):
        """`value / divisor` elementwise over a tensor<rows x f32>."""
        out = self.name("rowmean")
        self.emit(
            f"{out} = linalg.generic {{indexing_maps = [affine_map<(i) -> "
            "(i)>, affine_map<(i) -> (i)>], iterator_types = [\"parallel\"]} "
            f"ins({value} : {_t((rows,))}) outs({self.empty((rows,))} : "
            f"{_t((rows,))}) {{")
        self.emit("^bb0(%a: f32, %unused: f32):")
        self.emit(f"  %n = arith.constant {float(divisor):.1f} : f32")
        self.emit("  %s = arith.divf %a, %n : f32")
        self.emit("  linalg.yield %s : f32")
        self.emit(f"}} -> {_t((rows,))}")
        return out

    def layer_norm(self, value, gamma, gamma_type, beta, beta_type, shape,
                   eps):
        """Layer norm over the last dimension, written the way torch-mlir
        decomposes aten.native_layer_norm: the row mean (a reduction into
        zeros, then a division), the centred values, the variance (the mean
        of their squares), then one generic computing
        (x - mean) * rsqrt(var + eps) * gamma + beta."""
        rows, columns = shape
        mean = self._row_divide(self._row_sum(value, shape), rows, columns)
        centred = self.name("centred")
        self.emit(
            f"{centred} = linalg.generic {{indexing_maps = [affine_map<(i, j)"
            " -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> "
            "(i, j)>], iterator_types = [\"parallel\", \"parallel\"]} "
            f"ins({value}, {mean} : {_t(shape)}, {_t((rows,))}) outs("
            f"{self.empty(shape)} : {_t(shape)}) {{")
        self.emit("^bb0(%a: f32, %m: f32, %unused: f32):")
        self.emit("  %s = arith.subf %a, %m : f32")
        self.emit("  linalg.yield %s : f32")
        self.emit(f"}} -> {_t(shape)}")
        variance = self._row_divide(
            self._row_sum(centred, shape, square=True), rows, columns)
        out = self.name("normed")
        self.emit(
            f"{out} = linalg.generic {{indexing_maps = [affine_map<(i, j) -> "
            "(i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i)>, "
            "affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (j)>, "
            "affine_map<(i, j) -> (i, j)>], iterator_types = [\"parallel\", "
            f"\"parallel\"]}} ins({value}, {mean}, {variance}, {gamma}, "
            f"{beta} : {_t(shape)}, {_t((rows,))}, {_t((rows,))}, "
            f"{gamma_type}, {beta_type}) outs({self.empty(shape)} : "
            f"{_t(shape)}) {{")
        self.emit("^bb0(%a: f32, %m: f32, %v: f32, %g: f32, %b: f32, "
                  "%unused: f32):")
        self.emit(f"  %eps = arith.constant {eps:.8e} : f32")
        self.emit("  %d = arith.subf %a, %m : f32")
        self.emit("  %ve = arith.addf %v, %eps : f32")
        self.emit("  %r = math.rsqrt %ve : f32")
        self.emit("  %n = arith.mulf %d, %r : f32")
        self.emit("  %gn = arith.mulf %n, %g : f32")
        self.emit("  %s = arith.addf %gn, %b : f32")
        self.emit("  linalg.yield %s : f32")
        self.emit(f"}} -> {_t(shape)}")
        return out


def bert_encoder(layers: int = 1, seq: int = 128, hidden: int = 768,
                 heads: int = 12, ffn: int = 3072,
                 masks: Optional[Dict[str, np.ndarray]] = None,
                 inline_limit: int = 256, name: str = "bert",
                 layer_norm: bool = False, eps: float = 1e-12) -> str:
    """A BERT encoder as one function (without layer norm unless
    `layer_norm`).

    Each layer: Q/K/V projections with bias, heads split with expand_shape
    and transpose, scores by batch_matmul, scaled, softmax, context by
    batch_matmul, output projection with bias and a residual add, then the
    FFN (bias + GELU fused, second projection with bias, residual add).
    `masks` maps weight and bias names (`l0_wq`, `l0_bq`, `l0_wk`, ...,
    `l0_wo`, `l0_w1`, `l0_b1`, `l0_w2`, `l0_b2`, ...) to per-element (or
    block) maps; those without a mask are dense.

    With `layer_norm`, each layer is post-LN BERT: h1 = LN1(x + attention),
    out = LN2(h1 + ffn), with per-layer arguments `l0_ln1_g`, `l0_ln1_b`
    (after `l0_bo`) and `l0_ln2_g`, `l0_ln2_b` (after `l0_b2`), each
    tensor<hidden x f32>, and epsilon `eps`, written as torch-mlir
    decomposes layer norm (see _Builder.layer_norm). Without it the text
    is what it always was.
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
        if layer_norm:
            h1 = b.layer_norm(h1, *bias(p + "ln1_g", hidden),
                              *bias(p + "ln1_b", hidden), (seq, hidden), eps)
        w1, w1_type = weight(p + "w1", (hidden, ffn))
        inner = b.bias(b.matmul(h1, w1, seq, hidden, ffn, w1_type),
                       *bias(p + "b1", ffn), (seq, ffn), activation="gelu")
        w2, w2_type = weight(p + "w2", (ffn, hidden))
        out = b.bias(b.matmul(inner, w2, seq, ffn, hidden, w2_type),
                     *bias(p + "b2", hidden), (seq, hidden))
        x = b.add(h1, out, (seq, hidden))
        if layer_norm:
            x = b.layer_norm(x, *bias(p + "ln2_g", hidden),
                             *bias(p + "ln2_b", hidden), (seq, hidden), eps)
    b.emit(f"return {x} : {_t((seq, hidden))}")
    text = (f"func.func @{name}(" + ",\n    ".join(arguments) +
            f") -> {_t((seq, hidden))} {{\n  " + "\n  ".join(b.lines) +
            "\n}\n")
    return text + resource_section(encodings)
