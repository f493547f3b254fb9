"""LSTM with forget gate: torch.nn.LSTM's equations and gate order (i, f, g, o)."""
from dataclasses import replace

import numpy as np
from numba import njit

from ..options import Option, finite
from . import array_ops as ops
from . import kernels as kn
from .blocks import readout_blocks, uniform
from .kernels import _C, _HALF32, _ONE32, _P0, _P1, _P2, _P3, _P4, _Q1, _Q2, _Q3, _Q4
from .spec import TorchNN, family, torch_nn_twin


def blocks(I, H, O, opts):
    s = 1.0 / np.sqrt(H)
    # forget_bias shifts the forget gates' initial biases (Gers et al. 2000; Jozefowicz et
    # al. 2015 recommend 1): the cell then starts out remembering instead of halving its
    # content every step; a negative input_bias starts the input gates nearly shut, so that
    # the cells do not fill with every step's input before the gates learn when to open
    # (Hochreiter and Schmidhuber 1997 bias them -3 and -6 on the adding problem)
    shift = ((float(opts["input_bias"]),) * H + (float(opts["forget_bias"]),) * H
             + (0.0,) * (2 * H))
    b = uniform("b", (4 * H,), s)
    if opts["forget_bias"] or opts["input_bias"]:
        b = replace(b, shift=shift)
    return [uniform("W_ih", (4 * H, I), s), uniform("W_hh", (4 * H, H), s), b] \
        + readout_blocks(H, O, opts["readout"])


def features(I, H, opts):
    return H


def sizes(I, H, O, opts):
    packed = (I + H + 1) * 4 * H + kn.readout_size(H, O, kn.READOUTS[opts["readout"]])
    return packed, 6 * H          # state: h, c, gates (4H)


def cfg(I, H, O, opts):
    return []


@njit(**kn.JIT)
def _gates_exact(z, c, h):
    H = c.shape[1]
    for b in range(c.shape[0]):
        for j in range(H):
            cn = kn.sigmoid(z[b, H + j]) * c[b, j] + kn.sigmoid(z[b, j]) * kn.tanh(z[b, 2 * H + j])
            c[b, j] = cn
            h[b, j] = kn.sigmoid(z[b, 3 * H + j]) * kn.tanh(cn)


# Only FMA contraction here: with reassoc/arcp the gate loop gave results that differed
# by an ulp between a cold compile and a cache load (tests/test_determinism.py).
_GATES_JIT = {**kn.JIT, "fastmath": {"contract"}}


@njit(**_GATES_JIT)
def _gates_fast32(z, c, h):
    # Five activations with two divisions instead of five (1.8x faster, measured).
    # Each tanh is the rational n/q of kernels.tanh; sigmoid(x) = (q + n) / (2q) with
    # n/q = tanh(x/2); c' = f c + i g and h = o tanh(c') share their denominators.
    # Written out in one loop: any call inside it stops LLVM from vectorizing.
    H = c.shape[1]
    for b in range(c.shape[0]):
        for j in range(H):
            xi = _HALF32 * z[b, j]
            xf = _HALF32 * z[b, H + j]
            xg = z[b, 2 * H + j]
            xo = _HALF32 * z[b, 3 * H + j]
            if xi > _C:
                xi = _C
            if xi < -_C:
                xi = -_C
            if xf > _C:
                xf = _C
            if xf < -_C:
                xf = -_C
            if xg > _C:
                xg = _C
            if xg < -_C:
                xg = -_C
            if xo > _C:
                xo = _C
            if xo < -_C:
                xo = -_C
            si, sf, sg, so = xi * xi, xf * xf, xg * xg, xo * xo
            ni = xi * ((((_P4 * si + _P3) * si + _P2) * si + _P1) * si + _P0)
            di = (((_Q4 * si + _Q3) * si + _Q2) * si + _Q1) * si + _ONE32
            nf = xf * ((((_P4 * sf + _P3) * sf + _P2) * sf + _P1) * sf + _P0)
            df = (((_Q4 * sf + _Q3) * sf + _Q2) * sf + _Q1) * sf + _ONE32
            ng = xg * ((((_P4 * sg + _P3) * sg + _P2) * sg + _P1) * sg + _P0)
            dg = (((_Q4 * sg + _Q3) * sg + _Q2) * sg + _Q1) * sg + _ONE32
            no = xo * ((((_P4 * so + _P3) * so + _P2) * so + _P1) * so + _P0)
            do = (((_Q4 * so + _Q3) * so + _Q2) * so + _Q1) * so + _ONE32
            dig = di * dg
            cn = (_HALF32 * (df + nf) * c[b, j] * dig + _HALF32 * (di + ni) * ng * df) \
                / (df * dig)
            xc = cn
            if xc > _C:
                xc = _C
            if xc < -_C:
                xc = -_C
            sc = xc * xc
            nc = xc * ((((_P4 * sc + _P3) * sc + _P2) * sc + _P1) * sc + _P0)
            dc = (((_Q4 * sc + _Q3) * sc + _Q2) * sc + _Q1) * sc + _ONE32
            c[b, j] = cn
            h[b, j] = _HALF32 * (do + no) * nc / (do * dc)

