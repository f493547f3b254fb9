"""Jordan network: hidden units see the input and context units fed from the output.

h_t = tanh(W_ih x_t + W_ch c_t + b),  y_t = act(W_out h_t + b_out),
c_{t+1} = decay * c_t + y_t  (Jordan 1986; decay 0 makes the context y_{t-1}).
"""
import numpy as np
from numba import njit

from .blocks import uniform
from .kernels import (
    C_HID,
    C_IN,
    C_OPT,
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
    tanh,
    view2d,
)
from .spec import Family, need_positive


def blocks(I, H, O, opts):
    s = 1.0 / np.sqrt(H)
    return [uniform("W_ih", (H, I), s), uniform("W_ch", (H, O), s), uniform("b", (H,), s),
            uniform("W_out", (O, H), s), uniform("b_out", (O,), s)]


def sizes(I, H, O, opts):
    return (I + O + 1) * H + readout_size(H, O, READOUTS[opts["readout"]]), O + H


def check(I, H, O, opts):
    need_positive("jordan", "context_decay", opts["context_decay"], strict=False)
    if opts["context_decay"] >= 1:
        raise ValueError(f"jordan: option context_decay={opts['context_decay']!r} must be in [0, 1)")


@njit(**JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[C_IN]), int(cfg[C_HID]), int(cfg[C_OUT])
    off, woff = pack_cell(g, w, I, O, H, H)
    pack_readout(g, off, w, woff, H, O, int(cfg[C_READOUT]))


@njit(**JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H, O = int(cfg[C_HID]), int(cfg[C_OUT])
    ctx = view2d(state, 0, B, O)
    h = view2d(state, B * O, B, H)
    bo = (I + O) * H
    set_rows(h, w[bo:bo + H])
    mm_acc(h, x, view2d(w, 0, I, H))
    mm_acc(h, ctx, view2d(w, I * H, O, H))
    for b in range(B):
        for j in range(H):
            h[b, j] = tanh(h[b, j])
    readout(w, bo + H, h, y, int(cfg[C_READOUT]))
    decay = x.dtype.type(cfg[C_OPT])
    for b in range(B):
        for o in range(O):
            ctx[b, o] = decay * ctx[b, o] + y[b, o]


FAMILY = Family(
    name="jordan", description="Jordan network: context units fed back from the output",
    options={"readout": "tanh", "context_decay": 0.0}, readouts=("tanh", "linear", "sigmoid"),
    blocks=blocks, features=lambda I, H, opts: None, sizes=sizes,
    cfg=lambda I, H, O, opts: [float(opts["context_decay"])], pack=pack, step=step, check=check)
