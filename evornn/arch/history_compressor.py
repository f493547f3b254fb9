"""Neural history compressor (Schmidhuber 1992): a stack of two tanh RNNs in which the lower
one, the automatizer, learns to predict its next input, and the upper one, the chunker,
steps only at the inputs the automatizer failed to predict, with their time stamps.

The H hidden units are the automatizer's n_1 then the chunker's n_2 (option ``sizes``,
adding up to n_hidden; None: n_1 = H - H // 2, n_2 = H // 2). At step t, with x_t the
input and p_{t-1} the prediction of x_t made at the step before,

  surprise_t = (t is the sequence's first step) or max_i |x_t,i - p_{t-1},i| > threshold
  h1_t = tanh(A_ih x_t + A_hh h1_{t-1} [+ A_ch h2_{t-1} with collapse] + A_b)
  h2_t = tanh(C_ih x_t + C_t s_t + C_hh h2_{t-1} + C_b)   where surprise_t, else h2_{t-1}
  y_t  = readout([h1_t, h2_t])

where s_t = ``stamps`` x (the steps since the chunker's last step; 0 at its first), and a
chunker that does not step keeps its state bit for bit. The prediction p_t is the
automatizer's own head, P_w[:I] h1_t + P_b[:I] (``predict="head"``), or the network's
outputs y_t themselves (``predict="output"``, which needs n_out = n_in: problems whose
target is the next input). ``head_activation="sigmoid"`` squashes the head's prediction,
p_t = sigmoid(P_w[:I] h1_t + P_b[:I]): a linear head on n_1 units has rank n_1 + 1 at most,
too few for many one-hot symbols, where the sign pattern a sigmoid thresholds needs far
less. The surprise is a decision: it has no gradient.

``collapse=True`` adds what distilling the chunker into the automatizer needs: the
automatizer also reads the chunker's last state (A_ch [n_1, n_2]), and the head has n_2
more rows, q_t = P_w[I':] h1_t + P_b[I':] (I' = I with the head, else 0), a prediction
of the chunker's state h2_t. Neither q_t nor the head's rows change the outputs: they are
trained by the twin's auxiliary loss (``aux_loss``, which the gradient trainer adds): the
head's squared error against the next input and q_t's against the chunker's state.

The family implements ``levels=2`` only (one automatizer, one chunker). Each sequence's
state holds h, the prediction p_{t-1}, the chunker's step counter and a started flag, so
stepping, episodes and resumed runs see the same surprises as a whole sequence.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..options import Option, boolean, choice, non_negative, rule
from . import array_ops as ops
from . import kernels as kn
from .blocks import readout_blocks, uniform
from .spec import family, lazy_twin

NAME = "history_compressor"
C_N1, C_HEAD, C_THRESHOLD, C_STAMPS = 0, 1, 2, 3     # cfg[C_OPT + k]


def level_sizes(H: int, opts: dict) -> list[int]:
    """The automatizer's and the chunker's units."""
    s = opts["sizes"]
    return [H - H // 2, H // 2] if s is None else [int(v) for v in s]


def head_rows(I: int, H: int, opts: dict) -> int:
    """Rows of the prediction head: I for the next input (predict='head'), n_2 more for the
    chunker's state (collapse)."""
    n2 = level_sizes(H, opts)[1]
    return (I if opts["predict"] == "head" else 0) + (n2 if opts["collapse"] else 0)


def _sizes_ok(v) -> bool:
    if v is None:
        return True
    vals = list(v)
    return len(vals) == 2 and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                                  and a >= 1 for a in vals)


def check(I, H, O, opts):
    if opts["sizes"] is None and H < 2:
        raise ValueError(f"{NAME}: n_hidden={H} cannot hold two levels; it needs at least 2 units "
                         "(one for the automatizer, one for the chunker)")
    n = level_sizes(H, opts)
    if sum(n) != H:
        raise ValueError(f"{NAME}: option sizes={opts['sizes']!r} has {sum(n)} units in all but "
                         f"n_hidden={H}; n_hidden is the total of the levels' sizes (--hidden {sum(n)})")
    if opts["predict"] == "output" and opts["head_activation"] != "linear":
        raise ValueError(f"{NAME}: head_activation={opts['head_activation']!r} squashes the head, "
                         "which predict='output' does not have; use predict='head' or "
                         "head_activation='linear'")
    if opts["predict"] == "output" and O != I:
        raise ValueError(f"{NAME}: predict='output' takes the outputs as the prediction of the next "
                         f"input, so n_out must equal n_in; got n_in={I}, n_out={O}")


