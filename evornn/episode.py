"""What a compiled problem needs from evornn: one module, so that a problem whose whole
episode (network, environment, fitness) runs in one numba loop imports nothing internal.

Inside an ``@njit`` episode a network is its layer's arrays: ``lay.cfg`` (int64 sizes and
options, ``cfg[0]`` the family's index), ``lay.fixed_as(np.float64)`` (weights evolution
does not change), ``max(lay.n_packed, 1)`` floats for the packed weights and
``lay.n_state + 1`` floats of state. ``pack_any`` turns a genome into packed weights once
per individual, ``step_any`` steps a batch ``x[B, I] -> y[B, O]``; a loop made by a
``per_kind`` factory, with ``kind`` a constant, compiles only that family. ``run_chunks`` spreads the
population over the ``threads()`` worker threads, and kernels compile with ``JIT`` (the network kernels'
own options, fastmath included) or ``EXACT`` (the same without fastmath: bit-identical
results whatever the compilation context, for physics). From Python (outside an episode)
``pack`` does what ``pack_any`` does, compiled once and cached. docs/compiled-problems.md
has a worked example.
"""
from __future__ import annotations

from .arch.dispatch import family, pack, pack_any, per_kind, step_any
from .arch.kernels import JIT
from .threads import run_chunks, threads

EXACT = {k: v for k, v in JIT.items() if k != "fastmath"}

SINGLE_LAYER = ("compiled episodes run single-layer networks (stacks and bidirectional networks "
                "are not supported in compiled episodes yet)")

__all__ = ["EXACT", "JIT", "SINGLE_LAYER", "family", "pack", "pack_any", "per_kind", "run_chunks",
           "single_layer", "step_any", "threads"]


def single_layer(net, message: str = SINGLE_LAYER, n_in: int | None = None, n_out: int | None = None):
    """The network's one layer, or ValueError(message) when it has more than one layer (or
    not n_in inputs / n_out outputs, when given): what a compiled episode can step."""
    if len(net.layers) != 1 or (n_in is not None and net.n_in != n_in) or (
            n_out is not None and net.n_out != n_out):
        raise ValueError(message)
    return net.layers[0]
