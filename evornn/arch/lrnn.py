"""Locally recurrent network (Back and Tsoi 1991; Campolucci et al. 1999): an MLP whose
synapses from input to hidden are IIR filters.

Synapse (j, i) filters input i for hidden neuron j:
    v_ji(t) = sum_{k=0..nb} B[j, i, k] x_i(t - k) + sum_{k=1..na} A[j, i, k - 1] v_ji(t - k)
    h_j(t) = tanh(sum_i v_ji(t) + b_j),   y(t) = readout(h(t))
with nb = ``zeros`` (MA order) and na = ``poles`` (AR order); poles = 0 is the FIR synapse
of a time-delay network. With ``output_filters`` the synapses from hidden to output are IIR
filters of the same orders too (blocks B_out [O, H, nb + 1], A_out [O, H, na], b_out), and
y_o(t) = act(sum_j u_oj(t) + b_out_o) with u_oj the filtered h_j (act: the readout).
Each hidden neuron has one bias b_j (one per neuron, not one per
synapse: a per-synapse constant would only add up to it). The memories, the last nb inputs
and the last na outputs of every synapse (of both layers), are the state and start at zero.

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


def _filters(name: str, rows: int, cols: int, nb: int, na: int, suffix: str = "") -> list:
    out = [uniform("B" + suffix, (rows, cols, nb + 1), 1.0 / np.sqrt(cols * (nb + 1)))]
    if na:
        out.append(uniform("A" + suffix, (rows, cols, na), 0.5 / na,
                           bounds=(-STABLE / na, STABLE / na)))
    return out + [uniform(name, (rows,), 1.0 / np.sqrt(cols))]


def _boolean(v):
    return None if isinstance(v, bool) else "must be true or false"


def blocks(I, H, O, opts):
    nb, na = int(opts["zeros"]), int(opts["poles"])
    if opts["output_filters"]:
        return _filters("b", H, I, nb, na) + _filters("b_out", O, H, nb, na, "_out")
    return _filters("b", H, I, nb, na) + readout_blocks(H, O, opts["readout"])


def _stage(I, H, nb, na) -> int:
    """State of one filtered layer a sequence: memories (nb inputs, na outputs a synapse),
    the layer's sums and its synapse outputs (scratch)."""
    return nb * I + na * H * I + H + H * I


def sizes(I, H, O, opts):
    nb, na = int(opts["zeros"]), int(opts["poles"])
    if opts["output_filters"]:
        return (H * I + O * H) * (nb + 1 + na) + H + O, _stage(I, H, nb, na) + _stage(H, O, nb, na)
    packed = H * I * (nb + 1 + na) + H + kn.readout_size(H, O, kn.READOUTS[opts["readout"]])
    return packed, _stage(I, H, nb, na)


def check(I, H, O, opts):
    if int(opts["zeros"]) == 0 and int(opts["poles"]) == 0:
        raise ValueError("lrnn: zeros = 0 with poles = 0 leaves the synapses no memory; "
                         "set zeros >= 1 or poles >= 1 (a static network is --arch dense)")
    if opts["output_filters"] and opts["readout"] == "none":
        raise ValueError("lrnn: output_filters filters into the outputs: readout must be linear, "
                         "tanh or sigmoid, not none")


# Packed and state arrays are lag-major, [k, i, j] (synapse s = i H + j): the inner loops run
# over the hidden neurons, contiguous, instead of over a synapse's few lags (5x, measured).
@njit(**kn.JIT)
def _pack_filters(g, w, off, I, H, nb, na):
    """Genome B [H, I, nb + 1], A [H, I, na], b [H] at off -> lag-major; the next offset."""
    ga = off + H * I * (nb + 1)
    for j in range(H):
        for i in range(I):
            for k in range(nb + 1):
                w[off + (k * I + i) * H + j] = g[off + (j * I + i) * (nb + 1) + k]
            for k in range(na):
                w[ga + (k * I + i) * H + j] = g[ga + (j * I + i) * na + k]
    n = ga + H * I * na
    for j in range(H):
        w[n + j] = g[n + j]
    return n + H


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[kn.C_IN]), int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    nb, na = int(cfg[kn.C_OPT]), int(cfg[kn.C_OPT + 1])
    n = _pack_filters(g, w, 0, I, H, nb, na)
    if cfg[kn.C_OPT + 2] != 0:
        _pack_filters(g, w, n, H, O, nb, na)
    else:
        kn.pack_readout(g, n, w, n, H, O, int(cfg[kn.C_READOUT]))


