"""Population forward passes as batched array operations over the genomes, for NumPy or CuPy.

Where the numba kernels loop over genomes, this path keeps the population as a leading
axis (see ``evornn.arch.array_ops``). On a GPU (``xp=cupy``) one step covers the whole
population; on a CPU (``xp=numpy``) it computes the same function, which is how CI tests
it. Each family's array form lives in its module (``Family.array``); stacks and
bidirectional networks are composed here.
"""
from __future__ import annotations

import numpy as np

from .arch.dispatch import FAMILIES

ARRAY_FAMILIES = tuple(f.name for f in FAMILIES if f.array is not None and not f.internal)


def array_module(name: str = "numpy"):
    """numpy, or cupy with a usable GPU; a clear RuntimeError otherwise."""
    if name == "numpy":
        return np
    if name != "cupy":
        raise ValueError(f"array module must be 'numpy' or 'cupy', got {name!r}")
    try:
        import cupy
    except ImportError:
        raise RuntimeError("the cupy backend needs CuPy and a CUDA GPU: pip install "
                           "'evornn[gpu]' on a machine with one; this machine has no cupy") from None
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:              # no driver, no device: CuPy raises its own errors
        raise RuntimeError(f"the cupy backend needs a CUDA GPU; CuPy finds none ({e})") from None
    if n < 1:
        raise RuntimeError("the cupy backend needs a CUDA GPU; CuPy finds none")
    return cupy


def to_host(Y) -> np.ndarray:
    """Y as a host array; a CuPy array comes through page-locked memory (from CuPy's pool),
    which copied 210 MB in 8 ms on an H200 against 150 ms into fresh pageable memory."""
    if not hasattr(Y, "get"):
        return Y
    import cupy
    import cupyx
    Y = cupy.ascontiguousarray(Y)
    return Y.get(out=cupyx.empty_pinned(Y.shape, Y.dtype))


def device_genomes(net, G, xp):
    """Genomes already on the device, checked as ``Network.check_genomes`` checks host ones,
    without copying them to the host (one number comes back: whether all are finite)."""
    if G.dtype.kind != "f":
        raise ValueError(f"genomes must be float32 or float64, got dtype {G.dtype}")
    if G.ndim == 1:
        G = G[None]
    if G.ndim != 2 or G.shape[1] != net.n_params or G.shape[0] == 0:
        net.check_genomes(np.empty(G.shape, G.dtype))            # its message names the layout
    if not bool(xp.isfinite(G).all()):
        p, d = (int(v) for v in xp.argwhere(~xp.isfinite(G))[0])
        raise ValueError(f"genome {p} has a non-finite weight ({float(G[p, d])}) at gene {d} "
                         f"({net._gene_name(d)})")
    return G


def population_forward_array(net, genomes, inputs, xp=np):
    """outputs[P, B, T, O] like ``evornn.population_forward``, as batched array operations in
    the array module xp (numpy, or cupy on a GPU). Families: ARRAY_FAMILIES, stacked and
    bidirectional too."""
    bad = [lay.family.name for lay in net.layers if lay.family.array is None]
    if bad:
        raise ValueError(f"the array path does not cover the {bad[0]} family yet; it covers "
                         f"{', '.join(ARRAY_FAMILIES)} (stacked and bidirectional too)")
    X = net.check_inputs(inputs, batched=True)
    if type(genomes).__module__.startswith("cupy"):      # an optimizer's device population
        G = device_genomes(net, genomes, xp).astype(X.dtype, copy=False)
    else:
        G = xp.asarray(net.check_genomes(genomes).astype(X.dtype, copy=False))
    Y = xp.asarray(X)[None]                                    # [1, B, T, I]
    if net.bidirectional:                          # (fwd, bwd) pairs, then the top readout
        for fwd, bwd in zip(net.layers[:-1:2], net.layers[1:-1:2]):
            b = bwd.family.array(bwd, G, Y[:, :, ::-1], xp)[:, :, ::-1]
            Y = xp.concatenate([fwd.family.array(fwd, G, Y, xp), b], axis=3)
        top = net.layers[-1]
        Y = top.family.array(top, G, Y, xp)
    else:
        for lay in net.layers:
            Y = lay.family.array(lay, G, Y, xp)
    if net.output_map is not None:
        Y = Y * net.output_map[0] + net.output_map[1]
    return Y.astype(X.dtype, copy=False)
