"""Tests of tesa.encoding, checked against tesa-opt's own reading."""

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tesa import parse_tensor_type, resource_section, sparsity_encoding

ROOT = Path(__file__).resolve().parents[2]
TESA_OPT = os.environ.get("TESA_OPT", str(ROOT / "build" / "bin" / "tesa-opt"))


def run_tesa_opt(text, *args):
    return subprocess.run([TESA_OPT, "-", *args], input=text, text=True,
                          capture_output=True)


def summary_row(text, value):
    result = run_tesa_opt(text, "--tesa-sparsity-summary", "-o", "/dev/null")
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        cells = line.split()
        if len(cells) > 1 and cells[1] == value:
            return cells
    raise AssertionError(f"no row for {value}:\n{result.stdout}")


def test_uniform_mask_is_bits():
    assert sparsity_encoding(np.full((4, 4), 8)).attribute == \
        "#tesa.sparsity<bits = 8>"


def test_small_mask_is_inline():
    enc = sparsity_encoding(np.array([[8, 0], [0, 32]]))
    assert enc.attribute == \
        "#tesa.sparsity<map = dense<[[8, 0], [0, 32]]> : tensor<2x2xi8>>"
    assert enc.resource_name is None


def test_bad_entries_are_rejected():
    with pytest.raises(ValueError, match=r"map entry \(1,\) is 7"):
        sparsity_encoding(np.array([8, 7]))
    with pytest.raises(TypeError):
        sparsity_encoding(np.array([8.0, 0.0]))
    with pytest.raises(ValueError, match="resource_name"):
        sparsity_encoding(np.zeros(300, dtype=int) + np.arange(300) % 2 * 8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_per_element_mask_matches_tesa_opt(seed):
    rng = np.random.default_rng(seed)
    mask = np.where(rng.random((64, 96)) < 0.3, 0,
                    rng.choice([4, 8, 16, 32], size=(64, 96)))
    enc = sparsity_encoding(mask, resource_name="w_mask")
    text = (f"func.func @f(%w: tensor<64x96xf32, {enc.attribute}>) {{\n"
            f"  return\n}}\n" + resource_section([enc]))
    cells = summary_row(text, "%arg0")
    kept = float(cells[4].rstrip("%"))
    assert kept == pytest.approx(100.0 * np.count_nonzero(mask) / mask.size,
                                 abs=0.005)
    for column, bits in zip(cells[5:10], (0, 4, 8, 16, 32)):
        share = 0.0 if column == "-" else float(column.rstrip("%"))
        assert share == pytest.approx(100.0 * np.mean(mask == bits), abs=0.005)


def test_block_uniform_resource_canonicalises_to_block_form():
    blocks = np.array([[8, 0], [16, 32]])
    mask = np.kron(blocks, np.ones((16, 16), dtype=int))
    enc = sparsity_encoding(mask, resource_name="m")
    text = (f"func.func @f(%w: tensor<32x32xf32, {enc.attribute}>) {{\n"
            f"  return\n}}\n" + resource_section([enc]))
    result = run_tesa_opt(text, "--tesa-canonicalize-encodings")
    assert result.returncode == 0, result.stderr
    assert re.search(r"#tesa.sparsity<map = dense<\[\[8, 0\], \[16, 32\]\]> "
                     r": tensor<2x2xi8>>", result.stdout)


def test_corrupt_resource_is_an_error():
    enc = sparsity_encoding(np.arange(300) % 2 * 8, resource_name="m")
    text = (f"func.func @f(%w: tensor<300xf32, {enc.attribute}>) {{\n"
            f"  return\n}}\n" + resource_section([enc]).replace("0x01000000", "0x01000000FF", 1))
    result = run_tesa_opt(text)
    assert result.returncode == 1
    assert "#tesa.sparsity map data has 301 bytes, expected 300" in result.stderr


def test_large_inline_maps_can_be_hexadecimal():
    mask = np.zeros((4, 8), dtype=np.int8)
    mask[1, 2] = 32
    enc = sparsity_encoding(mask, inline_limit=32, hex_above=16)
    assert enc.attribute == ('#tesa.sparsity<map = dense<"0x' + "00" * 10 +
                             "20" + "00" * 21 + '"> : tensor<4x8xi8>>')
    shape, _, entries = parse_tensor_type(f"tensor<4x8xf32, {enc.attribute}>")
    assert (entries == mask).all()
    assert "dense<[[" in sparsity_encoding(mask, inline_limit=32,
                                           hex_above=32).attribute
