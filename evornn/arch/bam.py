"""Bidirectional associative memory (Kosko 1988): two layers of n and p units, one matrix W
(n x p) read both ways, relaxing a pair (x, y) towards a stored association.

The sequence contract, as for hopfield (Family.one_size): n_in = n_hidden = n_out = N = n + p,
the option ``split`` = n (the first layer's size; None: N // 2). Input x_0 = [probe_x,
probe_y] is the probe; a half that is all zero is "not given". Inputs x_t for t >= 1 are
an external field [field_x, field_y] added to the layers' net inputs. Output y_t = [x, y],
the state after step t.

    one step:    y <- f(W^T x - theta_y + field_y)      then
                 x <- f(W y - theta_x + field_x)
    binary:      f(h) = +1 if h >= 0 else -1
    continuous:  f(h) = tanh(gain * h)

The start from the probe: a given half starts as sign(probe) (binary; sign(0) = +1) or the
probe itself (continuous). An unprobed y needs no start, since the first half-step computes
y from x. An unprobed x starts as the update from the probed y, x = f(W y - theta_x), before
the first step (one extra half-step, no field). Where neither half is given (x_0 all zero),
x counts as given. Where both are, y's probe is overwritten by the first half-step (x
leads): give only the half to recall from.

Genome: ``W`` [n, p], ``theta_x`` [n], ``theta_y`` [p]. Energy (``energy``):
E(x, y) = -x^T W y + theta_x . x + theta_y . y; with binary units each half-step, so each
step, never increases it.
"""
import numpy as np
from numba import njit

from ..options import Option, choice, positive
from . import kernels as kn
from .blocks import uniform
from .hopfield import NO_ONNX as hopfield_no_onnx
from .hopfield import _unit
from .spec import family, lazy_twin

UNITS = ("binary", "continuous")


def split_of(N: int, opts) -> int:
    """n, the first layer's size: the split option, or N // 2 where it is None."""
    s = opts.get("split")
    return N // 2 if s is None else int(s)


def blocks(I, H, O, opts):
    n = split_of(H, opts)
    p = H - n
    return [uniform("W", (n, p), 1.0 / np.sqrt(max(n, p))), uniform("theta_x", (n,), 0.1),
            uniform("theta_y", (p,), 0.1)]


def sizes(I, H, O, opts):
    # packed: the genome as is; state a sequence: [x, y], a step counter and a flag (no
    # field and nothing changed in the last step)
    n = split_of(H, opts)
    return n * (H - n) + H, H + 2


def cfg(I, H, O, opts):
    return [UNITS.index(opts["units"]), float(opts["gain"]), float(split_of(H, opts))]


def check(I, H, O, opts):
    if not I == H == O:
        raise ValueError(f"bam: n_in, n_hidden and n_out must all be N = n + p (both layers), "
                         f"got n_in={I}, n_hidden={H}, n_out={O}")
    if H < 2:
        raise ValueError(f"bam: needs at least 2 units (n + p), got N={H}")
    n = split_of(H, opts)
    if not 1 <= n < H:
        raise ValueError(f"bam: option split={n} (the first layer's size n) must satisfy "
                         f"1 <= split < N={H}")


def _split_check(v):
    if v is None:
        return None
    ok = isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1
    return None if ok else "must be None (N // 2) or an integer >= 1"


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    for k in range(w.shape[0]):
        w[k] = g[k]




@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, N = x.shape
    n = int(cfg[kn.C_OPT + 2])
    p = N - n
    W = kn.view2d(w, 0, n, p)
    thx = w[n * p:n * p + n]
    thy = w[n * p + n:n * p + N]
    s = kn.view2d(state, 0, B, N)
    c0 = B * N
    t = int(state[c0])
    one, zero = x.dtype.type(1.0), x.dtype.type(0.0)
    binary = cfg[kn.C_OPT] == 0
    gain = x.dtype.type(cfg[kn.C_OPT + 1])
    for b in range(B):
        field = False
        if t == 0:                                   # the probe: the starting state
            y_given = False
            x_given = False
            for i in range(N):
                v = x[b, i]
                if v != zero:
                    if i < n:
                        x_given = True
                    else:
                        y_given = True
                s[b, i] = (one if v >= zero else -one) if binary else v
            if not x_given and y_given:              # x from the probed y
                for i in range(n):
                    h = zero
                    for j in range(p):
                        h += W[i, j] * s[b, n + j]
                    s[b, i] = _unit(h - thx[i], binary, gain, one)
        else:
            for i in range(N):
                if x[b, i] != zero:
                    field = True
            if not field and state[c0 + 1 + b] == one:
                continue                             # at a fixed point: the step changes nothing
        changed = False
        for j in range(p):                           # y <- f(W^T x - theta_y + field_y)
            h = zero
            for i in range(n):
                h += W[i, j] * s[b, i]
            h = h - thy[j]
            if field:
                h = h + x[b, n + j]
            v = _unit(h, binary, gain, one)
            if v != s[b, n + j]:
                changed = True
            s[b, n + j] = v
        for i in range(n):                           # x <- f(W y - theta_x + field_x)
            h = zero
            for j in range(p):
                h += W[i, j] * s[b, n + j]
            h = h - thx[i]
            if field:
                h = h + x[b, i]
            v = _unit(h, binary, gain, one)
            if v != s[b, i]:
                changed = True
            s[b, i] = v
        state[c0 + 1 + b] = zero if (changed or field) else one
    state[c0] = t + 1
    for b in range(B):
        for i in range(N):
            y[b, i] = s[b, i]


