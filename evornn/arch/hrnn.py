"""Hierarchical RNN with modules at different clock rates: the clockwork RNN of Koutnik,
Greff, Gomez and Schmidhuber 2014.

The H hidden units are split into g = ``modules`` consecutive modules; module i has
n_i units, H // g each and one more for each of the first H % g modules (the fastest),
and a period T_i (``periods``, strictly increasing; default T_i = 2^i). Steps are
counted from 0, so the first step of a sequence updates every module. At step t, module
i updates when t mod T_i = 0,

  h_i <- tanh(W_ih,i x_t + sum_{j >= i} W_hh,ij h_j + b_i)

(every h_j its value before the step), and keeps its state bit for bit otherwise. A
module hears only itself and the slower modules (j >= i): the recurrent matrix is block
upper-triangular, and the genome holds only those blocks, module i's as ``W_hh_i``
[n_i, n_i + ... + n_{g-1}] (its columns: module i's units, then the slower ones'). The
readout sees all of h.

The step counter is part of each sequence's state, kept modulo the periods' least common
multiple (which the periods' check bounds by 2^24, so it is exact in float32), so
stepping, episodes and resumed runs see the same clock as a whole sequence.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..options import Option, integer, rule
from . import array_ops as ops
from . import kernels as kn
from .blocks import readout_blocks, uniform
from .spec import family, lazy_twin

MAX_LCM = 1 << 24           # counters up to this are exact in float32
C_MODULES, C_LCM = 0, 1     # cfg[C_OPT + k]


def module_sizes(H: int, g: int) -> list[int]:
    """Units of each module: H // g, one more for each of the first H % g (the fastest)."""
    return [H // g + (1 if i < H % g else 0) for i in range(g)]


def periods_of(opts: dict) -> list[int]:
    """Each module's period: the ``periods`` option, or 2^i."""
    p = opts["periods"]
    return [2 ** i for i in range(int(opts["modules"]))] if p is None else [int(v) for v in p]


def _periods_ok(v) -> bool:
    if v is None:
        return True
    vals = list(v)
    return len(vals) >= 1 and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                                  and a >= 1 for a in vals) \
        and all(a < b for a, b in zip(vals, vals[1:]))


def check(I, H, O, opts):
    g = int(opts["modules"])
    if opts["periods"] is not None and len(list(opts["periods"])) != g:
        raise ValueError(f"hrnn: option periods={opts['periods']!r} must give one period per "
                         f"module, {g} (option modules)")
    if H < g:
        raise ValueError(f"hrnn: n_hidden={H} is fewer units than modules={g}; each module "
                         "needs at least one unit")
    if math.lcm(*periods_of(opts)) > MAX_LCM:
        raise ValueError(f"hrnn: option periods={opts['periods']!r} has a least common multiple "
                         f"above {MAX_LCM} (2^24), where a float32 step counter is no longer exact")


def blocks(I, H, O, opts):
    s = 1.0 / np.sqrt(H)
    sizes_, bl, o = module_sizes(H, int(opts["modules"])), [uniform("W_ih", (H, I), s)], 0
    for i, n in enumerate(sizes_):
        bl.append(uniform(f"W_hh_{i}", (n, H - o), s))
        o += n
    return bl + [uniform("b", (H,), s)] + readout_blocks(H, O, opts["readout"])


def sizes(I, H, O, opts):
    n_rec = sum(n * (H - o) for n, o in zip(*_offsets(H, int(opts["modules"]))))
    # packed: per module its input, recurrent and bias weights; state: h, z, the counter
    return (I + 1) * H + n_rec + kn.readout_size(H, O, kn.READOUTS[opts["readout"]]), 2 * H + 1


def _offsets(H, g):
    n = module_sizes(H, g)
    return n, [sum(n[:i]) for i in range(g)]


def cfg(I, H, O, opts):
    return [int(opts["modules"]), math.lcm(*periods_of(opts))]


