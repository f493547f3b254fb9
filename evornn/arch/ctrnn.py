"""Continuous-time RNN in Beer's form, integrated with Euler or RK4.

tau_i dy_i/dt = -y_i + sum_j w_ij sigma(g_j (y_j + theta_j)) + sum_k W_in[i, k] x_k.
The outputs are the firing rates sigma(g (y + theta)) of the first n_out neurons
(Beer's motor neurons), or a readout over all firing rates. Time constants are
clipped into ``tau_range`` when packed, so they stay positive whatever the genome says.
``genes="unit"`` makes every gene a number in [-1, 1] mapped linearly onto its range
(weights and biases +-weight_range, tau onto tau_range: see ``ctrnn_genes``);
``init="center-crossing"`` gives the initial genome center-crossing biases.
"""
import functools

import numpy as np
from numba import njit

from ..options import Option, choice, positive
from . import array_ops as ops
from . import ctrnn_genes
from . import kernels as kn
from .blocks import Block, readout_blocks, uniform
from .spec import family, lazy_twin

INTEGRATORS = ("euler", "rk4")
GAIN_BOUNDS = ctrnn_genes.GAIN_BOUNDS
C_UNIT = 5          # cfg[C_OPT + C_UNIT]: 1 for unit genes; cfg[C_OPT + C_UNIT + 1]: weight_range


def blocks(I, H, O, opts):
    lo, hi = opts["tau_range"]
    bl = [uniform("W", (H, H), 1.0), uniform("W_in", (H, I), 1.0), uniform("theta", (H,), 1.0),
          Block("tau", (H,), (lo, hi), (lo, hi))]
    if opts["gains"]:
        bl.append(Block("gain", (H,), (1.0, 1.0), GAIN_BOUNDS))
    bl += readout_blocks(H, O, opts["readout"])
    return ctrnn_genes.unit_blocks(bl, opts) if ctrnn_genes.unit(opts) else bl


def packed_size(I, H, O, opts):
    return (H + I + 3) * H + kn.readout_size(H, O, kn.READOUTS[opts["readout"]])


def sizes(I, H, O, opts):
    return packed_size(I, H, O, opts), 7 * H + 1


def common_options(dt: float) -> dict:
    """The options ctrnn and mtrnn share: integration and genes."""
    return {"dt": Option(dt, "integration step (time units per input)", positive),
            "integrator": Option("euler", "euler or rk4", choice(*INTEGRATORS))}


def check_common(name, I, H, O, opts):
    if opts["readout"] == "neurons" and O > H:
        raise ValueError(f"{name}: n_out={O} outputs are the first n_out neurons' firing rates, "
                         f"so n_hidden must be >= n_out (got {H}); or use readout='linear'")


def check(I, H, O, opts):
    check_common("ctrnn", I, H, O, opts)
    tr = opts["tau_range"]
    if not (isinstance(tr, (tuple, list)) and len(tr) == 2 and 0 < float(tr[0]) <= float(tr[1])):
        raise ValueError(f"ctrnn: option tau_range={tr!r} must be (low, high) with 0 < low <= high")


def cfg(I, H, O, opts):
    lo, hi = opts["tau_range"]
    return [float(opts["dt"]), INTEGRATORS.index(opts["integrator"]), float(bool(opts["gains"])),
            float(lo), float(hi)] + unit_cfg(opts)


def unit_cfg(opts):
    """The gene mapping's cfg entries, at cfg[C_OPT + C_UNIT] (ctrnn and mtrnn alike)."""
    return [float(ctrnn_genes.unit(opts)), float(opts["weight_range"])]


@njit(**kn.JIT)
def scale(w, lo, hi, r):
    """w[lo:hi] *= r: unit weight genes onto +-weight_range."""
    for i in range(lo, hi):
        w[i] *= r


