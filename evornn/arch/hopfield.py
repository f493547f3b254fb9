"""Hopfield network (Hopfield 1982, 1984): N symmetric units relaxing towards stored patterns.

The sequence contract: inputs X [B, T, N] with n_in = n_hidden = n_out = N (the units).
The state starts from the probe x_0: s = sign(x_0) for binary units (sign(0) = +1), s = x_0
for continuous ones. Each time step t is one relaxation sweep over all N units; inputs
x_t for t >= 1 are an external field added to every unit's net input (zero for plain
recall; x_0 is the probe and not also a field). Output y_t is the state after sweep t, so
T is the number of sweeps and, once a sweep with no field changes nothing, the remaining
outputs are that fixed point (the kernel skips the work then; the results are the same).

    h_i = sum_j W_ij s_j - theta_i + field_i
    binary:      s_i = +1 if h_i >= 0 else -1
    continuous:  s_i = tanh(gain * h_i)

Genome: ``W`` the strict upper triangle of the symmetric weight matrix (N(N-1)/2 genes,
row by row: W_01, W_02, ..., W_12, ...; the diagonal is zero) and ``theta`` the thresholds.
update='sync' computes every unit from the previous state at once; update='async'
updates one unit at a time, in a random order per sweep drawn from (order_seed, sweep
index) by ``sweep_order`` (the same for every genome and sequence).

Energy (``energy``): E(s) = -1/2 s^T W s + theta . s. With binary units and async
updates it never increases along a relaxation with no field.
"""
import numpy as np
from numba import njit

from ..options import Option, choice, positive
from . import kernels as kn
from .blocks import uniform
from .spec import family, lazy_twin

UNITS = ("binary", "continuous")
UPDATES = ("async", "sync")
M32 = 0xFFFFFFFF                  # the order generator works on 32-bit unsigned integers
SEED_MAX = 2 ** 31


def n_pairs(N: int) -> int:
    """Genes of the W block: the strict upper triangle of an N x N matrix."""
    return N * (N - 1) // 2


def blocks(I, H, O, opts):
    return [uniform("W", (n_pairs(H),), 1.0 / np.sqrt(H)), uniform("theta", (H,), 0.1)]


def sizes(I, H, O, opts):
    # packed: W full [N, N] and theta; state a sequence: s, a scratch row, a sweep counter
    # and a flag (no field and nothing changed in the last sweep)
    return H * H + H, 2 * H + 2


def cfg(I, H, O, opts):
    return [UNITS.index(opts["units"]), float(opts["gain"]), UPDATES.index(opts["update"]),
            float(opts["order_seed"])]


def check(I, H, O, opts):
    if not I == H == O:
        raise ValueError(f"hopfield: n_in, n_hidden and n_out must all be N (the units), got "
                         f"n_in={I}, n_hidden={H}, n_out={O}")
    if H < 2:
        raise ValueError(f"hopfield: needs at least 2 units, got N={H}")


def _seed_check(v):
    ok = isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < SEED_MAX
    return None if ok else f"must be an integer in [0, {SEED_MAX})"


@njit(**kn.JIT)
def _lcg(x):
    return (x * 1664525 + 1013904223) & M32


@njit(**kn.JIT)
def order_into(seed, sweep, order):
    """order[:] = the permutation of range(N) that sweep ``sweep`` visits the units in:
    Fisher-Yates driven by a 32-bit LCG seeded from (seed, sweep)."""
    N = order.shape[0]
    for i in range(N):
        order[i] = i
    x = ((seed & M32) * 69069 + (sweep & M32) * 362437 + 1) & M32
    for _ in range(3):
        x = _lcg(x)
    for i in range(N - 1, 0, -1):
        x = _lcg(x)
        j = (x >> 8) % (i + 1)
        v = order[i]
        order[i] = order[j]
        order[j] = v


def sweep_order(seed: int, sweep: int, N: int) -> np.ndarray:
    """The order (unit indices) in which async sweep number ``sweep`` updates N units."""
    order = np.empty(N, np.int64)
    order_into(int(seed), int(sweep), order)
    return order