def fixed(I, H, O, opts, rng):
    """The modules' periods (what the kernel reads each step; not evolved)."""
    return np.asarray(periods_of(opts), dtype=float)


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    G = int(cfg[kn.C_OPT + C_MODULES])
    base, rem = H // G, H % G
    goff = I * H                                  # the first W_hh_i block
    bo = I * H
    for i in range(G):
        n = base + (1 if i < rem else 0)
        bo += n * (H - (i * base + min(i, rem)))
    p, o = 0, 0
    for i in range(G):
        n = base + (1 if i < rem else 0)
        K = H - o
        # module i: W_ih rows [I, n], W_hh_i [K, n] (both transposed), then b_i
        for j in range(n):
            for k in range(I):
                w[p + k * n + j] = g[(o + j) * I + k]
            for k in range(K):
                w[p + (I + k) * n + j] = g[goff + j * K + k]
            w[p + (I + K) * n + j] = g[bo + o + j]
        goff += n * K
        p += (I + K + 1) * n
        o += n
    kn.pack_readout(g, bo + H, w, p, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    G = int(cfg[kn.C_OPT + C_MODULES])
    L = int(cfg[kn.C_OPT + C_LCM])
    base, rem = H // G, H % G
    h = kn.view2d(state, 0, B, H)
    z = kn.view2d(state, B * H, B, H)
    cnt = kn.view2d(state, 2 * B * H, B, 1)
    for b in range(B):
        t = int(cnt[b, 0])
        # every ticking module's sum from the old h first, then their new states
        p, o = 0, 0
        for i in range(G):
            n = base + (1 if i < rem else 0)
            K = H - o
            if t % int(fixed[i]) == 0:
                zb = z[b, o:o + n]
                for j in range(n):
                    zb[j] = w[p + (I + K) * n + j]
                for k in range(I):
                    xk = x[b, k]
                    for j in range(n):
                        zb[j] += xk * w[p + k * n + j]
                for k in range(K):
                    hk = h[b, o + k]
                    for j in range(n):
                        zb[j] += hk * w[p + (I + k) * n + j]
            p += (I + K + 1) * n
            o += n
        o = 0
        for i in range(G):
            n = base + (1 if i < rem else 0)
            if t % int(fixed[i]) == 0:
                for j in range(o, o + n):
                    h[b, j] = kn.tanh(z[b, j])
            o += n
        t += 1
        cnt[b, 0] = 0 if t >= L else t
    kn.readout(w, p, h, y, int(cfg[kn.C_READOUT]))


def recurrent_matrix(w: dict, H: int, g: int, xp):
    """The full recurrent matrices [P, H, H] of a population, zero below the module blocks'
    diagonal (a module never hears a faster one)."""
    n, offs = _offsets(H, g)
    P = w["W_ih"].shape[0]
    W = xp.zeros((P, H, H), w["W_ih"].dtype)
    for i, (ni, o) in enumerate(zip(n, offs)):
        W[:, o:o + ni, o:] = w[f"W_hh_{i}"]
    return W


def unit_periods(H: int, opts: dict) -> np.ndarray:
    """Each unit's period [H] (its module's)."""
    n, _ = _offsets(H, int(opts["modules"]))
    return np.repeat(np.asarray(periods_of(opts)), n)


def states(layer, w, X, xp):
    """Features [P, B, T, H] from a zero state and step 0, as batched array operations."""
    H = layer.n_hidden
    P, B, T = w["W_ih"].shape[0], X.shape[1], X.shape[2]
    WT = xp.ascontiguousarray(recurrent_matrix(w, H, int(layer.opts["modules"]), xp)
                              .transpose(0, 2, 1))
    per = unit_periods(H, layer.opts)
    h = xp.zeros((P, B, H), X.dtype)
    feats = xp.empty((P, B, T, H), X.dtype)
    for t, x in enumerate(ops.input_steps(X, w["W_ih"], w["b"], xp)):
        tick = xp.asarray(t % per == 0)
        h = xp.where(tick, xp.tanh(x + h @ WT), h)
        feats[:, :, t] = h
    return feats


def _twin_class():
    import torch

    from ..twins.layers import BlockModule

    class HRNNTwin(BlockModule):
        """The clockwork RNN; state (h [B, H], the step counter [B, 1])."""

        def __init__(self, lay):
            super().__init__(lay)
            o = lay.opts
            self.H, self.g = lay.n_hidden, int(o["modules"])
            self.n, self.offs = _offsets(self.H, self.g)
            self.lcm = float(math.lcm(*periods_of(o)))
            self.register_buffer("period", torch.tensor(unit_periods(self.H, o), dtype=torch.float64))

        def recurrent(self):
            rows = [torch.cat([self.W_ih.new_zeros(n, o), getattr(self, f"W_hh_{i}")], 1)
                    if o else getattr(self, f"W_hh_{i}")
                    for i, (n, o) in enumerate(zip(self.n, self.offs))]
            return torch.cat(rows, 0)

        def features(self, x):
            B = x.shape[0]
            if self.h0 is None:
                h, c = x.new_zeros(B, self.H), x.new_zeros(B, 1)
            else:
                h, c = self.h0
            u = x @ self.W_ih.T + self.b
            W = self.recurrent()
            hs = []
            for t in range(x.shape[1]):
                tick = torch.fmod(c, self.period) == 0
                h = torch.where(tick, torch.tanh(u[:, t] + h @ W.T), h)
                c = torch.fmod(c + 1, self.lcm)
                hs.append(h)
            self.hT = (h, c)
            return torch.stack(hs, 1)
    return HRNNTwin


FAMILY = family(
    name="hrnn", description="clockwork RNN (Koutnik et al. 2014): modules at clock rates 2^i, "
                             "slower modules feed faster ones",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options={
        "modules": Option(4, "modules of hidden units (the fastest get any units left over)",
                          integer(1)),
        "periods": Option(None, "each module's clock period, strictly increasing integers >= 1 "
                                "(None: 1, 2, 4, ..., 2^(modules-1))",
                          rule(_periods_ok, "must be None or strictly increasing integers >= 1, "
                                            "one per module", got=False)),
    },
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes, cfg=cfg, fixed=fixed,
    check=check, pack=pack, step=step, array=ops.features_then_readout(states),
    twin=lazy_twin(_twin_class))
