"""Elman's simple recurrent network: torch.nn.RNN (tanh or ReLU) plus a readout."""
import numpy as np
from numba import njit

from ..options import Option, choice
from .array_ops import added_states, features_then_readout
from .blocks import readout_blocks, uniform
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
from .spec import TorchNN, family, torch_nn_twin

ACTIVATIONS = ("tanh", "relu")


def blocks(I, H, O, opts):
    s = 1.0 / np.sqrt(H)
    return [uniform("W_ih", (H, I), s), uniform("W_hh", (H, H), s), uniform("b", (H,), s)] \
        + readout_blocks(H, O, opts["readout"])


def sizes(I, H, O, opts):
    return (I + H + 1) * H + readout_size(H, O, READOUTS[opts["readout"]]), 2 * H


@njit(**JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[C_IN]), int(cfg[C_HID]), int(cfg[C_OUT])
    off, woff = pack_cell(g, w, I, H, H, H)
    pack_readout(g, off, w, woff, H, O, int(cfg[C_READOUT]))


@njit(**JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[C_HID])
    h = view2d(state, 0, B, H)
    z = view2d(state, B * H, B, H)
    bo = (I + H) * H
    set_rows(z, w[bo:bo + H])
    mm_acc(z, x, view2d(w, 0, I, H))
    mm_acc(z, h, view2d(w, I * H, H, H))
    zero = x.dtype.type(0.0)
    if cfg[C_OPT] == 0:
        for b in range(B):
            for j in range(H):
                h[b, j] = tanh(z[b, j])
    else:
        for b in range(B):
            for j in range(H):
                h[b, j] = max(z[b, j], zero)
    readout(w, bo + H, h, y, int(cfg[C_READOUT]))


FAMILY = family(
    name="elman", description="Elman simple recurrent network, exactly torch.nn.RNN (tanh or relu)",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options={"activation": Option("tanh", "the hidden units' nonlinearity: tanh or relu",
                                  choice(*ACTIVATIONS))},
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes,
    cfg=lambda I, H, O, opts: [ACTIVATIONS.index(opts["activation"])],
    pack=pack, step=step,
    array=features_then_readout(added_states), twin=torch_nn_twin,
    torch_nn=TorchNN("RNN", kwargs=lambda opts: {"nonlinearity": opts["activation"]},
                     options=lambda rnn: {"activation": rnn.nonlinearity}))
