"""A random-configuration GPU sweep: many random cases against float64.

Three steps, because GPU machines need no MLIR:

  prepare DIR  (any machine) draws --configs random configurations (default
               1000) from --seed. Each is a kernel family (FAMILIES: a plan,
               a block shape, a chip, decode products or one launch per
               part, the sparse operand an argument or a constant of the
               module, or a kernel region of region_cases.py) and a random
               case of it: shapes of 1-300 (one dimension in eight larger),
               the sparse operand on either side, f32, f16, int8 and int4
               parts and mixes of them, masks from one kept element to
               dense, block-aligned or not, 2:4 f16 weights, wide products
               (128-400 result columns), both operands masked. Cases with
               the same compile options go, up to LIBRARY_SIZE at a time,
               into one library. DIR/manifest.json records for every case
               its library, function, family, options, shapes, a digest of
               its inputs and the seed they are regenerated from: no input
               is stored. Past PART_BYTES of libraries (or with --parts K)
               the libraries are split over DIR/part0, DIR/part1, ... each
               with its own manifest.
  run DIR      (GPU) regenerates every case, runs it from numpy, from CUDA
               tensors and packed once (numpy only, and packed from host
               arrays, without torch), checks it as suite.py does
               (test_decompose_cpu.check's quantisation bound for products,
               region_cases.py's relative bound for regions) and prints one
               line per case and `sweep: P passed, F failed`; exit status 1
               on any failure. `--sanitize`: the numpy path and the first
               SANITIZE_CASES cases of each library, for compute-sanitizer.
               `--only`: comma-separated globs over libraries, families and
               library/function.
  check DIR    (any machine) regenerates every case and checks its shapes
               and digest against the manifest and, where the library is
               there, against its entry point's arguments: prepare's draws
               are reproducible.

DIR may be a prepared directory, one of its parts, or one holding parts.
"""

import argparse
import fnmatch
import json
import math
import os
import shutil
import sys
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import suite  # noqa: E402  (also puts python/ and python/tests/ on the path)
import region_cases as rc  # noqa: E402
import test_decompose_cpu as cpu  # noqa: E402
import tesa  # noqa: E402

LIBRARY_SIZE = 32
PART_BYTES = 56 << 20
SANITIZE_CASES = 4
PER_PART = suite.PER_PART
SM90 = ["--chip=sm_90"]
SM80_PTX = ["--chip=sm_80", "--format=isa"]
SM75_PTX = ["--chip=sm_75", "--format=isa"]
WIDTH_NAMES = {32: "f32", 16: "f16", 8: "int8", 4: "int4"}
# Mixes of part widths for wide products (tensor-core blocks).
WIDE_MIXES = [(16,), (8,), (16, 8), (16, 8, 4)]


# --- random cases -------------------------------------------------------------