@njit(**kn.JIT)
def pack(g, cfg, fixed, w):
    N = int(cfg[kn.C_HID])
    k = 0
    for i in range(N):
        w[i * N + i] = 0.0
        for j in range(i + 1, N):
            w[i * N + j] = g[k]
            w[j * N + i] = g[k]
            k += 1
    for i in range(N):
        w[N * N + i] = g[k + i]


@njit(**kn.JIT)
def _unit(h, binary, gain, one):
    if binary:
        return one if h >= 0 else -one
    return kn.tanh(gain * h)


@njit(**kn.JIT)
def _drive(W, theta, s, x, b, i, field, zero):
    """Unit i's net input in sequence b: sum_j W_ij s_j - theta_i (+ field_i)."""
    h = zero
    for j in range(W.shape[1]):
        h += W[i, j] * s[b, j]
    h = h - theta[i]
    if field:
        h = h + x[b, i]
    return h


@njit(**kn.JIT)
def step(w, cfg, fixed, state, x, y):
    B, N = x.shape
    W = kn.view2d(w, 0, N, N)
    theta = w[N * N:N * N + N]
    s = kn.view2d(state, 0, B, N)
    buf = kn.view2d(state, B * N, B, N)
    c0 = 2 * B * N
    t = int(state[c0])
    one, zero = x.dtype.type(1.0), x.dtype.type(0.0)
    binary = cfg[kn.C_OPT] == 0
    gain = x.dtype.type(cfg[kn.C_OPT + 1])
    sync = cfg[kn.C_OPT + 2] == 1
    if t == 0:                                   # the probe: the starting state
        for b in range(B):
            for i in range(N):
                v = x[b, i]
                s[b, i] = (one if v >= zero else -one) if binary else v
    if not sync:                                 # this sweep's order, in the scratch row
        order_into(int(cfg[kn.C_OPT + 3]), t, buf[0])
    for b in range(B):
        field = False
        if t > 0:
            for i in range(N):
                if x[b, i] != zero:
                    field = True
        if t > 0 and not field and state[c0 + 1 + b] == one:
            continue                             # at a fixed point: the sweep changes nothing
        changed = False
        if sync:
            for i in range(N):
                buf[b, i] = _unit(_drive(W, theta, s, x, b, i, field, zero), binary, gain, one)
            for i in range(N):
                if buf[b, i] != s[b, i]:
                    changed = True
                s[b, i] = buf[b, i]
        else:
            order = buf[0]
            for k in range(N):
                i = int(order[k])
                v = _unit(_drive(W, theta, s, x, b, i, field, zero), binary, gain, one)
                if v != s[b, i]:
                    changed = True
                s[b, i] = v
        state[c0 + 1 + b] = zero if (changed or field) else one
    state[c0] = t + 1
    for b in range(B):
        for i in range(N):
            y[b, i] = s[b, i]


# -- weights, energy ------------------------------------------------------------------------
def full_weights(W_genes, N: int, xp=np):
    """The symmetric [..., N, N] matrix (zero diagonal) from W blocks [..., N(N-1)/2]."""
    W_genes = xp.asarray(W_genes)
    iu, ju = np.triu_indices(N, 1)
    W = xp.zeros(W_genes.shape[:-1] + (N, N), W_genes.dtype)
    W[..., xp.asarray(iu), xp.asarray(ju)] = W_genes
    return W + xp.swapaxes(W, -1, -2)


def energy(W_full, theta, s):
    """E = -1/2 s^T W s + theta . s for states s [..., N] (W_full [N, N], theta [N])."""
    W, th, s = np.asarray(W_full), np.asarray(theta), np.asarray(s)
    return -0.5 * np.einsum("...i,ij,...j->...", s, W, s) + s @ th


