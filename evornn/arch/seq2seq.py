"""An encoder-decoder (sequence-to-sequence) network with optional attention: Sutskever,
Vinyals and Le 2014; additive attention of Bahdanau, Cho and Bengio 2015; multiplicative
("general") attention of Luong, Pham and Manning 2015.

The layer keeps the sequence contract [B, T, I] -> [B, T, O], one output a step. The LAST
input channel is the phase flag: a step whose flag is above 0.5 is a decoder step, any
other an encoder step. The cells see the other I - 1 inputs x_t.

There is one hidden state h (and an LSTM cell's c): an encoder step advances it with the
encoder cell, a decoder step with the decoder cell, so the first decoder step starts from
the encoder's final state (both cells have H units). A cell that is not an LSTM leaves c as
it is (a GRU encoder hands an LSTM decoder c = 0). Cells: elman (tanh), gru (torch.nn.GRU's
equations and gates r, z, n, with one b_ih and the b_hn inside r * (...)) or lstm
(torch.nn.LSTM's, gates i, f, g, o), blocks W_ih [G, I-1], W_hh [G, H], biases, prefixed
``enc_`` and ``dec_``.

With attention, each encoder step writes its new h into the next of ``max_source`` memory
slots (e_j), with its key k_j: bahdanau k_j = W_k e_j, luong k_j = W e_j. Beyond
``max_source`` encoder steps each step overwrites the last slot. A decoder step with d = h
(after the decoder cell) scores the n slots written so far,

  bahdanau  s_j = v^T tanh(W_q d + k_j)        luong  s_j = d^T k_j = d^T W e_j

and attends: a = softmax(s), context = sum_j a_j e_j (0 while no slot is written). The
readout sees [h, context] on decoder steps and [h, 0] on encoder steps (outputs that the
problems leave unscored). With ``input_feeding`` (Luong et al.'s input feeding) a decoder
step's cell reads [x_t, the previous step's context] (0 after an encoder step), so the
attended states reach the recurrent step and not only the readout; dec_W_ih is then
[G, I - 1 + H]. With attention "none" there is no memory and the readout sees
[h] alone. Blocks: att_Wq [H, H], att_Wk [H, H], att_v [H] (bahdanau) or att_W [H, H]
(luong), then W_out [O, F], b_out.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..options import Option, boolean, choice, integer
from . import array_ops as ops
from . import kernels as kn
from .blocks import readout_blocks, uniform
from .lstm import gates
from .spec import family, lazy_twin

CELLS = ("elman", "gru", "lstm")
ELMAN, GRU, LSTM = range(3)
ATTENTIONS = ("none", "bahdanau", "luong")
NONE, BAHDANAU, LUONG = range(3)
# cfg[C_OPT + k]
C_ENC, C_DEC, C_ATT, C_SLOTS, C_FEED = range(5)
FLAG = 0.5           # a step is a decoder step when its phase input exceeds this


def _gates(cell: str) -> int:
    return {"elman": 1, "gru": 3, "lstm": 4}[cell]


def _cell_blocks(prefix: str, cell: str, I: int, H: int) -> list:
    s = 1.0 / np.sqrt(H)
    G = _gates(cell) * H
    bias = [uniform(prefix + "b_ih", (G,), s), uniform(prefix + "b_hn", (H,), s)] if cell == "gru" \
        else [uniform(prefix + "b", (G,), s)]
    return [uniform(prefix + "W_ih", (G, I), s), uniform(prefix + "W_hh", (G, H), s)] + bias


def _fed(H: int, opts: dict) -> int:
    """Context channels the decoder cell reads besides x: H with input feeding, else 0."""
    return H if opts.get("input_feeding") else 0


def features(I: int, H: int, opts: dict) -> int:
    """Width of what the readout sees: [h, context], or [h] without attention."""
    return H if opts["attention"] == "none" else 2 * H


def blocks(I, H, O, opts):
    s = 1.0 / np.sqrt(H)
    att = {"none": [],
           "bahdanau": [uniform("att_Wq", (H, H), s), uniform("att_Wk", (H, H), s),
                        uniform("att_v", (H,), s)],
           "luong": [uniform("att_W", (H, H), s)]}[opts["attention"]]
    return _cell_blocks("enc_", opts["encoder"], I - 1, H) \
        + _cell_blocks("dec_", opts["decoder"], I - 1 + _fed(H, opts), H) + att \
        + readout_blocks(features(I, H, opts), O, opts["readout"])


def _cell_size(cell: str, I: int, H: int) -> int:
    G = _gates(cell) * H
    return (I + H + 1) * G + (H if cell == "gru" else 0)


def sizes(I, H, O, opts):
    F = features(I, H, opts)
    att = {"none": 0, "bahdanau": 2 * H * H + H, "luong": H * H}[opts["attention"]]
    fed = _fed(H, opts)
    packed = _cell_size(opts["encoder"], I - 1, H) + _cell_size(opts["decoder"], I - 1 + fed, H) + att \
        + kn.readout_size(F, O, kn.READOUTS[opts["readout"]])
    S = 0 if opts["attention"] == "none" else int(opts["max_source"])
    # h, c, gathered rows (x and fed context, h, c, gates, GRU hidden gates, index), features,
    # query, scores, memory and keys, slots written
    return packed, 2 * H + (I - 1) + fed + 2 * H + 4 * H + 3 * H + 1 + F + H + S + 2 * S * H + 1


def cfg(I, H, O, opts):
    return [CELLS.index(opts["encoder"]), CELLS.index(opts["decoder"]),
            ATTENTIONS.index(opts["attention"]), int(opts["max_source"]), int(bool(_fed(H, opts)))]


def check(I, H, O, opts):
    if I < 2:
        raise ValueError(f"seq2seq: n_in must be at least 2 (the inputs, then the phase flag), got {I}")
    if opts.get("input_feeding") and opts["attention"] == "none":
        raise ValueError("seq2seq: option input_feeding=True feeds the attention context, so it needs "
                         "attention bahdanau or luong, got attention='none'")


# -- kernels -----------------------------------------------------------------------------------

@njit(**kn.JIT)
def _pack_block(g, goff, w, woff, rows, cols):
    """A row-major [rows, cols] genome block at goff goes transposed ([cols, rows]) to woff."""
    kn.transpose_into(kn.view2d(w, woff, cols, rows), g, goff, rows, cols)
    return goff + rows * cols, woff + rows * cols


@njit(**kn.JIT)
def _pack_cell(g, goff, w, woff, cell, I, H):
    G = (1 if cell == ELMAN else 3 if cell == GRU else 4) * H
    goff, woff = _pack_block(g, goff, w, woff, G, I)
    goff, woff = _pack_block(g, goff, w, woff, G, H)
    nb = G + H if cell == GRU else G
    for j in range(nb):
        w[woff + j] = g[goff + j]
    return goff + nb, woff + nb


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]) - 1, int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    att = int(cfg[kn.C_OPT + C_ATT])
    fed = H if int(cfg[kn.C_OPT + C_FEED]) else 0
    goff, woff = _pack_cell(g, 0, w, 0, int(cfg[kn.C_OPT + C_ENC]), I, H)
    goff, woff = _pack_cell(g, goff, w, woff, int(cfg[kn.C_OPT + C_DEC]), I + fed, H)
    if att == BAHDANAU:
        goff, woff = _pack_block(g, goff, w, woff, H, H)
        goff, woff = _pack_block(g, goff, w, woff, H, H)
        for j in range(H):
            w[woff + j] = g[goff + j]
        goff, woff = goff + H, woff + H
    elif att == LUONG:
        goff, woff = _pack_block(g, goff, w, woff, H, H)
    F = H if att == NONE else 2 * H
    kn.pack_readout(g, goff, w, woff, F, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def _cell(w, off, cell, x, h, c, z, zh, I, H):
    """h (and c) <- the cell on x for the rows of these views; the offset after its weights."""
    G = (1 if cell == ELMAN else 3 if cell == GRU else 4) * H
    bo = off + (I + H) * G
    kn.set_rows(z, w[bo:bo + G])
    kn.mm_acc(z, x, kn.view2d(w, off, I, G))
    if cell == GRU:
        zh[:] = 0
        kn.mm_acc(zh, h, kn.view2d(w, off + I * G, H, G))
        one = x.dtype.type(1.0)
        for b in range(h.shape[0]):
            for j in range(H):
                r = kn.sigmoid(z[b, j] + zh[b, j])
                u = kn.sigmoid(z[b, H + j] + zh[b, H + j])
                n = kn.tanh(z[b, 2 * H + j] + r * (zh[b, 2 * H + j] + w[bo + G + j]))
                h[b, j] = (one - u) * n + u * h[b, j]
        return bo + G + H
    kn.mm_acc(z, h, kn.view2d(w, off + I * G, H, G))
    if cell == LSTM:
        gates(z, c, h)
    else:
        for b in range(h.shape[0]):
            for j in range(H):
                h[b, j] = kn.tanh(z[b, j])
    return bo + G


@njit(**kn.JIT)
def _phase(w, off, cell, dec, x, h, c, state, so, I, fed, feats, H):
    """Every row of this phase (decoder rows if dec) through its cell: gathered into the
    scratch rows at state[so:], stepped together, scattered back; the offset after its
    weights. A batch's sequences can be in different phases (sources of different lengths).
    The cell reads x's I inputs, then the ``fed`` context channels of feats (the step before's)."""
    B = x.shape[0]
    G = (1 if cell == ELMAN else 3 if cell == GRU else 4) * H
    J = I + fed
    idx = kn.view2d(state, so, B, 1)
    so += B
    m = 0
    for b in range(B):
        if (x[b, I] > FLAG) == dec:
            idx[m, 0] = b
            m += 1
    if m == 0:
        return off + (J + H + 1) * G + (H if cell == GRU else 0)
    xg = kn.view2d(state, so, m, J)
    hg = kn.view2d(state, so + B * J, m, H)
    cg = kn.view2d(state, so + B * (J + H), m, H)
    z = kn.view2d(state, so + B * (J + 2 * H), m, G)
    zh = kn.view2d(state, so + B * (J + 6 * H), m, 3 * H)
    for i in range(m):
        b = int(idx[i, 0])
        for k in range(I):
            xg[i, k] = x[b, k]
        for k in range(fed):
            xg[i, I + k] = feats[b, H + k]
        for j in range(H):
            hg[i, j] = h[b, j]
            cg[i, j] = c[b, j]
    end = _cell(w, off, cell, xg, hg, cg, z, zh, J, H)
    for i in range(m):
        b = int(idx[i, 0])
        for j in range(H):
            h[b, j] = hg[i, j]
            c[b, j] = cg[i, j]
    return end


# Only FMA contraction in the attention sums: with reassoc they gave float32 results that
# differed by an ulp between a cold compile and a cache load (tests/test_determinism.py),
# as the LSTM gates did.
_ATT_JIT = {**kn.JIT, "fastmath": {"contract"}}


@njit(**_ATT_JIT)
def _key(w, ko, e, key, H):
    """key = W e with W packed transposed at ko."""
    for j in range(H):
        key[j] = e[j] - e[j]
    for i in range(H):
        ei = e[i]
        for j in range(H):
            key[j] += w[ko + i * H + j] * ei


@njit(**_ATT_JIT)
def _attend(w, ao, att, h, q, keys, mem, sc, feats, n, H):
    """feats[H:] = the context: softmax over the n written slots of the scores of h."""
    zero = h.dtype.type(0.0)
    if att == BAHDANAU:
        _key(w, ao, h, q, H)
        vo = ao + 2 * H * H
        for s in range(n):
            a = zero
            for j in range(H):
                a += w[vo + j] * kn.tanh(q[j] + keys[s * H + j])
            sc[s] = a
    else:
        for s in range(n):
            a = zero
            for j in range(H):
                a += h[j] * keys[s * H + j]
            sc[s] = a
    top = sc[0]
    for s in range(1, n):
        top = max(top, sc[s])
    tot = zero
    for s in range(n):
        e = np.exp(sc[s] - top)
        sc[s] = e
        tot += e
    for s in range(n):
        a = sc[s] / tot
        for j in range(H):
            feats[H + j] += a * mem[s * H + j]


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I1 = x.shape
    I, H = I1 - 1, int(cfg[kn.C_HID])
    enc, dec = int(cfg[kn.C_OPT + C_ENC]), int(cfg[kn.C_OPT + C_DEC])
    att = int(cfg[kn.C_OPT + C_ATT])
    fed = H if int(cfg[kn.C_OPT + C_FEED]) else 0
    S = 0 if att == NONE else int(cfg[kn.C_OPT + C_SLOTS])
    F = H if att == NONE else 2 * H
    h = kn.view2d(state, 0, B, H)
    c = kn.view2d(state, B * H, B, H)
    so = 2 * B * H                 # the gathered rows: index, x, h, c, gates, GRU's hidden gates
    off = so + B * (1 + I + fed + 9 * H)
    feats = kn.view2d(state, off, B, F)
    q = kn.view2d(state, off + B * F, B, H)
    sc = kn.view2d(state, off + B * (F + H), B, S)
    mem = kn.view2d(state, off + B * (F + H + S), B, S * H)
    keys = kn.view2d(state, off + B * (F + H + S + S * H), B, S * H)
    cnt = kn.view2d(state, off + B * (F + H + S + 2 * S * H), B, 1)
    # feats still holds the step before's: its context is what input feeding reads
    wo = _phase(w, 0, enc, False, x, h, c, state, so, I, 0, feats, H)
    ao = _phase(w, wo, dec, True, x, h, c, state, so, I, fed, feats, H)
    ro = ao + (2 * H * H + H if att == BAHDANAU else H * H if att == LUONG else 0)
    zero = x.dtype.type(0.0)
    ko = ao + H * H if att == BAHDANAU else ao        # the packed key map
    for b in range(B):
        for j in range(H):
            feats[b, j] = h[b, j]
        if att == NONE:
            continue
        for j in range(H):
            feats[b, H + j] = zero
        n = int(cnt[b, 0])
        if not x[b, I] > FLAG:
            p = n if n < S else S - 1
            for j in range(H):
                mem[b, p * H + j] = h[b, j]
            _key(w, ko, h[b], keys[b, p * H:(p + 1) * H], H)
            cnt[b, 0] = n + 1 if n < S else S
            continue
        if n == 0:
            continue
        _attend(w, ao, att, h[b], q[b], keys[b], mem[b], sc[b], feats[b], n, H)
    kn.readout(w, ro, feats, y, int(cfg[kn.C_READOUT]))


# -- array form and torch twin: one unrolled loop over an array module's operations --------------

def _cell_math(f, cell, x, h, c, w, p):
    """(h, c) after one step of cell with blocks w[p + name] on x, in operations f."""
    H = h.shape[-1]
    if cell == "gru":
        gi = f.mm(x, w[p + "W_ih"]) + w[p + "b_ih"]
        gh = f.mm(h, w[p + "W_hh"])
        r = f.sigmoid(gi[..., :H] + gh[..., :H])
        u = f.sigmoid(gi[..., H:2 * H] + gh[..., H:2 * H])
        n = f.tanh(gi[..., 2 * H:] + r * (gh[..., 2 * H:] + w[p + "b_hn"]))
        return (1 - u) * n + u * h, c
    z = f.mm(x, w[p + "W_ih"]) + f.mm(h, w[p + "W_hh"]) + w[p + "b"]
    if cell == "elman":
        return f.tanh(z), c
    c = f.sigmoid(z[..., H:2 * H]) * c + f.sigmoid(z[..., :H]) * f.tanh(z[..., 2 * H:3 * H])
    return f.sigmoid(z[..., 3 * H:]) * f.tanh(c), c


def _unroll(f, o, w, X, state):
    """Features [..., T, F] of X [..., T, I] from state (h, c, memory [..., S, H], keys, slots
    written [...], and with input feeding the step before's context) in operations f; the
    final state. w: blocks with biases shaped to add to [..., width] rows, att_v to [..., S, H]."""
    att, feed = o["attention"], bool(o.get("input_feeding"))
    h, c, E, K, n = state[:5]
    prev = state[5] if feed else None
    S = E.shape[-2] if att != "none" else 0
    slot = f.arange(S, like=h)
    feats = []
    for t in range(X.shape[-2]):
        x, dec = X[..., t, :-1], X[..., t, -1:] > FLAG
        he, ce = _cell_math(f, o["encoder"], x, h, c, w, "enc_")
        hd, cd = _cell_math(f, o["decoder"], f.cat([x, prev]) if feed else x, h, c, w, "dec_")
        h, c = f.where(dec, hd, he), f.where(dec, cd, ce)
        if att == "none":
            feats.append(h)
            continue
        enc = ~dec[..., 0]
        wr = (slot == f.minimum(n, S - 1)[..., None]) & enc[..., None]            # [..., S]
        k = f.mm(he, w["att_Wk" if att == "bahdanau" else "att_W"])
        E = f.where(wr[..., None], he[..., None, :], E)
        K = f.where(wr[..., None], k[..., None, :], K)
        n = f.where(enc, f.minimum(n + 1, S), n)
        if att == "bahdanau":
            s = (f.tanh(f.mm(h, w["att_Wq"])[..., None, :] + K) * w["att_v"]).sum(-1)
        else:
            s = (h[..., None, :] * K).sum(-1)
        valid = slot < n[..., None]
        a = f.masked_softmax(s, valid)
        ctx = f.where(dec, (a[..., None] * E).sum(-2), f.zeros_like(h))
        feats.append(f.cat([h, ctx]))
        prev = ctx
    return f.stack(feats, -2), (h, c, E, K, n) + ((prev,) if feed else ())


def array(layer, G, X, xp):
    """The layer over a population [P, ...] as batched array operations in module xp."""
    w = ops.weights(layer, G, xp)
    o, H = layer.opts, layer.n_hidden
    for name in list(w):
        if name.startswith(("enc_b", "dec_b")):
            w[name] = w[name][:, None]                    # [P, 1, width] against rows [P, B, width]
    if "att_v" in w:
        w["att_v"] = w["att_v"][:, None, None]           # [P, 1, 1, H] against [P, B, S, H]
    P, B, T = G.shape[0], X.shape[1], X.shape[2]
    S = min(int(o["max_source"]), T) if o["attention"] != "none" else 0
    h = xp.zeros((P, B, H), X.dtype)
    state = (h, xp.zeros_like(h), xp.zeros((P, B, S, H), X.dtype), xp.zeros((P, B, S, H), X.dtype),
             xp.zeros((P, B), np.int64), xp.zeros_like(h))
    feats, _ = _unroll(ops.Ops(xp), o, w, xp.broadcast_to(X, (P,) + X.shape[1:]), state)
    return ops.readout(xp, w, feats, layer)


def _twin_class():
    import torch

    from ..twins.layers import BlockModule, TorchOps

    class Seq2SeqTwin(BlockModule):
        """Encoder, decoder and attention; state (h, c, memory [B, S H], keys [B, S H], slots
        written [B, 1], and with input feeding the step before's context [B, H])."""

        def __init__(self, lay):
            super().__init__(lay)
            self.o, self.H = dict(lay.opts), lay.n_hidden
            self.S = int(self.o["max_source"]) if self.o["attention"] != "none" else 0

        def features(self, x):
            B, T, _ = x.shape
            if self.h0 is None:
                S = min(self.S, T)
                h = x.new_zeros(B, self.H)
                state = (h, torch.zeros_like(h), x.new_zeros(B, S, self.H),
                         x.new_zeros(B, S, self.H), torch.zeros(B, dtype=torch.long, device=x.device),
                         torch.zeros_like(h))
            else:
                S = self.S
                h, c, E, K, n = self.h0[:5]
                state = (h, c, E.reshape(B, S, self.H), K.reshape(B, S, self.H), n[:, 0].long(),
                         *self.h0[5:])
            w = {name: getattr(self, name) for name in self.block_names}
            feats, (h, c, E, K, n, *prev) = _unroll(TorchOps, self.o, w, x, state)
            if S < self.S:                  # the slots a short sequence never reached
                pad = x.new_zeros(B, self.S - S, self.H)
                E, K = torch.cat([E, pad], 1), torch.cat([K, pad], 1)
            # every part [B, width], as the other twins' states (flatten_state, RTRL)
            self.hT = (h, c, E.reshape(B, -1), K.reshape(B, -1), n[:, None].to(h.dtype), *prev)
            return feats
    return Seq2SeqTwin


FAMILY = family(
    name="seq2seq", description="encoder-decoder (elman, gru or lstm cells) with optional "
                                "Bahdanau or Luong attention; the last input is the phase flag",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options={
        "encoder": Option("gru", "the encoder cell: elman, gru or lstm", choice(*CELLS)),
        "decoder": Option("gru", "the decoder cell: elman, gru or lstm", choice(*CELLS)),
        "attention": Option("bahdanau", "attention over the encoder states: none, bahdanau "
                                        "(additive) or luong (multiplicative)", choice(*ATTENTIONS)),
        "max_source": Option(64, "encoder states kept for attention; beyond, each encoder step "
                                 "overwrites the last slot", integer(1)),
        "input_feeding": Option(False, "feed the step before's attention context to the decoder "
                                       "cell (Luong et al. 2015); needs attention", boolean),
    },
    blocks=blocks, features=features, sizes=sizes, cfg=cfg, check=check, pack=pack,
    step=step, array=array, twin=lazy_twin(_twin_class))

