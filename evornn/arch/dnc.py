"""Differentiable neural computer (Graves et al. 2016, "Hybrid computing using a neural
network with dynamic external memory", Nature 538): a controller with one write head and
R read heads on an N x W memory, addressed by content, by dynamic allocation of free
slots and by the temporal order of writes.

At each step, from the previous read vectors r_{t-1} (R heads, W wide each):

    controller   u = [x_t, r_{t-1}];  lstm: torch.nn.LSTM's cell on u (gates i, f, g, o);
                 dense: h = tanh(W_ih u + b)
    interface    xi = W_xi h + b_xi, in order: read keys k^r (R W), read strengths
                 beta^r (R), write key k^w (W), write strength beta^w, erase e (W), write
                 vector v (W), free gates f (R), allocation gate g^a, write gate g^w,
                 read modes pi (3 per head: backward, content, forward)
                 beta = 1 + softplus; e, f, g^a, g^w = sigmoid; pi = softmax over the 3;
                 keys and v as they are (the paper's interface)
    content      C(M, k, beta)_i = softmax_i(beta K(k, M_i)),
                 K(k, M_i) = k.M_i / (|k| |M_i| + 1e-8)
    usage        psi = prod_h (1 - f_h w^r_{t-1,h});
                 u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} w^w_{t-1}) psi
    allocation   phi = the slots by usage, ascending (stable: equal usages in slot order);
                 a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i]
    write        w^w = g^w (g^a a + (1 - g^a) C(M_{t-1}, k^w, beta^w));
                 M_t = M_{t-1} o (1 - w^w e^T) + w^w v^T
    temporal     L_t[i, j] = (1 - w^w_i - w^w_j) L_{t-1}[i, j] + w^w_i p_{t-1, j}, L_t[i, i] = 0;
                 p_t = (1 - sum_i w^w_i) p_{t-1} + w^w
    read         per head: f = L_t w^r_{t-1}, b = L_t^T w^r_{t-1}, c = C(M_t, k^r, beta^r),
                 w^r = pi_1 b + pi_2 c + pi_3 f;  r = M_t^T w^r
    readout      y = act(W_out [h, r_1 .. r_R] + b_out)

Each sequence starts from M = 1e-6 everywhere (uniform: content addressing is uniform
too), usage, precedence, links, weightings, read vectors and controller state zero.
Memory, usage, links, precedence and weightings are each genome's per-sequence state.

Ties: the allocation sorts with a stable order, so slots of equal usage are taken in slot
order (the first write of a sequence goes to slot 0). The uniform start makes slots no
write has singled out exactly alike; which of them a tie picks does not change the
function (they are interchangeable), only which slot holds what. The torch twin, as the
paper, passes no gradient through the sort order: the permutation is a constant of each
step and the gradient flows through the usages it orders.
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
C_N, C_W, C_R, C_CTL = range(4)


def _dims(opts):
    N, W = (int(v) for v in opts["memory"])
    return N, W, int(opts["read_heads"])


def interface_width(W: int, R: int) -> int:
    """Width of the interface vector: R W + 3 W + 5 R + 3."""
    return R * W + 3 * W + 5 * R + 3


def offsets(W: int, R: int) -> dict:
    """Where each interface part starts in the interface vector."""
    o, out = 0, {}
    for name, n in (("read_keys", R * W), ("read_strengths", R), ("write_key", W),
                    ("write_strength", 1), ("erase", W), ("write_vector", W),
                    ("free_gates", R), ("allocation_gate", 1), ("write_gate", 1),
                    ("read_modes", 3 * R)):
        out[name] = o
        o += n
    return out


def features(I, H, opts):
    # Network asks for the features before it checks the options: a malformed one gets
    # a width here and its own error from the check after
    try:
        return H + int(opts["read_heads"]) * int(opts["memory"][1])
    except (TypeError, ValueError, IndexError, KeyError):
        return H


def blocks(I, H, O, opts):
    N, W, R = _dims(opts)
    s = 1.0 / np.sqrt(H)
    U = I + R * W
    if opts["controller"] == "lstm":
        ctl = [uniform("W_ih", (4 * H, U), s), uniform("W_hh", (4 * H, H), s),
               uniform("b", (4 * H,), s)]
    else:
        ctl = [uniform("W_ih", (H, U), 1.0 / np.sqrt(U)), uniform("b", (H,), 1.0 / np.sqrt(U))]
    P = interface_width(W, R)
    return ctl + [uniform("W_xi", (P, H), s), uniform("b_xi", (P,), s)] \
        + readout_blocks(H + R * W, O, opts["readout"])


def _controller_size(I, H, opts):
    N, W, R = _dims(opts)
    U = I + R * W
    return (U + H + 1) * 4 * H if opts["controller"] == "lstm" else (U + 1) * H


def sizes(I, H, O, opts):
    N, W, R = _dims(opts)
    G = 4 * H if opts["controller"] == "lstm" else H
    P = interface_width(W, R)
    packed = _controller_size(I, H, opts) + (H + 1) * P \
        + kn.readout_size(H + R * W, O, kn.READOUTS[opts["readout"]])
    # per sequence row: h, c, gates, interface, reads, read and write weightings, usage,
    # precedence, links, memory, its rows' norms, features; once: a started flag and
    # scratch (content weights, allocation, read dots, forward and backward weightings, a
    # memory row)
    row = 2 * H + G + P + R * W + R * N + N + N + N + N * N + N * W + N + H + R * W
    return packed, row + 1 + 2 * N + 3 * R * N + W


def cfg(I, H, O, opts):
    N, W, R = _dims(opts)
    return [N, W, R, CONTROLLERS.index(opts["controller"])]



OPTIONS = {
    "controller": Option("lstm", "the controller: lstm (torch.nn.LSTM's cell) or dense "
                                 "(one tanh layer, no recurrence but the memory's)",
                         choice(*CONTROLLERS)),
    "memory": Option((32, 20), "(N, W): N memory slots of W numbers each",
                     rule(mp.memory_ok, "must be (N, W), two integers >= 1 (slots, slot width)",
                          got=False)),
    "read_heads": Option(1, "number of read heads", integer(1)),
}


# -- numba kernels ---------------------------------------------------------------------------

@njit(**mp.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    W, R = int(cfg[kn.C_OPT + C_W]), int(cfg[kn.C_OPT + C_R])
    U = I + R * W
    if cfg[kn.C_OPT + C_CTL] == 0:
        off, woff = kn.pack_cell(g, w, U, H, 4 * H, 4 * H)
    else:
        off = kn.transpose_into(kn.view2d(w, 0, U, H), g, 0, H, U)
        woff = U * H
        for j in range(H):
            w[woff + j] = g[off + j]
        off, woff = off + H, woff + H
    P = R * W + 3 * W + 5 * R + 3
    off = kn.transpose_into(kn.view2d(w, woff, H, P), g, off, P, H)
    woff += H * P
    for j in range(P):
        w[woff + j] = g[off + j]
    off, woff = off + P, woff + P
    kn.pack_readout(g, off, w, woff, H + R * W, O, int(cfg[kn.C_READOUT]))


@njit(**mp.JIT)
def _activate(z, W, R):
    """The interface vector z (one row) from raw to its parts' ranges, in place."""
    one = z.dtype.type(1.0)
    rs = R * W                          # read strengths
    for q in range(R):
        z[rs + q] = one + mp.softplus(z[rs + q])
    ws = rs + R + W                     # write strength
    z[ws] = one + mp.softplus(z[ws])
    for j in range(W):                  # erase
        z[ws + 1 + j] = kn.sigmoid(z[ws + 1 + j])
    fg = ws + 1 + 2 * W                 # free gates, allocation gate, write gate
    for q in range(R + 2):
        z[fg + q] = kn.sigmoid(z[fg + q])
    pm = fg + R + 2                     # read modes: a softmax over 3 per head
    for q in range(R):
        o = pm + 3 * q
        top = max(z[o], max(z[o + 1], z[o + 2]))
        e0, e1, e2 = np.exp(z[o] - top), np.exp(z[o + 1] - top), np.exp(z[o + 2] - top)
        tot = e0 + e1 + e2
        z[o], z[o + 1], z[o + 2] = e0 / tot, e1 / tot, e2 / tot


