"""Density estimation of binarized 8 x 8 digits: the negative log-likelihood of an autoregressive
pixel model (PixelRNN, van den Oord et al. 2016), in nats per image.

Data: scikit-learn's bundled ``load_digits()`` (1,797 images of 8 x 8 pixels with values 0-16,
shipped inside scikit-learn: no download), binarized as pixel > 7 -> 1, split fixed forever:
the first 1,500 images train, the other 297 test. One image is one time step of 64 inputs
(row-major) and 64 outputs, the logit at each pixel of p(x_p = 1 | the pixels before p), so
the network must be autoregressive in raster order (the ``pixelrnn`` family, whose output at
a pixel never sees it or a later pixel; the problem refuses a network whose top layer is not a
pixel-grid family).

Fitness is minus the mean NLL per image, -sum_p log p(x_p | x_<p), in nats, over a batch of
``batch`` training images drawn from (run seed, generation); gradient training minimizes the
same binary cross-entropy with logits. Solved when the NLL of the 297 test images is below
``solve_nll`` nats, 18.0 by default: under the fully-visible logistic baseline (a logistic
regression for each pixel on the pixels before it, 18.06 nats on the test set; independent
pixels give 24.58; ``python -m benchmarks.pixelrnn baselines``). The figures are not
comparable with the paper's 79.20 nats, which are on 28 x 28 binarized MNIST.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

import evornn
from evornn.problem import Problem

N_TRAIN, SIDE, THRESHOLD = 1500, 8, 7
N_PIX = SIDE * SIDE
EXTRA = "pip install 'evornn[digits]' (scikit-learn)"


@lru_cache(maxsize=1)
def load() -> tuple[np.ndarray, np.ndarray]:
    """(train [1500, 64], test [297, 64]) binary images as float64 (0 or 1)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ValueError(f"digits-nll needs scikit-learn's bundled digits: {EXTRA}") from None
    X = (load_digits().data > THRESHOLD).astype(np.float64)
    X.setflags(write=False)
    return X[:N_TRAIN], X[N_TRAIN:]


def nll(logits: np.ndarray, X: np.ndarray) -> np.ndarray:
    """NLL in nats of images X [..., 64] under Bernoulli logits [..., 64]: summed over the
    pixels (-x log s(y) - (1 - x) log(1 - s(y)) = log(1 + e^y) - x y)."""
    return (np.logaddexp(0.0, logits) - X * logits).sum(-1)


def torch_loss(y, Y, W):
    """The gradient form: the mean NLL per image, binary cross-entropy with logits summed over
    the pixels. y [B, 1, 64] logits, Y [B, 1, 64] the pixels, W unused (ones)."""
    import torch
    return torch.nn.functional.binary_cross_entropy_with_logits(y, Y, reduction="sum") / y.shape[0]


def make(batch: int = 100, solve_nll: float = 18.0, name: str = "digits-nll", **defaults) -> Problem:
    """The digits-nll problem: ``batch`` training images a fitness evaluation, solved below
    ``solve_nll`` nats a test image; ``defaults`` override the Problem's fields."""
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or not 1 <= batch <= N_TRAIN:
        raise ValueError(f"{name}: batch must be an integer in 1..{N_TRAIN}, got {batch!r}")

    def images(seed) -> np.ndarray:
        train, _ = load()
        rng = np.random.default_rng(seed)
        return train[rng.choice(N_TRAIN, batch, replace=False)]

    def check(net):
        if net.n_in != N_PIX or net.n_out != N_PIX:
            raise ValueError(f"{name} needs {N_PIX} inputs and {N_PIX} outputs (an 8 x 8 image a "
                             f"step), got a network with {net.n_in} and {net.n_out}")
        top = net.layers[-1]
        if top.family.io_sizes is None or top.opts["readout"] != "linear":
            raise ValueError(f"{name} needs an autoregressive pixel model with logits out: arch "
                             f"pixelrnn with readout linear, got {top.family.name} with readout "
                             f"{top.opts['readout']!r}")
        load()                                 # no scikit-learn: one line before any work

    def evaluate(net, genomes, seed) -> np.ndarray:
        check(net)
        X = images(seed)
        Y = evornn.population_forward(net, genomes, X[:, None].astype(np.float32))
        return -nll(Y[:, :, 0].astype(np.float64), X).mean(-1)

    def gradient_batch(seed):
        X = images(seed)[:, None]
        return X, X.copy(), np.ones_like(X)

    def solved(net, genome, fitness) -> tuple[bool, dict]:
        _, test = load()
        Y = evornn.population_forward(net, genome[None], test[:, None].astype(np.float32))[0, :, 0]
        test_nll = float(nll(Y.astype(np.float64), test).mean())
        return bool(test_nll < solve_nll), {"test_nll": test_nll, "test_images": len(test),
                                            "images_per_evaluation": batch}

    fields = dict(arch="pixelrnn", n_hidden=8, arch_options={"readout": "linear", "image": "8,8"},
                  optimizer="snes", max_evals=200_000, sigma0=0.3, x0="init")
    fields.update(defaults)
    return Problem(name, f"binarized 8 x 8 digits (scikit-learn's, bundled): mean NLL per image "
                   f"in nats of an autoregressive pixel model; solved when the test NLL is below "
                   f"{solve_nll} nats", n_in=N_PIX, n_out=N_PIX, evaluate=evaluate, solved=solved,
                   batch=gradient_batch, loss=torch_loss, check=check, **fields)


PROBLEMS = [make()]
