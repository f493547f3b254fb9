"""Population forward passes as batched array operations over the genomes, for NumPy or CuPy.

Where the numba kernels loop over genomes, this path keeps the population as a leading
axis: every weight block is an array [P, ...] and each time step is a batched matrix
product [P, B, I] x [P, I, H]. On a GPU (``xp=cupy``) one step covers the whole
population; on a CPU (``xp=numpy``) it computes the same function, which is how CI tests
it. The equations are the families' own (their module docstrings); every family has an
array form, and bidirectional networks too.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .arch.ctrnn_genes import parameters

ARRAY_FAMILIES = ("elman", "jordan", "frnn", "lstm", "gru", "indrnn", "ctrnn", "mtrnn", "esn",
                  "second_order")


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


def _jordan(layer, w, X, xp):
    """A Jordan layer's outputs [P, B, T, O]: its context units read its own outputs, so the
    readout runs inside the recurrence."""
    o, O = layer.opts, layer.n_out
    P, B, T = w["W_ih"].shape[0], X.shape[1], X.shape[2]
    act = _act(xp, o["readout"])
    decay = o["context_decay"]
    ctx = xp.zeros((P, B, O), X.dtype)
    out = xp.empty((P, B, T, O), X.dtype)
    for t in range(T):
        h = xp.tanh(_mm(X[:, :, t], w["W_ih"]) + _mm(ctx, w["W_ch"]) + w["b"][:, None])
        y = act(_mm(h, w["W_out"]) + w["b_out"][:, None])
        ctx = decay * ctx + y
        out[:, :, t] = y
    return out


def _as_ctrnn(layer, w, xp):
    """An mtrnn layer as the CTRNN it steps as (as its numba kernel does): fixed time
    constants, unit gains, zero input weights into the slow neurons."""
    from .arch import ctrnn
    from .arch.mtrnn import n_slow
    o, H = layer.opts, layer.n_hidden
    ns = n_slow(H, o)
    P, nf, I = w["W_in"].shape
    dt = w["W"].dtype
    taus = xp.asarray([o["tau_fast"]] * nf + [o["tau_slow"]] * ns, dt)
    opts = {**ctrnn.FAMILY.options, "dt": o["dt"], "integrator": o["integrator"], "gains": False,
            "tau_range": (min(o["tau_fast"], o["tau_slow"]), max(o["tau_fast"], o["tau_slow"]))}
    cw = {"W": w["W"], "W_in": xp.concatenate([w["W_in"], xp.zeros((P, ns, I), dt)], axis=1),
          "theta": w["theta"], "tau": xp.broadcast_to(taus, (P, H))}
    return SimpleNamespace(family=ctrnn.FAMILY, opts=opts, n_hidden=H), cw


def _sparse_module(xp):
    """xp's sparse matrices (scipy.sparse beside numpy, cupyx.scipy.sparse beside cupy), or None."""
    try:
        if xp is np:
            import scipy.sparse as sp
        else:
            import cupyx.scipy.sparse as sp
    except ImportError:
        return None
    return sp


def _reservoir(layer, dt, xp):
    """h [..., H] -> h W^T for an ESN layer's fixed reservoir W (shared by every genome): one
    product over the whole population, sparse where the layer is and xp has sparse matrices."""
    from .arch.esn import sparse
    I, H = layer.n_in, layer.n_hidden
    res = layer.fixed[I * H + H:]
    if not sparse(layer.opts):
        WT = xp.asarray(res.reshape(H, H).astype(dt))
        return lambda h: h @ WT
    counts = res[:H].astype(np.int32)                 # to_csr: row counts, then (column, value)
    pairs = res[H:].reshape(-1, 2)
    cols, vals = pairs[:, 0].astype(np.int32), pairs[:, 1].astype(dt)
    sp = _sparse_module(xp)
    if sp is not None:
        ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        W = sp.csr_matrix((xp.asarray(vals), xp.asarray(cols), xp.asarray(ptr)), shape=(H, H))
        return lambda h: (W @ h.reshape(-1, H).T).T.reshape(h.shape)
    WT = np.zeros((H, H), dt)
    WT[cols, np.repeat(np.arange(H), counts)] = vals
    WT = xp.asarray(WT)
    return lambda h: h @ WT


