"""Separable natural evolution strategy (SNES; Schaul, Glasmachers & Schmidhuber 2011)."""
from __future__ import annotations

import numpy as np

from ..options import Option, rule
from .base import Optimizer, register


def nes_utilities(n: int) -> np.ndarray:
    """Rank-based utilities u[k] for rank k (0 = best): log-shaped, zero-sum."""
    k = np.arange(1, n + 1)
    u = np.maximum(0.0, np.log(n / 2 + 1) - np.log(k))
    return u / u.sum() - 1.0 / n


@register
class SNES(Optimizer):
    """SNES: Gaussian search with a per-gene step size, natural-gradient updates.

    x = mean + sigma * s, s ~ N(0, I); with rank utilities u (``nes_utilities``):
    mean += eta_mu * sigma * (u @ s); sigma *= exp(eta_sigma / 2 * u @ (s**2 - 1)).
    Options: ``eta_mu`` (1.0), ``eta_sigma`` (None = (3 + ln D) / (5 sqrt D)).
    sigma starts at sigma0 for every gene. Default popsize 4 + 3 ln D. With ``xp="cupy"``
    mean, sigma and the draws live on the GPU.
    """

    name = "snes"
    description = "separable NES: diagonal Gaussian, rank utilities, natural-gradient mean and step sizes"
    declared_options = {
        "eta_mu": Option(1.0, "learning rate of the mean",
                         rule(lambda v: v > 0, "must be > 0", got=False)),
        "eta_sigma": Option(None, "learning rate of the step sizes (None: (3 + ln D) / (5 sqrt D))",
                            rule(lambda v: v is None or v > 0, "must be > 0 (or None for the "
                                 "default)", got=False)),
    }
    _state_keys = ("mean", "sigma", "_s")
    _device_keys = _state_keys
    device_ready = True

    def _default_popsize(self, D):
        return 4 + int(3 * np.log(D))

    def _setup(self):
        D = self.dim
        xp = self.xp
        self.mean = xp.array(self.x0)
        self.sigma = xp.full(D, self.sigma0)
        self._s = None
        e = self.options["eta_sigma"]
        self._eta_sigma = e if e is not None else (3 + np.log(D)) / (5 * np.sqrt(D))

    @property
    def step_size(self) -> float:
        return float(self.xp.mean(self.sigma))        # one sigma a gene

    def _ask(self):
        self._s = self._normal((self.popsize, self.dim))
        return self.mean + self.sigma * self._s

    def _tell(self, X, f, failed):
        s, self._s = self._s, None
        if failed.all():
            return
        order = np.argsort(-f, kind="stable")               # best first; failures last
        u = np.empty(self.popsize)
        u[order] = nes_utilities(self.popsize)
        xp = self.xp
        u = xp.asarray(u)                                   # P numbers to the device, if any
        self.mean = xp.clip(self.mean + self.options["eta_mu"] * self.sigma * (u @ s),
                            self._lo, self._hi)
        self.sigma = self.sigma * xp.exp(0.5 * self._eta_sigma * (u @ (s * s - 1.0)))
