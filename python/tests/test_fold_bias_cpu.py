"""Products with a bias, folded into the accumulator, run on the CPU and
match a float64 reference.

`--tesa-fold-bias-into-accumulator` rewrites `fill(0) -> matmul -> add(bias)`
into `broadcast(bias) -> matmul`; the decomposed parts then accumulate onto
the bias. Each case has a sparse weight (32-bit elements), a bias broadcast
along rows or columns, and the bias on either side of the addition.
"""

import subprocess
import zlib

import numpy as np
import pytest

from test_decompose_cpu import TESA_OPT, literal, run_module
from test_decompose_forms_cpu import encoded, printer, random_mask


def bias_case(index, rng):
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
  %r = linalg.generic {{indexing_maps = [{maps}, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}}
      ins({names} : {types}) outs(%e : {out}) {{
  ^bb0(%u: f32, %v: f32, %o: f32):
    %s = arith.addf %u, %v : f32
    linalg.yield %s : f32
  }} -> {out}
  return %r : {out}
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
    return text, x.astype(np.float64) @ masked + broadcast


@pytest.mark.parametrize("plan", ["plan=auto", "plan=fine"])
def test_bias_folded_into_accumulator(plan):
    rng = np.random.default_rng(zlib.crc32(plan.encode()))
    cases = [bias_case(i, rng) for i in range(6)]
    body = "".join(text for text, _ in cases)
    # The additions are gone: each product starts at its bias.
    folded = subprocess.run(
        [TESA_OPT, "--tesa-fold-bias-into-accumulator", "-"],
        input=body + "func.func private @printMemrefI32(tensor<*xi32>)\n",
        capture_output=True, text=True)
    assert folded.returncode == 0, folded.stderr[-4000:]
    assert "arith.addf" not in folded.stdout
    results, covers = run_module(body, len(cases), plan,
                                 before=["--tesa-fold-bias-into-accumulator"])
    assert covers >= len(cases)
    for result, (_, reference) in zip(results, cases):
        result = result.reshape(reference.shape)
        tolerance = 1e-5 * (np.abs(reference).max() + 1.0)
        assert np.abs(result - reference).max() <= tolerance
