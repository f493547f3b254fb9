"""IndRNN (Li et al. 2018): each neuron recurs only onto itself, h = act(W x + u*h + b).

The recurrent weights u are bounded to [-max_recurrent, max_recurrent] (a block bound
for optimizers, and clipped again when packed) so that long sequences stay stable.
"""
import numpy as np
from numba import njit

from ..options import Option, choice, positive
from . import array_ops as ops
from . import kernels as kn
from .blocks import readout_blocks, uniform
from .spec import family, lazy_twin

ACTIVATIONS = ("relu", "tanh")


def blocks(I, H, O, opts):
    m = float(opts["max_recurrent"])
    s = 1.0 / np.sqrt(I)
    return [uniform("W_ih", (H, I), s), uniform("u", (H,), m, bounds=(-m, m)),
            uniform("b", (H,), 0.1)] + readout_blocks(H, O, opts["readout"])


def sizes(I, H, O, opts):
    return (I + 2) * H + kn.readout_size(H, O, kn.READOUTS[opts["readout"]]), 2 * H


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    off = kn.transpose_into(kn.view2d(w, 0, I, H), g, 0, H, I)
    m = cfg[kn.C_OPT + 1]
    for j in range(H):
        w[I * H + j] = min(max(g[off + j], -m), m)
        w[I * H + H + j] = g[off + H + j]
    kn.pack_readout(g, off + 2 * H, w, (I + 2) * H, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    h = kn.view2d(state, 0, B, H)
    z = kn.view2d(state, B * H, B, H)
    kn.set_rows(z, w[I * H + H:I * H + 2 * H])
    kn.mm_acc(z, x, kn.view2d(w, 0, I, H))
    zero = x.dtype.type(0.0)
    relu = cfg[kn.C_OPT] == 0
    for b in range(B):
        for j in range(H):
            v = z[b, j] + w[I * H + j] * h[b, j]
            h[b, j] = max(v, zero) if relu else kn.tanh(v)
    kn.readout(w, (I + 2) * H, h, y, int(cfg[kn.C_READOUT]))


def _independent(f):
    def cell(x, u, h):
        return f(x + u * h)
    return cell


def states(layer, w, X, xp):
    """The layer's features [P, B, T, H] over a population, as batched array operations."""
    H, m = layer.n_hidden, layer.opts["max_recurrent"]
    a = layer.opts["activation"]
    P, B, T = w["W_ih"].shape[0], X.shape[1], X.shape[2]
    cell = ops.fused(xp, ("indrnn", a), lambda xp: _independent(ops.act(xp, a)))
    u = xp.clip(w["u"], -m, m)[:, None]
    h = xp.zeros((P, B, H), X.dtype)
    feats = xp.empty((P, B, T, H), X.dtype)
    for t, x in enumerate(ops.input_steps(X, w["W_ih"], w["b"], xp)):
        h = cell(x, u, h)
        feats[:, :, t] = h
    return feats


def _twin_class():
    import torch

    from ..twins.layers import ElementwiseRNN

    class IndRNNTwin(ElementwiseRNN):
        """h = act(W_ih x + u * h + b) with u clipped into [-max_recurrent, max_recurrent]."""

        def __init__(self, lay):
            super().__init__(lay)
            self.max_recurrent = float(lay.opts["max_recurrent"])

        def recur(self, h):
            return torch.clamp(self.u, -self.max_recurrent, self.max_recurrent) * h
    return IndRNNTwin


def neuron_graph(vals, opts, H) -> dict:
    """The layer as neurons and connections, for drawings: a self-loop a neuron, u clipped
    as the kernels clip it."""
    m = float(opts["max_recurrent"])
    return {"input": vals["W_ih"], "recurrent": np.diag(np.clip(vals["u"], -m, m)), "bias": vals["b"]}


FAMILY = family(
    neuron_graph=neuron_graph,
    name="indrnn", description="independently recurrent network (elementwise recurrence, bounded)",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options={"activation": Option("relu", "the neurons' nonlinearity: relu or tanh", choice(*ACTIVATIONS)),
             "max_recurrent": Option(1.0, "bound on the recurrent weights |u| (stability over "
                                          "long sequences)", positive)},
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes,
    cfg=lambda I, H, O, opts: [ACTIVATIONS.index(opts["activation"]), float(opts["max_recurrent"])],
    pack=pack, step=step, array=ops.features_then_readout(states), twin=lazy_twin(_twin_class),
    feature_range=lambda opts: (-1.0, 1.0) if opts["activation"] == "tanh" else (0.0, float("inf")))
