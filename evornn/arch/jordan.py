"""Jordan network: hidden units see the input and context units fed from the output.

h_t = tanh(W_ih x_t + W_ch c_t + b),  y_t = act(W_out h_t + b_out),
c_{t+1} = decay * c_t + y_t  (Jordan 1986; decay 0 makes the context y_{t-1}).
"""
import numpy as np
from numba import njit

from ..options import Option, non_negative
from . import array_ops as ops
from . import kernels as kn
from .blocks import uniform
from .spec import family, lazy_twin


def blocks(I, H, O, opts):
    s = 1.0 / np.sqrt(H)
    return [uniform("W_ih", (H, I), s), uniform("W_ch", (H, O), s), uniform("b", (H,), s),
            uniform("W_out", (O, H), s), uniform("b_out", (O,), s)]


def sizes(I, H, O, opts):
    return (I + O + 1) * H + kn.readout_size(H, O, kn.READOUTS[opts["readout"]]), O + H


def _decay(v):
    return non_negative(v) or (None if v < 1 else "must be in [0, 1)")


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    off, woff = kn.pack_cell(g, w, I, O, H, H)
    kn.pack_readout(g, off, w, woff, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H, O = int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    ctx = kn.view2d(state, 0, B, O)
    h = kn.view2d(state, B * O, B, H)
    bo = (I + O) * H
    kn.set_rows(h, w[bo:bo + H])
    kn.mm_acc(h, x, kn.view2d(w, 0, I, H))
    kn.mm_acc(h, ctx, kn.view2d(w, I * H, O, H))
    for b in range(B):
        for j in range(H):
            h[b, j] = kn.tanh(h[b, j])
    kn.readout(w, bo + H, h, y, int(cfg[kn.C_READOUT]))
    decay = x.dtype.type(cfg[kn.C_OPT])
    for b in range(B):
        for o in range(O):
            ctx[b, o] = decay * ctx[b, o] + y[b, o]


def array(layer, G, X, xp):
    """The layer's outputs [P, B, T, O] over a population: its context units read its own
    outputs, so the readout runs inside the recurrence."""
    w = ops.weights(layer, G, xp)
    o, O = layer.opts, layer.n_out
    P, B, T = w["W_ih"].shape[0], X.shape[1], X.shape[2]
    act = ops.act(xp, o["readout"])
    decay = o["context_decay"]
    ctx = xp.zeros((P, B, O), X.dtype)
    out = xp.empty((P, B, T, O), X.dtype)
    for t in range(T):
        h = xp.tanh(ops.mm(X[:, :, t], w["W_ih"]) + ops.mm(ctx, w["W_ch"]) + w["b"][:, None])
        y = act(ops.mm(h, w["W_out"]) + w["b_out"][:, None])
        ctx = decay * ctx + y
        out[:, :, t] = y
    return out


def _twin_class():
    import torch

    from ..twins.layers import BlockModule

    class JordanTwin(BlockModule):
        """h = tanh(W_ih x + W_ch c + b), y = act(W_out h + b_out), c <- decay c + y."""

        def __init__(self, lay):
            super().__init__(lay)
            self.decay = float(lay.opts["context_decay"])

        def forward(self, x):
            c = self.start(x, self.n_out)
            u = x @ self.W_ih.T + self.b
            ys = []
            for t in range(x.shape[1]):
                y = self.readout(torch.tanh(u[:, t] + c @ self.W_ch.T))
                c = self.decay * c + y
                ys.append(y)
            self.hT = c
            return torch.stack(ys, 1)
    return JordanTwin


def neuron_graph(vals, opts, H) -> dict:
    """The layer as neurons and connections, for drawings: the context is the last outputs
    fed back into the hidden neurons."""
    return {"input": vals["W_ih"], "context": vals["W_ch"], "bias": vals["b"]}


FAMILY = family(
    neuron_graph=neuron_graph,
    name="jordan", description="Jordan network: context units fed back from the output",
    readouts=("tanh", "linear", "sigmoid"),
    options={"context_decay": Option(0.0, "c <- decay c + y: 0 makes the context the last "
                                          "output; in [0, 1)", _decay)},
    blocks=blocks, features=lambda I, H, opts: None, sizes=sizes,
    cfg=lambda I, H, O, opts: [float(opts["context_decay"])], pack=pack, step=step,
    array=array, twin=lazy_twin(_twin_class),
    last_only="its context units read the network's own output")
