"""Second-order RNN (Giles et al. 1992): h_i = act(sum_jk W_ijk h_j x_k + b_i).

Products of state and input let one input symbol select a whole state transition,
the form used to learn and extract finite-state grammars.
"""
from numba import njit

from ..options import Option, choice
from . import array_ops as ops
from . import kernels as kn
from .blocks import readout_blocks, uniform
from .spec import family, lazy_twin

ACTIVATIONS = ("sigmoid", "tanh")


def blocks(I, H, O, opts):
    return [uniform("W", (H, H, I), 1.0), uniform("b", (H,), 1.0)] \
        + readout_blocks(H, O, opts["readout"])


def sizes(I, H, O, opts):
    return (H * I + 1) * H + kn.readout_size(H, O, kn.READOUTS[opts["readout"]]), 2 * H + H * I


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    K = H * I
    off = kn.transpose_into(kn.view2d(w, 0, K, H), g, 0, H, K)
    for j in range(H):
        w[K * H + j] = g[off + j]
    kn.pack_readout(g, off + H, w, (K + 1) * H, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    K = H * I
    h = kn.view2d(state, 0, B, H)
    z = kn.view2d(state, B * H, B, H)
    hx = kn.view2d(state, 2 * B * H, B, K)
    for b in range(B):
        for j in range(H):
            for k in range(I):
                hx[b, j * I + k] = h[b, j] * x[b, k]
    kn.set_rows(z, w[K * H:(K + 1) * H])
    kn.mm_acc(z, hx, kn.view2d(w, 0, K, H))
    if cfg[kn.C_OPT] == 0:
        for b in range(B):
            for j in range(H):
                h[b, j] = kn.sigmoid(z[b, j])
    else:
        for b in range(B):
            for j in range(H):
                h[b, j] = kn.tanh(z[b, j])
    kn.readout(w, (K + 1) * H, h, y, int(cfg[kn.C_READOUT]))


def states(layer, w, X, xp):
    """The layer's states [P, B, T, H] over a population, as batched array operations."""
    H = layer.n_hidden
    P, B, T, I = w["W"].shape[0], X.shape[1], X.shape[2], X.shape[3]
    Wf = w["W"].reshape(P, H, H * I)
    act = ops.act(xp, layer.opts["activation"])
    h = xp.zeros((P, B, H), X.dtype)
    feats = xp.empty((P, B, T, H), X.dtype)
    for t in range(T):
        hx = (h[..., :, None] * X[:, :, t, None, :]).reshape(P, B, H * I)
        h = act(ops.mm(hx, Wf) + w["b"][:, None])
        feats[:, :, t] = h
    return feats


def _twin_class():
    import torch

    from ..twins.layers import ACTS, BlockModule

    class SecondOrderTwin(BlockModule):
        """h_i = act(sum_jk W_ijk h_j x_k + b_i)."""

        def __init__(self, lay):
            super().__init__(lay)
            self.act, self.H = ACTS[lay.opts["activation"]], lay.n_hidden

        def features(self, x):
            B, T, I = x.shape
            Wf = self.W.reshape(self.H, self.H * I)        # the kernels' (j, k) -> j * I + k order
            h, hs = self.start(x, self.H), []
            for t in range(T):
                h = self.act((h[:, :, None] * x[:, t, None, :]).reshape(B, -1) @ Wf.T + self.b)
                hs.append(h)
            self.hT = h
            return torch.stack(hs, 1)
    return SecondOrderTwin


FAMILY = family(
    name="second_order", description="second-order RNN: weights on state x input products (Giles)",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options={"activation": Option("sigmoid", "the neurons' nonlinearity: sigmoid or tanh",
                                  choice(*ACTIVATIONS))},
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes,
    cfg=lambda I, H, O, opts: [ACTIVATIONS.index(opts["activation"])],
    pack=pack, step=step, array=ops.features_then_readout(states), twin=lazy_twin(_twin_class),
    feature_range=lambda opts: (0.0, 1.0) if opts["activation"] == "sigmoid" else (-1.0, 1.0))
