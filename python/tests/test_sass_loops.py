"""bench/sass_loops.py: its reading of cuobjdump's listing, and (where
ptxas, cuobjdump and tesa-compile are here) a case's kernels end to end."""

import importlib.util
import shutil
from pathlib import Path

import pytest

from bench_modules import ROOT, load_bench


def sass_loops():
    return load_bench("sass_loops")


LISTING = """
\t\tFunction : part0
\t.headerflags\t@"EF_CUDA_VIRTUAL_SM(EF_CUDA_SM90)"
        /*0000*/                   LDC R1, c[0x0][0x28] ;    /* 0x00000a00ff017b82 */
        /*0010*/                   LDG.E R2, desc[UR6][R4.64] ;    /* 0x0 */
        /*0020*/                   IADD3 R3, R3, 0x1, RZ ;    /* 0x0 */
        /*0030*/                   FFMA R6, R2, R7, R6 ;    /* 0x0 */
        /*0040*/                   ISETP.NE.AND P0, PT, R3, R8, PT ;    /* 0x0 */
        /*0050*/               @P0 BRA 0x10 ;    /* 0x0 */
        /*0060*/              @!P1 BRA 0x80 ;    /* 0x0 */
        /*0070*/                   EXIT ;    /* 0x0 */
\t\tFunction : part0_pack
        /*0000*/                   EXIT ;    /* 0x0 */
"""


def test_listing_is_split_into_kernels_and_loops():
    module = sass_loops()
    kernels = module.functions(LISTING)
    assert sorted(kernels) == ["part0", "part0_pack"]
    assert len(kernels["part0"]) == 8
    # The backward branch at 0x50 closes the loop from 0x10; the forward
    # one at 0x60 closes none. A predicated instruction counts by opcode.
    [(first, last, counts)] = module.loops(kernels["part0"])
    assert (first, last) == (0x10, 0x50)
    assert counts == {"LDG.E": 1, "IADD3": 1, "FFMA": 1, "ISETP.NE.AND": 1,
                      "BRA": 1}
    assert module.PRODUCT.match("FFMA") and not module.PRODUCT.match("FADD")


@pytest.mark.skipif(
    not (ROOT / "build" / "bin" / "tesa-compile").exists()
    or not Path("/usr/local/cuda/bin/ptxas").exists()
    or not (shutil.which("cuobjdump") or importlib.util.find_spec("nvidia")),
    reason="needs tesa-compile, ptxas and cuobjdump")
def test_fine_kernel_walk_has_products(capsys):
    sass_loops().main(["fine_fp32_1024_99", "--kernel", "part0"])
    out = capsys.readouterr().out
    assert out.startswith("part0: ")
    assert any(" products, " in line and " 0 products" not in line
               for line in out.splitlines() if line.startswith("  loop"))