def _esn_states(layer, w, X, xp, P):
    """An ESN layer's features [P, B, T, F]: states, then the inputs if the readout sees them."""
    from .arch.esn import EVOLVABLE
    o, I, H = layer.opts, layer.n_in, layer.n_hidden
    B, T, dt = X.shape[1], X.shape[2], X.dtype
    # each scaling a gene per genome [P, 1, 1] or the option's value
    a, s, rho, beta = (w[n][:, :, None] if o["evolve_" + n] else dt.type(o[n]) for n, _ in EVOLVABLE)
    if o["evolve_leak"]:
        a = xp.clip(a, 0.0, 1.0)
    fixed = layer.fixed.astype(dt)
    W_inT, b = xp.asarray(fixed[:I * H].reshape(I, H)), xp.asarray(fixed[I * H:I * H + H])
    spin = _reservoir(layer, dt, xp)
    F = H + I if o["readout_inputs"] else H
    h = xp.zeros((P, B, H), dt)
    feats = xp.empty((P, B, T, F), dt)
    for t in range(T):
        x = X[:, :, t]
        z = rho * spin(h) + beta * b + s * (x @ W_inT)
        h = (1 - a) * h + a * xp.tanh(z)
        feats[:, :, t, :H] = h
        if F > H:
            feats[:, :, t, H:] = x
    return feats


def _second_order_states(layer, w, X, xp):
    """A second-order layer's states [P, B, T, H]: weights on every (state, input) product."""
    H = layer.n_hidden
    P, B, T, I = w["W"].shape[0], X.shape[1], X.shape[2], X.shape[3]
    Wf = w["W"].reshape(P, H, H * I)
    act = _act(xp, layer.opts["activation"])
    h = xp.zeros((P, B, H), X.dtype)
    feats = xp.empty((P, B, T, H), X.dtype)
    for t in range(T):
        hx = (h[..., :, None] * X[:, :, t, None, :]).reshape(P, B, H * I)
        h = act(_mm(hx, Wf) + w["b"][:, None])
        feats[:, :, t] = h
    return feats


def _layer(layer, G, X, xp):
    """One layer's outputs [P, B, T, O] for inputs X [P|1, B, T, I]."""
    w = _weights(layer, G, xp)
    name = layer.family.name
    if name in ("ctrnn", "mtrnn"):
        w = parameters(w, layer.opts, xp)               # unit genes -> weights, tau, gains
    if name == "jordan":
        return _jordan(layer, w, X, xp)
    if name == "dense":                             # the readout on top of bidirectional layers
        feats = X
    elif name == "esn":
        feats = _esn_states(layer, w, X, xp, G.shape[0])
    elif name == "second_order":
        feats = _second_order_states(layer, w, X, xp)
    elif name == "mtrnn":
        feats = _states(*_as_ctrnn(layer, w, xp), X, xp)
    else:
        feats = _states(layer, w, X, xp)
    return _readout(xp, w, feats, layer.opts["readout"], layer.n_out)


def population_forward_array(net, genomes, inputs, xp=np):
    """outputs[P, B, T, O] like ``evornn.population_forward``, as batched array operations in
    the array module xp (numpy, or cupy on a GPU). Families: ARRAY_FAMILIES, stacked and
    bidirectional too."""
    bad = [lay.family.name for lay in net.layers if lay.family.name not in ARRAY_FAMILIES + ("dense",)]
    if bad:
        raise ValueError(f"the array path does not cover the {bad[0]} family yet; it covers "
                         f"{', '.join(ARRAY_FAMILIES)} (stacked and bidirectional too)")
    X = net.check_inputs(inputs, batched=True)
    G = xp.asarray(net.check_genomes(genomes).astype(X.dtype, copy=False))
    Y = xp.asarray(X)[None]                                    # [1, B, T, I]
    if net.bidirectional:                          # (fwd, bwd) pairs, then the top readout
        for fwd, bwd in zip(net.layers[:-1:2], net.layers[1:-1:2]):
            b = _layer(bwd, G, Y[:, :, ::-1], xp)[:, :, ::-1]
            Y = xp.concatenate([_layer(fwd, G, Y, xp), b], axis=3)
        Y = _layer(net.layers[-1], G, Y, xp)
    else:
        for lay in net.layers:
            Y = _layer(lay, G, Y, xp)
    if net.output_map is not None:
        Y = Y * net.output_map[0] + net.output_map[1]
    return Y.astype(X.dtype, copy=False)
