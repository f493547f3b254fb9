"""The context-sensitive language a^n b^n c^n, next-symbol prediction (Gers and Schmidhuber 2001).

The string for n is S a^n b^n c^n T (n >= 1). Inputs are one-hot over (S, a, b, c), one
symbol a step; outputs (linear: one per symbol a, b, c, T) predict the symbols that may
come next.
After S only a may follow; after an a, a or b (the network cannot know n yet); after the
k-th b, b while k < n and c at k = n; after the k-th c, c while k < n and T at k = n. As in
the paper, a string is predicted correctly when at every step the outputs of all the
symbols that may come next are above 0.5 and all others below: every predictable symbol
is predicted, which needs counting.

Training strings are n = 1 .. n_train (10 by default, fixed, so fitness is deterministic);
fitness is minus the mean squared error (each string weighted alike). The problem is solved
when every training string is predicted correctly; ``info["generalizes_to"]`` is then the
largest N such that every n in 1 .. N is right, tested up to n_test (100).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

import evornn
from evornn.problem import Problem

IN_SYMBOLS, OUT_SYMBOLS = "Sabc", "abcT"


def string(n: int) -> str:
    """S a^n b^n c^n T."""
    return "S" + "a" * n + "b" * n + "c" * n + "T"


def targets(n: int) -> np.ndarray:
    """[3n + 1, 4] multi-hot over (a, b, c, T): what may follow each prefix of string(n)."""
    Y = np.zeros((3 * n + 1, 4))
    Y[0, 0] = 1                                   # after S: a
    Y[1:n + 1, 0:2] = 1                           # after an a: a or b
    Y[n + 1:2 * n, 1] = 1                         # after the k-th b, k < n: b
    Y[2 * n, 2] = 1                               # after the n-th b: c
    Y[2 * n + 1:3 * n, 2] = 1                     # after the k-th c, k < n: c
    Y[3 * n, 3] = 1                               # after the n-th c: T
    return Y


@lru_cache(maxsize=8)
def batch(ns: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs [len(ns), L, 4] one-hot, targets [len(ns), L, 4], mask [len(ns), L] (zero-padded)."""
    L = 3 * max(ns) + 1
    X = np.zeros((len(ns), L, 4))
    Y = np.zeros((len(ns), L, 4))
    M = np.zeros((len(ns), L), bool)
    for i, n in enumerate(ns):
        s = string(n)[:-1]
        X[i, np.arange(len(s)), [IN_SYMBOLS.index(c) for c in s]] = 1.0
        Y[i, :len(s)] = targets(n)
        M[i, :len(s)] = True
    return X, Y, M


def outputs(net, genomes, X: np.ndarray) -> np.ndarray:
    """Every genome's outputs, [P, n, L, 4] (float32 kernels)."""
    return evornn.population_forward(net, genomes, X.astype(np.float32)).astype(np.float64)


def fitness(Yhat: np.ndarray, Y: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Minus the mean squared error, each string's steps averaged first -> [P]."""
    err = ((Yhat - Y) ** 2).mean(axis=-1) * M
    return -(err.sum(axis=-1) / M.sum(axis=-1)).mean(axis=-1)


def strings_right(Yhat: np.ndarray, Y: np.ndarray, M: np.ndarray) -> np.ndarray:
    """[P, n] True where at every step exactly the possible next symbols are above 0.5."""
    wrong = ((Yhat > 0.5) != (Y > 0.5)).any(axis=-1) & M
    return ~wrong.any(axis=-1)


def generalizes_to(right: np.ndarray) -> int:
    """The largest N with strings 1 .. N all right (right[i] is for n = i + 1)."""
    return int(np.argmin(right)) if not right.all() else len(right)


def make(n_train: int = 10, n_test: int = 100, name: str = "anbncn", **defaults) -> Problem:
    """a^n b^n c^n prediction trained on n = 1 .. n_train; ``defaults`` override the fields."""
    train = tuple(range(1, n_train + 1))
    test = tuple(range(1, n_test + 1))

    def evaluate(net, genomes, seed) -> np.ndarray:
        X, Y, M = batch(train)
        return fitness(outputs(net, genomes, X), Y, M)

    def data(seed):
        X, Y, M = batch(train)
        # each string's steps and outputs averaged first, then the strings, as fitness does
        W = M / (M.sum(axis=1, keepdims=True) * Y.shape[2] * len(train))
        return X, Y, np.broadcast_to(W[..., None], Y.shape).copy()

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        X, Y, M = batch(train)
        if not strings_right(outputs(net, genome[None], X), Y, M).all():
            return False, {}
        X, Y, M = batch(test)
        right = strings_right(outputs(net, genome[None], X), Y, M)[0]
        return True, {"generalizes_to": generalizes_to(right), "n_train": n_train,
                      "n_tested": n_test, "sequences_per_evaluation": n_train}

    # 8 cells, not 4: with 4, 1 of seeds 1-3 solved in 100,000 evaluations; with 8, 5 of
    # seeds 1-6 in 400,000 (docs/problems.md). Evaluations are cheap here (10 short strings, about
    # 15,000 a second on 2 cores), so the budget is large
    fields = dict(arch="lstm", n_hidden=8, optimizer="snes", sigma0=2.0, max_evals=400_000)
    fields.update(defaults)
    return Problem(name, f"a^n b^n c^n next-symbol prediction, trained on n = 1..{n_train}; "
                   f"reports the range of n it generalizes to (tested to {n_test})",
                   n_in=4, n_out=4, evaluate=evaluate, solved=solved, batch=data, **fields)


PROBLEMS = [make()]
