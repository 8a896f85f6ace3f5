#!/usr/bin/env python3
"""PyTorch models through tesa.torch, end to end, beside PyTorch.

    .venv/bin/python bench/torch_models.py prepare gpu-run/torch-models   # here
    python3 bench/torch_models.py run gpu-run/torch-models --out r.json  # on the GPU
    .venv/bin/python bench/torch_models.py host-check mobilenet_v2_dense_f16 --batch 1

`prepare` builds each model (the MLP, torchvision's MobileNet-V2 and
transformers' BertModel from its base config, also called with a padding mask
as bert_base_padded_s512; weights from fixed seeds: nothing is downloaded), masks it with one of SparTA's patterns, exports it with
`tesa.torch.export` (weights as arguments) and compiles it with tesa-compile;
it records the propagation report's totals. `run` builds the same models and
masks on the GPU machine (whose torchvision and transformers may be other
versions: the outputs are compared there), calls the libraries through
`tesa.torch.CompiledModule`, and times them beside PyTorch eager, PyTorch in
a CUDA graph and torch.compile at the same precision, and beside PyTorch
fp16 dense in a CUDA graph (the issue's bar). `host-check` (no GPU) runs
one configuration, at a batch of its own, through `--tesa-host-pipeline`:
the kernels the GPU pipeline generates for `--chip` (sm_80 by default:
sm_90's warpgroup kernels do not run on the host), each launch as loops on
the CPU, against the exported model in float64.

Patterns (on the weights of every Linear and non-depthwise Conv2d but the
classifier): fine90 (90% of the elements), block90 (90% of the 32x32
blocks, smaller where a dimension is not a multiple of 32), structured50
(half the output neurons / channels), block90_int8 (block90 with the kept
weights at 8 bits), two_four (two of every four consecutive input elements
of every Linear's weight, at random positions: the 2:4 of sparse tensor
cores; the MLP and BERT-base only), dense.
"""

import argparse
import fnmatch
import json
import math
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

MODELS = {
    "mlp": dict(kind="mlp", batch=128),
    "mobilenet_v2": dict(kind="mobilenet_v2", batch=32),
    "bert_base_s128": dict(kind="bert", seq=128, layers=12),
    "bert_base_s512": dict(kind="bert", seq=512, layers=12),
    # Called with an attention mask whose last eighth of keys is padding.
    "bert_base_padded_s512": dict(kind="bert", seq=512, layers=12,
                                  padding=64),
}
PATTERNS = ("dense", "fine90", "block90", "structured50", "block90_int8",
            "two_four")
# Models whose weights `two_four` prunes: those of Linears only.
TWO_FOUR_MODELS = ("mlp", "bert")
PRECISIONS = ("f32", "f16")


def build_model(spec):
    """The model (eval mode, float32, deterministic weights) and its example
    inputs, a tuple (CPU)."""
    import torch
    kind = spec["kind"]
    if kind == "mlp":
        model = torch.nn.Sequential(
            torch.nn.Linear(1024, 4096), torch.nn.ReLU(),
            torch.nn.Linear(4096, 4096), torch.nn.ReLU(),
            torch.nn.Linear(4096, 1024))
        example = (_normal("x", (spec["batch"], 1024), 1.0),)
    elif kind == "mobilenet_v2":
        import torchvision
        model = torchvision.models.mobilenet_v2()
        example = (_normal("x", (spec["batch"], 3, 224, 224), 1.0),)
    else:
        from transformers import BertConfig, BertModel
        config = BertConfig(num_hidden_layers=spec["layers"])
        model = _last_hidden_state_class()(
            BertModel(config, add_pooling_layer=False))
        rng = np.random.default_rng(7)
        example = (rng.integers(0, config.vocab_size, (1, spec["seq"])),)
        if "padding" in spec:
            keys = np.ones((1, spec["seq"]), dtype=np.int64)
            keys[:, spec["seq"] - spec["padding"]:] = 0
            example += (keys,)
    model.eval()
    _set_weights(model)
    example = tuple(torch.from_numpy(np.asarray(x)) for x in example)
    return model, example


