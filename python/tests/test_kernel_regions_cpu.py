"""Kernel regions: formed as intended, and the program still computes the same.

The cases are test/Integration/GPU/region_cases.py's (a product with a bias
and GELU epilogue, the bias in the accumulator and a residual add, attention
scores and context with their head transposes, a transposed left operand,
softmaxes of 37 to 9000 columns, batched and tiny products). Each goes
through `--tesa-form-kernel-regions`:

- after `--tesa-fold-operand-extensions` (products read the f16 operands
  an importer widened), `--tesa-decompose-aggregated-ops` (softmaxes as
  their reductions)
  and with `--tesa-choose-tile-configs=chip=sm_90`, the regions must be those
  the case names (their kind and the ops inside, no transpose, product,
  add or softmax left outside) with the contraction tiles the size rule
  gives (64x64 or 32x32);
- then `--tesa-inline-kernel-regions --tesa-cpu-pipeline`, run by
  mlir-runner on the case's inputs (its result printed bit-exactly as i32),
  must match the float64 reference to float32 rounding (relative error
  1e-5; the softmax of 9000 columns, summed in order, 4 sqrt(9000) ulps).
  The large batched products run at smaller sizes here (same ops).
"""

import os
import re
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

import gpu_suite_modules
from mlir_runner import call_module, run_lowered, runner_available

ROOT = Path(__file__).resolve().parents[2]
TESA_OPT = os.environ.get("TESA_OPT", str(ROOT / "build" / "bin" / "tesa-opt"))


region_cases = gpu_suite_modules.load("region_cases")
FULL = {c["name"]: c for c in region_cases.region_cases()}
SMALL = {c["name"]: c for c in region_cases.region_cases(small=True)}

needs_tesa_opt = pytest.mark.skipif(not Path(TESA_OPT).exists(),
                                    reason=f"{TESA_OPT} not built")
needs_runner = pytest.mark.skipif(
    not runner_available(),
    reason="mlir-runner or its runtime libraries not found")

# Ops that must not remain outside the regions once they are formed.
ABSORBED = ("linalg.transpose", "linalg.matmul", "linalg.batch_matmul",
            "linalg.add", "linalg.softmax")


def tesa_opt(text, *passes):
    result = subprocess.run([TESA_OPT, *passes, "-"], input=text,
                            capture_output=True, text=True)
    assert result.returncode == 0, (
        f"tesa-opt {' '.join(passes)} failed (exit {result.returncode}):\n"
        f"{result.stderr[-4000:]}")
    return result.stdout


def structure(text):
    """The regions of the printed function, in order, as (kind, ops inside,
    config text), and the names of the ops outside them."""
    regions, outside = [], []
    current = None  # (kind, indent, ops, config)
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        body = line.strip()
        if current is None:
            found = re.search(r"tesa\.kernel (\w+)", body)
            if found:
                config = re.search(r"config\((.*)\) ->", body)
                current = (found.group(1), indent, [],
                           config.group(1) if config else "")
                continue
            op = re.match(r"(?:%\S+ = )?([a-z_]+\.[a-z_.]+)", body)
            if op:
                outside.append(op.group(1))
            continue
        if indent == current[1] and body.startswith("}"):
            regions.append((current[0], current[2], current[3]))
            current = None
        elif indent == current[1] + 2:
            op = re.match(r"%\S+ = ([a-z_]+\.[a-z_.]+)", body)
            if op:
                current[2].append(op.group(1))
    return regions, outside


# Forming the regions, before they are inlined back or lowered to kernels.
REGION_PASSES = ("--tesa-fold-operand-extensions",
                 "--tesa-decompose-aggregated-ops",
                 "--tesa-convolutions-as-products=only-pointwise=true",
                 "--tesa-normalize-row-programs",
                 "--tesa-fuse-elementwise-chains",
                 "--tesa-drop-unit-batch-loops",
                 "--tesa-form-kernel-regions",
                 "--tesa-form-attention-regions=chip=sm_90")


@needs_tesa_opt
@pytest.mark.parametrize("name", list(FULL))
def test_regions_are_formed_as_intended(name):
    case = FULL[name]
    text = tesa_opt(case["mlir"], *REGION_PASSES,
                    "--tesa-choose-tile-configs=chip=sm_90")
    regions, outside = structure(text)
    assert [(kind, len(ops)) for kind, ops, _ in regions] == \
        case["regions"], regions
    assert not [op for op in outside if op in ABSORBED], outside
    # One tile for every contraction and attention region, or a list.
    tiled = [config for kind, _, config in regions
             if kind in ("contraction", "attention")]
    wanted = case["tile"] if isinstance(case["tile"], list) else \
        [case["tile"]] * len(tiled)
    assert len(wanted) == len(tiled), tiled
    for config, tile in zip(tiled, wanted):
        assert tuple(int(v) for v in re.search(
            r"tile = \[(\d+), (\d+)", config).groups()) == tile, config
    for kind, ops, config in regions:
        if kind in ("contraction", "attention"):
            assert ops == ["linalg.generic"] * len(ops), ops
        else:
            # A softmax's max, subtract-and-exp, sum and divide; a layer
            # norm's sums, divisions and elementwise ops.
            assert ops == ["linalg.generic"] * len(ops), ops


