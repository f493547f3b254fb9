"""Particle swarm optimization driven ask/tell with pyswarms' backend operators."""
from __future__ import annotations

import contextlib
import logging.config

import numpy as np


@contextlib.contextmanager
def _quiet_pyswarms():
    """pyswarms' Reporter (built on import and by every topology/handler) calls
    logging.config.dictConfig, which reconfigures the root logger and opens ./report.log;
    make that a no-op meanwhile."""
    saved = logging.config.dictConfig
    logging.config.dictConfig = lambda *args, **kwargs: None
    try:
        yield
    finally:
        logging.config.dictConfig = saved


def _pyswarms():
    """pyswarms' backend, imported on first use (it costs a noticeable part of a second)."""
    with _quiet_pyswarms():
        from pyswarms.backend import handlers, operators, swarms, topology
    return operators, handlers, swarms, topology


from ..options import Option, rule  # noqa: E402
from .base import LegacyRandom, Optimizer, register  # noqa: E402


@register
class PSO(Optimizer):
    """Inertia-weight PSO: pyswarms ``compute_pbest`` / ``Star`` or ``Ring`` ``compute_gbest``
    / ``compute_velocity`` / ``compute_position`` on a pyswarms ``Swarm``, one step per tell.

    Options: ``topology`` ("star" = global best, "ring" = local best over ``k`` nearest
    neighbours in the ``p``-norm), ``w`` (0.7298), ``c1`` (1.49618), ``c2`` (1.49618),
    ``vmax`` (None or a velocity clamp, |v| <= vmax). Particles start at x0 + sigma0*N(0, I)
    with velocities sigma0*N(0, I); positions are clipped into the bounds (velocities of
    clipped genes are zeroed). pyswarms' np.random draws run on a private checkpointed state.
    """

    name = "pso"
    description = "particle swarm (pyswarms operators): global-best star or local-best ring topology"
    default_popsize = 30
    declared_options = {
        "topology": Option("star", "'star': every particle follows the global best; 'ring': "
                                   "the best of its k nearest neighbours",
                           rule(lambda v: v in ("star", "ring"), "must be 'star' or 'ring'")),
        "w": Option(0.7298, "inertia weight of the velocity",
                    rule(lambda v: -float("inf") < v < float("inf"), "must be a finite number")),
        "c1": Option(1.49618, "pull towards the particle's own best",
                     rule(lambda v: 0 <= v < float("inf"), "must be a finite number >= 0")),
        "c2": Option(1.49618, "pull towards the swarm's (or the neighbours') best",
                     rule(lambda v: 0 <= v < float("inf"), "must be a finite number >= 0")),
        # checked against the topology and the popsize in _check_options
        "k": Option(3, "ring: neighbours each particle looks at"),
        "p": Option(2, "ring: the distance's norm (1 or 2)",
                    rule(lambda v: v in (1, 2), "must be 1 or 2", got=False)),
        "vmax": Option(None, "velocity clamp |v| <= vmax (None: no clamp)",
                       rule(lambda v: v is None or v > 0, "must be None or > 0", got=False)),
    }
    _state_keys = ("_legacy", "_pos", "_vel", "_pbest_pos", "_pbest_cost", "_best_pos",
                   "_best_cost")

    def _check_options(self, o):
        super()._check_options(o)
        if o["topology"] == "ring" and not (isinstance(o["k"], (int, np.integer))
                                            and 1 <= o["k"] <= self.popsize):
            raise ValueError(f"option k must be an integer in [1, popsize={self.popsize}]")

    def _setup(self):
        P, D = self.popsize, self.dim
        self._legacy = LegacyRandom(self.seed)
        self._pos = self._clip(self.x0 + self.sigma0 * self._rng.standard_normal((P, D)))
        self._pos[0] = self.x0
        self._vel = self.sigma0 * self._rng.standard_normal((P, D))
        self._pbest_pos = self._pos.copy()
        self._pbest_cost = np.full(P, np.inf)
        self._best_pos = self._pos[0].copy()
        self._best_cost = np.inf
        _, handlers, _, topology = _pyswarms()
        with _quiet_pyswarms():
            self._topology = (topology.Star() if self.options["topology"] == "star"
                              else topology.Ring(static=False))
            self._vh = handlers.VelocityHandler(strategy="unmodified")

    def _ask(self):
        return self._pos.copy()

    def _tell(self, X, f, failed):
        o = self.options
        ops, _, swarms, _ = _pyswarms()
        swarm = swarms.Swarm(position=self._pos.copy(), velocity=self._vel.copy(),
                             options={"c1": o["c1"], "c2": o["c2"], "w": o["w"]},
                             pbest_pos=self._pbest_pos.copy(), pbest_cost=self._pbest_cost.copy(),
                             best_pos=self._best_pos.copy(), best_cost=float(self._best_cost))
        swarm.current_cost = np.where(failed, np.inf, -f)        # pyswarms minimizes
        swarm.pbest_pos, swarm.pbest_cost = ops.compute_pbest(swarm)
        if np.isfinite(swarm.pbest_cost).any():
            if o["topology"] == "star":
                best_pos, best_cost = self._topology.compute_gbest(swarm)
            else:
                best_pos, best_cost = self._topology.compute_gbest(swarm, p=o["p"],
                                                                   k=int(o["k"]))
            swarm.best_pos, swarm.best_cost = best_pos, float(best_cost)
        clamp = None if o["vmax"] is None else (-float(o["vmax"]), float(o["vmax"]))
        with self._legacy.active():
            swarm.velocity = ops.compute_velocity(swarm, clamp, self._vh)
        new = ops.compute_position(swarm, None, None)
        clipped = (new < self.lower) | (new > self.upper)
        self._pos = self._clip(new)
        self._vel = np.where(clipped, 0.0, swarm.velocity)
        self._pbest_pos, self._pbest_cost = swarm.pbest_pos.copy(), swarm.pbest_cost.copy()
        self._best_pos = np.array(swarm.best_pos, dtype=np.float64, copy=True)
        self._best_cost = float(swarm.best_cost)
