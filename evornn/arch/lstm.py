"""LSTM with forget gate: torch.nn.LSTM's equations and gate order (i, f, g, o)."""
import numpy as np
from numba import njit

from .blocks import readout_blocks, uniform
from .kernels import (C_HID, C_IN, C_OUT, C_READOUT, JIT, READOUTS, mm_acc, pack_readout,
                      readout, readout_size, set_rows, sigmoid, tanh, transpose_into)


def blocks(I, H, O, opts):
    s = 1.0 / np.sqrt(H)
    return [uniform("W_ih", (4 * H, I), s), uniform("W_hh", (4 * H, H), s),
            uniform("b", (4 * H,), s)] + readout_blocks(H, O, opts["readout"])


def features(I, H, opts):
    return H


def sizes(I, H, O, opts):
    packed = (I + H + 1) * 4 * H + readout_size(H, O, READOUTS[opts["readout"]])
    return packed, 6 * H          # state: h, c, gates (4H)


def cfg(I, H, O, opts):
    return []


@njit(**JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[C_IN]), int(cfg[C_HID]), int(cfg[C_OUT])
    M = 4 * H
    off = transpose_into(w[:I * M].reshape((I, M)), g, 0, M, I)
    off = transpose_into(w[I * M:(I + H) * M].reshape((H, M)), g, off, M, H)
    woff = (I + H) * M
    for j in range(M):
        w[woff + j] = g[off + j]
    pack_readout(g, off + M, w, woff + M, H, O, int(cfg[C_READOUT]))


@njit(**JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[C_HID])
    M = 4 * H
    h = state[:B * H].reshape((B, H))
    c = state[B * H:2 * B * H].reshape((B, H))
    z = state[2 * B * H:6 * B * H].reshape((B, M))
    set_rows(z, w[(I + H) * M:(I + H + 1) * M])
    mm_acc(z, x, w[:I * M].reshape((I, M)))
    mm_acc(z, h, w[I * M:(I + H) * M].reshape((H, M)))
    for b in range(B):
        for j in range(H):
            i = sigmoid(z[b, j])
            f = sigmoid(z[b, H + j])
            gg = tanh(z[b, 2 * H + j])
            o = sigmoid(z[b, 3 * H + j])
            cc = f * c[b, j] + i * gg
            c[b, j] = cc
            h[b, j] = o * tanh(cc)
    readout(w, (I + H + 1) * M, h, y, int(cfg[C_READOUT]))


from .spec import Family  # noqa: E402

FAMILY = Family(
    name="lstm", description="LSTM with forget gate, exactly torch.nn.LSTM (gates i, f, g, o)",
    options={"readout": "linear"}, readouts=("linear", "tanh", "sigmoid", "none"),
    blocks=blocks, features=features, sizes=sizes, cfg=cfg, pack=pack, step=step)
