"""Sequence reversal (Grefenstette et al. 2015): after a separator, output the input sequence
backwards. A stack's natural task: push every symbol, then pop one a step.

``reverse`` is the paper's protocol (train on n = 8-64 symbols, test on 65-128);
``reverse-short`` (train 8-16, test 17-32) is where a search can start. The protocol, the
fitness and the accuracies are in problems/_transduction.py.
"""
from __future__ import annotations

from ._transduction import make

PROBLEMS = [make("reverse", reverse=True),
            make("reverse-short", reverse=True, train=(8, 16), test=(17, 32))]
