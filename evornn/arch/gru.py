"""GRU: torch.nn.GRU's equations and gate order (r, z, n).

The biases of r and z from torch's two bias vectors add up, so the genome keeps one
``b_ih`` (3H) plus ``b_hn`` (H), the hidden bias that sits inside ``r * (...)``.
"""
import numpy as np
from numba import njit

from . import array_ops as ops
from . import kernels as kn
from .blocks import readout_blocks, uniform
from .spec import TorchNN, family, torch_nn_twin


def blocks(I, H, O, opts):
    s = 1.0 / np.sqrt(H)
    return [uniform("W_ih", (3 * H, I), s), uniform("W_hh", (3 * H, H), s),
            uniform("b_ih", (3 * H,), s), uniform("b_hn", (H,), s)] \
        + readout_blocks(H, O, opts["readout"])


def sizes(I, H, O, opts):
    return (I + H + 1) * 3 * H + H + kn.readout_size(H, O, kn.READOUTS[opts["readout"]]), 7 * H


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    off, woff = kn.pack_cell(g, w, I, H, 3 * H, 4 * H)   # biases: b_ih then b_hn
    kn.pack_readout(g, off, w, woff, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    M = 3 * H
    h = kn.view2d(state, 0, B, H)
    zi = kn.view2d(state, B * H, B, M)
    zh = kn.view2d(state, 4 * B * H, B, M)
    bo = (I + H) * M
    kn.set_rows(zi, w[bo:bo + M])
    kn.mm_acc(zi, x, kn.view2d(w, 0, I, M))
    zh[:] = 0
    kn.mm_acc(zh, h, kn.view2d(w, I * M, H, M))
    one = x.dtype.type(1.0)
    for b in range(B):
        for j in range(H):
            r = kn.sigmoid(zi[b, j] + zh[b, j])
            u = kn.sigmoid(zi[b, H + j] + zh[b, H + j])
            n = kn.tanh(zi[b, 2 * H + j] + r * (zh[b, 2 * H + j] + w[bo + M + j]))
            h[b, j] = (one - u) * n + u * h[b, j]
    kn.readout(w, bo + M + H, h, y, int(cfg[kn.C_READOUT]))


def _cell(xp):
    def gru(xr, xz, xn, hr, hz, hn, b_hn, h):
        r = ops.sigmoid(xp, xr + hr)
        z = ops.sigmoid(xp, xz + hz)
        n = xp.tanh(xn + r * (hn + b_hn))
        return (1 - z) * n + z * h
    return gru


def array(layer, G, X, xp):
    """The layer over a population [P, ...] as batched array operations in module xp."""
    w = ops.weights(layer, G, xp)
    H = layer.n_hidden
    P, B, T = w["W_ih"].shape[0], X.shape[1], X.shape[2]
    cell = ops.fused(xp, "gru", _cell)
    WhhT = xp.ascontiguousarray(w["W_hh"].transpose(0, 2, 1))
    b_hn = w["b_hn"][:, None]
    h = xp.zeros((P, B, H), X.dtype)
    feats = xp.empty((P, B, T, H), X.dtype)
    for t, x in enumerate(ops.input_steps(X, w["W_ih"], w["b_ih"], xp)):
        hw = h @ WhhT
        h = cell(x[..., :H], x[..., H:2 * H], x[..., 2 * H:],
                 hw[..., :H], hw[..., H:2 * H], hw[..., 2 * H:], b_hn, h)
        feats[:, :, t] = h
    return ops.readout(xp, w, feats, layer)


def _torch_biases(blocks, n):
    b_hh = np.zeros(n)
    b_hh[2 * n // 3:] = blocks["b_hn"]
    return blocks["b_ih"], b_hh


def _genome_biases(b_ih, b_hh, H, grad):
    return {"b_ih": b_ih if grad else b_ih + np.concatenate([b_hh[:2 * H], np.zeros(H)]),
            "b_hn": b_hh[2 * H:]}


FAMILY = family(
    name="gru", description="GRU, exactly torch.nn.GRU (gates r, z, n)",
    readouts=("linear", "tanh", "sigmoid", "none"),
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes, cfg=lambda I, H, O, opts: [],
    pack=pack, step=step, array=array, twin=torch_nn_twin,
    torch_nn=TorchNN("GRU", biases=_torch_biases, blocks=_genome_biases))
