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

ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
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


# elements of input projections computed at once (x_t W^T for a chunk of steps): few, large
# products where the population is small, bounded memory where it is large
CHUNK_ELEMENTS = 1 << 25


def _input_steps(X, W, bias, xp):
    """x_t W^T + bias [P, B, G] for t = 0, 1, ...: a chunk of steps a product, since the
    inputs do not depend on the state."""
    P, G = W.shape[0], W.shape[1]
    _, Bx, T, I = X.shape
    chunk = max(1, CHUNK_ELEMENTS // (P * Bx * G))
    Xt = xp.ascontiguousarray(X.transpose(0, 2, 1, 3))       # time-major: a step's rows adjacent
    if X.shape[0] == 1:
        # inputs shared by every genome: one plain product [steps * B, I] x [I, P * G]
        W_all = xp.ascontiguousarray(W.transpose(2, 0, 1)).reshape(I, P * G)
        for t0 in range(0, T, chunk):
            Xc = Xt[0, t0:t0 + chunk]
            Tc = Xc.shape[0]
            Z = (Xc.reshape(Tc * Bx, I) @ W_all).reshape(Tc, Bx, P, G)
            if bias is not None:
                Z += bias
            for k in range(Tc):
                yield Z[k].transpose(1, 0, 2)
        return
    WT = xp.ascontiguousarray(W.transpose(0, 2, 1))
    for t0 in range(0, T, chunk):
        Xc = Xt[:, t0:t0 + chunk]
        Tc = Xc.shape[1]
        Z = (Xc.reshape(P, Tc * Bx, I) @ WT).reshape(P, Tc, Bx, G)
        if bias is not None:
            Z += bias[:, None, None]
        for k in range(Tc):
            yield Z[:, k]


# fuse each step's elementwise update into one GPU kernel where the module can (cupy.fuse)
FUSE = True
_CELLS: dict = {}


def _cells(xp) -> SimpleNamespace:
    """The families' elementwise step updates in module xp, each one GPU kernel under
    cupy.fuse: on a GPU a small population's step costs its kernel launches."""
    key = (xp.__name__, FUSE)
    if key in _CELLS:
        return _CELLS[key]
    fuse = getattr(xp, "fuse", None) if FUSE else None
    fuse = fuse or (lambda f: f)
    sig = lambda z: _sigmoid(xp, z)  # noqa: E731

    def lstm(xi, xf, xg, xo, hi, hf, hg, ho, c):
        c = sig(xf + hf) * c + sig(xi + hi) * xp.tanh(xg + hg)
        return c, sig(xo + ho) * xp.tanh(c)

    def gru(xr, xz, xn, hr, hz, hn, b_hn, h):
        r = sig(xr + hr)
        z = sig(xz + hz)
        n = xp.tanh(xn + r * (hn + b_hn))
        return (1 - z) * n + z * h

    def euler(y, m, u, k):                   # k = dt / tau
        return y + k * (-y + m + u)

    def rate(y, gain, theta):
        return sig(gain * (y + theta))

    def added(act):
        def cell(x, hw):
            return act(x + hw)
        return cell

    def independent(act):
        def cell(x, u, h):
            return act(x + u * h)
        return cell

    _CELLS[key] = SimpleNamespace(
        lstm=fuse(lstm), gru=fuse(gru), euler=fuse(euler), rate=fuse(rate),
        act={a: fuse(added(_act(xp, a))) for a in ACTIVATIONS},
        indrnn={a: fuse(independent(_act(xp, a))) for a in ACTIVATIONS})
    return _CELLS[key]


def _states(layer, w, X, xp):
    """The layer's features [P, B, T, F] for inputs X [P|1, B, T, I], from a zero state."""
    name, o, H = layer.family.name, layer.opts, layer.n_hidden
    P, B, T = w[next(iter(w))].shape[0], X.shape[1], X.shape[2]
    dt = X.dtype
    cells = _cells(xp)
    h = xp.zeros((P, B, H), dt)
    feats = xp.empty((P, B, T, H), dt)
    if name == "ctrnn":
        return _ctrnn_states(o, w, X, xp, h, feats, cells)
    bias = w.get("b_ih", w.get("b"))             # GRU's input bias, else "b" (absent: frnn, bias=False)
    xs = _input_steps(X, w["W_ih"], bias, xp)
    WhhT = xp.ascontiguousarray(w["W_hh"].transpose(0, 2, 1)) if name != "indrnn" else None
    if name == "lstm":
        c = xp.zeros_like(h)
    elif name == "gru":
        b_hn = w["b_hn"][:, None]
    elif name == "indrnn":
        u = xp.clip(w["u"], -o["max_recurrent"], o["max_recurrent"])[:, None]
    for t, x in enumerate(xs):
        if name in ("elman", "frnn"):
            h = cells.act[o["activation"]](x, h @ WhhT)
        elif name == "lstm":
            hw = h @ WhhT
            c, h = cells.lstm(*(x[..., k * H:(k + 1) * H] for k in range(4)),
                              *(hw[..., k * H:(k + 1) * H] for k in range(4)), c)
        elif name == "gru":
            hw = h @ WhhT
            h = cells.gru(x[..., :H], x[..., H:2 * H], x[..., 2 * H:],
                          hw[..., :H], hw[..., H:2 * H], hw[..., 2 * H:], b_hn, h)
        else:                                   # indrnn
            h = cells.indrnn[o["activation"]](x, u, h)
        feats[:, :, t] = h
    return feats


def _ctrnn_states(o, w, X, xp, y, feats, cells):
    """A CTRNN layer's firing rates [P, B, T, H] (y holds the zero neuron states)."""
    lo, hi = o["tau_range"]
    tau = xp.clip(w["tau"], lo, hi)[:, None]
    theta = w["theta"][:, None]
    gain = w["gain"][:, None] if o["gains"] else xp.ones_like(theta)
    WT = xp.ascontiguousarray(w["W"].transpose(0, 2, 1))
    step = o["dt"]
    k = step / tau
    r = cells.rate(y, gain, theta)
    for t, u in enumerate(_input_steps(X, w["W_in"], None, xp)):
        if o["integrator"] == "euler":
            y = cells.euler(y, r @ WT, u, k)
        else:
            f = lambda v: (-v + cells.rate(v, gain, theta) @ WT + u) / tau  # noqa: E731
            k1 = f(y)
            k2 = f(y + step / 2 * k1)
            k3 = f(y + step / 2 * k2)
            k4 = f(y + step * k3)
            y = y + step / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        r = cells.rate(y, gain, theta)
        feats[:, :, t] = r
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


def to_host(Y) -> np.ndarray:
    """Y as a host array; a CuPy array comes through page-locked memory (from CuPy's pool),
    which copied 210 MB in 8 ms on an H200 against 150 ms into fresh pageable memory."""
    if not hasattr(Y, "get"):
        return Y
    import cupy
    import cupyx
    Y = cupy.ascontiguousarray(Y)
    return Y.get(out=cupyx.empty_pinned(Y.shape, Y.dtype))


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