@njit(**kn.JIT)
def _filtered(w, woff, state, soff, x, nb, na, H):
    """One step of a filtered layer for the batch x [B, I]: the sums bias + sum_i v_ji [B, H]
    (a view into the state); its memories advance."""
    B, I = x.shape
    S = H * I
    xh = kn.view2d(state, soff, B, nb * I)                  # x(t-1..t-nb), [k, i]
    yh = kn.view2d(state, soff + B * nb * I, B, na * S)     # v(t-1..t-na), [k, i, j]
    h = kn.view2d(state, soff + B * (nb * I + na * S), B, H)
    v = kn.view2d(state, soff + B * (nb * I + na * S + H), B, S)
    ao = woff + S * (nb + 1)
    bo = ao + S * na
    for r in range(B):
        for i in range(I):
            xi = x[r, i]
            for j in range(H):
                v[r, i * H + j] = w[woff + i * H + j] * xi
        for k in range(1, nb + 1):
            for i in range(I):
                xi = xh[r, (k - 1) * I + i]
                for j in range(H):
                    v[r, i * H + j] += w[woff + (k * I + i) * H + j] * xi
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
        for k in range(nb - 1, 0, -1):
            for i in range(I):
                xh[r, k * I + i] = xh[r, (k - 1) * I + i]
        if nb > 0:
            for i in range(I):
                xh[r, i] = x[r, i]
    return h


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, I = x.shape
    H, O = int(cfg[kn.C_HID]), int(cfg[kn.C_OUT])
    nb, na = int(cfg[kn.C_OPT]), int(cfg[kn.C_OPT + 1])
    code = int(cfg[kn.C_READOUT])
    h = _filtered(w, 0, state, 0, x, nb, na, H)
    for r in range(B):
        for j in range(H):
            h[r, j] = kn.tanh(h[r, j])
    woff = H * I * (nb + 1 + na) + H
    if cfg[kn.C_OPT + 2] == 0:
        kn.readout(w, woff, h, y, code)
        return
    z = _filtered(w, woff, state, B * (nb * I + na * H * I + H + H * I), h, nb, na, O)
    for r in range(B):
        for o in range(O):
            if code == kn.RO_TANH:
                y[r, o] = kn.tanh(z[r, o])
            elif code == kn.RO_SIGMOID:
                y[r, o] = kn.sigmoid(z[r, o])
            else:
                y[r, o] = z[r, o]


def _filtered_array(xp, X, Bc, A, bias, nb, na):
    """bias + sum_i v_ji over a population: X [P|1, B, T, I] -> [P, B, T, H]."""
    P, H, I = Bc.shape[0], Bc.shape[1], Bc.shape[2]
    Bx, T = X.shape[1], X.shape[2]
    xh = xp.zeros((X.shape[0], Bx, nb + 1, I), X.dtype)      # x(t), x(t-1), ..., x(t-nb)
    yh = xp.zeros((P, Bx, H, I, na), X.dtype)                # v(t-1), ..., v(t-na)
    out = xp.empty((P, Bx, T, H), X.dtype)
    for t in range(T):
        xh = xp.concatenate([X[:, :, t][:, :, None], xh[:, :, :nb]], axis=2)
        v = xp.einsum("pbki,phik->pbhi", xh, Bc) if X.shape[0] == P else \
            xp.einsum("bki,phik->pbhi", xh[0], Bc)
        if na:
            v = v + (yh * A[:, None]).sum(axis=-1)
            yh = xp.concatenate([v[..., None], yh[..., :na - 1]], axis=-1)
        out[:, :, t] = v.sum(axis=-1) + bias[:, None]
    return out


def array(layer, G, X, xp):
    """The layer's outputs [P, B, T, O] over a population, one step at a time."""
    w = ops.weights(layer, G, xp)
    nb, na = int(layer.opts["zeros"]), int(layer.opts["poles"])
    feats = xp.tanh(_filtered_array(xp, X, w["B"], w.get("A"), w["b"], nb, na))
    if not layer.opts["output_filters"]:
        return ops.readout(xp, w, feats, layer)
    z = _filtered_array(xp, feats, w["B_out"], w.get("A_out"), w["b_out"], nb, na)
    return ops.act(xp, layer.opts["readout"])(z)


