"""Novelty search against the fitness objective on a deceptive task: how many seeds reach
the goal of the `maze` problem within the same evaluation budget.

python -m benchmarks.deceptive [--seeds 10] [--budget 20000] [--methods xnes,ga,novelty,...]

Each method runs from the problem's own network and start (x0, sigma0, popsize 50 for the
generational methods, 20 for xnes as the problem's default). Methods: ``xnes`` (the
problem's default optimizer), ``ga`` (fitness alone), ``novelty`` (pure novelty search,
final position as the behaviour), ``novelty-fitness`` (the same search selecting on the
fitness alone: fitness_weight=1). A run succeeds when any genome it evaluates reaches the
goal; the table gives the successes out of the seeds and the median evaluations to the
goal among those that got there.
"""
from __future__ import annotations

import argparse
import os
import time

# one BLAS thread: xNES's eigendecompositions (92 genes) ran 10x slower with a thread pool on
# the shared 2-core machine
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

import evornn  # noqa: E402
from evornn.problem import get_problem  # noqa: E402
from evornn.run import problem_optimizer  # noqa: E402

METHODS = {"xnes": ("xnes", None, {}), "ga": ("ga", 50, {}), "novelty": ("novelty", 50, {}),
           "novelty-fitness": ("novelty", 50, {"fitness_weight": 1.0})}


def one_run(problem: str, method: str, seed: int, budget: int) -> tuple[int | None, float]:
    """Evaluations until a genome reached the goal (None: not within budget), and the best
    fitness met."""
    prob = get_problem(problem)
    net = prob.network(seed=seed)
    name, popsize, options = METHODS[method]
    opt = problem_optimizer(prob, net, name, seed, popsize=popsize, options=options)
    qd = evornn.optim.needs_measures(name)
    evals, best = 0, -np.inf
    gen = 0
    while evals < budget and not opt.stop():
        G = opt.ask()
        if qd:
            f, values = prob.evaluate(net, G, (seed, gen), measures=True)
            opt.tell(G, f, values)
        else:
            f = prob.evaluate(net, G, (seed, gen))
            opt.tell(G, f)
        gen += 1
        hits = np.flatnonzero(np.array([prob.solved(net, g, fi)[0] for g, fi in zip(G, f)])
                              if np.nanmax(f) >= -10.0 else [])
        best = max(best, float(np.nanmax(f)))
        if hits.size:
            return evals + int(hits[0]) + 1, best
        evals += len(G)
    return None, best


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", default="maze")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--budget", type=int, default=20_000)
    ap.add_argument("--methods", default=",".join(METHODS))
    a = ap.parse_args(argv)
    print(f"{a.problem}: seeds {a.first_seed}..{a.first_seed + a.seeds - 1}, {a.budget} evaluations")
    print("| method | reached the goal | median evaluations to the goal | best fitness (median) | time |")
    print("|---|---|---|---|---|")
    for m in a.methods.split(","):
        t = time.perf_counter()
        seeds = range(a.first_seed, a.first_seed + a.seeds)
        res = [one_run(a.problem, m, s, a.budget) for s in seeds]
        hit = [e for e, _ in res if e is not None]
        won = ", ".join(str(s) for s, (e, _) in zip(seeds, res) if e is not None) or "none"
        med = f"{int(np.median(hit)):,}" if hit else "-"
        print(f"| {m} | {len(hit)} / {a.seeds} (seeds {won}) | {med} | "
              f"{np.median([b for _, b in res]):.1f} | {time.perf_counter() - t:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
