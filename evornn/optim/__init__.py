"""Optimizers with one ask/tell interface: ``optimizer(name, dim, ...)``, ``optimizers()``;
the gradient trainers (bptt, rtrl) are registry entries too (``is_gradient``).

Fitness is maximized; see ``evornn.optim.base`` for the shared conventions.
"""
# register the optimizers, then the gradient trainers (bptt, rtrl)
from . import cmaes, cosyne, es, ga, gradient, nsga2, pso, qd, sa, snes, xnes  # noqa: F401
from .base import (
    Optimizer,
    declared_options,
    device_optimizers,
    is_gradient,
    needs_measures,
    optimizer,
    optimizers,
)

__all__ = ["Optimizer", "declared_options", "device_optimizers", "is_gradient", "needs_measures",
           "optimizer", "optimizers"]
