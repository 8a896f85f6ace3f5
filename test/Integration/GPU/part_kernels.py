"""Runs the generated part kernels on an NVIDIA GPU against float64.

Two steps, because the GPU machine has no MLIR:

  prepare OUT  (here)  random sparse products, as in
               python/tests/test_decompose_cpu.py, through
               `--tesa-decompose --tesa-lower-parts-to-gpu=chip=sm_90`; for
               each case it writes the inputs, the PTX of the kernel module
               and the host program's buffer operations (allocations,
               copies, launches with their grids) as JSON.
  run DIR      (GPU)   replays each host program with CuPy: allocates the
               buffers, launches the kernels from the PTX with MLIR's memref
               calling convention (allocated pointer, aligned pointer,
               offset, sizes, strides), and checks the result with the same
               float64 reference and quantisation bound as the CPU test.

It prints one line per case and a summary; exit status 1 on any mismatch.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "python" / "tests"))
sys.path.insert(0, str(ROOT / "python"))


def prepare(out_dir, cases_per_plan=6):
    import zlib
    import test_decompose_cpu as cpu

    tesa_opt = str(ROOT / "build" / "bin" / "tesa-opt")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    plans = ["plan=auto", "plan=fine", "plan=block block-shape=16x16",
             "plan=block block-shape=16x32", "plan=block block-shape=32x64"]
    for plan in plans:
        rng = np.random.default_rng(zlib.crc32(plan.encode()))
        for index in range(cases_per_plan):
            case = cpu.random_case(rng)
            if not (case["mask"] > 0).any() or (case["mask"] == 32).all():
                continue
            name = f"case{len(manifest)}"
            text = cpu.case_ir(0, case).split("func.func @run0")[0]
            host = subprocess.run(
                [tesa_opt, f"--tesa-decompose={plan} chip=sm_90",
                 "--tesa-lower-parts-to-gpu=chip=sm_90", "-"],
                input=text, capture_output=True, text=True, check=True).stdout
            kernels = subprocess.run(
                [tesa_opt, "--tesa-drop-encodings",
                 "--gpu-lower-to-nvvm-pipeline=cubin-chip=sm_90 "
                 "cubin-features=+ptx78 cubin-format=isa", "-"],
                input=host, capture_output=True, text=True, check=True).stdout
            ptx = re.search(r'assembly = "((?:[^"\\]|\\.)*)"', kernels).group(1)
            ptx = re.sub(r"\\([0-9A-Fa-f]{2})",
                         lambda m: chr(int(m.group(1), 16)), ptx)
            (out / f"{name}.ptx").write_text(ptx)
            np.savez(out / f"{name}.npz", lhs=case["lhs"], rhs=case["rhs"],
                     acc=case["acc"], mask=case["mask"])
            (out / f"{name}.json").write_text(json.dumps({
                "plan": plan, "sparse": case["sparse"], "k": case["k"],
                "program": host_program(host)}))
            manifest.append(name)
    (out / "manifest.json").write_text(json.dumps(manifest))
    print(f"prepared {len(manifest)} cases in {out}")


def host_program(ir):
    """The buffer operations of @product0, in order."""
    body = ir[ir.index("func.func @product0"):]
    body = body[:body.index("\n  }\n")]
    constants = {m.group(1): int(m.group(2)) for m in re.finditer(
        r"(%\w+) = arith.constant (\d+) : index", body)}
    program = []
    for line in body.splitlines():
        line = line.strip()
        if m := re.match(r"(%\w+) = bufferization.to_buffer %arg(\d)", line):
            program.append(["input", m.group(1), int(m.group(2))])
        elif m := re.match(r"(%\w+) = memref.alloc\(\) : memref<([\dx]+)x(\w+)>", line):
            shape = [int(d) for d in m.group(2).split("x")]
            program.append(["alloc", m.group(1), shape, m.group(3)])
        elif m := re.match(r"memref.copy (%\w+), (%\w+)", line):
            program.append(["copy", m.group(1), m.group(2)])
        elif m := re.match(r"gpu.launch_func\s+@tesa_kernels::@(\w+) blocks in "
                           r"\(([^)]*)\) threads in \(([^)]*)\)\s+args\((.*)\)", line):
            grid = [constants[v.strip()] for v in m.group(2).split(",")]
            block = [constants[v.strip()] for v in m.group(3).split(",")]
            args = re.findall(r"(%\w+) : memref<", m.group(4))
            program.append(["launch", m.group(1), grid, block, args])
        elif m := re.match(r"(%\w+) = bufferization.to_tensor (%\w+)", line):
            program.append(["result", m.group(2)])
    return program


def run(in_dir):
    import cupy as cp
    import test_decompose_cpu as cpu

    directory = Path(in_dir)
    failures = 0
    dtypes = {"f32": np.float32, "f16": np.float16, "i8": np.int8,
              "i32": np.int32}
    for name in json.loads((directory / "manifest.json").read_text()):
        spec = json.loads((directory / f"{name}.json").read_text())
        data = np.load(directory / f"{name}.npz")
        inputs = [data["lhs"], data["rhs"], data["acc"]]
        module = cp.RawModule(path=str(directory / f"{name}.ptx"))
        buffers, result = {}, None
        for op in spec["program"]:
            if op[0] == "input":
                buffers[op[1]] = cp.asarray(inputs[op[2]])
            elif op[0] == "alloc":
                buffers[op[1]] = cp.zeros(op[2], dtype=dtypes[op[3]])
            elif op[0] == "copy":
                buffers[op[2]][...] = buffers[op[1]]
            elif op[0] == "launch":
                args = []
                for arg in op[4]:
                    array = buffers[arg]
                    args += [array, array, np.int64(0)]
                    args += [np.int64(d) for d in array.shape]
                    args += [np.int64(s // array.itemsize) for s in array.strides]
                module.get_function(op[1])(tuple(op[2]), tuple(op[3]), tuple(args))
            elif op[0] == "result":
                result = cp.asnumpy(buffers[op[1]])
        cp.cuda.runtime.deviceSynchronize()
        case = {"mask": data["mask"], "lhs": data["lhs"], "rhs": data["rhs"],
                "acc": data["acc"], "sparse": spec["sparse"], "k": spec["k"]}
        try:
            cpu.check(case, result.reshape(-1))
            status = "ok"
        except AssertionError as error:
            failures += 1
            status = f"MISMATCH {str(error).splitlines()[0]}"
        print(f"{name} {spec['plan']:32} sparse={'lhs' if spec['sparse'] == 0 else 'rhs'} "
              f"{status}")
    total = len(json.loads((directory / 'manifest.json').read_text()))
    print(f"part kernels on GPU: {total - failures} of {total} cases match")
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2])
    else:
        sys.exit(run(sys.argv[2]))
