"""GRU: torch.nn.GRU's equations and gate order (r, z, n).

The biases of r and z from torch's two bias vectors add up, so the genome keeps one
``b_ih`` (3H) plus ``b_hn`` (H), the hidden bias that sits inside ``r * (...)``.
"""
import numpy as np
from numba import njit

from .blocks import readout_blocks, uniform
from .kernels import (
    C_HID,
    C_IN,
    C_OUT,
    C_READOUT,
    JIT,
    READOUTS,
    mm_acc,
    pack_cell,
    pack_readout,
    readout,
    readout_size,
    set_rows,
    sigmoid,
    tanh,
    view2d,
)
from .spec import Family


def blocks(I, H, O, opts):
    s = 1.0 / np.sqrt(H)
    return [uniform("W_ih", (3 * H, I), s), uniform("W_hh", (3 * H, H), s),
            uniform("b_ih", (3 * H,), s), uniform("b_hn", (H,), s)] \
        + readout_blocks(H, O, opts["readout"])


def sizes(I, H, O, opts):
    return (I + H + 1) * 3 * H + H + readout_size(H, O, READOUTS[opts["readout"]]), 7 * H


@njit(**JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[C_IN]), int(cfg[C_HID]), int(cfg[C_OUT])
    off, woff = pack_cell(g, w, I, H, 3 * H, 4 * H)   # biases: b_ih then b_hn
    pack_readout(g, off, w, woff, H, O, int(cfg[C_READOUT]))


@njit(**JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[C_HID])
    M = 3 * H
    h = view2d(state, 0, B, H)
    zi = view2d(state, B * H, B, M)
    zh = view2d(state, 4 * B * H, B, M)
    bo = (I + H) * M
    set_rows(zi, w[bo:bo + M])
    mm_acc(zi, x, view2d(w, 0, I, M))
    zh[:] = 0
    mm_acc(zh, h, view2d(w, I * M, H, M))
    one = x.dtype.type(1.0)
    for b in range(B):
        for j in range(H):
            r = sigmoid(zi[b, j] + zh[b, j])
            u = sigmoid(zi[b, H + j] + zh[b, H + j])
            n = tanh(zi[b, 2 * H + j] + r * (zh[b, 2 * H + j] + w[bo + M + j]))
            h[b, j] = (one - u) * n + u * h[b, j]
    readout(w, bo + M + H, h, y, int(cfg[C_READOUT]))


FAMILY = Family(
    name="gru", description="GRU, exactly torch.nn.GRU (gates r, z, n)",
    options={"readout": "linear"}, readouts=("linear", "tanh", "sigmoid", "none"),
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes, cfg=lambda I, H, O, opts: [],
    pack=pack, step=step)
