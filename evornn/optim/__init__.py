"""Optimizers with one ask/tell interface: ``optimizer(name, dim, ...)``, ``optimizers()``.

Fitness is maximized; see ``evornn.optim.base`` for the shared conventions.
"""
from . import cmaes, cosyne, es, ga, pso, sa, snes, xnes  # noqa: F401  (register the optimizers)
from .base import Optimizer, optimizer, optimizers

__all__ = ["Optimizer", "optimizer", "optimizers"]
