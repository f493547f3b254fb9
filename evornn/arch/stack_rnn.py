"""A controller RNN coupled to a continuous memory: the neural stack, queue and deque of
Grefenstette, Hermann, Suleyman and Blunsom 2015 (the differentiable pushdown automaton of
Das, Giles and Sun 1992, NNPDA, is the same idea for the stack).

Each step the controller (an LSTM with torch.nn.LSTM's gates i, f, g, o, a tanh Elman
cell, or ``dense``: one tanh layer without recurrence, h_t = tanh(W_ih [x_t, r_{t-1}] + b),
whose only state is the memory) reads the input and the previous read vector,
h_t = cell([x_t, r_{t-1}], h_{t-1}),
and drives the memory from h_t: per end of the memory a push strength d = sigmoid(.), a
pop strength u = sigmoid(.) and a value v = tanh(.) of ``width`` numbers, all rows of
m_t = W_mem h_t + b_mem. The memory is a list of values V[i] with strengths s[i] in
[0, 1], one new slot a step (two for the deque). With "beyond" meaning the strength of
the slots nearer the end a pop or read starts from (the top of a stack, the bottom of a
queue), each step

  pop:   s[i] <- max(0, s[i] - max(0, u - beyond[i]))       for the slots there were
  push:  a new slot at the top with s = d, V = v
  read:  r_t = sum_i min(s[i], max(0, 1 - beyond[i])) V[i]   over the new strengths

(the paper's equations). A stack pops and reads at the top, a queue at the bottom. A
deque pushes, pops and reads at both ends: the new bottom slot goes below all others,
the two pops act together on the old strengths, s[i] <- max(0, s[i] - max(0, u_top -
above[i]) - max(0, u_bot - below[i])), and the read vector is [r_top, r_bot].

The readout sees h_t, as in the paper, where the output and the memory's controls are
maps of o'_t = W h_t + b: a product of linear maps is one linear map, so o' is folded into
W_mem and W_out here. A read reaches the output through the next step's controller.

Rows of m: d (one per end: top, then bottom for the deque), u (likewise), then v (width
per end). W_ih's columns are the input's, then the read vector's.

The paper's memory grows one slot a step (per end), pushing or not, without end; here it
holds the slots of the last ``capacity`` steps (a ring buffer per end, part of each
sequence's state). For sequences up to ``capacity`` steps it is exactly the paper's;
beyond, each step's slot overwrites that end's oldest (the bottom of a stack, the front
of a queue), whatever strength is left there. Work per step grows with the slots in use,
not with ``capacity``; a problem sets ``capacity`` to its longest sequence.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..options import Option, choice, integer, non_negative
from . import array_ops as ops
from . import kernels as kn
from . import memory_parts as mp
from .blocks import readout_blocks, uniform
from .spec import family, lazy_twin

CONTROLLERS = ("lstm", "elman", "dense")
LSTM, ELMAN, DENSE = range(3)
MEMORIES = ("stack", "queue", "deque")
STACK, QUEUE, DEQUE = range(3)
# cfg[C_OPT + k]
C_CONTROLLER, C_MEMORY, C_WIDTH, C_CAPACITY = range(4)


def dims(I: int, H: int, opts: dict) -> dict:
    """Sizes: G gate rows per unit, S ends pushed each step, R read width, M memory rows."""
    S = 2 if opts["memory"] == "deque" else 1
    Wd = int(opts["width"])
    return {"G": 4 if opts["controller"] == "lstm" else 1, "S": S, "Wd": Wd, "R": S * Wd,
            "M": S * (Wd + 2), "C": int(opts["capacity"]), "rec": opts["controller"] != "dense"}


def blocks(I, H, O, opts):
    d = dims(I, H, opts)
    s = 1.0 / np.sqrt(H)
    GH = d["G"] * H
    ctl = [uniform("W_ih", (GH, I + d["R"]), s), uniform("W_hh", (GH, H), s), uniform("b", (GH,), s)]
    if not d["rec"]:
        del ctl[1]
    return ctl + [uniform("W_mem", (d["M"], H), s), uniform("b_mem", (d["M"],), s)] \
        + readout_blocks(H, O, opts["readout"])


def sizes(I, H, O, opts):
    d = dims(I, H, opts)
    GH, M, R, SC = d["G"] * H, d["M"], d["R"], d["S"] * d["C"]
    packed = (I + R + (H if d["rec"] else 0) + 1) * GH + (H + 1) * M \
        + kn.readout_size(H, O, kn.READOUTS[opts["readout"]])
    # h, c, gates, read, memory rows, values, strengths, two pop scratch rows, (count, head)
    return packed, 2 * H + GH + R + M + SC * d["Wd"] + 3 * SC + 2


def cfg(I, H, O, opts):
    return [CONTROLLERS.index(opts["controller"]), MEMORIES.index(opts["memory"]),
            int(opts["width"]), int(opts["capacity"])]


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    S = 2 if int(cfg[kn.C_OPT + C_MEMORY]) == DEQUE else 1
    Wd = int(cfg[kn.C_OPT + C_WIDTH])
    ctl = int(cfg[kn.C_OPT + C_CONTROLLER])
    GH = 4 * H if ctl == LSTM else H
    M = S * (Wd + 2)
    off, woff = kn.pack_cell(g, w, I + S * Wd, 0 if ctl == DENSE else H, GH, GH)
    off = kn.transpose_into(kn.view2d(w, woff, H, M), g, off, M, H)
    woff += H * M
    for j in range(M):
        w[woff + j] = g[off + j]
    kn.pack_readout(g, off + M, w, woff + M, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def _slot(j, n, head, C):
    """Ring index of the j-th slot counted from the top: the top end's slots newest first,
    then (deque) the bottom end's oldest first."""
    if j < n:
        q = head - 1 - j
        return q + C if q < 0 else q
    q = head - 1 - (2 * n - 1 - j)
    return C + (q + C if q < 0 else q)


