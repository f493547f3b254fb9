"""Cooperative Synapse Neuroevolution (CoSyNE; Gomez, Schmidhuber and Miikkulainen 2008).

Each gene has its own subpopulation: column i of the m x n matrix ``pop``. Row j is the
j-th network. After every generation the rows are ranked by fitness; the top quarter
breeds (one-point crossover of two random parents, then each child gene perturbed with
probability ``mutation_rate`` by Cauchy noise) and its offspring replace the rows below
it; then, in every column separately, the surviving weights are permuted among
themselves, so each network of the next generation is a new combination of good weights.

``permute="all"`` is the paper's basic permutation (every survivor's weights shuffled);
``"probabilistic"`` is its fitness-based marking: a weight of the row of fitness f is
marked with probability 1 - ((f - f_min) / (f_max - f_min)) ** (1 / n), so the best
network stays intact. On DPNV (benchmarks/pole.py, docs/problems.md) the basic permutation solves
far more runs: the marking variant keeps converging onto controllers that balance from
the standard start but do not generalize.

Cauchy steps are a random walk whose spread grows linearly with the number of steps, and
a weight that selection does not hold keeps drifting; with sigmoid neurons the network
saturates and the search stalls. Genes are therefore kept within x0 +- ``weight_limit``.
"""
from __future__ import annotations

import numpy as np

from ..options import Option, rule
from .base import Optimizer, register


@register
class CoSyNE(Optimizer):
    """CoSyNE: one subpopulation per weight, top quarter breeds, Cauchy mutation, permutations.

    Options: ``parents`` (fraction that breeds and survives, 0.25), ``offspring`` (None =
    every row below the parents), ``mutation_rate`` (per-gene probability, 0.6),
    ``mutation_scale`` (Cauchy scale, None = sigma0 / 2), ``weight_limit`` (genes kept
    within x0 +- this, None = 10 sigma0, inf = no limit), ``permute`` ("all" = every
    survivor's weights, "probabilistic" = the paper's fitness-based marking, "none").
    """

    name = "cosyne"
    description = "CoSyNE: per-weight subpopulations, top quarter breeds, Cauchy mutation, permutation"
    default_popsize = 40
    declared_options = {
        # parents and offspring are checked against the popsize in _check_options
        "parents": Option(0.25, "fraction of the population that breeds and survives"),
        "offspring": Option(None, "children a generation (None: every row below the parents)"),
        "mutation_rate": Option(0.6, "per-gene probability of a Cauchy mutation",
                                rule(lambda v: 0 <= v <= 1, "must be in [0, 1]", got=False)),
        "mutation_scale": Option(None, "the Cauchy mutation's scale (None: sigma0 / 2)",
                                 rule(lambda v: v is None or v > 0, "must be None or > 0",
                                      got=False)),
        "weight_limit": Option(None, "genes kept within x0 +- this (None: 10 sigma0; inf: no "
                                     "limit)",
                               rule(lambda v: v is None or v > 0, "must be None, > 0 or inf")),
        "permute": Option("all", "'all': every survivor's weights; 'probabilistic': the "
                                 "paper's fitness-based marking; 'none'",
                          rule(lambda v: v in ("probabilistic", "all", "none"),
                               "must be 'all', 'probabilistic' or 'none'")),
    }
    _state_keys = ("pop",)

    def _check_options(self, o):
        super()._check_options(o)
        if not 0 < o["parents"] <= 1 or max(2, int(round(o["parents"] * self.popsize))) \
                > self.popsize:
            raise ValueError(f"option parents must be a fraction in (0, 1] leaving at least 2 "
                             f"parents, got {o['parents']!r}")
        if o["offspring"] is not None and not (isinstance(o["offspring"], (int, np.integer))
                                               and 1 <= o["offspring"] < self.popsize):
            raise ValueError(f"option offspring must be None or an integer in [1, popsize), got "
                             f"{o['offspring']!r}")

    def _setup(self):
        m, n = self.popsize, self.dim
        o = self.options
        limit = o["weight_limit"] if o["weight_limit"] is not None else 10.0 * self.sigma0
        self._lo = np.maximum(self.lower, self.x0 - limit)
        self._hi = np.minimum(self.upper, self.x0 + limit)
        self.pop = self._keep(self.x0 + self.sigma0 * self._rng.standard_normal((m, n)))
        self._n_parents = max(2, int(round(o["parents"] * m)))
        n_off = o["offspring"] if o["offspring"] is not None else max(1, m - self._n_parents)
        self._n_offspring = min(n_off, m - 1)
        self._scale = o["mutation_scale"] if o["mutation_scale"] is not None else 0.5 * self.sigma0

    def _keep(self, X: np.ndarray) -> np.ndarray:
        """X within the bounds and the weight limit around x0."""
        return np.clip(X, self._lo, self._hi)

    def _ask(self):
        return self.pop.copy()

    def _offspring(self, parents: np.ndarray) -> np.ndarray:
        """Children of random parent pairs: one-point crossover, then Cauchy mutation."""
        rng, n = self._rng, self.dim
        kids = []
        while len(kids) < self._n_offspring:
            a, b = parents[rng.choice(len(parents), 2, replace=False)]
            cut = rng.integers(1, n) if n > 1 else 0
            kids.append(np.concatenate([a[:cut], b[cut:]]))
            kids.append(np.concatenate([b[:cut], a[cut:]]))
        kids = np.array(kids[:self._n_offspring])
        mutate = rng.random(kids.shape) < self.options["mutation_rate"]
        kids = kids + mutate * self._scale * rng.standard_cauchy(kids.shape)
        return self._keep(kids)

    def _tell(self, X, f, failed):
        m, n = self.popsize, self.dim
        order = np.argsort(-f, kind="stable")            # best first; failures last
        pop, f = X[order].copy(), f[order]
        pop[m - self._n_offspring:] = self._offspring(pop[:self._n_parents])
        mode = self.options["permute"]
        if mode == "none":
            self.pop = pop
            return
        survivors = m - self._n_offspring
        if mode == "all":
            prob = np.ones(survivors)
        else:
            fin = np.isfinite(f[:survivors])
            prob = np.ones(survivors)
            if fin.any():
                lo, hi = f[:survivors][fin].min(), f[:survivors][fin].max()
                norm = (f[:survivors][fin] - lo) / (hi - lo) if hi > lo else np.zeros(fin.sum())
                prob[fin] = 1.0 - norm ** (1.0 / n)
        marked = self._rng.random((survivors, n)) < prob[:, None]
        for i in range(n):
            rows = np.flatnonzero(marked[:, i])
            if rows.size > 1:
                pop[rows, i] = pop[self._rng.permutation(rows), i]
        self.pop = pop
