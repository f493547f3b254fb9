"""Exponential natural evolution strategy (xNES; Glasmachers et al. 2010), full covariance."""
from __future__ import annotations

import numpy as np

from ..options import Option, rule
from .base import Optimizer, is_int, register
from .snes import nes_utilities


def _expm_sym(M: np.ndarray, xp=np) -> np.ndarray:
    """Matrix exponential of a symmetric matrix (in array module xp)."""
    w, V = xp.linalg.eigh(0.5 * (M + M.T))
    return (V * xp.exp(w)) @ V.T


@register
class XNES(Optimizer):
    """xNES: x = mean + sigma * B s with det(B) = 1, natural-gradient updates of mean,
    sigma and B (through the matrix exponential). O(D^3) per generation: for small dims.

    Options: ``eta_mu`` (1.0), ``eta_sigma`` and ``eta_B`` (None = 3(3 + ln D)/(5 D sqrt D)),
    ``restart_below`` (None): start again from x0 with sigma0 (the random stream goes on) when
    sigma shrinks below this fraction of sigma0, at most ``restarts`` (10) times; a search
    that narrows onto a deceptive optimum then gets another try. ``basis`` (None): a [D, L]
    matrix A; the search then runs over L coordinates z, genome = x0 + A z (fixed genes where
    a row is 0, tied genes, per-gene scales), and B is L x L. With ``xp="cupy"`` mean, B
    and the draws live on the GPU.
    """

    name = "xnes"
    description = "exponential NES: full-covariance Gaussian, natural-gradient updates (small dims)"
    declared_options = {
        "eta_mu": Option(1.0, "learning rate of the mean",
                         rule(lambda v: v > 0, "must be > 0", got=False)),
        "eta_sigma": Option(None, "learning rate of sigma (None: 3 (3 + ln D) / (5 D sqrt D))",
                            rule(lambda v: v is None or v > 0,
                                 "must be > 0 (or None for the default)", got=False)),
        "eta_B": Option(None, "learning rate of the shape B (None: 3 (3 + ln D) / (5 D sqrt D))",
                        rule(lambda v: v is None or v > 0,
                             "must be > 0 (or None for the default)", got=False)),
        "restart_below": Option(None, "start again from x0 when sigma falls below this fraction "
                                      "of sigma0 (None: never)",
                                rule(lambda v: v is None or 0 < v < 1, "must be in (0, 1) or None")),
        "restarts": Option(10, "at most this many restarts",
                           rule(lambda v: is_int(v) and v >= 0, "must be a non-negative integer")),
        "basis": Option(None, "a [D, L] matrix A: search L coordinates z, genome = x0 + A z "
                              "(None: every gene)", None),
    }
    _state_keys = ("mean", "sigma", "B", "_s", "restarts_done")
    _device_keys = ("mean", "B", "_s")
    device_ready = True

    def _default_popsize(self, D):
        return 4 + int(3 * np.log(D))

    def _check_options(self, o):
        super()._check_options(o)
        v = o["basis"]
        if v is None:
            return
        try:
            A = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            A = None
        if A is None or A.ndim != 2 or A.shape[0] != self.dim or not 1 <= A.shape[1] <= self.dim \
                or not np.isfinite(A).all() or np.linalg.matrix_rank(A) < A.shape[1]:
            raise ValueError(f"option basis must be None or a [{self.dim}, L] matrix of rank L "
                             f"(1 <= L <= {self.dim}, finite), got shape {np.shape(v)}")

    def _setup(self):
        A = self.options["basis"]
        self._A = None if A is None else self.xp.asarray(np.asarray(A, np.float64))
        D = self.dim if self._A is None else self._A.shape[1]      # the coordinates searched
        self.mean = self.xp.array(self.x0)
        self.sigma = self.sigma0
        self.B = self.xp.eye(D)
        self._s = None
        self.restarts_done = 0
        default = 3 * (3 + np.log(D)) / (5 * D * np.sqrt(D))
        o = self.options
        self._eta_sigma = o["eta_sigma"] if o["eta_sigma"] is not None else default
        self._eta_B = o["eta_B"] if o["eta_B"] is not None else default

    @property
    def step_size(self) -> float:
        return float(self.sigma)

    def _ask(self):
        self._s = self._normal((self.popsize, len(self.B)))
        Y = self.sigma * self._s @ self.B.T
        return self.mean + (Y if self._A is None else Y @ self._A.T)

    def _tell(self, X, f, failed):
        s, self._s = self._s, None
        if failed.all():
            return
        D, xp = len(self.B), self.xp
        order = np.argsort(-f, kind="stable")
        u = np.empty(self.popsize)
        u[order] = nes_utilities(self.popsize)
        usum, u = u.sum(), xp.asarray(u)                    # P numbers to the device, if any
        g_delta = u @ s
        g_M = (s.T * u) @ s - usum * xp.eye(D)
        g_sigma = float(xp.trace(g_M)) / D
        g_B = g_M - g_sigma * xp.eye(D)
        d = self.options["eta_mu"] * self.sigma * self.B @ g_delta
        self.mean = xp.clip(self.mean + (d if self._A is None else self._A @ d), self._lo, self._hi)
        self.sigma *= float(np.exp(0.5 * self._eta_sigma * g_sigma))
        self.B = self.B @ _expm_sym(0.5 * self._eta_B * g_B, xp)
        rb = self.options["restart_below"]
        if rb is not None and self.sigma < rb * self.sigma0 and \
                self.restarts_done < self.options["restarts"]:
            self.mean, self.sigma, self.B = xp.array(self.x0), self.sigma0, xp.eye(D)
            self.restarts_done += 1