@njit(**kn.JIT)
def _pop(st, u, L, n, head, C, from_top):
    """s[q] <- max(0, s[q] - max(0, u - the strength beyond q)), counted from one end."""
    zero = st.dtype.type(0.0)
    acc = zero
    for i in range(L):
        p = u - acc
        if p <= zero:            # every deeper slot keeps its strength exactly
            break
        q = _slot(i if from_top else L - 1 - i, n, head, C)
        s = st[q]
        st[q] = s - p if s > p else zero
        acc += s


@njit(**kn.JIT)
def _pop_amounts(st, out, u, L, n, head, C, from_top):
    """out[i] = max(0, u - the strength beyond the i-th slot from one end), for the slots it
    reaches; returns how many (the amount is exactly 0 beyond them)."""
    zero = st.dtype.type(0.0)
    acc = zero
    for i in range(L):
        p = u - acc
        if p <= zero:
            return i
        out[i] = p
        acc += st[_slot(i if from_top else L - 1 - i, n, head, C)]
    return L


@njit(**kn.JIT)
def _read(st, vals, r, roff, L, n, head, C, Wd, from_top):
    """r[roff:roff + Wd] = sum_q min(s[q], max(0, 1 - strength beyond q)) V[q] from one end."""
    one = st.dtype.type(1.0)
    acc = st.dtype.type(0.0)
    for k in range(Wd):
        r[roff + k] = acc
    for i in range(L):
        rem = one - acc
        if rem <= 0:            # every deeper slot has weight exactly 0
            break
        q = _slot(i if from_top else L - 1 - i, n, head, C)
        s = st[q]
        if s > 0:               # popped slots stay, at strength 0: a read walks past them
            wgt = s if s < rem else rem
            for k in range(Wd):
                r[roff + k] += wgt * vals[q * Wd + k]
            acc += s


