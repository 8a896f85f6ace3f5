"""16-bit float math in tesa's kernels gives the program's values for every
f16 input.

`--tesa-simplify-float-math` computes torch-mlir's f16 division by sqrt(2)
as one f32 multiplication and `--tesa-expand-half-erf` its erf as f32
polynomials; `--tesa-host-pipeline` runs both, then every kernel as loops on
the host, with the same IEEE f32 operations (fused multiply-adds included)
a GPU performs. Each case applies an elementwise op to all 65536 f16 values
and compares the bits with numpy's f16 arithmetic (each op rounded to f16,
erf correctly rounded).
"""

import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mlir_runner import call_module, run_lowered, runner_available
from test_decompose_cpu import TESA_OPT

pytestmark = pytest.mark.skipif(not Path(TESA_OPT).exists(),
                                reason="tesa-opt not built")

ALL_HALVES = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
SQRT2_F16 = np.float16(math.sqrt(2))

# Payloads of an elementwise op on f16 (%x, the element), as torch-mlir
# writes them, and their references on numpy f16 arrays.
ERF = """    %r = math.erf %x : f16"""
GELU = """    %one = arith.constant 1.0 : f16
    %two = arith.constant 2.0 : f16
    %half = arith.constant 0.5 : f16
    %s = math.sqrt %two : f16
    %q = arith.divf %x, %s : f16
    %f = math.erf %q : f16
    %a = arith.addf %f, %one : f16
    %m = arith.mulf %a, %half : f16
    %r = arith.mulf %x, %m : f16"""


def erf_f16(x):
    """erf of each f16 element, correctly rounded to f16."""
    return np.array([math.erf(float(v)) for v in x]).astype(np.float16)


def gelu_f16(x):
    with np.errstate(invalid="ignore", over="ignore"):
        erf = erf_f16(x / SQRT2_F16)
        return x * ((erf + np.float16(1)) * np.float16(0.5))


CASES = {"erf": (ERF, erf_f16), "gelu": (GELU, gelu_f16)}


def run_tesa_opt(text, *options):
    result = subprocess.run([TESA_OPT, "-", *options], input=text,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def elementwise(payload):
    n = ALL_HALVES.size
    return f"""func.func @op(%in: tensor<{n}xf16>) -> tensor<{n}xf16> {{
  %e = tensor.empty() : tensor<{n}xf16>
  %y = linalg.generic {{indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]}}
      ins(%in : tensor<{n}xf16>) outs(%e : tensor<{n}xf16>) {{
  ^bb0(%x: f16, %o: f16):
{payload}
    linalg.yield %r : f16
  }} -> tensor<{n}xf16>
  return %y : tensor<{n}xf16>
}}
"""


@pytest.mark.skipif(not runner_available(),
                    reason="mlir-runner or its runtime libraries not found")
@pytest.mark.parametrize("case", list(CASES))
def test_every_half_gets_the_programs_value(case):
    payload, reference = CASES[case]
    module = call_module(elementwise(payload), "op", [ALL_HALVES],
                         ALL_HALVES.shape, "f16")
    lowered = run_tesa_opt(module, "--tesa-host-pipeline=chip=sm_80")
    # The pipeline's own forms, not libm's erff or a division.
    assert "erff" not in lowered and "llvm.fdiv" not in lowered
    result = run_lowered(lowered).astype(np.float16)
    expected = reference(ALL_HALVES)
    same = (result.view(np.uint16) == expected.view(np.uint16)) | \
        (np.isnan(result) & np.isnan(expected))
    assert same.all(), (ALL_HALVES[~same][:8], result[~same][:8],
                        expected[~same][:8])


def test_the_passes_rewrite_the_gelu():
    text = run_tesa_opt(elementwise(GELU), "--tesa-simplify-float-math",
                        "--tesa-expand-half-erf")
    assert "math.erf" not in text and "arith.divf" not in text
    assert "math.sqrt" not in text
