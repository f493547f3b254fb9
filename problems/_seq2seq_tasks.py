"""What the encoder-decoder problems share (reverse-seq, sort-seq, addition-seq): the
phase-flag encoding, the fitness, free-running greedy decoding, scheduled sampling and
the success test.

A task maps a source of input symbols to a target of output symbols. Inputs: one-hot
input symbols (``n_sym``), a start symbol, the phase flag (n_sym + 2). The source is read
on encoder steps (flag 0), then one decoder step (flag 1) a target symbol: decoder step 0
is fed the start symbol, step k > 0 the previous target symbol (teacher forcing), output
symbol j fed as input symbol j. Outputs are one per output symbol, the largest is the
symbol. A batch's shorter sequences are zero-padded at the end (never scored).

Fitness is minus the mean squared error between the sigmoid outputs and the one-hot
targets over the decoder steps (each sequence's steps and outputs averaged, then the
sequences), as in problems/_transduction.py; it is also the gradient form (Problem.batch).

Scheduled sampling (Bengio, Vinyals, Jaitly and Shazeer 2015) in the parallel form of
Duckworth, Neelakantan, Goodrich, Kaiser and Bengio (2019): a teacher-forced pass gives the
network's predictions; each fed decoder input is replaced, with probability p, by the
symbol the network predicted at the step before; after ``passes`` such passes the mixed
inputs are scored. Fitness and BPTT see the same inputs (Problem.resample), no gradient
flows through the choice. With p = 1 and passes >= the longest target less one, the scored
inputs are exactly free-running decoding's.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from evornn.problem import Problem
from evornn.stepper import PopulationStepper

from ._memory_tasks import TRAINED
from ._transduction import fitness, one_hot, outputs, weights

SOLVED_AT = 0.99


@dataclass(frozen=True)
class Task:
    """A transduction: ``source(rng, n)`` draws one source of size n (input symbols),
    ``target(source)`` gives its output symbols."""

    name: str
    n_sym: int
    n_out: int
    source: Callable
    target: Callable
    what: str


def symbol_task(name: str, vocab: int, target: Callable, what: str) -> Task:
    """A task whose sources are uniform symbols of an alphabet of ``vocab`` and whose target is
    target(source), as many symbols (reversal, sorting)."""
    if vocab < 2:
        raise ValueError(f"{name}: the alphabet needs at least 2 symbols, got vocab={vocab}")
    return Task(name, vocab, vocab, lambda rng, n: rng.integers(0, vocab, size=n), target, what)


def _check_symbols(task: str, seqs, n: int, kind: str) -> None:
    for s in seqs:
        s = np.asarray(s)
        if s.size == 0 or s.ndim != 1 or s.min() < 0 or s.max() >= n:
            bad = s.tolist() if s.size < 12 else f"{s[:10].tolist()}..."
            raise ValueError(f"{task}: every {kind} must be a non-empty sequence of symbols 0-{n - 1} "
                             f"(its alphabet), got {bad}")


def encode(sources: list, targets: list, n_sym: int, n_out: int | None = None,
           task: str = "seq2seq") -> tuple[np.ndarray, np.ndarray]:
    """Teacher-forced inputs [n, T, n_sym + 2] and targets [n, T] (symbol, -1 where not
    scored), T the longest source plus target."""
    n_out = n_sym if n_out is None else n_out
    _check_symbols(task, sources, n_sym, "source")
    _check_symbols(task, targets, n_out, "target")
    T = max(len(a) + len(r) for a, r in zip(sources, targets))
    X = np.zeros((len(sources), T, n_sym + 2))
    Y = np.full((len(sources), T), -1, np.int64)
    for i, (a, r) in enumerate(zip(sources, targets)):
        k, m = len(a), len(r)
        X[i, np.arange(k), a] = 1.0                      # encoder steps: the source
        X[i, k:k + m, n_sym + 1] = 1.0                   # phase flag on the decoder steps
        X[i, k, n_sym] = 1.0                             # start symbol
        X[i, k + 1 + np.arange(m - 1), r[:-1]] = 1.0     # the previous target symbol
        Y[i, k:k + m] = r
    return X, Y


def free_running(net, genome, sources: list, steps, n_sym: int) -> np.ndarray:
    """Greedy decoding of ``steps[i]`` symbols after source i, each decoder step after the
    first fed the argmax of the previous output: [n, max steps] (-1 beyond each)."""
    N = len(sources)
    lens = np.array([len(a) for a in sources])
    steps = np.asarray(steps)
    L = int(lens.max())
    src = np.full((N, L), -1)
    for i, a in enumerate(sources):
        src[i, :len(a)] = a
    stepper = PopulationStepper(net, np.repeat(genome[None], N, axis=0))
    pred = np.full((N, int(steps.max())), -1)
    prev = np.zeros(N, np.int64)
    rows = np.arange(N)
    for t in range(int((lens + steps).max())):
        x = np.zeros((N, n_sym + 2))
        enc = t < lens
        x[enc, src[enc, np.minimum(t, L - 1)]] = 1.0
        k = t - lens                                     # decoder step index
        dec = (k >= 0) & (k < steps)
        x[dec, n_sym + 1] = 1.0
        x[dec & (k == 0), n_sym] = 1.0
        fed = dec & (k > 0)
        x[fed, prev[fed]] = 1.0
        y = stepper.step(x)
        prev = y.argmax(axis=1)
        pred[rows[dec], k[dec]] = prev[dec]
    return pred


def fed_steps(X: np.ndarray, n_sym: int) -> np.ndarray:
    """[n, T] bool: the decoder steps fed the previous target symbol (flag on, no start)."""
    return (X[..., n_sym + 1] > 0.5) & (X[..., n_sym] == 0)


def mix(X: np.ndarray, chosen: np.ndarray, pred: np.ndarray, n_sym: int) -> np.ndarray:
    """X with the fed inputs of the ``chosen`` steps [n, T] replaced by the symbols
    ``pred`` [n, T] predicted at the step before."""
    i, t = np.nonzero(chosen)
    out = X.copy()
    out[i, t, :n_sym] = 0.0
    out[i, t, pred[i, t - 1]] = 1.0
    return out


def scheduled(X: np.ndarray, forward: Callable, p: float, passes: int, rng: np.random.Generator,
              n_sym: int) -> np.ndarray:
    """The inputs of the scored pass: each fed step chosen with probability p (one coin a
    step) gets the prediction of ``passes`` rounds of forward(inputs) -> outputs [n, T, O]."""
    chosen = fed_steps(X, n_sym) & (rng.random(X.shape[:2]) < p)
    if not chosen.any():
        return X
    mixed = X
    for _ in range(passes):
        mixed = mix(X, chosen, forward(mixed).argmax(-1), n_sym)
    return mixed


def sampling_rate(p: float, ramp: int, seed) -> float:
    """p, or with a ramp, p * min(1, (generation + 1) / ramp), the generation being the
    second entry of the evaluation's seed (run seed, generation[, update])."""
    if not ramp:
        return p
    gen = int(np.ravel(seed)[1]) if np.size(seed) > 1 else 0
    return p * min(1.0, (gen + 1) / ramp)


