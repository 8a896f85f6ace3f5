"""Runs a program lowered by --tesa-cpu-pipeline through mlir-runner.

The program's @main prints one result with printMemrefI32 (the bits of its
float32 elements); `run_lowered` returns them as float32.
"""

import os
import re
import subprocess
from pathlib import Path

import numpy as np

LLVM_BIN = Path(os.environ.get("LLVM_BIN", "/usr/lib/llvm-22/bin"))
RUNNER_LIBS = [LLVM_BIN.parent / "lib" / "libmlir_c_runner_utils.so",
               LLVM_BIN.parent / "lib" / "libmlir_runner_utils.so"]


def runner_available():
    return (LLVM_BIN / "mlir-runner").exists() and \
        all(lib.exists() for lib in RUNNER_LIBS)


def run_lowered(lowered):
    """The float32 values @main of the LLVM-dialect module `lowered`
    prints."""
    run = subprocess.run(
        [str(LLVM_BIN / "mlir-runner"), "-e", "main",
         "-entry-point-result=void",
         "-shared-libs=" + ",".join(map(str, RUNNER_LIBS))],
        input=lowered, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-4000:]
    data = run.stdout[run.stdout.index("data =") + len("data ="):]
    numbers = np.array([int(t) for t in data.replace("[", " ")
                        .replace("]", " ").replace(",", " ").split()],
                       dtype=np.int64)
    return numbers.astype(np.uint32).view(np.float32)


_MLIR_TYPES = {np.dtype(np.float32): "f32", np.dtype(np.float16): "f16",
               np.dtype(np.int64): "i64", np.dtype(np.int32): "i32"}


def _tensor_type(shape, element):
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


def _hex_literal(array):
    array = np.ascontiguousarray(array)
    return f'dense<"0x{array.tobytes().hex().upper()}">'


def call_module(text, function, inputs, result_shape, result_element="f32"):
    """`text` plus a @main that calls @`function` on `inputs` (numpy
    arrays, as constants) and prints its first result's float32 bits;
    lower the whole with the CPU pipeline and give it to run_lowered."""
    lines, operands, types = [], [], []
    for index, value in enumerate(inputs):
        t = _tensor_type(value.shape, _MLIR_TYPES[value.dtype])
        lines.append(f"  %in{index} = arith.constant {_hex_literal(value)} : {t}")
        operands.append(f"%in{index}")
        types.append(t)
    rank = len(result_shape)
    dims = ", ".join(f"d{i}" for i in range(rank))
    identity = f"affine_map<({dims}) -> ({dims})>"
    out = _tensor_type(result_shape, result_element)
    bits = _tensor_type(result_shape, "i32")
    convert = ("    %w = arith.extf %v : f16 to f32\n"
               if result_element == "f16" else "")
    source = "%w" if result_element == "f16" else "%v"
    # Inside the module, if the text has one (before its resources).
    end = len(text)
    if re.search(r"^module\b", text, re.M):
        resources = text.find("\n{-#")
        end = text.rindex("}", 0, len(text) if resources < 0 else resources)
    return text[:end] + f"""
func.func private @printMemrefI32(tensor<*xi32>)
func.func @main() {{
{chr(10).join(lines)}
  %r = func.call @{function}({", ".join(operands)}) : ({", ".join(types)}) -> {out}
  %e = tensor.empty() : {bits}
  %bits = linalg.generic {{indexing_maps = [{identity}, {identity}],
                          iterator_types = [{", ".join(['"parallel"'] * rank)}]}}
      ins(%r : {out}) outs(%e : {bits}) {{
  ^bb0(%v: {result_element}, %o: i32):
{convert}    %b = arith.bitcast {source} : f32 to i32
    linalg.yield %b : i32
  }} -> {bits}
  %u = tensor.cast %bits : {bits} to tensor<*xi32>
  call @printMemrefI32(%u) : (tensor<*xi32>) -> ()
  return
}}
""" + text[end:]
