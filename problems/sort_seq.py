"""Sorting for an encoder-decoder: a source of n symbols from an alphabet of 8 (n = 5-20
trained, tested to 40) is read on n encoder steps, then n decoder steps output it sorted,
smallest first. Inputs, fitness, free-running success test and scheduled sampling as
reverse-seq's (problems/_seq2seq_tasks.py); a sorted sequence is mostly runs of equal
symbols, so the decoder must count how many of each symbol it has read.
"""
from __future__ import annotations

import numpy as np

from evornn.problem import Problem

from . import _seq2seq_tasks as tasks

VOCAB = 8
TRAIN, TEST = (5, 20), (5, 40)


def task(name: str = "sort-seq", vocab: int = VOCAB) -> tasks.Task:
    """Sorting of sources from an alphabet of ``vocab``."""
    return tasks.symbol_task(name, vocab, np.sort, f"sort {vocab}-symbol sequences")


def make(name: str = "sort-seq", train: tuple[int, int] = TRAIN, test: tuple[int, int] = TEST,
         vocab: int = VOCAB, **kw) -> Problem:
    """Sorting with n in ``train`` for fitness and held-out sequences of every n in ``test``;
    the rest as problems/_seq2seq_tasks.make."""
    return tasks.make(task(name, vocab), train, test, seed0=19_450_630, **kw)


PROBLEM = make()
