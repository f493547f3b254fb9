"""Neural Turing machine (Graves, Wayne and Danihelka 2014): a controller with read and
write heads on an N x M memory.

At each step, from the previous read vectors r_{t-1} (R heads, M wide each):

    controller    u = [x_t, r_{t-1}];  lstm: torch.nn.LSTM's cell on u (gates i, f, g, o);
                  dense: h = tanh(W_ih u + b)
    head params   z = W_read h + b_read (per read head: key M, beta, g, shift S, gamma),
                  W_write h + b_write (per write head: the same, then erase M, add M)
    addressing    k = tanh(key), beta = softplus, g = sigmoid, s = softmax(shift),
                  gamma = 1 + softplus;  K_i = k.Mem_i / (|k| |Mem_i| + 1e-8)
                  w_c = softmax(beta K);  w_g = g w_c + (1 - g) w_{t-1}
                  w~_i = sum_k s_k w_g[(i - k + S//2) mod N]   (shift offsets -S//2 .. S//2)
                  w_i = w~_i^gamma / sum_j w~_j^gamma
    write         every write head addresses the memory before this step's write, then
                  Mem_i <- Mem_i * prod_h (1 - w_h,i e_h) + sum_h w_h,i a_h
                  (e = sigmoid(erase), a = tanh(add))
    read          read heads address the written memory; r_h = sum_i w_h,i Mem_i
    readout       y = act(W_out [h, r_1 .. r_R] + b_out)

Each sequence starts from Mem = 1e-6 everywhere (a uniform memory: content addressing
is uniform too), every head's previous weighting one-hot on slot 0, read vectors and
controller state zero. Key and add pass through tanh, as in Collier and Beel (2018).
Sharpening divides w~ by its maximum before the power (the same function, no underflow).
Memory and weightings are each genome's per-sequence state.
"""
import numpy as np
from numba import njit

from ..options import Option, choice, integer, rule
from . import array_ops as ops
from . import kernels as kn
from . import memory_parts as mp
from .blocks import readout_blocks, uniform
from .memory_parts import CONTROLLERS, EPS, MEM0
from .spec import family, lazy_twin

# cfg slots from C_OPT
C_N, C_M, C_R, C_W, C_S, C_CTL = range(6)


def _dims(opts):
    N, M = (int(v) for v in opts["memory"])
    return N, M, int(opts["read_heads"]), int(opts["write_heads"]), int(opts["shift"])


def read_width(M: int, S: int) -> int:
    """Parameters of one read head: key M, beta, g, shift S, gamma."""
    return M + S + 3


def write_width(M: int, S: int) -> int:
    """Parameters of one write head: a read head's, then erase M and add M."""
    return 3 * M + S + 3


def features(I, H, opts):
    # Network asks for the features before it checks the options: a malformed one gets
    # a width here and its own error from the check after
    try:
        return H + int(opts["read_heads"]) * int(opts["memory"][1])
    except (TypeError, ValueError, IndexError, KeyError):
        return H


def blocks(I, H, O, opts):
    N, M, R, W, S = _dims(opts)
    s = 1.0 / np.sqrt(H)
    U = I + R * M
    if opts["controller"] == "lstm":
        ctl = [uniform("W_ih", (4 * H, U), s), uniform("W_hh", (4 * H, H), s),
               uniform("b", (4 * H,), s)]
    else:
        ctl = [uniform("W_ih", (H, U), 1.0 / np.sqrt(U)), uniform("b", (H,), 1.0 / np.sqrt(U))]
    PR, PW = R * read_width(M, S), W * write_width(M, S)
    return ctl + [uniform("W_read", (PR, H), s), uniform("b_read", (PR,), s),
                  uniform("W_write", (PW, H), s), uniform("b_write", (PW,), s)] \
        + readout_blocks(H + R * M, O, opts["readout"])


def _controller_size(I, H, opts):
    N, M, R, W, S = _dims(opts)
    U = I + R * M
    return (U + H + 1) * 4 * H if opts["controller"] == "lstm" else (U + 1) * H


