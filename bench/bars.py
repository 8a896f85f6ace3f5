#===- bench/bars.py - Issue 24's kernel bars from a recorded run ----------===#
#
# Part of the tesa project.
#
#===----------------------------------------------------------------------===#
"""Issue 24's kernel bars, judged from one recorded run of the benchmark.

    python bench/bars.py bench/results/<run>.json

Prints a markdown table (the one in docs/benchmarks.md, "The kernel bars
of issue 24"): each bar, met or missed at each case it covers, and the
numbers it is judged by. tesa's time is the packed-once time, or the
per-call time where a case has no packing; where a bar covers two builds
of one product (the f32- and f16-program 16-bit blocks, the fixed and
random 2:4 positions) the faster one counts. Exit status 0 whatever the
bars say; 1 for a file that is not a benchmark run.
"""

import json
import sys


def tesa_ms(row):
    """The time a bar judges a case by."""
    packed = row.get("tesa_packed_ms")
    return row["tesa_ms"] if packed is None else packed


class Run:
    """The rows of one run, by family, size and sparsity."""

    def __init__(self, results):
        self.rows = [r for r in results["results"] if "tesa_ms" in r]

    def find(self, families, m=None, sparsity=None, name=None):
        """The fastest row of any of `families` at the given size and
        sparsity (or with the given name), or None."""
        rows = [r for r in self.rows if r["family"] in families
                and (m is None or r["m"] == m)
                and (sparsity is None or abs(r["sparsity"] - sparsity) < 1e-6)
                and (name is None or r["name"] == name)]
        return min(rows, key=tesa_ms) if rows else None

    def sparsities(self, families, m, least=0.0):
        """The sparsities of `families` at size m, from `least` on."""
        return sorted({r["sparsity"] for r in self.rows
                       if r["family"] in families and r["m"] == m
                       and r["sparsity"] >= least - 1e-6})


def percent(sparsity):
    return f"{100 * sparsity:.0f}%"


class Bar:
    """One bar: a list of (label, met, numbers) checks."""

    def __init__(self, text):
        self.text = text
        self.checks = []

    def check(self, label, met, numbers):
        self.checks.append((label, met, numbers))

    def row(self):
        if not self.checks:
            return f"| {self.text} | no case in this run | |"
        missed = [label for label, met, _ in self.checks if not met]
        met = [label for label, met, _ in self.checks if met]
        if not missed:
            status = "**met**"
        else:
            status = "**missed** at " + ", ".join(missed)
            if met:
                status += "; met at " + ", ".join(met)
        numbers = "; ".join(f"{label} {numbers}"
                            for label, _, numbers in self.checks)
        return f"| {self.text} | {status} | {numbers} |"


def faster_than(bar, run, families, m, anchor, factor=1.0, sparsities=None,
                prefix=""):
    """Checks of `families` at size m: tesa at least `factor` times faster
    than `anchor` (the numbers: the anchor's time / tesa's, or tesa's /
    the anchor's where factor is 1), each labelled `prefix` + sparsity."""
    for sparsity in sparsities or run.sparsities(families, m):
        row = run.find(families, m, sparsity)
        base = row and row["anchors"].get(anchor)
        if not isinstance(base, float):
            continue
        speedup = base / tesa_ms(row)
        label = prefix + percent(sparsity)
        if factor == 1.0:
            numbers = f"{tesa_ms(row):.4f} / {base:.4f}"
        else:
            numbers = f"{speedup:.2f}x"
        bar.check(label, speedup >= factor, numbers)


def block_bars(run):
    bars = []
    for size in (32, 64):
        families = (f"block{size}_fp16", f"block{size}_fp16_program")
        above = run.sparsities(families, 4096, least=0.5)
        bar = Bar(f"{size}x{size} fp16 blocks, 4096^3: faster than dense "
                  "cuBLAS fp16 from 50% (tesa / cuBLAS ms)")
        faster_than(bar, run, families, 4096, "cuBLAS fp16", sparsities=above)
        bars.append(bar)
        bar = Bar(f"{size}x{size} fp16 blocks, 4096^3: at least 1.5x faster "
                  f"than Triton BSR{size} at 50-99% (speed-up)")
        faster_than(bar, run, families, 4096, f"Triton BSR{size} fp16", 1.5,
                    above)
        bars.append(bar)
        bar = Bar(f"{size}x{size} fp16 blocks, 4096^3, 90%: at least 5x "
                  "faster than dense cuBLAS fp16 (speed-up)")
        faster_than(bar, run, families, 4096, "cuBLAS fp16", 5.0, [0.9])
        bars.append(bar)
    bar = Bar("int8 blocks, 4096^3: faster than dense cuBLAS int8 "
              "(column-major) from 50% (tesa / cuBLAS ms)")
    for size in (32, 64):
        faster_than(bar, run, (f"block{size}_int8",), 4096, "cuBLAS int8",
                    prefix=f"{size}x{size} ")
    bars.append(bar)
    return bars


