"""Draws the benchmark plot and table from a recorded run.

    python bench/plot_benchmarks.py bench/results/<run>.json docs/benchmarks.png

The plot follows SparTA's kernel figure: latency against sparsity, one line
per system, for the fine-grained fp32 case at 1024^3 and the block-sparse
fp16 cases at 4096^3. The table (markdown, on standard output) lists every
case: tesa, each anchor, the two floors, and tesa's distance from the
nearer-to-reach floor.
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PANELS = [
    ("fine_fp32", 1024, "fine-grained fp32, 1024^3"),
    ("fine_fp32", 4096, "fine-grained fp32, 4096^3"),
    ("block32_fp16", 4096, "32x32 blocks fp16, 4096^3"),
    ("block64_fp16", 4096, "64x64 blocks fp16, 4096^3"),
]


def plot(results, path):
    figure, axes = plt.subplots(1, len(PANELS), figsize=(5 * len(PANELS), 4))
    for axis, (family, size, title) in zip(axes, PANELS):
        rows = sorted((r for r in results["results"]
                       if r["family"] == family and r["m"] == size),
                      key=lambda r: r["sparsity"])
        if not rows:
            continue
        x = [100 * r["sparsity"] for r in rows]
        axis.plot(x, [r["tesa_ms"] for r in rows], "o-", label="tesa",
                  linewidth=2)
        if all("tesa_packed_ms" in r for r in rows):
            axis.plot(x, [r["tesa_packed_ms"] for r in rows], "o-",
                      label="tesa, packed once", linewidth=2)
        for name in rows[0]["anchors"]:
            values = [r["anchors"].get(name) for r in rows]
            if all(isinstance(v, float) for v in values):
                axis.plot(x, values, "s--", label=name)
        axis.plot(x, [max(r["compute_floor_ms"], r["memory_floor_ms"])
                      for r in rows], ":", color="gray", label="floor")
        axis.set_yscale("log")
        axis.set_xlabel("sparsity (%)")
        axis.set_ylabel("latency (ms)")
        axis.set_title(title)
        axis.legend(fontsize=7)
    figure.suptitle(f"{results['device']}, {results['date']}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def table(results):
    lines = ["| case | M x K x N | kept | tesa ms | tesa packed once ms | "
             "anchors (ms) | compute floor | memory floor | best tesa / floor |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results["results"]:
        anchors = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else
                            f"{k} {v}" for k, v in r["anchors"].items())
        floor = max(r["compute_floor_ms"], r["memory_floor_ms"])
        packed = r.get("tesa_packed_ms")
        best = min(r["tesa_ms"], packed or r["tesa_ms"])
        lines.append(
            f"| {r['name']} | {r['m']}x{r['k']}x{r['n']} | "
            f"{100 * r['kept']:.1f}% | {r['tesa_ms']:.4f} | "
            f"{'-' if packed is None else f'{packed:.4f}'} | {anchors} | "
            f"{r['compute_floor_ms']:.4f} | {r['memory_floor_ms']:.4f} | "
            f"{best / floor:.0f}x |")
    return "\n".join(lines)


def main(source, png):
    results = json.load(open(source))
    plot(results, png)
    print(table(results))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
