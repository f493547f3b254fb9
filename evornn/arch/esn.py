"""Echo state network (Jaeger 2001): a fixed sparse random reservoir and an evolved readout.

h_t = (1 - a) h_{t-1} + a tanh(rho W h_{t-1} + s W_in x_t + beta b), y_t = act(W_out [h_t; x_t] + b_out).
W has unit spectral radius and is scaled by rho; W, W_in and b come from the network's seed.
At density <= SPARSE_MAX the reservoir is kept as a sparse matrix (rows' nonzeros) and
each step costs O(density H^2) instead of O(H^2). The genome is the readout, optionally
preceded by leak a, input scaling s, spectral radius rho and bias scaling beta;
``fit_readout`` fits the readout by ridge regression instead.
"""
import numpy as np
from numba import njit, uint64

from ..options import Option, choice, non_negative, positive
from . import array_ops as ops
from . import kernels as kn
from . import ridge as ridge_fit
from .blocks import Block, readout_blocks
from .spec import family, lazy_twin

EVOLVABLE = (("leak", (0.0, 1.0)), ("input_scaling", (0.0, 10.0)), ("spectral_radius", (0.0, 2.0)),
             ("bias_scaling", (0.0, 2.0)))
N_EVOLVABLE = len(EVOLVABLE)
# at or below this density the reservoir is stored and stepped as a sparse matrix (CSR).
# A nonzero costs about as much as 10 dense multiply-adds in float64 and 20 in float32 (an
# indexed load each, no SIMD). Measured with benchmarks/esn.py at H = 400 and 1,000 (2-core
# AMD EPYC): at 0.05 sparse is 1.6-2.1x faster in float64 and 1.0-1.3x in float32; at 0.1
# it is 1.1-1.2x faster in float64 but 1.4-2x slower in float32, so 0.1 stays dense
SPARSE_MAX = 0.05
# the row dots keep their order: with reassociation LLVM vectorizes them with gather
# instructions, measured 1.4x slower on AMD EPYC than scalar loads
ORDERED = {**kn.JIT, "fastmath": {"contract"}}
# cfg slots from C_OPT: the evolvable values, then a bit mask of the evolved ones, the
# readout's feature width and the sparse flag
C_MASK, C_FEATS, C_SPARSE = N_EVOLVABLE, N_EVOLVABLE + 1, N_EVOLVABLE + 2


def features(I, H, opts):
    return H + I if opts["readout_inputs"] else H


def blocks(I, H, O, opts):
    bl = [Block(name, (1,), (opts[name], opts[name]), bounds)
          for name, bounds in EVOLVABLE if opts["evolve_" + name]]
    return bl + readout_blocks(features(I, H, opts), O, opts["readout"])


def sparse(opts) -> bool:
    """Whether the reservoir is stored and stepped as a sparse matrix."""
    return opts["density"] <= SPARSE_MAX


def sizes(I, H, O, opts):
    F = features(I, H, opts)
    # per sequence: h, pre-activations, features (+ h and pre-activations transposed, the
    # sparse path's scratch for batches)
    return N_EVOLVABLE + I * H + H + kn.readout_size(F, O, kn.READOUTS[opts["readout"]]), \
        (4 if sparse(opts) else 2) * H + F


def _unit_interval(v):
    ok = isinstance(v, (int, float, np.integer, np.floating)) and 0 < v <= 1
    return None if ok else "must be in (0, 1]"


def _density(v):
    return positive(v) or _unit_interval(v)


def _options() -> dict:
    o = {"spectral_radius": Option(0.9, "spectral radius rho the reservoir is scaled to", non_negative),
         "density": Option(0.1, f"fraction of nonzero reservoir weights, in (0, 1] (sparse storage "
                                f"at <= {SPARSE_MAX})", _density),
         "leak": Option(1.0, "leak rate a in (0, 1]: h <- (1 - a) h + a tanh(...)", _unit_interval),
         "input_scaling": Option(1.0, "scale s of the input weights", non_negative),
         "bias_scaling": Option(0.0, "scale beta of the unit biases", non_negative),
         "readout_inputs": Option(True, "whether the readout also sees the inputs", choice(True, False))}
    for name, bounds in EVOLVABLE:
        o["evolve_" + name] = Option(False, f"whether {name} is a gene (bounds {bounds})",
                                     choice(True, False))
    return o


def reservoir_matrix(H: int, density: float, rng: np.random.Generator) -> np.ndarray:
    """A random reservoir W [H, H] (W[j, k]: from unit k to unit j) with unit spectral radius."""
    W = rng.uniform(-1, 1, (H, H)) * (rng.random((H, H)) < density)
    radius = np.abs(np.linalg.eigvals(W)).max() if H > 0 else 0.0
    if radius > 0:
        W /= radius
    return W


def to_csr(W: np.ndarray) -> np.ndarray:
    """W's rows as [nonzeros per row (H), then (column, value) pairs row by row].

    Pairs keep a row's indices beside its values (one stream to read); counts rather than
    row pointers stay exact in float32 for any H < 2^24.
    """
    rows, cols = np.nonzero(W)
    pairs = np.stack([cols.astype(float), W[rows, cols]], 1).ravel()
    return np.concatenate([np.count_nonzero(W, axis=1).astype(float), pairs])


