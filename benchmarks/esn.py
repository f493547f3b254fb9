"""Genome-timesteps per second of the esn family's population forward pass.

    python -m benchmarks.esn [--hidden 100,400,1000] [--density 0.1] [--repeats 3]

Workload: a 1-input esn (readout linear, 1 output), P = 8 genomes, B = 1 sequence,
T = 3,000 steps, float64 (the time-series problems' shape). Prints the best of the
repeats after one warm-up call (compilation kept apart), per CPU-second of the process
(all its threads): on a machine shared with other jobs, wall time varies 2x between runs.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import evornn

P, B, T = 8, 1, 3_000


def rate(H: int, density: float, dtype, repeats: int) -> float:
    """Genome-timesteps per CPU-second (best of repeats) for one reservoir size."""
    net = evornn.Network("esn", 1, H, 1, seed=0, density=density)
    G = np.random.default_rng(0).normal(0, 0.1, (P, net.n_params))
    X = np.random.default_rng(1).uniform(-1, 1, (B, T, 1)).astype(dtype)
    evornn.population_forward(net, G, X[:, :10])
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        evornn.population_forward(net, G, X)
        best = min(best, time.process_time() - t0)
    return P * T / best


def main() -> None:
    """Print genome-timesteps/s for each reservoir size."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", default="100,400,1000")
    ap.add_argument("--density", type=float, default=0.1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    a = ap.parse_args()
    for H in map(int, a.hidden.split(",")):
        r = rate(H, a.density, np.dtype(a.dtype), a.repeats)
        print(f"esn H={H:5d} density={a.density:g} {a.dtype}: {r / 1e3:9.1f} k genome-steps per CPU-s")


if __name__ == "__main__":
    main()
