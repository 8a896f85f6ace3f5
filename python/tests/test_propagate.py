"""Numeric exactness of --tesa-propagate on two-layer MLPs.

For every combination of mask kind (fine-grained, row, column, block) and
program form (bias + relu fused in one linalg.generic, separate named ops,
transposed weights), the MLP is propagated with tesa-opt and the encodings it
writes on the function's arguments are checked by evaluating the program in
float64:

- sound: masking every argument with its propagated encoding gives the same
  output as masking the weights with the user's masks only;
- exact: every element an encoding keeps is needed: perturbing it (in the
  user-masked program) changes the output.

All values are positive, so relu is the identity and an element matters iff
the program's structure connects it to the output.
"""

import itertools
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tesa import function_signature, parse_tensor_type, sparsity_encoding

ROOT = Path(__file__).resolve().parents[2]
TESA_OPT = os.environ.get("TESA_OPT", str(ROOT / "build" / "bin" / "tesa-opt"))

BATCH, IN, HIDDEN, OUT = 3, 8, 8, 4
ZERO = "%zero = arith.constant 0.0 : f32"


def make_mask(kind, shape, rng):
    """A 0/32 mask of `kind` over `shape` with some of everything pruned."""
    rows, cols = shape
    if kind == "fine":
        mask = rng.random(shape) < 0.6
    elif kind == "row":
        mask = np.repeat(rng.random((rows, 1)) < 0.6, cols, axis=1)
    elif kind == "column":
        mask = np.repeat(rng.random((1, cols)) < 0.6, rows, axis=0)
    else:
        blocks = rng.random((rows // 2, cols // 2)) < 0.6
        mask = np.kron(blocks, np.ones((2, 2), dtype=bool))
    mask.flat[0] = True  # keep the output connected somewhere
    return np.where(mask, 32, 0).astype(np.int8)


def tensor(shape, encoding=None):
    dims = "x".join(map(str, shape))
    return f"tensor<{dims}xf32{', ' + encoding if encoding else ''}>"


def matmul(result, lhs, rhs, lhs_shape, rhs_shape, out_shape, transposed,
           rhs_type):
    empty = f"{result}_e"
    fill = f"{result}_f"
    maps = ""
    if transposed:
        maps = ("indexing_maps = [affine_map<(m, n, k) -> (m, k)>, "
                "affine_map<(m, n, k) -> (n, k)>, "
                "affine_map<(m, n, k) -> (m, n)>] ")
    return [
        f"{empty} = tensor.empty() : {tensor(out_shape)}",
        f"{fill} = linalg.fill ins(%zero : f32) outs({empty} : "
        f"{tensor(out_shape)}) -> {tensor(out_shape)}",
        f"{result} = linalg.matmul {maps}ins({lhs}, {rhs} : "
        f"{tensor(lhs_shape)}, {rhs_type}) outs({fill} : {tensor(out_shape)})"
        f" -> {tensor(out_shape)}",
    ]


def bias_relu_fused(result, value, bias, shape, relu):
    body = ["%s = arith.addf %a, %b : f32"]
    yielded = "%s"
    if relu:
        body.append("%r = arith.maximumf %s, %zero : f32")
        yielded = "%r"
    return [
        f"{result}_e = tensor.empty() : {tensor(shape)}",
        f"{result} = linalg.generic {{indexing_maps = ["
        "affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>, "
        "affine_map<(i, j) -> (i, j)>], iterator_types = "
        f"[\"parallel\", \"parallel\"]}} ins({value}, {bias} : "
        f"{tensor(shape)}, {tensor(shape[1:])}) outs({result}_e : "
        f"{tensor(shape)}) {{",
        "^bb0(%a: f32, %b: f32, %unused: f32):",
        *body,
        f"linalg.yield {yielded} : f32",
        f"}} -> {tensor(shape)}",
    ]


def bias_relu_named(result, value, bias, shape, relu):
    lines = [
        f"{result}_be = tensor.empty() : {tensor(shape)}",
        f"{result}_b = linalg.broadcast ins({bias} : {tensor(shape[1:])}) "
        f"outs({result}_be : {tensor(shape)}) dimensions = [0]",
        f"{result}_ae = tensor.empty() : {tensor(shape)}",
        f"{result}_a = linalg.add ins({value}, {result}_b : {tensor(shape)}, "
        f"{tensor(shape)}) outs({result}_ae : {tensor(shape)}) -> "
        f"{tensor(shape)}",
    ]
    if not relu:
        return lines + [f"{result} = tesa.annotate {result}_a : "
                        f"{tensor(shape)} -> {tensor(shape)}"]
    return lines + [
        f"{result}_ze = tensor.empty() : {tensor(shape)}",
        f"{result}_z = linalg.fill ins(%zero : f32) outs({result}_ze : "
        f"{tensor(shape)}) -> {tensor(shape)}",
        f"{result}_me = tensor.empty() : {tensor(shape)}",
        f"{result} = linalg.max ins({result}_a, {result}_z : {tensor(shape)}, "
        f"{tensor(shape)}) outs({result}_me : {tensor(shape)}) -> "
        f"{tensor(shape)}",
    ]


def mlp_program(form, w1_mask, w2_mask):
    transposed = form == "transposed"
    w1_shape = (HIDDEN, IN) if transposed else (IN, HIDDEN)
    w2_shape = (OUT, HIDDEN) if transposed else (HIDDEN, OUT)
    w1_type = tensor(w1_shape, sparsity_encoding(w1_mask).attribute)
    w2_type = tensor(w2_shape, sparsity_encoding(w2_mask).attribute)
    bias = bias_relu_named if form == "named" else bias_relu_fused
    body = [ZERO]
    body += matmul("%h", "%x", "%w1", (BATCH, IN), w1_shape, (BATCH, HIDDEN),
                   transposed, w1_type)
    body += bias("%r", "%h", "%b1", (BATCH, HIDDEN), relu=True)
    body += matmul("%o", "%r", "%w2", (BATCH, HIDDEN), w2_shape, (BATCH, OUT),
                   transposed, w2_type)
    body += bias("%y", "%o", "%b2", (BATCH, OUT), relu=False)
    body.append(f"return %y : {tensor((BATCH, OUT))}")
    signature = (f"func.func @mlp(%x: {tensor((BATCH, IN))}, %w1: {w1_type}, "
                 f"%b1: {tensor((HIDDEN,))}, %w2: {w2_type}, "
                 f"%b2: {tensor((OUT,))}) -> {tensor((BATCH, OUT))}")
    return signature + " {\n  " + "\n  ".join(body) + "\n}\n"


def evaluate(form, x, w1, b1, w2, b2):
    if form == "transposed":
        w1, w2 = w1.T, w2.T
    hidden = np.maximum(x @ w1 + b1, 0.0)
    return hidden @ w2 + b2


CASES = list(itertools.product(["fine", "row", "column", "block"],
                               ["fused", "named", "transposed"]))


@pytest.mark.parametrize("kind,form", CASES)
def test_mlp_propagation_is_exact(kind, form):
    rng = np.random.default_rng(abs(hash((kind, form))) % 2**32)
    transposed = form == "transposed"
    w1_mask = make_mask(kind, (HIDDEN, IN) if transposed else (IN, HIDDEN), rng)
    w2_mask = make_mask(kind, (OUT, HIDDEN) if transposed else (HIDDEN, OUT),
                        rng)
    program = mlp_program(form, w1_mask, w2_mask)
    result = subprocess.run([TESA_OPT, "-", "--tesa-propagate"], input=program,
                            text=True, capture_output=True)
    assert result.returncode == 0, result.stderr + program

    arguments, _ = function_signature(result.stdout, "mlp")
    final = [parse_tensor_type(a)[2] > 0 for a in arguments]
    values = [rng.uniform(0.5, 1.5, size=f.shape) for f in final]
    user = [np.ones(values[0].shape, bool), w1_mask > 0,
            np.ones(values[2].shape, bool), w2_mask > 0,
            np.ones(values[4].shape, bool)]
    # Pruning only grows.
    for kept, allowed in zip(final, user):
        assert not (kept & ~allowed).any()

    masked = [v * m for v, m in zip(values, user)]
    reference = evaluate(form, *masked)
    propagated = evaluate(form, *[v * k for v, k in zip(values, final)])
    np.testing.assert_allclose(propagated, reference, rtol=1e-12)

    # Every kept element is needed.
    for index, kept in enumerate(final):
        for position in zip(*np.nonzero(kept)):
            perturbed = [m.copy() for m in masked]
            perturbed[index][position] += 1.0
            change = np.abs(evaluate(form, *perturbed) - reference).max()
            assert change > 1e-9, (
                f"argument {index} keeps element {position}, which no output "
                f"needs\n{result.stdout}")
    # And propagation found something beyond the user's masks.
    assert sum((~k).sum() for k in final) >= sum((~u).sum() for u in user)
