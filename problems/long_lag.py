"""Noise-free sequences with long time lags (Hochreiter and Schmidhuber 1997, Experiment 2a).

p + 1 symbols, one-hot: a_1..a_{p-1} on channels 0..p-2, x on channel p-1, y on channel p.
The two sequences (y, a_1, ..., a_{p-1}, y) and (x, a_1, ..., a_{p-1}, x) have p + 1
symbols each; the network reads the first p, one a step, and predicts the next symbol at
every step (outputs: the same p + 1 channels, sigmoid readout by default). Every prediction
but the last is a function of the current input; the last needs the first symbol kept for
p steps. The sequences are deterministic apart from their first symbol, so a batch is both.

Fitness is minus a weighted squared error between the outputs and the one-hot targets:
the final step carries half of the weight, the p - 1 other steps share the other half (the
paper's criterion is uncertain here; see docs/problems.md). Solved when every prediction of
both sequences is right, its symbol's output the largest, the final one included; the info
reports the final predictions right (of 2) and the others (of 2 (p - 1)).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

import evornn
from evornn.problem import Problem

P = 100


def check_p(p) -> int:
    """p as an int, or one line saying what is allowed."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 2:
        raise ValueError(f"long-lag: p must be an integer >= 2 (the lag), got p={p!r}")
    return int(p)


@lru_cache(maxsize=8)
def sequences(p: int = P) -> tuple[np.ndarray, np.ndarray]:
    """The two sequences as symbol indices [2, p + 1], y-first then x-first."""
    p = check_p(p)
    middle = np.arange(p - 1)
    return np.stack([np.r_[p, middle, p], np.r_[p - 1, middle, p - 1]])


def episodes(p: int = P) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs X [2, p, p + 1] (the first p symbols), targets Y [2, p, p + 1] (the next
    symbols) and weights W [2, p, p + 1] (sum 1; the final step carries half)."""
    s = sequences(p)
    eye = np.eye(p + 1)
    X, Y = eye[s[:, :-1]], eye[s[:, 1:]]
    step = np.full(p, 0.5 / (p - 1)) if p > 1 else np.zeros(p)
    step[-1] = 0.5
    W = np.broadcast_to(step[None, :, None] / (2 * (p + 1)), Y.shape).copy()
    return X, Y, W


def outputs(net, genomes, X: np.ndarray) -> np.ndarray:
    """Every genome's outputs [G, 2, p, p + 1] (float32 kernels)."""
    return evornn.population_forward(net, genomes, X.astype(np.float32)).astype(np.float64)


def score(Yhat: np.ndarray, p: int = P) -> dict:
    """One genome's outputs [2, p, p + 1] -> final predictions right (of 2) and the other
    predictions right (of 2 (p - 1)), by argmax."""
    target = sequences(p)[:, 1:]
    right = Yhat.argmax(axis=-1) == target
    return {"final_right": int(right[:, -1].sum()), "other_right": int(right[:, :-1].sum()),
            "other_steps": 2 * (p - 1)}


def make(p: int = P, name: str | None = None, **defaults) -> Problem:
    """The long-lag task with lag p; ``defaults`` override the Problem's fields."""
    p = check_p(p)
    X, Y, W = episodes(p)

    def evaluate(net, genomes, seed) -> np.ndarray:
        return -(((outputs(net, genomes, X) - Y) ** 2) * W).sum(axis=(-3, -2, -1))

    def data(seed):
        return X, Y, W

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        info = {**score(outputs(net, genome[None], X)[0], p), "p": p, "sequences_per_evaluation": 2}
        return info["final_right"] == 2 and info["other_right"] == info["other_steps"], info

    fields = dict(arch="lstm", n_hidden=4, arch_options={"readout": "sigmoid"},
                  optimizer="snes", sigma0=1.0, max_evals=200_000)
    fields.update(defaults)
    return Problem(name or ("long-lag" if p == P else f"long-lag-{p}"),
                   f"noise-free long time lag (Hochreiter and Schmidhuber 1997, exp. 2a), p = {p}: "
                   f"predict the next of p + 1 one-hot symbols; solved when every next symbol, "
                   f"the final one (the first repeated) included, is predicted on both sequences",
                   n_in=p + 1, n_out=p + 1, evaluate=evaluate, solved=solved, batch=data, **fields)


PROBLEMS = [make()]
