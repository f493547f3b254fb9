"""Genome-trees per second of the recursive family's population forward, against its own
array form (NumPy batched over the population) and its torch twin (one genome a forward
pass, as gradient training runs it), measured in the same run.

    python -m benchmarks.recursive [--repeats 3] [--dtype float32] [--twins 16]

Workload: P = 512 genomes, H = 32, tree-eval's sizes (12 symbols and the reduce flag,
I = 13, O = 10), B = 16 expressions of depth 4 from the problem's generator, padded to the
longest post-order sequence; cells plain and treelstm. The twin runs the first ``--twins``
genomes (torch's float64 parameters, inputs in the chosen dtype cast up) and its rate is
per genome-tree as the others'.
"""
from __future__ import annotations

import argparse

import numpy as np

import evornn
from evornn.arrays import population_forward_array
from evornn.problems import tree_eval as te
from evornn.threads import threads

from .forward import timed

P, H, B, DEPTH = 512, 32, 16, 4


def inputs(dtype) -> np.ndarray:
    """[B, T, 13]: B expressions of depth DEPTH as post-order sequences."""
    rng = np.random.default_rng(0)
    X, _ = te.encode_exprs([te.draw(DEPTH, rng) for _ in range(B)], DEPTH + 1, False)
    return X.astype(dtype)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--twins", type=int, default=16)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(threads())            # as many as the kernels get (EVORNN_THREADS)
    X = inputs(args.dtype)
    Xt = torch.from_numpy(X.astype(np.float64))
    print(f"P={P} B={B} T={X.shape[1]} H={H} {args.dtype}, {threads()} thread(s); thousands of "
          f"genome-trees/s (twin: {args.twins} genomes, one at a time)")
    print(f"{'cell':9} {'evornn':>8} {'numpy':>8} {'torch':>8} {'x numpy':>8} {'x torch':>8} "
          f"{'max|diff|':>10}")
    for cell in ("plain", "treelstm"):
        net = evornn.Network("recursive", X.shape[2], H, te.MOD, cell=cell, stack=DEPTH + 1, seed=1)
        G = (net.genome + 0.3 * np.random.default_rng(1).standard_normal((P, net.n_params)))
        G = G.astype(args.dtype)
        evornn.population_forward(net, G[:2], X)                        # compile
        t_e, Y = timed(lambda: evornn.population_forward(net, G, X), args.repeats)
        t_n, Yn = timed(lambda: population_forward_array(net, G, X), args.repeats)
        mods = []
        for g in G[:args.twins]:
            net.genome = g.astype(np.float64)
            mods.append(net.to_torch())

        def twins():
            with torch.no_grad():
                return [m(Xt) for m in mods]
        t_t, _ = timed(twins, args.repeats)
        t_t *= P / args.twins
        rate = P * B / 1e3
        print(f"{cell:9} {rate / t_e:8.2f} {rate / t_n:8.2f} {rate / t_t:8.3f} {t_n / t_e:7.2f}x "
              f"{t_t / t_e:7.1f}x {float(np.abs(Y - Yn).max()):10.1e}")


if __name__ == "__main__":
    main()
