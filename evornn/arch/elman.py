"""Elman's simple recurrent network: torch.nn.RNN (tanh or ReLU) plus a readout."""
import numpy as np
from numba import njit

from ..options import Option, choice
from . import kernels as kn
from .array_ops import added_states, features_then_readout
from .blocks import readout_blocks, uniform
from .spec import TorchNN, family, torch_nn_twin

ACTIVATIONS = ("tanh", "relu")


def blocks(I, H, O, opts):
    s = 1.0 / np.sqrt(H)
    return [uniform("W_ih", (H, I), s), uniform("W_hh", (H, H), s), uniform("b", (H,), s)] \
        + readout_blocks(H, O, opts["readout"])


def sizes(I, H, O, opts):
    return (I + H + 1) * H + kn.readout_size(H, O, kn.READOUTS[opts["readout"]]), 2 * H


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    off, woff = kn.pack_cell(g, w, I, H, H, H)
    kn.pack_readout(g, off, w, woff, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    h = kn.borrow2d(state, 0, B, H)
    z = kn.borrow2d(state, B * H, B, H)
    bo = (I + H) * H
    kn.set_rows(z, w[bo:bo + H])
    kn.mm_acc(z, x, kn.borrow2d(w, 0, I, H))
    kn.mm_acc(z, h, kn.borrow2d(w, I * H, H, H))
    if cfg[kn.C_OPT] == 0:
        for b in range(B):
            for j in range(H):
                h[b, j] = kn.tanh(z[b, j])
    else:
        zero = x.dtype.type(0.0)
        for b in range(B):
            for j in range(H):
                h[b, j] = max(z[b, j], zero)
    kn.readout(w, bo + H, h, y, int(cfg[kn.C_READOUT]))


def neuron_graph(vals, opts, H) -> dict:
    """The layer as neurons and connections, for drawings."""
    return {"input": vals["W_ih"], "recurrent": vals["W_hh"], "bias": vals.get("b")}


FAMILY = family(
    neuron_graph=neuron_graph,
    name="elman", description="Elman simple recurrent network, exactly torch.nn.RNN (tanh or relu)",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options={"activation": Option("tanh", "the hidden units' nonlinearity: tanh or relu",
                                  choice(*ACTIVATIONS))},
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes,
    cfg=lambda I, H, O, opts: [ACTIVATIONS.index(opts["activation"])],
    pack=pack, step=step,
    array=features_then_readout(added_states), twin=torch_nn_twin,
    feature_range=lambda opts: (-1.0, 1.0) if opts["activation"] == "tanh" else (0.0, float("inf")),
    torch_nn=TorchNN("RNN", kwargs=lambda opts: {"nonlinearity": opts["activation"]},
                     options=lambda rnn: {"activation": rnn.nonlinearity}))
