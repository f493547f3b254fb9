"""What the memory tasks of Graves et al. (2014) share (copy, repeat-copy, associative-recall):
binary targets on some steps of each episode, their fitness and gradient form, and the
success test on a fixed held-out set.

A task's ``draw(n, rng)`` gives inputs X [n, T, I], binary targets Y [n, T, O] and the
scored steps S [n, T] (bool; shorter episodes are zero-padded, padding is never scored).
Every output of a scored step is a bit; a bit is right when the output is on its target's
side of 0.5.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

import evornn
from evornn.problem import Problem

SCREEN = 100          # test episodes run first: a champion that fails them is not tested further


# what solves the memory tasks today: BPTT on float32 twins at Adam's lr 0.003 (copy in 1,155
# evaluations, reverse in 3,685; lr 0.01 learnt copies that do not generalize; snes did not
# solve copy-5 in 90,000 evaluations: docs/problems.md). sigma0 is for --optimizer snes etc.
TRAINED = dict(optimizer="bptt", optimizer_options={"dtype": "float32", "lr": 0.003},
               max_evals=20_000, sigma0=0.5)

# the Graves et al. tasks' Problem fields
DEFAULTS = dict(arch="ntm", n_hidden=20, arch_options={"readout": "sigmoid"}, **TRAINED)


def outputs(net, genomes, X: np.ndarray) -> np.ndarray:
    """Every genome's outputs [P, n, T, O] (float32 kernels)."""
    return evornn.population_forward(net, genomes, X.astype(np.float32)).astype(np.float64)


def weights(Y: np.ndarray, S: np.ndarray) -> np.ndarray:
    """[n, T, O]: 1 / (scored bits) on every scored output, 0 elsewhere (sums to 1)."""
    return np.broadcast_to(S[..., None] / (S.sum() * Y.shape[2]), Y.shape).copy()


def fitness(Yhat: np.ndarray, Y: np.ndarray, S: np.ndarray) -> np.ndarray:
    """Minus the mean squared error over the scored bits: Yhat [P, n, T, O] -> [P]."""
    return -(((Yhat - Y) ** 2) * weights(Y, S)).sum(axis=(-3, -2, -1))


def hinge(Yhat: np.ndarray, Y: np.ndarray, S: np.ndarray, margin: float) -> np.ndarray:
    """Minus the mean over the scored bits of max(0, margin - d) / margin, d the output's
    distance from 0.5 on its target's side (negative when wrong): Yhat [P, n, T, O] -> [P].
    0 when every bit is right by the margin; outputs of 0.5 everywhere score -1."""
    d = np.where(Y > 0.5, Yhat - 0.5, 0.5 - Yhat)
    return -(np.maximum(margin - d, 0.0) * weights(Y, S)).sum(axis=(-3, -2, -1)) / margin


def bits_wrong(Yhat: np.ndarray, Y: np.ndarray, S: np.ndarray) -> np.ndarray:
    """[P, n]: how many scored bits of each episode are on the wrong side of 0.5."""
    return (((Yhat > 0.5) != (Y > 0.5)) & S[..., None]).sum(axis=(-2, -1))


def make_problem(name: str, description: str, draw: Callable, test_set: Callable, n_in: int,
                 n_out: int, batch: int, n_test: int, info: dict,
                 generalization: Callable | None = None, margin: float | None = None,
                 **fields) -> Problem:
    """A Problem whose fitness is minus the mean squared error on ``batch`` fresh episodes
    a generation (with ``margin``: ``hinge`` instead, for evolution; gradient training keeps
    the squared error); solved when every bit of the ``n_test`` episodes of ``test_set(n)``
    is right. ``generalization(net, genome) -> dict`` adds figures to a solved champion's
    info."""
    if margin is not None and not 0 < margin <= 0.5:
        raise ValueError(f"{name}: margin must be a number in (0, 0.5] or None, got {margin!r}")

    def evaluate(net, genomes, seed) -> np.ndarray:
        X, Y, S = draw(batch, np.random.default_rng(seed))
        Yhat = outputs(net, genomes, X)
        return fitness(Yhat, Y, S) if margin is None else hinge(Yhat, Y, S, margin)

    def data(seed):
        X, Y, S = draw(batch, np.random.default_rng(seed))
        return X, Y.astype(np.float64), weights(Y, S)

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        X, Y, S = test_set(n_test)
        k = min(SCREEN, n_test)
        wrong = bits_wrong(outputs(net, genome[None], X[:k]), Y[:k], S[:k])[0]
        if wrong.any():
            return False, {"test_bits_wrong": float(wrong.sum() / (S[:k].sum() * n_out))}
        wrong = bits_wrong(outputs(net, genome[None], X[k:]), Y[k:], S[k:])[0] if n_test > k \
            else wrong
        out = {"test_bits_wrong": float(wrong.sum() / (S[k:].sum() * n_out)) if n_test > k else 0.0,
               "test_episodes": n_test, "sequences_per_evaluation": batch, **info}
        ok = not wrong.any()
        if ok and generalization is not None:
            out.update(generalization(net, genome))
        return ok, out

    return Problem(name, description, n_in=n_in, n_out=n_out, evaluate=evaluate, solved=solved,
                   batch=data, **fields)
