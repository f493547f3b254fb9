"""Spike-train template classification, the liquid state machine's task (Maass, Natschlaeger
and Markram 2002).

A handful of templates (4 by default), each a Poisson spike train of ``rate`` Hz on every
input channel for ``duration`` steps of 1 ms, are drawn once from a fixed seed. A presentation
moves every spike of one template by Gaussian jitter (standard deviation ``jitter`` ms,
rounded to the step; spikes moved out of the window are lost). The network has one output per
template; the class is read over the last ``window`` steps: the target is the template's
one-hot code on each of them, and the prediction the output with the largest mean there.

Fitness is minus the mean squared error to the one-hot targets over the window (the gradient
form: weights 1 / (B window O) on those steps) on a batch of presentations drawn fresh each
generation from (run seed, generation). Solved when the accuracy on a fixed held-out set of
presentations is at least ``solve_accuracy``. ``ridge_readout`` fits an lsm's (or esn's)
readout on a training set instead of evolving it.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

import evornn
from evornn.problem import Problem

TEMPLATE_SEED = 20_021_102
TEST_SEED = 20_021_103


def check_options(n_templates, channels, rate, duration, jitter, window, batch, n_test,
                  solve_accuracy) -> None:
    """One-line ValueErrors for options out of range."""
    def whole(v, lo):
        return not isinstance(v, bool) and isinstance(v, (int, np.integer)) and v >= lo

    def number(v):
        return not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating)) \
            and np.isfinite(v)

    for name, v, lo in (("n_templates", n_templates, 2), ("channels", channels, 1),
                        ("duration", duration, 1), ("batch", batch, 1), ("n_test", n_test, 1)):
        if not whole(v, lo):
            raise ValueError(f"spike-templates: {name} must be an integer >= {lo}, got {v!r}")
    if not whole(window, 1) or window > duration:
        raise ValueError(f"spike-templates: window must be an integer in 1..duration "
                         f"({duration}), got {window!r}")
    if not number(rate) or not 0 < rate <= 1000:
        raise ValueError(f"spike-templates: rate must be in (0, 1000] Hz (one spike a 1 ms step "
                         f"at most), got {rate!r}")
    if not number(jitter) or jitter < 0:
        raise ValueError(f"spike-templates: jitter must be a number of ms >= 0, got {jitter!r}")
    if not number(solve_accuracy) or not 0 < solve_accuracy <= 1:
        raise ValueError(f"spike-templates: solve_accuracy must be in (0, 1], got {solve_accuracy!r}")


def templates(n_templates: int = 4, channels: int = 4, rate: float = 20.0,
              duration: int = 200) -> np.ndarray:
    """The templates [n_templates, duration, channels] (0/1), the same for the same options."""
    rng = np.random.default_rng((TEMPLATE_SEED, n_templates, channels, duration))
    return (rng.random((n_templates, duration, channels)) < rate / 1000.0).astype(float)


def present(S: np.ndarray, labels: np.ndarray, jitter: float, rng) -> np.ndarray:
    """Presentations X [n, T, C] of templates S[labels], every spike moved by N(0, jitter) ms."""
    n, (_, T, C) = len(labels), S.shape
    X = np.zeros((n, T, C))
    for b, k in enumerate(labels):
        t, c = np.nonzero(S[k])
        t = np.rint(t + jitter * rng.standard_normal(len(t))).astype(int)
        keep = (t >= 0) & (t < T)
        X[b, t[keep], c[keep]] = 1.0
    return X


def draw(n: int, rng, n_templates: int = 4, channels: int = 4, rate: float = 20.0,
         duration: int = 200, jitter: float = 4.0, window: int = 100):
    """n presentations: X [n, T, C], labels [n], one-hot targets Y [n, T, K] on the last window
    steps and the weights W [n, T, K] of the fitness's squared error (summing to 1)."""
    labels = rng.integers(0, n_templates, n)
    X = present(templates(n_templates, channels, rate, duration), labels, jitter, rng)
    Y = np.zeros((n, duration, n_templates))
    Y[:, duration - window:] = np.eye(n_templates)[labels][:, None]
    W = np.zeros_like(Y)
    W[:, duration - window:] = 1.0 / (n * window * n_templates)
    return X, labels, Y, W


