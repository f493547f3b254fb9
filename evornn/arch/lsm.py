"""Liquid state machine (Maass, Natschlaeger and Markram 2002): a fixed recurrent pool of
leaky integrate-and-fire neurons and an evolved or ridge-fit readout of its filtered spikes.

Each step of dt ms, for a neuron j that is not refractory (v is the membrane potential in mV
above the background level E the membrane relaxes to, so a zero state rests at E):

    v_j <- v_j exp(-dt / tau_m) + sum_i W_in[j, i] x_i + sum_k W[j, k] s_k(previous step)

and it spikes (s_j = 1) when E + v_j >= threshold: v_j is set to reset - E and held there for
the next round(refractory / dt) steps, during which it neither integrates nor spikes. The
readout sees r_j <- r_j exp(-dt / tau_filter) + s_j, the exponentially filtered spike trains:
y = act(W_out r + b_out). The inputs are spike trains (0/1 a step; any real value is a jump
of x times the input weight). The liquid is drawn from the network's seed: a fraction
``inhibitory`` of the neurons are inhibitory (negative outgoing weights, Dale's law), the rest
excitatory; a connection from a to b exists with probability C[type a, type b] exp(-(D(a, b) /
length)^2), D the distance of the two on a grid of 3 x 3 columns (15 x 3 x 3 for 135 neurons)
(``wiring="distance"``), or ``density`` (``"uniform"``); weights are Gamma-distributed around
the mean jumps MEAN_JUMP (mV, times ``weight_scale``). Each input channel reaches a neuron
with probability ``input_density`` (and at least one neuron), with a Gamma-distributed jump
of mean ``input_scaling``. The genome is the readout; ``fit_readout`` fits it by ridge regression instead.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, uint64

from ..options import Option, between, choice, finite, non_negative, positive, rule
from . import array_ops as ops
from . import kernels as kn
from . import ridge as ridge_fit
from .blocks import readout_blocks
from .spec import family, lazy_twin

# connection probability scale C and mean jump (mV) by (presynaptic, postsynaptic) type,
# 0 = excitatory, 1 = inhibitory. C is the paper's; the jumps are its synaptic current
# amplitudes A (nA, R = 1 MOhm) times tau_s / tau_m (3 ms excitatory, 6 ms inhibitory
# synapses over 30 ms): the voltage a delta synapse leaves behind
CONNECT = np.array([[0.3, 0.2], [0.4, 0.1]])
MEAN_JUMP = np.array([[3.0, 6.0], [-3.8, -3.8]])
# weight_scale defaults to 0.25: these synapses are static where the paper's depress; at 1.0
# the 135-neuron liquid fired at 176 Hz on spike-templates' inputs, at 0.25 at 30 Hz
# (docs/problems.md)
# shape of the Gamma distribution of weight magnitudes: standard deviation half the mean
GAMMA_SHAPE = 4.0
# cfg slots from C_OPT: membrane decay, threshold and reset above the background, trace decay
C_DECAY, C_THETA, C_RESET, C_TRACE = range(4)


def features(I, H, opts):
    return H


def blocks(I, H, O, opts):
    return readout_blocks(H, O, opts["readout"])


def sizes(I, H, O, opts):
    # per sequence: v, refractory steps left, spikes, traces (the features), input jumps
    return kn.readout_size(H, O, kn.READOUTS[opts["readout"]]), 5 * H


def _pair(v):
    return len(v) == 2 and all(non_negative(u) is None for u in v)


def _options() -> dict:
    return {
        "tau_m": Option(30.0, "membrane time constant tau_m in ms", positive),
        "threshold": Option(15.0, "firing threshold in mV", finite),
        "reset": Option(13.5, "reset potential in mV, below the threshold",
                        finite),
        "background": Option(13.5, "level E in mV the membrane relaxes to (R I_b: the background "
                             "current)", finite),
        "refractory": Option((3.0, 2.0), "refractory periods in ms (excitatory, inhibitory)",
                             rule(_pair, "must be two numbers >= 0 (excitatory, inhibitory ms)",
                                  got=False)),
        "dt": Option(1.0, "time step in ms", positive),
        "inhibitory": Option(0.2, "fraction of inhibitory neurons, in [0, 1]", between(0.0, 1.0)),
        "wiring": Option("distance", "'distance': C exp(-(D / length)^2) on a 3 x 3 x N/9 grid; "
                         "'uniform': probability density", choice("distance", "uniform")),
        "length": Option(2.0, "length lambda of the distance-dependent wiring, in grid steps", positive),
        "density": Option(0.1, "connection probability of the uniform wiring, in (0, 1]",
                          between(0.0, 1.0, "(]")),
        "weight_scale": Option(0.25, "scale of the recurrent weights' mean jumps (3, 6, -3.8, "
                               "-3.8 mV: EE, EI, IE, II)", non_negative),
        "input_scaling": Option(4.0, "mean jump in mV of an input spike", non_negative),
        "input_density": Option(0.5, "probability that an input channel reaches a neuron, in (0, 1]",
                                between(0.0, 1.0, "(]")),
        "tau_filter": Option(30.0, "time constant in ms of the readout's spike-train filter", positive),
    }


def check(I, H, O, opts):
    if not opts["reset"] < opts["threshold"]:
        raise ValueError(f"lsm: option reset={opts['reset']!r} must be below the threshold "
                         f"({opts['threshold']!r} mV)")


def grid(H: int) -> np.ndarray:
    """Positions [H, 3] of H neurons on columns of 3 x 3 (15 x 3 x 3 for 135 neurons)."""
    i = np.arange(H)
    return np.stack([i % 3, (i // 3) % 3, i // 9], 1).astype(float)


def refractory_steps(opts) -> tuple[int, int]:
    """Whole steps an excitatory and an inhibitory neuron stays refractory after a spike."""
    return tuple(int(round(r / opts["dt"])) for r in opts["refractory"])


def draw_liquid(I: int, H: int, opts: dict, rng: np.random.Generator):
    """(W [H, H] (W[j, k]: from k to j), W_in [H, I], inhibitory [H] bool) for these options."""
    inh = np.zeros(H, bool)
    inh[rng.permutation(H)[:int(round(opts["inhibitory"] * H))]] = True
    t = inh.astype(int)
    if opts["wiring"] == "distance":
        pos = grid(H)
        D2 = ((pos[:, None] - pos[None]) ** 2).sum(-1)
        p = CONNECT[t[None, :], t[:, None]] * np.exp(-D2 / opts["length"] ** 2)
    else:
        p = np.full((H, H), float(opts["density"]))
    np.fill_diagonal(p, 0.0)
    mean = opts["weight_scale"] * MEAN_JUMP[t[None, :], t[:, None]]      # [to, from]
    W = (rng.random((H, H)) < p) * rng.gamma(GAMMA_SHAPE, 1.0 / GAMMA_SHAPE, (H, H)) * mean
    reach = rng.random((H, I)) < opts["input_density"]
    reach[rng.integers(0, H, I), np.arange(I)] |= ~reach.any(0)    # no channel left unheard
    W_in = reach * rng.gamma(GAMMA_SHAPE, opts["input_scaling"] / GAMMA_SHAPE, (H, I))
    return W, W_in, inh


def fixed(I, H, O, opts, rng):
    """W_in^T, refractory steps per neuron, then W by source: start of each source's
    (target, weight) pairs (H + 1), then the pairs (spikes are few: a step visits only the
    outgoing connections of the neurons that spiked)."""
    W, W_in, inh = draw_liquid(I, H, opts, rng)
    ref = np.where(inh, *refractory_steps(opts)[::-1]).astype(float)
    src, tgt = np.nonzero(W.T)
    pairs = np.stack([tgt.astype(float), W[tgt, src]], 1).ravel()
    starts = np.concatenate([[0], np.cumsum(np.count_nonzero(W, axis=0))]).astype(float)
    return np.concatenate([W_in.T.ravel(), ref, starts, pairs])


def liquid(lay) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(W [H, H], W_in [H, I], refractory steps [H]) decoded from an lsm layer's ``fixed``."""
    I, H = lay.n_in, lay.n_hidden
    f = np.asarray(lay.fixed, dtype=np.float64)
    W_in = f[:I * H].reshape(I, H).T.copy()
    ref = f[I * H:I * H + H].copy()
    starts = f[I * H + H:I * H + 2 * H + 1].astype(int)
    pairs = f[I * H + 2 * H + 1:].reshape(-1, 2)
    W = np.zeros((H, H))
    W[pairs[:, 0].astype(int), np.repeat(np.arange(H), np.diff(starts))] = pairs[:, 1]
    return W, W_in, ref