def blocks(I, H, O, opts):
    n1, n2 = level_sizes(H, opts)
    s1, s2 = 1.0 / np.sqrt(n1), 1.0 / np.sqrt(n2)
    bl = [uniform("A_ih", (n1, I), s1), uniform("A_hh", (n1, n1), s1)]
    if opts["collapse"]:
        bl.append(uniform("A_ch", (n1, n2), s1))
    bl += [uniform("A_b", (n1,), s1), uniform("C_ih", (n2, I), s2), uniform("C_t", (n2,), s2),
           uniform("C_hh", (n2, n2), s2), uniform("C_b", (n2,), s2)]
    R = head_rows(I, H, opts)
    if R:
        bl += [uniform("P_w", (R, n1), s1), uniform("P_b", (R,), s1)]
    return bl + readout_blocks(H, O, opts["readout"])


def sizes(I, H, O, opts):
    n1, n2 = level_sizes(H, opts)
    head = (n1 + 1) * I if opts["predict"] == "head" else 0
    packed = (I + H + 1) * H + n2 + head + kn.readout_size(H, O, kn.READOUTS[opts["readout"]])
    # state: h, the sums z, the prediction p [I], the chunker's counter, started, surprise
    return packed, 2 * H + I + 3


def cfg(I, H, O, opts):
    head = 0 if opts["predict"] != "head" else (2 if opts["head_activation"] == "sigmoid" else 1)
    return [level_sizes(H, opts)[0], head, float(opts["threshold"]), float(opts["stamps"])]


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    # packed: W_x^T [I, H] (both levels' input weights), W_h^T [H, H] (zero where the chunker
    # would read the automatizer, and where the automatizer reads the chunker without collapse),
    # b [H], C_t [n2], the head's first I rows [I, n1] and biases [I] (predict='head'), readout
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    n1 = int(cfg[kn.C_OPT + C_N1])
    head = cfg[kn.C_OPT + C_HEAD] != 0
    n2 = H - n1
    collapse = int(fixed[0]) != 0
    R = int(fixed[1])
    Wx = kn.view2d(w, 0, I, H)
    Wh = kn.view2d(w, I * H, H, H)
    Wh[:] = 0
    ob = (I + H) * H
    off = 0
    for j in range(n1):                     # A_ih [n1, I]
        for k in range(I):
            Wx[k, j] = g[off + j * I + k]
    off += n1 * I
    for j in range(n1):                     # A_hh [n1, n1]
        for k in range(n1):
            Wh[k, j] = g[off + j * n1 + k]
    off += n1 * n1
    if collapse:                            # A_ch [n1, n2]
        for j in range(n1):
            for k in range(n2):
                Wh[n1 + k, j] = g[off + j * n2 + k]
        off += n1 * n2
    for j in range(n1):
        w[ob + j] = g[off + j]
    off += n1
    for j in range(n2):                     # C_ih [n2, I]
        for k in range(I):
            Wx[k, n1 + j] = g[off + j * I + k]
    off += n2 * I
    ot = ob + H
    for j in range(n2):                     # C_t [n2]
        w[ot + j] = g[off + j]
    off += n2
    for j in range(n2):                     # C_hh [n2, n2]
        for k in range(n2):
            Wh[n1 + k, n1 + j] = g[off + j * n2 + k]
    off += n2 * n2
    for j in range(n2):
        w[ob + n1 + j] = g[off + j]
    off += n2
    op = ot + n2
    if R > 0:
        if head:                            # the rows that predict the input: P_w[:I], P_b[:I]
            for i in range(I * n1):
                w[op + i] = g[off + i]
            for i in range(I):
                w[op + I * n1 + i] = g[off + R * n1 + i]
            op += I * n1 + I
        off += R * n1 + R
    kn.pack_readout(g, off, w, op, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    n1 = int(cfg[kn.C_OPT + C_N1])
    head = cfg[kn.C_OPT + C_HEAD] != 0
    squash = cfg[kn.C_OPT + C_HEAD] == 2
    thr = cfg[kn.C_OPT + C_THRESHOLD]
    scale = cfg[kn.C_OPT + C_STAMPS]
    n2 = H - n1
    h = kn.view2d(state, 0, B, H)
    z = kn.view2d(state, B * H, B, H)
    p = kn.view2d(state, 2 * B * H, B, I)
    flags = kn.view2d(state, 2 * B * H + B * I, B, 3)      # counter, started, surprise
    for b in range(B):
        sur = flags[b, 1] == 0
        if sur:
            flags[b, 0] = 0
        else:
            flags[b, 0] += 1
            for i in range(I):
                d = x[b, i] - p[b, i]
                if d > thr or -d > thr:
                    sur = True
        flags[b, 1] = 1
        flags[b, 2] = 1 if sur else 0
    ob = (I + H) * H
    ot = ob + H
    kn.set_rows(z, w[ob:ob + H])
    kn.mm_acc(z, x, kn.view2d(w, 0, I, H))
    kn.mm_acc(z, h, kn.view2d(w, I * H, H, H))
    for b in range(B):
        for j in range(n1):
            h[b, j] = kn.tanh(z[b, j])
        if flags[b, 2] != 0:
            s = scale * flags[b, 0]
            for j in range(n2):
                h[b, n1 + j] = kn.tanh(z[b, n1 + j] + s * w[ot + j])
            flags[b, 0] = 0
    op = ot + n2
    if head:
        wp = kn.view2d(w, op, I, n1)
        for b in range(B):
            for i in range(I):
                s = w[op + I * n1 + i]
                for k in range(n1):
                    s += h[b, k] * wp[i, k]
                p[b, i] = kn.sigmoid(s) if squash else s
        op += I * n1 + I
    kn.readout(w, op, h, y, int(cfg[kn.C_READOUT]))
    if not head:
        for b in range(B):
            for i in range(I):
                p[b, i] = y[b, i]


def fixed(I, H, O, opts, rng):
    """Whether the automatizer reads the chunker (collapse), and the head's rows (what
    ``pack`` reads; not evolved)."""
    return np.asarray([1.0 if opts["collapse"] else 0.0, head_rows(I, H, opts)], dtype=float)


class _Np(ops.Ops):
    """array_ops.Ops and what the shared unroll needs beyond it, in NumPy or CuPy."""

    def any_last(self, m):
        return m.any(axis=-1, keepdims=True)

    def zeros_of(self, shape, like):
        return self.xp.zeros(shape, like.dtype)

    def detach(self, a):
        return a


def recurrent(k, w, n1: int, n2: int, collapse: bool):
    """The whole recurrent matrix [..., H, H] from the blocks: zero where the chunker would
    read the automatizer, and where the automatizer reads the chunker without collapse."""
    lead = tuple(w["A_hh"].shape[:-2])
    A_ch = w["A_ch"] if collapse else k.zeros_of(lead + (n1, n2), w["A_hh"])
    return k.cat([k.cat([w["A_hh"], A_ch], -1),
                  k.cat([k.zeros_of(lead + (n2, n1), w["A_hh"]), w["C_hh"]], -1)], -2)


def unroll(k, X, U, Wh, C_t, n1, opts, predict, state=None):
    """Features [..., B, T, H] and the final state (h, p, counter, started) of the equations
    above, in the array module of ``k`` (NumPy or CuPy over a population, torch for the
    twin). X [..., B, T, I]: the inputs; U [..., B, T, H]: their projections with the biases;
    Wh: ``recurrent``; predict(h) -> the prediction of the next input, without gradient."""
    T, I = X.shape[-2], X.shape[-1]
    thr, scale = float(opts["threshold"]), float(opts["stamps"])
    if state is None:
        lead = tuple(U.shape[:-2])
        h = k.zeros_of(lead + (U.shape[-1],), U)
        p = k.zeros_of(lead + (I,), U)
        cnt, seen = k.zeros_of(lead + (1,), U), k.zeros_of(lead + (1,), U)
    else:
        h, p, cnt, seen = state
    WhT = k.swap(Wh)
    feats = []
    for t in range(T):
        x = X[..., t, :]
        z = U[..., t, :] + h @ WhT
        h1 = k.tanh(z[..., :n1])
        if t == 0 and state is None:           # every sequence's first step: all surprised
            h2 = k.tanh(z[..., n1:])
            seen = seen + 1
        else:
            new = seen == 0
            sur = new | k.any_last(abs(x - p) > thr)
            cnt = k.where(new, cnt * 0, cnt + 1)
            h2 = k.where(sur, k.tanh(z[..., n1:] + (scale * cnt) * C_t), h[..., n1:])
            cnt = k.where(sur, cnt * 0, cnt)
            seen = seen * 0 + 1
        h = k.cat([h1, h2], -1)
        p = predict(h)
        feats.append(h)
    return k.stack(feats, -2), (h, p, cnt, seen)


def _array(layer, G, X, xp):
    w = ops.weights(layer, G, xp)
    k, o = _Np(xp), layer.opts
    n1, n2 = level_sizes(layer.n_hidden, o)
    I = X.shape[-1]
    Wx = xp.concatenate([w["A_ih"], w["C_ih"]], 1)                     # [P, H, I]
    b = xp.concatenate([w["A_b"], w["C_b"]], 1)
    U = X @ Wx.transpose(0, 2, 1)[:, None] + b[:, None, None]         # [P, B, T, H]
    Wh = recurrent(k, w, n1, n2, o["collapse"])
    if o["predict"] == "head":
        PwT, Pb = w["P_w"][:, :I].transpose(0, 2, 1), w["P_b"][:, None, :I]

        def predict(h):
            q = h[..., :n1] @ PwT + Pb
            return ops.sigmoid(xp, q) if o["head_activation"] == "sigmoid" else q
    else:
        def predict(h):
            return ops.readout(xp, w, h[:, :, None], layer)[:, :, 0, :I]
    feats = unroll(k, X, U, Wh, w["C_t"][:, None], n1, o, predict)[0]
    return ops.readout(xp, w, feats, layer)


def _twin_class():
    import torch

    from ..twins.layers import BlockModule, TorchOps

    class _T(TorchOps):
        any_last = staticmethod(lambda m: m.any(-1, keepdim=True))

        @staticmethod
        def zeros_of(shape, like):
            return like.new_zeros(shape)

    class HistoryCompressorTwin(BlockModule):
        """Automatizer and chunker; state (h [B, H], prediction [B, I], counter [B, 1],
        started [B, 1]). ``aux_loss``: the head's losses of the last call (None without a head)."""

        def __init__(self, lay):
            super().__init__(lay)
            self.opts, self.n_in = lay.opts, lay.n_in
            self.n1, self.n2 = level_sizes(lay.n_hidden, lay.opts)
            self.aux_loss = None

        def _predict(self, h):
            with torch.no_grad():
                if self.opts["predict"] == "head":
                    I = self.n_in
                    return self._squash(h[..., :self.n1] @ self.P_w[:I].T + self.P_b[:I])
                return self.readout(h)[..., :self.n_in]

        def _squash(self, q):
            return torch.sigmoid(q) if self.opts["head_activation"] == "sigmoid" else q

        def features(self, x):
            w = {n: getattr(self, n) for n in self.block_names}
            U = x @ torch.cat([self.A_ih, self.C_ih], 0).T + torch.cat([self.A_b, self.C_b])
            Wh = recurrent(_T, w, self.n1, self.n2, self.opts["collapse"])
            feats, self.hT = unroll(_T, x, U, Wh, self.C_t, self.n1, self.opts, self._predict,
                                    self.h0)
            self.aux_loss = self._aux(x, feats)
            return feats

        def _aux(self, x, feats):
            """Mean squared error of the head: its rows against the next input (predict='head';
            squashed with head_activation='sigmoid'), and against the chunker's state (collapse,
            the state as a constant target)."""
            if "P_w" not in self.block_names:
                return None
            I, terms = self.n_in, []
            q = feats[..., :self.n1] @ self.P_w.T + self.P_b
            if self.opts["predict"] == "head" and x.shape[1] > 1:
                terms.append(((self._squash(q[:, :-1, :I]) - x[:, 1:]) ** 2).mean())
            if self.opts["collapse"]:
                terms.append(((q[..., -self.n2:] - feats[..., self.n1:].detach()) ** 2).mean())
            return sum(terms) if terms else None
    return HistoryCompressorTwin


FAMILY = family(
    name=NAME, description="neural history compressor (Schmidhuber 1992): an automatizer predicts "
                           "its next input; a chunker steps only at its failures, with time stamps",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options={
        "levels": Option(2, "levels of the hierarchy (2: an automatizer and a chunker, the only "
                            "one implemented)",
                         rule(lambda v: v == 2 and not isinstance(v, bool),
                              "must be 2 (an automatizer and a chunker): deeper stacks of "
                              "chunkers are not implemented", got=False)),
        "sizes": Option(None, "units of the automatizer and of the chunker, adding up to n_hidden "
                              "(None: n_hidden - n_hidden // 2 and n_hidden // 2)",
                        rule(_sizes_ok, "must be None or two integers >= 1 (automatizer, "
                                        "chunker)", got=False)),
        "predict": Option("head", "what predicts the next input: the automatizer's own head, or "
                                  "the outputs (n_out = n_in)", choice("head", "output")),
        "head_activation": Option("linear", "the head's prediction of the next input: linear, "
                                            "or squashed by a sigmoid (predict='head' only)",
                                  choice("linear", "sigmoid")),
        "threshold": Option(0.5, "an input is a surprise where some channel differs from its "
                                 "prediction by more than this", non_negative),
        "stamps": Option(0.1, "scale of the time stamp the chunker reads: the steps since its "
                              "last step times this (0: no stamps)", non_negative),
        "collapse": Option(False, "the automatizer reads the chunker's state, and its head "
                                  "predicts that state (trained by the auxiliary loss)", boolean),
    },
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes, cfg=cfg, fixed=fixed,
    check=check, pack=pack, step=step, array=_array, twin=lazy_twin(_twin_class))
