"""Products with fused epilogues run on the CPU and match a float64
reference.

`--tesa-fold-bias-into-accumulator` rewrites `fill(0) -> matmul -> add(bias)`
into `broadcast(bias) -> matmul`; the decomposed parts then accumulate onto
the bias. `--tesa-fuse-epilogues` moves an activation after the product
(ReLU as `linalg.max` with a zero-filled tensor, GELU as a generic with
`math.erf`) into the last part. Each case has a sparse weight (32-bit
elements), a bias broadcast along rows or columns, the bias on either side
of the addition, and optionally an activation.
"""

import math

import subprocess
import zlib

import numpy as np
import pytest

from test_decompose_cpu import TESA_OPT, literal, run_module
from test_decompose_forms_cpu import encoded, printer, random_mask


def activation(kind, value, out):
    """The text of an activation of `value` (a tensor of type `out`) into
    %r, and its float64 reference function."""
    if kind == "relu":
        return (f"""  %zeros = linalg.fill ins(%zero : f32) outs(%e : {out}) -> {out}
  %r = linalg.max ins({value}, %zeros : {out}, {out}) outs(%e : {out}) -> {out}
""", lambda x: np.maximum(x, 0))
    if kind == "gelu":
        erf = np.vectorize(math.erf)
        return (f"""  %r = linalg.generic {{indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}}
      ins({value} : {out}) outs(%e : {out}) {{
  ^bb0(%v: f32, %o: f32):
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %isqrt2 = arith.constant 0.70710678 : f32
    %s = arith.mulf %v, %isqrt2 : f32
    %erf = math.erf %s : f32
    %plus = arith.addf %erf, %one : f32
    %h = arith.mulf %v, %half : f32
    %g = arith.mulf %h, %plus : f32
    linalg.yield %g : f32
  }} -> {out}
""", lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2))))
    return f"  %r = tensor.cast {value} : {out} to {out}\n", lambda x: x


def bias_case(index, rng, kind="none"):
    m, k, n = (int(x) for x in rng.integers(3, 30, 3))
    along_columns = bool(rng.integers(2))
    bias_first = bool(rng.integers(2))
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = rng.standard_normal((k, n)).astype(np.float32)
    bias = rng.standard_normal(n if along_columns else m).astype(np.float32)
    mask = random_mask(rng, (k, n), 32, 0.4)
    plain = lambda shape: encoded(shape, None)  # noqa: E731
    w_type, out = encoded((k, n), mask), plain((m, n))
    bias_type = plain(bias.shape)
    bias_map = "(i, j) -> (j)" if along_columns else "(i, j) -> (i)"
    act_text, act = activation(kind, "%biased", out)
    inputs = [("%bias", bias_type, f"affine_map<{bias_map}>"),
              ("%p", out, "affine_map<(i, j) -> (i, j)>")]
    if not bias_first:
        inputs.reverse()
    names = ", ".join(name for name, _, _ in inputs)
    types = ", ".join(t for _, t, _ in inputs)
    maps = ", ".join(a for _, _, a in inputs)
    text = f"""func.func @f{index}(%x: {plain((m, k))}, %w: {w_type}, %bias: {bias_type}) -> {out} {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : {out}
  %acc = linalg.fill ins(%zero : f32) outs(%e : {out}) -> {out}
  %p = linalg.matmul ins(%x, %w : {plain((m, k))}, {w_type}) outs(%acc : {out}) -> {out}
  %biased = linalg.generic {{indexing_maps = [{maps}, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}}
      ins({names} : {types}) outs(%e : {out}) {{
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    linalg.yield %s : f32
  }} -> {out}
{act_text}  return %r : {out}
}}
func.func @run{index}() {{
  %x = arith.constant {literal(x)} : {plain((m, k))}
  %w0 = arith.constant {literal(w)} : {plain((k, n))}
  %w = tesa.annotate %w0 : {plain((k, n))} -> {w_type}
  %bias = arith.constant {literal(bias)} : {bias_type}
  %r = func.call @f{index}(%x, %w, %bias) : ({plain((m, k))}, {w_type}, {bias_type}) -> {out}
""" + printer(index, out, (m, n))
    masked = np.where(mask > 0, w, 0).astype(np.float64)
    broadcast = bias[None, :] if along_columns else bias[:, None]
    return text, act(x.astype(np.float64) @ masked + broadcast)


@pytest.mark.parametrize("kind", ["none", "relu", "gelu"])
@pytest.mark.parametrize("plan", ["plan=auto", "plan=fine"])
def test_epilogues_fused(plan, kind):
    rng = np.random.default_rng(zlib.crc32(f"{plan}{kind}".encode()))
    cases = [bias_case(i, rng, kind) for i in range(6)]
    body = "".join(text for text, _ in cases)
    # The bias additions are gone (each product starts at its bias), and
    # every activation is the epilogue of its product's last part.
    folded = subprocess.run(
        [TESA_OPT, "--tesa-fold-bias-into-accumulator", f"--tesa-decompose={plan}",
         "--tesa-fuse-epilogues", "-"],
        input=body + "func.func private @printMemrefI32(tensor<*xi32>)\n",
        capture_output=True, text=True)
    assert folded.returncode == 0, folded.stderr[-4000:]
    assert folded.stdout.count("arith.addf") == (len(cases) if kind == "gelu" else 0)
    assert folded.stdout.count("epilogue {") == (0 if kind == "none" else len(cases))
    results, covers = run_module(body, len(cases), plan,
                                 before=["--tesa-fold-bias-into-accumulator"],
                                 after=["--tesa-fuse-epilogues"])
    assert covers >= len(cases)
    for result, (_, reference) in zip(results, cases):
        result = result.reshape(reference.shape)
        tolerance = 1e-5 * (np.abs(reference).max() + 1.0)
        assert np.abs(result - reference).max() <= tolerance
