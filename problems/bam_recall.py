"""BAM recall: a bidirectional associative memory recalls stored pairs from either side.

The problem holds K random pairs (x_k, y_k) of +-1 vectors, x of n and y of p units, drawn
once from a fixed seed (part of the problem, not evolved). The network is the ``bam``
family with N = n + p units (binary, ``split`` = n): the probe x_0 is [noisy x_k, 0] (recall
y from x) or [0, noisy y_k] (recall x from y), a noisy vector having round(noise * width)
of its bits flipped (which ones drawn fresh from the evaluation seed); T steps relax it.

Every evaluation probes each pair ``probes`` times from each side; the fitness is the mean
overlap (1/N)([x, y] . [x_k, y_k]) of the final state with the probed pair, in [-1, 1]. The
champion is tested on a fixed held-out set of ``n_test`` probes a pair and side (not
counted as evaluations); solved when every one of them relaxes to its whole pair exactly.
The search starts from Kosko's Hebbian encoding W = sum_k x_k y_k^T (the Problem's ``x0`` function).
"""
from __future__ import annotations

import numpy as np

import evornn
from evornn.hopfield_rules import bam_hebb, bam_layers
from evornn.problem import Problem
from evornn.problems.hopfield_recall import noisy

PAIR_SEED = 20_260_718
TEST_SEED = 20_260_719


def check_options(n, p, K, noise, T, probes, n_test) -> None:
    """One-line ValueErrors for options out of range."""
    for name, v, lo in (("n", n, 1), ("p", p, 1), ("K", K, 1), ("T", T, 1),
                        ("probes", probes, 1), ("n_test", n_test, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"bam-recall: {name} must be an integer >= {lo}, got {v!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < 1:
        raise ValueError(f"bam-recall: noise (the fraction of bits flipped) must be in "
                         f"[0, 1), got {noise!r}")


def pairs_of(n: int, p: int, K: int, seed: int = PAIR_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The problem's K stored pairs: X [K, n] and Y [K, p] of +-1 (float64)."""
    rng = np.random.default_rng((seed, n, p, K))
    return rng.choice([-1.0, 1.0], size=(K, n)), rng.choice([-1.0, 1.0], size=(K, p))


def probes_of(X, Y, noise, per, rng) -> tuple[np.ndarray, np.ndarray]:
    """Probes [2 K per, n + p] (first every noisy x with y not given, then every noisy y
    with x not given) and the index of each probe's pair."""
    px, wx = noisy(X, noise, per, rng)
    py, wy = noisy(Y, noise, per, rng)
    n, p = X.shape[1], Y.shape[1]
    probes = np.zeros((len(wx) + len(wy), n + p))
    probes[:len(wx), :n] = px
    probes[len(wx):, n:] = py
    return probes, np.concatenate([wx, wy])


def make(n: int = 40, p: int = 30, K: int = 5, noise: float = 0.1, T: int = 5,
         probes: int = 10, n_test: int = 10, name: str | None = None, **defaults) -> Problem:
    """Recall K random pairs (n and p units) from either side with a fraction noise of the
    probed side's bits flipped, after T steps; ``defaults`` override the Problem's fields."""
    check_options(n, p, K, noise, T, probes, n_test)
    X, Y = pairs_of(n, p, K)
    target = np.concatenate([X, Y], 1)                                   # [K, N]
    N = n + p

    def final(net, genomes, P):
        S = np.zeros((P.shape[0], T, N))
        S[:, 0] = P
        return evornn.population_forward(net, genomes, S.astype(np.float32))[:, :, -1]

    def evaluate(net, genomes, seed) -> np.ndarray:
        P, which = probes_of(X, Y, noise, probes, np.random.default_rng(seed))
        S = final(net, genomes, P).astype(np.float64)                    # [P, B, N]
        return np.mean(np.sum(S * target[which], axis=-1), axis=-1) / N

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        P, which = probes_of(X, Y, noise, n_test, np.random.default_rng((TEST_SEED, n, p, K)))
        S = final(net, genome[None], P)[0].astype(np.float64)
        exact = np.all(S == target[which], axis=-1)
        half = len(exact) // 2
        info = {"recalled_exactly": float(exact.mean()), "from_x": float(exact[:half].mean()),
                "from_y": float(exact[half:].mean()), "test_probes": len(exact)}
        return bool(exact.all()), info

    def check(net):
        if bam_layers(net) != (n, N - n):
            raise ValueError(f"bam-recall needs a one-layer bam network of N={N} units with "
                             f"split={n} (--arch bam --hidden {N}), got {net.arch} with "
                             f"{net.n_hidden} hidden")

    # the training probes often all pass near the start: flat fitness, which stops pycma;
    # restarts give it further tries from the start
    fields = dict(arch="bam", n_hidden=N, arch_options={"split": n}, optimizer="cmaes",
                  optimizer_options={"restarts": 9}, sigma0=0.5, max_evals=20_000,
                  x0=lambda net: bam_hebb(net, X, Y), check=check)
    fields.update(defaults)
    return Problem(name or f"bam-recall-{n}-{p}-{K}",
                   f"a BAM of {n} + {p} units recalls {K} random pairs from either side with "
                   f"{noise:g} of the probed side's bits flipped ({T} steps); solved when all "
                   f"{2 * n_test * K} held-out probes relax to their pair exactly",
                   n_in=N, n_out=N, evaluate=evaluate, solved=solved, **fields)


PROBLEMS = [make(name="bam-recall")]
