"""Fully recurrent network: every neuron sees every neuron and the inputs.

a_t = act(W_ih x_t + W_hh a_{t-1} + b); the outputs are the first n_out neurons
(as ESP and CoSyNE wire it for pole balancing), or a readout over all neurons.
"""
from numba import njit

from ..options import Option, choice
from . import array_ops as ops
from . import kernels as kn
from .blocks import readout_blocks, uniform
from .spec import family, lazy_twin

ACTIVATIONS = ("sigmoid", "tanh")


def blocks(I, H, O, opts):
    s = 1.0
    bl = [uniform("W_ih", (H, I), s), uniform("W_hh", (H, H), s)]
    if opts["bias"]:
        bl.append(uniform("b", (H,), s))
    return bl + readout_blocks(H, O, opts["readout"])


def sizes(I, H, O, opts):
    return (I + H + 1) * H + kn.readout_size(H, O, kn.READOUTS[opts["readout"]]), 2 * H


def check(I, H, O, opts):
    if opts["readout"] == "neurons" and O > H:
        raise ValueError(f"frnn: n_out={O} outputs are read from the first n_out neurons, "
                         f"so n_hidden must be >= n_out (got n_hidden={H}); "
                         "or use readout='linear'")


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    if cfg[kn.C_OPT + 1] != 0:
        off, woff = kn.pack_cell(g, w, I, H, H, H)
    else:
        off, woff = kn.pack_cell(g, w, I, H, H, 0)
        w[woff:woff + H] = 0
        woff += H
    kn.pack_readout(g, off, w, woff, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    a = kn.borrow2d(state, 0, B, H)
    z = kn.borrow2d(state, B * H, B, H)
    bo = (I + H) * H
    for b in range(B):
        for j in range(H):
            z[b, j] = w[bo + j]
    kn.mm_acc(z, x, kn.borrow2d(w, 0, I, H))
    kn.mm_acc(z, a, kn.borrow2d(w, I * H, H, H))
    if cfg[kn.C_OPT] == 0:
        for b in range(B):
            for j in range(H):
                a[b, j] = kn.sigmoid(z[b, j])
    else:
        for b in range(B):
            for j in range(H):
                a[b, j] = kn.tanh(z[b, j])
    kn.readout(w, bo + H, a, y, int(cfg[kn.C_READOUT]))


def _twin_class():
    from ..twins.layers import ElementwiseRNN

    class FRNNTwin(ElementwiseRNN):
        """a = act(W_ih x + W_hh a + b), b optional; outputs the first n_out neurons or a readout."""

        def recur(self, h):
            return h @ self.W_hh.T
    return FRNNTwin


def neuron_graph(vals, opts, H) -> dict:
    """The layer as neurons and connections, for drawings."""
    return {"input": vals["W_ih"], "recurrent": vals["W_hh"], "bias": vals.get("b")}


FAMILY = family(
    neuron_graph=neuron_graph,
    name="frnn", description="fully recurrent network; outputs are the first n_out neurons",
    readouts=("neurons", "linear", "tanh", "sigmoid", "none"),
    options={"activation": Option("sigmoid", "the neurons' nonlinearity: sigmoid or tanh",
                                  choice(*ACTIVATIONS)),
             "bias": Option(True, "whether the neurons have biases", choice(True, False))},
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes,
    cfg=lambda I, H, O, opts: [ACTIVATIONS.index(opts["activation"]), float(bool(opts["bias"]))],
    pack=pack, step=step, check=check,
    array=ops.features_then_readout(ops.added_states), twin=lazy_twin(_twin_class),
    feature_range=lambda opts: (0.0, 1.0) if opts["activation"] == "sigmoid" else (-1.0, 1.0))