@njit(**mp.JIT)
def _content(z, koff, beta, dots, nrm, out, N, W):
    """out = softmax(beta K(key, M_i)) for the key at z[koff:] from its dot products with
    the memory rows (dots) and the rows' norms (nrm)."""
    zero = z.dtype.type(0.0)
    eps = z.dtype.type(EPS)
    kk = zero
    for j in range(W):
        kk += z[koff + j] * z[koff + j]
    kk = np.sqrt(kk)
    top = beta * (dots[0] / (kk * nrm[0] + eps))
    for i in range(N):
        v = beta * (dots[i] / (kk * nrm[i] + eps))
        out[i] = v
        top = max(top, v)
    tot = zero
    for i in range(N):
        e = np.exp(out[i] - top)
        out[i] = e
        tot += e
    for i in range(N):
        out[i] /= tot


@njit(**mp.JIT)
def _usage(z, u, ww, wr, N, W, R):
    """u_t = (u + w^w - u w^w) prod_h (1 - f_h w^r_h), in place, from last step's weightings."""
    one = u.dtype.type(1.0)
    fg = R * W + R + 3 * W + 1
    for i in range(N):
        psi = one
        for q in range(R):
            psi *= one - z[fg + q] * wr[q * N + i]
        u[i] = (u[i] + ww[i] - u[i] * ww[i]) * psi


