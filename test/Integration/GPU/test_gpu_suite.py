"""The GPU suite under pytest: compiling every case runs everywhere (it is
tesa-compile's test on every part kind); running them needs an NVIDIA GPU
and is skipped without one."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import suite  # noqa: E402


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    directory = tmp_path_factory.mktemp("gpu-suite")
    suite.prepare(directory)
    return directory


def test_every_case_compiles(prepared):
    for name, _ in suite.PRODUCT_LIBRARIES:
        assert (prepared / f"{name}.so").exists()
        assert (prepared / f"{name}.h").exists()
    assert (prepared / "mlp.so").exists()
    assert (prepared / "bert_layer.so").exists()


@pytest.mark.gpu
def test_suite_on_gpu(prepared):
    import tesa
    probe = tesa.load(prepared / "mlp.so")
    reason = probe.no_device_reason()
    if reason:
        pytest.skip(f"no GPU: {reason}")
    assert suite.run(prepared) is True
