#!/usr/bin/env python3
"""MobileNet-V2's convolutions one at a time, beside PyTorch (cuDNN).

    convolution_runs.py prepare OUT [--element f16|f32]   # here
    convolution_runs.py run OUT [--out RESULTS.json]      # on the GPU machine

The layers are torchvision's MobileNet-V2 blocks at batch 32 and 224x224
(eval mode, so each batch norm is folded into its convolution): the first
convolution, every depthwise convolution with its ReLU6 (one of each shape
and stride), and the pointwise convolutions over 14x14 and 7x7 images
(whose rows are not 16-byte pieces, see docs/codegen.md). `prepare` exports
each layer with tesa.torch.export and compiles it with tesa-compile; the
depthwise convolutions and the first one once for each `--convolution-run`
cap in RUNS (the most outputs a thread computes along a row; 1 is one
output a thread), so that the runs the heuristic picks can be compared
with the others. `run` checks each library against the layer in PyTorch
(largest |difference| / largest |PyTorch|) and times both as CUDA-graph
medians in one process; it reports each layer's bytes moved (input, output
and weights once) over its time.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))

BATCH = 32
# Caps on the outputs a convolution thread computes (tesa-compile
# --convolution-run); 8 is the default.
RUNS = (1, 2, 4, 8)


def mobilenet_layers():
    """(name, module, input shape) of the layers compared, one per distinct
    (kind, input shape, output channels, stride): each convolution with the
    batch norm after it and the ReLU6 where there is one."""
    import torch
    import torchvision
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v2().eval()
    # Each convolution's layer: the Sequential it heads (convolution, batch
    # norm, ReLU6), or its batch norm beside it (a block's projection).
    layer_of = {}
    for parent in model.modules():
        if not isinstance(parent, torch.nn.Sequential):
            continue
        children = list(parent)
        for i, child in enumerate(children[:-1]):
            if isinstance(child, torch.nn.Conv2d) and \
                    isinstance(children[i + 1], torch.nn.BatchNorm2d):
                layer_of[child] = parent if i == 0 else \
                    torch.nn.Sequential(child, children[i + 1]).eval()
    found, seen = [], set()

    def visit(conv, inputs, output):
        shape = tuple(inputs[0].shape[1:])
        depthwise = conv.groups > 1
        pointwise = conv.kernel_size == (1, 1)
        if pointwise and shape[1] not in (14, 7):
            return
        kind = ("depthwise" if depthwise else
                "pointwise" if pointwise else "first")
        key = (kind, shape, conv.out_channels, conv.stride)
        if key in seen:
            return
        seen.add(key)
        name = (f"{kind}_{shape[0]}x{shape[1]}_to_{conv.out_channels}"
                f"_s{conv.stride[0]}")
        found.append((name, layer_of[conv], (BATCH,) + shape))

    hooks = [conv.register_forward_hook(visit) for conv in layer_of]
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    for hook in hooks:
        hook.remove()
    return found


def layer_input(shape, dtype):
    import torch
    gen = torch.Generator().manual_seed(sum(shape))
    return torch.randn(shape, generator=gen).to(dtype)


def prepare(out, element):
    import torch
    import tesa.torch
    out.mkdir(parents=True, exist_ok=True)
    compiler = ROOT / "build/bin/tesa-compile"
    dtype = torch.float16 if element == "f16" else torch.float32
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short",
                             "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    entries = []
    for name, module, shape in mobilenet_layers():
        model = module.to(dtype)
        exported = tesa.torch.export(model, (layer_input(shape, dtype),),
                                     weights="arguments")
        source = out / f"{name}_{element}.mlir"
        exported.save(source)
        runs = (8,) if name.startswith("pointwise") else RUNS
        for run in runs:
            library = f"{name}_{element}_run{run}"
            subprocess.run([str(compiler), str(source), "--target=nvvm",
                            "--chip=sm_90", f"--convolution-run={run}",
                            "-o", str(out / f"{library}.so")], check=True)
            entries.append(dict(name=library, layer=name, element=element,
                                run=run, shape=list(shape),
                                parameters=exported.parameter_names))
        source.unlink()
        print(f"{name} {element}: {len(runs)} libraries", flush=True)
    manifest = dict(commit=commit, entries=entries)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


def run(out, results_path):
    import torch
    import tesa.torch
    from torch_models import graph_ms, relative_error
    torch.backends.cudnn.allow_tf32 = False
    manifest = json.loads((out / "manifest.json").read_text())
    layers = {name: (module, shape)
              for name, module, shape in mobilenet_layers()}
    results, pytorch_ms = [], {}
    for entry in manifest["entries"]:
        dtype = torch.float16 if entry["element"] == "f16" else torch.float32
        module, shape = layers[entry["layer"]]
        model, _ = tesa.torch.prepare(module.to(dtype))
        model = model.cuda()
        x = layer_input(shape, dtype).cuda()
        compiled = tesa.torch.CompiledModule(out / f"{entry['name']}.so",
                                             "forward", entry["parameters"],
                                             model)
        with torch.no_grad():
            reference = model(x)
            error = relative_error(compiled(x), reference)
            ms = graph_ms(lambda: compiled(x))
            key = (entry["layer"], entry["element"])
            if key not in pytorch_ms:
                pytorch_ms[key] = graph_ms(lambda: model(x))
        weights = sum(p.numel() * p.element_size()
                      for p in model.parameters())
        moved = x.numel() * x.element_size() + \
            reference.numel() * reference.element_size() + weights
        results.append(dict(entry, ms=ms, pytorch_ms=pytorch_ms[key],
                            error=error, bytes=moved,
                            gbps=moved / ms / 1e6))
        print(f"{entry['name']:44s} {ms * 1e3:8.1f} us {moved / ms / 1e6:7.0f}"
              f" GB/s  PyTorch {pytorch_ms[key] * 1e3:8.1f} us"
              f"  x{ms / pytorch_ms[key]:5.2f}  err {error:.1e}", flush=True)
    results_path.write_text(json.dumps(dict(
        device=torch.cuda.get_device_name(), torch=torch.__version__,
        commit=manifest["commit"], results=results), indent=1) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["prepare", "run"])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--element", choices=["f16", "f32"], default="f16",
                        help="prepare: the layers' precision")
    parser.add_argument("--out", type=Path,
                        default=Path("convolution-runs.json"),
                        help="run: where to write the results")
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.directory, args.element)
    else:
        run(args.directory, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
