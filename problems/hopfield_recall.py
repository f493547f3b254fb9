"""Hopfield recall: a Hopfield network restores stored patterns from noisy probes.

The problem holds K random +-1 patterns of N units, drawn once from a fixed seed (they are
part of the problem, not evolved). The network is the ``hopfield`` family with N units
(binary, async sweeps): the probe is its initial state, x_0, and T sweeps relax it (the
later inputs, the external field, are zero). The output after the last sweep is the
recalled pattern.

Every evaluation probes each pattern ``probes`` times, each probe the pattern with
round(noise * N) of its bits flipped (which ones drawn fresh from the evaluation seed), and
the fitness is the mean overlap (1/N) s . xi between the relaxed state s and the probed
pattern xi, in [-1, 1] (1: every probe restored exactly). The champion is tested on a fixed
held-out set of ``n_test`` probes a pattern (not counted as evaluations); the problem is
solved when every one of them relaxes to its pattern exactly.

The search starts from Hebb's rule on the problem's patterns (the Problem's ``x0`` function): below
about 0.138 N patterns that already recalls nearly everything, and evolution has to mend
the bits crosstalk leaves wrong (K = 10 of N = 100) or raise the capacity (K = 20).
"""
from __future__ import annotations

import numpy as np

import evornn
from evornn.hopfield_rules import hebb, hopfield_energy, units
from evornn.problem import Problem

PATTERN_SEED = 20_260_716
TEST_SEED = 20_260_717


