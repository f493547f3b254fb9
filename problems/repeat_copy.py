"""The repeat-copy task (Graves, Wayne and Danihelka 2014, section 4.2).

An episode is a sequence of L random 8-bit vectors (L uniform in 1 to 10), then one step
with a delimiter on the ninth input channel and the number of repeats n (uniform in 1
to 10) on the tenth, normalized to mean 0 and variance 1 over the training repeats. The
network must then output the sequence n times over (n L steps, no input) and, on the
step after, an end marker on its ninth output. Inputs: 8 bits, delimiter, repeats;
outputs: 8 bits and the end marker. Every output of the n L + 1 recall steps is scored
(the end marker is 0 until the last of them, the bits are 0 on the last).

Fitness is minus the mean squared error over the scored bits of a batch of episodes drawn
fresh every generation; gradient training minimizes the same error. The champion is solved
when every scored bit of 1,000 held-out episodes is right (on its side of 0.5).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ._memory_tasks import DEFAULTS, make_problem

BITS = 8
TEST_SEED = 20_141_042


def episodes(lengths: np.ndarray, repeats: np.ndarray, rng: np.random.Generator,
             scale: tuple[float, float]):
    """Episodes for the given lengths and repeats: inputs [n, T, 10], targets [n, T, 9],
    scored steps [n, T]; the repeat input is (n - scale[0]) / scale[1]."""
    n = len(lengths)
    T = int(max(L * (r + 1) + 2 for L, r in zip(lengths, repeats)))
    X, Y, S = np.zeros((n, T, BITS + 2)), np.zeros((n, T, BITS + 1)), np.zeros((n, T), bool)
    for i, (L, r) in enumerate(zip(lengths, repeats)):
        seq = rng.integers(0, 2, size=(L, BITS)).astype(np.float64)
        X[i, :L, :BITS] = seq
        X[i, L, BITS] = 1.0
        X[i, L, BITS + 1] = (r - scale[0]) / scale[1]
        Y[i, L + 1:L + 1 + r * L, :BITS] = np.tile(seq, (r, 1))
        Y[i, L + 1 + r * L, BITS] = 1.0                   # the end marker
        S[i, L + 1:L + 2 + r * L] = True
    return X, Y, S


def make(lengths: tuple[int, int] = (1, 10), repeats: tuple[int, int] = (1, 10), batch: int = 20,
         n_test: int = 1000, name: str = "repeat-copy", **defaults):
    """Repeat-copy with lengths and repeats drawn from the given ranges; ``defaults``
    override the Problem's fields."""
    (lo, hi), (rlo, rhi) = lengths, repeats
    if not (1 <= lo <= hi and 1 <= rlo <= rhi):
        raise ValueError(f"repeat-copy: lengths and repeats must be (lo, hi) with 1 <= lo <= hi, "
                         f"got {lengths!r} and {repeats!r}")
    counts = np.arange(rlo, rhi + 1)
    scale = (float(counts.mean()), float(counts.std()) or 1.0)

    def draw(n, rng):
        return episodes(rng.integers(lo, hi + 1, size=n), rng.integers(rlo, rhi + 1, size=n),
                        rng, scale)

    @lru_cache(maxsize=2)
    def test_set(n):
        return draw(n, np.random.default_rng(TEST_SEED))

    fields = {**DEFAULTS, **defaults}
    return make_problem(
        name, f"repeat-copy (Graves 2014): output {lo}-{hi} random 8-bit vectors {rlo}-{rhi} times, "
        f"then an end marker; solved when every bit of {n_test} test sequences is right",
        draw, test_set, n_in=BITS + 2, n_out=BITS + 1, batch=batch, n_test=n_test,
        info={"lengths": [lo, hi], "repeats": [rlo, rhi]}, **fields)


PROBLEMS = [make()]
