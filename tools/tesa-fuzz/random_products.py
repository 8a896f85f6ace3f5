"""Random sparse products through decomposition and the CPU pipeline,
checked against float64: the structure-aware side of fuzzing
(docs/fuzzing.md).

    .venv/bin/python tools/tesa-fuzz/random_products.py --seconds 600
    .venv/bin/python tools/tesa-fuzz/random_products.py --rounds 3 --seed 7

Each round draws a seed, a plan (mode, block shape, chip), whether
propagation runs first, and eight random products from the CPU tests'
generators (python/tests/test_decompose_cpu.py: masks of blocks and
scattered elements at 32, 16, 8 and 4 bits, 2:4 f16 weights with broken
groups and outliers, a second sparse operand, shapes that are multiples of
no tile). The module goes through `--tesa-decompose`,
`--tesa-check-decomposition` (every decomposed product must be an exact
cover) and `--tesa-cpu-pipeline`, runs under mlir-runner, and every result
must lie within the quantisation bound of the float64 product. A failing
round's module, plan and error are written to OUT (default
build-fuzz/findings/products/); the exit status is 1 if any round failed.
"""

import argparse
import sys
import time
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python" / "tests"))

import test_decompose_cpu as products  # noqa: E402

PLANS = ["plan=auto", "plan=fine", "plan=block block-shape=16x16",
         "plan=block block-shape=32x32", "plan=block block-shape=64x64",
         "plan=structured block-shape=16x32", "plan=structured block-shape=32x64"]
CHIPS = ["sm_75", "sm_80", "sm_90", "gfx906"]
CASES_PER_ROUND = 8


def draw_round(seed):
    """The plan, the options before decomposition and the cases of a round."""
    rng = np.random.default_rng(seed)
    plan = f"{rng.choice(PLANS)} chip={rng.choice(CHIPS)}"
    before = ("--tesa-propagate",) if rng.random() < 0.5 else ()
    cases = []
    for _ in range(CASES_PER_ROUND):
        kind = rng.integers(0, 3)
        if kind == 0:
            case = products.random_case(rng)
        elif kind == 1:
            case = products.random_two_four_case(rng)
        else:
            case = products.random_case(rng)
            other = case["rhs" if case["sparse"] == 0 else "lhs"].shape
            case["other_mask"] = np.where(rng.random(other) < 0.6, 32,
                                          0).astype(np.int8)
        cases.append(case)
    return plan, before, cases


def run_round(seed):
    """None, or why the round of `seed` failed."""
    plan, before, cases = draw_round(seed)
    body = "".join(products.case_ir(i, c) for i, c in enumerate(cases))
    try:
        results, covers = products.run_module(body, len(cases), plan,
                                              before=before)
        decomposed = sum(1 for c in cases if (c["mask"] > 0).any()
                         and not (c["mask"] == 32).all())
        assert covers >= decomposed, (
            f"{covers} exact covers for {decomposed} decomposed products")
        for index, (case, result) in enumerate(zip(cases, results)):
            try:
                products.check(case, result)
            except AssertionError as error:
                raise AssertionError(f"product{index}: {error}") from None
    except AssertionError:
        return plan, before, body, traceback.format_exc(limit=2)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    limit = parser.add_mutually_exclusive_group()
    limit.add_argument("--seconds", type=float, help="run rounds this long")
    limit.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=int(time.time()),
                        help="the first round's seed (then seed+1, ...)")
    parser.add_argument("--out", default=str(ROOT / "build-fuzz" / "findings"
                                             / "products"))
    args = parser.parse_args()
    start, rounds, failures = time.time(), 0, 0
    while (time.time() - start < args.seconds if args.seconds
           else rounds < args.rounds):
        seed = args.seed + rounds
        failure = run_round(seed)
        rounds += 1
        if failure:
            failures += 1
            plan, before, body, error = failure
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"round-{seed}.mlir").write_text(
                f"// plan: {plan}; before: {' '.join(before) or '-'}\n"
                + "".join(f"// {line}\n" for line in error.splitlines())
                + body)
            print(f"round {seed} ({plan}) FAILED: {error.splitlines()[-1]}",
                  flush=True)
    print(f"random_products: {rounds} rounds ({rounds * CASES_PER_ROUND} "
          f"products) from seed {args.seed} in {time.time() - start:.0f} s, "
          f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