def check_options(N, K, noise, T, probes, n_test) -> None:
    """One-line ValueErrors for options out of range."""
    for name, v, lo in (("N", N, 2), ("K", K, 1), ("T", T, 1), ("probes", probes, 1),
                        ("n_test", n_test, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"hopfield-recall: {name} must be an integer >= {lo}, got {v!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < 1:
        raise ValueError(f"hopfield-recall: noise (the fraction of bits flipped) must be in "
                         f"[0, 1), got {noise!r}")


def patterns_of(N: int, K: int, seed: int = PATTERN_SEED) -> np.ndarray:
    """The problem's K stored patterns, [K, N] of +-1 (float64)."""
    return np.random.default_rng((seed, N, K)).choice([-1.0, 1.0], size=(K, N))


def noisy(patterns: np.ndarray, noise: float, per: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """per probes of every pattern, each with round(noise * N) distinct bits flipped:
    (probes [K * per, N], index of the pattern of each probe [K * per])."""
    K, N = patterns.shape
    which = np.repeat(np.arange(K), per)
    probes = patterns[which].copy()
    flips = int(round(noise * N))
    if flips:
        idx = np.argsort(rng.random((len(which), N)), axis=1)[:, :flips]
        np.put_along_axis(probes, idx, -np.take_along_axis(probes, idx, 1), 1)
    return probes, which


def sequences(probes: np.ndarray, T: int) -> np.ndarray:
    """Inputs [B, T, N]: the probe at t = 0, no field after it."""
    X = np.zeros((probes.shape[0], T, probes.shape[1]))
    X[:, 0] = probes
    return X


def relaxed(net, genomes, probes: np.ndarray, T: int) -> np.ndarray:
    """Every genome's states after each sweep, [P, B, T, N] (float32 kernels)."""
    return evornn.population_forward(net, genomes, sequences(probes, T).astype(np.float32))


def tiles(N: int) -> tuple[int, int]:
    """Rows and columns of a square-ish picture of N units (10 x 10 for N = 100)."""
    rows = int(np.floor(np.sqrt(N)))
    while N % rows:
        rows -= 1
    if rows == 1 and N > 3:                   # a prime: a near-square with the last row short
        rows = int(np.floor(np.sqrt(N)))
    return rows, -(-N // rows)


def make(N: int = 100, K: int = 10, noise: float = 0.1, T: int = 10, probes: int = 2,
         n_test: int = 10, name: str | None = None, **defaults) -> Problem:
    """Recall K random patterns of N units from probes with a fraction noise of their bits
    flipped, after T async sweeps; ``defaults`` override the Problem's fields."""
    check_options(N, K, noise, T, probes, n_test)
    xi = patterns_of(N, K)

    def evaluate(net, genomes, seed) -> np.ndarray:
        P, which = noisy(xi, noise, probes, np.random.default_rng(seed))
        S = relaxed(net, genomes, P, T)[:, :, -1].astype(np.float64)      # [P, B, N]
        return np.mean(np.sum(S * xi[which], axis=-1), axis=-1) / N

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        P, which = noisy(xi, noise, n_test, np.random.default_rng((TEST_SEED, N, K)))
        S = relaxed(net, genome[None], P, T)[0, :, -1].astype(np.float64)
        exact = np.all(S == xi[which], axis=-1)
        info = {"recalled_exactly": float(exact.mean()), "test_probes": len(exact),
                "test_overlap": float(np.mean(np.sum(S * xi[which], -1)) / N)}
        return bool(exact.all()), info

    def check(net):
        if units(net) != N:
            raise ValueError(f"hopfield-recall needs a one-layer hopfield network of N={N} "
                             f"units (--arch hopfield --hidden {N}), got {net.arch} with "
                             f"{net.n_hidden} hidden")

    def trace(net, genome) -> dict:
        per = 1
        P, which = noisy(xi, noise, per, np.random.default_rng((TEST_SEED, N, K)))
        Y = relaxed(net, genome[None], P, T)[0].astype(np.float64)        # [B, T, N]
        path = np.concatenate([np.where(P >= 0, 1.0, -1.0)[:, None], Y], 1)  # [B, T + 1, N]
        E = hopfield_energy(net, path, genome)                            # [B, T + 1]
        over = path @ xi[which][:, :, None] / N                           # [B, T + 1, 1]
        return {"t": np.arange(T + 1), "neurons": path[0, :, :min(N, 8)],
                "signals": {"energy (probe 0)": E[0], "overlap (probe 0)": over[0, :, 0]},
                "recall": {"patterns": xi[which], "probes": P, "relaxed": Y[:, -1],
                           "energy": E, "overlap": over[..., 0]}}

    fields = dict(arch="hopfield", n_hidden=N, optimizer="cmaes", sigma0=0.02,
                  max_evals=20_000, x0=lambda net: hebb(net, xi), check=check,
                  trace=trace, pictures=pictures)
    fields.update(defaults)
    return Problem(name or f"hopfield-recall-{N}-{K}",
                   f"a Hopfield network of {N} units recalls {K} random patterns from probes "
                   f"with {noise:g} of their bits flipped ({T} async sweeps); solved when all "
                   f"{n_test * K} held-out probes relax to their pattern exactly",
                   n_in=N, n_out=N, evaluate=evaluate, solved=solved, **fields)


def pictures(tr: dict, run_dir) -> list:
    """[recall.png]: stored patterns, noisy probes and relaxed states as tiles (up to 8
    patterns), and the energy of every test probe along its relaxation."""
    from pathlib import Path

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from evornn.report import _save
    r = tr["recall"]
    n = min(len(r["patterns"]), 8)
    N = r["patterns"].shape[1]
    rows, cols = tiles(N)

    def image(v):
        out = np.full(rows * cols, np.nan)
        out[:N] = v
        return out.reshape(rows, cols)

    fig = plt.figure(figsize=(1.4 * n + 3.5, 4.6))
    grid = fig.add_gridspec(3, n + 2)
    for k in range(n):
        for row, (label, v) in enumerate((("pattern", r["patterns"][k]), ("probe", r["probes"][k]),
                                          ("relaxed", r["relaxed"][k]))):
            ax = fig.add_subplot(grid[row, k])
            ax.imshow(image(v), cmap="gray_r", vmin=-1, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if k == 0:
                ax.set_ylabel(label)
    ax = fig.add_subplot(grid[:, n:])
    for e in r["energy"]:
        ax.plot(tr["t"], e, lw=0.8)
    ax.set_xlabel("sweep")
    ax.set_ylabel("energy")
    ax.set_title("energy along the relaxation")
    return [_save(fig, Path(run_dir) / "recall.png")]


PROBLEMS = [make(name="hopfield-recall"),
            make(K=20, probes=5, max_evals=40_000, name="hopfield-recall-20")]