def _twin_class():
    import torch

    from ..twins.layers import ACTS, BlockModule

    def filtered(x, Bc, A, bias, xh, yh):
        """One step of a filtered layer: (sums [B, H], synapse outputs v [B, H, I], the new
        memories xh [B, nb, I] and yh [B, H, I, na])."""
        na = yh.shape[-1]
        xs = torch.cat([x[:, None], xh], 1)                       # [B, nb + 1, I]
        v = torch.einsum("bki,hik->bhi", xs, Bc)
        if na:
            v = v + torch.einsum("bhik,hik->bhi", yh, A)
            yh = torch.cat([v[..., None], yh[..., :na - 1]], -1)
        return v.sum(-1) + bias, xs, xs[:, :xh.shape[1]], yh

    def sensitivities(xs, yh, A, SBh, SAh):
        """dv/dB [B, H, I, nb + 1] and dv/dA [B, H, I, na] of every synapse, carried through
        its own recursion, and their new histories (the last na steps)."""
        Bn, H, I, na = yh.shape
        SB = xs.permute(0, 2, 1)[:, None].expand(Bn, H, I, xs.shape[1])
        if not na:
            return SB, yh, SBh, SAh
        SB = SB + torch.einsum("him,bhimk->bhik", A, SBh)
        SA = yh + torch.einsum("him,bhimk->bhik", A, SAh)
        return (SB, SA, torch.cat([SB[:, :, :, None], SBh[:, :, :, :na - 1]], 3),
                torch.cat([SA[:, :, :, None], SAh[:, :, :, :na - 1]], 3))

    class LRNNTwin(BlockModule):
        """Step by step; the state [B, nb I + na I H (+ nb H + na H O)] holds the numba
        kernel's memories in its order."""

        def __init__(self, lay):
            super().__init__(lay)
            self.nb, self.na = int(lay.opts["zeros"]), int(lay.opts["poles"])
            self.H, self.I = lay.n_hidden, lay.n_in
            self.out_filters = bool(lay.opts["output_filters"])

        def _layers(self):
            """(inputs, units, B, A, bias) of each filtered layer."""
            out = [(self.I, self.H, self.B, getattr(self, "A", None), self.b)]
            if self.out_filters:
                out.append((self.H, self.n_out, self.B_out, getattr(self, "A_out", None),
                            self.b_out))
            return out

        def _memories(self, x):
            Bn, nb, na = x.shape[0], self.nb, self.na
            widths = [nb * I + na * I * H for I, H, *_ in self._layers()]
            s = self.start(x, sum(widths))
            mem, k = [], 0
            for (I, H, *_), n in zip(self._layers(), widths):
                part = s[:, k:k + n]
                mem.append([part[:, :nb * I].reshape(Bn, nb, I),
                            part[:, nb * I:].reshape(Bn, na, I, H).permute(0, 3, 2, 1)])
                k += n
            return mem

        def _save(self, mem):
            Bn = mem[0][0].shape[0]
            self.hT = torch.cat([t for xh, yh in mem for t in
                                 (xh.reshape(Bn, -1), yh.permute(0, 3, 2, 1).reshape(Bn, -1))], 1)

        def features(self, x):
            mem = self._memories(x)
            I, H, Bc, A, b = self._layers()[0]
            hs = []
            for t in range(x.shape[1]):
                z, _, mem[0][0], mem[0][1] = filtered(x[:, t], Bc, A, b, *mem[0])
                hs.append(torch.tanh(z))
            h = torch.stack(hs, 1)
            if self.out_filters:
                _, _, Bo, Ao, bo = self._layers()[1]
                zs = []
                for t in range(x.shape[1]):
                    z, _, mem[1][0], mem[1][1] = filtered(h[:, t], Bo, Ao, bo, *mem[1])
                    zs.append(z)
                self.filtered_out = torch.stack(zs, 1)
            self._save(mem)
            return h

        def readout(self, feats):
            if self.out_filters:
                return ACTS[self.readout_kind](self.filtered_out)
            return super().readout(feats)

        @torch.no_grad()
        def crbp_gradient(self, X, Y, W, on_step=None):
            """(loss, gradient over the parameters in their order) of sum W (y - Y)^2 on X
            [B, T, I] from a zero state, by causal recursive backpropagation (see evornn.crbp);
            on_step(g_t) is called with each step's gradient (online: it updates the weights)."""
            nb, na = self.nb, self.na
            Bn, T = X.shape[0], X.shape[1]
            z0 = X.new_zeros
            layers = self._layers()
            mem = [[z0(Bn, nb, I), z0(Bn, H, I, na)] for I, H, *_ in layers]
            sens = [[z0(Bn, H, I, na, nb + 1), z0(Bn, H, I, na, na)] for I, H, *_ in layers]
            I, H = self.I, self.H
            Pj = I * (nb + 1 + na) + 1                  # hidden neuron j's own weights
            if self.out_filters:
                O = self.n_out
                Dh = z0(Bn, nb + 1, H, Pj)              # dh_j(t-k)/dtheta_j, k = 0..nb
                DU = z0(Bn, na, O, H, Pj)               # du_oj(t-m)/dtheta_j, m = 1..na
            grads = [z0(p.shape) for p in self.parameters()]
            loss = 0.0
            for t in range(T):
                I, H, Bc, A, b = (v.detach() if torch.is_tensor(v) else v for v in layers[0])
                z, xs, mem[0][0], yh_new = filtered(X[:, t], Bc, A, b, *mem[0])
                SB, SA, sens[0][0], sens[0][1] = sensitivities(xs, mem[0][1], A, *sens[0])
                mem[0][1] = yh_new
                h = torch.tanh(z)
                dsh = 1.0 - h * h                                          # dh/ds
                if self.out_filters:
                    _, O, Bo, Ao, bo = (v.detach() if torch.is_tensor(v) else v for v in layers[1])
                    u, hs, mem[1][0], uh_new = filtered(h, Bo, Ao, bo, *mem[1])
                    SBo, SAo, sens[1][0], sens[1][1] = sensitivities(hs, mem[1][1], Ao, *sens[1])
                    mem[1][1] = uh_new
                    y = ACTS[self.readout_kind](u)
                else:
                    y = self.readout(h)
                err = y - Y[:, t]
                loss += float((W[:, t] * err * err).sum())
                dy = 2.0 * W[:, t] * err
                kind = self.readout_kind
                delta = dy if kind in ("linear", "none") else \
                    dy * (1.0 - y * y) if kind == "tanh" else dy * y * (1.0 - y)
                local = torch.cat([SB.reshape(Bn, H, -1), SA.reshape(Bn, H, -1),
                                   X.new_ones(Bn, H, 1)], 2) * dsh[..., None]   # dh_j/dtheta_j
                if self.out_filters:
                    # du_oj/dtheta_j = sum_k Bo_ojk dh_j(t-k)/dtheta_j + sum_m Ao_ojm du_oj(t-m)/dtheta_j
                    Dh = torch.cat([local[:, None], Dh[:, :nb]], 1)
                    DUt = torch.einsum("ojk,bkjp->bojp", Bo, Dh)
                    if na:
                        DUt = DUt + torch.einsum("ojm,bmojp->bojp", Ao, DU)
                        DU = torch.cat([DUt[:, None], DU[:, :na - 1]], 1)
                    gj = torch.einsum("bo,bojp->jp", delta, DUt)
                else:
                    dh = delta if kind == "none" else delta @ self.W_out.detach()
                    gj = torch.einsum("bj,bjp->jp", dh, local)
                g_t = [gj[:, :I * (nb + 1)].reshape(H, I, nb + 1)]
                if na:
                    g_t.append(gj[:, I * (nb + 1):Pj - 1].reshape(H, I, na))
                g_t.append(gj[:, Pj - 1])
                if self.out_filters:
                    g_t.append(torch.einsum("bo,bojk->ojk", delta, SBo))
                    if na:
                        g_t.append(torch.einsum("bo,bojk->ojk", delta, SAo))
                    g_t.append(delta.sum(0))
                elif kind != "none":
                    g_t += [delta.T @ h, delta.sum(0)]
                if on_step is None:
                    for acc, g in zip(grads, g_t):
                        acc += g
                else:
                    on_step(torch.cat([g.reshape(-1) for g in g_t]))
            return loss, torch.cat([g.reshape(-1) for g in grads])
    return LRNNTwin


FAMILY = family(
    name="lrnn", description="locally recurrent network: an MLP whose input synapses are IIR "
                             "filters (zeros, poles; poles 0: FIR)",
    readouts=("linear", "tanh", "sigmoid", "none"),
    options={"zeros": Option(2, f"nb, the synapse filters' MA order; integer in 0..{MAX_ORDER}",
                             _order),
             "poles": Option(2, f"na, the synapse filters' AR order (0: FIR); integer in "
                                f"0..{MAX_ORDER}", _order),
             "output_filters": Option(False, "the hidden-to-output synapses are IIR filters "
                                             "too: true or false", _boolean)},
    blocks=blocks, features=lambda I, H, opts: None if opts["output_filters"] else H, sizes=sizes,
    cfg=lambda I, H, O, opts: [float(opts["zeros"]), float(opts["poles"]),
                               float(bool(opts["output_filters"]))],
    pack=pack, step=step, check=check, array=array, twin=lazy_twin(_twin_class))