def _last_hidden_state_class():
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask=None):
            return self.bert(input_ids=input_ids,
                             attention_mask=attention_mask).last_hidden_state
    return LastHiddenState


def _normal(name, shape, std, mean=0.0):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return (rng.standard_normal(shape) * std + mean).astype(np.float32)


def _set_weights(model):
    """Weights from seeds named after the parameters, so that every machine
    builds the same model whatever its torchvision / transformers init."""
    import torch
    with torch.no_grad():
        for name, p in model.named_parameters():
            shape = tuple(p.shape)
            if p.dim() >= 2:
                fan_in = int(np.prod(shape[1:]))
                value = _normal(name, shape, 1.0 / math.sqrt(fan_in))
            elif name.endswith(("norm.weight", "LayerNorm.weight")) or \
                    ".1.weight" in name and "features" in name:
                value = _normal(name, shape, 0.05, 1.0)
            else:
                value = _normal(name, shape, 0.02)
            p.copy_(torch.from_numpy(value))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.from_numpy(_normal(name, tuple(b.shape), 0.1)))
            elif name.endswith("running_var"):
                rng = np.random.default_rng(zlib.crc32(name.encode()))
                b.copy_(torch.from_numpy(
                    rng.uniform(0.5, 1.5, tuple(b.shape)).astype(np.float32)))


def prunable(model):
    """The weights a pattern masks: every Linear's and non-depthwise
    Conv2d's, but the last layer's (the classifier)."""
    import torch
    names = []
    for module_name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) or (
                isinstance(module, torch.nn.Conv2d) and module.groups == 1):
            names.append(f"{module_name}.weight")
    return names[:-1] if names and "bert" not in names[0] else names


def _block(size, want=32):
    block = want
    while size % block:
        block //= 2
    return block


def pattern_masks(model, pattern):
    """(masks, bits) for tesa.torch.export, from seeds named after the
    weights."""
    if pattern == "dense":
        return None, None
    parameters = dict(model.named_parameters())
    masks = {}
    for name in prunable(model):
        shape = tuple(parameters[name].shape)
        rng = np.random.default_rng(zlib.crc32((pattern + name).encode()))
        if pattern == "two_four":
            # Ranks of four random numbers: the two lowest of each group.
            ranks = rng.random((shape[0], shape[1] // 4, 4)).argsort(2)
            masks[name] = (ranks.argsort(2) < 2).reshape(shape).astype(
                np.int64)
            continue
        if pattern == "fine90":
            grid_shape = shape
            kept = 0.1
        elif pattern.startswith("block90"):
            grid_shape = (shape[0] // _block(shape[0]),
                          shape[1] // _block(shape[1])) + (1,) * (
                              len(shape) - 2)
            kept = 0.1
        else:
            grid_shape = (shape[0],) + (1,) * (len(shape) - 1)
            kept = 0.5
        cells = int(np.prod(grid_shape))
        keep = max(1, round(cells * kept))
        grid = np.zeros(cells, dtype=np.int64)
        grid[rng.permutation(cells)[:keep]] = 1
        masks[name] = grid.reshape(grid_shape)
    bits = 8 if pattern.endswith("int8") else None
    return masks, bits


def configurations(only):
    names = [f"{m}_{p}_{e}" for m in MODELS for p in PATTERNS
             for e in PRECISIONS
             if p != "two_four" or MODELS[m]["kind"] in TWO_FOUR_MODELS]
    if only:
        patterns = only.split(",")
        names = [n for n in names
                 if any(fnmatch.fnmatch(n, p) for p in patterns)]
    return names


def split_name(name):
    for model in MODELS:
        if name.startswith(model + "_"):
            pattern, precision = name[len(model) + 1:].rsplit("_", 1)
            return model, pattern, precision
    raise ValueError(name)


def prepared(name, batch=None):
    """(tesa-ready model, example inputs, masks, bits) for `name` on CPU, at
    its own batch or `batch`."""
    model_name, pattern, precision = split_name(name)
    spec = MODELS[model_name]
    model, example = build_model(spec if batch is None
                                 else dict(spec, batch=batch))
    masks, bits = pattern_masks(model, pattern)
    if precision == "f16":
        model = model.half()
        example = tuple(x.half() if x.is_floating_point() else x
                        for x in example)
    return model, example, masks, bits


def report_totals(text):
    line = [l for l in text.splitlines() if l.startswith("total:")]
    return line[-1] if line else None


def snapshot_tools(directory):
    """Copies of the build's tesa-compile and tesa-opt (with the runtime
    library tesa-compile embeds, in the layout it expects), so that a
    rebuild during a long prepare does not change the compiler under it."""
    for relative in ("bin/tesa-compile", "bin/tesa-opt",
                     "lib/libtesa_runtime_static.a"):
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "build" / relative, target)
    return directory / "bin" / "tesa-compile", directory / "bin" / "tesa-opt"


def prepare(args):
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) \
        if manifest_path.exists() else {"models": {}}
    manifest["chip"] = args.chip
    manifest["compile_options"] = args.compile_options
    manifest["commit"] = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True).stdout.strip()
    tools = Path(tempfile.mkdtemp(prefix="tesa-tools-"))
    try:
        compiler, opt = snapshot_tools(tools)
        prepare_all(args, out, manifest, manifest_path, compiler, opt)
    finally:
        shutil.rmtree(tools)


