"""Calls one model of a `model_bench.py prepare` folder a few times, for
tools that watch the process (Nsight Compute, compute-sanitizer).

    PYTHONPATH=python python bench/call_model.py DIR NAME [--calls N]

The arguments are random (standard normal, scaled by 0.02 except x), of the
dtypes the library declares; nothing is checked or timed here
(model_bench.py does that).
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("name")
    parser.add_argument("--calls", type=int, default=2)
    args = parser.parse_args(argv)
    import torch
    import tesa
    directory = Path(args.directory)
    model = json.loads((directory / "manifest.json").read_text())["models"][
        args.name]
    function = getattr(tesa.load(str(directory / model["library"])),
                       model["function"])
    inputs = []
    for (shape, dtype), argument in zip(function.arguments,
                                        model["arguments"]):
        scale = 1.0 if argument["name"] == "x" else 0.02
        inputs.append((torch.randn(shape, device="cuda") * scale)
                      .to(getattr(torch, dtype.name)))
    for _ in range(args.calls):
        function(*inputs)
    torch.cuda.synchronize()
    print(f"{args.name}: {args.calls} calls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
