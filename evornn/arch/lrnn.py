"""Locally recurrent network (Back and Tsoi 1991; Campolucci et al. 1999): an MLP whose
synapses from input to hidden are IIR filters.

Synapse (j, i) filters input i for hidden neuron j:
    v_ji(t) = sum_{k=0..nb} B[j, i, k] x_i(t - k) + sum_{k=1..na} A[j, i, k - 1] v_ji(t - k)
    h_j(t) = tanh(sum_i v_ji(t) + b_j),   y(t) = readout(h(t))
with nb = ``zeros`` (MA order) and na = ``poles`` (AR order); poles = 0 is the FIR synapse
of a time-delay network. Each hidden neuron has one bias b_j (one per neuron, not one per
synapse: a per-synapse constant would only add up to it). The memories, the last nb inputs
and the last na outputs of every synapse, are the state and start at zero.

Stability: a synapse with sum_k |a_k| < 1 is stable (BIBO). The genome bounds keep every
|a_k| <= 0.99 / na, so evolution and the gradient trainers (which project into the bounds)
stay inside that region. It also excludes stable resonant filters (a_1 = 1.2, a_2 = -0.5);
a genome set by hand outside the bounds runs the unstable filter as written, unclipped.
"""
import numpy as np
from numba import njit

from ..options import Option
from . import array_ops as ops
from . import kernels as kn
from .blocks import readout_blocks, uniform
from .spec import family, lazy_twin

MAX_ORDER = 16
STABLE = 0.99          # bound on sum_k |a_k| that the per-coefficient bounds give


def _order(v):
    ok = isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= MAX_ORDER
    return None if ok else f"must be an integer in 0..{MAX_ORDER}"


def blocks(I, H, O, opts):
    nb, na = int(opts["zeros"]), int(opts["poles"])
    out = [uniform("B", (H, I, nb + 1), 1.0 / np.sqrt(I * (nb + 1)))]
    if na:
        out.append(uniform("A", (H, I, na), 0.5 / na, bounds=(-STABLE / na, STABLE / na)))
    return out + [uniform("b", (H,), 1.0 / np.sqrt(I))] + readout_blocks(H, O, opts["readout"])


def memory(I, H, opts) -> int:
    """Numbers of state a sequence: the last nb inputs and the last na outputs of every synapse."""
    return int(opts["zeros"]) * I + int(opts["poles"]) * H * I


def sizes(I, H, O, opts):
    nb, na = int(opts["zeros"]), int(opts["poles"])
    packed = H * I * (nb + 1 + na) + H + kn.readout_size(H, O, kn.READOUTS[opts["readout"]])
    return packed, memory(I, H, opts) + H + H * I


def check(I, H, O, opts):
    if int(opts["zeros"]) == 0 and int(opts["poles"]) == 0:
        raise ValueError("lrnn: zeros = 0 with poles = 0 leaves the synapses no memory; "
                         "set zeros >= 1 or poles >= 1 (a static network is --arch dense)")


