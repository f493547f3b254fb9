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
The machinery is problems/_seq2seq_tasks.py, shared with sort-seq and addition-seq.

``reverse-seq-small`` (alphabet 4, n = 2-4 trained, tested to 8, a GRU of 8) is the
smallest setting, for evolution.
"""
from __future__ import annotations

import numpy as np

from evornn.problem import Problem

from . import _seq2seq_tasks as tasks

VOCAB = 8
TRAIN, TEST = (5, 20), (5, 40)


def task(name: str = "reverse-seq", vocab: int = VOCAB) -> tasks.Task:
    """Reversal of sources from an alphabet of ``vocab``."""
    return tasks.symbol_task(name, vocab, lambda a: a[::-1], f"reverse {vocab}-symbol sequences")


def encode(sources: list[np.ndarray], vocab: int = VOCAB) -> tuple[np.ndarray, np.ndarray]:
    """Teacher-forced inputs [n, T, vocab + 2] and targets [n, T] (symbol, -1 where not
    scored) of the given sources, T = 2 * longest."""
    return tasks.encode(sources, [a[::-1] for a in sources], vocab, task="reverse-seq")


def free_running(net, genome, sources: list[np.ndarray], vocab: int = VOCAB) -> np.ndarray:
    """Greedy decoding, each decoder step fed the argmax of the previous output: the
    predicted reversals [n, longest] (-1 beyond each sequence)."""
    return tasks.free_running(net, genome, sources, [len(a) for a in sources], vocab)


def make(name: str = "reverse-seq", train: tuple[int, int] = TRAIN, test: tuple[int, int] = TEST,
         vocab: int = VOCAB, **kw) -> Problem:
    """Reversal with n in ``train`` for fitness and held-out sequences of every n in ``test``;
    the rest as problems/_seq2seq_tasks.make."""
    return tasks.make(task(name, vocab), train, test, seed0=20_140_910, **kw)


PROBLEMS = [make(),
            make("reverse-seq-small", train=(2, 4), test=(2, 8), vocab=4, n_hidden=8,
                 optimizer="snes", optimizer_options={}, max_evals=200_000)]
