"""Embedded Reber grammar, next-symbol prediction (Hochreiter and Schmidhuber 1997, experiment 1).

A Reber string walks the graph below from B to E, every branch taken with probability 1/2:

    1 -T-> 2, 1 -P-> 3;  2 -S-> 2, 2 -X-> 4;  3 -T-> 3, 3 -V-> 5;
    4 -X-> 3, 4 -S-> 6;  5 -P-> 4, 5 -V-> 6;  6 -E-> end        (after B at node 1)

An embedded Reber string is B, then T or P, then a Reber string, then the same T or P
again, then E. Symbols are one-hot over (B, T, P, S, X, V, E) in and out. At every step but
the last the target is the set of symbols that may come next (multi-hot, so the network
predicts all legal successors); outputs are sigmoids in [0, 1]. A string is predicted
correctly when every output is within 0.25 of its target at every step: the paper's
criterion. The hard step is the one after the inner E, which must recall the second
symbol across the whole inner string.

Fitness is minus the mean squared error over the steps of a batch of training strings
drawn fresh every generation from (run seed, generation). The champion is solved when it
predicts all 10,000 strings of a fixed held-out set correctly (the paper's test set size;
a set of the first 500 strings screens champions first, so that most generations cost
little). ``make(embedded=False)`` gives the plain Reber grammar, a much easier task.

Defaults differ by grammar. The plain grammar keeps the 4-cell LSTM that solves it
reliably. The embedded one needs more state: it must track the inner graph, know that the
previous symbol was the outer B, and hold T or P across the inner string. With LSTM 4 the
search stalls at an MSE of about 0.03 without even predicting the inner B right.
An 8-unit GRU, searched more finely (sigma0 0.5, popsize 50), learns all of it. It gets
100 strings a generation, against 50 for the plain grammar. With 50, one of seeds 1-3
reached a batch MSE of 1e-4 but never passed all 10,000 test strings.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

import evornn
from evornn.problem import Problem

SYMBOLS = "BTPSXVE"
B, T, P, S, X, V, E = range(7)
# the Reber graph: NEXT[node] = ((symbol, next node), (symbol, next node)); node 6 emits E
NEXT = {1: ((T, 2), (P, 3)), 2: ((S, 2), (X, 4)), 3: ((T, 3), (V, 5)),
        4: ((X, 3), (S, 6)), 5: ((P, 4), (V, 6))}
TOLERANCE = 0.25
TEST_SEED = 20_260_1997


def reber_strings(n: int, rng: np.random.Generator) -> list[list[int]]:
    """n Reber strings B ... E as symbol indices, all nodes' choices drawn at once per step."""
    table = np.zeros((7, 2, 2), np.int64)              # table[node, choice] = (symbol, next)
    for node, choices in NEXT.items():
        table[node] = choices
    out = [[B] for _ in range(n)]
    node = np.ones(n, np.int64)
    live = np.arange(n)
    while live.size:
        pick = table[node[live], rng.integers(0, 2, size=live.size)]
        for i, (sym, nxt) in zip(live, pick):
            out[i].append(int(sym))
            node[i] = nxt
        done = node[live] == 6
        for i in live[done]:
            out[i].append(E)
        live = live[~done]
    return out


def embedded_strings(n: int, rng: np.random.Generator) -> list[list[int]]:
    """n embedded Reber strings B (T|P) <Reber string> (same T|P) E."""
    arms = np.where(rng.integers(0, 2, size=n) == 0, T, P)
    return [[B, int(a), *s, int(a), E] for a, s in zip(arms, reber_strings(n, rng))]


def successors(s: list[int], embedded: bool) -> np.ndarray:
    """[len(s) - 1, 7] multi-hot: the symbols that may follow each prefix of string s."""
    inner = s[2:-2] if embedded else s
    sets = [[T, P], [B]] if embedded else []            # after the outer B: an arm, then B
    node = 1
    for sym in inner[1:]:                               # walk the graph to know each node
        sets.append([E] if node == 6 else [c for c, _ in NEXT[node]])
        if sym != E:
            node = dict(NEXT[node])[sym]
    if embedded:
        sets += [[s[1]], [E]]                           # after the inner E: the same arm, then E
    Y = np.zeros((len(s) - 1, 7))
    for t, allowed in enumerate(sets):
        Y[t, allowed] = 1.0
    return Y