# -- array form -----------------------------------------------------------------------------
def array(layer, G, X, xp):
    """[P, B, T, N] from G [P, D] and X [P|1, B, T, N] as batched array operations."""
    o, N = layer.opts, layer.n_hidden
    P, B, T, dt = G.shape[0], X.shape[1], X.shape[2], X.dtype
    g = G[:, layer.offset:layer.offset + layer.n_genes].astype(dt)
    W = full_weights(g[:, :n_pairs(N)], N, xp)                          # [P, N, N]
    theta = g[:, n_pairs(N):][:, None, :]                                # [P, 1, N]
    binary, gain = o["units"] == "binary", o["gain"]

    def unit(h):
        if binary:
            return xp.where(h >= 0, 1.0, -1.0).astype(dt)
        return xp.tanh(dt.type(gain) * h)

    x0 = xp.broadcast_to(X[:, :, 0], (P, B, N))
    s = xp.where(x0 >= 0, 1.0, -1.0).astype(dt) if binary else x0.astype(dt)
    s = xp.ascontiguousarray(s)
    out = xp.empty((P, B, T, N), dt)
    for t in range(T):
        drive = -theta if t == 0 else X[:, :, t] - theta                  # [P|1, B|1, N]
        if o["update"] == "sync":
            s = unit(s @ W + drive)                                       # W symmetric
        else:
            drive = xp.broadcast_to(drive, (P, B, N))
            for i in sweep_order(o["order_seed"], t, N):
                s[:, :, i] = unit((s @ W[:, :, i, None])[..., 0] + drive[:, :, i])
        out[:, :, t] = s
    return out


# -- torch twin -----------------------------------------------------------------------------
def _twin_class():
    import torch

    from ..twins.layers import BlockModule

    class HopfieldTwin(BlockModule):
        """Continuous units only (binary units are a step function: no gradient). The state
        is [B, N + 1]: the units and the number of sweeps done (0: start from the probe)."""

        def __init__(self, lay):
            if lay.opts["units"] != "continuous":
                raise ValueError("hopfield: binary units have no gradient; a torch twin needs "
                                 "units='continuous'")
            super().__init__(lay)
            o = lay.opts
            self.N, self.gain = lay.n_hidden, float(o["gain"])
            self.sync, self.seed = o["update"] == "sync", int(o["order_seed"])
            iu, ju = np.triu_indices(self.N, 1)
            self.register_buffer("iu", torch.as_tensor(iu), persistent=False)
            self.register_buffer("ju", torch.as_tensor(ju), persistent=False)

        def full(self):
            W = self.W.new_zeros(self.N, self.N).index_put((self.iu, self.ju), self.W)
            return W + W.T

        def features(self, x):
            N, W = self.N, self.full()
            h0 = self.start(x, N + 1)
            t0 = int(h0[0, N]) if x.shape[0] else 0
            s, ys = h0[:, :N], []
            for k in range(x.shape[1]):
                t = t0 + k
                if t == 0:
                    s, f = x[:, 0], 0.0
                else:
                    f = x[:, k]
                drive = (f - self.theta).expand(x.shape[0], N)
                if self.sync:
                    s = torch.tanh(self.gain * (s @ W + drive))
                else:
                    cols = list(s.unbind(1))
                    for i in sweep_order(self.seed, t, N):
                        v = torch.stack(cols, 1) @ W[i] + drive[:, i]
                        cols[i] = torch.tanh(self.gain * v)
                    s = torch.stack(cols, 1)
                ys.append(s)
            self.hT = torch.cat([s, s.new_full((s.shape[0], 1), float(t0 + x.shape[1]))], 1)
            return torch.stack(ys, 1)
    return HopfieldTwin


# a traced graph freezes the branch taken at export, so its numbers would be wrong from the
# second step
NO_ONNX = ("its step branches on the step count in Python (step 0 loads the pattern, "
           "the asynchronous sweep order changes with t), which a traced ONNX graph "
           "freezes at export")

FAMILY = family(
    no_onnx=NO_ONNX,
    name="hopfield", description="Hopfield network: symmetric weights relaxing a probe towards "
                                 "stored patterns (binary or continuous units)",
    readouts=("none",),
    options={"units": Option("binary", "the units: binary (+-1, a step at 0) or continuous "
                                       "(tanh(gain * h))", choice(*UNITS)),
             "gain": Option(1.0, "slope of continuous units, tanh(gain * h) (binary units "
                                 "ignore it)", positive),
             "update": Option("async", "async: one unit at a time in a random order per sweep; "
                                       "sync: all units from the previous state", choice(*UPDATES)),
             "order_seed": Option(0, "seed of the async orders (one permutation per sweep index, "
                                     "the same for every genome and sequence)", _seed_check)},
    blocks=blocks, features=lambda I, H, opts: H, sizes=sizes, cfg=cfg, check=check,
    pack=pack, step=step, array=array, twin=lazy_twin(_twin_class), one_size=True)
