"""tesa-compile and the Python loader on a machine without a GPU.

Compiles the example MLP into a shared library and checks what a user on
the deployment side relies on: the generated header (declarations, that it
compiles, that a C program links against the library), the exported
symbols, the loader's view of the signatures, its argument checks, and the
"no device" errors. Also the compiler's own diagnostics for bad input.
"""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tesa

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("TESA_OPT", ROOT / "build" / "bin" / "tesa-opt")).parent
COMPILER = BUILD / "tesa-compile"
MLP = ROOT / "examples" / "mlp.mlir"


def compile_library(tmp_path, source=MLP, *options):
    library = tmp_path / "model.so"
    result = subprocess.run([str(COMPILER), str(source), "-o", str(library),
                             *options], capture_output=True, text=True)
    return library, result


@pytest.fixture(scope="module")
def mlp_library(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mlp")
    library, result = compile_library(directory, MLP, "--target=nvvm",
                                      "--chip=sm_90")
    assert result.returncode == 0, result.stderr
    return library


def test_header_documents_the_entry_point(mlp_library):
    header = mlp_library.with_suffix(".h").read_text()
    assert "int mlp(\n    tesa_rt_stream stream,\n" \
           "    const float *arg0 /* 16x256 float32 */," in header
    assert "float *result0 /* 16x128 float32 */);" in header
    assert "const char *tesa_library_metadata(void);" in header
    assert "int tesa_rt_synchronize(tesa_rt_stream stream);" in header


def test_only_the_interface_is_exported(mlp_library):
    symbols = subprocess.run(["nm", "-D", "--defined-only", str(mlp_library)],
                             capture_output=True, text=True,
                             check=True).stdout.split()
    exported = {s for s in symbols if not s.startswith("0") and len(s) > 1}
    assert "mlp" in exported and "tesa_library_metadata" in exported
    assert "tesa_rt_begin_call" in exported
    assert not any(s.startswith(("mgpu", "__tesa_body")) for s in exported)


def test_a_c_program_links_and_gets_the_no_device_error(mlp_library,
                                                         tmp_path):
    program = tmp_path / "main.c"
    program.write_text("""
#include <stdio.h>
#include "model.h"
int main(void) {
  static float x[16 * 256], w1[256 * 512], w2[512 * 128], y[16 * 128];
  int status = mlp(NULL, x, w1, w2, y);
  printf("%d %s\\n", status != 0, tesa_rt_last_error());
  return 0;
}
""")
    binary = tmp_path / "main"
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror",
                    f"-I{mlp_library.parent}", str(program), str(mlp_library),
                    f"-Wl,-rpath,{mlp_library.parent}", "-o", str(binary)],
                   check=True)
    output = subprocess.run([str(binary)], capture_output=True, text=True,
                            check=True).stdout
    assert output.startswith("1 no CUDA device"), output


def test_loader_reads_the_signatures(mlp_library):
    library = tesa.load(mlp_library)
    assert library.target == "nvvm" and library.chip == "sm_90"
    function = library.functions["mlp"]
    assert function.arguments == [((16, 256), np.dtype("float32")),
                                  ((256, 512), np.dtype("float32")),
                                  ((512, 128), np.dtype("float32"))]
    assert function.results == [((16, 128), np.dtype("float32"))]


def test_loader_checks_arguments_before_any_launch(mlp_library):
    library = tesa.load(mlp_library)
    good = [np.zeros((16, 256), np.float32), np.zeros((256, 512), np.float32),
            np.zeros((512, 128), np.float32)]
    with pytest.raises(tesa.TesaError, match="argument #1 must be 256x512 "
                       "float32, got 256x512 float64"):
        library.mlp(good[0], good[1].astype(np.float64), good[2])
    with pytest.raises(tesa.TesaError, match="takes 3 arguments, got 2"):
        library.mlp(*good[:2])
    with pytest.raises(tesa.TesaError, match="must be contiguous"):
        library.mlp(np.zeros((256, 16), np.float32).T, *good[1:])


class _DeviceArray:
    """A device array as __cuda_array_interface__ describes it; nothing
    reads its memory before the loader's checks fail."""

    def __init__(self, address, shape):
        self.__cuda_array_interface__ = dict(
            data=(address, False), shape=shape, typestr="<f4", version=3)


def test_loader_checks_device_alignment(mlp_library):
    library = tesa.load(mlp_library)
    arrays = [_DeviceArray(0x10000, (16, 256)),
              _DeviceArray(0x20004, (256, 512)),
              _DeviceArray(0x30000, (512, 128))]
    with pytest.raises(tesa.TesaError, match="argument #1 must be 16-byte "
                       "aligned .* got address 0x20004"):
        library.mlp(*arrays)


