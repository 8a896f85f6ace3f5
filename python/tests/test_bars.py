"""bench/bars.py: issue 24's bars judged from a run's results, on a small
run written here and on a recorded one."""

import json

from bench_modules import ROOT, load_bench

RECORDED = ROOT / "bench/results/h100-2026-12-08-e3de7a5.json"


def bars():
    return load_bench("bars")


def row(name, family, sparsity, tesa, anchors, m=4096, packed=None):
    return dict(name=name, family=family, m=m, k=m, n=m, sparsity=sparsity,
                tesa_ms=tesa, tesa_packed_ms=packed, anchors=anchors)


def test_the_faster_build_and_packed_time_count():
    results = dict(device="GPU", date="today", results=[
        # The f32 program is slower per call but faster packed once; the
        # f16 program is the faster of the two builds.
        row("block32_fp16_4096_50", "block32_fp16", 0.5, 0.40,
            {"cuBLAS fp16": 0.20, "Triton BSR32 fp16": 0.50}, packed=0.30),
        row("block32_f16prog_4096_50", "block32_fp16_program", 0.5, 0.19,
            {"cuBLAS fp16": 0.20, "Triton BSR32 fp16": 0.50}),
        row("block32_fp16_4096_90", "block32_fp16", 0.9, 0.05,
            {"cuBLAS fp16": 0.20, "Triton BSR32 fp16": 0.07}),
    ])
    table = bars().bars(results)
    cublas, triton, five = table[0], table[1], table[2]
    assert [(label, met) for label, met, _ in cublas.checks] == [
        ("50%", True), ("90%", True)]
    assert "0.1900 / 0.2000" in cublas.row()
    # 0.50 / 0.19 = 2.6x at 50%, 0.07 / 0.05 = 1.4x at 90%.
    assert [met for _, met, _ in triton.checks] == [True, False]
    assert "**missed** at 90%; met at 50%" in triton.row()
    # 0.20 / 0.05 = 4x: short of 5x.
    assert [met for _, met, _ in five.checks] == [False]


def test_mixed_plans_against_the_best_single_format():
    results = dict(device="GPU", date="today", results=[
        row("mixed_blocks_fine_auto", "mixed_blocks_fine", 0.9, 0.010, {}),
        row("mixed_blocks_fine_block", "mixed_blocks_fine", 0.9, 0.014, {}),
        row("mixed_blocks_fine_fine", "mixed_blocks_fine", 0.9, 0.012, {}),
    ])
    mixed = bars().bars(results)[-1]
    # 0.012 / 0.010 = 1.2x against the fine plan: short of 1.3x.
    assert [(label, met) for label, met, _ in mixed.checks] == [
        ("mixed_blocks_fine", False)]
    assert "1.20x" in mixed.row()


def test_recorded_run():
    """What docs/benchmarks.md records for this run."""
    table = bars().bars(json.loads(RECORDED.read_text()))

    def checks(prefix, met):
        [bar] = [bar for bar in table if bar.text.startswith(prefix)]
        return [label for label, ok, _ in bar.checks if ok == met]

    assert checks("64x64 fp16 blocks, 4096^3: faster", False) == []
    assert checks("32x32 fp16 blocks, 4096^3: faster", False) == [
        "50%", "70%", "80%"]
    assert checks("64x64 fp16 blocks, 4096^3: at least", False) == [
        "70%", "80%"]
    assert checks("int8 blocks", False) == ["32x32 50%", "64x64 50%"]
    assert checks("2:4", True) == ["FFN"]
    assert checks("mixed plans", False) == ["mixed_blocks_fine",
                                            "int8_outliers"]


def test_not_a_run(tmp_path, capsys):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"results": [{"name": "x"}]}))
    assert bars().main(["bars.py", str(path)]) == 1
    path.write_text("not json")
    assert bars().main(["bars.py", str(path)]) == 1
    assert "not a benchmark run" in capsys.readouterr().err