def runner_module(case):
    """The case's function and a @main that calls it on its inputs
    (constants) and prints the result's bits as i32."""
    mlir = case.get("plain_mlir", case["mlir"])
    result_type = mlir.split(") -> ", 1)[1].split(" {", 1)[0].strip()
    element = "f16" if result_type.endswith("xf16>") else "f32"
    dtype = np.float16 if element == "f16" else np.float32
    # f16 inputs stay f16 (products of f16 operands accumulating in f32).
    inputs = [np.asarray(v) for v in case["inputs"]]
    return call_module(mlir, case["name"],
                       [v if v.dtype == np.float16 else v.astype(dtype)
                        for v in inputs],
                       case["reference"].shape, element)


def run_on_cpu(module):
    lowered = tesa_opt(module, *REGION_PASSES,
                       "--tesa-inline-kernel-regions", "--tesa-cpu-pipeline")
    return run_lowered(lowered)


@needs_tesa_opt
@needs_runner
@pytest.mark.parametrize("name", list(SMALL))
def test_inlined_regions_match_reference(name):
    case = SMALL[name]
    result = run_on_cpu(runner_module(case))
    reference = case["reference"]
    assert result.size == reference.size
    result = result.reshape(reference.shape).astype(np.float64)
    error = (np.linalg.norm(result - reference) /
             max(np.linalg.norm(reference), 1e-30))
    assert error <= case["tolerance"], \
        f"relative error {error:.2e} (bound {case['tolerance']:.1e})"


def uses_tensor_cores(case):
    """Whether the case's kernels are f16 products or attention, which run
    on tensor cores."""
    f16 = any(np.asarray(v).dtype == np.float16 for v in case["inputs"])
    kinds = {kind for kind, _ in case["regions"]}
    return f16 and bool(kinds & {"contraction", "attention"})


def run_kernels_on_cpu(case):
    """The case's generated kernels, every launch run as host loops: the
    FMA tiles, split-K sums, kept-block and kept-channel walks, exact-f32
    attention, row programs and convolutions as for sm_90; the tensor-core
    kernels as for sm_80 (mma.sync and ldmatrix, which the host loops
    emulate; sm_90's wgmma and TMA they do not)."""
    chip = "sm_80" if uses_tensor_cores(case) else "sm_90"
    lowered = tesa_opt(runner_module(case), *REGION_PASSES,
                       f"--tesa-choose-tile-configs=chip={chip}",
                       f"--tesa-lower-kernel-regions=chip={chip}",
                       "--tesa-launches-to-host-loops", "--tesa-cpu-pipeline")
    assert "scf.for" not in lowered and "gpu." not in lowered
    return run_lowered(lowered)


@needs_tesa_opt
@needs_runner
@pytest.mark.parametrize("name", list(SMALL))
def test_generated_kernels_match_reference_on_cpu(name):
    """The kernels themselves (not the regions' ops inlined back), each
    launch run as loops over its blocks and, between barriers, its
    threads."""
    case = SMALL[name]
    result = run_kernels_on_cpu(case)
    reference = case["reference"]
    result = result.reshape(reference.shape).astype(np.float64)
    error = (np.linalg.norm(result - reference) /
             max(np.linalg.norm(reference), 1e-30))
    assert error <= case["tolerance"], \
        f"relative error {error:.2e} (bound {case['tolerance']:.1e})"


SWEEP_FAMILIES = gpu_suite_modules.load("sweep").REGION_FAMILIES


@needs_tesa_opt
@needs_runner
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("family", list(SWEEP_FAMILIES))
def test_random_region_kernels_match_reference_on_cpu(family, seed):
    """The GPU sweep's kernel-region families (test/Integration/GPU/sweep.py:
    random shapes of 1 to 700, f32 and f16, tensor-core tiles where the
    dimensions allow) drawn from a fixed seed, their kernels run as host
    loops."""
    rng = np.random.default_rng(zlib.crc32(f"{family} {seed}".encode()))
    case = SWEEP_FAMILIES[family](rng, f"{family}_{seed}")
    result = run_kernels_on_cpu(case).reshape(case["reference"].shape)
    reference = case["reference"]
    error = (np.linalg.norm(result.astype(np.float64) - reference) /
             max(np.linalg.norm(reference), 1e-30))
    assert error <= case["tolerance"], \
        f"relative error {error:.2e} (bound {case['tolerance']:.1e})"

