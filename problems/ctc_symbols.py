"""Unsegmented sequence labelling by connectionist temporal classification (Graves et al. 2006).

Input: a noisy 3-channel signal in which 2-6 symbols (5 classes by default, up to 8) follow
one another with no boundary, each lasting 3-6 steps. Symbol k is a fixed sign pattern over
the three channels (a corner of the cube {-1, 1}^3) under a half-sine bump over its
duration, so a symbol repeated ("aa") shows as two bumps; Gaussian noise is added to every
step of the sequence, and shorter sequences are zero-padded to the longest possible.
Target: the symbol string, with no alignment. The network has one output per symbol plus
the blank (output 0, first), read as logits (a linear readout; the loss log-softmaxes).

Fitness is minus the mean CTC loss (-log p(string | input), evornn.ctc) over a batch drawn
fresh every generation from (run seed, generation); gradient training minimizes the same
loss with torch's ``ctc_loss``. Solved when the greedy-decoded label error rate (edit
distance over reference length, summed over the set) on a fixed held-out set is below 2%.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

import evornn
from evornn.ctc import ctc_mean_loss, greedy_errors
from evornn.problem import Problem

TEST_SEED = 20_260_617
CHANNELS = 3
# symbol k's sign on each channel: the 8 corners of the cube, one a symbol
PATTERNS = np.array([[1.0 if (k >> i) & 1 else -1.0 for i in range(CHANNELS)] for k in range(8)])


def check_options(n_symbols, lengths, durations, noise, batch, n_test, solve_ler) -> None:
    """One-line ValueErrors for options out of range."""
    def whole(v, lo):
        return not isinstance(v, bool) and isinstance(v, (int, np.integer)) and v >= lo

    if not whole(n_symbols, 2) or n_symbols > len(PATTERNS):
        raise ValueError(f"ctc-symbols: n_symbols must be an integer in 2..{len(PATTERNS)}, "
                         f"got {n_symbols!r}")
    for name, pair, lo in (("lengths", lengths, 1), ("durations", durations, 2)):
        if len(tuple(pair)) != 2 or not all(whole(v, lo) for v in pair) or pair[0] > pair[1]:
            raise ValueError(f"ctc-symbols: {name} must be (low, high) integers with {lo} <= low "
                             f"<= high, got {pair!r}" + (" (a repeated symbol needs 2 steps: "
                                                         "itself and a blank)" if lo == 2 else ""))
    for name, v in (("batch", batch), ("n_test", n_test)):
        if not whole(v, 1):
            raise ValueError(f"ctc-symbols: {name} must be a positive integer, got {v!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not noise >= 0:
        raise ValueError(f"ctc-symbols: noise (the standard deviation) must be a number >= 0, "
                         f"got {noise!r}")
    if isinstance(solve_ler, bool) or not isinstance(solve_ler, (int, float)) or not 0 < solve_ler <= 1:
        raise ValueError(f"ctc-symbols: solve_ler must be in (0, 1], got {solve_ler!r}")


def draw(n: int, rng, n_symbols: int = 5, lengths=(2, 6), durations=(3, 6), noise: float = 0.3):
    """n sequences: inputs X [n, T, 3] (T = the longest possible), labels [n, lengths[1]]
    (1..n_symbols, 0-padded), label lengths [n] and input lengths [n]."""
    T = lengths[1] * durations[1]
    X = np.zeros((n, T, CHANNELS))
    labels = np.zeros((n, lengths[1]), np.int64)
    n_labels = rng.integers(lengths[0], lengths[1] + 1, n)
    n_steps = np.zeros(n, np.int64)
    for b in range(n):
        syms = rng.integers(1, n_symbols + 1, n_labels[b])
        durs = rng.integers(durations[0], durations[1] + 1, n_labels[b])
        labels[b, :n_labels[b]] = syms
        t = 0
        for s, d in zip(syms, durs):
            bump = np.sin(np.pi * (np.arange(d) + 0.5) / d)
            X[b, t:t + d] = bump[:, None] * PATTERNS[s - 1]
            t += d
        n_steps[b] = t
        X[b, :t] += noise * rng.standard_normal((t, CHANNELS))
    return X, labels, n_labels, n_steps


def torch_loss(y, Y, W):
    """The gradient form: mean over sequences of torch's CTC loss. y [B, T, C + 1] raw outputs,
    Y [B, L] labels, W [B, 2] (input length, label length) as floats."""
    import torch
    lp = torch.log_softmax(y, dim=-1).transpose(0, 1)
    return torch.nn.functional.ctc_loss(lp, Y.long(), W[:, 0].long(), W[:, 1].long(), blank=0,
                                        reduction="sum") / y.shape[0]


def make(n_symbols: int = 5, lengths=(2, 6), durations=(3, 6), noise: float = 0.3,
         batch: int = 32, n_test: int = 500, solve_ler: float = 0.02, name: str | None = None,
         **defaults) -> Problem:
    """The ctc-symbols problem for these options; ``defaults`` override the Problem's fields."""
    check_options(n_symbols, lengths, durations, noise, batch, n_test, solve_ler)
    lengths, durations = tuple(lengths), tuple(durations)
    name = name or "ctc-symbols"

    def data(n, rng):
        return draw(n, rng, n_symbols, lengths, durations, noise)

    @lru_cache(maxsize=1)
    def test_set():
        return data(n_test, np.random.default_rng((TEST_SEED, n_symbols, n_test)))

    def check(net):
        if net.n_out != n_symbols + 1:
            raise ValueError(f"{name} needs {n_symbols + 1} outputs (the blank and {n_symbols} "
                             f"symbols), got a network with {net.n_out}")
        if net.n_in != CHANNELS:
            raise ValueError(f"{name} needs {CHANNELS} inputs, got a network with {net.n_in}")

    def evaluate(net, genomes, seed) -> np.ndarray:
        check(net)
        X, labels, n_labels, n_steps = data(batch, np.random.default_rng(seed))
        Y = evornn.population_forward(net, genomes, X.astype(np.float32))
        return -ctc_mean_loss(Y, labels, n_labels, n_steps, logits=True)

    def gradient_batch(seed):
        X, labels, n_labels, n_steps = data(batch, np.random.default_rng(seed))
        return X, labels.astype(np.float64), np.stack([n_steps, n_labels], 1).astype(np.float64)

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        X, labels, n_labels, n_steps = test_set()
        Y = evornn.population_forward(net, genome[None], X.astype(np.float32))[0]
        ler = float(greedy_errors(Y, labels, n_labels, n_steps).sum() / n_labels.sum())
        return bool(ler < solve_ler), {"test_ler": ler, "test_sequences": n_test,
                                       "sequences_per_evaluation": batch}

    # snes from the network's own initialization: from the center (every weight 0) seeds 1 and
    # 4 were not solved in 100,000 evaluations, against 50,799 and 25,242 (docs/problems.md)
    fields = dict(arch="gru", n_hidden=8, arch_options={"readout": "linear"}, optimizer="snes",
                  max_evals=300_000, sigma0=0.5, x0="init")
    fields.update(defaults)
    return Problem(name, f"label noisy unsegmented signals of {lengths[0]}-{lengths[1]} symbols "
                   f"({n_symbols} classes, {durations[0]}-{durations[1]} steps each) by CTC; "
                   f"solved when the greedy label error rate on {n_test} test sequences is "
                   f"below {solve_ler:.0%}", n_in=CHANNELS, n_out=n_symbols + 1,
                   evaluate=evaluate, solved=solved, batch=gradient_batch, loss=torch_loss,
                   check=check, outputs=("blank",) + tuple(f"symbol {k}" for k in range(1, n_symbols + 1)),
                   **fields)


PROBLEMS = [make()]
