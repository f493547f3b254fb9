"""Genome-timesteps per second of the seq2seq family's population forward, against its own
array form (NumPy batched over the population, the way a vectorizing peer runs it),
measured in the same run.

    python -m benchmarks.seq2seq [--repeats 3] [--dtype float32]

Workload: P = 512 genomes, GRU encoder and decoder of H = 32, reverse-seq's sizes (8
symbols, I = 11 with the phase flag, O = 8), B = 16 sequences of a 20-symbol source and
21 decoder steps (T = 41); attention none, bahdanau and luong.
"""
from __future__ import annotations

import argparse

import numpy as np

import evornn
from evornn.arrays import population_forward_array

from .forward import timed

P, H, I, O, B, N = 512, 32, 11, 8, 16, 20


def inputs(dtype) -> np.ndarray:
    """[B, T, I]: random one-hot source symbols, then decoder steps with the flag set."""
    rng = np.random.default_rng(0)
    X = np.zeros((B, 2 * N + 1, I), dtype)
    for b in range(B):
        X[b, np.arange(N), rng.integers(0, 8, N)] = 1
        X[b, N:, 8] = 1                                     # start / previous-symbol channel
        X[b, N:, I - 1] = 1                                 # the phase flag
    return X


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", default="float32")
    args = ap.parse_args()
    X = inputs(args.dtype)
    print(f"P={P} B={B} T={X.shape[1]} H={H} {args.dtype}; millions of genome-timesteps/s")
    print(f"{'attention':10} {'evornn':>8} {'numpy':>8} {'x numpy':>8} {'max|diff|':>10}")
    for att in ("none", "bahdanau", "luong"):
        net = evornn.Network("seq2seq", I, H, O, attention=att, max_source=N, seed=1)
        G = (net.genome + 0.3 * np.random.default_rng(1).standard_normal((P, net.n_params)))
        G = G.astype(args.dtype)
        evornn.population_forward(net, G[:2], X)                        # compile
        t_e, Y = timed(lambda: evornn.population_forward(net, G, X), args.repeats)
        t_n, Yn = timed(lambda: population_forward_array(net, G, X), args.repeats)
        rate = P * B * X.shape[1] / 1e6
        print(f"{att:10} {rate / t_e:8.2f} {rate / t_n:8.2f} {t_n / t_e:7.2f}x "
              f"{float(np.abs(Y - Yn).max()):10.1e}")


if __name__ == "__main__":
    main()
