"""Identification of a nonlinear IIR system, the task locally recurrent networks were made for
(Back and Tsoi 1991; Campolucci et al. 1999): a linear IIR filter followed by a static
nonlinearity (a Wiener system),

    z(t) = 0.4 u(t) + 0.3 u(t-1) + 0.2 u(t-2) + 0.45 z(t-1) - 0.3 z(t-2),   y(t) = sin(1.5 z(t)),

driven by white noise u uniform in [-1, 1], system and network both from rest. The network
reads u(t) and outputs its estimate of y(t). Fitness is minus the mean squared error over a
batch of ``batch`` sequences of ``steps`` steps drawn from (run seed, generation); its
gradient form is that weighted squared error (Problem.batch). Solved when the NRMSE,
sqrt(mean (y - yhat)^2 / var(y)), on a fixed held-out set of 8 sequences of 500 steps is
below 0.05 (the best linear filter of u, 20 taps, reaches 0.106: the nonlinearity matters).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

import evornn
from evornn.problem import Problem

NUM, DEN = (0.4, 0.3, 0.2), (0.45, -0.3)       # z(t) = sum NUM_k u(t-k) + sum DEN_k z(t-1-k)
GAIN = 1.5
SOLVED_AT = 0.05


def system(u: np.ndarray) -> np.ndarray:
    """The system's output y [n, T] for inputs u [n, T], from rest."""
    z = np.zeros_like(u)
    for t in range(u.shape[1]):
        acc = sum(b * u[:, t - k] for k, b in enumerate(NUM) if t - k >= 0)
        acc = acc + sum(a * z[:, t - 1 - k] for k, a in enumerate(DEN) if t - 1 - k >= 0)
        z[:, t] = acc
    return np.sin(GAIN * z)


def data(n: int, T: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Inputs [n, T, 1] and the system's outputs [n, T, 1]."""
    u = rng.uniform(-1.0, 1.0, (n, T))
    return u[..., None], system(u)[..., None]


def nrmse(net, genome: np.ndarray, X: np.ndarray, Y: np.ndarray) -> float:
    """sqrt(mean (y - yhat)^2 / var(y)) of one genome (float64 kernels)."""
    out = evornn.population_forward(net, genome[None], X)[0]
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.sqrt(np.mean((out - Y) ** 2) / np.var(Y)))


def make(name: str = "iir-ident", batch: int = 16, steps: int = 100, **defaults) -> Problem:
    """The problem, with ``batch`` sequences of ``steps`` steps an evaluation."""

    @lru_cache(maxsize=1)
    def test_set():
        return data(8, 500, np.random.default_rng(19_990_101))

    def gradient_form(seed):
        X, Y = data(batch, steps, np.random.default_rng(seed))
        return X, Y, np.full(Y.shape, 1.0 / Y.size)

    def evaluate(net, genomes, seed) -> np.ndarray:
        X, Y, W = gradient_form(seed)
        out = evornn.population_forward(net, genomes, X.astype(np.float32)).astype(np.float64)
        f = -(W * (out - Y) ** 2).sum(axis=(1, 2, 3))
        return np.where(np.isfinite(f), f, -np.inf)

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        err = nrmse(net, genome, *test_set())
        return bool(err < SOLVED_AT), {"test_nrmse": float(f"{err:.4g}"), "test_sequences": 8,
                                       "test_steps": 500}

    fields = dict(arch="lrnn", n_hidden=4, arch_options={"zeros": 2, "poles": 2},
                  optimizer="cmaes", sigma0=0.3, max_evals=100_000)
    fields.update(defaults)
    return Problem(name, "identify a nonlinear IIR (Wiener) system from white-noise input and its "
                   f"output; solved at held-out NRMSE < {SOLVED_AT}", n_in=1, n_out=1,
                   evaluate=evaluate, solved=solved, batch=gradient_form, **fields)


PROBLEM = make()
