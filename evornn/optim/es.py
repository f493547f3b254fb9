"""OpenAI-ES (Salimans et al. 2017): mirrored sampling, centered ranks, Adam/SGD on the mean.

Every perturbation is regenerated from an integer seed (``perturbation(seed)``), so a
distributed backend can ship seeds instead of genomes: individual 2i is
``mean + sigma * eps(seeds[i])`` and individual 2i+1 is ``mean - sigma * eps(seeds[i])``.
"""
from __future__ import annotations

import numpy as np

from ..options import Option, rule
from .base import Optimizer, centered_ranks, register
from .snes import nes_utilities


def perturbation(seed: int, dim: int) -> np.ndarray:
    """The standard-normal perturbation eps[dim] that integer ``seed`` stands for."""
    return np.random.default_rng([int(seed), 0x5EED]).standard_normal(dim)


def population_from_seeds(seeds, mean: np.ndarray, sigma: float, lower=-np.inf,
                          upper=np.inf) -> np.ndarray:
    """The [2 len(seeds), D] mirrored population (mean +- sigma eps(seed)), within bounds:
    what a remote worker rebuilds from the seeds alone."""
    mean = np.asarray(mean, np.float64)
    E = np.array([perturbation(s, mean.size) for s in seeds]).reshape(len(seeds), mean.size)
    X = np.empty((2 * len(seeds), mean.size))
    X[0::2] = mean + sigma * E
    X[1::2] = mean - sigma * E
    return np.clip(X, lower, upper)


