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


def _t(shape, encoding: Optional[str] = None, element: str = "f32") -> str:
    dims = "x".join(str(d) for d in shape)
    return f"tensor<{dims}x{element}{', ' + encoding if encoding else ''}>"


class _Builder:
    """Accumulates the body of one function whose activations are of
    `element` type (f32 or f16); layer-norm statistics are f32 either way,
    as PyTorch computes them for half tensors."""

    def __init__(self, element: str = "f32"):
        self.element = element
        self.lines: List[str] = [f"%zero = arith.constant 0.0 : {element}"]
        if element != "f32":
            self.lines.append("%zero32 = arith.constant 0.0 : f32")
        self.count = 0

    def t(self, shape, encoding=None):
        return _t(shape, encoding, self.element)

    def name(self, stem):
        self.count += 1
        return f"%{stem}{self.count}"

    def emit(self, line):
        self.lines.append(line)

    def empty(self, shape, element=None):
        value = self.name("e")
        self.emit(f"{value} = tensor.empty() : "
                  f"{_t(shape, None, element or self.element)}")
        return value

    def zeros(self, shape, element=None):
        element = element or self.element
        zero = "%zero" if element == self.element else "%zero32"
        value = self.name("z")
        t = _t(shape, None, element)
        self.emit(f"{value} = linalg.fill ins({zero} : {element}) outs("
                  f"{self.empty(shape, element)} : {t}) -> {t}")
        return value

    def matmul(self, lhs, rhs, m, k, n, rhs_type):
        value = self.name("mm")
        self.emit(f"{value} = linalg.matmul ins({lhs}, {rhs} : "
                  f"{self.t((m, k))}, {rhs_type}) outs({self.zeros((m, n))} : "
                  f"{self.t((m, n))}) -> {self.t((m, n))}")
        return value

    def batch_matmul(self, lhs, rhs, b, m, k, n):
        value = self.name("bmm")
        self.emit(f"{value} = linalg.batch_matmul ins({lhs}, {rhs} : "
                  f"{self.t((b, m, k))}, {self.t((b, k, n))}) outs("
                  f"{self.zeros((b, m, n))} : {self.t((b, m, n))}) -> "
                  f"{self.t((b, m, n))}")
        return value

    def bias(self, value, bias, bias_type, shape, activation=None):
        """`activation(value + bias)` in one linalg.generic."""
        el = self.element
        out = self.name("act" if activation else "biased")
        body = [f"%s = arith.addf %a, %b : {el}"]
        result = "%s"
        if activation == "relu":
            body.append(f"%r = arith.maximumf %s, %zero : {el}")
            result = "%r"
        elif activation == "gelu":
            body += [f"%c = arith.constant 0.70710678 : {el}",
                     f"%h = arith.constant 0.5 : {el}",
                     f"%one = arith.constant 1.0 : {el}",
                     f"%u = arith.mulf %s, %c : {el}",
                     f"%erf = math.erf %u : {el}",
                     f"%p = arith.addf %erf, %one : {el}",
                     f"%q = arith.mulf %s, %h : {el}",
                     f"%r = arith.mulf %q, %p : {el}"]
            result = "%r"
        self.emit(
            f"{out} = linalg.generic {{indexing_maps = [affine_map<(i, j) -> "
            "(i, j)>, affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (i, j)>]"
            ", iterator_types = [\"parallel\", \"parallel\"]} ins("
            f"{value}, {bias} : {self.t(shape)}, {bias_type}) outs("
            f"{self.empty(shape)} : {self.t(shape)}) {{")
        self.emit(f"^bb0(%a: {el}, %b: {el}, %unused: {el}):")
        for line in body:
            self.emit("  " + line)
        self.emit(f"  linalg.yield {result} : {el}")
        self.emit(f"}} -> {self.t(shape)}")
        return out

    def add(self, lhs, rhs, shape):
        value = self.name("sum")
        self.emit(f"{value} = linalg.add ins({lhs}, {rhs} : {self.t(shape)}, "
                  f"{self.t(shape)}) outs({self.empty(shape)} : "
                  f"{self.t(shape)}) -> {self.t(shape)}")
        return value

    def transpose(self, value, shape, permutation):
        out = self.name("tr")
        result = [shape[p] for p in permutation]
        self.emit(f"{out} = linalg.transpose ins({value} : {self.t(shape)}) "
                  f"outs({self.empty(result)} : {self.t(result)}) "
                  f"permutation = {list(permutation)}")
        return out, result

    def _widen(self, name, element):
        """The f32 value of body argument `%<name>` of type `element`:
        itself, or an arith.extf emitted for it."""
        if element == "f32":
            return f"%{name}"
        self.emit(f"  %{name}32 = arith.extf %{name} : {element} to f32")
        return f"%{name}32"

    def _row_sum(self, value, shape, square=False, element=None):
        """The f32 sum over the last dimension (of the squares if
        `square`) of `value` (of `element` type, the activations' by
        default) into a zero-filled tensor<rows x f32>: a reduction
        linalg.generic."""
        element = element or self.element
        rows = shape[0]
        out = self.name("rowsum")
        self.emit(
            f"{out} = linalg.generic {{indexing_maps = [affine_map<(i, j) -> "
            "(i, j)>, affine_map<(i, j) -> (i)>], iterator_types = "
            "[\"parallel\", \"reduction\"]} "
            f"ins({value} : {_t(shape, None, element)}) outs("
            f"{self.zeros((rows,), 'f32')} : {_t((rows,))}) {{")
        self.emit(f"^bb0(%a: {element}, %acc: f32):")
        a = self._widen("a", element)
        if square:
            self.emit(f"  %sq = arith.mulf {a}, {a} : f32")
            self.emit("  %s = arith.addf %sq, %acc : f32")
        else:
            self.emit(f"  %s = arith.addf {a}, %acc : f32")
        self.emit("  linalg.yield %s : f32")
        self.emit(f"}} -> {_t((rows,))}")
        return out

    def _row_divide(self, value, rows, divisor):
        """`value / divisor` elementwise over a tensor<rows x f32>."""
        out = self.name("rowmean")
        self.emit(
            f"{out} = linalg.generic {{indexing_maps = [affine_map<(i) -> "
            "(i)>, affine_map<(i) -> (i)>], iterator_types = [\"parallel\"]} "
            f"ins({value} : {_t((rows,))}) outs({self.empty((rows,), 'f32')} "
            f": {_t((rows,))}) {{")
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
        (x - mean) * rsqrt(var + eps) * gamma + beta. The statistics and
        the centred values are f32; f16 activations are widened as they
        are read and the result rounded once."""
        el = self.element
        rows, columns = shape
        mean = self._row_divide(self._row_sum(value, shape), rows, columns)
        centred = self.name("centred")
        self.emit(
            f"{centred} = linalg.generic {{indexing_maps = [affine_map<(i, j)"
            " -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> "
            "(i, j)>], iterator_types = [\"parallel\", \"parallel\"]} "
            f"ins({value}, {mean} : {self.t(shape)}, {_t((rows,))}) outs("
            f"{self.empty(shape, 'f32')} : {_t(shape)}) {{")
        self.emit(f"^bb0(%a: {el}, %m: f32, %unused: f32):")
        a = self._widen("a", el)
        self.emit(f"  %s = arith.subf {a}, %m : f32")
        self.emit("  linalg.yield %s : f32")
        self.emit(f"}} -> {_t(shape)}")
        variance = self._row_divide(
            self._row_sum(centred, shape, square=True, element="f32"), rows,
            columns)
        out = self.name("normed")
        self.emit(
            f"{out} = linalg.generic {{indexing_maps = [affine_map<(i, j) -> "
            "(i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i)>, "
            "affine_map<(i, j) -> (j)>, affine_map<(i, j) -> (j)>, "
            "affine_map<(i, j) -> (i, j)>], iterator_types = [\"parallel\", "
            f"\"parallel\"]}} ins({value}, {mean}, {variance}, {gamma}, "
            f"{beta} : {self.t(shape)}, {_t((rows,))}, {_t((rows,))}, "
            f"{gamma_type}, {beta_type}) outs({self.empty(shape)} : "
            f"{self.t(shape)}) {{")
        self.emit(f"^bb0(%a: {el}, %m: f32, %v: f32, %g: {el}, %b: {el}, "
                  f"%unused: {el}):")
        a, g, b = (self._widen(name, el) for name in ("a", "g", "b"))
        self.emit(f"  %eps = arith.constant {eps:.8e} : f32")
        self.emit(f"  %d = arith.subf {a}, %m : f32")
        self.emit("  %ve = arith.addf %v, %eps : f32")
        self.emit("  %r = math.rsqrt %ve : f32")
        self.emit("  %n = arith.mulf %d, %r : f32")
        self.emit(f"  %gn = arith.mulf %n, {g} : f32")
        self.emit(f"  %s = arith.addf %gn, {b} : f32")
        if el != "f32":
            self.emit(f"  %s16 = arith.truncf %s : f32 to {el}")
            self.emit(f"  linalg.yield %s16 : {el}")
        else:
            self.emit("  linalg.yield %s : f32")
        self.emit(f"}} -> {self.t(shape)}")
        return out


def bert_encoder(layers: int = 1, seq: int = 128, hidden: int = 768,
                 heads: int = 12, ffn: int = 3072,
                 masks: Optional[Dict[str, np.ndarray]] = None,
                 inline_limit: int = 256, name: str = "bert",
                 layer_norm: bool = False, eps: float = 1e-12,
                 element: str = "f32") -> str:
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

    `element` is the type of every argument and activation: "f32", or
    "f16" for the program a half-precision PyTorch model exports (its
    layer-norm statistics stay f32).
    """
    if element not in ("f32", "f16"):
        raise ValueError(f"element must be f32 or f16, not {element!r}")
    masks = masks or {}
    head = hidden // heads
    b = _Builder(element)
    t = b.t
    arguments = [f"%x: {t((seq, hidden))}"]
    encodings = []

    def weight(key, shape):
        encoding = None
        if key in masks:
            encoding = sparsity_encoding(masks[key], resource_name=key,
                                         inline_limit=inline_limit)
            encodings.append(encoding)
        weight_type = t(shape, encoding.attribute if encoding else None)
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
                   f"{t((seq, hidden))} into {t((seq, heads, head))}")
            order = (1, 2, 0) if part == "k" else (1, 0, 2)
            projections[part], _ = b.transpose(split, (seq, heads, head), order)
        scores = b.batch_matmul(projections["q"], projections["k"], heads, seq,
                                head, seq)
        scaled = b.name("scaled")
        shape3 = (heads, seq, seq)
        b.emit(f"{scaled} = linalg.generic {{indexing_maps = [affine_map<(h, "
               "i, j) -> (h, i, j)>, affine_map<(h, i, j) -> (h, i, j)>], "
               "iterator_types = [\"parallel\", \"parallel\", \"parallel\"]} "
               f"ins({scores} : {t(shape3)}) outs({b.empty(shape3)} : "
               f"{t(shape3)}) {{")
        b.emit(f"^bb0(%a: {element}, %unused: {element}):")
        b.emit(f"  %c = arith.constant {scale:.8e} : {element}")
        b.emit(f"  %s = arith.mulf %a, %c : {element}")
        b.emit(f"  linalg.yield %s : {element}")
        b.emit(f"}} -> {t(shape3)}")
        probs = b.name("probs")
        b.emit(f"{probs} = linalg.softmax dimension(2) ins({scaled} : "
               f"{t(shape3)}) outs({b.empty(shape3)} : {t(shape3)}) -> "
               f"{t(shape3)}")
        context = b.batch_matmul(probs, projections["v"], heads, seq, seq, head)
        merged, _ = b.transpose(context, (heads, seq, head), (1, 0, 2))
        flat = b.name("merged")
        b.emit(f"{flat} = tensor.collapse_shape {merged} [[0], [1, 2]] : "
               f"{t((seq, heads, head))} into {t((seq, hidden))}")
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
    b.emit(f"return {x} : {t((seq, hidden))}")
    text = (f"func.func @{name}(" + ",\n    ".join(arguments) +
            f") -> {t((seq, hidden))} {{\n  " + "\n  ".join(b.lines) +
            "\n}\n")
    return text + resource_section(encodings)
