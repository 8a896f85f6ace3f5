"""The GPU suite's Python modules (test/Integration/GPU: region_cases.py,
sweep.py), loaded by path, for the CPU tests that run their cases."""

import importlib.util
from pathlib import Path

GPU_TESTS = Path(__file__).resolve().parents[2] / "test" / "Integration" / "GPU"


def load(name):
    """The module test/Integration/GPU/`name`.py."""
    spec = importlib.util.spec_from_file_location(name, GPU_TESTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