def prepare_all(args, out, manifest, manifest_path, compiler, opt):
    import tesa.torch
    for name in configurations(args.only):
        model, example, masks, bits = prepared(name)
        started = time.perf_counter()
        exported = tesa.torch.export(model, example, masks=masks,
                                     bits=bits, weights="arguments")
        export_s = time.perf_counter() - started
        source = out / f"{name}.mlir"
        exported.save(source)
        report = subprocess.run(
            [str(opt), "--tesa-propagate=report=-", str(source), "-o",
             "/dev/null"], capture_output=True, text=True)
        started = time.perf_counter()
        result = subprocess.run(
            [str(compiler), str(source), f"--chip={args.chip}",
             *args.compile_options, "-o", str(out / f"{name}.so")],
            capture_output=True, text=True)
        compile_s = time.perf_counter() - started
        source.unlink()
        entry = {"export_seconds": round(export_s, 1),
                 "compile_seconds": round(compile_s, 1),
                 "parameters": exported.parameter_names,
                 "encoded": {k: list(v.shape) for k, v in
                             exported.maps.items()},
                 "propagation": report_totals(report.stdout)}
        if result.returncode:
            entry["error"] = result.stderr[-3000:]
            print(f"{name}: tesa-compile failed:\n{result.stderr[-3000:]}")
        else:
            entry["library_bytes"] = (out / f"{name}.so").stat().st_size
            print(f"{name}: export {export_s:.1f} s, compile "
                  f"{compile_s:.1f} s, "
                  f"{entry['library_bytes'] / 2**20:.1f} MiB; "
                  f"{entry['propagation']}", flush=True)
        manifest["models"][name] = entry
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")


# --- on the GPU --------------------------------------------------------------


def events_ms(fn, samples=15):
    import torch
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(samples):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return float(np.median(times))


def graph_ms(fn):
    import torch
    from tesa.timing import graph_median
    once = events_ms(fn, samples=3)
    replays = max(1, min(50, int(math.ceil(5.0 / max(once, 1e-3)))))
    # Graphs are captured on a stream other than the default one.
    return graph_median(fn, torch.cuda.Stream(), replays, 15)


def relative_error(output, reference):
    output = output.float()
    reference = reference.float()
    return float((output - reference).abs().max() /
                 reference.abs().max().clamp_min(1e-30))


