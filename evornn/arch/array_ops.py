"""Shared pieces of the families' array forms: a layer over a whole population as batched
array operations in an array module xp (NumPy, or CuPy on a GPU).

The population is a leading axis: every weight block is an array [P, ...] and each time
step is a batched matrix product [P, B, I] x [P, I, H]. On a CPU (``xp=numpy``) the same
code computes the same function, which is how CI tests it.
"""
from __future__ import annotations

ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")


def sigmoid(xp, z):
    """1 / (1 + exp(-z)) in module xp."""
    return 1.0 / (1.0 + xp.exp(-z))


def act(xp, name: str):
    """The activation function ``name`` in module xp."""
    return {"tanh": xp.tanh, "relu": lambda z: xp.maximum(z, 0.0),
            "sigmoid": lambda z: sigmoid(xp, z), "linear": lambda z: z}[name]


def weights(layer, G, xp) -> dict:
    """The layer's blocks as arrays [P, *shape], by their names without the layer prefix."""
    out = {}
    for b in layer.blocks:
        a = G[:, b.offset:b.offset + b.size].reshape((G.shape[0],) + tuple(b.shape))
        out[b.name.rsplit(".", 1)[-1]] = a
    return out


def mm(x, W):
    """x [P|1, B, K] times W[P, M, K] transposed -> [P, B, M]."""
    return x @ W.transpose(0, 2, 1)


def readout(xp, w, feats, layer):
    """feats [P, B, T, F] -> the layer's outputs [P, B, T, O] through its readout."""
    kind, O = layer.opts["readout"], layer.n_out
    if kind == "none":
        return feats
    if kind == "neurons":
        return feats[..., :O]
    P, B, T, F = feats.shape
    z = mm(feats.reshape(P, B * T, F), w["W_out"]).reshape(P, B, T, O) + w["b_out"][:, None, None]
    return act(xp, kind)(z)


# elements of input projections computed at once (x_t W^T for a chunk of steps): few, large
# products where the population is small, bounded memory where it is large
CHUNK_ELEMENTS = 1 << 25


