"""Whole-model benchmark: tesa beside PyTorch on one GPU, in one process.

    # here (no GPU): generate the models, compile them, write a manifest
    .venv/bin/python bench/model_bench.py prepare OUT_DIR [--only NAMES] [--layers N]
    # on the GPU machine (PyTorch, Triton; no MLIR needed)
    PYTHONPATH=python python bench/model_bench.py run OUT_DIR [--only NAMES] [--out FILE]

Models (NAMES is a comma-separated list of names or shell patterns, e.g.
`bert_block90_s128,mlp` or `*_s128`):

- `bert_<pattern>_s<seq>`: tesa.models.bert_encoder(layer_norm=True), hidden
  768, 12 heads, FFN 3072, `--layers` layers (default 4), seq 512 and 128,
  with one of these masks on every weight matrix (never on the biases or the
  layer-norm parameters, except `structured`'s b1):
  - `dense`: no masks;
  - `block90`: 90% of the 32x32 blocks pruned, at random; kept blocks f32;
  - `fine95`: 95% of the elements pruned, each at random; kept elements f32;
  - `structured`: half of the FFN neurons pruned (the columns of w1, the
    entries of b1, the rows of w2) and a third of the heads (their columns
    of wq/wk/wv and rows of wo), chosen at random per layer;
  - `block90_int8`: the blocks of `block90` (same seed), kept at 8 bits.
- `bert_<pattern>_s<seq>_f16`, for `dense` and `block90`: the same model
  as an f16 program (`bert_encoder(element="f16")`: f16 arguments and
  activations, layer-norm statistics in f32), what a half-precision PyTorch
  model exports; called on the fp16 weights.
- `mlp`: examples/mlp.mlir as it is (copied into OUT_DIR).

Masks come from a fixed seed per pattern (the manifest has it and a CRC of
every map, which `run` checks after regenerating them); weights are never
written to disk: `run` draws them on the GPU from the manifest's weight seed
(weights and biases ~ N(0, 0.02), layer-norm gamma ~ 1 + N(0, 0.05), beta ~
N(0, 0.02), x ~ N(0, 1)), zeroes the pruned elements and runs every variant
on the same tensors. Elements kept at 8 bits are quantised by the library
itself; the references use their f32 values.

With 4 layers the whole set is about 97 MiB (the block90 and structured
libraries are 14-26 MiB each), more than the 64 MiB that can be carried to
the GPU machine at once: prepare and run it in two folders,
`--only '*_s512'` (about 55 MiB) and `--only '*_s128,mlp'` (about 42 MiB).
Compiling all of it takes about 7.5 minutes on a 2-core machine.

`run` measures, per model:
- tesa per call (`lib.<f>(...)` on torch CUDA tensors) and packed once
  (`<f>_pack` once, then `<f>_packed`): CUDA-graph replay, warmed up on the
  capturing stream (the runtime's memory pool is per stream and allocates
  on first use, so triton's do_bench_cudagraph, which captures on another
  stream than it warms up on, cannot be used as is); falls back to CUDA
  events around back-to-back calls if capture fails. Also, always, CUDA
  events around back-to-back calls without a graph (what a Python caller
  sees, launch overhead included);
- PyTorch eager fp32 (TF32 off) and fp16, and torch.compile fp16 (mode
  max-autotune-no-cudagraphs), each captured in a CUDA graph and timed with
  triton.testing.do_bench_cudagraph (median);
- errors against a float64 PyTorch reference of the same masked model (max
  abs error over the reference's max magnitude), outputs poisoned with NaN
  and never reused between checks;
- a per-kernel breakdown of the tesa calls (torch.profiler, CUDA activity):
  time per family (generic path, part kernels, decode products,
  dense-operand conversion,
  packing, copies, other), the top 10 kernels printed and every launch in
  the JSON.

It prints a table per model and a summary, and writes everything as JSON
(`--out`, rewritten after every model).
"""

import argparse
import fnmatch
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

HIDDEN, HEADS, FFN = 768, 12, 3072
SEQS = (512, 128)
EPS = 1e-12
BLOCK = 32
PATTERNS = ("dense", "block90", "fine95", "structured", "block90_int8")
# The patterns also built as f16 programs.
F16_PATTERNS = ("dense", "block90")
# One seed per pattern; block90_int8 shares block90's, so the two differ
# only in the kept blocks' precision.
MASK_SEEDS = {"dense": 0, "block90": 9032, "block90_int8": 9032,
              "fine95": 9501, "structured": 5003}
WEIGHT_SEED = 20261201
INPUT_SEED = 7
WEIGHT_STD = 0.02
MATRICES = ("wq", "wk", "wv", "wo", "w1", "w2")


# ---------------------------------------------------------------------------
# Models: argument lists and masks (numpy only; used by both subcommands)
# ---------------------------------------------------------------------------

def bert_arguments(layers, seq, hidden=HIDDEN, ffn=FFN):
    """(name, shape) of every argument of bert_encoder(layer_norm=True), in
    the order it writes them."""
    arguments = [("x", (seq, hidden))]
    for layer in range(layers):
        p = f"l{layer}_"
        for part in "qkv":
            arguments += [(p + "w" + part, (hidden, hidden)),
                          (p + "b" + part, (hidden,))]
        arguments += [(p + "wo", (hidden, hidden)), (p + "bo", (hidden,)),
                      (p + "ln1_g", (hidden,)), (p + "ln1_b", (hidden,)),
                      (p + "w1", (hidden, ffn)), (p + "b1", (ffn,)),
                      (p + "w2", (ffn, hidden)), (p + "b2", (hidden,)),
                      (p + "ln2_g", (hidden,)), (p + "ln2_b", (hidden,))]
    return arguments


def _keep_exactly(rng, shape, kept_fraction):
    """A boolean grid with round(kept_fraction * size) True entries at
    random positions."""
    size = int(np.prod(shape))
    keep = np.zeros(size, dtype=bool)
    keep[rng.permutation(size)[:int(round(kept_fraction * size))]] = True
    return keep.reshape(shape)