@njit(**kn.JIT)
def gates(z, c, h):
    """c, h <- the LSTM cell update from gate pre-activations z[B, 4H] (i, f, g, o)."""
    if z.itemsize == 4:          # float32: a compile-time constant, the branch folds away
        _gates_fast32(z, c, h)
    else:
        _gates_exact(z, c, h)


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    off, woff = kn.pack_cell(g, w, I, H, 4 * H, 4 * H)
    kn.pack_readout(g, off, w, woff, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    M = 4 * H
    h = kn.view2d(state, 0, B, H)
    c = kn.view2d(state, B * H, B, H)
    z = kn.view2d(state, 2 * B * H, B, M)
    kn.set_rows(z, w[(I + H) * M:(I + H + 1) * M])
    kn.mm_acc(z, x, kn.view2d(w, 0, I, M))
    kn.mm_acc(z, h, kn.view2d(w, I * M, H, M))
    gates(z, c, h)
    kn.readout(w, (I + H + 1) * M, h, y, int(cfg[kn.C_READOUT]))


def _cell(xp):
    def lstm(xi, xf, xg, xo, hi, hf, hg, ho, c):
        c = ops.sigmoid(xp, xf + hf) * c + ops.sigmoid(xp, xi + hi) * xp.tanh(xg + hg)
        return c, ops.sigmoid(xp, xo + ho) * xp.tanh(c)
    return lstm


def array(layer, G, X, xp):
    """The layer over a population [P, ...] as batched array operations in module xp."""
    w = ops.weights(layer, G, xp)
    H = layer.n_hidden
    P, B, T = w["W_ih"].shape[0], X.shape[1], X.shape[2]
    cell = ops.fused(xp, "lstm", _cell)
    WhhT = xp.ascontiguousarray(w["W_hh"].transpose(0, 2, 1))
    h = xp.zeros((P, B, H), X.dtype)
    c = xp.zeros_like(h)
    feats = xp.empty((P, B, T, H), X.dtype)
    for t, x in enumerate(ops.input_steps(X, w["W_ih"], w["b"], xp)):
        hw = h @ WhhT
        c, h = cell(*(x[..., k * H:(k + 1) * H] for k in range(4)),
                    *(hw[..., k * H:(k + 1) * H] for k in range(4)), c)
        feats[:, :, t] = h
    return ops.readout(xp, w, feats, layer)


FAMILY = family(
    name="lstm", description="LSTM with forget gate, exactly torch.nn.LSTM (gates i, f, g, o)",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options={"forget_bias": Option(0.0, "initial bias of the forget gates (1-2 keeps memory open "
                                        "at the start)", finite),
             "input_bias": Option(0.0, "initial bias of the input gates (negative: shut at the "
                                       "start)", finite)},
    blocks=blocks, features=features, sizes=sizes, cfg=cfg, pack=pack, step=step,
    array=array, twin=torch_nn_twin, torch_nn=TorchNN("LSTM"))