@njit(**kn.JIT)
def unit_range(g, lo, hi):
    """A unit gene clipped into [-1, 1], mapped linearly onto [lo, hi]."""
    return lo + (min(max(g, -1.0), 1.0) + 1.0) * (0.5 * (hi - lo))


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    off = kn.transpose_into(kn.view2d(w, 0, H, H), g, 0, H, H)
    off = kn.transpose_into(kn.view2d(w, H * H, I, H), g, off, H, I)
    p = (H + I) * H
    lo, hi = cfg[kn.C_OPT + 3], cfg[kn.C_OPT + 4]
    gains = cfg[kn.C_OPT + 2] != 0
    if cfg[kn.C_OPT + C_UNIT] != 0:
        r = cfg[kn.C_OPT + C_UNIT + 1]
        scale(w, 0, p, r)
        glo, ghi = GAIN_BOUNDS
        for j in range(H):
            w[p + j] = g[off + j] * r
            w[p + H + j] = 1.0 / unit_range(g[off + H + j], lo, hi)
            w[p + 2 * H + j] = unit_range(g[off + 2 * H + j], glo, ghi) if gains else 1.0
        off += 3 * H if gains else 2 * H
        _, end = kn.pack_readout(g, off, w, p + 3 * H, H, O, int(cfg[kn.C_READOUT]))
        scale(w, p + 3 * H, end, r)
        return
    for j in range(H):
        w[p + j] = g[off + j]                                    # theta
        w[p + H + j] = 1.0 / min(max(g[off + H + j], lo), hi)    # 1 / tau
        w[p + 2 * H + j] = g[off + 2 * H + j] if gains else 1.0  # gain
    off += 3 * H if gains else 2 * H
    kn.pack_readout(g, off, w, p + 3 * H, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def _rates(yv, o, theta, gain):
    B, H = yv.shape
    for b in range(B):
        for j in range(H):
            o[b, j] = kn.sigmoid(gain[j] * (yv[b, j] + theta[j]))


@njit(**kn.JIT)
def _deriv(yv, o, inp, wt, theta, inv_tau, gain, z, dy):
    """dy = (-y + inp + sigma(g (y + theta)) @ W^T) / tau, with o holding the rates of yv."""
    B, H = yv.shape
    z[:] = inp
    kn.mm_acc(z, o, wt)
    for b in range(B):
        for j in range(H):
            dy[b, j] = (z[b, j] - yv[b, j]) * inv_tau[j]


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    wt = kn.borrow2d(w, 0, H, H)
    p = (H + I) * H
    theta, inv_tau, gain = w[p:p + H], w[p + H:p + 2 * H], w[p + 2 * H:p + 3 * H]
    n = B * H
    yv = kn.borrow2d(state, 0, B, H)
    o = kn.borrow2d(state, n, B, H)
    inp = kn.borrow2d(state, 2 * n, B, H)
    z = kn.borrow2d(state, 3 * n, B, H)
    k = kn.borrow2d(state, 4 * n, B, H)
    acc = kn.borrow2d(state, 5 * n, B, H)
    ytmp = kn.borrow2d(state, 6 * n, B, H)
    started = state[7 * n:7 * n + 1]
    if started[0] == 0:
        _rates(yv, o, theta, gain)
        started[0] = 1
    dt = x.dtype.type(cfg[kn.C_OPT])
    if cfg[kn.C_OPT + 1] == 0:
        # Euler, in one pass over the neurons after the matmuls (1.56x faster than
        # separate derivative, update and rate loops, measured)
        z[:] = 0
        kn.mm_acc(z, x, kn.borrow2d(w, H * H, I, H))
        kn.mm_acc(z, o, wt)
        for b in range(B):
            for j in range(H):
                v = yv[b, j] + dt * inv_tau[j] * (z[b, j] - yv[b, j])
                yv[b, j] = v
                o[b, j] = kn.sigmoid(gain[j] * (v + theta[j]))
        code = int(cfg[kn.C_READOUT])
        if code == kn.RO_NEURONS:        # Beer's motor neurons, copied here: no call
            for b in range(B):
                for j in range(y.shape[1]):
                    y[b, j] = o[b, j]
        else:
            kn.readout(w, p + 3 * H, o, y, code)
        return
    inp[:] = 0
    kn.mm_acc(inp, x, kn.borrow2d(w, H * H, I, H))
    half = dt * x.dtype.type(0.5)
    sixth = dt / x.dtype.type(6.0)
    _deriv(yv, o, inp, wt, theta, inv_tau, gain, z, k)                     # k1
    acc[:] = k
    for c in range(3):
        h = half if c < 2 else dt
        for b in range(B):
            for j in range(H):
                ytmp[b, j] = yv[b, j] + h * k[b, j]
        _rates(ytmp, o, theta, gain)
        _deriv(ytmp, o, inp, wt, theta, inv_tau, gain, z, k)               # k2, k3, k4
        wgt = x.dtype.type(2.0) if c < 2 else x.dtype.type(1.0)
        for b in range(B):
            for j in range(H):
                acc[b, j] += wgt * k[b, j]
    for b in range(B):
        for j in range(H):
            yv[b, j] += sixth * acc[b, j]
    _rates(yv, o, theta, gain)
    kn.readout(w, p + 3 * H, o, y, int(cfg[kn.C_READOUT]))


def rates(o, w, X, xp):
    """Firing rates [P, B, T, H] of a CTRNN layer over a population, as batched array
    operations; o the layer's options, w its parameters (unit genes already mapped)."""
    P, B, T, H = w["W"].shape[0], X.shape[1], X.shape[2], w["W"].shape[1]
    y = xp.zeros((P, B, H), X.dtype)
    feats = xp.empty((P, B, T, H), X.dtype)
    lo, hi = o["tau_range"]
    tau = xp.clip(w["tau"], lo, hi)[:, None]
    theta = w["theta"][:, None]
    gain = w["gain"][:, None] if o["gains"] else xp.ones_like(theta)
    WT = xp.ascontiguousarray(w["W"].transpose(0, 2, 1))
    step = o["dt"]
    k = step / tau
    euler = ops.fused(xp, "euler", lambda xp: _euler)
    rate = ops.fused(xp, "rate", lambda xp: lambda y, gain, theta: ops.sigmoid(xp, gain * (y + theta)))
    r = rate(y, gain, theta)
    for t, u in enumerate(ops.input_steps(X, w["W_in"], None, xp)):
        if o["integrator"] == "euler":
            y = euler(y, r @ WT, u, k)
        else:
            f = lambda v: (-v + rate(v, gain, theta) @ WT + u) / tau  # noqa: E731
            k1 = f(y)
            k2 = f(y + step / 2 * k1)
            k3 = f(y + step / 2 * k2)
            k4 = f(y + step * k3)
            y = y + step / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        r = rate(y, gain, theta)
        feats[:, :, t] = r
    return feats


def _euler(y, m, u, k):                   # k = dt / tau
    return y + k * (-y + m + u)


def array(layer, G, X, xp):
    """The layer over a population [P, ...] as batched array operations in module xp."""
    w = ctrnn_genes.parameters(ops.weights(layer, G, xp), layer.opts, xp)
    return ops.readout(xp, w, rates(layer.opts, w, X, xp), layer)


@functools.cache
def twin_base():
    """(GeneMapped, ctrnn_rates): the torch pieces ctrnn and mtrnn twins share."""
    import torch

    from ..twins.layers import ACTS, BlockModule

    def ctrnn_rates(x, W, W_in, theta, inv_tau, gain, dt: float, rk4: bool, y0=None):
        """(firing rates [B, T, H], final y) of Beer's CTRNN from y0 (None: 0), one Euler or
        RK4 step per input."""
        u = x @ W_in.T                                     # input held during the whole step

        def rate(v):
            return torch.sigmoid(gain * (v + theta))

        def deriv(v, o, ut):
            return (ut + o @ W.T - v) * inv_tau

        y = x.new_zeros(x.shape[0], W.shape[0]) if y0 is None else y0
        o, rates = rate(y), []
        for t in range(x.shape[1]):
            ut = u[:, t]
            if rk4:
                k1 = deriv(y, o, ut)
                y2 = y + 0.5 * dt * k1
                k2 = deriv(y2, rate(y2), ut)
                y3 = y + 0.5 * dt * k2
                k3 = deriv(y3, rate(y3), ut)
                y4 = y + dt * k3
                k4 = deriv(y4, rate(y4), ut)
                y = y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            else:
                y = y + dt * inv_tau * (ut + o @ W.T - y)
            o = rate(y)
            rates.append(o)
        return torch.stack(rates, 1), y

    class GeneMapped(BlockModule):
        """A ctrnn/mtrnn layer: parameters hold the genes, ``p(name)`` the value they stand for
        (the same for raw genes; the linear maps of ``ctrnn_genes`` for unit genes)."""

        def __init__(self, lay):
            super().__init__(lay)
            self.gene_opts, self.unit = dict(lay.opts), ctrnn_genes.unit(lay.opts)

        def p(self, name: str) -> torch.Tensor:
            g = getattr(self, name)
            return ctrnn_genes.to_parameter(name, g, self.gene_opts, torch) if self.unit else g

        def readout(self, feats):
            if not self.unit or self.readout_kind in ("none", "neurons"):
                return super().readout(feats)
            return ACTS[self.readout_kind](feats @ self.p("W_out").T + self.p("b_out"))

    return GeneMapped, ctrnn_rates


def _twin_class():
    import torch

    GeneMapped, ctrnn_rates = twin_base()

    class CTRNNTwin(GeneMapped):
        """Beer's CTRNN, tau clipped into tau_range, optional gains; rates are the features."""

        def __init__(self, lay):
            super().__init__(lay)
            self.dt, self.rk4 = float(lay.opts["dt"]), lay.opts["integrator"] == "rk4"
            self.tau_range = tuple(float(v) for v in lay.opts["tau_range"])

        def features(self, x):
            if self.unit:
                inv_tau = 1.0 / self.p("tau")
            else:
                inv_tau = 1.0 / torch.clamp(self.tau, *self.tau_range)
            gain = self.p("gain") if "gain" in self.block_names else 1.0
            rates, self.hT = ctrnn_rates(x, self.p("W"), self.p("W_in"), self.p("theta"), inv_tau,
                                         gain, self.dt, self.rk4, self.h0)
            return rates
    return CTRNNTwin


def neuron_graph(vals, opts, H) -> dict:
    """The layer as neurons and connections, for drawings: the decoded genes, tau clipped
    as the kernels clip it."""
    p = dict(ctrnn_genes.parameters(vals, opts))
    tau = p["tau"] if ctrnn_genes.unit(opts) else np.clip(p["tau"], *map(float, opts["tau_range"]))
    return {"input": p["W_in"], "recurrent": p["W"], "bias": p["theta"], "tau": tau}


FAMILY = family(
    neuron_graph=neuron_graph,
    name="ctrnn", description="continuous-time RNN (Beer), Euler or RK4, positive time constants",
    readouts=("neurons", "linear", "tanh", "sigmoid", "none"),
    options={**common_options(0.1),
             "tau_range": Option((0.5, 10.0), "(low, high): time constants are clipped into it"),
             "gains": Option(False, "whether each neuron's gain is evolved", choice(True, False)),
             **ctrnn_genes.options()},
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes, cfg=cfg,
    pack=pack, step=step, check=check, array=array, twin=lazy_twin(_twin_class),
    feature_range=lambda opts: (0.0, 1.0), center_crossing=True)
