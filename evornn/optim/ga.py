"""Real-coded genetic algorithm built from DEAP's operators on plain NumPy genomes."""
from __future__ import annotations

import numpy as np

from ..options import Option, rule
from .base import LegacyRandom, Optimizer, is_int, register


class _Ind:
    """What DEAP's selTournament needs: an object with a comparable ``fitness``."""

    __slots__ = ("i", "fitness")

    def __init__(self, i, fitness):
        self.i, self.fitness = i, fitness


@register
class GA(Optimizer):
    """Generational real-coded GA: DEAP tournament selection, crossover and Gaussian mutation.

    Each generation, parents are drawn from the population with ``tools.selTournament``;
    pairs are recombined with probability ``cxpb`` by ``tools.cxBlend`` (``crossover="blend"``,
    ``alpha``) or ``tools.cxSimulatedBinaryBounded`` (``crossover="sbx"``, ``eta``; needs
    finite bounds); every child gets ``tools.mutGaussian`` with per-gene probability
    ``indpb`` (None = min(1, 2/dim)) and step ``sigma`` (starts at sigma0), adapted by the
    1/5th success rule (``adapt_sigma``). ``replacement="plus"`` keeps the best popsize of
    parents + children (DEAP's eaMuPlusLambda); ``"comma"`` keeps the children plus
    ``elite`` best parents. DEAP's ``random`` draws run on a private, checkpointed state.
    """

    name = "ga"
    description = "genetic algorithm (DEAP operators): tournament, blend/SBX crossover, Gaussian mutation"
    default_popsize = 50
    declared_options = {
        "tournsize": Option(3, "individuals in each selection tournament",
                            rule(lambda v: is_int(v) and v >= 1, "must be an integer >= 1",
                                 got=False)),
        "cxpb": Option(0.7, "probability that a pair of parents is recombined",
                       rule(lambda v: 0 <= v <= 1, "must be in [0, 1]", got=False)),
        "crossover": Option("blend", "'blend' (cxBlend, alpha) or 'sbx' (simulated binary, eta; "
                                     "needs finite bounds)",
                            rule(lambda v: v in ("blend", "sbx"), "must be 'blend' or 'sbx'")),
        "alpha": Option(0.5, "blend: how far children may lie beyond their parents",
                        rule(lambda v: 0 <= v < float("inf"), "must be a finite number >= 0")),
        "eta": Option(15.0, "sbx: crowding degree (large: children close to their parents)",
                      rule(lambda v: 0 < v < float("inf"), "must be a positive number")),
        "indpb": Option(None, "per-gene probability of a Gaussian mutation (None: min(1, 2/dim))",
                        rule(lambda v: v is None or 0 < v <= 1, "must be None or in (0, 1]",
                             got=False)),
        "adapt_sigma": Option(True, "adapt the mutation step by the 1/5th success rule",
                              rule(lambda v: v in (True, False), "must be true or false")),
        "replacement": Option("plus", "'plus': the best popsize of parents + children; 'comma': "
                                      "the children plus elite parents",
                              rule(lambda v: v in ("plus", "comma"), "must be 'plus' or 'comma'")),
        # checked against the popsize in _check_options
        "elite": Option(1, "comma: best parents kept"),
    }
    _state_keys = ("_legacy", "_pop", "_fit", "_parent_f", "mut_sigma")

    def _check_options(self, o):
        super()._check_options(o)
        if o["crossover"] not in ("blend", "sbx"):
            raise ValueError(f"option crossover must be 'blend' or 'sbx', got {o['crossover']!r}")
        if o["crossover"] == "sbx" and not (np.isfinite(self.lower).all()
                                            and np.isfinite(self.upper).all()):
            raise ValueError("crossover='sbx' needs finite bounds; use crossover='blend'")
        if not (isinstance(o["elite"], (int, np.integer)) and 0 <= o["elite"] < self.popsize):
            raise ValueError(f"option elite must be an integer in [0, popsize={self.popsize})")

    def _setup(self):
        self._legacy = LegacyRandom(self.seed)
        self._pop = None                   # [P, D] current population, _fit its fitness
        self._fit = None
        self._parent_f = None              # fitness of each pending child's first parent
        self.mut_sigma = self.sigma0
        o = self.options
        self._indpb = o["indpb"] if o["indpb"] is not None else min(1.0, 2.0 / self.dim)

    @property
    def step_size(self) -> float:
        return float(self.mut_sigma)

    def _ask(self):
        P, D = self.popsize, self.dim
        if self._pop is None:
            X = self.x0 + self.sigma0 * self._rng.standard_normal((P, D))
            X[0] = self.x0
            return X
        # imported when a GA runs: evornn itself does not need DEAP
        from deap import tools
        o = self.options
        inds = [_Ind(i, float(f)) for i, f in enumerate(self._fit)]
        kids, parent_f = [], []
        with self._legacy.active():
            chosen = tools.selTournament(inds, P + (P % 2), tournsize=int(o["tournsize"]))
            for a, b in zip(chosen[::2], chosen[1::2]):
                c1, c2 = self._pop[a.i].copy(), self._pop[b.i].copy()
                if np.random.random() < o["cxpb"]:    # private legacy state, see LegacyRandom
                    if o["crossover"] == "blend":
                        tools.cxBlend(c1, c2, o["alpha"])
                    else:
                        c1, c2 = list(c1), list(c2)
                        tools.cxSimulatedBinaryBounded(c1, c2, o["eta"], list(self.lower),
                                                       list(self.upper))
                        c1, c2 = np.array(c1), np.array(c2)
                for c, par in ((c1, a), (c2, b)):
                    tools.mutGaussian(c, 0.0, self.mut_sigma, self._indpb)
                    kids.append(c)
                    parent_f.append(par.fitness)
        self._parent_f = np.array(parent_f[:P])
        return np.array(kids[:P])

    def _tell(self, X, f, failed):
        P, o = self.popsize, self.options
        if self._pop is None:
            self._pop, self._fit = X.copy(), f.copy()
            return
        if o["adapt_sigma"]:
            rate = float(np.mean(f > self._parent_f))
            self.mut_sigma *= float(np.exp(0.8 * (rate - 0.2) / 0.8))
        if o["replacement"] == "plus":
            allX = np.concatenate([self._pop, X])
            allf = np.concatenate([self._fit, f])
        else:
            e = int(o["elite"])
            top = np.argsort(-self._fit, kind="stable")[:e]
            allX = np.concatenate([self._pop[top], X])
            allf = np.concatenate([self._fit[top], f])
        keep = np.argsort(-allf, kind="stable")[:P]
        self._pop, self._fit = allX[keep].copy(), allf[keep].copy()
        self._parent_f = None
