"""Ray actors on a latency-bound problem: speedup, per-generation overhead and a straggler.

    python -m benchmarks.ray_scaling [--actors 1,2,4,8,16,32] [--popsizes 16,1024]
        [--delay 0.02] [--generations 2] [--small-generations 5]

Each genome costs a fixed wait (``--delay`` seconds, time.sleep, as a robot or an external
simulator would) and almost no CPU, so 32 actors can run on 2 cores: what is measured is
the scheduling, not the arithmetic. For each actor count and population size: seconds a
generation (median over --generations after a warm-up generation; --small-generations for
populations under 100; one generation where its waits alone take 5 s or more), speedup
over 1 actor, efficiency (speedup / actors) and overhead
(the generation's time minus the ideal time of its waits, ceil(P / actors) x delay).
Without 1 in --actors, the first row's time times its actors stands for 1 actor's.
Then the largest setting again, on the same actors, with one of them made 2x slower (a
straggler): its cost in time, and its fitness checked equal to the run without it.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

from evornn.backends import RayEvaluator
from evornn.problem import Problem

GOALS = {"efficiency": 0.90, "overhead_ms": 5.0, "straggler": 0.10}


def sleeper(delay: float = 0.02) -> Problem:
    """A problem whose every genome waits delay seconds, then scores minus its squared
    distance to a point that moves with the generation. Built in a function, so that
    cloudpickle sends its evaluate by value (workers need not import this module)."""
    def evaluate(net, G, seed):
        time.sleep(delay * len(G))           # the genomes' waits, one after another
        return -np.sum((np.asarray(G) - 0.1 * seed[1]) ** 2, axis=1)

    return Problem("sleeper", f"each genome waits {delay * 1000:g} ms", n_in=1, n_out=1,
                   arch="elman", n_hidden=2, evaluate=evaluate,
                   solved=lambda net, g, f: (False, {}))


def slow_down(factor: float):
    """A function for an actor's ``__ray_call__``: its evaluations take factor times as long."""
    def apply(worker):
        from dataclasses import replace
        evaluate = worker.prob.evaluate

        def slower(net, G, seed):
            t0 = time.perf_counter()
            f = evaluate(net, G, seed)
            time.sleep((factor - 1) * (time.perf_counter() - t0))
            return f
        worker.prob = replace(worker.prob, evaluate=slower)
    return apply


def per_generation(ev, G, generations: int) -> tuple[float, np.ndarray]:
    """Median seconds a generation after a warm-up one, and every generation's fitness."""
    ev.pids()                                    # every actor started
    ev(G[:2 * ev.workers], (0, 0))
    times, fits = [], []
    for g in range(generations):
        t0 = time.perf_counter()
        fits.append(ev(G, (0, g)))
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), np.stack(fits)


def measure(prob, A: int, G, generations: int, straggler: float | None = None) -> list:
    """[(seconds a generation, fitness)] on A actors; then, with straggler, the same again
    with one actor made that many times slower."""
    ev = RayEvaluator(prob, prob.arch, prob.n_hidden, 0, workers=A, threads=1)
    try:
        out = [per_generation(ev, G, generations)]
        if straggler:
            ev._ray.get(ev.actors[0].__ray_call__.remote(slow_down(straggler)))
            out.append(per_generation(ev, G, generations))
        return out
    finally:
        ev.close()


def main() -> None:
    import ray
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--actors", default="1,2,4,8,16,32")
    ap.add_argument("--popsizes", default="16,1024")
    ap.add_argument("--delay", type=float, default=0.02, help="seconds a genome waits")
    ap.add_argument("--generations", type=int, default=2)
    ap.add_argument("--small-generations", type=int, default=5)
    args = ap.parse_args()
    actors = [int(a) for a in args.actors.split(",")]
    prob = sleeper(args.delay)
    net = prob.network()
    # one logical CPU an actor: they wait, they do not compute
    ray.init(num_cpus=max(actors), include_dashboard=False, log_to_driver=False)
    print(f"{args.delay * 1000:g} ms a genome; median seconds a generation")
    print(f"{'actors':>6} {'genomes':>8} {'s a generation':>15} {'speedup':>8} {'efficiency':>10} "
          f"{'overhead ms':>11}")
    sizes = [int(p) for p in args.popsizes.split(",")]
    small = {}                                   # overhead ms at the smallest population
    for P in sizes:
        G = np.random.default_rng(0).normal(0, 1, (P, net.n_params))
        gens = args.small_generations if P < 100 else args.generations
        base = None
        for A in actors:
            # a generation of 5 s or more is timed once: its waits dwarf any noise
            n = 1 if math.ceil(P / A) * args.delay >= 5 else gens
            # the largest setting is measured again with a straggler, on the same actors
            runs = measure(prob, A, G, n, 2.0 if (A, P) == (actors[-1], sizes[-1]) else None)
            t, f = runs[0]
            base = base or t * A          # 1 actor's time (the first row's, times its actors)
            speedup = base / t
            overhead = 1000 * (t - math.ceil(P / A) * args.delay)
            if P == sizes[0]:
                small[A] = overhead
            print(f"{A:6d} {P:8,d} {t:15.4f} {speedup:7.2f}x {speedup / A:10.1%} {overhead:11.1f}",
                  flush=True)
    (t2, f2), eff = runs[1], speedup / A
    cost = t2 / t - 1
    print(f"straggler (one of {A} actors 2x slower, {P:,} genomes): {t2:.4f} s a generation, "
          f"{cost:+.1%}; fitness {'identical' if np.array_equal(f2, f) else 'DIFFERENT'}")
    met = {True: "met", False: "MISSED"}
    print(f"goals: efficiency {eff:.1%} at {A} actors x {P:,} genomes (>= {GOALS['efficiency']:.0%}: "
          f"{met[eff >= GOALS['efficiency']]}, {eff / GOALS['efficiency']:.3f}x); straggler "
          f"{cost:+.1%} (< {GOALS['straggler']:.0%}: {met[cost < GOALS['straggler']]}, "
          f"{cost / GOALS['straggler']:.2f}x); overhead at {sizes[0]} genomes (<= "
          f"{GOALS['overhead_ms']:g} ms): " + ", ".join(
              f"{ms:.1f} ms with {a} actors ({met[ms <= GOALS['overhead_ms']]}, "
              f"{ms / GOALS['overhead_ms']:.2f}x)" for a, ms in small.items()))
    ray.shutdown()


if __name__ == "__main__":
    main()
