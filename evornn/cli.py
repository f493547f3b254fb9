"""Command line: ``python -m evornn demo`` (``run`` and the rest come with the run loop)."""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def demo(args) -> int:
    """Build every architecture, run a population through it, and say how fast it was."""
    import evornn
    from evornn.threads import threads
    P, B, T, I, O = args.popsize, 16, 200, 4, 2
    print(f"evornn {evornn.__version__}: population forward passes, P={P} genomes x B={B} "
          f"sequences x T={T} steps, {threads()} threads, float32")
    print(f"{'architecture':14} {'genes':>6} {'first call s':>12} {'M genome-steps/s':>17}  output range")
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((B, T, I)).astype(np.float32)
    for arch in evornn.architectures():
        net = evornn.Network(arch, I, args.hidden, O, seed=args.seed)
        G = net.genome + 0.1 * rng.standard_normal((P, net.n_params))
        lo, hi = net.bounds()
        G = np.clip(G, lo, hi)
        t0 = time.perf_counter()
        evornn.population_forward(net, G[:1], X[:, :1])
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        Y = evornn.population_forward(net, G, X)
        rate = P * B * T / (time.perf_counter() - t0) / 1e6
        print(f"{arch:14} {net.n_params:6d} {first:12.2f} {rate:17.2f}  [{Y.min():+.3f}, {Y.max():+.3f}]")
    print("first call includes numba compilation (cached on disk for later runs). "
          "Evolution runs (python -m evornn run PROBLEM) are not built yet.")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evornn", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="forward passes of every architecture, with timings")
    d.add_argument("--popsize", type=int, default=256)
    d.add_argument("--hidden", type=int, default=16)
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=demo)
    args = ap.parse_args(argv)
    if getattr(args, "popsize", 1) < 1 or getattr(args, "hidden", 1) < 1:
        print("error: --popsize and --hidden must be positive integers", file=sys.stderr)
        return 2
    return args.func(args)
