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
    # state: h, the sums z, the step counter
    return (I + H + 1) * H + kn.readout_size(H, O, kn.READOUTS[opts["readout"]]), 2 * H + 1


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
    # packed: W_ih^T [I, H], the full W_hh^T [H, H] (zero where a faster module would feed a
    # slower one), b [H], the readout
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    G = int(cfg[kn.C_OPT + C_MODULES])
    base, rem = H // G, H % G
    off = kn.transpose_into(kn.view2d(w, 0, I, H), g, 0, H, I)
    Wh = kn.view2d(w, I * H, H, H)
    Wh[:] = 0
    o = 0
    for i in range(G):
        n = base + (1 if i < rem else 0)
        K = H - o
        for j in range(n):
            for k in range(K):
                Wh[o + k, o + j] = g[off + j * K + k]
        off += n * K
        o += n
    bo = (I + H) * H
    for j in range(H):
        w[bo + j] = g[off + j]
    kn.pack_readout(g, off + H, w, bo + H, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def _acc(z, r0, r1, c0, c1, a, k0, W):
    """z[r, c0:c1] += a[r, k0:] @ W[k0:, c0:c1] for rows r0..r1-1, tiled 4 rows x 4 k-steps
    as kn.mm_acc is. Whole rows of C-contiguous arrays, indexed in the loop: numba vectorizes
    over j only where it knows the stride (column slices of the matrices ran 2.5x slower)."""
    K = W.shape[0]
    K4 = K - (K - k0) % 4
    R4 = r1 - (r1 - r0) % 4
    for r in range(r0, R4, 4):
        z0, z1, z2, z3 = z[r], z[r + 1], z[r + 2], z[r + 3]
        for k in range(k0, K4, 4):
            a0, a1, a2, a3 = a[r, k], a[r, k + 1], a[r, k + 2], a[r, k + 3]
            b0, b1, b2, b3 = a[r + 1, k], a[r + 1, k + 1], a[r + 1, k + 2], a[r + 1, k + 3]
            c0_, c1_, c2_, c3_ = a[r + 2, k], a[r + 2, k + 1], a[r + 2, k + 2], a[r + 2, k + 3]
            d0, d1, d2, d3 = a[r + 3, k], a[r + 3, k + 1], a[r + 3, k + 2], a[r + 3, k + 3]
            w0, w1, w2, w3 = W[k], W[k + 1], W[k + 2], W[k + 3]
            for j in range(c0, c1):
                v0, v1, v2, v3 = w0[j], w1[j], w2[j], w3[j]
                z0[j] += v0 * a0 + v1 * a1 + v2 * a2 + v3 * a3
                z1[j] += v0 * b0 + v1 * b1 + v2 * b2 + v3 * b3
                z2[j] += v0 * c0_ + v1 * c1_ + v2 * c2_ + v3 * c3_
                z3[j] += v0 * d0 + v1 * d1 + v2 * d2 + v3 * d3
        for k in range(K4, K):
            a0, b0, c0_, d0, w0 = a[r, k], a[r + 1, k], a[r + 2, k], a[r + 3, k], W[k]
            for j in range(c0, c1):
                v0 = w0[j]
                z0[j] += v0 * a0
                z1[j] += v0 * b0
                z2[j] += v0 * c0_
                z3[j] += v0 * d0
    for r in range(R4, r1):
        zr = z[r]
        for k in range(k0, K4, 4):
            a0, a1, a2, a3 = a[r, k], a[r, k + 1], a[r, k + 2], a[r, k + 3]
            w0, w1, w2, w3 = W[k], W[k + 1], W[k + 2], W[k + 3]
            for j in range(c0, c1):
                zr[j] += w0[j] * a0 + w1[j] * a1 + w2[j] * a2 + w3[j] * a3
        for k in range(K4, K):
            a0, w0 = a[r, k], W[k]
            for j in range(c0, c1):
                zr[j] += w0[j] * a0


@njit(inline="always", **kn.JIT)
def _sums(w, I, H, c0, c1, k0, x, h, z, r0, r1):
    """z[r, c0:c1] = b + x W_ih^T + h W_hh^T over units c0..c1-1 for rows r0..r1-1, from the
    states of units k0.. (the others feed them with zero weights)."""
    bo = (I + H) * H
    for r in range(r0, r1):
        zr = z[r]
        for j in range(c0, c1):
            zr[j] = w[bo + j]
    if c0 == 0 and c1 == H and r0 == 0 and r1 == z.shape[0]:
        kn.mm_acc(z, x, kn.view2d(w, 0, I, H))
        kn.mm_acc(z, h, kn.view2d(w, I * H, H, H))
        return
    _acc(z, r0, r1, c0, c1, x, 0, kn.view2d(w, 0, I, H))
    _acc(z, r0, r1, c0, c1, h, k0, kn.view2d(w, I * H, H, H))


@njit(inline="always", **kn.JIT)
def _tick(w, I, H, G, base, rem, fixed, t, x, h, z, r0, r1):
    """The sums of the modules that tick at step t (rows r0..r1-1, all at step t): the
    ticking modules 0..k-1 in one pass when they are the fastest ones (always, for periods
    2^i)."""
    U, prefix, o = 0, True, 0
    for i in range(G):
        n = base + (1 if i < rem else 0)
        if t % int(fixed[i]) == 0:
            if prefix:
                U = o + n
            else:
                _sums(w, I, H, o, o + n, o, x, h, z, r0, r1)
        else:
            prefix = False
        o += n
    if U > 0:
        _sums(w, I, H, 0, U, 0, x, h, z, r0, r1)


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
    shared = True                      # every row at the same step: one product for them all
    for b in range(1, B):
        if cnt[b, 0] != cnt[0, 0]:
            shared = False
    # the ticking modules' sums from the old h first, then their new states
    if shared:
        _tick(w, I, H, G, base, rem, fixed, int(cnt[0, 0]), x, h, z, 0, B)
    else:
        for b in range(B):
            _tick(w, I, H, G, base, rem, fixed, int(cnt[b, 0]), x, h, z, b, b + 1)
    for b in range(B):
        t = int(cnt[b, 0])
        # the ticking fastest modules as one run of units (all of them, for periods 2^i)
        U, i = 0, 0
        while i < G and t % int(fixed[i]) == 0:
            U += base + (1 if i < rem else 0)
            i += 1
        for j in range(U):
            h[b, j] = kn.tanh(z[b, j])
        o = U
        for k in range(i, G):
            n = base + (1 if k < rem else 0)
            if t % int(fixed[k]) == 0:
                for j in range(o, o + n):
                    h[b, j] = kn.tanh(z[b, j])
            o += n
        cnt[b, 0] = 0 if t + 1 >= L else t + 1
    kn.readout(w, (I + H + 1) * H, h, y, int(cfg[kn.C_READOUT]))


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