def cfg(I, H, O, opts):
    E = opts["background"]
    return [math.exp(-opts["dt"] / opts["tau_m"]), opts["threshold"] - E, opts["reset"] - E,
            math.exp(-opts["dt"] / opts["tau_filter"])]


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    """w = the readout."""
    H, O = int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    kn.pack_readout(g, 0, w, 0, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    v = kn.view2d(state, 0, B, H)
    refr = kn.view2d(state, B * H, B, H)
    s = kn.view2d(state, 2 * B * H, B, H)
    r = kn.view2d(state, 3 * B * H, B, H)
    inp = kn.view2d(state, 4 * B * H, B, H)
    dt = x.dtype.type
    decay, theta = dt(cfg[kn.C_OPT + C_DECAY]), dt(cfg[kn.C_OPT + C_THETA])
    reset, fdecay = dt(cfg[kn.C_OPT + C_RESET]), dt(cfg[kn.C_OPT + C_TRACE])
    ref = fixed[I * H:I * H + H]
    base = I * H + 2 * H + 1
    inp[:] = 0
    kn.mm_acc(inp, x, kn.view2d(fixed, 0, I, H))
    for b in range(B):
        ib = inp[b]
        for k in range(H):
            if s[b, k] != 0:
                end = base + 2 * int(fixed[I * H + H + k + 1])
                for q in range(base + 2 * int(fixed[I * H + H + k]), end, 2):
                    ib[uint64(fixed[q])] += fixed[q + 1]
    for b in range(B):
        for j in range(H):
            spike = dt(0.0)
            if refr[b, j] > 0:
                refr[b, j] -= 1
            else:
                u = v[b, j] * decay + inp[b, j]
                if u >= theta:
                    spike = dt(1.0)
                    u = reset
                    refr[b, j] = ref[j]
                v[b, j] = u
            s[b, j] = spike
            r[b, j] = r[b, j] * fdecay + spike
    kn.readout(w, 0, r, y, int(cfg[kn.C_READOUT]))


def traces(layer, X, xp):
    """The filtered spike trains [P', B, T, H] of the liquid for inputs X [P', B, T, I] (the
    liquid is the same for every genome: P' is X's first dimension)."""
    c = [X.dtype.type(v) for v in layer.cfg[kn.C_OPT:kn.C_OPT + 4]]
    decay, theta, reset, fdecay = c
    W, W_in, ref = liquid(layer)
    WT, W_inT = xp.asarray(W.T.astype(X.dtype)), xp.asarray(W_in.T.astype(X.dtype))
    ref = xp.asarray(ref.astype(X.dtype))
    P, B, T, _ = X.shape
    H = layer.n_hidden
    v, refr, s, r = (xp.zeros((P, B, H), X.dtype) for _ in range(4))
    out = xp.empty((P, B, T, H), X.dtype)
    for t in range(T):
        inp = X[:, :, t] @ W_inT + s @ WT
        rest = refr > 0
        u = xp.where(rest, v, v * decay + inp)
        spike = ~rest & (u >= theta)
        v = xp.where(spike, reset, u)
        refr = xp.where(spike, ref, xp.where(rest, refr - 1, refr))
        s = spike.astype(X.dtype)
        r = r * fdecay + s
        out[:, :, t] = r
    return out


def array(layer, G, X, xp):
    """The layer over a population [P, ...]: the liquid once (per input set), the readout per genome."""
    w = ops.weights(layer, G, xp)
    feats = traces(layer, X, xp)
    P = G.shape[0]
    if feats.shape[0] != P:
        feats = xp.broadcast_to(feats, (P,) + feats.shape[1:])
    return ops.readout(xp, w, xp.ascontiguousarray(feats), layer)


def _twin_class():
    import torch

    from ..twins.layers import BlockModule

    class LSMTwin(BlockModule):
        """The spiking liquid computed without gradient (spikes are a step function of the
        membrane; the filtered trains are constant almost everywhere in the inputs), with a
        differentiable readout. The liquid's W, W_in and refractory steps are buffers; the
        state (h0, hT) is (v, refractory steps left, spikes, traces)."""

        def __init__(self, lay):
            super().__init__(lay)
            W, W_in, ref = liquid(lay)
            self.register_buffer("liquid_weights", torch.from_numpy(W))
            self.register_buffer("input_weights", torch.from_numpy(W_in))
            self.register_buffer("refractory_steps", torch.from_numpy(ref))
            self.constants = [float(c) for c in lay.cfg[kn.C_OPT:kn.C_OPT + 4]]

        def features(self, x):
            decay, theta, reset, fdecay = self.constants
            H = self.liquid_weights.shape[0]
            with torch.no_grad():
                x = x.detach()
                W, W_in = self.liquid_weights.to(x.dtype), self.input_weights.to(x.dtype)
                ref = self.refractory_steps.to(x.dtype)
                if self.h0 is None:
                    v, refr, s, r = (x.new_zeros(x.shape[0], H) for _ in range(4))
                else:
                    v, refr, s, r = self.h0
                u_in = x @ W_in.T
                rs = []
                for t in range(x.shape[1]):
                    inp = u_in[:, t] + s @ W.T
                    rest = refr > 0
                    u = torch.where(rest, v, v * decay + inp)
                    spike = ~rest & (u >= theta)
                    v = torch.where(spike, torch.full_like(u, reset), u)
                    refr = torch.where(spike, ref.expand_as(refr), torch.where(rest, refr - 1, refr))
                    s = spike.to(x.dtype)
                    r = r * fdecay + s
                    rs.append(r)
            self.hT = (v, refr, s, r)
            return torch.stack(rs, 1)

        def check_fixed(self, lay, seed: int) -> None:
            """ValueError unless this module's liquid is the one the seed builds for lay."""
            if not all(np.allclose(a, self.get_buffer(k).detach().double().numpy(), rtol=1e-6, atol=1e-7)
                       for a, k in zip(liquid(lay), ("liquid_weights", "input_weights",
                                                     "refractory_steps"))):
                raise ValueError("the module's LSM liquid differs from the one its seed "
                                 f"{seed} builds; a Network's liquid comes from its seed")
    return LSMTwin


def fit_readout(net, X, Y, washout: int = 0, ridge: float = 1e-8) -> np.ndarray:
    """Fit an lsm's linear readout by ridge regression on X [B, T, I] -> Y [B, T, O] (the
    first ``washout`` steps of each sequence left out). Sets and returns the genome."""
    Xa, Ya = ridge_fit.fit_data(net, "lsm", X, Y, washout, ridge)
    lay = net.layers[0]
    H = lay.n_hidden
    opts = {k: v for k, v in lay.opts.items() if k != "readout"}
    feats = type(net)("lsm", net.n_in, H, H, seed=net.seed, readout="none", **opts)
    Wb = ridge_fit.solve(feats.forward(Xa), Ya, washout, ridge)   # [H + 1, O]
    g = np.concatenate([Wb[:H].T.ravel(), Wb[H]])
    net.genome = g
    return g


FAMILY = family(
    name="lsm", description="liquid state machine: fixed pool of spiking LIF neurons, evolved or "
    "ridge-fit readout of filtered spike trains",
    readouts=("linear", "tanh", "sigmoid", "none"), options=_options(), check=check,
    blocks=blocks, features=features, sizes=sizes, cfg=cfg, pack=pack, step=step,
    fixed=fixed, array=array, twin=lazy_twin(_twin_class), fit_readout=fit_readout,
    feature_range=lambda opts: (0.0, 1.0 / (1.0 - math.exp(-opts["dt"] / opts["tau_filter"]))))
