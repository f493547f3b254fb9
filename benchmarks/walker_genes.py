"""Walker: raw genes against unit genes (+-16, tau in [0.5, 10]) and a center-crossing start.

Each variant runs what ``python -m evornn run walker --seed S`` runs (xNES, the walker's
popsize, the generation champion's success test) with the problem's fields replaced,
and prints the evaluations to the solved threshold per seed.

    python -m benchmarks.walker_genes --seeds 1,2,3
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from evornn.problems import _leg, walker
from evornn.run import problem_optimizer

UNIT = {"dt": _leg.DT, "genes": "unit"}


def beer_random(net, seed: int, crossing: bool) -> np.ndarray:
    """A start as in Beer's GA: every unit gene uniform in [-1, 1] (weights over the whole
    +-16), biases optionally made center-crossing (clipped into range)."""
    from evornn.crossing import center_crossing_layers
    g = np.random.default_rng([seed, 99]).uniform(-1, 1, net.n_params)
    return center_crossing_layers(net.layers, g, clip=True) if crossing else g


# name -> (changes to the walker Problem, sigma0[, start genome (net, seed) -> x0])
VARIANTS = {
    "raw, center, sigma0 4 (before)": ({}, 4.0),
    "raw, center-crossing init": ({"arch_options": {"dt": _leg.DT, "init": "center-crossing"},
                                   "x0": "init"}, 4.0),
    "unit, center, sigma0 0.25": ({"arch_options": {"dt": _leg.DT, "genes": "unit"}}, 0.25),
    "unit, center, sigma0 0.5": ({"arch_options": {"dt": _leg.DT, "genes": "unit"}}, 0.5),
    "unit, center-crossing init, sigma0 0.25": (
        {"arch_options": {"dt": _leg.DT, "genes": "unit", "init": "center-crossing"},
         "x0": "init"}, 0.25),
    "unit, center-crossing init, sigma0 0.5": (
        {"arch_options": {"dt": _leg.DT, "genes": "unit", "init": "center-crossing"},
         "x0": "init"}, 0.5),
    "unit, random genes in [-1, 1], sigma0 0.25": (
        {"arch_options": UNIT}, 0.25, lambda net, seed: beer_random(net, seed, False)),
    "unit, random weights + center-crossing, sigma0 0.25": (
        {"arch_options": UNIT}, 0.25, lambda net, seed: beer_random(net, seed, True)),
}


def solve(prob, sigma0: float, seed: int, budget: int, start=None,
          velocity: float | None = None) -> tuple[int | None, float]:
    """(evaluations when the champion first passes the success test, or reaches
    ``velocity`` when given, or None; best velocity)."""
    net = prob.network(seed=seed)
    x0 = None if start is None else start(net, seed)
    opt = problem_optimizer(prob, net, prob.optimizer, seed, prob.popsize, sigma0, x0)
    best = -np.inf
    while opt.evaluations < budget and not opt.stop():
        G = opt.ask()
        f = np.asarray(prob.evaluate(net, G, (seed, opt.generation)), dtype=np.float64)
        opt.tell(G, f)
        i = int(np.nanargmax(f))
        best = max(best, f[i])
        ok = f[i] >= velocity * _leg.DURATION if velocity else prob.solved(net, G[i], float(f[i]))[0]
        if ok:
            return opt.evaluations, best / _leg.DURATION
    return None, best / _leg.DURATION


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--budget", type=int, default=20_000)
    ap.add_argument("--variants", default="", help="comma-separated indices into VARIANTS")
    ap.add_argument("--velocity", type=float, default=None,
                    help="count evaluations to this average velocity instead of the success test")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    names = list(VARIANTS)
    if a.variants:
        names = [names[int(i)] for i in a.variants.split(",")]
    for name in names:
        changes, sigma0, *start = VARIANTS[name]
        prob = dataclasses.replace(walker.PROBLEM, **changes)
        t0 = time.perf_counter()
        res = [solve(prob, sigma0, s, a.budget, *start, velocity=a.velocity) for s in seeds]
        evals = [e for e, _ in res]
        done = [e for e in evals if e is not None]
        print(f"{name:52} solved {len(done)}/{len(seeds)}  evaluations {evals}  "
              f"mean {np.mean(done) if done else float('nan'):.0f}  median "
              f"{np.median(done) if done else float('nan'):.0f}  velocities "
              f"{[round(float(v), 4) for _, v in res]}  ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
