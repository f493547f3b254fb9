"""Genome-timesteps per second of the lrnn family's population forward, against its own
array form (NumPy batched over the population) and against Elman of the same H, measured
in the same run.

    python -m benchmarks.lrnn [--repeats 3] [--dtype float32]

Workload: P = 512 genomes, I = 4, H = 32, O = 2, B = 16 sequences, T = 200 steps (the
workload of benchmarks.forward); synapse filter orders (zeros, poles) = (2, 2), (4, 0) and
(1, 4).
"""
from __future__ import annotations

import argparse

import numpy as np

import evornn
from evornn.arrays import population_forward_array

from .forward import B, I, O, P, T, timed

H = 32
ORDERS = ((2, 2), (4, 0), (1, 4))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", default="float32")
    args = ap.parse_args()
    X = np.random.default_rng(0).uniform(-1, 1, (B, T, I)).astype(args.dtype)
    rate = P * B * T / 1e6
    print(f"P={P} B={B} T={T} I={I} H={H} O={O} {args.dtype}; millions of genome-timesteps/s")
    elman = evornn.Network("elman", I, H, O, seed=1)
    G = (elman.genome + 0.3 * np.random.default_rng(1).standard_normal((P, elman.n_params)))
    G = G.astype(args.dtype)
    evornn.population_forward(elman, G[:2], X)
    t_ref, _ = timed(lambda: evornn.population_forward(elman, G, X), args.repeats)
    print(f"{'elman (reference)':18} {rate / t_ref:8.2f}")
    print(f"{'lrnn zeros,poles':18} {'evornn':>8} {'numpy':>8} {'x numpy':>8} {'x elman':>8} "
          f"{'max|diff|':>10}")
    for nb, na in ORDERS:
        net = evornn.Network("lrnn", I, H, O, zeros=nb, poles=na, seed=1)
        lo, hi = net.bounds()
        G = np.clip(net.genome + 0.3 * np.random.default_rng(1).standard_normal((P, net.n_params)),
                    lo, hi).astype(args.dtype)
        evornn.population_forward(net, G[:2], X)                        # compile
        t_e, Y = timed(lambda: evornn.population_forward(net, G, X), args.repeats)
        t_n, Yn = timed(lambda: population_forward_array(net, G, X), args.repeats)
        print(f"{f'{nb},{na}':18} {rate / t_e:8.2f} {rate / t_n:8.2f} {t_n / t_e:7.2f}x "
              f"{t_ref / t_e:7.2f}x {float(np.abs(Y - Yn).max()):10.1e}")


if __name__ == "__main__":
    main()
