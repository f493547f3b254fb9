"""The associative recall task (Graves, Wayne and Danihelka 2014, section 4.3).

An item is 3 random 6-bit vectors. An episode shows k items (k uniform in 2 to 6), each
after a step with an item delimiter (seventh input channel), then a query delimiter
(eighth channel), one of the first k - 1 items again as the query, and a second query
delimiter. In the 3 steps after (no input) the network must output the item that followed
the query in the list. Inputs: 6 bits and the two delimiters; outputs: 6 bits. An episode
is 4 k + 8 steps; the 18 bits of the answer are scored.

Fitness is minus the mean squared error over the answer bits of a batch of episodes drawn
fresh every generation; gradient training minimizes the same error. The champion is solved
when every answer bit of 1,000 held-out episodes is right (on its side of 0.5).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ._memory_tasks import DEFAULTS, make_problem

BITS, ITEM = 6, 3          # an item: 3 vectors of 6 bits
TEST_SEED = 20_141_043


def episodes(counts: np.ndarray, rng: np.random.Generator):
    """Episodes with the given numbers of items: inputs [n, T, 8], targets [n, T, 6], scored
    steps [n, T] with T = 4 max(counts) + 8; also the query's index in each list."""
    n = len(counts)
    T = 4 * int(max(counts)) + 8
    X, Y, S = np.zeros((n, T, BITS + 2)), np.zeros((n, T, BITS)), np.zeros((n, T), bool)
    query = np.zeros(n, np.int64)
    for i, k in enumerate(counts):
        items = rng.integers(0, 2, size=(k, ITEM, BITS)).astype(np.float64)
        for j in range(k):
            X[i, 4 * j, BITS] = 1.0                         # item delimiter
            X[i, 4 * j + 1:4 * j + 4, :BITS] = items[j]
        q = int(rng.integers(0, k - 1))
        t = 4 * k
        X[i, t, BITS + 1] = 1.0                             # query delimiter
        X[i, t + 1:t + 4, :BITS] = items[q]
        X[i, t + 4, BITS + 1] = 1.0
        Y[i, t + 5:t + 8] = items[q + 1]
        S[i, t + 5:t + 8] = True
        query[i] = q
    return X, Y, S, query


def make(items: tuple[int, int] = (2, 6), batch: int = 20, n_test: int = 1000,
         name: str = "associative-recall", **defaults):
    """Associative recall over lists of items[0] to items[1] items; ``defaults`` override
    the Problem's fields."""
    lo, hi = items
    if not 2 <= lo <= hi:
        raise ValueError(f"associative-recall: items must be (lo, hi) with 2 <= lo <= hi, got {items!r}")

    def draw(n, rng):
        return episodes(rng.integers(lo, hi + 1, size=n), rng)[:3]

    @lru_cache(maxsize=2)
    def test_set(n):
        return draw(n, np.random.default_rng(TEST_SEED))

    fields = {**DEFAULTS, **defaults}
    return make_problem(
        name, f"associative recall (Graves 2014): after {lo}-{hi} items of 3 6-bit vectors and a "
        f"query item, output the item after it; solved when every bit of {n_test} test episodes "
        "is right", draw, test_set, n_in=BITS + 2, n_out=BITS, batch=batch, n_test=n_test,
        info={"items": [lo, hi]}, **fields)


PROBLEMS = [make()]
