"""Sequence reversal for an encoder-decoder (the seq2seq family's phase-flag contract).

A source of n symbols a_1..a_n from an alphabet of ``vocab`` (8) is read on n encoder
steps (phase input 0), then n decoder steps (phase input 1) output a_n..a_1, one symbol a
step. Inputs: one-hot symbols (vocab), a start symbol, the phase flag (vocab + 2). Decoder
step k is fed the start symbol (k = 0) or the previous target symbol (teacher forcing);
outputs are one per symbol, the symbol output is the largest. Shorter sequences of a batch
are zero-padded at the end (padding is never scored).

Fitness is minus the mean squared error between the sigmoid outputs and the one-hot
targets over the decoder steps (each sequence's steps and outputs averaged, then the
sequences), as the other transduction problems (problems/_transduction.py): the run's
gradient form is a weighted squared error (Problem.batch). Training draws ``batch``
sequences with n uniform in 5-20 from (run seed, generation).

The success test decodes FREE-RUNNING: each decoder step after the first is fed the
argmax of the network's previous output, on a fixed held-out set of ``per_length``
sequences for every n in 5-40. Solved when at least 99% of the held-out sequences of the
training lengths (5-20) come out exactly right; the info reports exact-match accuracy for
every length up to 40 and over 21-40 (length generalization). A sequence is exactly right
free-running if and only if every argmax is right under teacher forcing (both see the same
inputs up to the first mistake), so a teacher-forced pass screens champions cheaply first.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from evornn.problem import Problem
from evornn.stepper import PopulationStepper

from ._memory_tasks import TRAINED
from ._transduction import fitness, one_hot, outputs, weights

VOCAB = 8
TRAIN, TEST = (5, 20), (5, 40)
SOLVED_AT = 0.99


def encode(sources: list[np.ndarray], vocab: int = VOCAB) -> tuple[np.ndarray, np.ndarray]:
    """Teacher-forced inputs [n, T, vocab + 2] and targets [n, T] (symbol, -1 where not
    scored) of the given sources, T = 2 * longest."""
    T = 2 * max(len(a) for a in sources)
    X = np.zeros((len(sources), T, vocab + 2))
    Y = np.full((len(sources), T), -1, np.int64)
    for i, a in enumerate(sources):
        k = len(a)
        r = a[::-1]
        X[i, np.arange(k), a] = 1.0                      # encoder steps: the source
        X[i, k:2 * k, vocab + 1] = 1.0                   # phase flag on the decoder steps
        X[i, k, vocab] = 1.0                             # start symbol
        X[i, k + 1 + np.arange(k - 1), r[:-1]] = 1.0     # the previous target symbol
        Y[i, k:2 * k] = r
    return X, Y


def draw(n: int, lengths: tuple[int, int], rng: np.random.Generator) -> list[np.ndarray]:
    """n sources with lengths uniform in the range."""
    return [rng.integers(0, VOCAB, size=k) for k in rng.integers(lengths[0], lengths[1] + 1, size=n)]


def free_running(net, genome, sources: list[np.ndarray], vocab: int = VOCAB) -> np.ndarray:
    """Greedy decoding, each decoder step fed the argmax of the previous output: the
    predicted reversals [n, longest] (-1 beyond each sequence)."""
    N = len(sources)
    lens = np.array([len(a) for a in sources])
    L = int(lens.max())
    src = np.full((N, L), -1)
    for i, a in enumerate(sources):
        src[i, :len(a)] = a
    stepper = PopulationStepper(net, np.repeat(genome[None], N, axis=0))
    pred = np.full((N, L), -1)
    prev = np.zeros(N, np.int64)
    rows = np.arange(N)
    for t in range(2 * L):
        x = np.zeros((N, vocab + 2))
        enc = t < lens
        x[enc, src[enc, np.minimum(t, L - 1)]] = 1.0
        k = t - lens                                     # decoder step index
        dec = (k >= 0) & (k < lens)
        x[dec, vocab + 1] = 1.0
        x[dec & (k == 0), vocab] = 1.0
        fed = dec & (k > 0)
        x[fed, prev[fed]] = 1.0
        y = stepper.step(x)
        prev = y.argmax(axis=1)
        pred[rows[dec], k[dec]] = prev[dec]
    return pred


def make(name: str = "reverse-seq", train: tuple[int, int] = TRAIN, test: tuple[int, int] = TEST,
         batch: int = 32, per_length: int = 10, **defaults) -> Problem:
    """Reversal with n in ``train`` for fitness and ``per_length`` held-out sequences of
    every n in ``test``; ``defaults`` override the Problem's fields."""
    seed0 = 20_140_910

    @lru_cache(maxsize=1)
    def test_set():
        rng = np.random.default_rng(seed0)
        return [rng.integers(0, VOCAB, size=n) for n in range(test[0], test[1] + 1)
                for _ in range(per_length)]

    def data(seed):
        X, Y = encode(draw(batch, train, np.random.default_rng(seed)))
        Z, M = one_hot(Y, VOCAB)
        return X, Z, weights(M, VOCAB)

    def evaluate(net, genomes, seed) -> np.ndarray:
        X, Z, W = data(seed)
        return fitness(outputs(net, genomes, X), Z, W)

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        sources = test_set()
        lens = np.array([len(a) for a in sources])
        seen = [a for a in sources if train[0] <= len(a) <= train[1]]
        X, Y = encode(seen)
        M = Y >= 0
        screen = float(((outputs(net, genome[None], X)[0].argmax(-1) == Y) | ~M).all(1).mean())
        info = {"train_lengths": list(train), "test_lengths": list(test),
                "test_sequences_per_length": per_length, "sequences_per_evaluation": batch}
        if screen < SOLVED_AT:
            return False, {"teacher_forced_exact_train_lengths": screen, **info}
        pred = free_running(net, genome, sources)
        right = np.array([np.array_equal(p[:len(a)], a[::-1]) for p, a in zip(pred, sources)])
        by_len = {int(n): float(right[lens == n].mean()) for n in np.unique(lens)}
        inside = (lens >= train[0]) & (lens <= train[1])
        exact = float(right[inside].mean())
        out = {"exact_train_lengths": exact, "exact_by_length": by_len, **info}
        if (~inside).any():
            out["exact_beyond_train"] = float(right[~inside].mean())
        return exact >= SOLVED_AT, out

    fields = dict(arch="seq2seq", n_hidden=32,
                  arch_options={"attention": "bahdanau", "max_source": test[1], "readout": "sigmoid"},
                  x0="init", **TRAINED)
    fields.update(defaults)
    return Problem(name, f"reverse {VOCAB}-symbol sequences with an encoder-decoder (phase flag "
                   f"last); trained on n = {train[0]}-{train[1]} with teacher forcing, tested "
                   f"free-running to n = {test[1]}", n_in=VOCAB + 2, n_out=VOCAB, evaluate=evaluate,
                   solved=solved, batch=data, **fields)


PROBLEM = make()
