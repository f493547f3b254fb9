"""Milliseconds of one ask + tell of each optimizer on the CPU (the optimizer's own cost, no
evaluation: the fitness is the sphere's).

    python -m benchmarks.ask_tell [--optimizers snes,xnes,es] [--dim 1000] [--popsize 100]

Median and minimum of --repeats generations after a warm-up one (xnes: an eigendecomposition
of D x D a generation, so few repeats do).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import evornn


def ask_tell_ms(name: str, dim: int, popsize: int, repeats: int, seed: int = 0) -> tuple[float, float]:
    """(median, min) milliseconds of ask + tell of optimizer name."""
    opt = evornn.optimizer(name, dim, seed=seed, popsize=popsize)
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        X = opt.ask()
        opt.tell(X, -(X * X).sum(1))
        times.append(time.perf_counter() - t0)
    times = np.array(times[1:]) * 1e3
    return float(np.median(times)), float(times.min())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--optimizers", default="snes,xnes,es")
    ap.add_argument("--dim", type=int, default=1000)
    ap.add_argument("--popsize", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()
    print(f"D={args.dim} P={args.popsize}; ms an ask + tell, median / min")
    for name in args.optimizers.split(","):
        reps = min(args.repeats, 5) if name == "xnes" else args.repeats
        med, low = ask_tell_ms(name, args.dim, args.popsize, reps)
        print(f"{name:6} {med:10.3f} {low:10.3f}", flush=True)


if __name__ == "__main__":
    main()
