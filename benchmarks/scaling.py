"""Evaluations/s and per-generation overhead: threads vs Ray actors, small and large populations.

    python -m benchmarks.scaling [--problems dpnv,parity] [--popsizes 16,1024] [--generations 20]

For each problem and population size: random genomes (the problem's network, N(0, 2^2)),
evaluated for --generations generations (seeds (0, g)) by the threads backend with 1 and
all threads, and by Ray with 1 and 2 actors of one numba thread each, after one warm-up
generation each (kernels compiled, actors started). The Ray overhead is a generation's
time on 2 actors minus on threads with all cores; the speedup is 1 actor's time over 2
actors'.
Every backend's fitness is checked equal to the threads backend's.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from evornn.backends import RayEvaluator
from evornn.problem import get_problem
from evornn.threads import set_threads, threads


def per_generation(evaluate, G, generations: int) -> tuple[float, np.ndarray]:
    """Median seconds a generation, after a warm-up, and the last fitness."""
    f = evaluate(G, (0, 0))
    times = []
    for g in range(generations):
        t0 = time.perf_counter()
        f = evaluate(G, (0, g))
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), f


def main() -> None:
    import ray
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", default="dpnv,parity")
    ap.add_argument("--popsizes", default="16,1024")
    ap.add_argument("--generations", type=int, default=20)
    args = ap.parse_args()
    cores = threads()
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
    print(f"{cores} cores; median seconds a generation over {args.generations} generations")
    print(f"{'problem':10} {'P':>6} {'threads 1':>10} {'threads all':>11} {'ray 1':>9} {'ray 2':>9} "
          f"{'evals/s (ray 2)':>15} {'ray overhead ms':>15} {'2 vs 1 actor':>12}")
    for name in args.problems.split(","):
        prob = get_problem(name)
        net = prob.network()
        for P in map(int, args.popsizes.split(",")):
            G = np.random.default_rng(0).normal(0, 2, (P, net.n_params))
            res = {}
            for n in (1, cores):
                set_threads(n)
                res[f"t{n}"] = per_generation(lambda G, s: prob.evaluate(net, G, s), G,
                                              args.generations)
            for w in (1, 2):
                # one numba thread an actor: 1 actor = 1 core, 2 actors = 2 cores
                ev = RayEvaluator(name, prob.arch, prob.n_hidden, 0, workers=w, threads=1)
                try:
                    ev.pids()             # every actor started: chunks go to started ones only
                    res[f"r{w}"] = per_generation(ev, G, args.generations)
                finally:
                    ev.close()
            ref = res["t1"][1]
            assert all(np.array_equal(v[1], ref) for v in res.values()), "backends disagree"
            t1, tall, r1, r2 = (res[k][0] for k in ("t1", f"t{cores}", "r1", "r2"))
            print(f"{name:10} {P:6d} {t1:10.4f} {tall:11.4f} {r1:9.4f} {r2:9.4f} {P / r2:15.0f} "
                  f"{1000 * (r2 - tall):15.1f} {r1 / r2:11.2f}x", flush=True)
    ray.shutdown()


if __name__ == "__main__":
    main()
