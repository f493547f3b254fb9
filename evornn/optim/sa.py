"""Simulated annealing: a population of independent Metropolis chains, in NumPy."""
from __future__ import annotations

import numpy as np

from ..options import Option, rule
from .base import Optimizer, is_int, register


@register
class SA(Optimizer):
    """popsize annealing chains; each generation every chain makes one Gaussian proposal.

    A proposal x' = x + step * N(0, I) is accepted if f(x') >= f(x) or with probability
    exp((f(x') - f(x)) / T) (fitness maximized; failed proposals are always rejected).
    T follows a geometric schedule T_k = T0 * cooling**k (``T0=None``: the standard
    deviation of the first generation's fitness, or 1). Each chain's step size (starting at
    sigma0) is adapted towards an acceptance rate ``target_accept`` (0.35):
    step *= exp(adapt * (accepted - target_accept)).
    ``restart_after``: a chain that has not improved its own best for that many generations
    restarts from the best point found so far (None = never).
    """

    name = "sa"
    description = "simulated annealing: parallel Metropolis chains, geometric cooling, adaptive steps"
    default_popsize = 16
    declared_options = {
        "T0": Option(None, "starting temperature (None: the std of the first generation's "
                           "fitness, or 1)",
                     rule(lambda v: v is None or (np.isfinite(v) and v > 0),
                          "must be None or a positive number", got=False)),
        "cooling": Option(0.95, "T *= cooling each generation",
                          rule(lambda v: 0 < v <= 1, "must be in (0, 1]", got=False)),
        "T_min": Option(1e-12, "the temperature never cools below this",
                        rule(lambda v: 0 < v < float("inf"), "must be a positive number")),
        "target_accept": Option(0.35, "acceptance rate each chain's step size is adapted towards",
                                rule(lambda v: 0 < v < 1, "must be in (0, 1)", got=False)),
        "adapt": Option(0.3, "step *= exp(adapt * (accepted - target_accept)) (0: fixed steps)",
                        rule(lambda v: 0 <= v < float("inf"), "must be a finite number >= 0")),
        "restart_after": Option(None, "a chain not improving its best for this many "
                                      "generations restarts from the best point (None: never)",
                                rule(lambda v: v is None or (is_int(v) and v >= 1),
                                     "must be None or an integer >= 1", got=False)),
    }
    _state_keys = ("_x", "_f", "_step", "_T", "_stale", "_chain_best", "_accepts")

    def _setup(self):
        self._x = None                     # [P, D] chain states, _f their fitness
        self._f = None
        self._step = np.full(self.popsize, self.sigma0)
        self._T = None
        self._stale = np.zeros(self.popsize, np.int64)
        self._chain_best = np.full(self.popsize, -np.inf)
        self._accepts = 0

    @property
    def temperature(self):
        return self._T

    @property
    def step_size(self) -> float:
        return float(np.mean(self._step))             # one step a chain

    def _ask(self):
        P, D = self.popsize, self.dim
        if self._x is None:
            X = self.x0 + self.sigma0 * self._rng.standard_normal((P, D))
            X[0] = self.x0
            return X
        return self._x + self._step[:, None] * self._rng.standard_normal((P, D))

    def _tell(self, X, f, failed):
        o = self.options
        if self._x is None:
            self._x, self._f = X.copy(), f.copy()
            self._chain_best = f.copy()
            ok = f[~failed]
            T0 = o["T0"]
            if T0 is None:
                s = float(np.std(ok)) if ok.size > 1 else 0.0
                T0 = s if s > 0 else 1.0
            self._T = float(T0)
            return
        u = self._rng.random(self.popsize)
        with np.errstate(over="ignore", invalid="ignore"):
            delta = f - self._f                              # -inf for failed proposals
            better = ~failed & (f >= self._f)
            p = np.exp(np.where(failed | ~np.isfinite(delta), -np.inf, delta) / self._T)
        acc = better | (~failed & (u < p))
        self._accepts += int(acc.sum())
        self._x[acc], self._f[acc] = X[acc], f[acc]
        self._step *= np.exp(o["adapt"] * (acc.astype(float) - o["target_accept"]))
        improved = self._f > self._chain_best
        self._chain_best = np.maximum(self._chain_best, self._f)
        self._stale = np.where(improved, 0, self._stale + 1)
        ra = o["restart_after"]
        if ra is not None and self._best_x is not None:
            stuck = self._stale >= ra
            if stuck.any():
                self._x[stuck] = self._best_x
                self._f[stuck] = self._best_f
                self._step[stuck] = self.sigma0
                self._stale[stuck] = 0
        self._T = max(self._T * o["cooling"], o["T_min"])