def fixed(I, H, O, opts, rng):
    """Input weights (transposed), unit biases, then the reservoir: CSR or dense (transposed)."""
    W = reservoir_matrix(H, opts["density"], rng)
    W_in = rng.uniform(-1, 1, (H, I))
    b = rng.uniform(-1, 1, H)
    res = to_csr(W) if sparse(opts) else W.T.ravel()
    return np.concatenate([W_in.T.ravel(), b, res])


def cfg(I, H, O, opts):
    mask = sum(1 << i for i, (name, _) in enumerate(EVOLVABLE) if opts["evolve_" + name])
    return [float(opts[name]) for name, _ in EVOLVABLE] + \
        [float(mask), float(features(I, H, opts)), float(sparse(opts))]


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    """w = [leak, input scaling, spectral radius, bias scaling, s W_in^T, beta b, readout]."""
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    mask = int(cfg[kn.C_OPT + C_MASK])
    off = 0
    for i in range(N_EVOLVABLE):   # a gene or the option
        if (mask >> i) & 1:
            w[i] = g[off]
            off += 1
        else:
            w[i] = cfg[kn.C_OPT + i]
    w[0] = min(max(w[0], 0.0), 1.0)
    n = N_EVOLVABLE
    for j in range(I * H):
        w[n + j] = w[1] * fixed[j]
    for j in range(H):
        w[n + I * H + j] = w[3] * fixed[I * H + j]
    kn.pack_readout(g, off, w, n + I * H + H, int(cfg[kn.C_OPT + C_FEATS]), O, int(cfg[kn.C_READOUT]))


@njit(**ORDERED)
def csr_row_dots(z, h, res, H):
    """z[0, j] = sum_k W[j, k] h[0, k] over row j's nonzeros (one sequence)."""
    hr = h[0]
    p = H
    for j in range(H):
        end = p + 2 * int(res[j])
        # two partial sums halve the add latency chain; unsigned indices skip numba's
        # negative-index wraparound (measured together: 1.3x)
        s0 = z.dtype.type(0.0)
        s1 = z.dtype.type(0.0)
        q = p
        while q + 2 < end:
            s0 += res[q + 1] * hr[uint64(res[q])]
            s1 += res[q + 3] * hr[uint64(res[q + 2])]
            q += 4
        if q < end:
            s0 += res[q + 1] * hr[uint64(res[q])]
        z[0, j] = s0 + s1
        p = end


@njit(**kn.JIT)
def csr_batch(z, h, res, H, hT, zT):
    """z[b, j] = sum_k W[j, k] h[b, k] for a batch: the batch is the contiguous inner loop
    of each nonzero (on transposed copies), so the structure is read once per step."""
    B = h.shape[0]
    for b in range(B):
        for k in range(H):
            hT[k, b] = h[b, k]
    p = H
    for j in range(H):
        end = p + 2 * int(res[j])
        acc = zT[j]
        acc[:] = 0
        for q in range(p, end, 2):
            v = res[q + 1]
            src = hT[uint64(res[q])]
            for b in range(B):
                acc[b] += v * src[b]
        p = end
    for b in range(B):
        for j in range(H):
            z[b, j] = zT[j, b]


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    F = int(cfg[kn.C_OPT + C_FEATS])
    h = kn.view2d(state, 0, B, H)
    z = kn.view2d(state, B * H, B, H)
    feats = kn.view2d(state, 2 * B * H, B, F)
    n = N_EVOLVABLE
    bias = w[n + I * H:n + I * H + H]
    res = fixed[I * H + H:]
    a, rho = w[0], w[2]
    one = x.dtype.type(1.0)
    if cfg[kn.C_OPT + C_SPARSE] == 0:
        z[:] = 0
        kn.mm_acc(z, h, kn.view2d(res, 0, H, H))
    elif B == 1:
        csr_row_dots(z, h, res, H)
    else:
        s0 = 2 * B * H + B * F
        csr_batch(z, h, res, H, kn.view2d(state, s0, H, B),
                  kn.view2d(state, s0 + B * H, H, B))
    for b in range(B):
        for j in range(H):
            z[b, j] = rho * z[b, j] + bias[j]
    kn.mm_acc(z, x, kn.view2d(w, n, I, H))
    for b in range(B):
        for j in range(H):
            v = (one - a) * h[b, j] + a * kn.tanh(z[b, j])
            h[b, j] = v
            feats[b, j] = v
        for k in range(F - H):
            feats[b, H + k] = x[b, k]
    kn.readout(w, n + I * H + H, feats, y, int(cfg[kn.C_READOUT]))


