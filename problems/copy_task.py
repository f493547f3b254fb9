"""The copy task (Graves, Wayne and Danihelka 2014, section 4.1).

An episode is a sequence of L random 8-bit vectors (L uniform in the training lengths,
1 to 20 by default), then a delimiter on a ninth input channel, then L steps with no
input during which the network must output the sequence again. Inputs: 8 bits and the
delimiter; outputs: 8 bits (sigmoid readout by default). For length L the episode is
2L + 1 steps; only the L recall steps are scored, every bit of them.

Fitness is minus the mean squared error over the recall bits of a batch of episodes
drawn fresh every generation from (run seed, generation); gradient training minimizes
the same error (``batch``). The champion is solved when every bit of 1,000 held-out
episodes of training lengths is right (on its side of 0.5). A solved champion's info
reports how it generalizes: ``generalizes_to`` is the longest L of 10, 20, ..., 120 up
to which every tested length has fewer than 1% of its bits wrong (100 episodes each).
``make(lengths=(1, 10))`` trains on shorter sequences (registered as ``copy-10``).

The file is copy_task.py: a module named copy would shadow the standard library's
wherever this folder is on the import path.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ._memory_tasks import DEFAULTS, bits_wrong, make_problem, outputs

BITS = 8
TEST_SEED = 20_141_020
LONG = tuple(range(10, 121, 10))      # the lengths generalization is tested at
LONG_EPISODES = 100


def episodes(lengths: np.ndarray, rng: np.random.Generator):
    """Copy episodes of the given lengths: inputs [n, T, 9], targets [n, T, 8], scored
    steps [n, T] with T = 2 max(lengths) + 1."""
    lengths = np.asarray(lengths)
    n, T = len(lengths), 2 * int(lengths.max()) + 1
    X, Y, S = np.zeros((n, T, BITS + 1)), np.zeros((n, T, BITS)), np.zeros((n, T), bool)
    for i, L in enumerate(lengths):
        seq = rng.integers(0, 2, size=(L, BITS)).astype(np.float64)
        X[i, :L, :BITS] = seq
        X[i, L, BITS] = 1.0                       # the delimiter
        Y[i, L + 1:2 * L + 1] = seq
        S[i, L + 1:2 * L + 1] = True
    return X, Y, S


def make(lengths: tuple[int, int] = (1, 20), batch: int = 20, n_test: int = 1000,
         name: str | None = None, **defaults):
    """The copy task trained on lengths lo..hi; ``defaults`` override the Problem's fields."""
    lo, hi = lengths
    if not 1 <= lo <= hi:
        raise ValueError(f"copy: lengths must be (lo, hi) with 1 <= lo <= hi, got {lengths!r}")

    def draw(n, rng):
        return episodes(rng.integers(lo, hi + 1, size=n), rng)

    @lru_cache(maxsize=2)
    def test_set(n):
        return draw(n, np.random.default_rng((TEST_SEED, lo, hi)))

    def generalization(net, genome) -> dict:
        wrong = {}
        for L in LONG:
            X, Y, S = episodes(np.full(LONG_EPISODES, L), np.random.default_rng((TEST_SEED, L)))
            wrong[L] = float(bits_wrong(outputs(net, genome[None], X), Y, S).sum() / (S.sum() * BITS))
        ok = [L for L in LONG if wrong[L] < 0.01]
        upto = next((L for L in LONG if wrong[L] >= 0.01), None)
        reach = max([L for L in ok if upto is None or L < upto], default=0)
        return {"generalizes_to": reach, "bits_wrong_at_120": wrong[LONG[-1]]}

    fields = {**DEFAULTS, **defaults}
    return make_problem(
        name or ("copy" if lengths == (1, 20) else f"copy-{hi}"),
        f"copy task (Graves 2014): recall {lo}-{hi} random 8-bit vectors after a delimiter; "
        f"solved when every bit of {n_test} test sequences is right; reports generalization "
        f"to length 120", draw, test_set, n_in=BITS + 1, n_out=BITS, batch=batch, n_test=n_test,
        info={"lengths": [lo, hi]}, generalization=generalization, **fields)


PROBLEMS = [make(), make((1, 10))]
