"""PixelRNN (van den Oord, Kalchbrenner and Kavukcuoglu 2016): a Row LSTM or a Diagonal BiLSTM
over a 2-D grid of binary pixels, each pixel's output a logit of p(x_p = 1 | pixels before p).

The layer keeps the sequence contract [B, T, I] -> [B, T, O]: ONE time step is one whole image
of R x C pixels (option ``image``, "R,C", default "8,8"), row-major, one binary channel, so
n_in = n_out = R * C (anything else is refused). Steps are independent images: no state
carries from one step to the next. Raster order is the pixel order: the output at pixel
p = (r, c) never depends on the input at p or at any pixel after it (tested exhaustively).

Cells are LSTMs with torch's gate order i, f, g, o over G = 4H pre-activations z:
c = sigmoid(f) c_prev + sigmoid(i) tanh(g), h = sigmoid(o) tanh(c).

variant "row" (Row LSTM): rows top to bottom; the state of row r from the state of row r - 1,

  z(r, c) = b + sum_{s=1..c} W_is[:, s-1] x(r, c-s) + sum_{t=0,1,2} W_ip[:, t] x(r-1, c+t-1)
              + sum_{t=0,1,2} W_ss[:, :, t] h(r-1, c+t-1)

with c_prev = c(r-1, c) (zero beyond the edges). The input-to-state part is a masked (mask
A) convolution: over the current row pixel c sees every pixel left of it, not itself, and
the previous row's three pixels above it (without these the last column of every row would
reach no later pixel: in a single layer a pixel enters the state only at cells after it).
The state-to-state part is the paper's width-3 convolution over the previous row's h, so the
rows above reach (r, c) through a triangle widening one column a row upward: row r - k up to
column c + k. This is the Row LSTM's triangular receptive field, as the paper says; pixels
above and further right than that are not seen. Blocks W_is [G, C - 1], W_ip [G, 3],
W_ss [G, H, 3], b [G].

variant "diagonal" (Diagonal BiLSTM): two LSTMs, each over the whole image, each pixel's
cell seeing its own pixel (a 1x1 input-to-state map) and the paper's 2x1 state-to-state
convolution along the skewed columns, i.e. the states of the two neighbours before it:

  left-to-right  z_l(r, c) = b_l + W_is_l x(r, c) + W_ss_l[..., 0] h_l(r, c-1) + W_ss_l[..., 1] h_l(r-1, c)
  right-to-left  z_r(r, c) = b_r + W_is_r x(r, c) + W_ss_r[..., 0] h_r(r, c+1) + W_ss_r[..., 1] h_r(r-1, c)

with c_prev the cell state of the first neighbour (the previous skewed column). h_l(r, c)
has seen every pixel at rows <= r and columns <= c, h_r(r, c) every pixel at rows <= r and
columns >= c. The pixel at (r, c) reads h_l(r, c-1) (the left-to-right map shifted right by
one column) and h_r(r-1, c) (the right-to-left map shifted down by one row, as in the paper):
together every pixel before it and none at or after it. Blocks W_is_l [G], W_ss_l [G, H, 2],
b_l [G], then the same with _r.

Readout: a 1x1 map shared by every pixel plus a bias per pixel (its place in the image):
logit(r, c) = W_out . f(r, c) + b_out[r C + c], with f = h(r, c) (row) or [h_l(r, c-1),
h_r(r-1, c)] (diagonal; zeros beyond the edges). W_out [F] (F = H or 2H), b_out [R C].
readout "linear" outputs the logits, "sigmoid" the probabilities p(x_p = 1 | before p).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..options import Option, choice
from . import array_ops as ops
from . import kernels as kn
from .blocks import uniform
from .spec import family, lazy_twin

VARIANTS = ("row", "diagonal")
ROW, DIAGONAL = range(2)
# cfg[C_OPT + k]
C_VARIANT, C_ROWS, C_COLS = range(3)


def image_shape(value) -> tuple[int, int]:
    """(R, C) of an ``image`` option: "R,C" (or "RxC") or a pair of integers >= 2; ValueError
    with the end of a sentence otherwise."""
    parts = value.replace("x", ",").split(",") if isinstance(value, str) else value
    try:
        r, c = (int(str(p).strip()) for p in parts)
        if r >= 2 and c >= 2 and all(float(str(p).strip()) == int(str(p).strip()) for p in parts):
            return r, c
    except (TypeError, ValueError):
        pass
    raise ValueError("must be \"R,C\": two integers >= 2 (rows, columns)")


def _check_image(value) -> str | None:
    try:
        image_shape(value)
    except ValueError as e:
        return str(e)
    return None


def io_sizes(opts: dict) -> tuple[int, int]:
    """(n_in, n_out) that the options fix: one input and one output a pixel."""
    R, C = image_shape(opts["image"])
    return R * C, R * C


def blocks(I, H, O, opts):
    R, C = image_shape(opts["image"])
    G, s = 4 * H, 1.0 / np.sqrt(H)
    if opts["variant"] == "row":
        cell = [uniform("W_is", (G, C - 1), s), uniform("W_ip", (G, 3), s),
                uniform("W_ss", (G, H, 3), s), uniform("b", (G,), s)]
        F = H
    else:
        cell = [blk for d in ("_l", "_r") for blk in (
            uniform("W_is" + d, (G,), s), uniform("W_ss" + d, (G, H, 2), s), uniform("b" + d, (G,), s))]
        F = 2 * H
    return cell + [uniform("W_out", (F,), 1.0 / np.sqrt(F)), uniform("b_out", (R * C,), 1.0)]


def sizes(I, H, O, opts):
    R, C = image_shape(opts["image"])
    G, N = 4 * H, R * C
    if opts["variant"] == "row":
        packed = G * (C + 2) + 3 * H * G + G + H + N
        return packed, 2 * N * H + G          # h and c of every pixel, the gates
    packed = 2 * (G + 2 * H * G + G) + 2 * H + N
    return packed, 4 * N * H + G              # h and c of both directions, the gates


def cfg(I, H, O, opts):
    R, C = image_shape(opts["image"])
    return [VARIANTS.index(opts["variant"]), R, C]


def check(I, H, O, opts):
    R, C = image_shape(opts["image"])
    if I != R * C or O != R * C:
        raise ValueError(f"pixelrnn: an image of {R} x {C} pixels (one binary channel) needs "
                         f"n_in = n_out = {R * C}, got n_in = {I}, n_out = {O}; set the option "
                         f"image=\"R,C\" to the image's size")


# -- kernels -----------------------------------------------------------------------------------

@njit(**kn.JIT)
def _pack_taps(g, goff, w, woff, G, H, K):
    """A genome block [G, H, K] goes to K packed [H, G] matrices (a gate row contiguous)."""
    for j in range(G):
        for k in range(H):
            for t in range(K):
                w[woff + t * H * G + k * G + j] = g[goff + (j * H + k) * K + t]
    return goff + G * H * K, woff + G * H * K


@njit(**kn.JIT)
def _copy(g, goff, w, woff, n):
    for i in range(n):
        w[woff + i] = g[goff + i]
    return goff + n, woff + n


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    H = int(cfg[kn.C_HID])
    R, C = int(cfg[kn.C_OPT + C_ROWS]), int(cfg[kn.C_OPT + C_COLS])
    G = 4 * H
    if int(cfg[kn.C_OPT + C_VARIANT]) == ROW:
        # W_is [G, C-1] -> [C-1, G], W_ip [G, 3] -> [3, G]
        kn.transpose_into(kn.view2d(w, 0, C - 1, G), g, 0, G, C - 1)
        kn.transpose_into(kn.view2d(w, G * (C - 1), 3, G), g, G * (C - 1), G, 3)
        goff, woff = _pack_taps(g, G * (C + 2), w, G * (C + 2), G, H, 3)
        goff, woff = _copy(g, goff, w, woff, G + H + R * C)
    else:
        goff, woff = 0, 0
        for _ in range(2):
            goff, woff = _copy(g, goff, w, woff, G)
            goff, woff = _pack_taps(g, goff, w, woff, G, H, 2)
            goff, woff = _copy(g, goff, w, woff, G)
        goff, woff = _copy(g, goff, w, woff, 2 * H + R * C)


@njit(**kn.JIT)
def _add_state(z, w, off, hv, G, H):
    """z += W^T hv for a packed [H, G] matrix at off."""
    for k in range(H):
        a = hv[k]
        for j in range(G):
            z[j] += w[off + k * G + j] * a


@njit(**kn.JIT)
def _cell(z, c_prev, h_out, c_out, H):
    for k in range(H):
        c = kn.sigmoid(z[H + k]) * c_prev[k] + kn.sigmoid(z[k]) * kn.tanh(z[2 * H + k])
        c_out[k] = c
        h_out[k] = kn.sigmoid(z[3 * H + k]) * kn.tanh(c)


@njit(**kn.JIT)
def _row_image(w, x, y, hm, cm, z, zero_h, R, C, H):
    """One image x [R C] -> logits y [R C] by the Row LSTM; hm, cm [R C, H] its maps."""
    G = 4 * H
    ip = G * (C - 1)
    ss = ip + 3 * G
    bo = ss + 3 * H * G
    oo = bo + G
    for r in range(R):
        for c in range(C):
            for j in range(G):
                z[j] = w[bo + j]
            for s in range(1, c + 1):
                a = x[r * C + c - s]
                to = (s - 1) * G
                for j in range(G):
                    z[j] += w[to + j] * a
            if r > 0:
                for t in range(3):
                    cc = c + t - 1
                    if cc >= 0 and cc < C:
                        a = x[(r - 1) * C + cc]
                        for j in range(G):
                            z[j] += w[ip + t * G + j] * a
                        _add_state(z, w, ss + t * H * G, hm[(r - 1) * C + cc], G, H)
            p = r * C + c
            _cell(z, cm[p - C] if r > 0 else zero_h, hm[p], cm[p], H)
            s_ = w[oo + H + p]
            for k in range(H):
                s_ += w[oo + k] * hm[p, k]
            y[p] = s_


@njit(**kn.JIT)
def _diagonal_dir(w, off, x, hm, cm, z, zero_h, R, C, H, step, rows):
    """One direction of the Diagonal BiLSTM over rows 0..rows-1: step +1 left to right (the
    first neighbour (r, c-1)), -1 right to left (the first neighbour (r, c+1))."""
    G = 4 * H
    so, bo = off + G, off + G + 2 * H * G
    for r in range(rows):
        for i in range(C):
            c = i if step == 1 else C - 1 - i
            p = r * C + c
            a = x[p]
            for j in range(G):
                z[j] = w[bo + j] + w[off + j] * a
            if i > 0:
                _add_state(z, w, so, hm[p - step], G, H)
            if r > 0:
                _add_state(z, w, so + H * G, hm[p - C], G, H)
            _cell(z, cm[p - step] if i > 0 else zero_h, hm[p], cm[p], H)


@njit(**kn.JIT)
def _diagonal_image(w, x, y, hl, cl, hr, cr, z, zero_h, R, C, H):
    G = 4 * H
    D = G + 2 * H * G + G
    _diagonal_dir(w, 0, x, hl, cl, z, zero_h, R, C, H, 1, R)
    _diagonal_dir(w, D, x, hr, cr, z, zero_h, R, C, H, -1, R - 1)   # the last row is never read
    oo = 2 * D
    for r in range(R):
        for c in range(C):
            p = r * C + c
            s_ = w[oo + 2 * H + p]
            if c > 0:
                for k in range(H):
                    s_ += w[oo + k] * hl[p - 1, k]
            if r > 0:
                for k in range(H):
                    s_ += w[oo + H + k] * hr[p - C, k]
            y[p] = s_


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B = x.shape[0]
    H = int(cfg[kn.C_HID])
    R, C = int(cfg[kn.C_OPT + C_ROWS]), int(cfg[kn.C_OPT + C_COLS])
    N, G = R * C, 4 * H
    row = int(cfg[kn.C_OPT + C_VARIANT]) == ROW
    per = (2 if row else 4) * N * H + G
    zero_h = np.zeros(H, x.dtype)
    for b in range(B):
        o = b * per
        z = state[o:o + G]
        o += G
        if row:
            _row_image(w, x[b], y[b], kn.view2d(state, o, N, H), kn.view2d(state, o + N * H, N, H),
                       z, zero_h, R, C, H)
        else:
            _diagonal_image(w, x[b], y[b], kn.view2d(state, o, N, H),
                            kn.view2d(state, o + N * H, N, H), kn.view2d(state, o + 2 * N * H, N, H),
                            kn.view2d(state, o + 3 * N * H, N, H), z, zero_h, R, C, H)
    if int(cfg[kn.C_READOUT]) == kn.RO_SIGMOID:
        for b in range(B):
            for p in range(N):
                y[b, p] = kn.sigmoid(y[b, p])


# -- array form and torch twin: one function over an array module's operations ------------------

def _lstm(f, z, c_prev):
    H = z.shape[-1] // 4
    c = f.sigmoid(z[..., H:2 * H]) * c_prev + f.sigmoid(z[..., :H]) * f.tanh(z[..., 2 * H:3 * H])
    return f.sigmoid(z[..., 3 * H:]) * f.tanh(c), c


def _down(f, a, axis):
    """a shifted one place along axis (-3 rows, -2 columns of [..., R, C, F]), zeros first."""
    first = f.zeros_like(f.take(a, 0, 1, axis))
    return f.cat([first, f.take(a, 0, a.shape[axis] - 1, axis)], axis)


def _row_logits(f, w, X, R, C, H):
    """Logits [..., n, R C] of images X [..., n, R, C] by the Row LSTM (weights w[name] with
    the same leading axes)."""
    k, c_ = np.arange(C)[:, None], np.arange(C)[None, :]
    idx, mask = np.clip(c_ - k - 1, 0, C - 2), (c_ > k).astype(float)
    # a masked Toeplitz matrix [..., C (source), C (target), G]: each row's input part at once
    T = f.index(f.swap(w["W_is"]), idx) * f.const(mask[..., None], like=X)
    Zin = f.einsum("...nrk,...kcg->...nrcg", X, T) + w["b"][..., None, None, None, :]
    Ws = [w["W_ss"][..., t] for t in range(3)]
    h = c = f.zeros_like(Zin[..., 0, :, :H])
    hs = []
    for r in range(R):
        z = Zin[..., r, :, :]
        if r > 0:
            pad = f.zeros_like(h[..., :1, :])
            hp = f.cat([pad, h, pad], -2)
            xa = X[..., r - 1, :]
            xp = f.cat([f.zeros_like(xa[..., :1]), xa, f.zeros_like(xa[..., :1])], -1)
            for t in range(3):
                z = z + f.einsum("...nck,...gk->...ncg", hp[..., t:t + C, :], Ws[t]) \
                    + xp[..., t:t + C, None] * w["W_ip"][..., t][..., None, None, :]
        h, c = _lstm(f, z, c)
        hs.append(h)
    Hm = f.stack(hs, -3)                                              # [..., n, R, C, H]
    y = f.einsum("...nrck,...k->...nrc", Hm, w["W_out"])
    return y.reshape(y.shape[:-2] + (R * C,)) + w["b_out"][..., None, :]


def _diagonal_states(f, w, d, X, R, C, H):
    """h [..., n, R, C, H] of one direction of the Diagonal BiLSTM, left to right over X (the
    right-to-left direction runs on the mirrored image), by skewed columns: the cells of one
    diagonal r + c = j at once."""
    D = R + C - 1
    r_, j_ = np.arange(R)[:, None], np.arange(D)[None, :]
    cs = j_ - r_
    valid = (cs >= 0) & (cs < C)
    Xs = f.index2(X, np.broadcast_to(r_, (R, D)), np.clip(cs, 0, C - 1), False) \
        * f.const(valid, like=X)
    W0, W1 = w["W_ss" + d][..., 0], w["W_ss" + d][..., 1]
    Wi, b = w["W_is" + d][..., None, None, :], w["b" + d][..., None, None, :]
    h, hs = None, []
    for j in range(D):
        z = Xs[..., j][..., None] * Wi + b
        if j == 0:
            c = f.zeros_like(z[..., :H])
        else:
            z = z + f.einsum("...nrk,...gk->...nrg", h, W0) \
                + f.einsum("...nrk,...gk->...nrg", _down(f, h, -2), W1)
        h, c = _lstm(f, z, c)
        m = f.const(valid[:, j, None].astype(float), like=X)
        h, c = h * m, c * m
        hs.append(h)
    Hs = f.stack(hs, -2)                                              # [..., n, R, D, H]
    r2, c2 = np.meshgrid(np.arange(R), np.arange(C), indexing="ij")
    return f.index2(Hs, r2, r2 + c2, True)                                # [..., n, R, C, H]


def _diagonal_logits(f, w, X, R, C, H):
    hl = _diagonal_states(f, w, "_l", X, R, C, H)
    hr = f.flip(_diagonal_states(f, w, "_r", f.flip(X, -1), R, C, H), -2)
    feats = f.cat([_down(f, hl, -2), _down(f, hr, -3)], -1)          # h_l(r, c-1), h_r(r-1, c)
    y = f.einsum("...nrck,...k->...nrc", feats, w["W_out"])
    return y.reshape(y.shape[:-2] + (R * C,)) + w["b_out"][..., None, :]


def logits(f, opts: dict, w: dict, X, H: int):
    """Logits [..., n, R C] of images X [..., n, R C] in operations f."""
    R, C = image_shape(opts["image"])
    X = X.reshape(X.shape[:-1] + (R, C))
    return (_row_logits if opts["variant"] == "row" else _diagonal_logits)(f, w, X, R, C, H)


def array(layer, G, X, xp):
    """The layer over a population [P, ...] as batched array operations in module xp."""
    w = ops.weights(layer, G, xp)
    P, B, T, I = G.shape[0], X.shape[1], X.shape[2], X.shape[3]
    Xp = xp.broadcast_to(X, (P, B, T, I)).reshape(P, B * T, I)
    y = logits(ops.Ops(xp), layer.opts, w, Xp, layer.n_hidden).reshape(P, B, T, I)
    return ops.sigmoid(xp, y) if layer.opts["readout"] == "sigmoid" else y


def _twin_class():
    import torch

    from ..twins.layers import BlockModule, TorchOps

    class PixelRNNTwin(BlockModule):
        """Row LSTM or Diagonal BiLSTM, one image a step; no state between steps (hT is an
        empty [B, 0] so windowed runs and RTRL treat it like any twin)."""

        def __init__(self, lay):
            super().__init__(lay)
            self.o, self.H = dict(lay.opts), lay.n_hidden

        def features(self, x):
            B, T, N = x.shape
            w = {name: getattr(self, name).to(x.dtype) for name in self.block_names}
            y = logits(TorchOps, self.o, w, x.reshape(B * T, N), self.H)
            self.hT = x.new_zeros(B, 0)
            return y.reshape(B, T, N)

        def readout(self, feats):
            return torch.sigmoid(feats) if self.readout_kind == "sigmoid" else feats
    return PixelRNNTwin


FAMILY = family(
    name="pixelrnn", description="PixelRNN over an image a step: Row LSTM or Diagonal BiLSTM, "
                                 "a logit per pixel given the pixels before it (raster order)",
    readouts=("linear", "sigmoid"),
    options={
        "variant": Option("row", "row (Row LSTM) or diagonal (Diagonal BiLSTM)", choice(*VARIANTS)),
        "image": Option("8,8", "the image's rows and columns, \"R,C\": n_in = n_out = R * C",
                        _check_image),
    },
    blocks=blocks, features=lambda I, H, opts: None, sizes=sizes, cfg=cfg, check=check,
    pack=pack, step=step, array=array, twin=lazy_twin(_twin_class),
    last_only="its outputs are the image's pixel logits, and it reads the whole image a step",
    io_sizes=io_sizes)