# -- energy ---------------------------------------------------------------------------------
def energy(W, theta_x, theta_y, x, y):
    """E = -x^T W y + theta_x . x + theta_y . y for states x [..., n], y [..., p]."""
    W, x, y = np.asarray(W), np.asarray(x), np.asarray(y)
    return -np.einsum("...i,ij,...j->...", x, W, y) + x @ np.asarray(theta_x) + y @ np.asarray(theta_y)


# -- array form -----------------------------------------------------------------------------
def array(layer, G, X, xp):
    """[P, B, T, N] from G [P, D] and X [P|1, B, T, N] as batched array operations."""
    o, N = layer.opts, layer.n_hidden
    n = split_of(N, o)
    p = N - n
    P, B, T, dt = G.shape[0], X.shape[1], X.shape[2], X.dtype
    g = G[:, layer.offset:layer.offset + layer.n_genes].astype(dt)
    W = g[:, :n * p].reshape(P, n, p)
    Wt = xp.swapaxes(W, -1, -2)
    thx = g[:, n * p:n * p + n][:, None, :]                              # [P, 1, n]
    thy = g[:, n * p + n:][:, None, :]                                   # [P, 1, p]
    binary, gain = o["units"] == "binary", o["gain"]

    def unit(h):
        if binary:
            return xp.where(h >= 0, 1.0, -1.0).astype(dt)
        return xp.tanh(dt.type(gain) * h)

    x0 = xp.broadcast_to(X[:, :, 0], (P, B, N))
    s = xp.where(x0 >= 0, 1.0, -1.0).astype(dt) if binary else x0.astype(dt)
    sx, sy = s[..., :n], s[..., n:]
    x_given = xp.any(x0[..., :n] != 0, axis=-1) | ~xp.any(x0[..., n:] != 0, axis=-1)
    sx = xp.where(x_given[..., None], sx, unit(sy @ Wt - thx))
    out = xp.empty((P, B, T, N), dt)
    for t in range(T):
        fx = 0 if t == 0 else X[:, :, t, :n]
        fy = 0 if t == 0 else X[:, :, t, n:]
        sy = unit(sx @ W - thy + fy)
        sx = unit(sy @ Wt - thx + fx)
        out[:, :, t, :n] = sx
        out[:, :, t, n:] = sy
    return out


# -- torch twin -----------------------------------------------------------------------------
def _twin_class():
    import torch

    from ..twins.layers import BlockModule

    class BamTwin(BlockModule):
        """Continuous units only (binary units are a step function: no gradient). The state
        is [B, N + 1]: [x, y] and the number of steps done (0: start from the probe)."""

        def __init__(self, lay):
            if lay.opts["units"] != "continuous":
                raise ValueError("bam: binary units have no gradient; a torch twin needs "
                                 "units='continuous'")
            super().__init__(lay)
            self.N, self.gain = lay.n_hidden, float(lay.opts["gain"])
            self.n = split_of(self.N, lay.opts)

        def features(self, x):
            N, n, W = self.N, self.n, self.W
            f = lambda h: torch.tanh(self.gain * h)            # noqa: E731
            h0 = self.start(x, N + 1)
            t0 = int(h0[0, N]) if x.shape[0] else 0
            sx, sy, ys = h0[:, :n], h0[:, n:N], []
            for k in range(x.shape[1]):
                xt = x[:, k]
                if t0 + k == 0:
                    sx, sy = xt[:, :n], xt[:, n:]
                    given = (sx != 0).any(1) | ~(sy != 0).any(1)
                    sx = torch.where(given[:, None], sx, f(sy @ W.T - self.theta_x))
                    fx = fy = 0.0
                else:
                    fx, fy = xt[:, :n], xt[:, n:]
                sy = f(sx @ W - self.theta_y + fy)
                sx = f(sy @ W.T - self.theta_x + fx)
                ys.append(torch.cat([sx, sy], 1))
            t_end = float(t0 + x.shape[1])
            self.hT = torch.cat([sx, sy, sx.new_full((sx.shape[0], 1), t_end)], 1)
            return torch.stack(ys, 1)
    return BamTwin


FAMILY = family(
    no_onnx=hopfield_no_onnx,
    name="bam", description="bidirectional associative memory (Kosko): two layers, one "
                            "matrix read both ways, relaxing a probe towards a stored pair",
    readouts=("none",),
    options={"split": Option(None, "n, the first layer's size (the units are [x (n), y (N - n)]); "
                                   "None: N // 2", _split_check),
             "units": Option("binary", "the units: binary (+-1, a step at 0) or continuous "
                                       "(tanh(gain * h))", choice(*UNITS)),
             "gain": Option(1.0, "slope of continuous units, tanh(gain * h) (binary units "
                                 "ignore it)", positive)},
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes, cfg=cfg, check=check,
    pack=pack, step=step, array=array, twin=lazy_twin(_twin_class), one_size=True)