# Packed and state arrays are lag-major, [k, i, j] (synapse s = i H + j): the inner loops run
# over the hidden neurons, contiguous, instead of over a synapse's few lags (5x, measured).
@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    nb, na = int(cfg[kn.C_OPT]), int(cfg[kn.C_OPT + 1])
    ga = H * I * (nb + 1)
    for j in range(H):
        for i in range(I):
            for k in range(nb + 1):
                w[(k * I + i) * H + j] = g[(j * I + i) * (nb + 1) + k]
            for k in range(na):
                w[ga + (k * I + i) * H + j] = g[ga + (j * I + i) * na + k]
    n = ga + H * I * na
    for j in range(H):
        w[n + j] = g[n + j]
    kn.pack_readout(g, n + H, w, n + H, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H = int(cfg[kn.C_HID])
    nb, na = int(cfg[kn.C_OPT]), int(cfg[kn.C_OPT + 1])
    S = H * I
    xh = kn.view2d(state, 0, B, nb * I)                  # x(t-1..t-nb), [k, i]
    yh = kn.view2d(state, B * nb * I, B, na * S)         # v(t-1..t-na), [k, i, j]
    h = kn.view2d(state, B * (nb * I + na * S), B, H)
    v = kn.view2d(state, B * (nb * I + na * S + H), B, S)
    ao = S * (nb + 1)
    bo = ao + S * na
    for r in range(B):
        for i in range(I):
            xi = x[r, i]
            for j in range(H):
                v[r, i * H + j] = w[i * H + j] * xi
        for k in range(1, nb + 1):
            for i in range(I):
                xi = xh[r, (k - 1) * I + i]
                for j in range(H):
                    v[r, i * H + j] += w[(k * I + i) * H + j] * xi
        for k in range(na):
            for s in range(S):
                v[r, s] += w[ao + k * S + s] * yh[r, k * S + s]
        for k in range(na - 1, 0, -1):
            for s in range(S):
                yh[r, k * S + s] = yh[r, (k - 1) * S + s]
        if na > 0:
            for s in range(S):
                yh[r, s] = v[r, s]
        for j in range(H):
            h[r, j] = w[bo + j]
        for i in range(I):
            for j in range(H):
                h[r, j] += v[r, i * H + j]
        for j in range(H):
            h[r, j] = kn.tanh(h[r, j])
        for k in range(nb - 1, 0, -1):
            for i in range(I):
                xh[r, k * I + i] = xh[r, (k - 1) * I + i]
        if nb > 0:
            for i in range(I):
                xh[r, i] = x[r, i]
    kn.readout(w, bo + H, h, y, int(cfg[kn.C_READOUT]))


def array(layer, G, X, xp):
    """The layer's outputs [P, B, T, O] over a population, one step at a time."""
    w = ops.weights(layer, G, xp)
    nb, na = int(layer.opts["zeros"]), int(layer.opts["poles"])
    Bc = w["B"]                                              # [P, H, I, nb + 1]
    A = w["A"] if na else None                               # [P, H, I, na]
    P, H, I = Bc.shape[0], Bc.shape[1], Bc.shape[2]
    Bx, T = X.shape[1], X.shape[2]
    xh = xp.zeros((X.shape[0], Bx, nb + 1, I), X.dtype)      # x(t), x(t-1), ..., x(t-nb)
    yh = xp.zeros((P, Bx, H, I, na), X.dtype)                # v(t-1), ..., v(t-na)
    feats = xp.empty((P, Bx, T, H), X.dtype)
    for t in range(T):
        xh = xp.concatenate([X[:, :, t][:, :, None], xh[:, :, :nb]], axis=2)
        v = xp.einsum("pbki,phik->pbhi", xh, Bc) if X.shape[0] == P else \
            xp.einsum("bki,phik->pbhi", xh[0], Bc)
        if na:
            v = v + (yh * A[:, None]).sum(axis=-1)
            yh = xp.concatenate([v[..., None], yh[..., :na - 1]], axis=-1)
        feats[:, :, t] = xp.tanh(v.sum(axis=-1) + w["b"][:, None])
    return ops.readout(xp, w, feats, layer)


def _twin_class():
    import torch

    from ..twins.layers import BlockModule

    class LRNNTwin(BlockModule):
        """Step by step; the state [B, nb I + na I H] holds the numba kernel's memories in its order."""

        def __init__(self, lay):
            super().__init__(lay)
            self.nb, self.na = int(lay.opts["zeros"]), int(lay.opts["poles"])
            self.H, self.I = lay.n_hidden, lay.n_in

        def features(self, x):
            nb, na, H, I = self.nb, self.na, self.H, self.I
            Bn = x.shape[0]
            s = self.start(x, nb * I + H * I * na)
            xh = s[:, :nb * I].reshape(Bn, nb, I)
            yh = s[:, nb * I:].reshape(Bn, na, I, H).permute(0, 3, 2, 1)
            hs = []
            for t in range(x.shape[1]):
                xs = torch.cat([x[:, t, None], xh], 1)          # [B, nb + 1, I]
                v = torch.einsum("bki,hik->bhi", xs, self.B)
                if na:
                    v = v + torch.einsum("bhik,hik->bhi", yh, self.A)
                    yh = torch.cat([v[..., None], yh[..., :na - 1]], -1)
                xh = xs[:, :nb]
                hs.append(torch.tanh(v.sum(-1) + self.b))
            self.hT = torch.cat([xh.reshape(Bn, nb * I),
                                 yh.permute(0, 3, 2, 1).reshape(Bn, H * I * na)], 1)
            return torch.stack(hs, 1)

        @torch.no_grad()
        def crbp_gradient(self, X, Y, W, on_step=None):
            """(loss, gradient over the parameters in their order) of sum W (y - Y)^2 on X
            [B, T, I] from a zero state, by causal recursive backpropagation (see evornn.crbp);
            on_step(g_t) is called with each step's gradient (online: it updates the weights)."""
            nb, na, H, I = self.nb, self.na, self.H, self.I
            Bn, T = X.shape[0], X.shape[1]
            z = X.new_zeros
            xh, yh = z(Bn, nb, I), z(Bn, H, I, na)
            SBh, SAh = z(Bn, H, I, na, nb + 1), z(Bn, H, I, na, na)    # past dv/dB, dv/dA
            grads = [z(p.shape) for p in self.parameters()]
            loss = 0.0
            for t in range(T):
                Bc, bias = self.B.detach(), self.b.detach()
                A = self.A.detach() if na else None
                xs = torch.cat([X[:, t, None], xh], 1)                     # [B, nb + 1, I]
                v = torch.einsum("bki,hik->bhi", xs, Bc)
                # dv_ji(t)/dB_jik = x_i(t-k) + sum_m a_jim dv_ji(t-m)/dB_jik, likewise for a_jik
                SB = xs.permute(0, 2, 1)[:, None].expand(Bn, H, I, nb + 1)
                if na:
                    v = v + torch.einsum("bhik,hik->bhi", yh, A)
                    SB = SB + torch.einsum("him,bhimk->bhik", A, SBh)
                    SA = yh + torch.einsum("him,bhimk->bhik", A, SAh)
                    SBh = torch.cat([SB[:, :, :, None], SBh[:, :, :, :na - 1]], 3)
                    SAh = torch.cat([SA[:, :, :, None], SAh[:, :, :, :na - 1]], 3)
                    yh = torch.cat([v[..., None], yh[..., :na - 1]], -1)
                xh = xs[:, :nb]
                h = torch.tanh(v.sum(-1) + bias)
                y = self.readout(h)
                err = y - Y[:, t]
                loss += float((W[:, t] * err * err).sum())
                dy = 2.0 * W[:, t] * err
                g_t = []
                if self.readout_kind == "none":
                    dh = dy
                else:
                    delta = dy * {"linear": lambda: 1.0, "tanh": lambda: 1.0 - y * y,
                                  "sigmoid": lambda: y * (1.0 - y)}[self.readout_kind]()
                    dh = delta @ self.W_out.detach()
                e = dh * (1.0 - h * h)                                     # dL/ds_j
                g_t.append(torch.einsum("bh,bhik->hik", e, SB))
                if na:
                    g_t.append(torch.einsum("bh,bhik->hik", e, SA))
                g_t.append(e.sum(0))
                if self.readout_kind != "none":
                    g_t += [delta.T @ h, delta.sum(0)]
                flat = torch.cat([g.reshape(-1) for g in g_t])
                if on_step is None:
                    for acc, g in zip(grads, g_t):
                        acc += g
                else:
                    on_step(flat)
            return loss, torch.cat([g.reshape(-1) for g in grads])
    return LRNNTwin


FAMILY = family(
    name="lrnn", description="locally recurrent network: an MLP whose input synapses are IIR "
                             "filters (zeros, poles; poles 0: FIR)",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options={"zeros": Option(2, f"nb, the synapse filters' MA order; integer in 0..{MAX_ORDER}",
                             _order),
             "poles": Option(2, f"na, the synapse filters' AR order (0: FIR); integer in "
                                f"0..{MAX_ORDER}", _order)},
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes,
    cfg=lambda I, H, O, opts: [float(opts["zeros"]), float(opts["poles"])],
    pack=pack, step=step, check=check, array=array, twin=lazy_twin(_twin_class))
