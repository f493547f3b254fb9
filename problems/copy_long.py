"""Sequence copying (Grefenstette et al. 2015): after a separator, output the input sequence
again, in order. A queue's natural task: enqueue every symbol, then dequeue one a step.

``copy-long`` is the paper's protocol (train on n = 8-64 symbols, test on 65-128);
``copy-short`` (train 8-16, test 17-32) is where a search can start. copy-long's network
differs from reverse's: a dense controller, noise on the queue's push and pop while it
trains, Adam at lr 0.01 (docs/problems.md). The protocol, the
fitness and the accuracies are in problems/_transduction.py.
"""
from __future__ import annotations

from ._memory_tasks import TRAINED
from ._transduction import make

# a dense controller (no state but the queue) with noise on its push and pop strengths while
# it trains, at Adam's lr 0.01: docs/problems.md has what each change did
PROBLEMS = [make("copy-long", reverse=False, network={"controller": "dense", "noise": 1.0},
                 optimizer_options={**TRAINED["optimizer_options"], "lr": 0.01}),
            make("copy-short", reverse=False, train=(8, 16), test=(17, 32))]
