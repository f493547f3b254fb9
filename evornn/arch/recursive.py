"""A recursive neural network over binary trees (Socher et al. 2011, p = f(W [c1; c2] + b)),
or the binary tree-LSTM of Tai, Socher and Manning 2015 (their N-ary tree-LSTM, N = 2).

The layer keeps the sequence contract [B, T, I] -> [B, T, O]: a tree arrives as its
post-order sequence of shift and reduce steps, the form SPINN (Bowman et al. 2016) batches
tree networks in. The LAST input channel is the reduce flag; the other V = I - 1 channels
are the leaf's input x (a one-hot symbol in the problems). Each sequence keeps a stack of
at most ``stack`` node vectors in its state:

  shift  (flag <= 0.5)  push the leaf's vector
  reduce (flag >  0.5)  pop the two top vectors, c1 the older (left child), c2 the newer
                        (right child), and push their parent

  plain:     leaf h = tanh(E x + b_leaf)             parent h = tanh(W [c1; c2] + b)
  treelstm:  leaf (gates i, o, u from E x + b_leaf)  c = i * u,  h = o * tanh(c)
             parent (gates i, f_l, f_r, o, u from W [h1; h2] + b)
                        c = i * u + f_l * c1 + f_r * c2,  h = o * tanh(c)

(sigmoid gates, tanh u). A treelstm leaf is Tai et al.'s node with no children: its
forget gates have nothing to act on. The readout sees the vector just pushed, which is the
top of the stack, so the output at the last step of a tree is its root's.

Sequences that are not trees still compute something: a reduce with one vector on the
stack takes c1 = 0 (h and c), with none takes c1 = c2 = 0, and pushes its parent; a push
onto a full stack overwrites the top slot. Problems encode their trees with
``evornn.trees``, which refuses trees that are not binary or need a deeper stack.

Blocks: E [G_l H, V], b_leaf [G_l H], W [G_r H, 2H], b [G_r H], W_out [O, H], b_out [O],
with G_l = G_r = 1 (plain) or G_l = 3 (i, o, u), G_r = 5 (i, f_l, f_r, o, u) (treelstm).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..options import Option, choice, integer
from . import array_ops as ops
from . import kernels as kn
from .blocks import readout_blocks, uniform
from .spec import family, lazy_twin

CELLS = ("plain", "treelstm")
PLAIN, TREELSTM = range(2)
# cfg[C_OPT + k]
C_CELL, C_STACK = range(2)
FLAG = 0.5           # a step is a reduce when its last input exceeds this


def _gates(cell: str) -> tuple[int, int]:
    """(leaf, reduce) gate rows per unit."""
    return (1, 1) if cell == "plain" else (3, 5)


def blocks(I, H, O, opts):
    s = 1.0 / np.sqrt(H)
    gl, gr = _gates(opts["cell"])
    return [uniform("E", (gl * H, I - 1), s), uniform("b_leaf", (gl * H,), s),
            uniform("W", (gr * H, 2 * H), s), uniform("b", (gr * H,), s)] \
        + readout_blocks(H, O, opts["readout"])


def sizes(I, H, O, opts):
    gl, gr = _gates(opts["cell"])
    V, S = I - 1, int(opts["stack"])
    tl = opts["cell"] == "treelstm"
    packed = (V + 1) * gl * H + (2 * H + 1) * gr * H + kn.readout_size(H, O, kn.READOUTS[opts["readout"]])
    # stack h (and c), count, then scratch: row index, gathered inputs, gates, features,
    # children's c
    return packed, (2 if tl else 1) * S * H + 1 + 1 + max(V, 2 * H) + gr * H + H + (2 * H if tl else 0)


def cfg(I, H, O, opts):
    return [CELLS.index(opts["cell"]), int(opts["stack"])]


def check(I, H, O, opts):
    if I < 2:
        raise ValueError(f"recursive: n_in must be at least 2 (the leaf inputs, then the reduce "
                         f"flag), got {I}")


# -- kernels -----------------------------------------------------------------------------------

@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]) - 1, int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    tl = int(cfg[kn.C_OPT + C_CELL]) == TREELSTM
    GL, GR = (3 * H, 5 * H) if tl else (H, H)
    goff = kn.transpose_into(kn.view2d(w, 0, I, GL), g, 0, GL, I)
    woff = I * GL
    for j in range(GL):
        w[woff + j] = g[goff + j]
    goff, woff = goff + GL, woff + GL
    goff = kn.transpose_into(kn.view2d(w, woff, 2 * H, GR), g, goff, GR, 2 * H)
    woff += 2 * H * GR
    for j in range(GR):
        w[woff + j] = g[goff + j]
    kn.pack_readout(g, goff + GR, w, woff + GR, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def _push(hs, cs, h, c, z, i, p, H, tl, leaf):
    """The new node from gates z[i] into slot p of one sequence's stack (and h[:])."""
    for j in range(H):
        if not tl:
            v = kn.tanh(z[i, j])
            hs[p * H + j] = v
            h[j] = v
            continue
        if leaf:
            cj = kn.sigmoid(z[i, j]) * kn.tanh(z[i, 2 * H + j])
            o = kn.sigmoid(z[i, H + j])
        else:
            cj = kn.sigmoid(z[i, j]) * kn.tanh(z[i, 4 * H + j]) \
                + kn.sigmoid(z[i, H + j]) * c[i, j] + kn.sigmoid(z[i, 2 * H + j]) * c[i, H + j]
            o = kn.sigmoid(z[i, 3 * H + j])
        v = o * kn.tanh(cj)
        cs[p * H + j] = cj
        hs[p * H + j] = v
        h[j] = v