@njit(**mp.JIT)
def _allocation(u, order, alloc, N):
    """alloc[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i], phi the slots by usage ascending,
    equal usages in slot order (an insertion sort that moves a slot only past larger
    usages is stable)."""
    one = u.dtype.type(1.0)
    for i in range(N):
        order[i] = i
    for i in range(1, N):
        k, uk = order[i], u[order[i]]
        j = i - 1
        while j >= 0 and u[order[j]] > uk:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = k
    prod = one
    for j in range(N):
        k = order[j]
        alloc[k] = (one - u[k]) * prod
        prod *= u[k]


@njit(**mp.JIT)
def _links(ww, p, link, wr, fw, bw, N, R):
    """L_t from L_{t-1}, w^w and p_{t-1}, with the backward weightings (L^T w^r) of last
    step's read weightings in the same pass; then the forward ones (L w^r) and p_t."""
    one = ww.dtype.type(1.0)
    zero = one - one
    for q in range(R * N):
        bw[q] = zero
        fw[q] = zero
    for i in range(N):
        wi = ww[i]
        o = i * N
        for j in range(N):
            link[o + j] = (one - wi - ww[j]) * link[o + j] + wi * p[j]
        link[o + i] = zero
        for q in range(R):
            a = wr[q * N + i]
            for j in range(N):
                bw[q * N + j] += link[o + j] * a
    # f_i = sum_j L[i, j] w_j, the slots' sums side by side: a chain of additions per slot,
    # not one after another (without reassociation a sum is a chain)
    for q in range(R):
        for j in range(N):
            a = wr[q * N + j]
            for i in range(N):
                fw[q * N + i] += link[i * N + j] * a
    tot = zero
    for i in range(N):
        tot += ww[i]
    for i in range(N):
        p[i] = (one - tot) * p[i] + ww[i]


@njit(**mp.JIT)
def _write(z, ww, mem, nrm, rdots, tmp, N, W, R):
    """M_t = M_{t-1} o (1 - w^w e^T) + w^w v^T; the written rows' norms and the read keys'
    dot products with them come out of the same pass."""
    zero = mem.dtype.type(0.0)
    one = mem.dtype.type(1.0)
    e0 = R * W + R + W + 1
    v0 = e0 + W
    for i in range(N):
        wi = ww[i]
        s = zero
        for j in range(W):
            m = mem[i * W + j] * (one - wi * z[e0 + j]) + wi * z[v0 + j]
            mem[i * W + j] = m
            tmp[j] = m
            s += m * m
        nrm[i] = np.sqrt(s)
        for q in range(R):
            d = zero
            for j in range(W):
                d += z[q * W + j] * tmp[j]
            rdots[q * N + i] = d


