"""Population forward passes as batched array operations over the genomes, for NumPy or CuPy.

Where the numba kernels loop over genomes, this path keeps the population as a leading
axis: every weight block is an array [P, ...] and each time step is a batched matrix
product [P, B, I] x [P, I, H]. On a GPU (``xp=cupy``) one step covers the whole
population; on a CPU (``xp=numpy``) it computes the same function, which is how CI tests
it. The equations are the families' own (their module docstrings).
"""
from __future__ import annotations

import numpy as np

from .arch.ctrnn_genes import parameters

ARRAY_FAMILIES = ("elman", "frnn", "lstm", "gru", "indrnn", "ctrnn")


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


def _sigmoid(xp, z):
    return 1.0 / (1.0 + xp.exp(-z))


def _act(xp, name: str):
    return {"tanh": xp.tanh, "relu": lambda z: xp.maximum(z, 0.0),
            "sigmoid": lambda z: _sigmoid(xp, z), "linear": lambda z: z}[name]


def _weights(layer, G, xp) -> dict:
    """The layer's blocks as arrays [P, *shape], by their names without the layer prefix."""
    out = {}
    for b in layer.blocks:
        a = G[:, b.offset:b.offset + b.size].reshape((G.shape[0],) + tuple(b.shape))
        out[b.name.rsplit(".", 1)[-1]] = a
    return out


def _mm(x, W):
    """x [P|1, B, K] times W[P, M, K] transposed -> [P, B, M]."""
    return x @ W.transpose(0, 2, 1)


def _readout(xp, w, feats, readout: str, O: int):
    """feats [P, B, T, F] -> outputs [P, B, T, O]."""
    if readout == "none":
        return feats
    if readout == "neurons":
        return feats[..., :O]
    P, B, T, F = feats.shape
    z = _mm(feats.reshape(P, B * T, F), w["W_out"]).reshape(P, B, T, O) + w["b_out"][:, None, None]
    return _act(xp, readout)(z)


def _states(layer, w, X, xp):
    """The layer's features [P, B, T, F] for inputs X [P|1, B, T, I], from a zero state."""
    name, o, H = layer.family.name, layer.opts, layer.n_hidden
    P, B, T = w[next(iter(w))].shape[0], X.shape[1], X.shape[2]
    dt = X.dtype
    h = xp.zeros((P, B, H), dt)
    feats = xp.empty((P, B, T, H), dt)
    sig = lambda z: _sigmoid(xp, z)  # noqa: E731
    if name == "lstm":
        c = xp.zeros_like(h)
    if name == "indrnn":
        u = xp.clip(w["u"], -o["max_recurrent"], o["max_recurrent"])[:, None]
    if name == "ctrnn":
        lo, hi = o["tau_range"]
        tau = xp.clip(w["tau"], lo, hi)[:, None]
        gain = w["gain"][:, None] if o["gains"] else 1.0
        theta = w["theta"][:, None]
        rate = lambda v: sig(gain * (v + theta))  # noqa: E731
        f = lambda v, u_: (-v + _mm(rate(v), w["W"]) + u_) / tau  # noqa: E731
    for t in range(T):
        x = X[:, :, t]
        if name in ("elman", "frnn"):
            bias = w["b"][:, None] if name == "elman" or o["bias"] else 0.0
            h = _act(xp, o["activation"])(_mm(x, w["W_ih"]) + _mm(h, w["W_hh"]) + bias)
        elif name == "lstm":
            z = _mm(x, w["W_ih"]) + _mm(h, w["W_hh"]) + w["b"][:, None]
            i, fg, g, og = (z[..., k * H:(k + 1) * H] for k in range(4))
            c = sig(fg) * c + sig(i) * xp.tanh(g)
            h = sig(og) * xp.tanh(c)
        elif name == "gru":
            gi = _mm(x, w["W_ih"]) + w["b_ih"][:, None]
            gh = _mm(h, w["W_hh"])
            r = sig(gi[..., :H] + gh[..., :H])
            zg = sig(gi[..., H:2 * H] + gh[..., H:2 * H])
            n = xp.tanh(gi[..., 2 * H:] + r * (gh[..., 2 * H:] + w["b_hn"][:, None]))
            h = (1 - zg) * n + zg * h
        elif name == "indrnn":
            h = _act(xp, o["activation"])(_mm(x, w["W_ih"]) + u * h + w["b"][:, None])
        else:                                   # ctrnn: h holds the neuron states y
            u_ = _mm(x, w["W_in"])
            step = o["dt"]
            if o["integrator"] == "euler":
                h = h + step * f(h, u_)
            else:
                k1 = f(h, u_)
                k2 = f(h + step / 2 * k1, u_)
                k3 = f(h + step / 2 * k2, u_)
                k4 = f(h + step * k3, u_)
                h = h + step / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        feats[:, :, t] = rate(h) if name == "ctrnn" else h
    return feats


def population_forward_array(net, genomes, inputs, xp=np):
    """outputs[P, B, T, O] like ``evornn.population_forward``, as batched array operations in
    the array module xp (numpy, or cupy on a GPU). Families: ARRAY_FAMILIES, stacked too."""
    bad = [lay.family.name for lay in net.layers if lay.family.name not in ARRAY_FAMILIES]
    if net.bidirectional or bad:
        what = "bidirectional networks" if net.bidirectional else f"the {bad[0]} family"
        raise ValueError(f"the array path does not cover {what} yet; it covers "
                         f"{', '.join(ARRAY_FAMILIES)} (stacked too)")
    X = net.check_inputs(inputs, batched=True)
    G = xp.asarray(net.check_genomes(genomes).astype(X.dtype, copy=False))
    Y = xp.asarray(X)[None]                                    # [1, B, T, I]
    for lay in net.layers:
        w = _weights(lay, G, xp)
        if lay.family.name == "ctrnn":
            w = parameters(w, lay.opts, xp)              # unit genes -> weights, tau, gains
        Y = _readout(xp, w, _states(lay, w, Y, xp), lay.opts["readout"], lay.n_out)
    if net.output_map is not None:
        Y = Y * net.output_map[0] + net.output_map[1]
    return Y.astype(X.dtype, copy=False)