def fine_bars(run):
    bar16 = Bar("fine-grained fp16, 1024^3 and 4096^3: faster than dense "
                "cuBLAS fp16 from 70% (tesa / cuBLAS ms)")
    for m in (1024, 4096):
        faster_than(bar16, run, ("fine_fp16_program",), m, "cuBLAS fp16",
                    sparsities=run.sparsities(("fine_fp16_program",), m,
                                              least=0.7),
                    prefix=f"{m}^3 ")
    csr = Bar("fine-grained fp32: at least 2x faster than cuSPARSE CSR at "
              "50-99% (speed-up)")
    sgemm = Bar("fine-grained fp32: faster than cuBLAS SGEMM (fp32, no TF32) "
                "from 70% (tesa / SGEMM ms)")
    for m in (1024, 4096):
        faster_than(csr, run, ("fine_fp32",), m, "cuSPARSE CSR fp32", 2.0,
                    prefix=f"{m}^3 ")
        faster_than(sgemm, run, ("fine_fp32",), m, "cuBLAS fp32",
                    sparsities=run.sparsities(("fine_fp32",), m, least=0.7),
                    prefix=f"{m}^3 ")
    return [bar16, csr, sgemm]


def two_four_bar(run):
    """Met by the faster build: f16 programs take and return f16 tensors
    as cuSPARSELt is called; f32 programs add a copy of A and an f32
    result."""
    bar = Bar("2:4, BERT-base FFN shape: faster than cuSPARSELt "
              "(tesa / cuSPARSELt ms, the faster build; each build)")
    rows = [r for r in run.rows
            if r["family"] in ("two_four_fp16", "two_four_fp16_program")
            and r["name"].endswith("_ffn")
            and isinstance(r["anchors"].get("cuSPARSELt 2:4 fp16"), float)]
    if rows:
        best = min(rows, key=tesa_ms)
        each = ", ".join(f"{r['name']} {tesa_ms(r):.4f} / "
                         f"{r['anchors']['cuSPARSELt 2:4 fp16']:.4f}"
                         for r in rows)
        base = best["anchors"]["cuSPARSELt 2:4 fp16"]
        bar.check("FFN", tesa_ms(best) < base,
                  f"{tesa_ms(best):.4f} / {base:.4f} ({each})")
    return bar


def mixed_bar(run):
    bar = Bar("mixed plans: at least 1.3x faster than the best "
              "single-format plan (speed-up)")
    for mixed, singles in (("mixed_blocks_fine", ("block", "fine")),
                           ("int8_outliers", ("block",))):
        auto = run.find((mixed,), name=f"{mixed}_auto")
        others = [run.find((mixed,), name=f"{mixed}_{s}") for s in singles]
        others = [r for r in others if r]
        if auto and others:
            best = min(others, key=tesa_ms)
            speedup = tesa_ms(best) / tesa_ms(auto)
            bar.check(mixed, speedup >= 1.3,
                      f"{speedup:.2f}x ({tesa_ms(auto):.4f} against "
                      f"{best['name']} {tesa_ms(best):.4f})")
    return bar


def bars(results):
    """Every bar of the run, in the order of issue 24."""
    run = Run(results)
    return (block_bars(run) + fine_bars(run) + [two_four_bar(run),
                                                mixed_bar(run)])


def table(results):
    lines = [f"{results['device']}, {results['date']}", "",
             "| bar | status | numbers |", "|---|---|---|"]
    return "\n".join(lines + [bar.row() for bar in bars(results)])


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 1
    try:
        results = json.load(open(argv[1]))
        text = table(results)
    except (OSError, ValueError, KeyError, TypeError) as error:
        sys.stderr.write(f"bars.py: {argv[1]}: not a benchmark run "
                         f"({error})\n")
        return 1
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