@njit(**kn.JIT)
def _memory(m, r, vals, st, tmp, cnt, mem, Wd, C):
    """One step of one sequence's memory from its control row m: pop, push, read."""
    zero = st.dtype.type(0.0)
    S = 2 if mem == DEQUE else 1
    n, head = int(cnt[0]), int(cnt[1])
    L = S * n
    if mem == DEQUE:
        # both pops act on the old strengths: their amounts first, then the new strengths
        SC = S * C
        kt = _pop_amounts(st, tmp, kn.sigmoid(m[2]), L, n, head, C, True)
        kb = _pop_amounts(st, tmp[SC:], kn.sigmoid(m[3]), L, n, head, C, False)
        for j in range(kt):                          # reached from the top (and the bottom)
            q = _slot(j, n, head, C)
            v = st[q] - tmp[j] - (tmp[SC + L - 1 - j] if L - 1 - j < kb else zero)
            st[q] = v if v > zero else zero
        for j in range(max(kt, L - kb), L):          # from the bottom only
            q = _slot(j, n, head, C)
            v = st[q] - zero - tmp[SC + L - 1 - j]
            st[q] = v if v > zero else zero
    else:
        _pop(st, kn.sigmoid(m[1]), L, n, head, C, mem == STACK)
    for e in range(S):               # push: end 0 is the top, end 1 the bottom
        q = e * C + head
        st[q] = kn.sigmoid(m[e])
        for k in range(Wd):
            vals[q * Wd + k] = kn.tanh(m[2 * S + e * Wd + k])
    head = head + 1 if head + 1 < C else 0
    n = n + 1 if n < C else C
    cnt[0], cnt[1] = n, head
    L = S * n
    if mem == DEQUE:
        _read(st, vals, r, 0, L, n, head, C, Wd, True)
        _read(st, vals, r, Wd, L, n, head, C, Wd, False)
    else:
        _read(st, vals, r, 0, L, n, head, C, Wd, mem == STACK)


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    lstm = cfg[kn.C_OPT + C_CONTROLLER] == LSTM
    rec = cfg[kn.C_OPT + C_CONTROLLER] != DENSE
    mem = int(cfg[kn.C_OPT + C_MEMORY])
    Wd, C = int(cfg[kn.C_OPT + C_WIDTH]), int(cfg[kn.C_OPT + C_CAPACITY])
    S = 2 if mem == DEQUE else 1
    GH = 4 * H if lstm else H
    R, M, SC = S * Wd, S * (Wd + 2), S * C
    h = kn.view2d(state, 0, B, H)
    c = kn.view2d(state, B * H, B, H)
    z = kn.view2d(state, 2 * B * H, B, GH)
    off = B * (2 * H + GH)
    r = kn.view2d(state, off, B, R)
    m = kn.view2d(state, off + B * R, B, M)
    off += B * (R + M)
    vals = kn.view2d(state, off, B, SC * Wd)
    st = kn.view2d(state, off + B * SC * Wd, B, SC)
    tmp = kn.view2d(state, off + B * SC * (Wd + 1), B, 2 * SC)
    cnt = kn.view2d(state, off + B * SC * (Wd + 3), B, 2)
    mo = mp.controller(w, x, r, z, h, c, I, R, H, GH, lstm, rec)
    kn.set_rows(m, w[mo + H * M:mo + (H + 1) * M])
    kn.mm_acc(m, h, kn.view2d(w, mo, H, M))
    for b in range(B):
        _memory(m[b], r[b], vals[b], st[b], tmp[b], cnt[b], mem, Wd, C)
    kn.readout(w, mo + (H + 1) * M, h, y, int(cfg[kn.C_READOUT]))


# -- the memory in slot-array form (the array path and the torch twin) ------------------------
# Slots as arrays [..., S * C'] in order from the top: the top end's newest first, then (deque)
# the bottom end's oldest first. A sequence from a zero state never uses more than T slots,
# so C' = min(capacity, T); unused slots have strength 0 and change no sum.

def _beyond(cumsum, cat, zeros, s, from_top, flip):
    """The strength beyond each slot from one end: an exclusive cumulative sum."""
    if not from_top:
        return flip(_beyond(cumsum, cat, zeros, flip(s), True, flip))
    return cat([zeros(s[..., :1]), cumsum(s[..., :-1])])


