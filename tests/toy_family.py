"""A toy architecture family defined in this one file: a leaky-integrator Elman network,
h <- (1 - a) h + a tanh(W_ih x + W_hh h + b), y = act(W_out h + b_out).

Named in EVORNN_FAMILIES it registers like a built-in family (tests/test_family_plugin.py):
kernels, array form, torch twin and a NumPy reference, all here.
"""
import numpy as np
from numba import njit

from evornn.arch import array_ops as ops
from evornn.arch import kernels as k
from evornn.arch.blocks import readout_blocks, uniform
from evornn.arch.spec import family, lazy_twin
from evornn.options import Option, between


def blocks(I, H, O, opts):
    s = 1.0 / np.sqrt(H)
    return [uniform("W_ih", (H, I), s), uniform("W_hh", (H, H), s), uniform("b", (H,), s)] \
        + readout_blocks(H, O, opts["readout"])


def sizes(I, H, O, opts):
    return (I + H + 1) * H + k.readout_size(H, O, k.READOUTS[opts["readout"]]), 2 * H


@njit(**k.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[k.C_IN]), int(cfg[k.C_HID]), int(cfg[k.C_OUT])
    off, woff = k.pack_cell(g, w, I, H, H, H)
    k.pack_readout(g, off, w, woff, H, O, int(cfg[k.C_READOUT]))


@njit(**k.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[k.C_HID])
    h = k.view2d(state, 0, B, H)
    z = k.view2d(state, B * H, B, H)
    bo = (I + H) * H
    k.set_rows(z, w[bo:bo + H])
    k.mm_acc(z, x, k.view2d(w, 0, I, H))
    k.mm_acc(z, h, k.view2d(w, I * H, H, H))
    a = x.dtype.type(cfg[k.C_OPT])
    one = x.dtype.type(1.0)
    for b in range(B):
        for j in range(H):
            h[b, j] = (one - a) * h[b, j] + a * k.tanh(z[b, j])
    k.readout(w, bo + H, h, y, int(cfg[k.C_READOUT]))


def states(layer, w, X, xp):
    H, a = layer.n_hidden, layer.opts["leak"]
    P, B, T = w["W_ih"].shape[0], X.shape[1], X.shape[2]
    WhhT = xp.ascontiguousarray(w["W_hh"].transpose(0, 2, 1))
    h = xp.zeros((P, B, H), X.dtype)
    feats = xp.empty((P, B, T, H), X.dtype)
    for t, x in enumerate(ops.input_steps(X, w["W_ih"], w["b"], xp)):
        h = (1 - a) * h + a * xp.tanh(x + h @ WhhT)
        feats[:, :, t] = h
    return feats


def _twin_class():
    import torch

    from evornn.twins.layers import BlockModule

    class ToyTwin(BlockModule):
        def __init__(self, lay):
            super().__init__(lay)
            self.a, self.H = float(lay.opts["leak"]), lay.n_hidden

        def features(self, x):
            u = x @ self.W_ih.T + self.b
            h, hs = self.start(x, self.H), []
            for t in range(x.shape[1]):
                h = (1 - self.a) * h + self.a * torch.tanh(u[:, t] + h @ self.W_hh.T)
                hs.append(h)
            self.hT = h
            return torch.stack(hs, 1)
    return ToyTwin


FAMILY = family(
    name="toy", description="toy leaky-integrator Elman network (a plugin family for the tests)",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options={"leak": Option(0.5, "leak rate a in (0, 1]", between(0.0, 1.0, "(]"))},
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes,
    cfg=lambda I, H, O, opts: [float(opts["leak"])], pack=pack, step=step,
    array=ops.features_then_readout(states), twin=lazy_twin(_twin_class))


# the independent NumPy reference of the equations above, for tests/test_reference.py
REFERENCE_DEFAULTS = {"readout": "linear", "leak": 0.5}


def reference(get, X, H, O, o, fixed):
    W_ih, W_hh, b, a = get("W_ih"), get("W_hh"), get("b"), o["leak"]
    h, hs = np.zeros((X.shape[0], H)), []
    for t in range(X.shape[1]):
        h = (1 - a) * h + a * np.tanh(X[:, t] @ W_ih.T + h @ W_hh.T + b)
        hs.append(h)
    feats = np.stack(hs, 1)
    if o["readout"] == "none":
        return feats
    z = feats @ get("W_out").T + get("b_out")
    act = {"linear": lambda v: v, "tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v))}
    return act[o["readout"]](z)
