"""NSGA-II (Deb et al. 2002) with DEAP's non-dominated sorting and crowding distance."""
from __future__ import annotations

import numpy as np

from ..options import Option, rule
from .base import LegacyRandom, Optimizer, register

FAILED_RANK = 1 << 30             # an individual with a non-finite objective: behind every front


def _names(v) -> tuple:
    """objectives given as a tuple/list of names or one comma-separated string."""
    if isinstance(v, str):
        return tuple(s.strip() for s in v.split(",") if s.strip())
    return tuple(v)


class _Ind:
    """What DEAP's sortNondominated needs: an object with a ``fitness`` (values, dominates)."""

    __slots__ = ("i", "fitness")

    def __init__(self, i, fitness):
        self.i, self.fitness = i, fitness


def nsga2_select(F: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k rows of F [N, M] (every objective maximized) that NSGA-II keeps, with their
    fronts (0: non-dominated) and crowding distances: the steps of DEAP's ``selNSGA2``
    (``sortNondominated``, ``assignCrowdingDist`` per front, the last front cut by
    crowding). With one objective the fronts are the fitness order, so a stable sort does
    it (equal values apart, the same result, at a fraction of the cost). Rows with a
    non-finite value follow the others, in order, with front FAILED_RANK and distance 0."""
    finite = np.isfinite(F).all(axis=1)
    ok, bad = np.flatnonzero(finite), np.flatnonzero(~finite)
    n = min(k, len(ok))
    if n == 0:
        chosen, rank, crowd = [], [], []
    elif F.shape[1] == 1:
        chosen = ok[np.argsort(-F[ok, 0], kind="stable")[:n]].tolist()
        rank, crowd = list(range(n)), [0.0] * n
    else:
        from deap import base, tools
        cls = type("Objectives", (base.Fitness,), {"weights": (1.0,) * F.shape[1]})
        inds = [_Ind(int(i), cls(tuple(float(v) for v in F[i]))) for i in ok]
        fronts = tools.sortNondominated(inds, n)
        chosen, rank, crowd = [], [], []
        for r, front in enumerate(fronts):
            tools.emo.assignCrowdingDist(front)
            if r == len(fronts) - 1:        # the last front: the most crowded left out
                front = sorted(front, key=lambda ind: ind.fitness.crowding_dist, reverse=True)
                front = front[:n - len(chosen)]
            chosen += [ind.i for ind in front]
            rank += [r] * len(front)
            crowd += [ind.fitness.crowding_dist for ind in front]
    fill = bad[:k - len(chosen)].tolist()
    return (np.array(chosen + fill, dtype=np.int64),
            np.array(rank + [FAILED_RANK] * len(fill), dtype=np.int64),
            np.array(crowd + [0.0] * len(fill), dtype=np.float64))


def dominates(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise: a[i] is at least as good as b[i] in every objective and better in one
    (maximized; -inf worst, NaN treated as -inf)."""
    a, b = np.nan_to_num(a, nan=-np.inf), np.nan_to_num(b, nan=-np.inf)
    return (a >= b).all(axis=1) & (a > b).any(axis=1)


@register
class NSGA2(Optimizer):
    """NSGA-II: elitist (mu+lambda) selection by non-dominated fronts and crowding distance
    (the steps of DEAP's ``selNSGA2``), binary tournaments on (front, crowding) for parents, DEAP's blend
    crossover and Gaussian mutation, the step adapted by the 1/5th rule (a success: a child
    that dominates its first parent). Every objective is maximized.

    With a problem's ``measures`` the objectives are the ones named in ``objectives``
    (``"fitness"``: the fitness itself); without measures (``evornn.optimizer("nsga2", dim)``)
    the one objective is the fitness and it runs as a plain GA. ``front()`` is the current
    non-dominated set.
    """

    name = "nsga2"
    description = ("NSGA-II (DEAP's non-dominated sorting and crowding): several objectives "
                   "from a problem's measures; a plain GA on the fitness alone")
    needs_measures = True
    default_popsize = 40
    declared_options = {
        "objectives": Option((), "objectives, maximized: 'fitness' and names of the problem's "
                                 "measures (empty: the problem's own choice, else the fitness "
                                 "and every measure)",
                             rule(lambda v: isinstance(v, (str, tuple, list)),
                                  "must be a list of names or a comma-separated string")),
        "cxpb": Option(0.7, "probability that a pair of parents is recombined",
                       rule(lambda v: 0 <= v <= 1, "must be in [0, 1]", got=False)),
        "alpha": Option(0.5, "blend crossover: how far children may lie beyond their parents",
                        rule(lambda v: 0 <= v < float("inf"), "must be a finite number >= 0")),
        "indpb": Option(None, "per-gene probability of a Gaussian mutation (None: min(1, 2/dim))",
                        rule(lambda v: v is None or 0 < v <= 1, "must be None or in (0, 1]",
                             got=False)),
        "adapt_sigma": Option(True, "adapt the mutation step by the 1/5th success rule (a "
                                    "success: a child dominating its first parent)",
                              rule(lambda v: v in (True, False), "must be true or false")),
    }
    _state_keys = ("_legacy", "_pop", "_obj", "_rank", "_crowd", "_parent_obj", "mut_sigma")

    def _check_measures(self, measures) -> dict:
        # unlike other optimizers on measures, NSGA-II also runs on the fitness alone
        if not measures:
            self.needs_measures = False
            return {}
        return dict(measures)

    def _check_options(self, o):
        super()._check_options(o)
        names = _names(o["objectives"])
        allowed = ("fitness", *self.measures)
        for n in names:
            if n not in allowed:
                raise ValueError(f"option objectives names {n!r}; allowed: "
                                 f"{', '.join(allowed)} ('fitness' and the problem's measures)")
        if len(set(names)) != len(names):
            raise ValueError(f"option objectives names an objective twice: {', '.join(names)}")
        self.objective_names = names or allowed
        self._columns = [None if n == "fitness" else list(self.measures).index(n)
                         for n in self.objective_names]

    def _setup(self):
        self._legacy = LegacyRandom(self.seed)
        self._pop = self._obj = self._rank = self._crowd = self._parent_obj = None
        self.mut_sigma = self.sigma0
        o = self.options
        self._indpb = o["indpb"] if o["indpb"] is not None else min(1.0, 2.0 / self.dim)

    @property
    def step_size(self) -> float:
        """The Gaussian mutation's current standard deviation."""
        return float(self.mut_sigma)

    def objectives_of(self, f: np.ndarray, values) -> np.ndarray:
        """The objective matrix [P, M] of a generation's fitness and measures' values."""
        cols = [f if c is None else values[:, c] for c in self._columns]
        return np.column_stack(cols).astype(np.float64)

    def _ask(self):
        P, D = self.popsize, self.dim
        if self._pop is None:
            X = self.x0 + self.sigma0 * self._rng.standard_normal((P, D))
            X[0] = self.x0
            return X
        from deap import tools
        o = self.options
        pairs = self._rng.integers(0, P, size=(P + P % 2, 2))
        a, b = pairs[:, 0], pairs[:, 1]
        better = (self._rank[b] < self._rank[a]) | (
            (self._rank[b] == self._rank[a]) & (self._crowd[b] > self._crowd[a]))
        parents = np.where(better, b, a)
        kids, first = [], []
        with self._legacy.active():
            import random
            for i, j in zip(parents[::2], parents[1::2]):
                c1, c2 = self._pop[i].copy(), self._pop[j].copy()
                if random.random() < o["cxpb"]:
                    tools.cxBlend(c1, c2, o["alpha"])
                for c, par in ((c1, i), (c2, j)):
                    tools.mutGaussian(c, 0.0, self.mut_sigma, self._indpb)
                    kids.append(c)
                    first.append(par)
        self._parent_obj = self._obj[np.array(first[:P])]
        return np.array(kids[:P])

    def _tell(self, X, f, failed):
        P = self.popsize
        F = self.objectives_of(f, getattr(self, "_values", None))
        F[failed] = -np.inf
        F[~np.isfinite(F)] = -np.inf
        if self._pop is None:
            allX, allF = X, F
        else:
            if self.options["adapt_sigma"]:
                rate = float(np.mean(dominates(F, self._parent_obj)))
                self.mut_sigma *= float(np.exp(0.8 * (rate - 0.2) / 0.8))
            allX, allF = np.concatenate([self._pop, X]), np.concatenate([self._obj, F])
        keep, self._rank, self._crowd = nsga2_select(allF, P)
        self._pop, self._obj = allX[keep].copy(), allF[keep].copy()
        self._parent_obj = None

    def front(self) -> tuple[np.ndarray, np.ndarray]:
        """(genomes [n, D], objectives [n, M]) of the current population's non-dominated
        members, one for each distinct objective vector (elitism breeds copies), best first
        objective first (empty before the first tell)."""
        if self._pop is None:
            return np.empty((0, self.dim)), np.empty((0, len(self.objective_names)))
        idx = np.flatnonzero(self._rank == 0)
        idx = idx[np.lexsort((idx, -self._obj[idx, 0]))]
        _, first = np.unique(self._obj[idx], axis=0, return_index=True)
        idx = idx[np.sort(first)]
        return self._pop[idx].copy(), self._obj[idx].copy()