@njit(**kn.JIT)
def _phase(w, reduce, x, hs, cs, cnt, idx, feats, state, so, V, H, S, tl):
    """Every shift row (reduce rows if reduce) gathered into the scratch rows at state[so:],
    through E (or W) together, and pushed."""
    B = x.shape[0]
    GL, GR = (3 * H, 5 * H) if tl else (H, H)
    m = 0
    for b in range(B):
        if (x[b, V] > FLAG) == reduce:
            idx[m, 0] = b
            m += 1
    if m == 0:
        return
    K = 2 * H if reduce else V
    G = GR if reduce else GL
    K0 = max(V, 2 * H)
    xg = kn.view2d(state, so, m, K)
    z = kn.view2d(state, so + B * K0, m, G)
    cc = kn.view2d(state, so + B * (K0 + GR), m, 2 * H if tl else 0)
    zero = x.dtype.type(0.0)
    for i in range(m):
        b = int(idx[i, 0])
        if not reduce:
            for k in range(V):
                xg[i, k] = x[b, k]
            continue
        n = int(cnt[b, 0])
        for side in range(2):           # side 0: c1 (slot n - 2), side 1: c2 (slot n - 1)
            q = n - 2 + side
            for j in range(H):
                xg[i, side * H + j] = hs[b, q * H + j] if q >= 0 else zero
                if tl:
                    cc[i, side * H + j] = cs[b, q * H + j] if q >= 0 else zero
    wo = 0 if not reduce else (V + 1) * GL
    kn.set_rows(z, w[wo + K * G:wo + K * G + G])
    kn.mm_acc(z, xg, kn.view2d(w, wo, K, G))
    for i in range(m):
        b = int(idx[i, 0])
        n = int(cnt[b, 0])
        if reduce:
            p = n - 2 if n >= 2 else 0
            cnt[b, 0] = p + 1
        else:
            p = n if n < S else S - 1
            cnt[b, 0] = n + 1 if n < S else S
        _push(hs[b], cs[b], feats[b], cc, z, i, p, H, tl, not reduce)


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I1 = x.shape
    V, H = I1 - 1, int(cfg[kn.C_HID])
    tl = int(cfg[kn.C_OPT + C_CELL]) == TREELSTM
    S = int(cfg[kn.C_OPT + C_STACK])
    GL, GR = (3 * H, 5 * H) if tl else (H, H)
    hs = kn.view2d(state, 0, B, S * H)
    off = B * S * H
    cs = kn.view2d(state, off, B, S * H if tl else 0)
    off += B * S * H if tl else 0
    cnt = kn.view2d(state, off, B, 1)
    idx = kn.view2d(state, off + B, B, 1)
    feats = kn.view2d(state, off + 2 * B, B, H)
    so = off + B * (2 + H)
    _phase(w, False, x, hs, cs, cnt, idx, feats, state, so, V, H, S, tl)
    _phase(w, True, x, hs, cs, cnt, idx, feats, state, so, V, H, S, tl)
    ro = (V + 1) * GL + (2 * H + 1) * GR
    kn.readout(w, ro, feats, y, int(cfg[kn.C_READOUT]))


# -- array form and torch twin: one unrolled loop over an array module's operations --------------

def _node(f, tl, z, c1, c2, leaf):
    """(h, c) of a node from its gates z [..., G H] (c1, c2: its children's c)."""
    if not tl:
        h = f.tanh(z)
        return h, h
    H = z.shape[-1] // (3 if leaf else 5)
    if leaf:
        c = f.sigmoid(z[..., :H]) * f.tanh(z[..., 2 * H:])
        return f.sigmoid(z[..., H:2 * H]) * f.tanh(c), c
    c = f.sigmoid(z[..., :H]) * f.tanh(z[..., 4 * H:]) + f.sigmoid(z[..., H:2 * H]) * c1 \
        + f.sigmoid(z[..., 2 * H:3 * H]) * c2
    return f.sigmoid(z[..., 3 * H:4 * H]) * f.tanh(c), c