def bert_masks(pattern, layers, hidden=HIDDEN, heads=HEADS, ffn=FFN,
               seed=None):
    """The maps (grids over the tensors, int8 entries 0/8/32) of `pattern`,
    by argument name. A grid of shape g over a tensor of shape s stands for
    blocks of s/g elements."""
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern}")
    if pattern == "dense":
        return {}
    rng = np.random.default_rng(MASK_SEEDS[pattern] if seed is None else seed)
    shapes = {"wq": (hidden, hidden), "wk": (hidden, hidden),
              "wv": (hidden, hidden), "wo": (hidden, hidden),
              "w1": (hidden, ffn), "w2": (ffn, hidden)}
    masks = {}
    for layer in range(layers):
        p = f"l{layer}_"
        if pattern in ("block90", "block90_int8"):
            bits = 8 if pattern == "block90_int8" else 32
            for name in MATRICES:
                rows, cols = shapes[name]
                keep = _keep_exactly(rng, (rows // BLOCK, cols // BLOCK), 0.1)
                masks[p + name] = np.where(keep, bits, 0).astype(np.int8)
        elif pattern == "fine95":
            for name in MATRICES:
                keep = _keep_exactly(rng, shapes[name], 0.05)
                masks[p + name] = np.where(keep, 32, 0).astype(np.int8)
        elif pattern == "structured":
            neurons = _keep_exactly(rng, (ffn,), 0.5)
            kept_heads = ~_keep_exactly(rng, (heads,), 1 / 3)
            neuron_map = np.where(neurons, 32, 0).astype(np.int8)
            head_map = np.where(kept_heads, 32, 0).astype(np.int8)
            masks[p + "w1"] = neuron_map.reshape(1, ffn)
            masks[p + "b1"] = neuron_map.copy()
            masks[p + "w2"] = neuron_map.reshape(ffn, 1).copy()
            for part in "qkv":
                masks[p + "w" + part] = head_map.reshape(1, heads).copy()
            masks[p + "wo"] = head_map.reshape(heads, 1).copy()
    return masks


def model_masks(model):
    """The maps of a BERT model's weights: bert_masks' of its pattern, kept
    elements capped at 16 bits in an f16 program (the widest its elements
    have)."""
    grids = bert_masks(model["pattern"], model["layers"], model["hidden"],
                       model["heads"], model["ffn"], seed=model["mask_seed"])
    if model.get("element") == "f16":
        grids = {k: np.minimum(g, 16).astype(g.dtype)
                 for k, g in grids.items()}
    return grids


def expand(grid, shape):
    """The per-element map of a grid (numpy)."""
    grid = np.asarray(grid)
    for axis, (size, cells) in enumerate(zip(shape, grid.shape)):
        if size % cells:
            raise ValueError(f"grid {grid.shape} does not divide {shape}")
        grid = np.repeat(grid, size // cells, axis=axis)
    return grid


def mask_summary(grid, shape):
    grid = np.ascontiguousarray(grid, dtype=np.int8)
    cell = int(np.prod(shape)) // grid.size
    return {"grid": list(grid.shape), "shape": list(shape),
            "kept": round(float((grid > 0).mean()), 6),
            "kept_elements": int((grid > 0).sum()) * cell,
            "bits": sorted(int(b) for b in np.unique(grid)),
            "crc32": zlib.crc32(grid.tobytes())}


# ---------------------------------------------------------------------------
# The reference model: the same math as the MLIR bert_encoder writes, as a
# plain function of the weights, over numpy or torch (`ops`)
# ---------------------------------------------------------------------------

class NumpyOps:
    """float64 numpy, for checking the reference here against the CPU
    oracle (tesa-opt --tesa-cpu-pipeline under mlir-runner)."""

    _erf = np.vectorize(math.erf, otypes=[np.float64])

    @staticmethod
    def linear(x, w, b):
        return x @ w + b

    @classmethod
    def gelu(cls, x):
        return 0.5 * x * (1.0 + cls._erf(x / math.sqrt(2.0)))

    @staticmethod
    def softmax(x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    @staticmethod
    def layer_norm(x, g, b, eps):
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(var + eps) * g + b

    @staticmethod
    def relu(x):
        return np.maximum(x, 0)


class TorchOps:
    """PyTorch: nn.Linear's addmm, F.gelu (erf), softmax, F.layer_norm."""

    @staticmethod
    def linear(x, w, b):
        import torch
        return torch.addmm(b, x, w)

    @staticmethod
    def gelu(x):
        import torch.nn.functional as F
        return F.gelu(x, approximate="none")

    @staticmethod
    def softmax(x):
        import torch
        return torch.softmax(x, dim=-1)

    @staticmethod
    def layer_norm(x, g, b, eps):
        import torch.nn.functional as F
        return F.layer_norm(x, (x.shape[-1],), g, b, eps)

    @staticmethod
    def relu(x):
        import torch
        return torch.relu(x)


def bert_forward(x, w, layers, heads, ops, layer_norm=True, eps=EPS):
    """bert_encoder's function: per layer, Q/K/V = x @ W + b (W is
    [in, out], row-major, as the MLIR arguments are), heads split from the
    columns (head h = columns h*d .. h*d+d-1), scores = Q K^T per head
    scaled by 1/sqrt(d) after the product, softmax over the keys, context =
    P V merged back head-major, attention = context @ Wo + bo, h1 =
    LN1(x + attention), out = LN2(h1 + gelu(h1 @ W1 + b1) @ W2 + b2)."""
    seq, hidden = x.shape
    head = hidden // heads
    scale = 1.0 / math.sqrt(head)
    for layer in range(layers):
        p = f"l{layer}_"

        def split(t):  # (seq, hidden) -> (heads, seq, head)
            return t.reshape(seq, heads, head).swapaxes(0, 1)

        q = split(ops.linear(x, w[p + "wq"], w[p + "bq"]))
        k = split(ops.linear(x, w[p + "wk"], w[p + "bk"]))
        v = split(ops.linear(x, w[p + "wv"], w[p + "bv"]))
        probs = ops.softmax((q @ k.swapaxes(1, 2)) * scale)
        context = (probs @ v).swapaxes(0, 1).reshape(seq, hidden)
        h1 = x + ops.linear(context, w[p + "wo"], w[p + "bo"])
        if layer_norm:
            h1 = ops.layer_norm(h1, w[p + "ln1_g"], w[p + "ln1_b"], eps)
        inner = ops.gelu(ops.linear(h1, w[p + "w1"], w[p + "b1"]))
        x = h1 + ops.linear(inner, w[p + "w2"], w[p + "b2"])
        if layer_norm:
            x = ops.layer_norm(x, w[p + "ln2_g"], w[p + "ln2_b"], eps)
    return x


def mlp_forward(x, w, ops):
    """examples/mlp.mlir: relu(x @ w1) @ w2 (its 16-bit annotation of the
    hidden activations is the library's business; the reference is f32)."""
    return ops.relu(x @ w["w1"]) @ w["w2"]


def init_std(name):
    """(mean, std) of the random values of an argument."""
    if name == "x":
        return 0.0, 1.0
    if name.endswith("_g"):
        return 1.0, 0.05
    return 0.0, WEIGHT_STD


# ---------------------------------------------------------------------------
# prepare
# ---------------------------------------------------------------------------

def all_models(layers):
    models = {}
    for seq in SEQS:
        for pattern in PATTERNS:
            models[f"bert_{pattern}_s{seq}"] = dict(
                kind="bert", pattern=pattern, seq=seq, layers=layers,
                hidden=HIDDEN, heads=HEADS, ffn=FFN, eps=EPS,
                function="bert", mask_seed=MASK_SEEDS[pattern],
                weight_seed=WEIGHT_SEED, input_seed=INPUT_SEED + seq,
                element="f32")
        for pattern in F16_PATTERNS:
            models[f"bert_{pattern}_s{seq}_f16"] = dict(
                models[f"bert_{pattern}_s{seq}"], element="f16")
    models["mlp"] = dict(kind="mlp", pattern="examples/mlp.mlir",
                         function="mlp", weight_seed=WEIGHT_SEED,
                         input_seed=INPUT_SEED, source="mlp.mlir")
    return models


def select(names, only):
    if not only:
        return list(names)
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    chosen = [n for n in names if any(fnmatch.fnmatchcase(n, w)
                                      for w in wanted)]
    unknown = [w for w in wanted
               if not any(fnmatch.fnmatchcase(n, w) for n in names)]
    if unknown:
        sys.exit(f"--only: no model matches {', '.join(unknown)} (models: "
                 f"{', '.join(names)})")
    return chosen


def git_state():
    def git(*args):
        result = subprocess.run(["git", "-C", str(ROOT), *args],
                                capture_output=True, text=True)
        return result.stdout if result.returncode == 0 else ""
    changed = [line[3:] for line in git("status", "--porcelain",
                                        "--untracked-files=no").splitlines()
               if line.strip()]
    return {"commit": git("rev-parse", "--short=12", "HEAD").strip() or
            "unknown",
            "dirty": bool(changed), "changed_files": changed}


def library_signature(path):
    """Entry points of a compiled library: name -> [(shape, dtype)...],
    read through the loader (needs no GPU)."""
    import tesa
    library = tesa.load(str(path))
    return {name: {"arguments": [[list(s), d.name] for s, d in f.arguments],
                   "results": [[list(s), d.name] for s, d in f.results],
                   "pack_of": f.pack_of, "packed_of": f.packed_of}
            for name, f in library.functions.items()}


def prepare(args):
    from tesa.encoding import argument_masks
    from tesa.models import bert_encoder

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    compiler = Path(args.compiler)
    if not compiler.exists():
        sys.exit(f"{compiler} not found: build tesa first")
    models = all_models(args.layers)
    names = select(models, args.only)
    manifest_path = out / "manifest.json"
    manifest = {"models": {}}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
    manifest.update(git_state())
    manifest["prepared"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    manifest["chip"] = args.chip
    manifest["compile_options"] = args.compile_options
    manifest["init"] = {"weights_and_biases": f"N(0, {WEIGHT_STD})",
                        "ln_gamma": "1 + N(0, 0.05)",
                        "ln_beta": f"N(0, {WEIGHT_STD})", "x": "N(0, 1)"}
    scratch = Path(tempfile.mkdtemp(prefix="model_bench_"))
    try:
        for name in names:
            model = dict(models[name])
            started = time.perf_counter()
            source = scratch / f"{name}.mlir"
            if model["kind"] == "bert":
                masks = model_masks(model)
                text = bert_encoder(
                    layers=model["layers"], seq=model["seq"],
                    hidden=model["hidden"], heads=model["heads"],
                    ffn=model["ffn"], masks=masks, layer_norm=True,
                    eps=model["eps"], name=model["function"],
                    element=model["element"])
                source.write_text(text)
                arguments = bert_arguments(model["layers"], model["seq"],
                                           model["hidden"], model["ffn"])
                shapes = dict(arguments)
                model["masks"] = {k: mask_summary(v, shapes[k])
                                  for k, v in masks.items()}
            else:
                text = (ROOT / "examples" / "mlp.mlir").read_text()
                shutil.copyfile(ROOT / "examples" / "mlp.mlir",
                                out / model["source"])
                source.write_text(text)
                maps = argument_masks(text, "mlp")
                arguments = [(n, tuple(m.shape))
                             for n, m in zip(("x", "w1", "w2"), maps)]
                model["masks"] = {
                    n: mask_summary(m, m.shape) for n, m in
                    zip(("x", "w1", "w2"), maps) if n != "x"}
            generate_s = time.perf_counter() - started
            library = out / f"{name}.so"
            command = [str(compiler), str(source), "--target=nvvm",
                       f"--chip={args.chip}", "-o", str(library),
                       *args.compile_options]
            started = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True)
            compile_s = time.perf_counter() - started
            if result.returncode != 0:
                print(f"{name}: tesa-compile failed after {compile_s:.1f} s:\n"
                      f"{result.stderr[-4000:]}", flush=True)
                model["error"] = result.stderr[-4000:]
                manifest["models"][name] = model
                continue
            signature = library_signature(library)
            main = signature[model["function"]]["arguments"]
            if [tuple(s) for s, _ in main] != [s for _, s in arguments]:
                sys.exit(f"{name}: the library's arguments {main} are not "
                         f"{arguments}")
            model.update(
                library=library.name,
                arguments=[{"name": n, "shape": list(s)} for n, s in arguments],
                entry_points=sorted(signature),
                packed=f"{model['function']}_pack" in signature,
                pack_arguments=(signature.get(f"{model['function']}_pack", {})
                                .get("pack_of") or {}).get("arguments"),
                source_bytes=len(text),
                generate_seconds=round(generate_s, 2),
                compile_seconds=round(compile_s, 2),
                library_bytes=library.stat().st_size,
                header_bytes=library.with_suffix(".h").stat().st_size,
                compile_command=" ".join(
                    ["tesa-compile", f"{name}.mlir"] + command[2:4] +
                    ["-o", library.name] + list(args.compile_options)))
            model.pop("error", None)
            manifest["models"][name] = model
            print(f"{name}: generated in {generate_s:.1f} s "
                  f"({len(text) / 2**20:.1f} MiB of MLIR), compiled in "
                  f"{compile_s:.1f} s, library "
                  f"{library.stat().st_size / 2**20:.2f} MiB", flush=True)
            manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"\n{'model':<24} {'compile s':>9} {'library MiB':>11}")
    for name in names:
        model = manifest["models"][name]
        if "error" in model:
            print(f"{name:<24} {'FAILED':>9}")
            continue
        print(f"{name:<24} {model['compile_seconds']:>9.1f} "
              f"{model['library_bytes'] / 2**20:>11.2f}")
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"{out}: {total / 2**20:.2f} MiB in all")
    if total > 60 * 2**20:
        print("more than 60 MiB: to copy it to the GPU machine in parts, "
              "prepare subsets into separate folders, e.g. --only '*_s512' "
              "and --only '*_s128,mlp' (4 layers: about 55 and 42 MiB)")
    return 0


# ---------------------------------------------------------------------------
# run (GPU)
# ---------------------------------------------------------------------------

def classify_kernel(name):
    """The family of a kernel name seen by the profiler."""
    lowered = name.lower()
    if lowered.startswith(("memcpy", "memset")) or "memcpy" in lowered \
            or "memset" in lowered:
        return "copies (memcpy/memset)"
    if re.search(r"part\d+_pack\b", name) or name.endswith("_pack"):
        return "packing"
    if re.search(r"part\d+_(quantise|convert)_dense", name):
        return "part: dense operand conversion"
    if re.search(r"part\d+", name):
        return "part kernels"
    if re.fullmatch(r"product\d+", name):
        return "decode products"
    family = r"(contraction|row_reduction|attention|elementwise)"
    fused = re.fullmatch(rf"fused_({family}\d+)(_{family}\d+)+", name)
    if fused:
        # Sibling regions as one launch: the family of the first.
        return classify_kernel(fused.group(1))
    if re.fullmatch(r"contraction\d+(_split_k)?", name):
        return "regions: contraction"
    if re.fullmatch(r"row_reduction\d+", name):
        return "regions: row reduction"
    if re.fullmatch(r"attention\d+", name):
        return "regions: attention"
    if re.fullmatch(r"elementwise\d+", name):
        return "regions: elementwise"
    if name.startswith("__tesa_body") or re.search(r"_kernel(_\d+)?$", name):
        return "generic path"
    return "other"


def kernel_breakdown(launches, calls):
    """launches: [{name, us, ts, grid, block}] of `calls` identical calls.
    Time per family and the top 10 launches (a launch is the same kernel at
    the same position of every call: the generic path's kernels all have
    one name, so names alone do not tell them apart), in ms per call."""
    launches = sorted(launches, key=lambda launch: launch.get("ts", 0.0))
    total_us = sum(launch["us"] for launch in launches) or 1e-9
    families = {}
    for launch in launches:
        family = families.setdefault(classify_kernel(launch["name"]),
                                     {"ms_per_call": 0.0, "launches": 0})
        family["ms_per_call"] += launch["us"] / 1e3 / calls
        family["launches"] += 1
    for family in families.values():
        family["share"] = family["ms_per_call"] * 1e3 * calls / total_us
        family["launches_per_call"] = family.pop("launches") / calls
    per_call = len(launches) // calls
    groups = {}
    if per_call * calls == len(launches) and all(
            launches[i]["name"] == launches[i % per_call]["name"]
            for i in range(len(launches))):
        # The same sequence each call: group by position in the call.
        for i, launch in enumerate(launches):
            group = groups.setdefault(i % per_call, dict(
                launch=i % per_call, name=launch["name"],
                grid=launch.get("grid"), block=launch.get("block"),
                us=0.0, count=0))
            group["us"] += launch["us"]
            group["count"] += 1
    else:
        for launch in launches:
            group = groups.setdefault(launch["name"], dict(
                launch=None, name=launch["name"], grid=None, block=None,
                us=0.0, count=0))
            group["us"] += launch["us"]
            group["count"] += 1
    def describe(g):
        return {"launch": g["launch"], "name": g["name"],
                "family": classify_kernel(g["name"]),
                "grid": g["grid"], "block": g["block"],
                "ms_per_call": g["us"] / 1e3 / calls,
                "launches_per_call": g["count"] / calls,
                "share": g["us"] / total_us}

    ranked = [describe(g) for g in sorted(groups.values(),
                                          key=lambda g: -g["us"])]
    return {"calls": calls, "kernel_ms_per_call": total_us / 1e3 / calls,
            "launches_per_call": len(launches) / calls,
            "distinct_names": len({launch["name"] for launch in launches}),
            "families": dict(sorted(families.items(),
                                    key=lambda item: -item[1]["ms_per_call"])),
            "top10": ranked[:10],
            # Every launch (or kernel name), longest first.
            "launches": ranked}


def format_breakdown(title, breakdown):
    lines = [f"  {title}: {breakdown['kernel_ms_per_call']:.4f} ms of kernels "
             f"per call (sum of kernel durations), "
             f"{breakdown['launches_per_call']:.0f} launches per call, "
             f"{breakdown['distinct_names']} distinct names"]
    for family, f in breakdown["families"].items():
        lines.append(f"    {family:<32} {f['ms_per_call']:9.4f} ms "
                     f"{f['share']:6.1%}  {f['launches_per_call']:5.0f} "
                     "launches")
    lines.append("    top 10 launches (#position in the call, grid, block):")
    for k in breakdown["top10"]:
        name = k["name"] if len(k["name"]) <= 44 else k["name"][:41] + "..."
        where = f"#{k['launch']}" if k["launch"] is not None else \
            f"x{k['launches_per_call']:g}"
        shape = ""
        if k.get("grid"):
            shape = f"{k['grid']} {k['block']}".replace(" ", "")
        lines.append(f"      {where:>5} {name:<44} {k['ms_per_call']:9.4f} ms "
                     f"{k['share']:6.1%} {shape}")
    return "\n".join(lines)


def with_timeout(seconds, fn):
    """fn(), interrupted by a TimeoutError after `seconds` (SIGALRM, main
    thread; 0 = no limit)."""
    if not seconds:
        return fn()
    import signal

    def expire(signum, frame):
        raise TimeoutError(f"took more than {seconds:g} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Runner:
    """Everything that needs torch, imported lazily."""

    def __init__(self, args):
        import torch
        import triton
        self.torch = torch
        self.triton = triton
        self.args = args
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        self.device = torch.device("cuda")
        self.compiled = {}
        try:  # max-autotune prints every autotuning table to stdout
            import torch._inductor.select_algorithm as select_algorithm
            if hasattr(select_algorithm, "PRINT_AUTOTUNE"):
                select_algorithm.PRINT_AUTOTUNE = False
        except Exception:  # noqa: BLE001 - only quieter output
            pass

    # -- timing ----------------------------------------------------------

    def bench_cudagraph(self, fn):
        """triton's do_bench_cudagraph, median ms."""
        from triton.testing import do_bench_cudagraph
        fn()
        self.torch.cuda.synchronize()
        try:
            ms = do_bench_cudagraph(fn, rep=self.args.rep,
                                    return_mode="median")
        except TypeError:  # an old triton without return_mode
            ms = do_bench_cudagraph(fn, rep=self.args.rep, quantiles=[0.5])
        return float(ms[0] if isinstance(ms, (list, tuple)) else ms)

    def events_ms(self, fn, stream, samples=15, min_ms=5.0):
        """Median ms per call over `samples` samples of back-to-back calls
        between two CUDA events, after warm-up (no graph: the host's launch
        overhead is in it when the GPU waits for the host)."""
        torch = self.torch
        with torch.cuda.stream(stream):
            for _ in range(5):
                fn()
            stream.synchronize()
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record(stream)
            fn()
            end.record(stream)
            end.synchronize()
            once = max(start.elapsed_time(end), 1e-3)
            calls = max(1, min(1000, int(math.ceil(min_ms / once))))
            times = []
            for _ in range(samples):
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record(stream)
                for _ in range(calls):
                    fn()
                end.record(stream)
                end.synchronize()
                times.append(start.elapsed_time(end) / calls)
        return float(np.median(times)), calls

    def graph_ms(self, fn, stream, samples=25, min_ms=5.0):
        """Median ms per call from CUDA-graph replays: warm-up on `stream`,
        then `replays` calls captured on the same stream in one graph, each
        sample one replay between events."""
        from tesa.timing import graph_median
        once, _ = self.events_ms(fn, stream, samples=3, min_ms=1.0)
        replays = max(1, min(200, int(math.ceil(min_ms / max(once, 1e-3)))))
        return graph_median(fn, stream, replays, samples), replays

    def record_tesa(self, timings, name, fn, stream):
        """Times a tesa call (time_tesa) into `timings[name]` and, without a
        graph, `timings[name + ", no graph"]`."""
        ms, method, events, calls, failure = self.time_tesa(fn, stream)
        timings[name] = {"ms": ms, "method": method}
        timings[f"{name}, no graph"] = {
            "ms": events, "method": f"CUDA events around {calls} "
            "back-to-back calls from Python, median of 15"}
        if failure:
            timings[name]["note"] = failure

    def time_tesa(self, fn, stream):
        """(graph ms or None, method, events ms, error text)."""
        error = None
        try:
            ms, replays = self.graph_ms(fn, stream)
            method = (f"CUDA graph of {replays} calls captured on the warmed "
                      "stream, median of 25 replays")
        except Exception as e:  # noqa: BLE001 - recorded, then events
            error = f"graph capture failed: {type(e).__name__}: {e}"
            self.torch.cuda.synchronize()
            ms = None
            method = None
        events, calls = self.events_ms(fn, stream)
        if ms is None:
            ms = events
            method = (f"CUDA events around {calls} back-to-back calls, "
                      "median of 15 (graph capture failed)")
        return ms, method, events, calls, error

    # -- models ----------------------------------------------------------

    def tensors(self, model, names_shapes):
        """The model's arguments (fp32, on the device, masks not applied),
        by name: the weights from the weight seed (the same for every
        pattern), x from the input seed."""
        torch = self.torch
        seed = self.args.weight_seed
        if seed is None:
            seed = model["weight_seed"]
        weights = torch.Generator(device=self.device).manual_seed(seed)
        inputs = torch.Generator(device=self.device).manual_seed(
            model["input_seed"] + seed)
        values = {}
        for name, shape in names_shapes:
            mean, std = init_std(name)
            generator = inputs if name == "x" else weights
            values[name] = (torch.randn(shape, generator=generator,
                                        device=self.device,
                                        dtype=torch.float32) * std + mean)
        return values

    def masks(self, model, directory, names_shapes):
        """Per-element keep masks (bool, on the GPU) by argument name,
        regenerated and checked against the manifest's CRCs."""
        torch = self.torch
        shapes = dict(names_shapes)
        if model["kind"] == "bert":
            grids = model_masks(model)
        else:
            from tesa.encoding import argument_masks
            text = (directory / model["source"]).read_text()
            grids = {n: g for n, g in zip(("x", "w1", "w2"),
                                          argument_masks(text, "mlp"))
                     if n != "x"}
        if set(grids) != set(model["masks"]):
            raise RuntimeError(f"regenerated masks {sorted(grids)} are not "
                               f"the manifest's {sorted(model['masks'])}")
        keep = {}
        for name, grid in grids.items():
            summary = mask_summary(grid, shapes[name])
            if summary["crc32"] != model["masks"][name]["crc32"]:
                raise RuntimeError(f"the mask of {name} regenerated here "
                                   "differs from the compiled one (CRC)")
            keep[name] = torch.from_numpy(
                expand(grid > 0, shapes[name])).to(self.device)
        return keep

    def reference_fn(self, model):
        ops = TorchOps
        if model["kind"] == "bert":
            layers, heads, eps = model["layers"], model["heads"], model["eps"]

            def forward(x, w):
                return bert_forward(x, w, layers, heads, ops, eps=eps)
        else:
            def forward(x, w):
                return mlp_forward(x, w, ops)
        return forward

    def run_model(self, name, model, directory):
        torch = self.torch
        import tesa
        result = {"name": name, **{k: model[k] for k in (
            "kind", "pattern", "seq", "layers", "hidden", "heads", "ffn",
            "function", "library", "library_bytes", "compile_seconds")
            if k in model}}
        names_shapes = [(a["name"], tuple(a["shape"]))
                        for a in model["arguments"]]
        values = self.tensors(model, names_shapes)
        keep = self.masks(model, directory, names_shapes)
        for arg, mask in keep.items():
            values[arg] = torch.where(mask, values[arg],
                                      torch.zeros((), device=self.device))
        kept = sum(int(m.sum()) for m in keep.values())
        masked_elements = sum(m.numel() for m in keep.values())
        result["kept_weight_fraction"] = (kept / masked_elements
                                          if masked_elements else 1.0)
        args = [values[n] for n, _ in names_shapes]
        # An f16 program takes the fp16 values (rounded once, as PyTorch
        # fp16 does).
        half = model.get("element") == "f16"
        if half:
            args = [a.half() for a in args]
        x = values["x"]
        weights = {n: v for n, v in values.items() if n != "x"}
        forward = self.reference_fn(model)

        # float64 reference.
        with torch.no_grad():
            reference = forward(x.double(), {n: v.double()
                                             for n, v in weights.items()})
        torch.cuda.synchronize()
        out_shape = tuple(reference.shape)
        scale = reference.abs().max().item()
        result["reference"] = {"max_abs": scale,
                               "rms": reference.pow(2).mean().sqrt().item()}

        def error_of(output):
            output = output.double()
            nan = int(torch.isnan(output).sum().item())
            diff = (output - reference).abs()
            err = diff.max().item()
            return {"max_abs_error": err, "relative": err / scale,
                    "relative_fro": ((output - reference).norm() /
                                     reference.norm()).item(),
                    "nan": nan}

        library = tesa.load(str(directory / model["library"]))
        fn = getattr(library, model["function"])
        stream = torch.cuda.Stream()
        timings, errors = {}, {}

        def fresh_out():
            return torch.full(out_shape, float("nan"), device=self.device,
                              dtype=torch.float16 if half else torch.float32)

        # tesa per call: correctness on two fresh poisoned buffers.
        outs = []
        for _ in range(2):
            out = fresh_out()
            with torch.cuda.stream(stream):
                fn(*args, out=out)
            stream.synchronize()
            outs.append(out)
        errors["tesa per call"] = error_of(outs[0])
        errors["tesa per call"]["repeat_max_diff"] = \
            (outs[0] - outs[1]).abs().max().item()
        out = fresh_out()
        self.record_tesa(timings, "tesa per call",
                         lambda: fn(*args, out=out), stream)
        errors["tesa per call"]["after_timing"] = error_of(out)["relative"]

        packed = None
        if model.get("packed"):
            pack_ms = []
            for _ in range(2):  # cold (first use of the pack kernels), warm
                with torch.cuda.stream(stream):
                    start = torch.cuda.Event(enable_timing=True)
                    end = torch.cuda.Event(enable_timing=True)
                    start.record(stream)
                    packed = fn.pack(*args)
                    end.record(stream)
                end.synchronize()
                pack_ms.append(start.elapsed_time(end))
            timings["tesa pack (once)"] = {
                "ms": pack_ms[1], "cold_ms": pack_ms[0],
                "method": "CUDA events around one pack call (the second; "
                          f"the first took {pack_ms[0]:.3f} ms)"}
            kept_args = [args[i] for i in packed.kept_arguments]
            out = fresh_out()
            with torch.cuda.stream(stream):
                packed(*kept_args, out=out)
            stream.synchronize()
            errors["tesa packed"] = error_of(out)
            errors["tesa packed"]["vs_per_call_max_diff"] = \
                (out - outs[0]).abs().max().item()
            out = fresh_out()
            self.record_tesa(timings, "tesa packed",
                             lambda: packed(*kept_args, out=out), stream)

        # PyTorch: eager fp32 (TF32 off), eager fp16, torch.compile fp16.
        method = "triton do_bench_cudagraph, median"
        with torch.no_grad():
            ours = forward(x, weights)
            errors["PyTorch fp32"] = error_of(ours)
            timings["PyTorch fp32"] = {
                "ms": self.bench_cudagraph(lambda: forward(x, weights)),
                "method": method}
            x16 = x.half()
            w16 = {n: v.half() for n, v in weights.items()}
            errors["PyTorch fp16"] = error_of(forward(x16, w16))
            timings["PyTorch fp16"] = {
                "ms": self.bench_cudagraph(lambda: forward(x16, w16)),
                "method": method}
            if self.args.torch_compile != "off":
                self.torch_compile(model, forward, x16, w16, timings, errors,
                                   error_of)
        result["timings"], result["errors"] = timings, errors

        # Per-kernel breakdown of the tesa calls.
        if not self.args.no_profile:
            result["kernels"] = {}
            out = fresh_out()
            calls = {"tesa per call": lambda: fn(*args, out=out)}
            if packed is not None:
                calls["tesa packed"] = lambda: packed(*kept_args, out=out)
            for title, call in calls.items():
                try:
                    result["kernels"][title] = self.profile(call, stream)
                except Exception as e:  # noqa: BLE001 - recorded
                    result["kernels"][title] = {
                        "error": f"{type(e).__name__}: {e}"}
                    torch.cuda.synchronize()
        del library
        return result

    def torch_compile(self, model, forward, x16, w16, timings, errors,
                      error_of):
        torch = self.torch
        mode = self.args.torch_compile
        key = (model["kind"], tuple(x16.shape), model.get("layers"))
        entry = self.compiled.get(key)
        if entry is None:
            entry = {"fn": None, "error": None, "seconds": None}
            names = sorted(w16)

            def flat(x, *tensors):
                return forward(x, dict(zip(names, tensors)))
            try:
                entry["fn"] = torch.compile(flat, mode=mode, dynamic=False)
            except Exception as e:  # noqa: BLE001
                entry["error"] = f"{type(e).__name__}: {e}"
            entry["names"] = names
            self.compiled[key] = entry
        name = f"torch.compile fp16 ({mode})"
        if entry["error"]:
            timings[name] = {"ms": None, "error": entry["error"]}
            return
        tensors = [w16[n] for n in entry["names"]]
        try:
            started = time.perf_counter()
            output = with_timeout(self.args.compile_timeout,
                                  lambda: entry["fn"](x16, *tensors))
            torch.cuda.synchronize()
            seconds = time.perf_counter() - started
            errors[name] = error_of(output)
            timings[name] = {
                "ms": self.bench_cudagraph(lambda: entry["fn"](x16, *tensors)),
                "method": "compiled, then triton do_bench_cudagraph, median",
                "first_call_seconds": round(seconds, 1)}
        except Exception as e:  # noqa: BLE001
            text = f"{type(e).__name__}: {e}"
            entry["error"] = text[-2000:]
            timings[name] = {"ms": None, "error": text[-2000:]}
            torch.cuda.synchronize()

    def profile(self, fn, stream, calls=3):
        torch = self.torch
        from torch.profiler import ProfilerActivity, profile
        with torch.cuda.stream(stream):
            for _ in range(3):
                fn()
        stream.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            with torch.cuda.stream(stream):
                for _ in range(calls):
                    fn()
            stream.synchronize()
        launches = self.trace_launches(prof)
        if not launches:  # no trace: the profiler's own events
            cuda = torch.autograd.DeviceType.CUDA
            for event in prof.events():
                if getattr(event, "device_type", None) == cuda:
                    launches.append(dict(
                        name=event.name, us=event.time_range.elapsed_us(),
                        ts=event.time_range.start))
        return kernel_breakdown(launches, calls)

    @staticmethod
    def trace_launches(prof):
        """Kernels, copies and memsets of the profiler's Chrome trace (it
        has their grid and block)."""
        launches = []
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "trace.json")
            try:
                prof.export_chrome_trace(path)
                with open(path) as f:
                    events = json.load(f).get("traceEvents", [])
            except Exception:  # noqa: BLE001 - then the events
                return []
        for event in events:
            if str(event.get("cat", "")).lower() not in (
                    "kernel", "gpu_memcpy", "gpu_memset"):
                continue
            info = event.get("args", {})
            launches.append(dict(name=event.get("name", "?"),
                                 us=float(event.get("dur", 0.0)),
                                 ts=float(event.get("ts", 0.0)),
                                 grid=info.get("grid"),
                                 block=info.get("block")))
        return launches


RATIO_COLUMNS = ("PyTorch fp32", "PyTorch fp16")


def format_model(result):
    t = result["timings"]
    title = f"== {result['name']}"
    if result.get("kind") == "bert":
        title += (f": BERT post-LN, {result['layers']} layer(s), seq "
                  f"{result['seq']}, pattern {result['pattern']}, "
                  f"{result['kept_weight_fraction']:.1%} of the masked "
                  "weights kept")
    else:
        title += (f": {result.get('pattern')}, "
                  f"{result['kept_weight_fraction']:.1%} of the masked "
                  "weights kept")
    lines = [title]
    per_call = (t.get("tesa per call") or {}).get("ms")
    packed = (t.get("tesa packed") or {}).get("ms")
    lines.append(f"  {'variant':<46} {'ms':>9} {'per-call/x':>10} "
                 f"{'packed/x':>9}  method")
    for variant, timing in t.items():
        ms = timing.get("ms")
        if ms is None:
            lines.append(f"  {variant:<46} {'-':>9}  "
                         f"{timing.get('error', '')[:200]}")
            continue
        r1 = f"{per_call / ms:10.2f}" if per_call and \
            not variant.startswith("tesa") else f"{'':>10}"
        r2 = f"{packed / ms:9.2f}" if packed and \
            not variant.startswith("tesa") else f"{'':>9}"
        lines.append(f"  {variant:<46} {ms:9.4f} {r1} {r2}  "
                     f"{timing.get('method', '')}")
        if timing.get("note"):
            lines.append(f"      note: {timing['note'][:300]}")
    lines.append(f"  errors vs float64 (max |err| / max |ref|, ref max "
                 f"{result['reference']['max_abs']:.3g}):")
    for variant, e in result["errors"].items():
        extra = ""
        if "repeat_max_diff" in e:
            extra += f", repeat diff {e['repeat_max_diff']:.2e}"
        if "vs_per_call_max_diff" in e:
            extra += f", vs per call {e['vs_per_call_max_diff']:.2e}"
        if e.get("nan"):
            extra += f", {e['nan']} NaN"
        lines.append(f"    {variant:<44} {e['relative']:.2e} (abs "
                     f"{e['max_abs_error']:.2e}, fro {e['relative_fro']:.2e}"
                     f"{extra})")
    for title, breakdown in result.get("kernels", {}).items():
        if "error" in breakdown:
            lines.append(f"  kernels, {title}: profiler failed: "
                         f"{breakdown['error'][:300]}")
            continue
        lines.append(format_breakdown(f"kernels, {title}", breakdown))
    return "\n".join(lines)


SUMMARY_ORDER = ("tesa per call", "tesa packed", "tesa pack (once)",
                 "PyTorch fp32", "PyTorch fp16")


def format_summary(results):
    variants = [v for v in SUMMARY_ORDER
                if any(v in r.get("timings", {}) for r in results)]
    for r in results:
        for v in r.get("timings", {}):
            if v not in variants and not v.endswith("no graph"):
                variants.append(v)
    short = {v: re.sub(r"^torch\.compile fp16 \(.*\)$", "compile fp16",
                       v).replace("tesa pack (once)", "pack once")
             .replace("PyTorch ", "") for v in variants}
    baselines = [v for v in variants if not v.startswith("tesa")]
    header = f"{'model':<24}" + "".join(f" {short[v][:14]:>14}"
                                        for v in variants)
    header += "".join(f" {'tesa/' + short[v][:9]:>14}" for v in baselines)
    header += f" {'tesa err':>9}"
    lines = ["== summary (ms, medians of CUDA-graph replays; tesa/x = the "
             "better of tesa per call and packed over x)", header]
    for r in results:
        if "timings" not in r:
            lines.append(f"{r['name']:<24} FAILED: {r.get('error', '')[:100]}")
            continue
        timings = r["timings"]
        row = f"{r['name']:<24}"
        for v in variants:
            ms = timings.get(v, {}).get("ms")
            row += f" {ms:14.4f}" if ms is not None else f" {'-':>14}"
        ours = [timings.get(v, {}).get("ms") for v in ("tesa per call",
                                                        "tesa packed")]
        ours = min((t for t in ours if t), default=None)
        for v in baselines:
            ms = timings.get(v, {}).get("ms")
            row += (f" {ours / ms:14.2f}" if ours and ms else f" {'-':>14}")
        err = r["errors"].get("tesa per call", {}).get("relative")
        row += f" {err:9.1e}" if err is not None else f" {'-':>9}"
        lines.append(row)
    return "\n".join(lines)


def run(args):
    directory = Path(args.out_dir)
    manifest = json.loads((directory / "manifest.json").read_text())
    names = select(manifest["models"], args.only)
    runner = Runner(args)
    torch = runner.torch
    import triton
    report = {
        "device": torch.cuda.get_device_name(0),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "commit": manifest.get("commit"), "dirty": manifest.get("dirty"),
        "changed_files": manifest.get("changed_files"),
        "chip": manifest.get("chip"),
        "torch": torch.__version__, "triton": triton.__version__,
        "cuda": torch.version.cuda,
        "weight_seed": (args.weight_seed if args.weight_seed is not None
                        else WEIGHT_SEED),
        "tf32": False, "models": []}
    print(f"device {report['device']}, torch {report['torch']}, triton "
          f"{report['triton']}, CUDA {report['cuda']}; tesa commit "
          f"{report['commit']}{' (dirty tree)' if report['dirty'] else ''}; "
          f"{report['date']}", flush=True)
    started = time.perf_counter()
    for name in names:
        model = manifest["models"][name]
        if args.budget and time.perf_counter() - started > args.budget:
            print(f"{name}: skipped (--budget {args.budget} s spent)",
                  flush=True)
            report["models"].append({"name": name, "error": "skipped: budget"})
            continue
        if "error" in model:
            report["models"].append({"name": name,
                                     "error": "did not compile"})
            continue
        t0 = time.perf_counter()
        try:
            result = runner.run_model(name, model, directory)
        except Exception as e:  # noqa: BLE001 - recorded, next model
            import traceback
            traceback.print_exc()
            result = {"name": name, "error": f"{type(e).__name__}: {e}"}
            torch.cuda.synchronize()
        result["wall_seconds"] = round(time.perf_counter() - t0, 1)
        report["models"].append(result)
        if "timings" in result:
            print(format_model(result), flush=True)
        if args.out:
            Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
        torch.cuda.empty_cache()
    print(format_summary(report["models"]), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="generate and compile (no GPU)")
    p.add_argument("out_dir")
    p.add_argument("--only", help="comma-separated names or patterns")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--chip", default="sm_90")
    p.add_argument("--compiler", default=str(ROOT / "build" / "bin" /
                                             "tesa-compile"))
    p.add_argument("--compile-option", dest="compile_options",
                   action="append", default=[],
                   help="extra tesa-compile option (repeatable)")
    r = sub.add_parser("run", help="run on the GPU")
    r.add_argument("out_dir")
    r.add_argument("--only", help="comma-separated names or patterns")
    r.add_argument("--out", help="JSON file for the results")
    r.add_argument("--torch-compile", default="max-autotune-no-cudagraphs",
                   help="torch.compile mode, or 'off'")
    r.add_argument("--compile-timeout", type=float, default=600,
                   help="give up torch.compile's first call after this "
                   "many seconds (0: no limit)")
    r.add_argument("--no-profile", action="store_true")
    r.add_argument("--rep", type=int, default=100,
                   help="do_bench_cudagraph's rep (ms)")
    r.add_argument("--weight-seed", type=int, default=None,
                   help="draw other weights than the manifest's seed")
    r.add_argument("--budget", type=float, default=0,
                   help="start no new model after this many seconds")
    args = parser.parse_args(argv)
    return prepare(args) if args.command == "prepare" else run(args)


if __name__ == "__main__":
    sys.exit(main())
