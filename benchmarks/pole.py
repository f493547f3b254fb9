"""Evaluations to solve double pole balancing under the literature's protocol.

    python benchmarks/pole.py [--optimizers cosyne,cmaes,xnes] [--seeds 20] [--markov]

DPNV (default): damping fitness over 1,000 steps; each generation's champion must then
balance 100,000 steps from the standard start and 1,000 steps from at least 200 of the
625 grid starts (tests not counted as evaluations). --markov: velocities given, solved
at 100,000 steps balanced. A run fails at --max-evals (40,000). Network: 5 fully
recurrent sigmoid neurons (45 weights DPNV, 60 Markovian). Published and peer figures
are in ANCHORS.md section 1 (DPNV mean: CoSyNE 3,416; EvoTorch XNES 1,978 measured here).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import evornn  # noqa: E402
from problems import pole  # noqa: E402


def solve(name, seed, markov, max_evals, popsize, sigma0, options):
    net = pole.network(markov)
    opt = evornn.optimizer(name, net.n_params, seed=seed, popsize=popsize, sigma0=sigma0,
                           **options)
    steps = pole.MARKOV_STEPS if markov else pole.DPNV_STEPS
    while opt.evaluations < max_evals:
        G = opt.ask()
        f = pole.evaluate(net, G, markov, steps, damping=not markov)
        opt.tell(G, f)
        i = int(np.argmax(np.where(np.isfinite(f), f, -np.inf)))
        if markov:
            if f[i] >= pole.MARKOV_STEPS:
                return opt.evaluations, None
        else:
            passed, good = pole.champion_test(net, G[i])
            if passed:
                return opt.evaluations, good
    return None, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--optimizers", default="cosyne,cmaes,xnes")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--markov", action="store_true")
    ap.add_argument("--max-evals", type=int, default=40_000)
    ap.add_argument("--popsize", type=int, default=None)
    ap.add_argument("--sigma0", type=float, default=1.0)
    args = ap.parse_args()
    task = "Markovian double pole" if args.markov else "DPNV (damping fitness, champion tests)"
    print(f"{task}; {args.seeds} seeds; failure at {args.max_evals} evaluations")
    print(f"{'optimizer':9} {'solved':>7} {'mean':>8} {'median':>8} {'gen. starts':>11} {'wall s':>7}")
    for name in args.optimizers.split(","):
        evals, goods, walls = [], [], []
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            e, good = solve(name, seed, args.markov, args.max_evals, args.popsize, args.sigma0, {})
            walls.append(time.perf_counter() - t0)
            if e is not None:
                evals.append(e)
                goods.append(good if good is not None else np.nan)
        ev = np.array(evals, float)
        print(f"{name:9} {len(ev):3d}/{args.seeds:<3d} {np.mean(ev) if len(ev) else np.nan:8.0f} "
              f"{np.median(ev) if len(ev) else np.nan:8.0f} "
              f"{np.nanmean(goods) if goods else np.nan:11.0f} {np.median(walls):7.2f}",
              flush=True)


if __name__ == "__main__":
    main()