def _memory_slots(f, s, V, m, mem, Wd, C):
    """(s, V, r) after one step from control rows m [..., M]; f holds the array module's
    cumsum, cat, zeros, flip, relu, minimum, sigmoid and tanh (last axis)."""
    S = 2 if mem == "deque" else 1

    def beyond(v, top):
        return _beyond(f.cumsum, f.cat, f.zeros, v, top, f.flip)

    if mem == "deque":
        s = f.relu(s - f.relu(f.sigmoid(m[..., 2:3]) - beyond(s, True))
                   - f.relu(f.sigmoid(m[..., 3:4]) - beyond(s, False)))
    else:
        s = f.relu(s - f.relu(f.sigmoid(m[..., 1:2]) - beyond(s, mem == "stack")))
    d, v = f.sigmoid(m[..., :S]), f.tanh(m[..., 2 * S:])
    top = [d[..., :1], s[..., :C - 1]]
    Vtop = [v[..., None, :Wd], V[..., :C - 1, :]]
    if mem == "deque":
        top += [s[..., C + 1:], d[..., 1:]]
        Vtop += [V[..., C + 1:, :], v[..., None, Wd:]]
    s = f.cat(top)
    V = f.cat(Vtop, axis=-2)

    def read(from_top):
        wgt = f.minimum(s, f.relu(1.0 - beyond(s, from_top)))
        return (wgt[..., None] * V).sum(-2)

    r = f.cat([read(True), read(False)]) if mem == "deque" else read(mem == "stack")
    return s, V, r


def array(layer, G, X, xp):
    """The layer over a population [P, ...] as batched array operations in module xp."""
    w = ops.weights(layer, G, xp)
    o, H, I = layer.opts, layer.n_hidden, layer.n_in
    d = dims(I, H, o)
    S, Wd, R = d["S"], d["Wd"], d["R"]
    P, B, T = w["W_ih"].shape[0], X.shape[1], X.shape[2]
    C = min(d["C"], T)
    f = ops.Ops(xp)
    W_x = xp.ascontiguousarray(w["W_ih"][:, :, :I])
    WrT = xp.ascontiguousarray(w["W_ih"][:, :, I:].transpose(0, 2, 1))
    WhhT = xp.ascontiguousarray(w["W_hh"].transpose(0, 2, 1)) if d["rec"] else None
    WmT = xp.ascontiguousarray(w["W_mem"].transpose(0, 2, 1))
    bm = w["b_mem"][:, None]
    h = xp.zeros((P, B, H), X.dtype)
    c = xp.zeros_like(h)
    r = xp.zeros((P, B, R), X.dtype)
    s = xp.zeros((P, B, S * C), X.dtype)
    V = xp.zeros((P, B, S * C, Wd), X.dtype)
    feats = xp.empty((P, B, T, H), X.dtype)
    for t, zx in enumerate(ops.input_steps(X, W_x, w["b"], xp)):
        z = zx + r @ WrT
        if WhhT is not None:
            z = z + h @ WhhT
        if d["G"] == 4:
            c = ops.sigmoid(xp, z[..., H:2 * H]) * c \
                + ops.sigmoid(xp, z[..., :H]) * xp.tanh(z[..., 2 * H:3 * H])
            h = ops.sigmoid(xp, z[..., 3 * H:]) * xp.tanh(c)
        else:
            h = xp.tanh(z)
        s, V, r = _memory_slots(f, s, V, h @ WmT + bm, o["memory"], Wd, C)
        feats[:, :, t] = h
    return ops.readout(xp, w, feats, layer)