def input_steps(X, W, bias, xp):
    """x_t W^T + bias [P, B, G] for t = 0, 1, ...: a chunk of steps a product, since the
    inputs do not depend on the state."""
    P, G = W.shape[0], W.shape[1]
    _, Bx, T, I = X.shape
    chunk = max(1, CHUNK_ELEMENTS // (P * Bx * G))
    Xt = xp.ascontiguousarray(X.transpose(0, 2, 1, 3))       # time-major: a step's rows adjacent
    if X.shape[0] == 1:
        # inputs shared by every genome: one plain product [steps * B, I] x [I, P * G]
        W_all = xp.ascontiguousarray(W.transpose(2, 0, 1)).reshape(I, P * G)
        for t0 in range(0, T, chunk):
            Xc = Xt[0, t0:t0 + chunk]
            Tc = Xc.shape[0]
            Z = (Xc.reshape(Tc * Bx, I) @ W_all).reshape(Tc, Bx, P, G)
            if bias is not None:
                Z += bias
            for k in range(Tc):
                yield Z[k].transpose(1, 0, 2)
        return
    WT = xp.ascontiguousarray(W.transpose(0, 2, 1))
    for t0 in range(0, T, chunk):
        Xc = Xt[:, t0:t0 + chunk]
        Tc = Xc.shape[1]
        Z = (Xc.reshape(P, Tc * Bx, I) @ WT).reshape(P, Tc, Bx, G)
        if bias is not None:
            Z += bias[:, None, None]
        for k in range(Tc):
            yield Z[:, k]


# fuse each step's elementwise update into one GPU kernel where the module can (cupy.fuse)
FUSE = True
_FUSED: dict = {}


def fused(xp, key, make):
    """make(xp), an elementwise step update, as one GPU kernel under cupy.fuse (built once
    per module and key): on a GPU a small population's step costs its kernel launches."""
    k = (xp.__name__, FUSE, key)
    if k not in _FUSED:
        fuse = getattr(xp, "fuse", None) if FUSE else None
        _FUSED[k] = (fuse or (lambda f: f))(make(xp))
    return _FUSED[k]


def _added(f):
    def cell(x, hw):
        return f(x + hw)
    return cell


def added_states(layer, w, X, xp):
    """Features [P, B, T, H] of h_t = act(W_ih x_t + b + W_hh h_{t-1}) from a zero state
    (elman, frnn; b absent where the layer has no bias)."""
    H = layer.n_hidden
    P, B, T = w["W_ih"].shape[0], X.shape[1], X.shape[2]
    a = layer.opts["activation"]
    cell = fused(xp, ("added", a), lambda xp: _added(act(xp, a)))
    WhhT = xp.ascontiguousarray(w["W_hh"].transpose(0, 2, 1))
    h = xp.zeros((P, B, H), X.dtype)
    feats = xp.empty((P, B, T, H), X.dtype)
    for t, x in enumerate(input_steps(X, w["W_ih"], w.get("b"), xp)):
        h = cell(x, h @ WhhT)
        feats[:, :, t] = h
    return feats


def features_then_readout(states):
    """array(layer, G, X, xp) for a family whose ``states(layer, w, X, xp)`` gives its features."""
    def array(layer, G, X, xp):
        w = weights(layer, G, xp)
        return readout(xp, w, states(layer, w, X, xp), layer)
    return array


class Ops:
    """The array operations the families' shared unrolls call (their twins pass torch's
    equivalents), in module xp: NumPy, or CuPy on a GPU. Axes default to the last."""

    def __init__(self, xp):
        self.xp = xp

    def mm(self, x, W):
        return x @ W.swapaxes(-1, -2)

    def einsum(self, spec, *a):
        return self.xp.einsum(spec, *a)

    def sigmoid(self, a):
        return sigmoid(self.xp, a)

    def tanh(self, a):
        return self.xp.tanh(a)

    def relu(self, a):
        return self.xp.maximum(a, 0.0)

    def where(self, m, a, b):
        return self.xp.where(m, a, b)

    def minimum(self, a, b):
        return self.xp.minimum(a, b)

    def maximum(self, a, b):
        return self.xp.maximum(a, b)

    def cumsum(self, a):
        return self.xp.cumsum(a, axis=-1)

    def arange(self, S, like):
        return self.xp.arange(S)

    def const(self, a, like):
        return self.xp.asarray(a, dtype=like.dtype)

    def zeros_like(self, a):
        return self.xp.zeros_like(a)

    zeros = zeros_like

    def cat(self, parts, axis=-1):
        return self.xp.concatenate(parts, axis)

    def stack(self, parts, axis):
        return self.xp.stack(parts, axis)

    def flip(self, a, axis=-1):
        return self.xp.flip(a, axis)

    def swap(self, a):
        return a.swapaxes(-1, -2)

    def take(self, a, start, stop, axis):
        sl = [slice(None)] * a.ndim
        sl[axis] = slice(start, stop)
        return a[tuple(sl)]

    def index(self, a, idx):
        return a[..., self.xp.asarray(idx), :]

    def index2(self, a, i, j, feat):
        """a[..., i, j] (a[..., i, j, :] with a trailing feature axis)."""
        i, j = self.xp.asarray(i), self.xp.asarray(j)
        return a[..., i, j, :] if feat else a[..., i, j]

    def masked_softmax(self, s, valid):
        xp = self.xp
        s = xp.where(valid, s, -xp.inf)
        top = s.max(-1, keepdims=True)
        e = xp.where(valid, xp.exp(s - xp.where(xp.isfinite(top), top, 0)), 0)
        tot = e.sum(-1, keepdims=True)
        return e / xp.where(tot > 0, tot, 1)