def _unroll(f, tl, w, X, state):
    """Features [..., T, H] of X [..., T, I] from state (stack h [..., S, H], stack c, count
    [...]) in operations f; the final state. Biases shaped to add to [..., width] rows."""
    hs, cs, n = state
    S = hs.shape[-2]
    slot = f.arange(S, like=hs)
    feats = []
    for t in range(X.shape[-2]):
        x, red = X[..., t, :-1], X[..., t, -1] > FLAG
        hl, cl = _node(f, tl, f.mm(x, w["E"]) + w["b_leaf"], None, None, True)
        s1 = (slot == (n - 2)[..., None])[..., None]          # [..., S, 1]: c1's slot, if any
        s2 = (slot == (n - 1)[..., None])[..., None]
        h1, h2 = (s1 * hs).sum(-2), (s2 * hs).sum(-2)
        c1, c2 = ((s1 * cs).sum(-2), (s2 * cs).sum(-2)) if tl else (None, None)
        hr, cr = _node(f, tl, f.mm(f.cat([h1, h2]), w["W"]) + w["b"], c1, c2, False)
        h = f.where(red[..., None], hr, hl)
        p = f.where(red, f.maximum(n - 2, 0), f.minimum(n, S - 1))
        n = f.where(red, p + 1, f.minimum(n + 1, S))
        at = (slot == p[..., None])[..., None]
        hs = f.where(at, h[..., None, :], hs)
        if tl:
            cs = f.where(at, f.where(red[..., None], cr, cl)[..., None, :], cs)
        feats.append(h)
    return f.stack(feats, -2), (hs, cs, n)


def array(layer, G, X, xp):
    """The layer over a population [P, ...] as batched array operations in module xp."""
    w = ops.weights(layer, G, xp)
    H, tl = layer.n_hidden, layer.opts["cell"] == "treelstm"
    w["b_leaf"], w["b"] = w["b_leaf"][:, None], w["b"][:, None]     # against rows [P, B, width]
    P, B = G.shape[0], X.shape[1]
    S = int(layer.opts["stack"])
    hs = xp.zeros((P, B, S, H), X.dtype)
    state = (hs, xp.zeros_like(hs) if tl else None, xp.zeros((P, B), np.int64))
    feats, _ = _unroll(ops.Ops(xp), tl, w, xp.broadcast_to(X, (P,) + X.shape[1:]), state)
    return ops.readout(xp, w, feats, layer)


def _twin_class():
    import torch

    from ..twins.layers import BlockModule, TorchOps

    class RecursiveTwin(BlockModule):
        """Leaf embedding, composition and readout; state (stack h [B, S H], [stack c,] count
        [B, 1])."""

        def __init__(self, lay):
            super().__init__(lay)
            self.H, self.S = lay.n_hidden, int(lay.opts["stack"])
            self.tl = lay.opts["cell"] == "treelstm"

        def features(self, x):
            B, H, S = x.shape[0], self.H, self.S
            if self.h0 is None:
                hs = x.new_zeros(B, S, H)
                cs = torch.zeros_like(hs) if self.tl else None
                n = torch.zeros(B, dtype=torch.long, device=x.device)
            else:
                hs, *rest = self.h0
                cs = rest.pop(0).reshape(B, S, H) if self.tl else None
                hs, n = hs.reshape(B, S, H), rest[0][:, 0].long()
            w = {name: getattr(self, name) for name in self.block_names}
            feats, (hs, cs, n) = _unroll(TorchOps, self.tl, w, x, (hs, cs, n))
            # every part [B, width], as the other twins' states (flatten_state, RTRL)
            parts = (hs.reshape(B, -1),) + ((cs.reshape(B, -1),) if self.tl else ())
            self.hT = parts + (n[:, None].to(hs.dtype),)
            return feats
    return RecursiveTwin


FAMILY = family(
    name="recursive", description="recursive network over binary trees (plain tanh or "
                                  "tree-LSTM composition); a tree is its post-order sequence, "
                                  "the last input the reduce flag",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options={
        "cell": Option("plain", "the composition: plain (p = tanh(W [c1; c2] + b)) or treelstm "
                                "(binary tree-LSTM, Tai et al. 2015)", choice(*CELLS)),
        "stack": Option(8, "node vectors a sequence's stack holds (a tree of depth d needs d + 1); "
                           "beyond, a push overwrites the top", integer(1)),
    },
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes, cfg=cfg, check=check, pack=pack,
    step=step, array=array, twin=lazy_twin(_twin_class))
