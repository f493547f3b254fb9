"""One time step for a whole population, each genome with its own recurrent state.

For control loops that live outside numba (a gymnasium environment, a robot): every
call steps all P networks once, in compiled code spread over the worker threads, so the
Python loop runs once per time step instead of once per genome and step.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .arch.dispatch import pack_any, per_kind, step_any
from .arch.kernels import JIT
from .threads import run_chunks


@per_kind
def _chunks(kind):
    """The pack and step loops of the family with index ``kind``."""
    @njit(nogil=True, **JIT)
    def pack_chunk(lo, hi, G, cfg, fixed, W):
        for p in range(lo, hi):
            pack_any(kind, G[p], cfg, fixed, W[p])

    @njit(nogil=True, **JIT)
    def step_chunk(lo, hi, W, cfg, fixed, S, X, Y):
        for p in range(lo, hi):
            step_any(kind, W[p], cfg, fixed, S[p], X[p:p + 1], Y[p:p + 1])
    return pack_chunk, step_chunk


class PopulationStepper:
    """P networks of one architecture stepped together: ``step(X[P, n_in]) -> Y[P, n_out]``
    (float64, the network's output_map applied); ``reset()`` flushes every state."""

    def __init__(self, net, genomes):
        if net.bidirectional:
            raise ValueError("a bidirectional network needs whole sequences; it cannot be stepped")
        G = net.check_genomes(genomes).astype(np.float64)
        self.net, self.P = net, len(G)
        self._layers = []
        for lay in net.layers:
            fixed = lay.fixed_as(np.float64)
            g = np.ascontiguousarray(G[:, lay.offset:lay.offset + lay.n_genes])
            W = np.zeros((self.P, max(lay.n_packed, 1)))
            run_chunks(_chunks(lay.kind)[0], self.P, g, lay.cfg, fixed, W)
            S = np.zeros((self.P, lay.n_state + 1))
            self._layers.append((lay, fixed, W, S))

    def reset(self) -> None:
        """Flush every network's recurrent state (a new episode)."""
        for _, _, _, S in self._layers:
            S[:] = 0.0

    def step(self, X) -> np.ndarray:
        """One step of every network: X[P, n_in] -> Y[P, n_out]."""
        V = np.ascontiguousarray(X, dtype=np.float64)
        if V.shape != (self.P, self.net.n_in):
            raise ValueError(f"step expects X of shape ({self.P}, {self.net.n_in}), got {V.shape}")
        for lay, fixed, W, S in self._layers:
            Y = np.empty((self.P, lay.n_out))
            run_chunks(_chunks(lay.kind)[1], self.P, W, lay.cfg, fixed, S, V, Y)
            V = Y
        if self.net.output_map is not None:
            V = V * self.net.output_map[0] + self.net.output_map[1]
        return V
