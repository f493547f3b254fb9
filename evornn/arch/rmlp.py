"""Recurrent multilayer perceptron (Puskorius and Feldkamp 1994): feed-forward tanh layers
in cascade, each with recurrent connections among its own units.

With layer sizes n_1..n_L (option ``layers``; None: one layer of n_hidden units) and
h_0(t) = x_t, each step runs the layers bottom to top,

  h_l(t) = tanh(W_ih,l h_{l-1}(t) + W_hh,l h_l(t-1) + b_l)

so a layer sees the layer below at this step and itself at the last one; the readout
sees the top layer h_L(t). n_hidden is the total of the layer sizes (the units a
sequence's state holds); ``layers`` that do not add up to it are refused. Blocks per
layer l = 0..L-1: ``W_ih_l`` [n_l, n_{l-1}] (n_{-1} = n_in), ``W_hh_l`` [n_l, n_l],
``b_l`` [n_l].
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..options import Option, rule
from . import array_ops as ops
from . import kernels as kn
from .blocks import readout_blocks, uniform
from .spec import family, lazy_twin


def layer_sizes(H: int, opts: dict) -> list[int]:
    """The hidden layers' sizes, bottom first."""
    return [H] if opts["layers"] is None else [int(v) for v in opts["layers"]]


def _layers_ok(v) -> bool:
    if v is None:
        return True
    vals = list(v)
    return len(vals) >= 1 and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                                  and a >= 1 for a in vals)


def check(I, H, O, opts):
    n = layer_sizes(H, opts)
    if sum(n) != H:
        raise ValueError(f"rmlp: option layers={opts['layers']!r} has {sum(n)} units in all but "
                         f"n_hidden={H}; n_hidden is the total of the layer sizes (--hidden {sum(n)})")


def blocks(I, H, O, opts):
    bl, K = [], I
    for i, n in enumerate(layer_sizes(H, opts)):
        s = 1.0 / np.sqrt(n)
        bl += [uniform(f"W_ih_{i}", (n, K), s), uniform(f"W_hh_{i}", (n, n), s),
               uniform(f"b_{i}", (n,), s)]
        K = n
    return bl + readout_blocks(K, O, opts["readout"])


def sizes(I, H, O, opts):
    n = layer_sizes(H, opts)
    cell = sum((K + m + 1) * m for K, m in zip([I] + n[:-1], n))
    return cell + kn.readout_size(n[-1], O, kn.READOUTS[opts["readout"]]), 2 * H


def features(I, H, opts):
    """The top layer's width (n_hidden while ``layers`` is not valid: its check says why)."""
    return layer_sizes(H, opts)[-1] if _layers_ok_quiet(opts["layers"]) else H


def _layers_ok_quiet(v) -> bool:
    try:
        return _layers_ok(v)
    except TypeError:
        return False


def fixed(I, H, O, opts, rng):
    """The layer sizes (what the kernel reads; not evolved)."""
    return np.asarray(layer_sizes(H, opts), dtype=float)


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, O = int(cfg[kn.C_IN]), int(cfg[kn.C_OUT])
    L = int(cfg[kn.C_OPT])
    off, woff, K = 0, 0, I
    for i in range(L):
        # layer i: W_ih^T [K, n], W_hh^T [n, n], b [n]
        n = int(fixed[i])
        off = kn.transpose_into(kn.view2d(w, woff, K, n), g, off, n, K)
        off = kn.transpose_into(kn.view2d(w, woff + K * n, n, n), g, off, n, n)
        for j in range(n):
            w[woff + (K + n) * n + j] = g[off + j]
        off += n
        woff += (K + n + 1) * n
        K = n
    kn.pack_readout(g, off, w, woff, K, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B = x.shape[0]
    H = int(cfg[kn.C_HID])
    L = int(cfg[kn.C_OPT])
    inp = x
    woff, o = 0, 0
    K = x.shape[1]
    for i in range(L):
        n = int(fixed[i])
        h = kn.view2d(state, B * o, B, n)
        z = kn.view2d(state, B * (H + o), B, n)
        kn.set_rows(z, w[woff + (K + n) * n:woff + (K + n + 1) * n])
        kn.mm_acc(z, inp, kn.view2d(w, woff, K, n))
        kn.mm_acc(z, h, kn.view2d(w, woff + K * n, n, n))
        for b in range(B):
            for j in range(n):
                h[b, j] = kn.tanh(z[b, j])
        inp = h
        woff += (K + n + 1) * n
        o += n
        K = n
    kn.readout(w, woff, inp, y, int(cfg[kn.C_READOUT]))


def states(layer, w, X, xp):
    """The top layer's states [P, B, T, n_L] from zero states, as batched array operations."""
    n = layer_sizes(layer.n_hidden, layer.opts)
    P, B, T = w["W_ih_0"].shape[0], X.shape[1], X.shape[2]
    WhhT = [xp.ascontiguousarray(w[f"W_hh_{i}"].transpose(0, 2, 1)) for i in range(len(n))]
    WihT = [None] + [xp.ascontiguousarray(w[f"W_ih_{i}"].transpose(0, 2, 1))
                     for i in range(1, len(n))]
    hs = [xp.zeros((P, B, m), X.dtype) for m in n]
    feats = xp.empty((P, B, T, n[-1]), X.dtype)
    for t, u in enumerate(ops.input_steps(X, w["W_ih_0"], w["b_0"], xp)):
        for i in range(len(n)):
            if i:
                u = hs[i - 1] @ WihT[i] + w[f"b_{i}"][:, None]
            hs[i] = xp.tanh(u + hs[i] @ WhhT[i])
        feats[:, :, t] = hs[-1]
    return feats


def _twin_class():
    import torch

    from ..twins.layers import BlockModule

    class RMLPTwin(BlockModule):
        """Cascaded tanh layers, each recurrent on itself; state: each layer's h [B, n_l]."""

        def __init__(self, lay):
            super().__init__(lay)
            self.n = layer_sizes(lay.n_hidden, lay.opts)

        def features(self, x):
            B, L = x.shape[0], len(self.n)
            hs = [x.new_zeros(B, m) for m in self.n] if self.h0 is None else list(self.h0)
            u0 = x @ self.W_ih_0.T + self.b_0
            out = []
            for t in range(x.shape[1]):
                u = u0[:, t]
                for i in range(L):
                    if i:
                        u = hs[i - 1] @ getattr(self, f"W_ih_{i}").T + getattr(self, f"b_{i}")
                    hs[i] = torch.tanh(u + hs[i] @ getattr(self, f"W_hh_{i}").T)
                out.append(hs[-1])
            self.hT = tuple(hs)
            return torch.stack(out, 1)
    return RMLPTwin


FAMILY = family(
    name="rmlp", description="recurrent multilayer perceptron (Puskorius and Feldkamp): cascaded "
                             "tanh layers, each recurrent on itself",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options={"layers": Option(None, "the hidden layers' sizes, bottom first, adding up to "
                                    "n_hidden (None: one layer of n_hidden)",
                              rule(_layers_ok, "must be None or integers >= 1, one per layer",
                                   got=False))},
    blocks=blocks, features=features, sizes=sizes,
    cfg=lambda I, H, O, opts: [len(layer_sizes(H, opts))], fixed=fixed, check=check,
    pack=pack, step=step, array=ops.features_then_readout(states), twin=lazy_twin(_twin_class))
