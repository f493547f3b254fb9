"""Sequence transduction as Grefenstette, Hermann, Suleyman and Blunsom 2015 run it, shared by
reverse.py and copy_long.py.

A sequence is a start symbol, n symbols a_1..a_n drawn uniformly from a vocabulary of
``vocab``, a separator, then n steps with no input, during which the network outputs the
target, a_n..a_1 (reverse) or a_1..a_n (copy), one symbol a step. Inputs are one-hot over
the vocabulary, start and separator (vocab + 2); outputs are one per vocabulary symbol,
and the symbol output is the largest. Only the n target steps are scored.

Fitness is minus the mean squared error between the outputs and the one-hot targets over
the target steps (each sequence's steps and outputs averaged, then the sequences): the
paper trains softmax outputs by cross-entropy, but a run's gradient form here is a
weighted squared error (evornn.problem.Problem.batch), so evolution and BPTT maximize the
same fitness. Training sequences, ``batch`` a generation drawn from (run seed,
generation), have n uniform in the training range (paper: 8 to 64); the champion is
tested on a fixed held-out set with n in the test range (paper: 65 to 128), reporting
coarse accuracy (the fraction of sequences with every symbol right) and fine accuracy
(the fraction of target symbols right). Solved when coarse accuracy is 1.

Every step takes a slot of a stack_rnn's memory, pushing or not, so the default network's
``capacity`` is the longest test sequence, 2 n_max + 2 steps.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

import evornn
from evornn.problem import Problem

from ._memory_tasks import TRAINED


def generate(n: int, lengths: tuple[int, int], vocab: int, reverse: bool,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n sequences: inputs [n, T, vocab + 2], targets [n, T] (symbol index, -1 where not
    scored), T = 2 * longest + 2 (zero-padded)."""
    lo, hi = lengths
    ns = rng.integers(lo, hi + 1, size=n)
    T = 2 * int(ns.max()) + 2
    X = np.zeros((n, T, vocab + 2))
    Y = np.full((n, T), -1, np.int64)
    for i, k in enumerate(ns):
        a = rng.integers(0, vocab, size=k)
        X[i, 0, vocab] = 1.0                           # start
        X[i, 1 + np.arange(k), a] = 1.0
        X[i, k + 1, vocab + 1] = 1.0                   # separator
        Y[i, k + 2:2 * k + 2] = a[::-1] if reverse else a
    return X, Y, ns


def one_hot(Y: np.ndarray, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets [n, T, vocab] (zeros where not scored) and the mask [n, T] of scored steps."""
    M = Y >= 0
    Z = np.zeros(Y.shape + (vocab,))
    Z[M, Y[M]] = 1.0
    return Z, M


def weights(M: np.ndarray, vocab: int) -> np.ndarray:
    """[n, T, vocab]: each sequence's scored steps and outputs averaged, then the sequences."""
    W = M / (M.sum(axis=1, keepdims=True) * vocab * M.shape[0])
    return np.broadcast_to(W[..., None], M.shape + (vocab,)).copy()


def outputs(net, genomes, X: np.ndarray) -> np.ndarray:
    """Every genome's outputs, [P, n, T, vocab] (float32 kernels)."""
    return evornn.population_forward(net, genomes, X.astype(np.float32)).astype(np.float64)


def fitness(Yhat: np.ndarray, Z: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Minus the weighted squared error -> [P]."""
    return -(W * (Yhat - Z) ** 2).sum(axis=(-3, -2, -1))


def accuracy(Yhat: np.ndarray, Y: np.ndarray) -> tuple[float, float]:
    """(coarse, fine) of one genome's outputs [n, T, vocab]: sequences, symbols right."""
    M = Y >= 0
    right = (Yhat.argmax(axis=-1) == Y) | ~M
    return float(right.all(axis=1).mean()), float(right[M].mean())


def make(name: str, reverse: bool, train: tuple[int, int] = (8, 64), test: tuple[int, int] = (65, 128),
         vocab: int = 8, batch: int = 32, n_test: int = 200, network: dict | None = None,
         **defaults) -> Problem:
    """Reverse (or copy) transduction with n in ``train`` for fitness and ``test`` held out;
    ``network`` adds stack_rnn options to the default network's, ``defaults`` override the
    Problem's fields."""
    if not (1 <= train[0] <= train[1] and 1 <= test[0] <= test[1]) or vocab < 2:
        raise ValueError(f"{name}: lengths must be ranges (lo, hi) with 1 <= lo <= hi and vocab "
                         f">= 2, got train={train}, test={test}, vocab={vocab}")
    seed0 = 20_150_506 + (1 if reverse else 0)

    @lru_cache(maxsize=1)
    def test_set():
        X, Y, _ = generate(n_test, test, vocab, reverse, np.random.default_rng(seed0))
        return X, Y

    def data(seed):
        X, Y, _ = generate(batch, train, vocab, reverse, np.random.default_rng(seed))
        Z, M = one_hot(Y, vocab)
        return X, Z, weights(M, vocab)

    def evaluate(net, genomes, seed) -> np.ndarray:
        X, Z, W = data(seed)
        return fitness(outputs(net, genomes, X), Z, W)

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        X, Y = test_set()
        coarse, fine = accuracy(outputs(net, genome[None], X)[0], Y)
        return coarse == 1.0, {"test_coarse_accuracy": coarse, "test_fine_accuracy": fine,
                               "train_lengths": list(train), "test_lengths": list(test),
                               "test_sequences": n_test, "sequences_per_evaluation": batch}

    memory = "stack" if reverse else "queue"
    fields = dict(arch="stack_rnn", n_hidden=16,
                  arch_options={"memory": memory, "capacity": 2 * max(train[1], test[1]) + 2,
                                "readout": "sigmoid", **(network or {})},
                  x0="init", **TRAINED)
    fields.update(defaults)
    task = "reverse" if reverse else "copy"
    return Problem(name, f"{task} a sequence of {vocab} symbols after a separator (Grefenstette et "
                   f"al. 2015); trained on n = {train[0]}-{train[1]}, tested on {test[0]}-{test[1]}",
                   n_in=vocab + 2, n_out=vocab, evaluate=evaluate, solved=solved, batch=data,
                   **fields)