def pytorch_timings(model_name, precision, args, cache):
    """PyTorch's times for a model at a precision: the same for every
    pattern (PyTorch computes the masked weights' zeros), so measured once,
    on the dense model."""
    import torch
    key = (model_name, precision)
    if key in cache:
        return cache[key]
    model, inputs, _, _ = prepared(f"{model_name}_dense_{precision}")
    model = model.cuda()
    x = tuple(t.cuda() for t in inputs)
    timings = {}
    with torch.no_grad():
        timings["PyTorch eager"] = events_ms(lambda: model(*x))
        timings["PyTorch CUDA graph"] = graph_ms(lambda: model(*x))
        if args.torch_compile != "off":
            try:
                started = time.perf_counter()
                fn = torch.compile(model, mode=args.torch_compile)
                fn(*x)
                timings["torch.compile"] = graph_ms(lambda: fn(*x))
                timings["torch.compile first call s"] = round(
                    time.perf_counter() - started, 1)
            except Exception as error:  # noqa: BLE001 - recorded
                timings["torch.compile"] = None
                timings["torch.compile error"] = str(error)[-500:]
            torch._dynamo.reset()
    cache[key] = timings
    return timings


def top_kernels(fn, calls=3, count=30):
    """The kernels `fn` launches that take most GPU time: (name, ms per
    call, launches per call), from torch.profiler, after one entry for all
    of them together. With programmatic launch a kernel's time includes
    its wait for the kernel before it."""
    import torch
    from torch.profiler import ProfilerActivity, profile
    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as trace:
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
    totals = {}
    for event in trace.events():
        if event.device_type == torch.autograd.DeviceType.CUDA:
            ms, launches = totals.get(event.name, (0.0, 0))
            totals[event.name] = (ms + event.device_time_total / 1000.0,
                                  launches + 1)
    ranked = sorted(totals.items(), key=lambda item: -item[1][0])
    top = [(name[:80], round(ms / calls, 4), launches // calls)
           for name, (ms, launches) in ranked[:count]]
    everything = (f"all {len(ranked)} kernels",
                  round(sum(ms for ms, _ in totals.values()) / calls, 4),
                  sum(n for _, n in totals.values()) // calls)
    return [everything] + top


def run_one(name, entry, out, args, cache):
    import torch
    import tesa.torch
    model_name, _, precision = split_name(name)
    model, example, masks, bits = prepared(name)
    model, _ = tesa.torch.prepare(model, masks=masks, bits=bits)
    model = model.cuda()
    x = tuple(t.cuda() for t in example)
    compiled = tesa.torch.CompiledModule(out / f"{name}.so", "forward",
                                         entry["parameters"], model)
    result = {}
    with torch.no_grad():
        result["error"] = relative_error(compiled(*x), model(*x))
        timings = {"tesa": graph_ms(lambda: compiled(*x)),
                   "tesa, no graph": events_ms(lambda: compiled(*x))}
        if args.profile:
            result["kernels"] = top_kernels(lambda: compiled(*x),
                                            count=args.profile_kernels)
    timings.update(pytorch_timings(model_name, precision, args, cache))
    timings["PyTorch fp16 dense, CUDA graph"] = pytorch_timings(
        model_name, "f16", args, cache)["PyTorch CUDA graph"]
    if name.endswith("_two_four_f16"):
        timings.update(pytorch_two_four_timings(model, x))
    result["timings"] = timings
    return result


def pytorch_two_four_timings(model, x):
    """PyTorch's own 2:4 path for a masked f16 model: every prunable
    Linear's weight as a semi-structured sparse tensor (cuSPARSELt), in a
    CUDA graph; the error is recorded where PyTorch refuses."""
    import copy
    import torch
    from torch.sparse import to_sparse_semi_structured
    sparse = copy.deepcopy(model)
    parameters = dict(sparse.named_modules())
    try:
        for name in prunable(sparse):
            module = parameters[name.rsplit(".", 1)[0]]
            module.weight = torch.nn.Parameter(
                to_sparse_semi_structured(module.weight.detach()),
                requires_grad=False)
        with torch.no_grad():
            return {"PyTorch 2:4 (cuSPARSELt), CUDA graph":
                    graph_ms(lambda: sparse(*x))}
    except Exception as error:  # noqa: BLE001 - recorded
        return {"PyTorch 2:4 error": f"{type(error).__name__}: {error}"[-300:]}


def run(args):
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    out = Path(args.out_dir)
    manifest = json.loads((out / "manifest.json").read_text())
    results = {"device": torch.cuda.get_device_name(),
               "torch": torch.__version__, "commit": manifest["commit"],
               "date": time.strftime("%Y-%m-%d"), "models": {}}
    cache = {}
    for name in configurations(args.only):
        entry = manifest["models"].get(name)
        if entry is None or "error" in entry or \
                not (out / f"{name}.so").exists():
            continue
        started = time.perf_counter()
        try:
            result = run_one(name, entry, out, args, cache)
        except Exception as error:  # noqa: BLE001 - recorded, go on
            result = {"failure": f"{type(error).__name__}: {error}"[-2000:]}
        result["propagation"] = entry.get("propagation")
        results["models"][name] = result
        t = result.get("timings", {})
        print(f"{name}: error {result.get('error')}, " + ", ".join(
            f"{k} {v:.3f}" for k, v in t.items()
            if isinstance(v, float)) +
            f" ({time.perf_counter() - started:.0f} s)"
            + (f" FAILED {result['failure']}" if "failure" in result else ""),
            flush=True)
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    return 0


# --- the table and the plot --------------------------------------------------


SYSTEMS = ("PyTorch eager", "PyTorch CUDA graph", "torch.compile", "tesa")


def merged_results(paths):
    merged = {"models": {}}
    for path in paths:
        results = json.loads(Path(path).read_text())
        merged["models"].update(results.pop("models"))
        merged.update(results)
    return merged


def report(args):
    results = merged_results(args.results)
    print(f"{results['device']}, torch {results['torch']}, tesa "
          f"{results['commit']}, {results['date']}. Milliseconds (CUDA-graph "
          "medians); speed-up = PyTorch CUDA graph at the same precision / "
          "tesa; vs fp16 = PyTorch fp16 dense CUDA graph / tesa; error = "
          "largest |tesa - PyTorch| / largest |PyTorch|; run: the run "
          "the row comes from (each row is side by side within one run).\n")
    for name, what in results.get("runs", {}).items():
        print(f"* {name}: {what}")
    print()
    print("| model | pattern | precision | PyTorch eager | PyTorch CUDA "
          "graph | torch.compile | tesa | speed-up | vs fp16 | error | run |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, result in results["models"].items():
        model, pattern, precision = split_name(name)
        t = result.get("timings")
        if not t:
            print(f"| {model} | {pattern} | {precision} | failed: "
                  f"{result.get('failure', '')[:80]} ||||||||")
            continue

        def ms(key):
            value = t.get(key)
            return f"{value:.3f}" if isinstance(value, float) else "-"
        speedup = t["PyTorch CUDA graph"] / t["tesa"]
        versus16 = t["PyTorch fp16 dense, CUDA graph"] / t["tesa"]
        print(f"| {model} | {pattern} | {precision} | {ms('PyTorch eager')} "
              f"| {ms('PyTorch CUDA graph')} | {ms('torch.compile')} | "
              f"{ms('tesa')} | {speedup:.2f}x | {versus16:.2f}x | "
              f"{result['error']:.1e} | {result.get('run', '')} |")
    if args.plot:
        plot(results, args.plot)


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [(m, e) for m in MODELS for e in PRECISIONS
            if any(split_name(n)[0] == m and split_name(n)[2] == e
                   for n in results["models"])]
    figure, axes = plt.subplots(len(rows), 1, figsize=(9, 2.6 * len(rows)),
                                squeeze=False)
    for axis, (model, precision) in zip(axes[:, 0], rows):
        names = [n for n in results["models"]
                 if split_name(n)[0] == model and split_name(n)[2] == precision
                 and results["models"][n].get("timings")]
        patterns = [split_name(n)[1] for n in names]
        width = 0.8 / len(SYSTEMS)
        smallest = min((results["models"][n]["timings"].get(system) or 1e9)
                       for n in names for system in SYSTEMS)
        for index, system in enumerate(SYSTEMS):
            values = [results["models"][n]["timings"].get(system) or 0
                      for n in names]
            axis.bar([p + index * width for p in range(len(names))], values,
                     width, label=system)
        axis.set_xticks([p + 0.4 - width / 2 for p in range(len(names))])
        axis.set_xticklabels(patterns)
        axis.set_ylabel("ms (log)")
        axis.set_yscale("log")
        axis.set_ylim(bottom=smallest / 2)
        axis.set_title(f"{model} {precision}")
    axes[0, 0].legend(fontsize=8, ncol=len(SYSTEMS))
    figure.suptitle(f"{results['device']}: latency per model and pattern "
                    "(lower is better)")
    figure.tight_layout(rect=(0, 0, 1, 0.98))
    figure.savefig(path, dpi=110)


def host_check(args):
    import copy
    import torch
    import tesa.torch
    sys.path.insert(0, str(ROOT / "python" / "tests"))
    from mlir_runner import call_module, run_lowered
    precision = split_name(args.name)[2]
    model, example, masks, bits = prepared(args.name, args.batch)
    exported = tesa.torch.export(model, example, masks=masks, bits=bits,
                                 weights="constants")
    inputs = [torch.as_tensor(x) for x in example]
    with torch.no_grad():
        reference = copy.deepcopy(exported.model).double()(
            *[x.double() if x.is_floating_point() else x
              for x in inputs]).numpy()
    text = call_module(exported.mlir, exported.function,
                       [x.numpy() for x in inputs], reference.shape, precision)
    started = time.perf_counter()
    lowered = subprocess.run(
        [str(ROOT / "build" / "bin" / "tesa-opt"), "--tesa-propagate",
         f"--tesa-host-pipeline=chip={args.chip}", "-"],
        input=text, capture_output=True, text=True)
    if lowered.returncode:
        print(lowered.stderr[-3000:])
        return 1
    compiled = time.perf_counter()
    result = run_lowered(lowered.stdout).reshape(reference.shape)
    error = np.abs(result - reference).max() / np.abs(reference).max()
    print(f"{args.name} batch {args.batch}, kernels for {args.chip} as host "
          f"loops: compile {compiled - started:.0f} s, run "
          f"{time.perf_counter() - compiled:.0f} s, largest error "
          f"{error:.1e} of the output's largest magnitude")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog=__doc__,
                                     formatter_class=argparse.
                                     RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="export and compile (no GPU)")
    p.add_argument("out_dir")
    p.add_argument("--only", help="comma-separated name patterns")
    p.add_argument("--chip", default="sm_90")
    p.add_argument("--compile-option", dest="compile_options",
                   action="append", default=[],
                   help="an option passed to tesa-compile (repeatable), "
                   "e.g. --compile-option=--structured-tiling=64,2,2,1,0")
    r = sub.add_parser("run", help="run on the GPU")
    r.add_argument("out_dir")
    r.add_argument("--only")
    r.add_argument("--out")
    r.add_argument("--profile-kernels", type=int, default=30,
                   help="with --profile, how many kernels to list")
    r.add_argument("--profile", action="store_true",
                   help="record the kernels tesa's calls spend most time in")
    r.add_argument("--torch-compile", default="default",
                   help="torch.compile mode, or 'off'")
    h = sub.add_parser("host-check", help="one configuration's kernels as "
                       "host loops, against float64 (no GPU)")
    h.add_argument("name", help="e.g. mobilenet_v2_dense_f16")
    h.add_argument("--batch", type=int, default=1)
    h.add_argument("--chip", default="sm_80")
    t = sub.add_parser("report", help="markdown table (and plot) of runs")
    t.add_argument("results", nargs="+", help="JSON files of `run --out`")
    t.add_argument("--plot", help="PNG to draw")
    args = parser.parse_args(argv)
    return {"prepare": prepare, "run": run, "report": report,
            "host-check": host_check}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
