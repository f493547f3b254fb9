"""A central pattern generator: a CTRNN that oscillates at a target period and amplitude.

The network gets no input (one input held at 0) and runs from rest for ``STEPS`` Euler
steps of dt = 0.1; after a transient, the firing rate of neuron 0 is measured: its
period from the times it crosses its mean upwards (linearly interpolated), its amplitude
as max - min. Fitness = -(|period / target - 1| + |amplitude / target - 1|); a network
that does not oscillate (fewer than three crossings) scores below any that does, more
so the flatter it is. Solved when period and amplitude are both within 5% of target.
"""
from __future__ import annotations

import numpy as np

import evornn
from evornn.problem import Problem

DT = 0.1
STEPS, TRANSIENT = 1500, 500
PERIOD, AMPLITUDE = 10.0, 0.5          # time units; peak-to-peak firing rate
TOLERANCE = 0.05


def measure(y: np.ndarray, dt: float = DT) -> tuple[np.ndarray, np.ndarray]:
    """(period, amplitude) of every row of y[P, T]; period NaN with fewer than 3 crossings."""
    P = len(y)
    amp = y.max(1) - y.min(1)
    period = np.full(P, np.nan)
    d = y - y.mean(1, keepdims=True)
    for p in range(P):
        i = np.flatnonzero((d[p, :-1] < 0) & (d[p, 1:] >= 0))
        if len(i) >= 3 and amp[p] > 1e-6:
            t = i + d[p, i] / (d[p, i] - d[p, i + 1])       # interpolated crossing times
            period[p] = (t[-1] - t[0]) / (len(t) - 1) * dt
    return period, amp


def fitness(period: np.ndarray, amp: np.ndarray) -> np.ndarray:
    """Larger is better; non-oscillating rows score in [-3, -2) by their amplitude."""
    f = -(np.abs(period / PERIOD - 1) + np.abs(amp / AMPLITUDE - 1))
    flat = -3.0 + np.minimum(amp / AMPLITUDE, 1.0)
    return np.where(np.isnan(period), flat, np.maximum(f, -2.0))


def rates(net, genomes) -> np.ndarray:
    """Neuron 0's firing rate after the transient, [P, STEPS - TRANSIENT]."""
    X = np.zeros((1, STEPS, 1))
    return evornn.population_forward(net, genomes, X)[:, 0, TRANSIENT:, 0]


def evaluate(net, genomes, seed) -> np.ndarray:
    return fitness(*measure(rates(net, genomes)))


def solved(net, genome, f):
    period, amp = (v[0] for v in measure(rates(net, genome[None])))
    ok = bool(abs(period / PERIOD - 1) < TOLERANCE and abs(amp / AMPLITUDE - 1) < TOLERANCE)
    return ok, {"period": round(float(period), 4), "amplitude": round(float(amp), 4)}


def trace(net, genome) -> dict:
    """Every neuron's firing rate over the whole run (the pictures of `report`)."""
    full = evornn.Network(net.arch, net.n_in, net.n_hidden, net.n_hidden, genome=genome,
                          **net.options)                    # readout 'neurons': all of them
    R = full.forward(np.zeros((STEPS, 1)))
    return {"t": np.arange(STEPS) * DT, "neurons": R}


PROBLEM = Problem("oscillator", f"CTRNN pattern generator: period {PERIOD:g}, amplitude "
                  f"{AMPLITUDE:g} (within {TOLERANCE:.0%})", n_in=1, n_out=1, evaluate=evaluate,
                  solved=solved, arch="ctrnn", n_hidden=3, arch_options={"dt": DT},
                  optimizer="xnes", popsize=16, sigma0=3.0, max_evals=10_000, trace=trace,
                  inputs=("unused (held at 0)",), outputs=("rhythm",))
