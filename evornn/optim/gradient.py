"""The gradient trainers, bptt, rtrl and crbp, as entries of the optimizer registry: their names,
descriptions and options. The training itself is ``evornn.bptt.GradientTrainer``, which
needs a problem's batches and torch (imported only when a trainer is built)."""
from __future__ import annotations

import numpy as np

from ..options import Option, rule
from .base import is_int, register


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and bool(np.isfinite(v))


OPTIONS = {
    "lr": Option(0.01, "learning rate", rule(lambda v: _number(v) and v > 0, "must be a number > 0")),
    "method": Option("adam", "adam or sgd",
                     rule(lambda v: v in ("adam", "sgd"), "must be one of adam, sgd")),
    "momentum": Option(0.9, "sgd only: momentum",
                       rule(lambda v: _number(v) and v >= 0, "must be a number >= 0")),
    "window": Option(None, "truncated BPTT: steps per window (None: whole sequences)",
                     rule(lambda v: v is None or (is_int(v) and v >= 1),
                          "must be a positive integer or None")),
    "clip": Option(1.0, "largest gradient norm per update (None or 0: no clipping)",
                   rule(lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)
                                                and v >= 0), "must be a number >= 0 or None")),
    "updates": Option(10, "batches a generation, each fresh (one optimizer step each unless batch "
                      "splits them)", rule(lambda v: is_int(v) and v >= 1, "must be a positive integer")),
    "batch": Option(None, "sequences an optimizer step: each of the problem's batches split into "
                    "steps of this many (1: online, a step a sequence; None: a step a batch)",
                    rule(lambda v: v is None or (is_int(v) and v >= 1),
                         "must be a positive integer or None")),
    "dtype": Option("float64", "float32 or float64 (tiny networks: no faster in float32)",
                    rule(lambda v: v in ("float32", "float64"), "must be float32 or float64")),
    "online": Option(False, "rtrl and crbp only: update the weights after every time step",
                     rule(lambda v: v in (True, False), "must be true or false")),
    "device_noise": Option(False, "under --device: every update's forward and backward pass runs on "
                           "the weights programmed onto fresh simulated devices, the step applied "
                           "to the ideal weights", rule(lambda v: v in (True, False),
                                                        "must be true or false")),
    "teacher_forcing": Option(1.0, "generative problems: chance a step is fed the true value",
                              rule(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
                                   and 0 <= v <= 1, "must be a number in [0, 1]")),
    "anneal": Option(0, "generative problems: generations over which teacher_forcing falls linearly "
                     "to 0 (0: constant)", rule(lambda v: is_int(v) and v >= 0,
                                                "must be an integer >= 0")),
    "warmup": Option(0, "generative problems: first steps of each sequence always fed the true value",
                     rule(lambda v: is_int(v) and v >= 0, "must be an integer >= 0")),
    "closed_loop": Option(False, "generative problems: gradient flows through the fed-back outputs",
                          rule(lambda v: v in (True, False), "must be true or false")),
    "feedback_noise": Option(0.0, "generative problems: std of Gaussian noise on the true fed-back "
                             "values in training", rule(lambda v: _number(v) and v >= 0,
                                                        "must be a number >= 0")),
}

# the options that only mean something when outputs are fed back as inputs (Problem.feedback)
FEEDBACK_OPTIONS = ("teacher_forcing", "anneal", "warmup", "closed_loop", "feedback_noise")


class Gradient:
    """A registry entry for a gradient trainer: no population, one network trained."""

    gradient = True
    declared_options = OPTIONS


@register
class BPTT(Gradient):
    name = "bptt"
    description = ("backpropagation through time on the torch twin (Adam or SGD, truncation "
                   "window, gradient clipping)")


@register
class RTRL(Gradient):
    name = "rtrl"
    description = ("real-time recurrent learning: forward-mode sensitivities, online or per "
                   "sequence (small networks)")


@register
class CRBP(Gradient):
    name = "crbp"
    description = ("causal recursive backpropagation (Campolucci et al. 1999): the online "
                   "gradient of locally recurrent networks (--arch lrnn)")
