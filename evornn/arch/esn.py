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

from .blocks import Block, readout_blocks
from .kernels import (
    C_HID,
    C_IN,
    C_OPT,
    C_OUT,
    C_READOUT,
    JIT,
    READOUTS,
    mm_acc,
    pack_readout,
    readout,
    readout_size,
    tanh,
    view2d,
)
from .spec import Family, need_choice, need_positive

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
ORDERED = {**JIT, "fastmath": {"contract"}}
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
    return N_EVOLVABLE + I * H + H + readout_size(F, O, READOUTS[opts["readout"]]), \
        (4 if sparse(opts) else 2) * H + F


def check(I, H, O, opts):
    need_positive("esn", "spectral_radius", opts["spectral_radius"], strict=False)
    need_positive("esn", "input_scaling", opts["input_scaling"], strict=False)
    need_positive("esn", "bias_scaling", opts["bias_scaling"], strict=False)
    need_positive("esn", "density", opts["density"])
    leak = opts["leak"]
    if not isinstance(leak, (int, float, np.integer, np.floating)) or not 0 < leak <= 1:
        raise ValueError(f"esn: option leak={opts['leak']!r} must be in (0, 1]")
    if opts["density"] > 1:
        raise ValueError(f"esn: option density={opts['density']!r} must be in (0, 1]")
    for key in ("readout_inputs",) + tuple("evolve_" + name for name, _ in EVOLVABLE):
        need_choice("esn", key, opts[key], (True, False))


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


@njit(**JIT)
def pack(g, cfg, fixed, w):
    """w = [leak, input scaling, spectral radius, bias scaling, s W_in^T, beta b, readout]."""
    I, H, O = int(cfg[C_IN]), int(cfg[C_HID]), int(cfg[C_OUT])
    mask = int(cfg[C_OPT + C_MASK])
    off = 0
    for i in range(N_EVOLVABLE):   # a gene or the option
        if (mask >> i) & 1:
            w[i] = g[off]
            off += 1
        else:
            w[i] = cfg[C_OPT + i]
    w[0] = min(max(w[0], 0.0), 1.0)
    n = N_EVOLVABLE
    for j in range(I * H):
        w[n + j] = w[1] * fixed[j]
    for j in range(H):
        w[n + I * H + j] = w[3] * fixed[I * H + j]
    pack_readout(g, off, w, n + I * H + H, int(cfg[C_OPT + C_FEATS]), O, int(cfg[C_READOUT]))


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


@njit(**JIT)
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


@njit(**JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[C_HID])
    F = int(cfg[C_OPT + C_FEATS])
    h = view2d(state, 0, B, H)
    z = view2d(state, B * H, B, H)
    feats = view2d(state, 2 * B * H, B, F)
    n = N_EVOLVABLE
    bias = w[n + I * H:n + I * H + H]
    res = fixed[I * H + H:]
    a, rho = w[0], w[2]
    one = x.dtype.type(1.0)
    if cfg[C_OPT + C_SPARSE] == 0:
        z[:] = 0
        mm_acc(z, h, view2d(res, 0, H, H))
    elif B == 1:
        csr_row_dots(z, h, res, H)
    else:
        s0 = 2 * B * H + B * F
        csr_batch(z, h, res, H, view2d(state, s0, H, B),
                  view2d(state, s0 + B * H, H, B))
    for b in range(B):
        for j in range(H):
            z[b, j] = rho * z[b, j] + bias[j]
    mm_acc(z, x, view2d(w, n, I, H))
    for b in range(B):
        for j in range(H):
            v = (one - a) * h[b, j] + a * tanh(z[b, j])
            h[b, j] = v
            feats[b, j] = v
        for k in range(F - H):
            feats[b, H + k] = x[b, k]
    readout(w, n + I * H + H, feats, y, int(cfg[C_READOUT]))


FAMILY = Family(
    name="esn", description="echo state network: fixed sparse reservoir, evolved or ridge-fit readout",
    options={"readout": "linear", "spectral_radius": 0.9, "density": 0.1, "leak": 1.0,
             "input_scaling": 1.0, "bias_scaling": 0.0, "readout_inputs": True,
             "evolve_leak": False, "evolve_input_scaling": False, "evolve_spectral_radius": False,
             "evolve_bias_scaling": False},
    readouts=("linear", "tanh", "sigmoid", "none"),
    blocks=blocks, features=features, sizes=sizes, cfg=cfg, pack=pack, step=step,
    fixed=fixed, check=check)


def fit_readout(net, X, Y, washout: int = 0, ridge: float = 1e-8) -> np.ndarray:
    """Fit an ESN's linear readout by ridge regression on X [B, T, I] -> Y [B, T, O].

    The first ``washout`` steps of each sequence are left out of the fit. Evolved leak,
    input scaling, spectral radius or bias scaling genes keep their values. Sets and returns the genome.
    """
    from ..network import Network
    if len(net.layers) != 1 or net.layers[0].family.name != "esn":
        raise ValueError(f"fit_readout needs a single-layer 'esn' network, got {net.arch!r}")
    lay = net.layers[0]
    if lay.opts["readout"] != "linear":
        raise ValueError(f"fit_readout fits a linear readout; this network's readout is "
                         f"{lay.opts['readout']!r}")
    Xa = net.check_inputs(X, batched=True).astype(np.float64)
    Ya = np.asarray(Y, dtype=np.float64)
    if Ya.shape != Xa.shape[:2] + (net.n_out,):
        raise ValueError(f"targets must have shape {Xa.shape[:2] + (net.n_out,)}, got {Ya.shape}")
    if not 0 <= washout < Xa.shape[1]:
        raise ValueError(f"washout={washout} must be in [0, T) with T={Xa.shape[1]}")
    if not ridge >= 0:
        raise ValueError(f"ridge={ridge!r} must be >= 0")
    opts = {k: v for k, v in lay.opts.items() if k != "readout"}
    F = features(net.n_in, lay.n_hidden, opts)
    twin = Network("esn", net.n_in, lay.n_hidden, F, seed=net.seed, readout="none", **opts)
    n_pre = twin.n_params                 # evolved reservoir genes come first in both
    twin.genome = net.genome[:n_pre]
    Phi = twin.forward(Xa)[:, washout:].reshape(-1, F)
    Phi = np.hstack([Phi, np.ones((len(Phi), 1))])
    T = Ya[:, washout:].reshape(-1, net.n_out)
    A = Phi.T @ Phi + ridge * np.eye(F + 1)
    Wb = np.linalg.solve(A, Phi.T @ T)    # [F + 1, O]
    g = net.genome
    g[n_pre:n_pre + F * net.n_out] = Wb[:F].T.ravel()
    g[n_pre + F * net.n_out:] = Wb[F]
    net.genome = g
    return g
