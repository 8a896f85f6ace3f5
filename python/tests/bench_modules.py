"""The scripts of bench/ as modules, for the tests that check them."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_bench(name):
    """bench/<name>.py, loaded as module `name`."""
    spec = importlib.util.spec_from_file_location(
        name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
