"""Runs a program lowered by --tesa-cpu-pipeline through mlir-runner.

The program's @main prints one result with printMemrefI32 (the bits of its
float32 elements); `run_lowered` returns them as float32.
"""

import os
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
