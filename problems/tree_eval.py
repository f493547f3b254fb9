"""Evaluate arithmetic expression trees modulo 10 with a recursive network (the recursive
family's post-order shift/reduce contract, evornn.trees).

An expression is a digit 0-9 or (a op b) with op + or *, computed mod 10; its depth is the
number of operators on its longest root-to-digit path. The binary tree the network reads
puts the operator in as a leaf, Socher-style: (a op b) is ((a, op), b), so the composition
first reads a with its operator, then the right operand. Inputs (13): one-hot over the
digits and the two operators, then the reduce flag. Outputs (10): one logit per digit
(linear readout); the answer is the largest.

Training draws ``batch`` expressions a generation from (run seed, generation), depth uniform
in 1..``train_depth`` (an expression of depth d has one operand of depth d - 1 and the other
of a depth uniform in 0..d - 1, on a random side). Fitness is minus the mean cross-entropy
of the softmax outputs on the scored steps: with ``node_labels`` (the default) every
complete subexpression (digits included) is labelled with its value, as Socher et al.
label every node of a sentiment treebank; without, only the root. The same cross-entropy
is the gradient form (Problem.loss). Trees of a batch are zero-padded at the end; padding
and the (a op) nodes are never scored.

Solved when the root of at least 99% of a fixed held-out set (``per_depth`` expressions of
every depth 1..``train_depth``) is right; the info reports the root accuracy for every
depth 1..``test_depth`` (depths beyond training: generalization; only the training depths
while not solved).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

import evornn
from evornn.problem import Problem
from evornn.trees import encode

MOD = 10
PLUS, TIMES = MOD, MOD + 1
N_SYMBOLS = MOD + 2
SOLVED_AT = 0.99


def draw(d: int, rng: np.random.Generator):
    """An expression of depth exactly d: a digit, or (op, left, right)."""
    if d == 0:
        return int(rng.integers(MOD))
    deep = draw(d - 1, rng)
    other = draw(int(rng.integers(d)), rng)
    left, right = (deep, other) if rng.random() < 0.5 else (other, deep)
    return (PLUS if rng.random() < 0.5 else TIMES, left, right)


def value(expr) -> int:
    """The expression's value mod 10."""
    if not isinstance(expr, tuple):
        return expr
    op, a, b = expr
    return (value(a) + value(b)) % MOD if op == PLUS else (value(a) * value(b)) % MOD


def binary(expr):
    """The binary tree the network reads: (op, a, b) -> ((a, op), b)."""
    if not isinstance(expr, tuple):
        return expr
    op, a, b = expr
    return ((binary(a), op), binary(b))


def labels(expr) -> list[int]:
    """Per post-order step of binary(expr): the value of the subexpression it completes,
    -1 where it completes none (operators and the (a op) nodes)."""
    if not isinstance(expr, tuple):
        return [expr]
    _, a, b = expr
    return labels(a) + [-1, -1] + labels(b) + [value(expr)]


def encode_exprs(exprs: list, stack: int, node_labels: bool) -> tuple[np.ndarray, np.ndarray]:
    """Inputs [n, T, 13] and targets [n, T] (a digit, -1 where not scored)."""
    X, roots = encode([binary(e) for e in exprs], N_SYMBOLS, stack)
    Y = np.full(X.shape[:2], -1, np.int64)
    for i, e in enumerate(exprs):
        if node_labels:
            lab = labels(e)
            Y[i, :len(lab)] = lab
        else:
            Y[i, roots[i]] = value(e)
    return X, Y


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def torch_loss(y, Y, W):
    """The gradient form: minus the weighted log-likelihood of the targets. y [B, T, 10] raw
    outputs, Y [B, T] targets (0 where not scored), W [B, T] weights summing to 1."""
    import torch
    lp = torch.log_softmax(y, dim=-1).gather(-1, Y.long()[..., None])[..., 0]
    return -(W * lp).sum()


