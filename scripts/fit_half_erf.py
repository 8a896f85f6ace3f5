#!/usr/bin/env python3
"""Fits the polynomial of tesa's expanded 16-bit erf (HalfErfPolynomials).

    .venv/bin/python scripts/fit_half_erf.py [--degree 10]

erf(t) = t + t * Q(t^2) on [0, clamp], Q fitted to near-minimax relative
error by Chebyshev least squares with reweighting, its coefficients rounded
to f32; then, where some f16 or bf16 value below the clamp still rounds
wrong, the coefficients are nudged by a few f32 ulps (a seeded search)
until none does. The check here emulates the f32 fused multiply-adds in
float64; test/Unit/HalfFloatMathTest.cpp checks the coefficients in C++
with std::fma over every value of both formats. Prints the coefficients,
lowest degree first, as C++ hex float literals.
"""
import argparse
import math
import re

import numpy as np
from numpy.polynomial import chebyshev

CLAMP = float.fromhex("0x1.4ccp+1")  # the f16 value 2.6: erf rounds to 1


def f32(values):
    return np.asarray(values, dtype=np.float32)


def to_bfloat16(values):
    bits = f32(values).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return rounded.astype(np.uint32).view(np.float32)


def evaluate(coefficients, t):
    """fma(t, Q(t * t), t) as f32 operations (products exact in float64)."""
    t = f32(t).astype(np.float64)
    square = f32(t * t).astype(np.float64)
    q = np.full(square.shape, coefficients[-1], dtype=np.float32)
    for c in coefficients[-2::-1]:
        q = f32(q.astype(np.float64) * square + float(c))
    return f32(t * q.astype(np.float64) + t)


def exact_bfloat16(values):
    """float64 values rounded to bf16 (8 significant bits, ties to even)."""
    exponent = np.maximum(np.floor(np.log2(np.maximum(values, 1e-300))),
                          -126)
    step = np.exp2(exponent - 7)
    return f32(np.round(values / step) * step)


def formats():
    """Every non-negative value of f16 and of bf16 below the clamp, with
    its correctly rounded erf (from float64) and the rounding of an f32 to
    the format."""
    half = np.arange(0, 0x7C00, dtype=np.uint16).view(np.float16)
    bfloat = (np.arange(0, 0x7F80, dtype=np.uint32) << 16).view(np.float32)
    for values, exact, rounding in (
            (half.astype(np.float64), lambda v: v.astype(np.float16),
             lambda v: f32(v).astype(np.float16)),
            (bfloat.astype(np.float64), exact_bfloat16, to_bfloat16)):
        values = values[values < CLAMP]
        yield values, exact(np.array([math.erf(v) for v in values])), \
            rounding


def misses(coefficients, checks):
    return sum(int(np.sum(rounding(evaluate(coefficients, values)) != want))
               for values, want, rounding in checks)


def fit(degree):
    """Q's monomial coefficients (float64) for erf(t)/t - 1 in s = t^2."""
    t = np.linspace(1e-5, CLAMP, 40000)
    s, smax = t * t, CLAMP * CLAMP
    ratio = np.array([math.erf(v) for v in t]) / t
    u = 2 * s / smax - 1
    weights = np.ones_like(s)
    for _ in range(200):
        fitted = chebyshev.chebfit(u, ratio - 1, degree, w=weights / ratio)
        error = (chebyshev.chebval(u, fitted) - (ratio - 1)) / ratio
        weights *= np.sqrt(1 + np.abs(error) / np.abs(error).max())
        weights /= weights.max()
    # From u = 2 s / smax - 1 to s.
    in_u = chebyshev.cheb2poly(fitted)
    scale, shift = 2 / smax, -1.0
    in_s = np.zeros(degree + 1)
    for k, ck in enumerate(in_u):
        in_s[:k + 1] += ck * np.array([math.comb(k, j) * scale**j *
                                       shift**(k - j) for j in range(k + 1)])
    return in_s


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--degree", type=int, default=10)
    parser.add_argument("--trials", type=int, default=3000)
    args = parser.parse_args()
    checks = list(formats())
    base = f32(fit(args.degree))
    rng = np.random.default_rng(1)
    coefficients = base
    for trial in range(args.trials + 1):
        if misses(coefficients, checks) == 0:
            print(f"degree {args.degree}, found at trial {trial}:")
            print(", ".join(re.sub(r"0+p", "p", float(c).hex()) + "f"
                            for c in coefficients))
            return 0
        nudge = rng.integers(-3, 4, size=base.shape).astype(np.int32)
        nudge *= rng.random(base.shape) < 0.5
        coefficients = (base.view(np.int32) + nudge).view(np.float32)
    print(f"no coefficients of degree {args.degree} found")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
