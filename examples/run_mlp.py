"""Runs the example MLP compiled by tesa-compile, beside PyTorch.

    python examples/run_mlp.py build/demo/mlp.so examples/mlp.mlir

Loads the library, and on a machine with an NVIDIA GPU runs it on random
inputs with the masks the program declares, then prints tesa's latency (per
call, and with the weights packed once by `mlp.pack`), the
latency of the same network dense in PyTorch (fp32 and fp16, pruned weights
as dense tensors), and the largest error against a float64 reference. Both
are timed as medians of CUDA-graph replays on one stream. Without a GPU it
says so and exits with status 0: compiling needs none.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
import tesa  # noqa: E402
from tesa.encoding import argument_masks  # noqa: E402
from tesa.timing import graph_median  # noqa: E402


def main(library_path, source_path):
    library = tesa.load(library_path)
    print(f"loaded {library}")
    reason = library.no_device_reason()
    if reason:
        print(f"no GPU found ({reason}); the library is compiled, nothing "
              "was run")
        return 0
    try:
        import torch
    except ImportError:
        print("PyTorch is needed to compare with a dense network; "
              "scripts/setup.sh installs it on machines with an NVIDIA GPU")
        return 1
    masks = argument_masks(Path(source_path).read_text(), "mlp")
    rng = np.random.default_rng()
    inputs = [np.where(m > 0, rng.standard_normal(m.shape), 0)
              .astype(np.float32) for m in masks]
    x, w1, w2 = (torch.from_numpy(a).cuda() for a in inputs)
    out = torch.full((x.shape[0], w2.shape[1]), float("nan"), device="cuda")
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        library.mlp(x, w1, w2, out=out)
    stream.synchronize()
    xd, w1d, w2d = (t.double() for t in (x, w1, w2))
    reference = torch.relu(xd @ w1d) @ w2d
    error = (out.double() - reference).abs().max().item()
    scale = reference.abs().max().item()

    tesa_ms = graph_median(lambda: library.mlp(x, w1, w2, out=out), stream)
    # The weights packed once (mlp_pack), then mlp_packed on every call.
    # mlp_packed also takes the arguments that parts read in place.
    with torch.cuda.stream(stream):
        packed = library.mlp.pack(None, w1, w2)
        kept = [(x, w1, w2)[i] for i in packed.kept_arguments]
        packed_out = packed(*kept)
    stream.synchronize()
    error = max(error, (packed_out.double() - reference).abs().max().item())
    packed_ms = graph_median(lambda: packed(*kept, out=out), stream)
    torch.backends.cuda.matmul.allow_tf32 = False
    fp32_ms = graph_median(lambda: torch.relu(x @ w1) @ w2, stream)
    x16, w116, w216 = x.half(), w1.half(), w2.half()
    fp16_ms = graph_median(lambda: torch.relu(x16 @ w116) @ w216, stream)
    print(f"device: {library.device_name()}")
    print(f"tesa {library.chip}:        {tesa_ms * 1e3:8.1f} us")
    print(f"tesa, packed once:  {packed_ms * 1e3:8.1f} us")
    print(f"PyTorch dense fp32: {fp32_ms * 1e3:8.1f} us")
    print(f"PyTorch dense fp16: {fp16_ms * 1e3:8.1f} us")
    print(f"max |error| vs float64: {error:.3e} (output magnitude "
          f"{scale:.3e}, relative {error / scale:.1e})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
