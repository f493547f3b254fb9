"""Genome-timesteps per second of newer families' population forward, as ratios against an
Elman network measured in the same run (the same H, and about the same weight count), and
against the family's own array form (NumPy batched over the population).

    python -m benchmarks.families [--archs hrnn] [--repeats 3] [--dtypes float32,float64]

Workload (benchmarks/forward.py's): P = 512 genomes, I = 4, H = 32, O = 2, B = 16
sequences, T = 200 steps. hrnn: 4 modules of 8 units, periods 1, 2, 4, 8; rmlp: two
layers of 16.
"""
from __future__ import annotations

import argparse

import numpy as np

import evornn
from evornn.arrays import population_forward_array

from .forward import B, I, O, P, T, timed

H = 32
OPTIONS = {"hrnn": {}, "rmlp": {"layers": (16, 16)}}


def elman_like(n_params: int) -> int:
    """The Elman hidden size whose weight count is nearest n_params (I inputs, O outputs)."""
    sizes = np.arange(1, 4 * H)
    count = (I + sizes + 1) * sizes + (sizes + 1) * O
    return int(sizes[np.argmin(np.abs(count - n_params))])


def rate(net, X, repeats, array=False) -> tuple[float, np.ndarray]:
    """M genome-timesteps/s of net's population forward (numba, or its NumPy array form)."""
    G = net.genome + 0.3 * np.random.default_rng(1).standard_normal((P, net.n_params))
    G = G.astype(X.dtype)
    run = (lambda: population_forward_array(net, G, X)) if array \
        else (lambda: evornn.population_forward(net, G, X))
    evornn.population_forward(net, G[:2], X[:, :2])                    # compile
    t, Y = timed(run, repeats)
    return P * B * T / 1e6 / t, Y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archs", default=",".join(OPTIONS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtypes", default="float32,float64")
    args = ap.parse_args()
    from evornn.threads import threads
    print(f"P={P} I={I} H={H} O={O} B={B} T={T}; {threads()} worker threads; "
          f"M genome-timesteps/s (median of {args.repeats})")
    print(f"{'arch':6} {'dtype':8} {'weights':>7} {'evornn':>8} {'elman32':>8} {'x elman':>8} "
          f"{'elmanN':>9} {'x elmanN':>8} {'numpy':>8} {'x numpy':>8}")
    for dname in args.dtypes.split(","):
        X = np.random.default_rng(0).standard_normal((B, T, I)).astype(dname)
        ref = evornn.Network("elman", I, H, O, seed=1)
        r_ref, _ = rate(ref, X, args.repeats)
        for arch in args.archs.split(","):
            net = evornn.Network(arch, I, H, O, seed=1, **OPTIONS[arch])
            Hn = elman_like(net.n_params)
            r_eq, _ = rate(evornn.Network("elman", I, Hn, O, seed=1), X, args.repeats)
            r, _ = rate(net, X, args.repeats)
            r_np, _ = rate(net, X, max(1, args.repeats // 2), array=True)
            print(f"{arch:6} {dname:8} {net.n_params:7d} {r:8.2f} {r_ref:8.2f} {r / r_ref:7.2f}x "
                  f"{r_eq:9.2f} {r / r_eq:7.2f}x {r_np:8.2f} {r / r_np:7.2f}x  (elmanN: H={Hn})",
                  flush=True)


if __name__ == "__main__":
    main()