def ridge_readout(net, n_train: int = 500, ridge: float = 1e-2, seed: int = 0,
                  **options) -> np.ndarray:
    """Fit net's linear readout (an lsm or esn) by ridge regression on n_train presentations of
    the problem with these options (the window steps only); sets and returns the genome."""
    o = {k: v for k, v in options.items() if k in DRAW_OPTIONS}
    o.setdefault("duration", 200)
    o.setdefault("window", 100)
    X, _, Y, _ = draw(n_train, np.random.default_rng((seed, 1)), **o)
    return net.fit_readout(X, Y, washout=o["duration"] - o["window"], ridge=ridge)


DRAW_OPTIONS = ("n_templates", "channels", "rate", "duration", "jitter", "window")


def make(n_templates: int = 4, channels: int = 4, rate: float = 20.0, duration: int = 200,
         jitter: float = 4.0, window: int = 100, batch: int = 64, n_test: int = 200,
         solve_accuracy: float = 0.95, name: str | None = None, **defaults) -> Problem:
    """The spike-templates problem for these options; ``defaults`` override the Problem's fields."""
    check_options(n_templates, channels, rate, duration, jitter, window, batch, n_test,
                  solve_accuracy)
    name = name or "spike-templates"

    def data(n, rng):
        return draw(n, rng, n_templates, channels, rate, duration, jitter, window)

    @lru_cache(maxsize=1)
    def test_set():
        return data(n_test, np.random.default_rng((TEST_SEED, n_templates, n_test)))

    def check(net):
        if net.n_out != n_templates:
            raise ValueError(f"{name} needs {n_templates} outputs (one per template), got a "
                             f"network with {net.n_out}")
        if net.n_in != channels:
            raise ValueError(f"{name} needs {channels} inputs, got a network with {net.n_in}")

    def evaluate(net, genomes, seed) -> np.ndarray:
        check(net)
        X, _, Y, W = data(batch, np.random.default_rng(seed))
        out = evornn.population_forward(net, genomes, X.astype(np.float32)).astype(np.float64)
        return -(W * (out - Y) ** 2).sum(axis=(1, 2, 3))

    def gradient_batch(seed):
        X, _, Y, W = data(batch, np.random.default_rng(seed))
        return X, Y, W

    def accuracy(net, genome, X, labels) -> float:
        out = evornn.population_forward(net, genome[None], X.astype(np.float32))[0]
        return float((out[:, duration - window:].mean(1).argmax(1) == labels).mean())

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        X, labels, _, _ = test_set()
        acc = accuracy(net, genome, X, labels)
        return bool(acc >= solve_accuracy), {"test_accuracy": acc, "test_presentations": n_test}

    # sigma0 0.1 made outputs far larger than the targets: snes never beat the center in
    # 5,000 evaluations (docs/problems.md)
    fields = dict(arch="lsm", n_hidden=135, arch_options={"readout": "linear"}, optimizer="snes",
                  max_evals=100_000, sigma0=0.01, x0="center")
    fields.update(defaults)
    return Problem(name, f"classify {n_templates} Poisson spike-train templates ({channels} "
                   f"channels, {rate:g} Hz, {duration} ms) under {jitter:g} ms jitter; solved at "
                   f">= {solve_accuracy:.0%} accuracy on {n_test} test presentations",
                   n_in=channels, n_out=n_templates, evaluate=evaluate, solved=solved,
                   batch=gradient_batch, check=check,
                   outputs=tuple(f"template {k}" for k in range(n_templates)), **fields)


PROBLEM = make()