def test_weight_packing_entry_points(mlp_library):
    """Both weights of the MLP are arguments: mlp_pack takes them and
    returns their packed parts, mlp_packed takes x and those parts (each
    product is one decode-product launch, which reads every part packed)."""
    library = tesa.load(mlp_library)
    pack, packed = library.functions["mlp_pack"], library.functions["mlp_packed"]
    assert pack.pack_of == {"function": "mlp", "arguments": [1, 2]}
    assert packed.packed_of == {"function": "mlp", "arguments": [0]}
    assert pack.arguments == library.mlp.arguments[1:]
    assert packed.arguments == library.mlp.arguments[:1] + pack.results
    assert packed.results == library.mlp.results
    header = mlp_library.with_suffix(".h").read_text()
    assert "int mlp_pack(\n" in header and "int mlp_packed(\n" in header


def test_pack_checks_its_arguments(mlp_library):
    library = tesa.load(mlp_library)
    with pytest.raises(tesa.TesaError, match="needs argument\\(s\\) #2"):
        library.mlp.pack(None, np.zeros((256, 512), np.float32), None)
    with pytest.raises(tesa.TesaError, match="takes the 3 arguments of mlp"):
        library.mlp.pack(None, None)
    with pytest.raises(tesa.TesaError, match="mlp_pack packs no argument"):
        library.mlp_pack.pack(np.zeros((256, 512), np.float32),
                              np.zeros((512, 128), np.float32))


def test_pack_entry_points_can_be_turned_off(tmp_path):
    library, result = compile_library(tmp_path, MLP, "--chip=sm_90",
                                      "--pack-entry-points=false")
    assert result.returncode == 0, result.stderr
    assert set(tesa.load(library).functions) == {"mlp"}


def test_no_gpu_is_a_clear_error(mlp_library):
    library = tesa.load(mlp_library)
    if library.device_count() > 0:
        pytest.skip("this machine has a CUDA device")
    assert library.no_device_reason().startswith("no CUDA device")
    with pytest.raises(tesa.TesaError, match="^no CUDA device"):
        library.mlp(np.zeros((16, 256), np.float32),
                    np.zeros((256, 512), np.float32),
                    np.zeros((512, 128), np.float32))


def test_entry_points_check_every_buffer(tmp_path):
    temps = tmp_path / "temps"
    library, result = compile_library(tmp_path, MLP, "--target=nvvm",
                                      "--chip=sm_90", f"--save-temps={temps}")
    assert result.returncode == 0, result.stderr
    entry = (temps / "entry.c").read_text()
    body = entry[entry.index("int mlp(\n"):]
    body = body[:body.index("__tesa_body_mlp(")]
    checks = [line.strip() for line in body.splitlines()
              if "tesa_rt_check_buffer" in line]
    assert checks == [
        'tesa_rt_check_buffer(arg0, 16384u, "mlp: arg0 (16x256 float32)") '
        '!= 0 ||',
        'tesa_rt_check_buffer(arg1, 524288u, "mlp: arg1 (256x512 float32)") '
        '!= 0 ||',
        'tesa_rt_check_buffer(arg2, 262144u, "mlp: arg2 (512x128 float32)") '
        '!= 0 ||',
        'tesa_rt_check_buffer(result0, 8192u, '
        '"mlp: result0 (16x128 float32)") != 0)']


def test_fault_injection_program_without_a_device(mlp_library):
    """The GPU machine's fault injection test (fault_injection.sh), in its
    no-device group: here every call fails with the no-device error."""
    if tesa.load(mlp_library).device_count() > 0:
        pytest.skip("this machine has a CUDA device")
    result = subprocess.run([str(BUILD / "tesa-fault-injection"),
                             str(mlp_library), "no-device",
                             "no CUDA device: "],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fault injection (no-device): 11 checks, 0 failed" in result.stdout


def test_rocdl_library_reports_no_hip_device(tmp_path):
    library, result = compile_library(tmp_path, MLP, "--target=rocdl",
                                      "--chip=gfx906")
    assert result.returncode == 0, result.stderr
    loaded = tesa.load(library)
    if loaded.device_count() > 0:
        pytest.skip("this machine has a HIP device")
    assert loaded.no_device_reason().startswith("no HIP device")


@pytest.mark.parametrize("options, message", [
    (["--chip=sm_99"], "unknown chip 'sm_99'; known chips: sm_75"),
    (["--target=rocdl", "--chip=sm_90"], "chip 'sm_90' is not a rocdl chip; "
     "known rocdl chips: gfx906"),
    (["--target=spirv"],
     "for the --target option: Cannot find option named 'spirv'!"),
    (["--format=ptx"],
     "for the --format option: Cannot find option named 'ptx'!"),
])
def test_bad_options_are_diagnosed(tmp_path, options, message):
    _, result = compile_library(tmp_path, MLP, *options)
    assert result.returncode == 1
    assert message in result.stderr


def test_dynamic_shapes_are_diagnosed(tmp_path):
    source = tmp_path / "dynamic.mlir"
    source.write_text("func.func @f(%a: tensor<?x4xf32>) -> tensor<?x4xf32> "
                      "{\n  return %a : tensor<?x4xf32>\n}\n")
    _, result = compile_library(tmp_path, source)
    assert result.returncode == 1
    assert ("argument #0 has type 'tensor<?x4xf32>'; an entry point needs "
            "tensors of static shape") in result.stderr
