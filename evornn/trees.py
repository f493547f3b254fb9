"""Binary trees as the post-order shift/reduce sequences the ``recursive`` family reads.

A tree is a nested tuple: a leaf is a symbol index (an int in 0..n_symbols-1), an internal
node a pair ``(left, right)``. Its sequence visits the left subtree, the right subtree,
then the node: a leaf is a shift step (its one-hot symbol), a node a reduce step (the reduce
flag, the last of ``n_symbols + 1`` input channels). ``((3, 10), 4)`` becomes
shift 3, shift 10, reduce, shift 4, reduce.
"""
from __future__ import annotations

import numpy as np

REDUCE = -1          # a reduce step in a post-order list


def _bad(what: str, node) -> ValueError:
    text = repr(node)
    return ValueError(f"{what}: {text if len(text) <= 60 else text[:57] + '...'}")


def postorder(tree, n_symbols: int) -> list[int]:
    """The steps of tree in post-order: symbol indices for leaves, REDUCE for nodes
    (ValueError, one line, for a node that is not a pair or a leaf that is not a symbol)."""
    out: list[int] = []
    todo = [(tree, False)]
    while todo:
        node, children_done = todo.pop()
        if children_done:
            out.append(REDUCE)
        elif isinstance(node, tuple):
            if len(node) != 2:
                k = len(node)
                raise _bad(f"not a binary tree: a node has {k} {'child' if k == 1 else 'children'} "
                           f"(every internal node must be a pair (left, right))", node)
            todo += [(node, True), (node[1], False), (node[0], False)]
        elif isinstance(node, (int, np.integer)) and not isinstance(node, bool) \
                and 0 <= node < n_symbols:
            out.append(int(node))
        else:
            raise _bad(f"not a tree leaf: leaves must be symbol indices 0..{n_symbols - 1}, got",
                       node)
    return out


def depth(tree) -> int:
    """Edges on the longest path from the root to a leaf (a leaf has depth 0)."""
    return 1 + max(depth(tree[0]), depth(tree[1])) if isinstance(tree, tuple) else 0


def stack_needed(steps: list[int]) -> int:
    """The most vectors on the stack while a post-order sequence runs."""
    n = top = 0
    for s in steps:
        n = n - 1 if s == REDUCE else n + 1
        top = max(top, n)
    return top


def encode(trees: list, n_symbols: int, stack: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Inputs [n, T, n_symbols + 1] (one-hot shift symbols, the reduce flag last; zero-padded
    after each tree) and each tree's root step [n], T = the longest sequence. With ``stack``,
    a tree that needs a deeper stack is refused."""
    seqs = [postorder(t, n_symbols) for t in trees]
    if stack is not None:
        for t, s in zip(trees, seqs):
            if stack_needed(s) > stack:
                raise _bad(f"tree needs a stack of {stack_needed(s)} vectors, the network holds "
                           f"{stack} (option stack)", t)
    T = max(len(s) for s in seqs)
    X = np.zeros((len(seqs), T, n_symbols + 1))
    for i, s in enumerate(seqs):
        s = np.asarray(s)
        steps = np.arange(len(s))
        X[i, steps[s >= 0], s[s >= 0]] = 1.0
        X[i, steps[s < 0], n_symbols] = 1.0
    return X, np.array([len(s) - 1 for s in seqs])