def encode(strings: list[list[int]], embedded: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs [n, L, 7] one-hot, targets [n, L, 7] multi-hot, mask [n, L] (L = longest - 1)."""
    L = max(len(s) for s in strings) - 1
    X = np.zeros((len(strings), L, 7))
    Y = np.zeros((len(strings), L, 7))
    M = np.zeros((len(strings), L), bool)
    for i, s in enumerate(strings):
        n = len(s) - 1
        X[i, np.arange(n), s[:-1]] = 1.0
        Y[i, :n] = successors(s, embedded)
        M[i, :n] = True
    return X, Y, M


def draw(n: int, rng: np.random.Generator, embedded: bool):
    """n encoded strings of the chosen grammar."""
    strings = embedded_strings(n, rng) if embedded else reber_strings(n, rng)
    return encode(strings, embedded)


def outputs(net, genomes, X: np.ndarray) -> np.ndarray:
    """Every genome's outputs clipped to [0, 1] (for non-sigmoid readouts), [P, n, L, 7]."""
    Y = evornn.population_forward(net, genomes, X.astype(np.float32)).astype(np.float64)
    return np.clip(Y, 0.0, 1.0)


def fitness(Yhat: np.ndarray, Y: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Minus the mean squared error over the real steps (mask M) and the 7 outputs -> [P]."""
    err = (Yhat - Y) ** 2 * M[..., None]                # padding counts nothing
    return -err.sum(axis=(-3, -2, -1)) / (M.sum() * 7)


def strings_right(Yhat: np.ndarray, Y: np.ndarray, M: np.ndarray) -> np.ndarray:
    """[P, n] True where every output of every step is within 0.25 of its target."""
    bad = (np.abs(Yhat - Y) >= TOLERANCE).any(axis=-1) & M
    return ~bad.any(axis=-1)


@lru_cache(maxsize=2)
def test_set(embedded: bool, n: int):
    """The fixed held-out set (generated once per process)."""
    return draw(n, np.random.default_rng(TEST_SEED), embedded)


# the measured defaults of each grammar (see the module docstring)
EMBEDDED_DEFAULTS = dict(arch="gru", n_hidden=8, arch_options={"readout": "sigmoid"},
                         optimizer="snes", popsize=50, sigma0=0.5, max_evals=150_000)
PLAIN_DEFAULTS = dict(arch="lstm", n_hidden=4, arch_options={"readout": "sigmoid"},
                      optimizer="snes", sigma0=1.0, max_evals=100_000)


def make(embedded: bool = True, batch: int | None = None, n_test: int = 10_000,
         name: str | None = None, **defaults) -> Problem:
    """Next-symbol prediction on the (embedded) Reber grammar; ``defaults`` override fields.

    ``batch`` (strings a generation) defaults to 100 for the embedded grammar, 50 for the plain.
    """
    if batch is None:
        batch = 100 if embedded else 50
    def evaluate(net, genomes, seed) -> np.ndarray:
        X, Y, M = draw(batch, np.random.default_rng(seed), embedded)
        return fitness(outputs(net, genomes, X), Y, M)

    def data(seed):
        X, Y, M = draw(batch, np.random.default_rng(seed), embedded)
        W = np.broadcast_to(M[..., None] / (M.sum() * 7.0), Y.shape).copy()
        return X, Y.astype(np.float64), W

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        X, Y, M = test_set(embedded, n_test)
        screen = min(500, n_test)
        if not strings_right(outputs(net, genome[None], X[:screen]), Y[:screen], M[:screen]).all():
            return False, {}
        acc = float(strings_right(outputs(net, genome[None], X), Y, M).mean())
        return acc == 1.0, {"test_accuracy": acc, "test_strings": n_test,
                            "sequences_per_evaluation": batch}

    fields = dict(EMBEDDED_DEFAULTS if embedded else PLAIN_DEFAULTS)
    fields.update(defaults)
    kind = "embedded Reber grammar" if embedded else "Reber grammar"
    return Problem(name or ("reber" if embedded else "reber-plain"),
                   f"{kind}: predict the possible next symbols; solved when all outputs are within "
                   f"0.25 on all {n_test} test strings", n_in=7, n_out=7, evaluate=evaluate,
                   solved=solved, batch=data, **fields)


PROBLEMS = [make(True), make(False)]