def make(task: Task, train: tuple[int, int], test: tuple[int, int], seed0: int, batch: int = 32,
         per_length: int = 10, sampling: float = 0.0, ramp: int = 0, passes: int = 1,
         max_source=None, **defaults) -> Problem:
    """The problem of ``task`` with source sizes in ``train`` for fitness and ``per_length``
    held-out sources of every size in ``test``; scheduled sampling at rate ``sampling``
    (reached linearly over ``ramp`` generations) with ``passes`` teacher-forced rounds;
    ``defaults`` override the Problem's fields."""
    name, n_sym = task.name, task.n_sym
    if not (1 <= train[0] <= train[1] and 1 <= test[0] <= test[1]):
        raise ValueError(f"{name}: lengths must be ranges (lo, hi) with 1 <= lo <= hi, got "
                         f"train={train}, test={test}")
    if not (0.0 <= sampling <= 1.0) or int(ramp) < 0 or int(passes) < 1:
        raise ValueError(f"{name}: sampling must be in [0, 1], ramp >= 0 and passes >= 1, got "
                         f"sampling={sampling}, ramp={ramp}, passes={passes}")

    @lru_cache(maxsize=1)
    def test_set():
        rng = np.random.default_rng(seed0)
        sizes = np.array([n for n in range(test[0], test[1] + 1) for _ in range(per_length)])
        return sizes, [task.source(rng, int(n)) for n in sizes]

    def data(seed):
        rng = np.random.default_rng(seed)
        sources = [task.source(rng, int(n)) for n in rng.integers(train[0], train[1] + 1, size=batch)]
        X, Y = encode(sources, [task.target(a) for a in sources], n_sym, task.n_out, name)
        Z, M = one_hot(Y, task.n_out)
        return X, Z, weights(M, task.n_out)

    def resample(X, forward, seed):
        rng = np.random.default_rng([*np.ravel(seed).tolist(), 2015])
        return scheduled(X, forward, sampling_rate(sampling, ramp, seed), passes, rng, n_sym)

    def evaluate(net, genomes, seed) -> np.ndarray:
        X, Z, W = data(seed)
        if not sampling:
            return fitness(outputs(net, genomes, X), Z, W)
        out = np.empty(len(genomes))
        for j, g in enumerate(genomes):      # each genome is scored on its own predictions
            Xg = resample(X, lambda x, g=g: outputs(net, g[None], x)[0], seed)
            out[j] = fitness(outputs(net, g[None], Xg), Z, W)[0]
        return out

    def free_run(net, genome) -> dict:
        """Free-running exact-match accuracy on the held-out set, by size."""
        sizes, sources = test_set()
        targets = [task.target(a) for a in sources]
        inside = (sizes >= train[0]) & (sizes <= train[1])
        pred = free_running(net, genome, sources, [len(r) for r in targets], n_sym)
        right = np.array([np.array_equal(p[:len(r)], r) for p, r in zip(pred, targets)])
        out = {"exact_train_lengths": float(right[inside].mean()),
               "exact_by_length": {int(n): float(right[sizes == n].mean()) for n in np.unique(sizes)}}
        if (~inside).any():
            out["exact_beyond_train"] = float(right[~inside].mean())
        return out

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        sizes, sources = test_set()
        inside = (sizes >= train[0]) & (sizes <= train[1])
        seen = [a for a, i in zip(sources, inside) if i]
        X, Y = encode(seen, [task.target(a) for a in seen], n_sym, task.n_out, name)
        M = Y >= 0
        screen = float(((outputs(net, genome[None], X)[0].argmax(-1) == Y) | ~M).all(1).mean())
        info = {"train_lengths": list(train), "test_lengths": list(test),
                "test_sequences_per_length": per_length, "sequences_per_evaluation": batch}
        if screen < SOLVED_AT:
            return False, {"teacher_forced_exact_train_lengths": screen, **info}
        out = free_run(net, genome)
        return out["exact_train_lengths"] >= SOLVED_AT, {**out, **info}

    fields = dict(arch="seq2seq", n_hidden=32,
                  arch_options={"attention": "bahdanau",
                                "max_source": test[1] if max_source is None else max_source,
                                "readout": "sigmoid"},
                  x0="init", **TRAINED)
    fields.update(defaults)
    how = (f"; scheduled sampling p = {sampling}" + (f" over {ramp} generations" if ramp else "")
           + (f", {passes} passes" if passes > 1 else "")) if sampling else ""
    return Problem(name, f"{task.what} with an encoder-decoder (phase flag last); trained on "
                   f"n = {train[0]}-{train[1]} with teacher forcing{how}, tested free-running to "
                   f"n = {test[1]}", n_in=n_sym + 2, n_out=task.n_out, evaluate=evaluate,
                   solved=solved, batch=data, inspect=free_run,
                   resample=resample if sampling else None, **fields)
