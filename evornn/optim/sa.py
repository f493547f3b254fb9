"""Simulated annealing: a population of independent Metropolis chains, in NumPy."""
from __future__ import annotations

import numpy as np

from .base import Optimizer, register


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
    option_defaults = {"T0": None, "cooling": 0.95, "T_min": 1e-12, "target_accept": 0.35,
                       "adapt": 0.3, "restart_after": None}
    _state_keys = ("_x", "_f", "_step", "_T", "_stale", "_chain_best", "_accepts")

    def _check_options(self, o):
        super()._check_options(o)
        if o["T0"] is not None and not (np.isfinite(o["T0"]) and o["T0"] > 0):
            raise ValueError("option T0 must be None or a positive number")
        if not 0 < o["cooling"] <= 1:
            raise ValueError("option cooling must be in (0, 1]")
        if not 0 < o["target_accept"] < 1:
            raise ValueError("option target_accept must be in (0, 1)")
        ra = o["restart_after"]
        if ra is not None and not (isinstance(ra, (int, np.integer)) and ra >= 1):
            raise ValueError("option restart_after must be None or an integer >= 1")

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