def _twin_class():
    import torch

    from ..twins.layers import BlockModule

    class _Torch:
        """The array operations _memory_slots needs, in torch."""

        cumsum = staticmethod(lambda a: torch.cumsum(a, -1))
        cat = staticmethod(lambda parts, axis=-1: torch.cat(parts, axis))
        zeros = staticmethod(torch.zeros_like)
        flip = staticmethod(lambda a: torch.flip(a, (-1,)))
        relu = staticmethod(torch.relu)
        minimum = staticmethod(torch.minimum)
        sigmoid = staticmethod(torch.sigmoid)
        tanh = staticmethod(torch.tanh)

    class StackRNNTwin(BlockModule):
        """Controller plus memory; state (h, [c,] r, strengths [B, S*C], values [B, S*C*width])."""

        def __init__(self, lay):
            super().__init__(lay)
            o = lay.opts
            d = dims(lay.n_in, lay.n_hidden, o)
            self.H, self.I, self.mem = lay.n_hidden, lay.n_in, o["memory"]
            self.lstm, self.rec = o["controller"] == "lstm", d["rec"]
            self.S, self.Wd, self.R, self.C = d["S"], d["Wd"], d["R"], d["C"]
            self.noise, self._noise = float(o["noise"]), None

        def seed_noise(self, seed) -> None:
            """Draw the training noise from this seed (the trainer passes each update's, so a
            resumed run draws the same)."""
            self._noise = torch.Generator().manual_seed(
                int(np.random.SeedSequence(list(np.atleast_1d(seed))).generate_state(1)[0]))

        def _controls(self, m):
            """m with Gaussian noise on the push and pop pre-activations while training."""
            if not (self.noise > 0 and self.training and torch.is_grad_enabled()):
                return m
            if self._noise is None:
                self.seed_noise(0)
            k = 2 * self.S
            eps = torch.randn(m.shape[:-1] + (k,), generator=self._noise, dtype=m.dtype)
            return torch.cat([m[..., :k] + self.noise * eps, m[..., k:]], -1)

        def features(self, x):
            B, T, _ = x.shape
            H, S, Wd = self.H, self.S, self.Wd
            if self.h0 is None:
                C = min(self.C, T)
                h = x.new_zeros(B, H)
                c, r = x.new_zeros(B, H), x.new_zeros(B, self.R)
                s, V = x.new_zeros(B, S * C), x.new_zeros(B, S * C, Wd)
            else:
                C = self.C
                h, *rest = self.h0
                if self.lstm:
                    c, *rest = rest
                r, s, Vf = rest
                V = Vf.reshape(B, S * C, Wd)
            u = x @ self.W_ih[:, :self.I].T + self.b
            W_r = self.W_ih[:, self.I:]
            hs = []
            for t in range(T):
                z = u[:, t] + r @ W_r.T
                if self.rec:
                    z = z + h @ self.W_hh.T
                if self.lstm:
                    zi, zf, zg, zo = z.chunk(4, 1)
                    c = torch.sigmoid(zf) * c + torch.sigmoid(zi) * torch.tanh(zg)
                    h = torch.sigmoid(zo) * torch.tanh(c)
                else:
                    h = torch.tanh(z)
                s, V, r = _memory_slots(_Torch, s, V, self._controls(h @ self.W_mem.T + self.b_mem),
                                        self.mem, Wd, C)
                hs.append(h)
            s, V = self._full(s, V, C)
            self.hT = (h, c, r, s, V.reshape(B, -1)) if self.lstm else (h, r, s, V.reshape(B, -1))
            return torch.stack(hs, 1)

        def _full(self, s, V, Cn):
            """Slots padded with empty ones (each end's old side) to the full capacity."""
            C, S = self.C, self.S
            if Cn == C:
                return s, V
            ps = s.new_zeros(s.shape[0], C - Cn)
            pv = V.new_zeros(V.shape[0], C - Cn, V.shape[2])
            if S == 1:
                return torch.cat([s, ps], 1), torch.cat([V, pv], 1)
            return torch.cat([s[:, :Cn], ps, ps, s[:, Cn:]], 1), \
                torch.cat([V[:, :Cn], pv, pv, V[:, Cn:]], 1)
    return StackRNNTwin


FAMILY = family(
    name="stack_rnn", description="LSTM or Elman controller with a neural stack, queue or deque "
                                  "(Grefenstette et al. 2015)",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options={
        "controller": Option("lstm", "the controller: lstm, elman (tanh) or dense (one tanh layer, "
                                     "no recurrence but the memory's)", choice(*CONTROLLERS)),
        "memory": Option("stack", "the continuous memory: stack, queue or deque", choice(*MEMORIES)),
        "width": Option(8, "numbers in a memory value (the read vector's width; twice for a deque)",
                        integer(1)),
        "capacity": Option(256, "steps the memory keeps a slot of (per end); beyond, each step "
                                "overwrites the oldest slot: exact for sequences up to this long",
                           integer(1)),
        "noise": Option(0.0, "training only: std of Gaussian noise on the push and pop "
                             "pre-activations while BPTT trains the torch twin, which drives them "
                             "to saturate; forward passes never add it", non_negative),
    },
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes, cfg=cfg, pack=pack, step=step,
    array=array, twin=lazy_twin(_twin_class))