@njit(**mp.JIT)
def _row_step(z, u, ww, wr, p, link, mem, nrm, r, sim, alloc, order, rdots, fw, bw, tmp,
              N, W, R):
    """One sequence's memory step, from its activated interface vector z."""
    zero = z.dtype.type(0.0)
    one = z.dtype.type(1.0)
    o_wk = R * W + R
    ga, gw = z[R * W + R + 3 * W + 1 + R], z[R * W + R + 3 * W + 2 + R]
    _usage(z, u, ww, wr, N, W, R)
    _allocation(u, order, alloc, N)
    # write content weights on the memory before the write
    for i in range(N):
        d = zero
        for j in range(W):
            d += z[o_wk + j] * mem[i * W + j]
        sim[i] = d
    _content(z, o_wk, z[o_wk + W], sim, nrm, sim, N, W)
    for i in range(N):
        ww[i] = gw * (ga * alloc[i] + (one - ga) * sim[i])
    _write(z, ww, mem, nrm, rdots, tmp, N, W, R)
    _links(ww, p, link, wr, fw, bw, N, R)
    pm = R * W + R + 3 * W + 3 + R
    for q in range(R):
        _content(z, q * W, z[R * W + q], rdots[q * N:(q + 1) * N], nrm, sim, N, W)
        pb, pc, pf = z[pm + 3 * q], z[pm + 3 * q + 1], z[pm + 3 * q + 2]
        for i in range(N):
            wr[q * N + i] = pb * bw[q * N + i] + pc * sim[i] + pf * fw[q * N + i]
        for j in range(W):
            tmp[j] = zero
        for i in range(N):
            wi = wr[q * N + i]
            for j in range(W):
                tmp[j] += wi * mem[i * W + j]
        for j in range(W):
            r[q * W + j] = tmp[j]