def sizes(I, H, O, opts):
    N, M, R, W, S = _dims(opts)
    G = 4 * H if opts["controller"] == "lstm" else H
    PR, PW = R * read_width(M, S), W * write_width(M, S)
    packed = _controller_size(I, H, opts) + (H + 1) * (PR + PW) \
        + kn.readout_size(H + R * M, O, kn.READOUTS[opts["readout"]])
    # per sequence row: h, c, gates, reads, head parameters, weightings, memory, its rows'
    # norms, features; once: a started flag and scratch (2 N + R N for addressing, M a row)
    row = 2 * H + G + R * M + PR + PW + (R + W) * N + N * M + N + H + R * M
    return packed, row + 1 + (2 + R) * N + M


def cfg(I, H, O, opts):
    N, M, R, W, S = _dims(opts)
    return [N, M, R, W, S, CONTROLLERS.index(opts["controller"])]


def check(I, H, O, opts):
    N, M, R, W, S = _dims(opts)
    if S > N:
        raise ValueError(f"ntm: option shift={S} must be an odd integer from 1 to the {N} memory "
                         "slots")



def _shift_ok(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 and v % 2 == 1


OPTIONS = {
    "controller": Option("lstm", "the controller: lstm (torch.nn.LSTM's cell) or dense "
                                 "(one tanh layer, no recurrence but the memory's)",
                         choice(*CONTROLLERS)),
    "memory": Option((128, 20), "(N, M): N memory slots of M numbers each",
                     rule(mp.memory_ok, "must be (N, M), two integers >= 1 (slots, slot width)",
                          got=False)),
    "read_heads": Option(1, "number of read heads", integer(1)),
    "write_heads": Option(1, "number of write heads", integer(1)),
    "shift": Option(3, "shift width: the shift offsets -shift//2 .. shift//2 (odd, at most N)",
                    rule(_shift_ok, "must be an odd integer from 1 to the memory slots N",
                         got=False)),
}


# -- numba kernels ---------------------------------------------------------------------------

@njit(**mp.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    M, R, W, S = int(cfg[kn.C_OPT + C_M]), int(cfg[kn.C_OPT + C_R]), int(cfg[kn.C_OPT + C_W]), \
        int(cfg[kn.C_OPT + C_S])
    U = I + R * M
    if cfg[kn.C_OPT + C_CTL] == 0:
        off, woff = kn.pack_cell(g, w, U, H, 4 * H, 4 * H)
    else:
        off = kn.transpose_into(kn.view2d(w, 0, U, H), g, 0, H, U)
        woff = U * H
        for j in range(H):
            w[woff + j] = g[off + j]
        off, woff = off + H, woff + H
    for P in (R * (M + S + 3), W * (3 * M + S + 3)):
        off = kn.transpose_into(kn.view2d(w, woff, H, P), g, off, P, H)
        woff += H * P
        for j in range(P):
            w[woff + j] = g[off + j]
        off, woff = off + P, woff + P
    kn.pack_readout(g, off, w, woff, H + R * M, O, int(cfg[kn.C_READOUT]))


@njit(**mp.JIT)
def _activate(z, off, M, S, write):
    """One head's raw parameters z[off:] -> key tanh, beta softplus, g sigmoid, shift
    softmax, gamma 1 + softplus (and erase sigmoid, add tanh), in place."""
    one = z.dtype.type(1.0)
    for j in range(M):
        z[off + j] = kn.tanh(z[off + j])
    z[off + M] = mp.softplus(z[off + M])
    z[off + M + 1] = kn.sigmoid(z[off + M + 1])
    s0 = off + M + 2
    top = z[s0]
    for k in range(1, S):
        top = max(top, z[s0 + k])
    tot = one - one
    for k in range(S):
        e = np.exp(z[s0 + k] - top)
        z[s0 + k] = e
        tot += e
    for k in range(S):
        z[s0 + k] /= tot
    z[s0 + S] = one + mp.softplus(z[s0 + S])
    if write:
        e0 = s0 + S + 1
        for j in range(M):
            z[e0 + j] = kn.sigmoid(z[e0 + j])
            z[e0 + M + j] = kn.tanh(z[e0 + M + j])


@njit(**mp.JIT)
def _dots(z, off, mem, dots, N, M):
    """dots[i] = key . Mem_i for the head at z[off:]."""
    for i in range(N):
        d = dots[i] - dots[i]
        for j in range(M):
            d += z[off + j] * mem[i * M + j]
        dots[i] = d


@njit(**mp.JIT)
def _focus(z, off, dots, nrm, wt, woff, sim, wg, N, M, S):
    """The head at z[off:] (activated) moves its weighting wt[woff:woff + N], from its key's
    dot products with the memory rows (dots) and the rows' norms (nrm)."""
    one = z.dtype.type(1.0)
    zero = one - one
    eps = z.dtype.type(EPS)
    kk = zero
    for j in range(M):
        kk += z[off + j] * z[off + j]
    kk = np.sqrt(kk)
    beta, g, gamma = z[off + M], z[off + M + 1], z[off + M + 2 + S]
    top = beta * (dots[0] / (kk * nrm[0] + eps))
    for i in range(N):
        v = beta * (dots[i] / (kk * nrm[i] + eps))
        sim[i] = v
        top = max(top, v)
    tot = zero
    for i in range(N):
        e = np.exp(sim[i] - top)
        sim[i] = e
        tot += e
    for i in range(N):
        wg[i] = g * (sim[i] / tot) + (one - g) * wt[woff + i]
    # circular shift: w~_i = sum_k s_k wg[(i - d_k) mod N], d_k = k - S//2, as two
    # contiguous runs per offset instead of a modulo per slot (no vectorized loop has one)
    s0 = off + M + 2
    for i in range(N):
        sim[i] = zero
    for k in range(S):
        d, sk = k - S // 2, z[s0 + k]
        lo, hi = max(d, 0), min(N + d, N)
        for i in range(lo, hi):
            sim[i] += sk * wg[i - d]
        for i in range(0, lo):
            sim[i] += sk * wg[i - d + N]
        for i in range(hi, N):
            sim[i] += sk * wg[i - d - N]
    top = zero
    for i in range(N):
        top = max(top, sim[i])
    tot = zero
    for i in range(N):
        v = (sim[i] / top) ** gamma
        sim[i] = v
        tot += v
    for i in range(N):
        wt[woff + i] = sim[i] / tot


@njit(**mp.JIT)
def _write_and_read(zw, W, PW, zr, R, PR, mem, nrm, ww, wr, r, rdots, tmp, sim, wg, N, M, S):
    """One row's memory step: write heads (already focused) erase and add; the written
    rows' norms and read keys' dot products come out of the same pass; read heads focus
    and read."""
    one = mem.dtype.type(1.0)
    zero = one - one
    for i in range(N):
        for j in range(M):
            tmp[j] = mem[i * M + j]
        for hd in range(W):
            wi, e0 = ww[hd * N + i], hd * PW + M + S + 3
            for j in range(M):
                tmp[j] *= one - wi * zw[e0 + j]
        for hd in range(W):
            wi, a0 = ww[hd * N + i], hd * PW + 2 * M + S + 3
            for j in range(M):
                tmp[j] += wi * zw[a0 + j]
        s = zero
        for j in range(M):
            mem[i * M + j] = tmp[j]
            s += tmp[j] * tmp[j]
        nrm[i] = np.sqrt(s)
        for hd in range(R):
            d, k0 = zero, hd * PR
            for j in range(M):
                d += zr[k0 + j] * tmp[j]
            rdots[hd * N + i] = d
    for hd in range(R):
        _focus(zr, hd * PR, rdots[hd * N:(hd + 1) * N], nrm, wr, hd * N, sim, wg, N, M, S)
        for j in range(M):
            tmp[j] = zero
        for i in range(N):
            wi = wr[hd * N + i]
            for j in range(M):
                tmp[j] += wi * mem[i * M + j]
        for j in range(M):
            r[hd * M + j] = tmp[j]


@njit(**mp.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    N, M = int(cfg[kn.C_OPT + C_N]), int(cfg[kn.C_OPT + C_M])
    R, W, S = int(cfg[kn.C_OPT + C_R]), int(cfg[kn.C_OPT + C_W]), int(cfg[kn.C_OPT + C_S])
    lstm = cfg[kn.C_OPT + C_CTL] == 0
    G = 4 * H if lstm else H
    RM = R * M
    PR, PW = M + S + 3, 3 * M + S + 3
    # state: a started flag and scratch (similarities, gated weighting, read dots, a memory
    # row), then [B, .] rows
    sim, wg = state[1:1 + N], state[1 + N:1 + 2 * N]
    rdots = state[1 + 2 * N:1 + (2 + R) * N]
    o = 1 + (2 + R) * N
    tmp = state[o:o + M]
    o += M
    h = kn.view2d(state, o, B, H)
    o += B * H
    c = kn.view2d(state, o, B, H)
    o += B * H
    z = kn.view2d(state, o, B, G)
    o += B * G
    r = kn.view2d(state, o, B, RM)
    o += B * RM
    zr = kn.view2d(state, o, B, R * PR)
    o += B * R * PR
    zw = kn.view2d(state, o, B, W * PW)
    o += B * W * PW
    wr = kn.view2d(state, o, B, R * N)
    o += B * R * N
    ww = kn.view2d(state, o, B, W * N)
    o += B * W * N
    mem = kn.view2d(state, o, B, N * M)
    o += B * N * M
    nrm = kn.view2d(state, o, B, N)         # the memory rows' norms
    o += B * N
    f = kn.view2d(state, o, B, H + RM)
    if state[0] == 0:                   # a flushed state: the sequence's start
        state[0] = 1
        m0 = state.dtype.type(MEM0)
        for b in range(B):
            for q in range(N * M):
                mem[b, q] = m0
            for hd in range(R):
                wr[b, hd * N] = 1
            for hd in range(W):
                ww[b, hd * N] = 1
            mp.row_norms(mem[b], nrm[b], N, M)
    o = mp.controller(w, x, r, z, h, c, I, RM, H, G, lstm, lstm)
    # head parameters
    kn.set_rows(zr, w[o + H * R * PR:o + (H + 1) * R * PR])
    kn.mm_acc(zr, h, kn.view2d(w, o, H, R * PR))
    o += (H + 1) * R * PR
    kn.set_rows(zw, w[o + H * W * PW:o + (H + 1) * W * PW])
    kn.mm_acc(zw, h, kn.view2d(w, o, H, W * PW))
    o += (H + 1) * W * PW
    for b in range(B):
        for hd in range(W):
            _activate(zw[b], hd * PW, M, S, True)
        for hd in range(R):
            _activate(zr[b], hd * PR, M, S, False)
        for hd in range(W):             # write heads address the memory before the write
            _dots(zw[b], hd * PW, mem[b], sim, N, M)
            _focus(zw[b], hd * PW, sim, nrm[b], ww[b], hd * N, sim, wg, N, M, S)
        _write_and_read(zw[b], W, PW, zr[b], R, PR, mem[b], nrm[b], ww[b], wr[b], r[b], rdots,
                        tmp, sim, wg, N, M, S)
        for j in range(H):
            f[b, j] = h[b, j]
        for j in range(RM):
            f[b, H + j] = r[b, j]
    kn.readout(w, o, f, y, int(cfg[kn.C_READOUT]))


# -- array form (NumPy / CuPy) -----------------------------------------------------------------

def _address_xp(xp, zh, mem, w_prev, M, S):
    """New weightings [..., heads, N] of heads zh [..., heads, P] (raw) on mem [..., N, M]."""
    k = xp.tanh(zh[..., :M])
    beta = mp.softplus_xp(xp, zh[..., M:M + 1])
    g = ops.sigmoid(xp, zh[..., M + 1:M + 2])
    s = zh[..., M + 2:M + 2 + S]
    s = xp.exp(s - s.max(axis=-1, keepdims=True))
    s = s / s.sum(axis=-1, keepdims=True)
    gamma = 1 + mp.softplus_xp(xp, zh[..., M + 2 + S:M + 3 + S])
    dots = k @ mem.swapaxes(-1, -2)                                    # [..., heads, N]
    norm = xp.sqrt((k * k).sum(-1))[..., None] * xp.sqrt((mem * mem).sum(-1))[..., None, :]
    sim = beta * (dots / (norm + EPS))
    wc = xp.exp(sim - sim.max(axis=-1, keepdims=True))
    wc = wc / wc.sum(axis=-1, keepdims=True)
    wg = g * wc + (1 - g) * w_prev
    K = S // 2
    wt = sum(s[..., k:k + 1] * xp.roll(wg, k - K, axis=-1) for k in range(S))
    wt = (wt / wt.max(axis=-1, keepdims=True)) ** gamma
    return wt / wt.sum(axis=-1, keepdims=True)


def array(layer, G, X, xp):
    """The layer over a population [P, ...] as batched array operations in module xp."""
    w = ops.weights(layer, G, xp)
    N, M, R, W, S = _dims(layer.opts)
    H, I = layer.n_hidden, layer.n_in
    P, B, T = G.shape[0], X.shape[1], X.shape[2]
    dt = X.dtype
    lstm = layer.opts["controller"] == "lstm"
    PR, PW = read_width(M, S), write_width(M, S)
    W_x, W_r = w["W_ih"][..., :I], w["W_ih"][..., I:]
    mem = xp.full((P, B, N, M), MEM0, dt)
    wr = xp.zeros((P, B, R, N), dt)
    ww = xp.zeros((P, B, W, N), dt)
    wr[..., 0] = 1
    ww[..., 0] = 1
    r = xp.zeros((P, B, R * M), dt)
    h = xp.zeros((P, B, H), dt)
    c = xp.zeros_like(h)
    feats = xp.empty((P, B, T, H + R * M), dt)
    for t in range(T):
        z = ops.mm(X[:, :, t], W_x) + ops.mm(r, W_r) + w["b"][:, None]
        if lstm:
            z = z + ops.mm(h, w["W_hh"])
            i_, f_, g_, o_ = (z[..., q * H:(q + 1) * H] for q in range(4))
            c = ops.sigmoid(xp, f_) * c + ops.sigmoid(xp, i_) * xp.tanh(g_)
            h = ops.sigmoid(xp, o_) * xp.tanh(c)
        else:
            h = xp.tanh(z)
        zr = (ops.mm(h, w["W_read"]) + w["b_read"][:, None]).reshape(P, B, R, PR)
        zw = (ops.mm(h, w["W_write"]) + w["b_write"][:, None]).reshape(P, B, W, PW)
        ww = _address_xp(xp, zw, mem, ww, M, S)
        e = ops.sigmoid(xp, zw[..., M + S + 3:2 * M + S + 3])
        a = xp.tanh(zw[..., 2 * M + S + 3:])
        for hd in range(W):
            mem = mem * (1 - ww[..., hd, :, None] * e[..., hd, None, :])
        mem = mem + ww.swapaxes(-1, -2) @ a
        wr = _address_xp(xp, zr, mem, wr, M, S)
        r = (wr @ mem).reshape(P, B, R * M)
        feats[:, :, t, :H] = h
        feats[:, :, t, H:] = r
    return ops.readout(xp, w, feats, layer)


# -- torch twin ------------------------------------------------------------------------------

def _twin_class():
    import torch

    from ..twins.layers import BlockModule

    def softplus(v):
        return torch.clamp(v, min=0) + torch.log1p(torch.exp(-v.abs()))

    class NTMTwin(BlockModule):
        """The NTM above; its state (h0, hT) is (h, [c,] reads, read weightings - w0, write
        weightings - w0, memory - 1e-6), each [B, .], so that zeros are a sequence's start."""

        def __init__(self, lay):
            super().__init__(lay)
            self.N, self.M, self.R, self.W, self.S = _dims(lay.opts)
            self.H, self.I = lay.n_hidden, lay.n_in
            self.lstm = lay.opts["controller"] == "lstm"

        def address(self, zh, mem, w_prev):
            M, S = self.M, self.S
            k = torch.tanh(zh[..., :M])
            beta = softplus(zh[..., M:M + 1])
            g = torch.sigmoid(zh[..., M + 1:M + 2])
            s = torch.softmax(zh[..., M + 2:M + 2 + S], -1)
            gamma = 1 + softplus(zh[..., M + 2 + S:M + 3 + S])
            norm = k.norm(dim=-1)[..., None] * mem.norm(dim=-1)[:, None, :]
            sim = beta * ((k @ mem.transpose(1, 2)) / (norm + EPS))
            wg = g * torch.softmax(sim, -1) + (1 - g) * w_prev
            K = S // 2
            wt = sum(s[..., k:k + 1] * torch.roll(wg, k - K, -1) for k in range(S))
            # dividing by the maximum leaves the function as it is: no gradient through it
            wt = (wt / wt.amax(-1, keepdim=True).detach()) ** gamma
            return wt / wt.sum(-1, keepdim=True)

        def features(self, x):
            B, T = x.shape[:2]
            N, M, R, W, S, H = self.N, self.M, self.R, self.W, self.S, self.H
            one_hot = x.new_zeros(N)
            one_hot[0] = 1
            parts = list(self.h0) if self.h0 is not None else \
                [x.new_zeros(B, n) for n in ((H, H) if self.lstm else (H,))
                 + (R * M, R * N, W * N, N * M)]
            h = parts.pop(0)
            c = parts.pop(0) if self.lstm else None
            r, wr, ww, mem = parts
            wr = wr.reshape(B, R, N) + one_hot
            ww = ww.reshape(B, W, N) + one_hot
            mem = mem.reshape(B, N, M) + MEM0
            W_x, W_r = self.W_ih[:, :self.I], self.W_ih[:, self.I:]
            u = x @ W_x.T + self.b
            PR, PW = read_width(M, S), write_width(M, S)
            fs = []
            for t in range(T):
                z = u[:, t] + r @ W_r.T
                if self.lstm:
                    z = z + h @ self.W_hh.T
                    i_, f_, g_, o_ = z.chunk(4, 1)
                    c = torch.sigmoid(f_) * c + torch.sigmoid(i_) * torch.tanh(g_)
                    h = torch.sigmoid(o_) * torch.tanh(c)
                else:
                    h = torch.tanh(z)
                zr = (h @ self.W_read.T + self.b_read).reshape(B, R, PR)
                zw = (h @ self.W_write.T + self.b_write).reshape(B, W, PW)
                ww = self.address(zw, mem, ww)
                e = torch.sigmoid(zw[..., M + S + 3:2 * M + S + 3])
                a = torch.tanh(zw[..., 2 * M + S + 3:])
                for hd in range(W):
                    mem = mem * (1 - ww[:, hd, :, None] * e[:, hd, None, :])
                mem = mem + ww.transpose(1, 2) @ a
                wr = self.address(zr, mem, wr)
                r = (wr @ mem).reshape(B, R * M)
                fs.append(torch.cat([h, r], 1))
            state = (h, c) if self.lstm else (h,)
            self.hT = state + (r, (wr - one_hot).reshape(B, R * N), (ww - one_hot).reshape(B, W * N),
                               (mem - MEM0).reshape(B, N * M))
            return torch.stack(fs, 1)
    return NTMTwin


FAMILY = family(
    name="ntm", description="neural Turing machine (Graves et al. 2014): lstm or dense controller, "
                            "read and write heads on an N x M memory",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options=OPTIONS, blocks=blocks, features=features, sizes=sizes, cfg=cfg, check=check,
    pack=pack, step=step, array=array, twin=lazy_twin(_twin_class),
    # memory grows where write heads add without erasing: reads are unbounded
    feature_range=lambda opts: (-np.inf, np.inf))
