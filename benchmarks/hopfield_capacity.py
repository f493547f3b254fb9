"""Hopfield capacity: the most patterns K a storage rule (or evolution) holds at N units
with >= 95% exact recall from probes with a tenth of their bits flipped.

    python -m benchmarks.hopfield_capacity [--N 100,200] [--noise 0.1] [--trials 5]
    python -m benchmarks.hopfield_capacity evolve [--N 100] [--K 0] [--evals 20000] [--seed 1]
        [--starts hebb,pseudo_inverse]

capacity: for each N and each rule (hebb, storkey, pseudo_inverse), K = 1, 2, ... random
+-1 patterns (``--trials`` pattern sets a K, seeded), 10 probes a pattern, each with
round(noise N) bits flipped at random; binary units, asynchronous updates, 20 sweeps.
A probe is recalled when the final state equals its pattern. The capacity is the largest
K before the first K whose recall rate falls below 95%, printed with K / N and its ratio
to 0.138 N (Amit, Gutfreund and Sompolinsky 1985: the Hebb rule's retrieval limit, for
vanishing noise and a few wrong bits allowed; exact recall from noisy probes holds fewer).

evolve: weights evolved from a rule for K patterns (default: twice the Hebb capacity at
N), by separable NES (snes, popsize 40, sigma0 0.002, a fifth of the Hebb weights'
1/N): the fitness is the share of exact recalls plus the mean final overlap s . xi / N,
over 5 fresh noisy probes a pattern each generation; recall is then measured on 10
held-out probes a pattern. Starts from hebb and from pseudo_inverse (--starts).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import evornn
from evornn import hopfield_rules

RULES = {"hebb": hopfield_rules.hebb, "storkey": hopfield_rules.storkey,
         "pseudo_inverse": hopfield_rules.pseudo_inverse}
SWEEPS, PROBES, GOAL, AMIT = 20, 10, 0.95, 0.138


def network(N: int) -> evornn.Network:
    return evornn.Network("hopfield", N, N, N)


def probes(patterns: np.ndarray, n: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """n noisy copies of each pattern as inputs [K n, SWEEPS, N] (the probe at step 0) and
    their patterns [K n, N]."""
    K, N = patterns.shape
    target = np.repeat(patterns, n, axis=0)
    flips = np.argsort(rng.random((K * n, N)), axis=1)[:, :int(round(noise * N))]
    probe = target.copy()
    np.put_along_axis(probe, flips, -np.take_along_axis(probe, flips, 1), 1)
    X = np.zeros((K * n, SWEEPS, N))
    X[:, 0] = probe
    return X, target


def final_states(net, G: np.ndarray, X: np.ndarray) -> np.ndarray:
    """[P, B, N]: each genome's state after the last sweep."""
    return evornn.population_forward(net, G, X)[:, :, -1]


def recall(net, genome: np.ndarray, patterns: np.ndarray, noise: float, rng) -> float:
    """The share of PROBES noisy probes a pattern that relax exactly to their pattern."""
    X, target = probes(patterns, PROBES, noise, rng)
    return float(np.all(final_states(net, genome[None], X)[0] == target, axis=1).mean())


def patterns_for(N: int, K: int, trial: int) -> np.ndarray:
    return np.random.default_rng((N, K, trial)).choice([-1.0, 1.0], size=(K, N))


def capacity(N: int, rule: str, noise: float, trials: int) -> tuple[int, list[float]]:
    """(the largest K before the first below GOAL, the recall rates from K = 1 on)."""
    net, rates = network(N), []
    for K in range(1, N + 1):
        rate = np.mean([recall(net, RULES[rule](net, P), P, noise, np.random.default_rng((K, t)))
                        for t in range(trials) for P in [patterns_for(N, K, t)]])
        rates.append(float(rate))
        if rate < GOAL:
            return K - 1, rates
    return N, rates


def evolve(N: int, K: int, start: str, evals: int, seed: int, noise: float):
    """Weights for K patterns evolved from a rule: (recall before, after, evaluations, s)."""
    net, P = network(N), patterns_for(N, K, 0)
    x0 = RULES[start](net, P)
    opt = evornn.optimizer("snes", net.n_params, seed=seed, popsize=40, x0=x0, sigma0=0.002)
    t0 = time.perf_counter()
    while opt.evaluations < evals:
        G = opt.ask()
        X, target = probes(P, 5, noise, np.random.default_rng((seed, opt.generation)))
        overlap = (final_states(net, G, X) * target[None]).sum(-1) / N
        opt.tell(G, (overlap == 1).mean(-1) + overlap.mean(-1))
    before = recall(net, x0, P, noise, np.random.default_rng(10_000 + seed))
    after = recall(net, opt.mean, P, noise, np.random.default_rng(10_000 + seed))
    return before, after, opt.evaluations, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", nargs="?", default="capacity", choices=["capacity", "evolve"])
    ap.add_argument("--N", default="100,200", help="units, comma-separated")
    ap.add_argument("--noise", type=float, default=0.1)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--K", type=int, default=0, help="evolve: patterns (0: twice Hebb's capacity)")
    ap.add_argument("--evals", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--starts", default="hebb,pseudo_inverse", help="evolve: the rules to start from")
    args = ap.parse_args()
    for N in (int(v) for v in args.N.split(",")):
        if args.what == "capacity":
            print(f"N = {N}, noise {args.noise:g}: largest K with >= 95% exact recall "
                  f"({args.trials} pattern sets x {PROBES} probes a pattern)")
            for rule in RULES:
                t0 = time.perf_counter()
                K, rates = capacity(N, rule, args.noise, args.trials)
                print(f"  {rule:15} K = {K:3d}  K/N = {K / N:.3f}  {K / N / AMIT:.2f} x 0.138  "
                      f"(recall at K+1: {rates[-1]:.3f}; {time.perf_counter() - t0:.1f} s)",
                      flush=True)
        else:
            K = args.K or 2 * capacity(N, "hebb", args.noise, args.trials)[0]
            print(f"N = {N}, K = {K}, noise {args.noise:g}: snes from a rule, {args.evals} "
                  f"evaluations, seed {args.seed}; exact recall of {PROBES} held-out probes a pattern")
            for start in args.starts.split(","):
                before, after, n, s = evolve(N, K, start, args.evals, args.seed, args.noise)
                print(f"  from {start:15} recall {before:.3f} -> {after:.3f} ({n:,d} evaluations, "
                      f"{s:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