@njit(**mp.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    N, W, R = int(cfg[kn.C_OPT + C_N]), int(cfg[kn.C_OPT + C_W]), int(cfg[kn.C_OPT + C_R])
    lstm = cfg[kn.C_OPT + C_CTL] == 0
    G = 4 * H if lstm else H
    RW = R * W
    P = RW + 3 * W + 5 * R + 3
    # state: a started flag and scratch, then [B, .] rows
    sim, alloc = state[1:1 + N], state[1 + N:1 + 2 * N]
    o = 1 + 2 * N
    rdots = state[o:o + R * N]
    fw = state[o + R * N:o + 2 * R * N]
    bw = state[o + 2 * R * N:o + 3 * R * N]
    o += 3 * R * N
    tmp = state[o:o + W]
    o += W
    h = kn.view2d(state, o, B, H)
    o += B * H
    c = kn.view2d(state, o, B, H)
    o += B * H
    z = kn.view2d(state, o, B, G)
    o += B * G
    xi = kn.view2d(state, o, B, P)
    o += B * P
    r = kn.view2d(state, o, B, RW)
    o += B * RW
    wr = kn.view2d(state, o, B, R * N)
    o += B * R * N
    ww = kn.view2d(state, o, B, N)
    o += B * N
    u = kn.view2d(state, o, B, N)
    o += B * N
    p = kn.view2d(state, o, B, N)
    o += B * N
    link = kn.view2d(state, o, B, N * N)
    o += B * N * N
    mem = kn.view2d(state, o, B, N * W)
    o += B * N * W
    nrm = kn.view2d(state, o, B, N)         # the memory rows' norms
    o += B * N
    f = kn.view2d(state, o, B, H + RW)
    # the slot order as integers (a float state holds no indices)
    order = np.empty(N, np.int64)
    if state[0] == 0:                   # a flushed state: the sequence's start
        state[0] = 1
        m0 = state.dtype.type(MEM0)
        for b in range(B):
            for q in range(N * W):
                mem[b, q] = m0
            mp.row_norms(mem[b], nrm[b], N, W)
    o = mp.controller(w, x, r, z, h, c, I, RW, H, G, lstm, lstm)
    # interface
    kn.set_rows(xi, w[o + H * P:o + (H + 1) * P])
    kn.mm_acc(xi, h, kn.view2d(w, o, H, P))
    o += (H + 1) * P
    for b in range(B):
        _activate(xi[b], W, R)
        _row_step(xi[b], u[b], ww[b], wr[b], p[b], link[b], mem[b], nrm[b], r[b], sim, alloc,
                  order, rdots, fw, bw, tmp, N, W, R)
        for j in range(H):
            f[b, j] = h[b, j]
        for j in range(RW):
            f[b, H + j] = r[b, j]
    kn.readout(w, o, f, y, int(cfg[kn.C_READOUT]))


# -- array form (NumPy / CuPy) -----------------------------------------------------------------

def _content_xp(xp, k, beta, mem):
    """softmax(beta K(k, M_i)) [..., heads, N] of keys k [..., heads, W] on mem [..., N, W]."""
    dots = k @ mem.swapaxes(-1, -2)
    norm = xp.sqrt((k * k).sum(-1))[..., None] * xp.sqrt((mem * mem).sum(-1))[..., None, :]
    sim = beta * (dots / (norm + EPS))
    e = xp.exp(sim - sim.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _stable_argsort(xp, a):
    # CuPy's argsort is always stable (older versions take no kind); NumPy's must be asked
    return np.argsort(a, axis=-1, kind="stable") if xp is np else xp.argsort(a, axis=-1)


def _allocation_xp(xp, u):
    """The allocation weighting [..., N] of usages u [..., N] (a stable sort)."""
    order = _stable_argsort(xp, u)
    us = xp.take_along_axis(u, order, -1)
    prod = xp.cumprod(xp.concatenate([xp.ones_like(us[..., :1]), us[..., :-1]], -1), -1)
    inverse = xp.argsort(order, axis=-1)
    return xp.take_along_axis((1 - us) * prod, inverse, -1)


def _interface_xp(xp, z, W, R):
    """The raw interface vectors [..., P] -> a dict of their parts, activated."""
    at = offsets(W, R)
    lead = z.shape[:-1]

    def part(name, n):
        return z[..., at[name]:at[name] + n]
    modes = part("read_modes", 3 * R).reshape(lead + (R, 3))
    modes = xp.exp(modes - modes.max(-1, keepdims=True))
    return {"read_keys": part("read_keys", R * W).reshape(lead + (R, W)),
            "read_strengths": 1 + mp.softplus_xp(xp, part("read_strengths", R))[..., None],
            "write_key": part("write_key", W)[..., None, :],
            "write_strength": 1 + mp.softplus_xp(xp, part("write_strength", 1))[..., None],
            "erase": ops.sigmoid(xp, part("erase", W)),
            "write_vector": part("write_vector", W),
            "free_gates": ops.sigmoid(xp, part("free_gates", R))[..., None],
            "allocation_gate": ops.sigmoid(xp, part("allocation_gate", 1)),
            "write_gate": ops.sigmoid(xp, part("write_gate", 1)),
            "read_modes": modes / modes.sum(-1, keepdims=True)}


def array(layer, G, X, xp):
    """The layer over a population [P, ...] as batched array operations in module xp."""
    w = ops.weights(layer, G, xp)
    N, W, R = _dims(layer.opts)
    H, I = layer.n_hidden, layer.n_in
    P, B, T = G.shape[0], X.shape[1], X.shape[2]
    dt = X.dtype
    lstm = layer.opts["controller"] == "lstm"
    W_x, W_r = w["W_ih"][..., :I], w["W_ih"][..., I:]
    mem = xp.full((P, B, N, W), MEM0, dt)
    wr = xp.zeros((P, B, R, N), dt)
    ww, u, prec = (xp.zeros((P, B, N), dt) for _ in range(3))
    link = xp.zeros((P, B, N, N), dt)
    off_diagonal = 1 - xp.eye(N, dtype=dt)
    r = xp.zeros((P, B, R * W), dt)
    h = xp.zeros((P, B, H), dt)
    c = xp.zeros_like(h)
    feats = xp.empty((P, B, T, H + R * W), dt)
    for t in range(T):
        z = ops.mm(X[:, :, t], W_x) + ops.mm(r, W_r) + w["b"][:, None]
        if lstm:
            z = z + ops.mm(h, w["W_hh"])
            i_, f_, g_, o_ = (z[..., q * H:(q + 1) * H] for q in range(4))
            c = ops.sigmoid(xp, f_) * c + ops.sigmoid(xp, i_) * xp.tanh(g_)
            h = ops.sigmoid(xp, o_) * xp.tanh(c)
        else:
            h = xp.tanh(z)
        it = _interface_xp(xp, ops.mm(h, w["W_xi"]) + w["b_xi"][:, None], W, R)
        u = (u + ww - u * ww) * xp.prod(1 - it["free_gates"] * wr, axis=-2)
        cw = _content_xp(xp, it["write_key"], it["write_strength"], mem)[..., 0, :]
        ga, gw = it["allocation_gate"], it["write_gate"]
        ww = gw * (ga * _allocation_xp(xp, u) + (1 - ga) * cw)
        mem = mem * (1 - ww[..., :, None] * it["erase"][..., None, :]) \
            + ww[..., :, None] * it["write_vector"][..., None, :]
        link = ((1 - ww[..., :, None] - ww[..., None, :]) * link
                + ww[..., :, None] * prec[..., None, :]) * off_diagonal
        prec = (1 - ww.sum(-1, keepdims=True)) * prec + ww
        fw, bw = wr @ link.swapaxes(-1, -2), wr @ link
        cr = _content_xp(xp, it["read_keys"], it["read_strengths"], mem)
        pi = it["read_modes"]
        wr = pi[..., 0:1] * bw + pi[..., 1:2] * cr + pi[..., 2:3] * fw
        r = (wr @ mem).reshape(P, B, R * W)
        feats[:, :, t, :H] = h
        feats[:, :, t, H:] = r
    return ops.readout(xp, w, feats, layer)


# -- torch twin ------------------------------------------------------------------------------

def _twin_class():
    import torch

    from ..twins.layers import BlockModule

    def softplus(v):
        return torch.clamp(v, min=0) + torch.log1p(torch.exp(-v.abs()))

    def content(k, beta, mem):
        norm = k.norm(dim=-1)[..., None] * mem.norm(dim=-1)[:, None, :]
        return torch.softmax(beta * ((k @ mem.transpose(1, 2)) / (norm + EPS)), -1)

    def allocation(u):
        # the sort order is a constant of the step: no gradient through it (as the paper)
        order = torch.argsort(u.detach(), dim=-1, stable=True)
        us = u.gather(-1, order)
        prod = torch.cumprod(torch.cat([torch.ones_like(us[:, :1]), us[:, :-1]], -1), -1)
        return ((1 - us) * prod).gather(-1, torch.argsort(order, dim=-1))

    class DNCTwin(BlockModule):
        """The DNC above; its state (h0, hT) is (h, [c,] reads, read weightings, write
        weighting, usage, precedence, links, memory - 1e-6), each [B, .], so that zeros are
        a sequence's start."""

        def __init__(self, lay):
            super().__init__(lay)
            self.N, self.W, self.R = _dims(lay.opts)
            self.H, self.I = lay.n_hidden, lay.n_in
            self.lstm = lay.opts["controller"] == "lstm"

        def interface(self, h):
            W, R = self.W, self.R
            B = h.shape[0]
            z = h @ self.W_xi.T + self.b_xi
            at = offsets(W, R)

            def part(name, n):
                return z[:, at[name]:at[name] + n]
            return {"read_keys": part("read_keys", R * W).reshape(B, R, W),
                    "read_strengths": 1 + softplus(part("read_strengths", R))[..., None],
                    "write_key": part("write_key", W)[:, None],
                    "write_strength": 1 + softplus(part("write_strength", 1))[..., None],
                    "erase": torch.sigmoid(part("erase", W)),
                    "write_vector": part("write_vector", W),
                    "free_gates": torch.sigmoid(part("free_gates", R))[..., None],
                    "allocation_gate": torch.sigmoid(part("allocation_gate", 1)),
                    "write_gate": torch.sigmoid(part("write_gate", 1)),
                    "read_modes": torch.softmax(part("read_modes", 3 * R).reshape(B, R, 3), -1)}

        def features(self, x):
            B, T = x.shape[:2]
            N, W, R, H = self.N, self.W, self.R, self.H
            parts = list(self.h0) if self.h0 is not None else \
                [x.new_zeros(B, n) for n in ((H, H) if self.lstm else (H,))
                 + (R * W, R * N, N, N, N, N * N, N * W)]
            h = parts.pop(0)
            c = parts.pop(0) if self.lstm else None
            r, wr, ww, u, prec, link, mem = parts
            wr = wr.reshape(B, R, N)
            link = link.reshape(B, N, N)
            mem = mem.reshape(B, N, W) + MEM0
            off_diagonal = 1 - torch.eye(N, dtype=x.dtype)
            W_x, W_r = self.W_ih[:, :self.I], self.W_ih[:, self.I:]
            ux = x @ W_x.T + self.b
            fs = []
            for t in range(T):
                z = ux[:, t] + r @ W_r.T
                if self.lstm:
                    z = z + h @ self.W_hh.T
                    i_, f_, g_, o_ = z.chunk(4, 1)
                    c = torch.sigmoid(f_) * c + torch.sigmoid(i_) * torch.tanh(g_)
                    h = torch.sigmoid(o_) * torch.tanh(c)
                else:
                    h = torch.tanh(z)
                it = self.interface(h)
                u = (u + ww - u * ww) * torch.prod(1 - it["free_gates"] * wr, 1)
                cw = content(it["write_key"], it["write_strength"], mem)[:, 0]
                ga, gw = it["allocation_gate"], it["write_gate"]
                ww = gw * (ga * allocation(u) + (1 - ga) * cw)
                mem = mem * (1 - ww[:, :, None] * it["erase"][:, None]) \
                    + ww[:, :, None] * it["write_vector"][:, None]
                link = ((1 - ww[:, :, None] - ww[:, None]) * link
                        + ww[:, :, None] * prec[:, None]) * off_diagonal
                prec = (1 - ww.sum(-1, keepdim=True)) * prec + ww
                fw, bw = wr @ link.transpose(1, 2), wr @ link
                cr = content(it["read_keys"], it["read_strengths"], mem)
                pi = it["read_modes"]
                wr = pi[..., 0:1] * bw + pi[..., 1:2] * cr + pi[..., 2:3] * fw
                r = (wr @ mem).reshape(B, R * W)
                fs.append(torch.cat([h, r], 1))
            state = (h, c) if self.lstm else (h,)
            self.hT = state + (r, wr.reshape(B, R * N), ww, u, prec, link.reshape(B, N * N),
                               (mem - MEM0).reshape(B, N * W))
            return torch.stack(fs, 1)
    return DNCTwin


FAMILY = family(
    name="dnc", description="differentiable neural computer (Graves et al. 2016): lstm or "
                            "dense controller, content, allocation and temporal-link "
                            "addressing on an N x W memory",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options=OPTIONS, blocks=blocks, features=features, sizes=sizes, cfg=cfg,
    pack=pack, step=step, array=array, twin=lazy_twin(_twin_class),
    # the write vector is not squashed (the paper's interface): reads are unbounded
    feature_range=lambda opts: (-np.inf, np.inf))