def make(name: str = "tree-eval", train_depth: int = 4, test_depth: int = 7, batch: int = 64,
         per_depth: int = 200, node_labels: bool = True, **defaults) -> Problem:
    """Expressions of depth 1..train_depth for fitness, ``per_depth`` held-out ones of every
    depth 1..test_depth; ``defaults`` override the Problem's fields."""
    if not 1 <= train_depth <= test_depth or batch < 1 or per_depth < 1:
        raise ValueError(f"{name}: needs 1 <= train_depth <= test_depth, batch >= 1 and "
                         f"per_depth >= 1, got train_depth={train_depth}, test_depth={test_depth}, "
                         f"batch={batch}, per_depth={per_depth}")
    stack = test_depth + 1                 # what a right spine of test_depth operators needs
    seed0 = 20_110_628

    def data(seed):
        rng = np.random.default_rng(seed)
        exprs = [draw(int(d), rng) for d in rng.integers(1, train_depth + 1, size=batch)]
        X, Y = encode_exprs(exprs, stack, node_labels)
        M = Y >= 0
        W = M / (M.sum(axis=1, keepdims=True) * batch)   # each tree's scored steps averaged
        return X, np.where(M, Y, 0).astype(np.float64), W

    @lru_cache(maxsize=1)
    def test_set():
        rng = np.random.default_rng(seed0)
        exprs = [draw(d, rng) for d in range(1, test_depth + 1) for _ in range(per_depth)]
        X, roots = encode([binary(e) for e in exprs], N_SYMBOLS, stack)
        depths = np.repeat(np.arange(1, test_depth + 1), per_depth)
        return X, roots, np.array([value(e) for e in exprs]), depths

    def check(net):
        if net.n_in != N_SYMBOLS + 1 or net.n_out != MOD:
            raise ValueError(f"{name} needs {N_SYMBOLS + 1} inputs and {MOD} outputs, got a "
                             f"network with {net.n_in} and {net.n_out}")

    def evaluate(net, genomes, seed) -> np.ndarray:
        X, Y, W = data(seed)
        out = evornn.population_forward(net, genomes, X.astype(np.float32)).astype(np.float64)
        lp = np.take_along_axis(_log_softmax(out), Y.astype(np.int64)[None, ..., None], -1)[..., 0]
        return (W * lp).sum(axis=(1, 2))

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        X, roots, want, depths = test_set()
        seen = depths <= train_depth
        info = {"train_depths": [1, train_depth], "test_expressions_per_depth": per_depth,
                "expressions_per_evaluation": batch, "node_labels": node_labels}
        out = evornn.population_forward(net, genome[None], X[seen].astype(np.float32))[0]
        right = out[np.arange(len(out)), roots[seen]].argmax(-1) == want[seen]
        acc = float(right.mean())
        if acc < SOLVED_AT:                # the deeper test trees only for a solved champion
            by_depth = {int(d): float(right[depths[seen] == d].mean()) for d in range(1, train_depth + 1)}
            return False, {"root_accuracy_train_depths": acc, "root_accuracy_by_depth": by_depth, **info}
        out = evornn.population_forward(net, genome[None], X[~seen].astype(np.float32))[0]
        right = np.concatenate([right, out[np.arange(len(out)), roots[~seen]].argmax(-1)
                                == want[~seen]])
        by_depth = {int(d): float(right[depths == d].mean()) for d in range(1, test_depth + 1)}
        return True, {"root_accuracy_train_depths": acc, "root_accuracy_by_depth": by_depth, **info}

    # the tree-LSTM by BPTT at Adam's lr 0.01 solved seed 1 in 29 generations; the plain cell
    # reached 91% after 390 (lr 0.003) and stalled near a loss of 0.04 at lr 0.01
    # (docs/problems.md)
    fields = dict(arch="recursive", n_hidden=32,
                  arch_options={"cell": "treelstm", "stack": stack, "readout": "linear"},
                  x0="init", optimizer="bptt", optimizer_options={"dtype": "float32", "lr": 0.01},
                  max_evals=20_000, sigma0=0.5)
    fields.update(defaults)
    return Problem(name, f"evaluate + and * expression trees over digits mod {MOD} with a "
                   f"recursive network (operators as leaves, trees as post-order shift/reduce "
                   f"sequences); trained on depths 1-{train_depth}, tested to {test_depth}",
                   n_in=N_SYMBOLS + 1, n_out=MOD, evaluate=evaluate, solved=solved, batch=data,
                   loss=torch_loss, check=check, **fields)


PROBLEM = make()
