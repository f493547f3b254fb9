"""Whole-population forward passes: genomes[P, D] x inputs[B, T, I] -> outputs[P, B, T, O]."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from numba import njit

from .arch.dispatch import pack_any, per_kind, step_any
from .arch.kernels import JIT
from .threads import run_chunks


@per_kind
def chunk_kernel(kind):
    """The population loop of the family with index ``kind`` (compiled for it alone)."""
    @njit(nogil=True, **JIT)
    def run_chunk(lo, hi, G, cfg, fixed, XT, out, n_packed, n_state):
        """One layer over whole sequences for genomes lo..hi-1, without the GIL.

        G[P, D] the layer's genes, XT[1 or P, T, B, I] time-major inputs (shared or one per
        genome), out[P, B, T, O] written in place. Packed parameters and state are
        allocated once per individual, never per step.
        """
        T, B = XT.shape[1], XT.shape[2]
        O = out.shape[3]
        shared = XT.shape[0] == 1
        w = np.empty(n_packed, XT.dtype)
        state = np.empty(n_state * B + 1, XT.dtype)
        y = np.empty((B, O), XT.dtype)
        for p in range(lo, hi):
            pack_any(kind, G[p], cfg, fixed, w)
            state[:] = 0
            xs = XT[0] if shared else XT[p]
            for t in range(T):
                step_any(kind, w, cfg, fixed, state, xs[t], y)
                for b in range(B):
                    for o in range(O):
                        out[p, b, t, o] = y[b, o]
    return run_chunk


@per_kind
def noisy_chunk_kernel(kind):
    """``chunk_kernel`` with read noise: before each step genome p's genes are read afresh,
    gene j as G[p, j] + sd[p, j] z, z ~ N(0, 1) drawn from the seed seeds[p]."""
    @njit(nogil=True, **JIT)
    def run_chunk(lo, hi, G, sd, seeds, cfg, fixed, XT, out, n_packed, n_state):
        T, B = XT.shape[1], XT.shape[2]
        O, D = out.shape[3], G.shape[1]
        shared = XT.shape[0] == 1
        w = np.empty(n_packed, XT.dtype)
        g = np.empty(D, XT.dtype)
        state = np.empty(n_state * B + 1, XT.dtype)
        y = np.empty((B, O), XT.dtype)
        for p in range(lo, hi):
            np.random.seed(seeds[p])          # numba's generator is per thread
            state[:] = 0
            xs = XT[0] if shared else XT[p]
            for t in range(T):
                for j in range(D):
                    g[j] = G[p, j]
                    if sd[p, j] > 0:
                        g[j] += sd[p, j] * np.random.standard_normal()
                pack_any(kind, g, cfg, fixed, w)
                step_any(kind, w, cfg, fixed, state, xs[t], y)
                for b in range(B):
                    for o in range(O):
                        out[p, b, t, o] = y[b, o]
    return run_chunk


def run_layer(G, cfg, fixed, XT, out, n_packed, n_state) -> None:
    """The layer's population loop over the whole population, in chunks over the worker threads."""
    run_chunks(chunk_kernel(cfg[0]), G.shape[0], G, cfg, fixed, XT, out, n_packed, n_state)


def _layer_pass(layer, G, XT, noise=None):
    dt = XT.dtype
    P, T, B = G.shape[0], XT.shape[1], XT.shape[2]
    out = np.empty((P, B, T, layer.n_out), dt)
    lo, hi = layer.offset, layer.offset + layer.n_genes
    g = np.ascontiguousarray(G[:, lo:hi])
    if noise is None:
        run_layer(g, layer.cfg, layer.fixed_as(dt), XT, out, max(layer.n_packed, 1), layer.n_state)
    else:
        # each layer its own draws: its seeds shifted by its offset in the genome
        sd, seeds = np.ascontiguousarray(noise[0][:, lo:hi]), (noise[1] + lo) % 2 ** 32
        run_chunks(noisy_chunk_kernel(layer.cfg[0]), P, g, sd, seeds, layer.cfg,
                   layer.fixed_as(dt), XT, out, max(layer.n_packed, 1), layer.n_state)
    return out


def _time_major(Y: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(Y.transpose(0, 2, 1, 3))          # [P, B, T, F] -> [P, T, B, F]


def forward_layers(net, G: np.ndarray, X: np.ndarray, noise=None) -> np.ndarray:
    """Run a checked genome matrix and input batch through the network's layer plan
    (outputs through the network's output_map, if it has one; noise: per-step read noise)."""
    Y = _forward_raw(net, G, X, noise)
    if net.output_map is not None:
        scale, shift = net.output_map
        Y *= Y.dtype.type(scale)
        Y += Y.dtype.type(shift)
    return Y


def _forward_raw(net, G: np.ndarray, X: np.ndarray, noise=None) -> np.ndarray:
    XT = np.ascontiguousarray(X.transpose(1, 0, 2))[None]        # [1, T, B, I]
    if not net.bidirectional:
        Y = _layer_pass(net.layers[0], G, XT, noise)
        for layer in net.layers[1:]:
            Y = _layer_pass(layer, G, _time_major(Y), noise)
        return Y                                                   # [P, B, T, O]
    for fwd, bwd in zip(net.layers[:-1:2], net.layers[1:-1:2]):
        f = _layer_pass(fwd, G, XT, noise)
        b = _layer_pass(bwd, G, np.ascontiguousarray(XT[:, ::-1]), noise)[:, :, ::-1]
        XT = _time_major(np.concatenate([f, b], axis=3))
    return _layer_pass(net.layers[-1], G, XT, noise)


# the array module population_forward computes in (None: the numba kernels); one place, set
# by `computing` for the length of a run and restored after it
_ARRAYS = {"xp": None}


@contextmanager
def computing(xp) -> Iterator[None]:
    """Inside the block, population_forward computes in array module xp through
    evornn.arrays (None: the numba kernels); after it, as before."""
    before = _ARRAYS["xp"]
    _ARRAYS["xp"] = xp
    try:
        yield
    finally:
        _ARRAYS["xp"] = before


# a device's per-step reads (evornn.device.StepReads) for the evaluation under way; one
# place, set by `reading` for the length of one evaluation
_READS = {"reads": None}


@contextmanager
def reading(reads) -> Iterator[None]:
    """Inside the block, population_forward reads its genomes' weights afresh at every step
    through reads (a StepReads; None: as before)."""
    before = _READS["reads"]
    _READS["reads"] = reads
    try:
        yield
    finally:
        _READS["reads"] = before


def population_forward(net, genomes, inputs) -> np.ndarray:
    """outputs[P, B, T, O] of every genome on every input sequence (numba, parallel over P;
    batched on the GPU under the cupy backend).

    ``net`` gives the architecture and sizes; the dtype of ``inputs`` (float32 or
    float64) sets the precision.
    """
    xp = _ARRAYS["xp"]
    if xp is not None:
        from .arrays import population_forward_array, to_host
        return to_host(population_forward_array(net, genomes, inputs, xp))   # every family has one
    X = net.check_inputs(inputs, batched=True)
    reads = _READS["reads"]
    noise = None if reads is None else reads.noise_for(genomes)
    G = net.check_genomes(genomes).astype(X.dtype, copy=False)
    return forward_layers(net, G, X, noise)
