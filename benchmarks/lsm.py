"""Neuron-updates per second of the lsm family's population forward pass, against a NumPy
vectorized LIF over the population measured in the same run.

    python -m benchmarks.lsm [--hidden 135] [--population 512] [--batch 4] [--repeats 3]

Workload: spike-templates presentations (4 channels, T = 200 steps of 1 ms, 4 ms jitter),
B sequences, P genomes of a linear readout with 4 outputs, float32. A neuron-update is one
neuron's step for one genome and one sequence (P B T H of them). The reference is the
family's array form with the inputs tiled over the population, so that it steps every
genome's liquid as the kernels do (``--shared`` also times it with the liquid stepped once,
the array form's own shortcut when every genome sees the same inputs). Best of the repeats
after a warm-up call, per CPU-second of the process (all its threads).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import evornn
from evornn.arch import lsm
from evornn.problems import spike_templates as st


def best_cpu_seconds(f, repeats: int) -> float:
    """Smallest process CPU time of repeats calls of f (after one warm-up call)."""
    f()
    best = np.inf
    for _ in range(repeats):
        t0 = time.process_time()
        f()
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    """Print neuron-updates per CPU-second: numba kernels, the NumPy reference and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", default="135")
    ap.add_argument("--population", type=int, default=512)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shared", action="store_true")
    a = ap.parse_args()
    P, B = a.population, a.batch
    X = st.draw(B, np.random.default_rng(0))[0].astype(np.float32)
    T = X.shape[1]
    for H in map(int, a.hidden.split(",")):
        net = evornn.Network("lsm", 4, H, 4, seed=0)
        G = np.random.default_rng(1).normal(0, 0.1, (P, net.n_params))
        updates = P * B * T * H
        t_nb = best_cpu_seconds(lambda: evornn.population_forward(net, G, X), a.repeats)
        G32 = G.astype(np.float32)
        tiled = np.broadcast_to(X, (P,) + X.shape)
        t_np = best_cpu_seconds(lambda: lsm.array(net.layers[0], G32, tiled, np), a.repeats)
        spikes = (lsm.traces(net.layers[0], X[None], np)[0].sum() > 0)
        line = (f"lsm H={H:4d} P={P} B={B} T={T} float32: numba {updates / t_nb / 1e6:8.1f} M "
                f"neuron-updates per CPU-s, NumPy over the population {updates / t_np / 1e6:7.1f} M "
                f"({t_np / t_nb:5.1f}x)")
        if a.shared:
            t_sh = best_cpu_seconds(lambda: lsm.array(net.layers[0], G32, X[None], np), a.repeats)
            line += f", NumPy liquid once {updates / t_sh / 1e6:8.1f} M"
        print(line + ("" if spikes else "  (no spikes!)"), flush=True)


if __name__ == "__main__":
    main()
