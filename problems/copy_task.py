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
``make(lengths=(1, 10))`` trains on shorter sequences (registered as ``copy-10``);
``make(margin=m)`` evolves on a hinge instead of the squared error: minus the mean of
max(0, m - d) / m over the recall bits, d an output's distance from 0.5 on its target's
side, so that bits already right by m no longer count and the last wrong ones do.

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


def generalization(net, genome) -> dict:
    """How far a network copies: ``generalizes_to``, the longest L of LONG up to which every
    tested length has under 1% of its bits wrong (0 if L = 10 has more), the share wrong at
    120, and at every tested length (``bits_wrong``)."""
    wrong = {}
    for L in LONG:
        X, Y, S = episodes(np.full(LONG_EPISODES, L), np.random.default_rng((TEST_SEED, L)))
        wrong[L] = float(bits_wrong(outputs(net, genome[None], X), Y, S).sum() / (S.sum() * BITS))
    upto = next((L for L in LONG if wrong[L] >= 0.01), None)
    reach = max([L for L in LONG if upto is None or L < upto], default=0)
    return {"generalizes_to": reach, "bits_wrong_at_120": wrong[LONG[-1]], "bits_wrong": wrong}


def _reach(net, genome) -> dict:
    """A solved champion's generalization figures (without the per-length table)."""
    out = generalization(net, genome)
    del out["bits_wrong"]
    return out


def make(lengths: tuple[int, int] = (1, 20), batch: int = 20, n_test: int = 1000,
         name: str | None = None, margin: float | None = None, **defaults):
    """The copy task trained on lengths lo..hi; ``margin``: evolve on the hinge fitness
    (_memory_tasks.hinge) instead of the squared error; ``defaults`` override the Problem's
    fields."""
    lo, hi = lengths
    if not 1 <= lo <= hi:
        raise ValueError(f"copy: lengths must be (lo, hi) with 1 <= lo <= hi, got {lengths!r}")

    def draw(n, rng):
        return episodes(rng.integers(lo, hi + 1, size=n), rng)

    @lru_cache(maxsize=2)
    def test_set(n):
        return draw(n, np.random.default_rng((TEST_SEED, lo, hi)))

    fields = {**DEFAULTS, **defaults}
    return make_problem(
        name or ("copy" if lengths == (1, 20) else f"copy-{hi}"),
        f"copy task (Graves 2014): recall {lo}-{hi} random 8-bit vectors after a delimiter; "
        f"solved when every bit of {n_test} test sequences is right; reports generalization "
        f"to length 120", draw, test_set, n_in=BITS + 1, n_out=BITS, batch=batch, n_test=n_test,
        info={"lengths": [lo, hi]}, generalization=_reach, margin=margin, **fields)


PROBLEMS = [make(), make((1, 10))]