def draw_dim(rng, high=300, large=700, step=1):
    """1..high, one time in eight high..large; rounded up to `step`."""
    if rng.random() < 0.125:
        value = int(rng.integers(high, large + 1))
    else:
        value = int(rng.integers(1, high + 1))
    return step * -(-value // step)


def random_mask(rng, channels, k, widths, block=None, densities=None,
                scatter_bits=None):
    """A (channels, k) mask: blocks (`block`, else a random square size) kept
    with a random density from `densities`, each at a width of `widths`,
    and scattered elements kept with another density (none to nearly all)
    at their block's width or at `scatter_bits`; at least one element."""
    if block is None:
        size = int(rng.choice([4, 8, 16, 32, 64]))
        block = (size, size)
    grid = (-(-channels // block[0]), -(-k // block[1]))
    cells = np.ones(block, dtype=np.int8)
    bits = np.kron(rng.choice(widths, size=grid), cells)[:channels, :k]
    density = rng.choice(densities or [0.0, 0.05, 0.3, 0.7, 1.0])
    keep = np.kron(rng.random(grid) < density, cells)[:channels, :k] > 0
    scattered = ~keep & (rng.random((channels, k)) < rng.choice(
        [0.0, 0.005, 0.02] if scatter_bits else
        [0.0, 0.005, 0.02, 0.1, 0.4, 0.9]))
    if not (keep | scattered).any():
        keep[int(rng.integers(channels)), int(rng.integers(k))] = True
    return np.where(keep, bits, np.where(scattered, scatter_bits or bits, 0)
                    ).astype(np.int8)


def product_case(rng, block=None, wide=False, decode=False, both=False,
                 large=700):
    """A random product in test_decompose_cpu's case format. `block`: the
    library's block shape (channels x reduction), which half of the masks
    (all of `wide`'s) are aligned to; `wide`: 128-400 result columns,
    f16/int8/int4 blocks with a few f32 elements; `decode`: most products
    64 result columns or fewer; `both`: the other operand masked too."""
    sparse = int(rng.integers(0, 2))
    if wide:
        channels = int(rng.integers(block[0], 12 * block[0] + 1))
        k, columns = draw_dim(rng, 300, large), int(rng.integers(128, 401))
        mask = random_mask(rng, channels, k,
                           WIDE_MIXES[int(rng.integers(len(WIDE_MIXES)))],
                           block, [0.3, 0.7, 1.0], scatter_bits=32)
    else:
        channels, k = draw_dim(rng, 300, large), draw_dim(rng, 300, large)
        columns = (int(rng.integers(1, 65)) if decode and rng.random() < 0.7
                   else draw_dim(rng, 300, large))
        widths = cpu.MIXES[int(rng.integers(len(cpu.MIXES)))]
        aligned = block if block and rng.random() < 0.5 else None
        mask = random_mask(rng, channels, k, widths, aligned)
    m, n = (channels, columns) if sparse == 0 else (columns, channels)
    case = dict(m=m, k=k, n=n, sparse=sparse,
                mask=mask if sparse == 0 else np.ascontiguousarray(mask.T),
                lhs=rng.standard_normal((m, k)).astype(np.float32),
                rhs=rng.standard_normal((k, n)).astype(np.float32),
                acc=rng.standard_normal((m, n)).astype(np.float32))
    weight = case["lhs" if sparse == 0 else "rhs"]
    weight[rng.random(weight.shape) < 0.01] *= 50  # outliers
    if both:
        other = (k, n) if sparse == 0 else (m, k)
        case["other_mask"] = np.where(
            rng.random(other) < rng.choice([0.1, 0.6, 0.95]), 32, 0
        ).astype(np.int8)
    return case


def two_four_case(rng, max_channels=300):
    """test_decompose_cpu.random_two_four_case with random bounds: half of
    the products 128-400 result columns wide."""
    wide = rng.random() < 0.5
    return cpu.random_two_four_case(
        rng, max_channels=int(rng.integers(2, max_channels + 1)),
        max_k=int(rng.integers(5, 400)), min_columns=128 if wide else 1,
        max_columns=401 if wide else 80)


def _slabs(rng, name):
    """region_cases.sparse_lhs_columns: x's columns kept in random slabs."""
    kept = rng.random(int(rng.integers(1, 10))) < 0.5
    kept[int(rng.integers(kept.size))] = True
    return rc.sparse_lhs_columns(name, draw_dim(rng), 32 * kept.size,
                                 draw_dim(rng), 32, list(kept))


def _attention_f16(rng, name):
    """An f16 attention region (region_cases.as_attention_f16)."""
    s, h = draw_dim(rng, 200, 512), int(rng.integers(1, 5))
    d, dv = (draw_dim(rng, 128, 128, step=8) for _ in range(2))
    return rc.as_attention_f16(
        rc.attention(name + "_src", s, h, d, dv, bool(rng.random() < 0.3)),
        name, max(s, d, dv))


def _region_f16(rng, name, family):
    """The f16 form of `family` (region_cases.as_f16), dimensions multiples
    of 8 half the time (tensor cores), else any (FMA tiles)."""
    step = 8 if rng.random() < 0.5 else 1
    m, k, n = (draw_dim(rng, 300, 600, step) for _ in range(3))
    s, h = draw_dim(rng, 200, 400, step), int(rng.integers(1, 5))
    d = draw_dim(rng, 128, 128, step)
    slabs, columns = (int(rng.integers(1, 11)) for _ in range(2))
    builds = {
        "matmul_f16": (lambda x: rc.matmul(x, m, k, n), k),
        "matmul_bias_gelu_f16": (lambda x: rc.matmul_bias_gelu(x, m, k, n), k),
        "transposed_lhs_f16": (lambda x: rc.transposed_lhs(x, m, k, n), k),
        "batch_matmul_f16": (lambda x: rc.batch_matmul(x, h, s, d, s), d),
        "attention_scores_f16": (lambda x: rc.attention_scores(x, s, h, d), d),
        "attention_context_f16": (lambda x: rc.attention_context(x, s, h, d),
                                  s),
        "block_sparse_gelu_f16": (lambda x: rc.block_sparse_gelu(
            x, m, 32 * slabs, 32 * columns, bits=16), 32 * slabs),
        "block_sparse_siblings_f16": (lambda x: rc.block_sparse_siblings(
            x, m, 32 * slabs, 32 * columns, bits=16),
            32 * max(slabs, columns)),
    }
    build, reduction = builds[family]
    return rc.as_f16(build(name + "_src"), name, None, reduction)


def _dims(rng, count, high=300, large=600):
    """`count` dimensions of draw_dim."""
    return [draw_dim(rng, high, large) for _ in range(count)]


# Kernel-region families: (rng, function name) -> a region_cases case.
REGION_FAMILIES = {
    "matmul_bias_gelu": lambda r, x: rc.matmul_bias_gelu(x, *_dims(r, 3)),
    "matmul_bias_acc_residual": lambda r, x:
        rc.matmul_bias_accumulator_residual(x, *_dims(r, 3)),
    "transposed_lhs": lambda r, x: rc.transposed_lhs(x, *_dims(r, 3)),
    "matmul": lambda r, x: rc.matmul(x, *_dims(r, 3)),
    "batch_matmul": lambda r, x: rc.batch_matmul(
        x, int(r.integers(1, 9)), *_dims(r, 3, 200, 300)),
    "attention_scores": lambda r, x: rc.attention_scores(
        x, draw_dim(r, 300, 512), int(r.integers(1, 5)), draw_dim(r, 128, 128)),
    "attention_context": lambda r, x: rc.attention_context(
        x, draw_dim(r, 300, 512), int(r.integers(1, 5)), draw_dim(r, 128, 128)),
    "attention_3_regions": lambda r, x: rc.attention(
        x, draw_dim(r, 200, 400), int(r.integers(1, 5)),
        *_dims(r, 2, 128, 128), bool(r.random() < 0.3)),
    "attention_f32": lambda r, x: rc.attention_f32(
        x, draw_dim(r, 200, 512), int(r.integers(1, 5)),
        draw_dim(r, 128, 128, 4), draw_dim(r, 128, 128, 16),
        bool(r.random() < 0.3)),
    "softmax": lambda r, x: rc.softmax(x, (
        *[int(r.integers(1, 9)) for _ in range(int(r.integers(0, 3)))],
        draw_dim(r, 3000, 10000))),
    "layer_norm": lambda r, x: rc.layer_norm(
        x, int(r.integers(1, 129)), draw_dim(r, 1024, 4096)),
    "block_sparse_gelu": lambda r, x: rc.block_sparse_gelu(
        x, draw_dim(r), 32 * int(r.integers(1, 11)), 32 * int(r.integers(1, 11))),
    "block_sparse_siblings": lambda r, x: rc.block_sparse_siblings(
        x, draw_dim(r), 32 * int(r.integers(1, 11)), 32 * int(r.integers(1, 11))),
    "channel_sparse_lhs": lambda r, x: rc.channel_sparse_lhs(x, *_dims(r, 3)),
    "channel_sparse_rhs_rows": lambda r, x: rc.channel_sparse_rhs_rows(
        x, *_dims(r, 3)),
    "slab_sparse_lhs": _slabs,
    "attention_f16": _attention_f16,
    **{f: (lambda r, x, f=f: _region_f16(r, x, f)) for f in (
        "matmul_f16", "matmul_bias_gelu_f16", "transposed_lhs_f16",
        "batch_matmul_f16", "attention_scores_f16", "attention_context_f16",
        "block_sparse_gelu_f16", "block_sparse_siblings_f16")},
}


def _plan(plan):
    """`--plan` options: auto, fine, or a block shape (`32x64`)."""
    if "x" in plan:
        return ["--plan=block", f"--block-shape={plan}"]
    return [f"--plan={plan}"]


def _block(plan):
    return tuple(map(int, plan.split("x"))) if "x" in plan else None


def _families():
    """(family, module kind, tesa-compile options, generator, its keyword
    arguments, weight); kinds as suite.py's: products (lhs, rhs, acc),
    constants (the sparse operand a constant) and regions."""
    families = []
    for chip, options, plans in [
            ("sm90", SM90, ["auto", "fine", "16x16", "16x32", "32x32",
                            "32x64", "64x32", "64x64"]),
            ("sm75_ptx", SM75_PTX, ["auto", "fine", "16x16", "32x32",
                                    "64x64"])]:
        for decode in (False, True):
            for plan in plans:
                families.append((
                    f"{chip}{'_decode' if decode else ''}_"
                    f"{'block' if 'x' in plan else ''}{plan}", "products",
                    options + _plan(plan) + ([] if decode else [PER_PART]),
                    "product", dict(block=_block(plan), decode=decode), 1))
    families += [
        ("sm80_ptx_auto", "products", SM80_PTX + _plan("auto") + [PER_PART],
         "product", {}, 1),
        ("sm80_ptx_block32x64", "products",
         SM80_PTX + _plan("32x64") + [PER_PART], "product",
         dict(block=(32, 64)), 1),
        # Staged tensor-core kernels (64x64 blocks) and four column tiles a
        # warp (32x32): the suite's WIDE_LIBRARIES options.
        *[(f"sm90_wide_block{b}", "products", SM90 + _plan(b), "product",
           dict(block=_block(b), wide=True), 2) for b in ("32x32", "64x64")],
        ("sm90_wide_auto", "products", SM90 + _plan("auto") + [PER_PART],
         "product", dict(block=(64, 64), wide=True), 1),
        ("sm75_ptx_wide_block32x32", "products", SM75_PTX + _plan("32x32"),
         "product", dict(block=(32, 32), wide=True), 1),
        ("sm90_both_sparse_auto", "products",
         SM90 + _plan("auto") + [PER_PART], "product", dict(both=True), 1),
        ("sm90_decode_both_sparse_fine", "products", SM90 + _plan("fine"),
         "product", dict(both=True, decode=True), 1),
        # 2:4 f16 weights: mma.sp (sm_90 cubins, sm_80 PTX), dense blocks on
        # sm_75.
        ("sm90_structured_auto", "products",
         SM90 + _plan("auto") + [PER_PART], "two_four", {}, 1),
        ("sm90_decode_structured_auto", "products", SM90 + _plan("auto"),
         "two_four", {}, 1),
        *[(f"sm90_structured{b}", "products",
           SM90 + ["--plan=structured", f"--block-shape={b}", PER_PART],
           "two_four", dict(max_channels=700 if b == "64x64" else 300), 1)
          for b in ("16x32", "32x32", "32x64", "64x64")],
        *[(f"sm80_ptx_structured{b}", "products",
           SM80_PTX + ["--plan=structured", f"--block-shape={b}", PER_PART],
           "two_four", {}, 1) for b in ("16x32", "32x64")],
        ("sm75_ptx_structured32x64", "products",
         SM75_PTX + ["--plan=structured", "--block-shape=32x64", PER_PART],
         "two_four", {}, 1),
        # The sparse operand a constant of the module (packed at compile
        # time; smaller, as the library holds it).
        *[(f"sm90_constant_{p if 'x' not in p else 'block' + p}", "constants",
           SM90 + _plan(p) + [PER_PART], "product",
           dict(block=_block(p), large=300), 1)
          for p in ("auto", "fine", "16x16", "32x64")],
        ("sm90_constant_decode_auto", "constants", SM90 + _plan("auto"),
         "product", dict(decode=True, large=300), 1),
        ("sm75_ptx_constant_auto", "constants",
         SM75_PTX + _plan("auto") + [PER_PART], "product", dict(large=300), 1),
        ("sm90_constant_structured32x32", "constants",
         SM90 + ["--plan=structured", "--block-shape=32x32", PER_PART],
         "two_four", dict(max_channels=200), 1),
        ("sm90_constant_wide_block64x64", "constants", SM90 + _plan("64x64"),
         "product", dict(block=(64, 64), wide=True, large=300), 1),
    ]
    # Kernel regions: suite.py's `regions` options.
    families += [(name, "regions", SM90, "region", {}, 0.6)
                 for name in REGION_FAMILIES]
    return families


FAMILIES = {f[0]: f for f in _families()}


def make_case(entry):
    """The case of a manifest entry (family, seed, function), regenerated."""
    _, _, _, generator, arguments, _ = FAMILIES[entry["family"]]
    rng = np.random.default_rng(entry["seed"])
    if generator == "region":
        return REGION_FAMILIES[entry["family"]](rng, entry["function"])
    return (product_case if generator == "product" else two_four_case)(
        rng, **arguments)


def case_arguments(kind, case):
    """The arrays a case's function takes."""
    if kind == "regions":
        return case["inputs"]
    if kind == "constants":
        return [case["rhs"] if case["sparse"] == 0 else case["lhs"],
                case["acc"]]
    return [case["lhs"], case["rhs"], case["acc"]]


def describe(kind, case):
    """(shapes of the arguments, precision, digest of every input)."""
    arrays = case_arguments(kind, case)
    if kind == "regions":
        precision = "f16" if arrays[0].dtype == np.float16 else "f32"
    else:
        widths = sorted({int(w) for w in np.unique(case["mask"]) if w},
                        reverse=True)
        precision = "+".join(WIDTH_NAMES[w] for w in widths)
        arrays = [case["lhs"], case["rhs"], case["acc"], case["mask"],
                  *([case["other_mask"]] if "other_mask" in case else [])]
    digest = 0
    for a in arrays:
        digest = zlib.crc32(np.ascontiguousarray(a).tobytes(), digest)
    return [list(a.shape) for a in case_arguments(kind, case)], precision, \
        f"{digest:08x}"


# --- prepare ------------------------------------------------------------------

def draw(count, seed):
    """`count` (family, seed) pairs: every family once (while count allows),
    the rest by the families' weights."""
    rng = np.random.default_rng(seed)
    names = list(FAMILIES)
    weights = np.array([FAMILIES[n][5] for n in names], dtype=float)
    chosen = names[:count] + list(rng.choice(
        names, size=max(0, count - len(names)), p=weights / weights.sum()))
    seeds = rng.integers(0, 2**31, size=count)
    return [(str(f), int(s)) for f, s in zip(chosen, seeds)]


def library_stem(kind, options):
    """A name from the options: sm_90_block_32x64_perpart_constants."""
    words = []
    for option in options:
        key, _, value = option.lstrip("-").partition("=")
        words.append({"chip": value, "format": "ptx", "plan": value,
                      "block-shape": value, "decode-products": "perpart"}[key])
    return "_".join(words + ([] if kind == "products" else [kind]))


def module_text(kind, cases):
    if kind == "regions":
        return rc.regions_module(cases)
    return (suite.product_module if kind == "products"
            else suite.constant_module)(cases)


def compile_error(message):
    """One line of tesa-compile's failure: its first error, or the first
    frame of the project's code where it crashed."""
    lines = message.splitlines()
    for line in lines:
        if "error:" in line:
            return line.strip()
    frames = [line.strip().split(" ", 2)[-1].rsplit(" (", 1)[0].split("(")[0]
              for line in lines if line.lstrip().startswith("#")
              and "libMLIR" not in line and "libLLVM" not in line
              and "libc" not in line]
    return "tesa-compile crashed" + (f" in {' < '.join(frames[:3])}"
                                     if frames else "")


def compile_library(out, name, kind, options, cases, keep_sources):
    """Compiles `cases` into out/name.so; a case that fails to compile (the
    whole library failing, each case is tried alone) is left out (its
    source kept as out/<name>_<index>.mlir with `keep_sources`). Returns
    {case index: error} for those."""
    source = out / f"{name}.mlir"
    failed = {}
    try:
        source.write_text(module_text(kind, cases))
        suite.tesa_compile(source, out / f"{name}.so", options)
    except RuntimeError:
        for i, case in enumerate(cases):
            alone = out / f"{name}_{i}.mlir"
            alone.write_text(module_text(kind, [case]))
            try:
                suite.tesa_compile(alone, out / f"{name}_{i}.so", options)
            except RuntimeError as error:
                failed[i] = compile_error(str(error))
            for path in (out / f"{name}_{i}.so", out / f"{name}_{i}.h",
                         *([] if keep_sources and i in failed else [alone])):
                path.unlink(missing_ok=True)
        kept = [c for i, c in enumerate(cases) if i not in failed]
        if kept:
            source.write_text(module_text(kind, kept))
            suite.tesa_compile(source, out / f"{name}.so", options)
    (out / f"{name}.h").unlink(missing_ok=True)
    if not keep_sources:
        source.unlink(missing_ok=True)
    return failed


def prepare(out_dir, count=1000, seed=2026, parts=None, keep_sources=False):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if (out / "manifest.json").exists():  # an earlier sweep's libraries
        for old in [*out.glob("*.so"), *out.glob("part*/*")]:
            old.unlink()
    groups = {}
    for index, (family, case_seed) in enumerate(draw(count, seed)):
        _, kind, options, *_ = FAMILIES[family]
        entry = dict(family=family, kind=kind, options=options,
                     seed=case_seed, function=f"{family}_{index}")
        groups.setdefault((kind, tuple(options)), []).append(entry)
    jobs = []
    for (kind, options), entries in groups.items():
        for j in range(0, len(entries), LIBRARY_SIZE):
            chunk = entries[j:j + LIBRARY_SIZE]
            name = f"{library_stem(kind, options)}_{j // LIBRARY_SIZE}"
            cases = []
            for i, entry in enumerate(chunk):
                entry["library"] = name
                if kind != "regions":  # suite.py's modules name them so
                    entry["function"] = f"product{i}"
                case = make_case(entry)
                entry["shapes"], entry["precision"], entry["digest"] = \
                    describe(kind, case)
                if kind != "regions":
                    entry["density"] = round(float((case["mask"] > 0).mean()),
                                             4)
                cases.append(case)
            jobs.append((name, kind, list(options), chunk, cases))

    def build(job):
        name, kind, options, chunk, cases = job
        failed = compile_library(out, name, kind, options, cases,
                                 keep_sources)
        kept = 0
        for i, entry in enumerate(chunk):
            if i in failed:
                entry["library"], entry["error"] = None, failed[i]
            elif kind != "regions":  # renumbered in the library
                entry["function"] = f"product{kept}"
            kept += i not in failed
        print(f"{name}: {len(chunk) - len(failed)} functions"
              + (f", {len(failed)} failed to compile" if failed else ""),
              flush=True)

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(build, jobs))
    cases = [entry for job in jobs for entry in job[3]]
    return write_parts(out, cases, dict(seed=seed, configs=count), parts)


def write_parts(out, cases, header, parts):
    """manifest.json in `out`, or, past PART_BYTES of libraries or with
    `parts`, the libraries spread (by size) over out/part<i>, each with its
    manifest, and out/manifest.json naming the parts."""
    sizes = {e["library"]: (out / f"{e['library']}.so").stat().st_size
             for e in cases if e["library"]}
    total = sum(sizes.values())
    parts = parts or max(1, math.ceil(total / PART_BYTES))
    summary = dict(libraries=len(sizes), bytes=total, parts=parts)
    if parts == 1:
        (out / "manifest.json").write_text(json.dumps(
            dict(header, **summary, cases=cases), indent=1))
        return summary
    load = [0] * parts
    where = {}
    for library in sorted(sizes, key=sizes.get, reverse=True):
        where[library] = load.index(min(load))
        load[where[library]] += sizes[library]
    for p in range(parts):
        directory = out / f"part{p}"
        directory.mkdir(exist_ok=True)
        mine = [e for e in cases if where.get(e["library"], 0) == p]
        for library in {e["library"] for e in mine if e["library"]}:
            shutil.move(str(out / f"{library}.so"), directory)
        (directory / "manifest.json").write_text(json.dumps(
            dict(header, part=p, cases=mine), indent=1))
    (out / "manifest.json").write_text(json.dumps(
        dict(header, **summary, part_bytes=load,
             part_names=[f"part{p}" for p in range(parts)]), indent=1))
    return summary


def distribution(cases):
    """Counts by family, precision and chip, for prepare's report."""
    def chip(entry):
        words = library_stem(entry["kind"], entry["options"]).split("_")
        return "_".join(words[:2]) + ("_ptx" if "ptx" in words else "")
    def density(entry):
        kept = entry.get("density")
        return ("region" if kept is None else "<1%" if kept < 0.01 else
                "1-10%" if kept < 0.1 else "10-50%" if kept < 0.5 else
                "50-99%" if kept < 0.99 else ">=99%")
    return {what: dict(sorted(Counter(key(e) for e in cases).items()))
            for what, key in [("family", lambda e: e["family"]),
                              ("precision", lambda e: e["precision"]),
                              ("chip", chip), ("kind", lambda e: e["kind"]),
                              ("density", density)]}


# --- run and check --------------------------------------------------------------

def manifests(directory):
    """(directory, cases) for DIR, its parts, or each part present."""
    directory = Path(directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    if "part_names" not in manifest:
        return [(directory, manifest["cases"])]
    found = [directory / p for p in manifest["part_names"]
             if (directory / p / "manifest.json").exists()]
    return [pair for part in found for pair in manifests(part)]


def selected(cases, only):
    if not only:
        return cases
    globs = only.split(",")
    return [e for e in cases if any(
        fnmatch.fnmatch(key, g) for g in globs for key in (
            e["library"] or "", e["family"],
            f"{e['library']}/{e['function']}"))]


def _packed_host_call(function, arrays):
    """suite.py's packed path from host arrays (without torch)."""
    run = function.pack(*arrays)
    kept = [arrays[i] for i in run.kept_arguments]
    run(*kept)
    return run(*kept)


def verdict(entry, case, result):
    """(ok, detail) of one result: test_decompose_cpu.check for products,
    the case's relative bound for regions."""
    result = np.asarray(result)
    if entry["kind"] == "regions":
        reference = case["reference"]
        if result.shape != reference.shape:
            return False, f"shape {result.shape}, expected {reference.shape}"
        error = suite.relative_error(result.astype(np.float64), reference)
        return error <= case["tolerance"], (
            f"relative error {error:.2e} (bound {case['tolerance']:.1e})")
    lhs = suite.masked(case["lhs"].astype(np.float64),
                       case["mask"] if case["sparse"] == 0
                       else case.get("other_mask"))
    rhs = suite.masked(case["rhs"].astype(np.float64),
                       case["mask"] if case["sparse"] == 1
                       else case.get("other_mask"))
    error = np.abs(result.reshape(case["acc"].shape) - case["acc"]
                   - lhs @ rhs).max()
    try:
        cpu.check(case, result)
    except AssertionError as failure:
        return False, f"max error {error:.2e}: {failure}"
    return True, f"max error {error:.2e} (within the quantisation bound)"


def run_case(library, entry, paths):
    """(ok, detail) of one case over `paths`."""
    case = make_case(entry)
    if describe(entry["kind"], case)[2] != entry["digest"]:
        return False, "inputs differ from prepare's (numpy's generator?)"
    function = library.functions[entry["function"]]
    arrays = case_arguments(entry["kind"], case)
    outcomes = []
    for path in suite.paths_for(function, paths):
        try:
            result = (_packed_host_call(function, arrays)
                      if path == "packed" and "torch" not in paths
                      else suite.call(function, arrays, path))
            outcomes.append((path, *verdict(entry, case, result)))
        except Exception as error:  # a launch failure: report, go on
            outcomes.append((path, False, f"{type(error).__name__}: {error}"))
    if all(ok for _, ok, _ in outcomes):
        return True, f"{outcomes[0][2]} ({', '.join(p for p, _, _ in outcomes)})"
    return False, "; ".join(f"{p}: {d}" for p, ok, d in outcomes if not ok)


def torch_cuda():
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


def run(directory, sanitize=False, only=None):
    pairs = [(d, selected(c, only)) for d, c in manifests(directory)]
    pairs = [(d, c) for d, c in pairs if c]
    if not pairs:
        print("sweep: no case selected")
        return False
    first = next(e["library"] for _, c in pairs for e in c if e["library"])
    probe = tesa.load(pairs[0][0] / f"{first}.so")
    reason = probe.no_device_reason()
    if reason:
        print(f"no GPU: {reason}")
        return None
    paths = (["numpy"] if sanitize else
             ["numpy", "torch", "packed"] if torch_cuda() else
             ["numpy", "packed"])
    print(f"sweep on {probe.device_name()}: paths {', '.join(paths)}")
    passed = failed = 0
    for directory, cases in pairs:
        by_library = {}
        for entry in cases:
            by_library.setdefault(entry["library"], []).append(entry)
        for name, entries in by_library.items():
            library = tesa.load(directory / f"{name}.so") if name else None
            for entry in entries[:SANITIZE_CASES] if sanitize else entries:
                shapes = ",".join("x".join(map(str, s))
                                  for s in entry["shapes"])
                if library is None:
                    ok, detail = False, f"did not compile: {entry['error']}"
                else:
                    ok, detail = run_case(library, entry, paths)
                passed, failed = passed + ok, failed + (not ok)
                print(f"{'PASS' if ok else 'FAIL'} {name or '-'}/"
                      f"{entry['function']}"
                      f" [{entry['family']} {entry['precision']} {shapes}]: "
                      f"{detail}", flush=True)
    print(f"sweep: {passed} passed, {failed} failed")
    return failed == 0


def check(directory):
    """Regenerates every case: its shapes and digest must be the manifest's,
    and its arrays must fit its entry point (where the library is here)."""
    problems, total, libraries = [], 0, {}
    for directory, cases in manifests(directory):
        for entry in cases:
            total += 1
            case = make_case(entry)
            shapes, precision, digest = describe(entry["kind"], case)
            where = f"{entry['library']}/{entry['function']}"
            if [shapes, precision, digest] != [entry["shapes"],
                                               entry["precision"],
                                               entry["digest"]]:
                problems.append(f"{where}: regenerated as {shapes} "
                                f"{precision} {digest}, manifest says "
                                f"{entry['shapes']} {entry['precision']} "
                                f"{entry['digest']}")
            path = directory / f"{entry['library']}.so"
            if entry["library"] and path.exists():
                if path not in libraries:
                    libraries[path] = tesa.load(path)
                function = libraries[path].functions.get(entry["function"])
                if function is None or [list(s) for s, _ in
                                        function.arguments] != shapes:
                    problems.append(f"{where}: not the entry point's "
                                    "arguments")
    for problem in problems:
        print(problem)
    print(f"check: {total} cases regenerated, {len(libraries)} libraries "
          f"read, {len(problems)} mismatches")
    return not problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["prepare", "run", "check"])
    parser.add_argument("directory")
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--parts", type=int,
                        help="split the libraries over this many parts")
    parser.add_argument("--keep-sources", action="store_true")
    parser.add_argument("--sanitize", action="store_true",
                        help=f"numpy path, {SANITIZE_CASES} cases a library")
    parser.add_argument("--only", help="comma-separated globs over "
                        "libraries, families and library/function")
    args = parser.parse_args()
    if args.step == "prepare":
        summary = prepare(args.directory, args.configs, args.seed, args.parts,
                          args.keep_sources)
        cases = [e for _, c in manifests(args.directory) for e in c]
        print(json.dumps(dict(summary, failed_to_compile=sum(
            not e["library"] for e in cases), **distribution(cases)),
            indent=1))
        return 0
    if args.step == "check":
        return 0 if check(args.directory) else 1
    ok = run(args.directory, args.sanitize, args.only)
    return 0 if ok in (True, None) else 1


if __name__ == "__main__":
    sys.exit(main())
