"""Sequence copying (Grefenstette et al. 2015): after a separator, output the input sequence
again, in order. A queue's natural task: enqueue every symbol, then dequeue one a step.

``copy-long`` is the paper's protocol (train on n = 8-64 symbols, test on 65-128);
``copy-short`` (train 8-16, test 17-32) is where a search can start. The protocol, the
fitness and the accuracies are in problems/_transduction.py.
"""
from __future__ import annotations

from ._transduction import make

PROBLEMS = [make("copy-long", reverse=False),
            make("copy-short", reverse=False, train=(8, 16), test=(17, 32))]