def esn_reservoir(lay) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(W [H, H], W_in [H, I], b [H]) decoded from an esn layer's ``fixed`` array: W_in^T, b,
    then W as nonzeros per row and (column, value) pairs when sparse, else W^T dense."""
    I, H = lay.n_in, lay.n_hidden
    fixed = np.asarray(lay.fixed, dtype=np.float64)
    W_in = fixed[:I * H].reshape(I, H).T.copy()
    b = fixed[I * H:I * H + H].copy()
    res = fixed[I * H + H:]
    if not lay.cfg[kn.C_OPT + C_SPARSE]:
        return res.reshape(H, H).T.copy(), W_in, b
    counts = res[:H].astype(int)
    pairs = res[H:].reshape(-1, 2)
    W = np.zeros((H, H))
    W[np.repeat(np.arange(H), counts), pairs[:, 0].astype(int)] = pairs[:, 1]
    return W, W_in, b


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


def states(layer, w, X, xp, P):
    """An ESN layer's features [P, B, T, F] over a population of P: states, then the inputs
    if the readout sees them."""
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


def array(layer, G, X, xp):
    """The layer over a population [P, ...] as batched array operations in module xp."""
    w = ops.weights(layer, G, xp)
    return ops.readout(xp, w, states(layer, w, X, xp, G.shape[0]), layer)


def _twin_class():
    import torch

    from ..twins.layers import BlockModule

    class ESNTwin(BlockModule):
        """h = (1 - a) h + a tanh(rho W h + s W_in x + beta b); features [h; x] or h.

        The reservoir W, W_in and b are buffers (dense, whatever format ``fixed`` stores them
        in); leak, input scaling, spectral radius and bias scaling are parameters when evolved,
        else the options' values. The leak is clipped into [0, 1] as the kernel's pack does.
        """

        SCALARS = ("leak", "input_scaling", "spectral_radius", "bias_scaling")

        def __init__(self, lay):
            super().__init__(lay)
            W, W_in, b = esn_reservoir(lay)
            self.register_buffer("reservoir", torch.from_numpy(W))
            self.register_buffer("input_weights", torch.from_numpy(W_in))
            self.register_buffer("unit_bias", torch.from_numpy(b))
            self.options = {k: float(lay.opts[k]) for k in self.SCALARS}
            self.readout_inputs = bool(lay.opts["readout_inputs"])

        def scalar(self, name: str):
            """The evolved gene (a 1-element parameter) or the option's fixed value."""
            return getattr(self, name)[0] if name in self.block_names else self.options[name]

        def features(self, x):
            a = torch.clamp(torch.as_tensor(self.scalar("leak"), dtype=x.dtype), 0.0, 1.0)
            rho = self.scalar("spectral_radius")
            u = x @ (self.scalar("input_scaling") * self.input_weights).T \
                + self.scalar("bias_scaling") * self.unit_bias
            h, feats = self.start(x, self.reservoir.shape[0]), []
            for t in range(x.shape[1]):
                h = (1 - a) * h + a * torch.tanh(rho * (h @ self.reservoir.T) + u[:, t])
                feats.append(torch.cat([h, x[:, t]], 1) if self.readout_inputs else h)
            self.hT = h
            return torch.stack(feats, 1)

        def check_fixed(self, lay, seed: int) -> None:
            """ValueError unless this module's reservoir is the one the seed builds for lay (to
            float32 rounding, for a module that went through .float())."""
            if not all(np.allclose(a, self.get_buffer(k).detach().double().numpy(), rtol=1e-6, atol=1e-7)
                       for a, k in zip(esn_reservoir(lay), ("reservoir", "input_weights", "unit_bias"))):
                raise ValueError("the module's ESN reservoir differs from the one its seed "
                                 f"{seed} builds; a Network's reservoir comes from its seed")
    return ESNTwin


FAMILY = family(
    name="esn", description="echo state network: fixed sparse reservoir, evolved or ridge-fit readout",
    readouts=("linear", "tanh", "sigmoid", "none"), options=_options(),
    blocks=blocks, features=features, sizes=sizes, cfg=cfg, pack=pack, step=step,
    fixed=fixed, array=array, twin=lazy_twin(_twin_class),
    feature_range=lambda opts: (-np.inf, np.inf) if opts["readout_inputs"] else (-1.0, 1.0))


def fit_readout(net, X, Y, washout: int = 0, ridge: float = 1e-8) -> np.ndarray:
    """Fit an ESN's linear readout by ridge regression on X [B, T, I] -> Y [B, T, O].

    The first ``washout`` steps of each sequence are left out of the fit. Evolved leak,
    input scaling, spectral radius or bias scaling genes keep their values. Sets and returns the genome.
    """
    Xa, Ya = ridge_fit.fit_data(net, "esn", X, Y, washout, ridge)
    lay = net.layers[0]
    opts = {k: v for k, v in lay.opts.items() if k != "readout"}
    F = features(net.n_in, lay.n_hidden, opts)
    twin = type(net)("esn", net.n_in, lay.n_hidden, F, seed=net.seed, readout="none", **opts)
    n_pre = twin.n_params                 # evolved reservoir genes come first in both
    twin.genome = net.genome[:n_pre]
    Wb = ridge_fit.solve(twin.forward(Xa), Ya, washout, ridge)    # [F + 1, O]
    g = net.genome
    g[n_pre:n_pre + F * net.n_out] = Wb[:F].T.ravel()
    g[n_pre + F * net.n_out:] = Wb[F]
    net.genome = g
    return g
