"""CMA-ES: pycma's ``cma.CMAEvolutionStrategy`` driven ask/tell (fitness negated inside)."""
from __future__ import annotations

import pickle
import warnings

import numpy as np

from .. import safe_pickle
from ..options import Option, rule
from .base import LegacyRandom, Optimizer, is_int, is_num, register


def _global_randn(*shape):
    """pycma's ``randn`` option. A module function pickles by reference, so an unpickled
    es keeps drawing from the (swapped-in, private) global state; the default
    ``np.random.randn`` would pickle a frozen copy of the global RandomState instead."""
    return np.random.randn(*shape)


@register
class CMAES(Optimizer):
    """Covariance matrix adaptation (pycma). Full covariance for dim <= 1000, separable above.

    Options: ``diagonal`` (None = automatic by dim, True = separable CMA_diagonal, False =
    full), ``diagonal_above`` (1000), ``cma_options`` (dict passed to pycma as is, e.g.
    ``{"tolfun": 1e-12}``). Finite bounds use pycma's boundary transformation. pycma's own
    termination criteria show up in ``stop()`` as ``"cmaes: <criterion>"``.
    Restarts (``restarts`` > 0): when pycma's criteria fire, a new CMA-ES starts from
    x0 + sigma0 N(0, I). ``restart_strategy="ipop"`` doubles the popsize each time (Auger and
    Hansen 2005); ``"bipop"`` (Hansen 2009) alternates that large-population regime with
    small populations of random size and step size sigma0 * 10**(-2 U), running whichever
    regime has used fewer evaluations. ``popsize`` then changes between generations.
    ``stagnation=G`` also restarts when the median of the generations' best fitness over the
    last G generations is no better than over the G before them.
    With ``xp="cupy"`` pycma still samples on the host and ask() hands the population to the
    GPU once: pycma's tell weighs every sample (active CMA), so a population drawn on the
    device would have to come back to the host every generation (docs/scaling.md).
    """

    name = "cmaes"
    description = (
        "CMA-ES (pycma): covariance matrix adaptation, full covariance <= 1000 genes, separable above")
    declared_options = {
        "diagonal": Option(None, "True: separable CMA (CMA_diagonal); False: full covariance; "
                                 "None: separable above diagonal_above genes",
                           rule(lambda v: v in (None, True, False), "must be None, True or False")),
        "diagonal_above": Option(1000, "with diagonal=None: separable CMA above this many genes",
                                 rule(lambda v: is_num(v) and v >= 0, "must be a number >= 0")),
        "cma_options": Option(None, "a dict of pycma options passed as is, e.g. {'tolfun': 1e-12}",
                              rule(lambda v: v is None or isinstance(v, dict),
                                   "must be a dict of pycma options or None", got=False)),
        "restarts": Option(0, "new CMA-ES runs when pycma's termination criteria fire",
                           rule(lambda v: is_int(v) and v >= 0, "must be a non-negative integer")),
        "restart_strategy": Option("ipop", "'ipop': double the popsize each restart; 'bipop': "
                                           "alternate with small populations",
                                   rule(lambda v: v in ("ipop", "bipop"),
                                        "must be 'ipop' or 'bipop'")),
        "stagnation": Option(None, "with restarts: also restart when the median best fitness of "
                                   "the last this many generations is no better than of those "
                                   "before (None: off)",
                             rule(lambda v: v is None or (is_int(v) and v >= 1),
                                  "must be None or an integer >= 1")),
    }
    _state_keys = ("_legacy", "_es", "_raw", "popsize", "restarts_done", "_large_popsize",
                   "_budget", "_regime", "_bests")
    device_ready = True

    def _default_popsize(self, D):
        return 4 + int(3 * np.log(D))

    def _setup(self):
        D = self.dim
        diag = self.options["diagonal"]
        if diag is None:
            diag = D > int(self.options["diagonal_above"])
        self.diagonal = bool(diag)
        self._legacy = LegacyRandom(self.seed)
        self.restarts_done = 0
        self._large_popsize = self.popsize
        self._budget = {"large": 0, "small": 0}       # BIPOP: evaluations per regime
        self._regime = "large"
        self._bests = []                   # each generation's best fitness since the last start
        self._es = self._new_es(self.x0.copy(), self.sigma0, self.popsize)
        self._raw = None                   # pycma's own solution arrays of the pending ask

    def _new_es(self, x0, sigma, popsize):
        opts = {"popsize": popsize, "seed": np.nan, "verbose": -9, "verb_disp": 0,
                "verb_log": 0, "verb_filenameprefix": "", "CMA_diagonal": self.diagonal,
                "randn": _global_randn}
        finite = np.isfinite(self.lower) | np.isfinite(self.upper)
        if finite.any():
            lo = [float(v) if np.isfinite(v) else None for v in self.lower]
            hi = [float(v) if np.isfinite(v) else None for v in self.upper]
            opts["bounds"] = [lo, hi]
        opts.update(self.options["cma_options"] or {})
        import cma  # here, not at the top: importing pycma costs a second (scipy, pyplot)
        with self._legacy.active(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return cma.CMAEvolutionStrategy(x0, sigma, opts)

    def _restart(self):
        """Start a new CMA-ES (IPOP: twice the population; BIPOP: the cheaper regime)."""
        self.restarts_done += 1
        x0 = self._clip(self.x0 + self.sigma0 * self._rng.standard_normal(self.dim))
        sigma = self.sigma0
        if self.options["restart_strategy"] == "bipop" and \
                self._budget["small"] < self._budget["large"]:
            u = self._rng.random()
            ratio = self._large_popsize / self.initial_popsize
            popsize = max(2, int(self.initial_popsize * (0.5 * ratio) ** (u * u)))
            sigma = self.sigma0 * 10.0 ** (-2.0 * self._rng.random())
            self._regime = "small"
        else:
            self._large_popsize *= 2
            popsize = self._large_popsize
            self._regime = "large"
        self.popsize = popsize
        self._bests = []
        self._es = self._new_es(x0, sigma, popsize)

    def _ask(self):
        with self._legacy.active(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._raw = self._es.ask()
        return np.array(self._raw)

    def _tell(self, X, f, failed):
        if failed.all():
            self._raw = None               # nothing to learn; the next ask() samples afresh
            return
        cost = -f
        if failed.any():                   # worse than the worst success, keeps the ranking
            worst = cost[~failed].max()
            cost[failed] = worst + 1.0 + abs(worst)
        with self._legacy.active(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._es.tell(self._raw, cost.tolist())
        self._raw = None
        self._budget[self._regime] += len(X)
        self._bests.append(float(f[~failed].max()))
        if (self._es.stop() or self._stagnant()) and self.restarts_done < self.options["restarts"]:
            self._restart()

    def _stagnant(self) -> bool:
        """pycma's tolstagnation test on this run's own history, without pycma's minimum of
        N (5 + 100 / popsize) generations (5,000 for 800 genes): with fitness drawn afresh
        each generation (episodes, noise) its other criteria may never fire."""
        g = self.options["stagnation"]
        if g is None or len(self._bests) < 2 * g:
            return False
        return np.median(self._bests[-g:]) <= np.median(self._bests[-2 * g:-g])

    def _stop(self):
        if self.generation == 0:
            return []
        return [f"cmaes: {k}" for k in self._es.stop()]

    @property
    def sigma(self) -> float:
        return float(self._es.sigma)

    @property
    def step_size(self) -> float:
        return self.sigma

    def _export(self, key, value):
        if key in ("_es", "_raw"):         # pycma's own pickling; one blob keeps identities
            return pickle.dumps(value)
        return super()._export(key, value)

    def _import(self, key, value):
        if key in ("_es", "_raw"):         # pycma's objects only: see evornn.safe_pickle
            return safe_pickle.loads(value)
        return super()._import(key, value)
