"""Echo state network (Jaeger 2001): a fixed sparse random reservoir and an evolved readout.

h_t = (1 - a) h_{t-1} + a tanh(rho W h_{t-1} + s W_in x_t + b), y_t = act(W_out [h_t; x_t] + b_out).
W has unit spectral radius and is scaled by rho; the reservoir comes from the network's
seed. The genome is the readout, optionally preceded by leak a, input scaling s and
spectral radius rho; ``fit_readout`` fits the readout by ridge regression instead.
"""
import numpy as np
from numba import njit

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
)
from .spec import Family, need_choice, need_positive

EVOLVABLE = (("leak", (0.0, 1.0)), ("input_scaling", (0.0, 10.0)), ("spectral_radius", (0.0, 2.0)))


def features(I, H, opts):
    return H + I if opts["readout_inputs"] else H


def blocks(I, H, O, opts):
    bl = [Block(name, (1,), (opts[name], opts[name]), bounds)
          for name, bounds in EVOLVABLE if opts["evolve_" + name]]
    return bl + readout_blocks(features(I, H, opts), O, opts["readout"])


def sizes(I, H, O, opts):
    F = features(I, H, opts)
    return 3 + I * H + readout_size(F, O, READOUTS[opts["readout"]]), 2 * H + F


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
    for key in ("readout_inputs", "evolve_leak", "evolve_input_scaling", "evolve_spectral_radius"):
        need_choice("esn", key, opts[key], (True, False))


def fixed(I, H, O, opts, rng):
    """Reservoir (unit spectral radius, transposed), input weights (transposed), biases."""
    W = rng.uniform(-1, 1, (H, H)) * (rng.random((H, H)) < opts["density"])
    radius = np.abs(np.linalg.eigvals(W)).max() if H > 0 else 0.0
    if radius > 0:
        W /= radius
    W_in = rng.uniform(-1, 1, (H, I))
    b = rng.uniform(-1, 1, H) * opts["bias_scaling"]
    return np.concatenate([W.T.ravel(), W_in.T.ravel(), b])


def cfg(I, H, O, opts):
    return [float(opts["leak"]), float(opts["input_scaling"]), float(opts["spectral_radius"]),
            float(bool(opts["evolve_leak"])), float(bool(opts["evolve_input_scaling"])),
            float(bool(opts["evolve_spectral_radius"])), float(features(I, H, opts))]


@njit(**JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[C_IN]), int(cfg[C_HID]), int(cfg[C_OUT])
    off = 0
    for i in range(3):   # leak, input scaling, spectral radius: a gene or the option
        if cfg[C_OPT + 3 + i] != 0:
            w[i] = g[off]
            off += 1
        else:
            w[i] = cfg[C_OPT + i]
    w[0] = min(max(w[0], 0.0), 1.0)
    win = fixed[H * H:H * H + I * H]
    for j in range(I * H):
        w[3 + j] = w[1] * win[j]
    pack_readout(g, off, w, 3 + I * H, int(cfg[C_OPT + 6]), O, int(cfg[C_READOUT]))


@njit(**JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[C_HID])
    F = int(cfg[C_OPT + 6])
    h = state[:B * H].reshape((B, H))
    z = state[B * H:2 * B * H].reshape((B, H))
    feats = state[2 * B * H:2 * B * H + B * F].reshape((B, F))
    bias = fixed[H * H + I * H:H * H + I * H + H]
    a, rho = w[0], w[2]
    one = x.dtype.type(1.0)
    z[:] = 0
    mm_acc(z, h, fixed[:H * H].reshape((H, H)))
    for b in range(B):
        for j in range(H):
            z[b, j] = rho * z[b, j] + bias[j]
    mm_acc(z, x, w[3:3 + I * H].reshape((I, H)))
    for b in range(B):
        for j in range(H):
            v = (one - a) * h[b, j] + a * tanh(z[b, j])
            h[b, j] = v
            feats[b, j] = v
        for k in range(F - H):
            feats[b, H + k] = x[b, k]
    readout(w, 3 + I * H, feats, y, int(cfg[C_READOUT]))


FAMILY = Family(
    name="esn", description="echo state network: fixed sparse reservoir, evolved or ridge-fit readout",
    options={"readout": "linear", "spectral_radius": 0.9, "density": 0.1, "leak": 1.0,
             "input_scaling": 1.0, "bias_scaling": 0.0, "readout_inputs": True,
             "evolve_leak": False, "evolve_input_scaling": False, "evolve_spectral_radius": False},
    readouts=("linear", "tanh", "sigmoid", "none"),
    blocks=blocks, features=features, sizes=sizes, cfg=cfg, pack=pack, step=step,
    fixed=fixed, check=check)


def fit_readout(net, X, Y, washout: int = 0, ridge: float = 1e-8) -> np.ndarray:
    """Fit an ESN's linear readout by ridge regression on X [B, T, I] -> Y [B, T, O].

    The first ``washout`` steps of each sequence are left out of the fit. Evolved leak,
    input scaling or spectral radius genes keep their values. Sets and returns the genome.
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