@register
class OpenAIES(Optimizer):
    """OpenAI-ES: antithetic Gaussian perturbations of the mean, rank-shaped gradient step.

    Options: ``lr`` (0.05), ``optimizer`` ("adam" or "sgd"), ``beta1`` (0.9), ``beta2``
    (0.999), ``momentum`` (0.9, sgd), ``weight_decay`` (0.0, L2 coefficient as in the
    paper), ``sigma_lr`` ("auto": the noise std adapts by SNES's rule at (3 + ln D) /
    (5 sqrt D); 0: fixed), ``sigma_decay`` (1.0; sigma *= sigma_decay per generation) down
    to ``sigma_min`` (1e-8). sigma0 is the starting noise std. popsize must be even.
    With ``xp="cupy"`` the mean, Adam's moments and the perturbations live on the GPU: a
    generation's perturbations are one device draw from one key (``seeds`` holds that key),
    not a host generator a pair.
    """

    name = "es"
    description = "OpenAI-ES: mirrored sampling, centered-rank shaping, Adam/SGD on the mean, seed-replayable"
    default_popsize = 50
    declared_options = {
        "lr": Option(0.05, "learning rate of the mean's update",
                     rule(lambda v: v > 0, "must be > 0", got=False)),
        "optimizer": Option("adam", "'adam' or 'sgd' (with momentum) on the mean",
                            rule(lambda v: v in ("adam", "sgd"), "must be 'adam' or 'sgd'")),
        "beta1": Option(0.9, "adam: decay of the gradient's running mean",
                        rule(lambda v: 0 <= v < 1, "must be in [0, 1)")),
        "beta2": Option(0.999, "adam: decay of the squared gradient's running mean",
                        rule(lambda v: 0 <= v < 1, "must be in [0, 1)")),
        "momentum": Option(0.9, "sgd: momentum", rule(lambda v: 0 <= v <= 1, "must be in [0, 1]")),
        "weight_decay": Option(0.0, "L2 coefficient pulling the mean towards 0",
                               rule(lambda v: 0 <= v < float("inf"), "must be a finite number >= 0")),
        "sigma_decay": Option(1.0, "sigma *= sigma_decay each generation (1: fixed noise std)",
                              rule(lambda v: 0 < v <= 1, "must be in (0, 1]", got=False)),
        "sigma_min": Option(1e-8, "sigma_decay stops at this noise std",
                            rule(lambda v: 0 <= v < float("inf"), "must be a finite number >= 0")),
        "sigma_lr": Option("auto", "learning rate of the noise std's adaptation (SNES's rule); "
                           "auto: (3 + ln D) / (5 sqrt D); 0: a fixed noise std",
                           rule(lambda v: v == "auto" or (isinstance(v, (int, float))
                                                          and not isinstance(v, bool) and v >= 0),
                                "must be 'auto' or a number >= 0")),
    }
    _state_keys = ("mean", "sigma", "_m", "_v", "_t", "_seeds")
    _device_keys = ("mean", "_m", "_v")
    device_ready = True

    def _check_options(self, o):
        super()._check_options(o)
        if self.popsize % 2:
            raise ValueError(f"popsize must be even for mirrored sampling, got {self.popsize}")

    def _setup(self):
        lr = self.options["sigma_lr"]
        self._sigma_lr = (3 + np.log(self.dim)) / (5 * np.sqrt(self.dim)) if lr == "auto" else lr
        xp = self.xp
        self.mean = xp.array(self.x0)
        self.sigma = self.sigma0
        self._m = xp.zeros(self.dim)
        self._v = xp.zeros(self.dim)
        self._t = 0
        self._seeds = None
        # a device population crosses to no worker: it is evaluated where it is
        self.ships_seeds = xp is np

    def perturbation(self, seed: int) -> np.ndarray:
        """The standard-normal perturbation eps[D] that integer ``seed`` stands for."""
        return perturbation(seed, self.dim)

    # the pending population can cross to remote workers as seed_batch() (an evaluator's
    # evaluate_seeds) instead of as the genomes ask() returned
    ships_seeds = True

    def seed_batch(self) -> dict:
        """The pending population as seeds: rebuild(seeds[lo:hi], mean, *args) gives its
        genomes rows * lo .. rows * hi - 1, exactly as ask() returned them."""
        return {"seeds": self.seeds, "rows": 2, "mean": self.mean,
                "args": (self.sigma, self.lower, self.upper), "rebuild": population_from_seeds}

    @property
    def seeds(self) -> np.ndarray:
        """Seeds of the pending population (one per mirrored pair), or None."""
        return None if self._seeds is None else self._seeds.copy()

    def population_from_seeds(self, seeds, mean=None, sigma=None) -> np.ndarray:
        """Rebuild the [2*len(seeds), D] population (+eps, -eps pairs) from seeds."""
        mean = self.mean if mean is None else np.asarray(mean, np.float64)
        sigma = self.sigma if sigma is None else float(sigma)
        return population_from_seeds(seeds, mean, sigma)

    @property
    def step_size(self) -> float:
        return float(self.sigma)

    def _eps(self, seeds):
        """The perturbations eps [P/2, D] of the pending population: one a seed on the host,
        one device draw from the generation's key (seeds[0]) on a device."""
        if self.xp is np:
            return np.array([self.perturbation(s) for s in seeds])
        from .xp import device_normal
        return device_normal(self.xp, int(seeds[0]), (self.popsize // 2, self.dim))

    def _ask(self):
        if self.xp is np:
            self._seeds = self._rng.integers(0, 2**31 - 1, self.popsize // 2, dtype=np.int64)
            return self.population_from_seeds(self._seeds)
        self._seeds = np.array([self._device_key()], dtype=np.uint64)      # uint64: a key
        E = self.sigma * self._eps(self._seeds)
        X = self.xp.empty((self.popsize, self.dim))
        X[0::2] = self.mean + E
        X[1::2] = self.mean - E
        return X

    def _import(self, key, value):
        if key == "_seeds" and value is not None and \
                (np.asarray(value).dtype == np.uint64) != (self.xp is not np):
            where = "a device" if self.xp is np else "the host"
            raise ValueError(f"this es state dict was taken between ask and tell on {where}: its "
                             "pending perturbations are seeds of that stream; load it into an "
                             "optimizer with the same xp, or take it after tell")
        return super()._import(key, value)

    def _tell(self, X, f, failed):
        o = self.options
        if not failed.all():
            r = centered_ranks(f)                                 # failures (-inf) rank lowest
            xp = self.xp
            E = self._eps(self._seeds)
            w = xp.asarray(r[0::2] - r[1::2])
            g = w @ E / (self.popsize * self.sigma)               # ascent direction estimate
            g = g - o["weight_decay"] * self.mean
            self._t += 1
            if o["optimizer"] == "adam":
                b1, b2 = o["beta1"], o["beta2"]
                self._m = b1 * self._m + (1 - b1) * g
                self._v = b2 * self._v + (1 - b2) * g * g
                a = o["lr"] * np.sqrt(1 - b2 ** self._t) / (1 - b1 ** self._t)
                step = a * self._m / (xp.sqrt(self._v) + 1e-8)
            else:
                self._m = o["momentum"] * self._m + (1 - o["momentum"]) * g
                step = o["lr"] * self._m
            if self._sigma_lr > 0:
                # SNES's rule with its top-heavy utilities (centred ranks are symmetric, so on
                # a slope they cannot tell that the far samples ahead beat the near ones)
                u = np.empty(self.popsize)
                u[np.argsort(-f, kind="stable")] = nes_utilities(self.popsize)
                z = xp.repeat(xp.mean(E * E, axis=1) - 1.0, 2)     # a mirrored pair: one |eps|
                self.sigma = float(self.sigma * np.exp(0.5 * self._sigma_lr * float(xp.asarray(u) @ z)))
            self.mean = xp.clip(self.mean + step, self._lo, self._hi)
        self.sigma = max(self.sigma * o["sigma_decay"], o["sigma_min"])
        self._seeds = None
