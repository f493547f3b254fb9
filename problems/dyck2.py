"""Dyck-2, the balanced strings of two bracket types ( ) and [ ], by next-symbol prediction
(as memory-augmented RNNs are tested on it, e.g. Suzgun et al. 2019).

Inputs are one-hot over ( ) [ ], one symbol a step. After each prefix the network predicts
which symbols may come next: an opening bracket always may, so the three outputs are
whether ")" may come (the innermost open bracket is "("), whether "]" may (it is "["),
and whether the string may end (none is open). A step is right when every output is on
its target's side of 0.5, a string when every step is. Closing the right bracket needs
the whole stack of open brackets: a counter does not do.

A string of depth D is built around a chain of D nested brackets: a random balanced
prefix and suffix (depth at most D), and inside the chain, after each opening and each
closing, short random balanced strings that stay within depth D. Its length is at most
10 D. Training strings, ``batch`` a generation drawn from (run seed, generation), have D
uniform in 1..``train_depth``; fitness is minus the mean squared error (each string's
steps and outputs averaged, then the strings). The held-out set has ``per_depth``
strings of each depth 1..``test_depth``; the problem is solved when every one of depth
up to ``train_depth`` is right, and ``info["deepest"]`` is the largest N with every
string of depth 1..N right.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

import evornn
from evornn.problem import Problem

SYMBOLS = "()[]"
OPEN, CLOSE = (0, 2), (1, 3)             # "(" "[" and their closing symbols, by type
TEST_SEED = 20_191_002


def balanced(length: int, depth: int, rng: np.random.Generator) -> list[int]:
    """A random balanced string of the given even length and depth at most ``depth``, as
    bracket indices (0 "(", 1 ")", 2 "[", 3 "]")."""
    out, stack = [], []
    for t in range(length):
        left = length - t
        can_open = len(stack) < depth and len(stack) + 1 <= left - 1
        if stack and (not can_open or rng.random() < 0.5):
            out.append(CLOSE[stack.pop()])
        else:
            kind = int(rng.integers(0, 2))
            stack.append(kind)
            out.append(OPEN[kind])
    return out


def deep(D: int, rng: np.random.Generator) -> list[int]:
    """A string of depth exactly D (module docstring): at most 10 D symbols."""
    def small(room):
        return balanced(2 * int(rng.integers(0, 2)), room, rng) if room > 0 else []
    kinds = rng.integers(0, 2, size=D)
    s = balanced(2 * int(rng.integers(0, D + 1)), D, rng)
    for i, k in enumerate(kinds):
        s += [OPEN[k]] + small(D - i - 1)
    for i, k in enumerate(kinds[::-1]):
        s += [CLOSE[k]] + small(i + 1)
    return s + balanced(2 * int(rng.integers(0, D + 1)), D, rng)


def targets(s: list[int]) -> np.ndarray:
    """[len(s), 3]: after each prefix, whether ")" may come, whether "]" may, whether it may end."""
    Y = np.zeros((len(s), 3))
    stack = []
    for t, c in enumerate(s):
        if c in OPEN:
            stack.append(OPEN.index(c))
        else:
            stack.pop()
        if stack:
            Y[t, stack[-1]] = 1.0
        else:
            Y[t, 2] = 1.0
    return Y


def encode(strings: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs [n, L, 4] one-hot, targets [n, L, 3], mask [n, L] (zero-padded to the longest)."""
    L = max(len(s) for s in strings)
    n = len(strings)
    X, Y, M = np.zeros((n, L, 4)), np.zeros((n, L, 3)), np.zeros((n, L), bool)
    for i, s in enumerate(strings):
        X[i, np.arange(len(s)), s] = 1.0
        Y[i, :len(s)] = targets(s)
        M[i, :len(s)] = True
    return X, Y, M


def outputs(net, genomes, X: np.ndarray) -> np.ndarray:
    """Every genome's outputs, [P, n, L, 3] (float32 kernels)."""
    return evornn.population_forward(net, genomes, X.astype(np.float32)).astype(np.float64)


def weights(M: np.ndarray) -> np.ndarray:
    """[n, L, 3]: each string's steps and outputs averaged, then the strings."""
    W = M / (M.sum(axis=1, keepdims=True) * 3 * M.shape[0])
    return np.broadcast_to(W[..., None], M.shape + (3,)).copy()


def strings_right(Yhat: np.ndarray, Y: np.ndarray, M: np.ndarray) -> np.ndarray:
    """[..., n] True where every output of every step is on its target's side of 0.5."""
    wrong = ((Yhat > 0.5) != (Y > 0.5)).any(axis=-1) & M
    return ~wrong.any(axis=-1)


def deepest(right: np.ndarray, depths: np.ndarray) -> int:
    """The largest N with every string of depth 1..N right."""
    bad = depths[~right]
    return int(bad.min()) - 1 if bad.size else int(depths.max())


def make(train_depth: int = 4, test_depth: int = 16, batch: int = 32, per_depth: int = 10,
         name: str = "dyck2", solve_depth: int | None = None, **defaults) -> Problem:
    """Dyck-2 prediction trained on depths 1..train_depth, tested to test_depth, solved when
    every test string up to solve_depth (default: train_depth) is right; ``defaults``
    override the Problem's fields."""
    solve_depth = train_depth if solve_depth is None else solve_depth
    if not 1 <= train_depth <= test_depth or not 1 <= solve_depth <= test_depth:
        raise ValueError(f"{name}: depths must satisfy 1 <= train_depth <= test_depth and 1 <= "
                         f"solve_depth <= test_depth, got {train_depth}, {test_depth} and "
                         f"{solve_depth}")

    @lru_cache(maxsize=1)
    def test_set():
        rng = np.random.default_rng(TEST_SEED)
        depths = np.repeat(np.arange(1, test_depth + 1), per_depth)
        return (*encode([deep(int(D), rng) for D in depths]), depths)

    def data(seed):
        rng = np.random.default_rng(seed)
        X, Y, M = encode([deep(int(D), rng) for D in rng.integers(1, train_depth + 1, size=batch)])
        return X, Y, weights(M)

    def evaluate(net, genomes, seed) -> np.ndarray:
        X, Y, W = data(seed)
        return -(W * (outputs(net, genomes, X) - Y) ** 2).sum(axis=(-3, -2, -1))

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        X, Y, M, depths = test_set()
        right = strings_right(outputs(net, genome[None], X)[0], Y, M)
        return bool(right[depths <= solve_depth].all()), {
            "deepest": deepest(right, depths), "test_accuracy": float(right.mean()),
            "train_depth": train_depth, "test_depth": test_depth, "sequences_per_evaluation": batch}

    fields = dict(arch="stack_rnn", n_hidden=8,
                  arch_options={"memory": "stack", "width": 4, "capacity": 10 * test_depth,
                                "readout": "sigmoid"},
                  optimizer="snes", sigma0=0.5, max_evals=200_000, x0="init")
    fields.update(defaults)
    return Problem(name, f"Dyck-2 next-symbol prediction (which closing bracket, or the end), "
                   f"trained on depths 1-{train_depth}; reports the deepest predicted perfectly "
                   f"(tested to {test_depth})", n_in=4, n_out=3, evaluate=evaluate, solved=solved,
                   batch=data, **fields)


PROBLEMS = [make()]
