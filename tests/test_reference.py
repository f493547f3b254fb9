"""Every architecture against an independent plain-NumPy reference of its equations.

The references below read the weights only through ``net.block(name)`` (and, for the
ESN, the fixed reservoir in ``net.layers[i].fixed``) and never call an evornn kernel.
They encode the equations stated in each family's module docstring; option defaults
are written out here on purpose (not read from the library), so a silently changed
default shows up as a mismatch.
"""
from __future__ import annotations

import numpy as np
import pytest

import evornn
from evornn import Network, population_forward
from evornn.arch import esn as esn_family
from evornn.arch.dispatch import MODULES
from evornn.arch.kernels import C_OPT
from tests.family_cases import STATELESS, one_size, sized
from tests.test_bam import recall as bam_recall
from tests.test_hopfield import relax, weights_of

I_, H_, O_, T_, B_ = 3, 5, 2, 7, 5   # B = 5 runs both the 4-row tiles and the remainder row
SEEDS = (0, 1, 2)
ATOL64, ATOL32 = 1e-9, 1e-4

# ---------------------------------------------------------------------------------------
# helpers


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def relu(z):
    return np.maximum(z, 0.0)


class Getter:
    """net.block(prefix + name), remembering which blocks the reference used."""

    def __init__(self, net, prefix=""):
        self.net, self.prefix, self.used = net, prefix, set()

    def __call__(self, name):
        self.used.add(self.prefix + name)
        return np.array(self.net.block(self.prefix + name), dtype=np.float64)


def apply_readout(get, feats, readout, O):
    """feats [B, T, F] -> outputs [B, T, O]."""
    if readout == "none":
        return feats
    if readout == "neurons":
        return feats[..., :O]
    z = feats @ get("W_out").T + get("b_out")
    return {"linear": lambda v: v, "tanh": np.tanh, "sigmoid": sigmoid}[readout](z)


# ---------------------------------------------------------------------------------------
# references: ref(get, X [B, T, I], H, O, opts, fixed) -> Y [B, T, O]

DEFAULTS = {
    "elman": {"readout": "linear", "activation": "tanh"},
    "jordan": {"readout": "tanh", "context_decay": 0.0},
    "frnn": {"readout": "neurons", "activation": "sigmoid", "bias": True},
    "lstm": {"readout": "linear"},
    "gru": {"readout": "linear"},
    "indrnn": {"readout": "linear", "activation": "relu", "max_recurrent": 1.0},
    "ctrnn": {"readout": "neurons", "dt": 0.1, "integrator": "euler", "tau_range": (0.5, 10.0),
              "gains": False, "genes": "raw", "weight_range": 16.0},
    "mtrnn": {"readout": "neurons", "dt": 1.0, "integrator": "euler", "n_slow": None,
              "tau_fast": 5.0, "tau_slow": 70.0, "genes": "raw", "weight_range": 16.0},
    "esn": {"readout": "linear", "spectral_radius": 0.9, "leak": 1.0, "input_scaling": 1.0,
            "bias_scaling": 0.0, "density": 0.1, "readout_inputs": True, "evolve_leak": False,
            "evolve_input_scaling": False, "evolve_spectral_radius": False,
            "evolve_bias_scaling": False},
    "second_order": {"readout": "linear", "activation": "sigmoid"},
    "ntm": {"readout": "linear", "controller": "lstm", "memory": (128, 20), "read_heads": 1,
            "write_heads": 1, "shift": 3},
    "stack_rnn": {"readout": "linear", "controller": "lstm", "memory": "stack", "width": 8,
                  "capacity": 256},
    "dnc": {"readout": "linear", "controller": "lstm", "memory": (32, 20), "read_heads": 1},
    "hopfield": {"readout": "none", "units": "binary", "gain": 1.0, "update": "async",
                 "order_seed": 0},
    "bam": {"readout": "none", "split": None, "units": "binary", "gain": 1.0},
    "seq2seq": {"readout": "linear", "encoder": "gru", "decoder": "gru", "attention": "bahdanau",
                "max_source": 64, "input_feeding": False},
    "recursive": {"readout": "linear", "cell": "plain", "stack": 8},
    "pixelrnn": {"readout": "linear", "variant": "row", "image": "8,8"},
    "lsm": {"readout": "linear", "tau_m": 30.0, "threshold": 15.0, "reset": 13.5,
            "background": 13.5, "dt": 1.0, "tau_filter": 30.0},
    "hrnn": {"readout": "linear", "modules": 4, "periods": None},
    "rmlp": {"readout": "linear", "layers": None},
    "lrnn": {"readout": "linear", "zeros": 2, "poles": 2, "output_filters": False},
    "history_compressor": {"readout": "linear", "levels": 2, "sizes": None, "predict": "head",
                           "head_activation": "linear", "threshold": 0.5, "stamps": 0.1,
                           "collapse": False},
}


def ref_elman(get, X, H, O, o, fixed):
    W_ih, W_hh, b = get("W_ih"), get("W_hh"), get("b")
    act = {"tanh": np.tanh, "relu": relu}[o["activation"]]
    h = np.zeros((X.shape[0], H))
    hs = []
    for t in range(X.shape[1]):
        h = act(X[:, t] @ W_ih.T + h @ W_hh.T + b)
        hs.append(h)
    return apply_readout(get, np.stack(hs, 1), o["readout"], O)


def ref_jordan(get, X, H, O, o, fixed):
    W_ih, W_ch, b = get("W_ih"), get("W_ch"), get("b")
    W_out, b_out = get("W_out"), get("b_out")
    act = {"linear": lambda v: v, "tanh": np.tanh, "sigmoid": sigmoid}[o["readout"]]
    c = np.zeros((X.shape[0], O))
    ys = []
    for t in range(X.shape[1]):
        h = np.tanh(X[:, t] @ W_ih.T + c @ W_ch.T + b)
        y = act(h @ W_out.T + b_out)
        c = o["context_decay"] * c + y
        ys.append(y)
    return np.stack(ys, 1)


def ref_frnn(get, X, H, O, o, fixed):
    W_ih, W_hh = get("W_ih"), get("W_hh")
    b = get("b") if o["bias"] else np.zeros(H)
    act = {"sigmoid": sigmoid, "tanh": np.tanh}[o["activation"]]
    a = np.zeros((X.shape[0], H))
    As = []
    for t in range(X.shape[1]):
        a = act(X[:, t] @ W_ih.T + a @ W_hh.T + b)
        As.append(a)
    return apply_readout(get, np.stack(As, 1), o["readout"], O)


def ref_lstm(get, X, H, O, o, fixed):
    W_ih, W_hh, b = get("W_ih"), get("W_hh"), get("b")
    h = np.zeros((X.shape[0], H))
    c = np.zeros_like(h)
    hs = []
    for t in range(X.shape[1]):
        z = X[:, t] @ W_ih.T + h @ W_hh.T + b
        i, f, g, og = z[:, :H], z[:, H:2 * H], z[:, 2 * H:3 * H], z[:, 3 * H:]
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(og) * np.tanh(c)
        hs.append(h)
    return apply_readout(get, np.stack(hs, 1), o["readout"], O)


def ref_gru(get, X, H, O, o, fixed):
    W_ih, W_hh, b_ih, b_hn = get("W_ih"), get("W_hh"), get("b_ih"), get("b_hn")
    h = np.zeros((X.shape[0], H))
    hs = []
    for t in range(X.shape[1]):
        gi = X[:, t] @ W_ih.T + b_ih
        gh = h @ W_hh.T
        r = sigmoid(gi[:, :H] + gh[:, :H])
        z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gi[:, 2 * H:] + r * (gh[:, 2 * H:] + b_hn))
        h = (1 - z) * n + z * h
        hs.append(h)
    return apply_readout(get, np.stack(hs, 1), o["readout"], O)


def ref_indrnn(get, X, H, O, o, fixed):
    m = o["max_recurrent"]
    W_ih, u, b = get("W_ih"), np.clip(get("u"), -m, m), get("b")
    act = {"relu": relu, "tanh": np.tanh}[o["activation"]]
    h = np.zeros((X.shape[0], H))
    hs = []
    for t in range(X.shape[1]):
        h = act(X[:, t] @ W_ih.T + u * h + b)
        hs.append(h)
    return apply_readout(get, np.stack(hs, 1), o["readout"], O)


def ctrnn_integrate(X, W, W_in_full, theta, tau, gain, dt, integrator):
    """Beer's CTRNN from y = 0; firing rates sigma(g (y + theta)) after each step."""
    y = np.zeros((X.shape[0], W.shape[0]))

    def rate(v):
        return sigmoid(gain * (v + theta))

    def f(v, u):
        return (-v + rate(v) @ W.T + u) / tau

    rates = []
    for t in range(X.shape[1]):
        u = X[:, t] @ W_in_full.T                    # input held during the whole step
        if integrator == "euler":
            y = y + dt * f(y, u)
        else:
            k1 = f(y, u)
            k2 = f(y + dt / 2 * k1, u)
            k3 = f(y + dt / 2 * k2, u)
            k4 = f(y + dt * k3, u)
            y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        rates.append(rate(y))
    return np.stack(rates, 1)


def unit_genes(get, o):
    """get() mapped from unit genes in [-1, 1]: weights and biases times weight_range, tau
    and gains linearly onto their ranges (genes clipped into [-1, 1] first)."""
    if o.get("genes", "raw") == "raw":
        return get
    ranges = {"tau": tuple(o.get("tau_range", (0, 0))), "gain": (0.05, 20.0)}

    def mapped(name):
        g = get(name)
        if name in ranges:
            lo, hi = ranges[name]
            return lo + (np.clip(g, -1, 1) + 1) / 2 * (hi - lo)
        return g * o["weight_range"]
    return mapped


def ref_ctrnn(get, X, H, O, o, fixed):
    lo, hi = o["tau_range"]
    get = unit_genes(get, o)
    tau = np.clip(get("tau"), lo, hi)
    gain = get("gain") if o["gains"] else np.ones(H)
    R = ctrnn_integrate(X, get("W"), get("W_in"), get("theta"), tau, gain, o["dt"],
                        o["integrator"])
    return apply_readout(get, R, o["readout"], O)


def ref_mtrnn(get, X, H, O, o, fixed):
    ns = max(1, H // 4) if o["n_slow"] is None else o["n_slow"]
    nf = H - ns
    get = unit_genes(get, o)
    W_in = get("W_in")
    assert W_in.shape == (nf, X.shape[2])
    W_in_full = np.vstack([W_in, np.zeros((ns, X.shape[2]))])   # slow neurons get no input
    tau = np.array([o["tau_fast"]] * nf + [o["tau_slow"]] * ns)
    R = ctrnn_integrate(X, get("W"), W_in_full, get("theta"), tau, np.ones(H), o["dt"],
                        o["integrator"])
    return apply_readout(get, R, o["readout"], O)


def esn_reservoir(fixed, I, H, density=0.1):
    """(W [H, H] with unit spectral radius, W_in [H, I], unit b [H]) from the layer's fixed
    array: W_in^T, b, then W as rows' nonzero counts and (column, value) pairs at density
    <= 0.05, else W^T dense."""
    fixed = np.asarray(fixed, dtype=np.float64)
    W_in = fixed[:I * H].reshape(I, H).T
    b = fixed[I * H:I * H + H]
    res = fixed[I * H + H:]
    if density > 0.05:
        assert res.size == H * H
        return res.reshape(H, H).T, W_in, b
    counts = res[:H].astype(int)
    pairs = res[H:].reshape(-1, 2)
    assert len(pairs) == counts.sum() and np.all(counts >= 0)
    W = np.zeros((H, H))
    W[np.repeat(np.arange(H), counts), pairs[:, 0].astype(int)] = pairs[:, 1]
    assert np.count_nonzero(W) == len(pairs)           # no column twice in a row
    return W, W_in, b


def ref_esn(get, X, H, O, o, fixed):
    I = X.shape[2]
    W, W_in, b = esn_reservoir(fixed, I, H, o["density"])
    a = get("leak")[0] if o["evolve_leak"] else o["leak"]
    s = get("input_scaling")[0] if o["evolve_input_scaling"] else o["input_scaling"]
    rho = get("spectral_radius")[0] if o["evolve_spectral_radius"] else o["spectral_radius"]
    beta = get("bias_scaling")[0] if o["evolve_bias_scaling"] else o["bias_scaling"]
    h = np.zeros((X.shape[0], H))
    feats = []
    for t in range(X.shape[1]):
        h = (1 - a) * h + a * np.tanh(rho * h @ W.T + s * X[:, t] @ W_in.T + beta * b)
        feats.append(np.concatenate([h, X[:, t]], 1) if o["readout_inputs"] else h)
    return apply_readout(get, np.stack(feats, 1), o["readout"], O)


def ref_second_order(get, X, H, O, o, fixed):
    W, b = get("W"), get("b")
    act = {"sigmoid": sigmoid, "tanh": np.tanh}[o["activation"]]
    h = np.zeros((X.shape[0], H))
    hs = []
    for t in range(X.shape[1]):
        h = act(np.einsum("ijk,bj,bk->bi", W, h, X[:, t]) + b)
        hs.append(h)
    return apply_readout(get, np.stack(hs, 1), o["readout"], O)


def softplus(z):
    return np.logaddexp(0.0, z)


def ntm_address(p, mem, w_prev, M, S):
    """One head's new weighting [N] from its raw parameters p (key, beta, g, shift, gamma)."""
    k = np.tanh(p[:M])
    beta, g = softplus(p[M]), sigmoid(p[M + 1])
    s = np.exp(p[M + 2:M + 2 + S]) / np.exp(p[M + 2:M + 2 + S]).sum()
    gamma = 1.0 + softplus(p[M + 2 + S])
    cos = mem @ k / (np.linalg.norm(k) * np.linalg.norm(mem, axis=1) + 1e-8)
    wc = np.exp(beta * cos) / np.exp(beta * cos).sum()
    wg = g * wc + (1 - g) * w_prev
    N = len(wg)
    wt = np.array([sum(s[j] * wg[(i - (j - S // 2)) % N] for j in range(S)) for i in range(N)])
    wt = wt ** gamma
    return wt / wt.sum()


def ref_ntm(get, X, H, O, o, fixed):
    N, M = o["memory"]
    R, Wn, S = o["read_heads"], o["write_heads"], o["shift"]
    W_ih, b = get("W_ih"), get("b")
    W_hh = get("W_hh") if o["controller"] == "lstm" else None
    W_read, b_read, W_write, b_write = get("W_read"), get("b_read"), get("W_write"), get("b_write")
    PR, PW = M + S + 3, 3 * M + S + 3
    feats = np.zeros((X.shape[0], X.shape[1], H + R * M))
    for n in range(X.shape[0]):
        mem = np.full((N, M), 1e-6)
        start = np.eye(N)[0]
        wr, ww = [start] * R, [start] * Wn
        r, h, c = np.zeros(R * M), np.zeros(H), np.zeros(H)
        for t in range(X.shape[1]):
            u = np.concatenate([X[n, t], r])
            if W_hh is not None:
                z = W_ih @ u + W_hh @ h + b
                c = sigmoid(z[H:2 * H]) * c + sigmoid(z[:H]) * np.tanh(z[2 * H:3 * H])
                h = sigmoid(z[3 * H:]) * np.tanh(c)
            else:
                h = np.tanh(W_ih @ u + b)
            zr, zw = W_read @ h + b_read, W_write @ h + b_write
            heads = [zw[q * PW:(q + 1) * PW] for q in range(Wn)]
            ww = [ntm_address(p, mem, w0, M, S) for p, w0 in zip(heads, ww)]
            keep, add = np.ones((N, M)), np.zeros((N, M))
            for p, w in zip(heads, ww):
                keep *= 1 - np.outer(w, sigmoid(p[M + S + 3:2 * M + S + 3]))
                add += np.outer(w, np.tanh(p[2 * M + S + 3:]))
            mem = mem * keep + add
            wr = [ntm_address(zr[q * PR:(q + 1) * PR], mem, wr[q], M, S) for q in range(R)]
            r = np.concatenate([w @ mem for w in wr])
            feats[n, t] = np.concatenate([h, r])
    return apply_readout(get, feats, o["readout"], O)


def dnc_content(M, key, beta):
    """softmax_i(beta cos(key, M_i)), the cosine's denominator |key| |M_i| + 1e-8."""
    sims = np.array([beta * (key @ M[i]) / (np.linalg.norm(key) * np.linalg.norm(M[i]) + 1e-8)
                     for i in range(len(M))])
    e = np.exp(sims - sims.max())
    return e / e.sum()


def dnc_allocation(u):
    """a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i]; phi: slots by usage, ties in slot order."""
    phi = sorted(range(len(u)), key=lambda i: u[i])        # Python's sort is stable
    a, prod = np.zeros(len(u)), 1.0
    for j in phi:
        a[j] = (1.0 - u[j]) * prod
        prod *= u[j]
    return a


def ref_dnc(get, X, H, O, o, fixed):
    """Graves et al. 2016's DNC, one sequence at a time, the memory updates as loops."""
    N, Wd = o["memory"]
    R = o["read_heads"]
    W_ih, b, W_xi, b_xi = get("W_ih"), get("b"), get("W_xi"), get("b_xi")
    W_hh = get("W_hh") if o["controller"] == "lstm" else None
    feats = np.zeros((X.shape[0], X.shape[1], H + R * Wd))
    for n in range(X.shape[0]):
        M = np.full((N, Wd), 1e-6)
        u, p, ww = np.zeros(N), np.zeros(N), np.zeros(N)
        L = np.zeros((N, N))
        wr = [np.zeros(N) for _ in range(R)]
        r, h, c = np.zeros(R * Wd), np.zeros(H), np.zeros(H)
        for t in range(X.shape[1]):
            x = np.concatenate([X[n, t], r])
            if W_hh is not None:
                z = W_ih @ x + W_hh @ h + b
                c = sigmoid(z[H:2 * H]) * c + sigmoid(z[:H]) * np.tanh(z[2 * H:3 * H])
                h = sigmoid(z[3 * H:]) * np.tanh(c)
            else:
                h = np.tanh(W_ih @ x + b)
            xi = list(W_xi @ h + b_xi)

            def take(k):
                out = np.array(xi[:k])
                del xi[:k]
                return out
            k_r = take(R * Wd).reshape(R, Wd)
            beta_r = 1.0 + softplus(take(R))
            k_w = take(Wd)
            beta_w = 1.0 + softplus(take(1)[0])
            e = sigmoid(take(Wd))
            v = take(Wd)
            f = sigmoid(take(R))
            g_a = sigmoid(take(1)[0])
            g_w = sigmoid(take(1)[0])
            modes = np.exp(take(3 * R).reshape(R, 3))
            modes /= modes.sum(1, keepdims=True)
            assert not xi
            psi = np.ones(N)
            for q in range(R):
                psi *= 1.0 - f[q] * wr[q]
            u = (u + ww - u * ww) * psi
            ww = g_w * (g_a * dnc_allocation(u) + (1.0 - g_a) * dnc_content(M, k_w, beta_w))
            M = M * (1.0 - np.outer(ww, e)) + np.outer(ww, v)
            L_new = np.zeros((N, N))
            for i in range(N):
                for j in range(N):
                    if i != j:
                        L_new[i, j] = (1.0 - ww[i] - ww[j]) * L[i, j] + ww[i] * p[j]
            L = L_new
            p = (1.0 - ww.sum()) * p + ww
            reads = []
            for q in range(R):
                fwd, bwd = L @ wr[q], L.T @ wr[q]
                wr[q] = modes[q, 0] * bwd + modes[q, 1] * dnc_content(M, k_r[q], beta_r[q]) \
                    + modes[q, 2] * fwd
                reads.append(M.T @ wr[q])
            r = np.concatenate(reads)
            feats[n, t] = np.concatenate([h, r])
    return apply_readout(get, feats, o["readout"], O)


def _beyond(s, i, from_top):
    """Strength of the slots above (from_top) or below slot i; s lists [B] arrays, bottom first."""
    rest = s[i + 1:] if from_top else s[:i]
    return sum(rest, np.zeros_like(s[i]))


def ref_stack_rnn(get, X, H, O, o, fixed):
    """Grefenstette et al. 2015's neural stack/queue/deque, memory as growing lists of slots."""
    W_ih, b, W_mem, b_mem = get("W_ih"), get("b"), get("W_mem"), get("b_mem")
    W_hh = np.zeros((W_ih.shape[0], H)) if o["controller"] == "dense" else get("W_hh")
    B, T, _ = X.shape
    S, Wd, C = (2 if o["memory"] == "deque" else 1), o["width"], o["capacity"]
    h, c, r = np.zeros((B, H)), np.zeros((B, H)), np.zeros((B, S * Wd))
    top, bottom = [], []                  # each end's slots [value, strength], oldest first
    hs = []
    for t in range(T):
        z = np.concatenate([X[:, t], r], 1) @ W_ih.T + h @ W_hh.T + b
        if o["controller"] == "lstm":
            c = sigmoid(z[:, H:2 * H]) * c + sigmoid(z[:, :H]) * np.tanh(z[:, 2 * H:3 * H])
            h = sigmoid(z[:, 3 * H:]) * np.tanh(c)
        else:
            h = np.tanh(z)
        m = h @ W_mem.T + b_mem
        d, u, v = sigmoid(m[:, :S]), sigmoid(m[:, S:2 * S]), np.tanh(m[:, 2 * S:])
        slots = bottom[::-1] + top                          # bottom to top
        s = [sl[1] for sl in slots]
        for i, sl in enumerate(slots):                      # pops act on the old strengths
            if o["memory"] == "stack":
                sl[1] = relu(s[i] - relu(u[:, 0] - _beyond(s, i, True)))
            elif o["memory"] == "queue":
                sl[1] = relu(s[i] - relu(u[:, 0] - _beyond(s, i, False)))
            else:
                sl[1] = relu(s[i] - relu(u[:, 0] - _beyond(s, i, True))
                             - relu(u[:, 1] - _beyond(s, i, False)))
        top.append([v[:, :Wd], d[:, 0]])
        if S == 2:
            bottom.append([v[:, Wd:], d[:, 1]])
        top, bottom = top[-C:], bottom[-C:]                 # each end keeps its last C pushes
        slots = bottom[::-1] + top
        s = [sl[1] for sl in slots]

        def read(from_top):
            return sum((np.minimum(s[i], relu(1 - _beyond(s, i, from_top)))[:, None] * sl[0]
                        for i, sl in enumerate(slots)), np.zeros((B, Wd)))
        r = {"stack": lambda: read(True), "queue": lambda: read(False),
             "deque": lambda: np.concatenate([read(True), read(False)], 1)}[o["memory"]]()
        hs.append(h)
    return apply_readout(get, np.stack(hs, 1), o["readout"], O)


def ref_hopfield(get, X, H, O, o, fixed):
    W, theta = weights_of(get("W"), H), get("theta")
    return relax(W, theta, X, o["units"], o["gain"], o["update"], o["order_seed"])


def ref_bam(get, X, H, O, o, fixed):
    n = H // 2 if o["split"] is None else o["split"]
    return bam_recall(get("W"), get("theta_x"), get("theta_y"), X, n, o["units"], o["gain"])


def _s2s_cell(get, p, cell, x, h, c):
    """One sequence's (h, c) after one step of an elman, gru or lstm cell (blocks prefixed p)."""
    H = h.size
    if cell == "gru":
        gi, gh = get(p + "W_ih") @ x + get(p + "b_ih"), get(p + "W_hh") @ h
        r, z = sigmoid(gi[:H] + gh[:H]), sigmoid(gi[H:2 * H] + gh[H:2 * H])
        n = np.tanh(gi[2 * H:] + r * (gh[2 * H:] + get(p + "b_hn")))
        return (1 - z) * n + z * h, c
    a = get(p + "W_ih") @ x + get(p + "W_hh") @ h + get(p + "b")
    if cell == "elman":
        return np.tanh(a), c
    c = sigmoid(a[H:2 * H]) * c + sigmoid(a[:H]) * np.tanh(a[2 * H:3 * H])
    return sigmoid(a[3 * H:]) * np.tanh(c), c


def ref_seq2seq(get, X, H, O, o, fixed):
    att, S = o["attention"], o["max_source"]
    feats = np.zeros(X.shape[:2] + (H if att == "none" else 2 * H,))
    for b in range(X.shape[0]):
        h, c, mem = np.zeros(H), np.zeros(H), []
        for t in range(X.shape[1]):
            x, decoding = X[b, t, :-1], X[b, t, -1] > 0.5
            if decoding and o["input_feeding"]:
                # the step before's context: zero after an encoder step or at t = 0
                x = np.concatenate([x, feats[b, t - 1, H:] if t else np.zeros(H)])
            h, c = _s2s_cell(get, "dec_" if decoding else "enc_",
                             o["decoder" if decoding else "encoder"], x, h, c)
            feats[b, t, :H] = h
            if att == "none":
                continue
            if not decoding:
                if len(mem) == S:
                    mem[-1] = h             # beyond max_source the last slot is overwritten
                else:
                    mem.append(h)
            elif mem:
                E = np.array(mem)
                if att == "bahdanau":
                    s = np.tanh(get("att_Wq") @ h + E @ get("att_Wk").T) @ get("att_v")
                else:
                    s = E @ get("att_W").T @ h
                a = np.exp(s - s.max())
                feats[b, t, H:] = (a / a.sum()) @ E
    return apply_readout(get, feats, o["readout"], O)


def ref_recursive(get, X, H, O, o, fixed):
    """A Python list as each sequence's stack: shift pushes the leaf, reduce pops two (missing
    ones are zeros) and pushes the parent; a push onto a full stack replaces the top."""
    tl, S = o["cell"] == "treelstm", o["stack"]
    E, b_leaf, W, b = get("E"), get("b_leaf"), get("W"), get("b")
    feats = np.zeros(X.shape[:2] + (H,))
    zero = (np.zeros(H), np.zeros(H))
    for s in range(X.shape[0]):
        stack = []
        for t in range(X.shape[1]):
            x, reduce = X[s, t, :-1], X[s, t, -1] > 0.5
            if reduce:
                (h1, c1), (h2, c2) = ([zero, zero] + stack)[-2:]
                del stack[-2:]
                z = W @ np.concatenate([h1, h2]) + b
                if tl:
                    i, fl, fr, og = (sigmoid(z[k * H:(k + 1) * H]) for k in range(4))
                    c = i * np.tanh(z[4 * H:]) + fl * c1 + fr * c2
                    node = (og * np.tanh(c), c)
                else:
                    node = (np.tanh(z), None)
            else:
                z = E @ x + b_leaf
                if tl:
                    c = sigmoid(z[:H]) * np.tanh(z[2 * H:])
                    node = (sigmoid(z[H:2 * H]) * np.tanh(c), c)
                else:
                    node = (np.tanh(z), None)
                if len(stack) == S:
                    stack.pop()
            stack.append(node)
            feats[s, t] = node[0]
    return apply_readout(get, feats, o["readout"], O)


def _pix_cell(z, c_prev):
    H = z.shape[-1] // 4
    c = sigmoid(z[..., H:2 * H]) * c_prev + sigmoid(z[..., :H]) * np.tanh(z[..., 2 * H:3 * H])
    return sigmoid(z[..., 3 * H:]) * np.tanh(c), c


def ref_pixelrnn(get, X, H, O, o, fixed):
    """Pixel by pixel in raster order over every image (each step one image, row-major)."""
    R, C = (int(v) for v in o["image"].split(","))
    B, T, _ = X.shape
    x = X.reshape(B * T, R, C)
    n = x.shape[0]
    y = np.zeros((n, R, C))
    zero = np.zeros((n, H))
    if o["variant"] == "row":
        W_is, W_ss, b = get("W_is"), get("W_ss"), get("b")
        h, c = np.zeros((R, C, n, H)), np.zeros((R, C, n, H))
        for r in range(R):
            for k in range(C):
                z = b + sum(np.outer(x[:, r, k - s], W_is[:, s - 1]) for s in range(1, k + 1))
                if r > 0:
                    z = z + sum(h[r - 1, k + t - 1] @ W_ss[:, :, t].T
                                + np.outer(x[:, r - 1, k + t - 1], get("W_ip")[:, t])
                                for t in range(3) if 0 <= k + t - 1 < C)
                h[r, k], c[r, k] = _pix_cell(z, c[r - 1, k] if r > 0 else zero)
                y[:, r, k] = h[r, k] @ get("W_out")
    else:
        maps = {}
        for d, cols in (("_l", range(C)), ("_r", range(C - 1, -1, -1))):
            W_is, W_ss, b = get("W_is" + d), get("W_ss" + d), get("b" + d)
            first = -1 if d == "_l" else 1                   # the column of the first neighbour
            h, c = np.zeros((R, C, n, H)), np.zeros((R, C, n, H))
            for r in range(R):
                for k in cols:
                    z = b + np.outer(x[:, r, k], W_is)
                    inside = 0 <= k + first < C
                    if inside:
                        z = z + h[r, k + first] @ W_ss[:, :, 0].T
                    if r > 0:
                        z = z + h[r - 1, k] @ W_ss[:, :, 1].T
                    h[r, k], c[r, k] = _pix_cell(z, c[r, k + first] if inside else zero)
            maps[d] = h
        W_out = get("W_out")
        for r in range(R):
            for k in range(C):
                if k > 0:
                    y[:, r, k] += maps["_l"][r, k - 1] @ W_out[:H]
                if r > 0:
                    y[:, r, k] += maps["_r"][r - 1, k] @ W_out[H:]
    y = y.reshape(n, R * C) + get("b_out")
    if o["readout"] == "sigmoid":
        y = sigmoid(y)
    return y.reshape(B, T, R * C)


def ref_lsm(get, X, H, O, o, fixed):
    """Leaky integrate-and-fire neurons, one neuron and one sequence at a time, from the layer's
    fixed array: W_in^T, refractory steps, then W by source (starts, (target, weight) pairs)."""
    I = X.shape[2]
    fixed = np.asarray(fixed, dtype=np.float64)
    W_in = fixed[:I * H].reshape(I, H).T
    ref = fixed[I * H:I * H + H]
    starts = fixed[I * H + H:I * H + 2 * H + 1].astype(int)
    pairs = fixed[I * H + 2 * H + 1:].reshape(-1, 2)
    W = np.zeros((H, H))
    for k in range(H):
        for tgt, wt in pairs[starts[k]:starts[k + 1]]:
            W[int(tgt), k] = wt
    E = o["background"]
    decay, fdecay = np.exp(-o["dt"] / o["tau_m"]), np.exp(-o["dt"] / o["tau_filter"])
    feats = np.zeros(X.shape[:2] + (H,))
    for b in range(X.shape[0]):
        v, left, s, r = np.full(H, E), np.zeros(H), np.zeros(H), np.zeros(H)
        for t in range(X.shape[1]):
            jump = W_in @ X[b, t] + W @ s
            for j in range(H):
                s[j] = 0.0
                if left[j] > 0:
                    left[j] -= 1
                    continue
                v[j] = E + (v[j] - E) * decay + jump[j]
                if v[j] >= o["threshold"]:
                    s[j], v[j], left[j] = 1.0, o["reset"], ref[j]
            r = r * fdecay + s
            feats[b, t] = r
    return apply_readout(get, feats, o["readout"], O)


def ref_hrnn(get, X, H, O, o, fixed):
    """Koutnik et al. 2014's clockwork RNN: module i (sizes H // g, the first H % g one more)
    updates at steps t = 0, 1, ... with t mod T_i = 0 from itself and the slower modules."""
    g = o["modules"]
    T = o["periods"] or [2 ** i for i in range(g)]
    n = [H // g + (i < H % g) for i in range(g)]
    start = np.cumsum([0] + n)
    W_ih, b = get("W_ih"), get("b")
    W_hh = [get(f"W_hh_{i}") for i in range(g)]
    h, hs = np.zeros((X.shape[0], H)), []
    for t in range(X.shape[1]):
        new = h.copy()
        for i in range(g):
            if t % T[i] == 0:
                rows = slice(start[i], start[i + 1])
                z = X[:, t] @ W_ih[rows].T + b[rows]
                for j in range(i, g):       # block (i, j): module j's units, in W_hh_i's columns
                    cols = slice(start[j] - start[i], start[j + 1] - start[i])
                    z = z + h[:, start[j]:start[j + 1]] @ W_hh[i][:, cols].T
                new[:, rows] = np.tanh(z)
        h = new
        hs.append(h)
    return apply_readout(get, np.stack(hs, 1), o["readout"], O)


def ref_rmlp(get, X, H, O, o, fixed):
    """Puskorius and Feldkamp's RMLP: tanh layers in cascade within a step, each recurrent on
    itself across steps."""
    sizes = [H] if o["layers"] is None else list(o["layers"])
    hs, top = [np.zeros((X.shape[0], n)) for n in sizes], []
    for t in range(X.shape[1]):
        below = X[:, t]
        for i in range(len(sizes)):
            hs[i] = np.tanh(below @ get(f"W_ih_{i}").T + hs[i] @ get(f"W_hh_{i}").T + get(f"b_{i}"))
            below = hs[i]
        top.append(below)
    return apply_readout(get, np.stack(top, 1), o["readout"], O)


def _iir_layer(X, Bc, A, bias):
    """bias + sum_i v_ji(t), v_ji(t) = sum_k Bc[j,i,k] x_i(t-k) + sum_k A[j,i,k-1] v_ji(t-k)."""
    n, T, _ = X.shape
    nb, na = Bc.shape[2] - 1, A.shape[2]
    v = np.zeros((n, T) + Bc.shape[:2])
    for t in range(T):
        for k in range(nb + 1):
            if t - k >= 0:
                v[:, t] += X[:, t - k, None, :] * Bc[:, :, k]
        for k in range(1, na + 1):
            if t - k >= 0:
                v[:, t] += v[:, t - k] * A[:, :, k - 1]
    return v.sum(-1) + bias


def ref_lrnn(get, X, H, O, o, fixed):
    """h = tanh(IIR-filtered inputs + b); y: the readout, or act(IIR-filtered h + b_out)."""
    na = o["poles"]
    Bc = get("B")
    h = np.tanh(_iir_layer(X, Bc, get("A") if na else np.zeros(Bc.shape[:2] + (0,)), get("b")))
    if not o["output_filters"]:
        return apply_readout(get, h, o["readout"], O)
    Bo = get("B_out")
    z = _iir_layer(h, Bo, get("A_out") if na else np.zeros(Bo.shape[:2] + (0,)), get("b_out"))
    return {"linear": lambda v: v, "tanh": np.tanh, "sigmoid": sigmoid}[o["readout"]](z)


def ref_history_compressor(get, X, H, O, o, fixed):
    """Schmidhuber's history compressor, a sequence at a time: the chunker steps (with the
    steps since its last step, times stamps) only where the input differs from the last
    prediction by more than the threshold in some channel, and at the first step."""
    n1, n2 = o["sizes"] or (H - H // 2, H // 2)
    A_ih, A_hh, A_b = get("A_ih"), get("A_hh"), get("A_b")
    A_ch = get("A_ch") if o["collapse"] else np.zeros((n1, n2))
    C_ih, C_t, C_hh, C_b = get("C_ih"), get("C_t"), get("C_hh"), get("C_b")
    I = X.shape[2]
    R = (I if o["predict"] == "head" else 0) + (n2 if o["collapse"] else 0)
    P_w, P_b = (get("P_w"), get("P_b")) if R else (None, None)
    out = []
    for seq in X:
        h1, h2, since, pred, ys = np.zeros(n1), np.zeros(n2), 0, None, []
        for t, x in enumerate(seq):
            surprise = pred is None or np.abs(x - pred).max() > o["threshold"]
            h1_new = np.tanh(A_ih @ x + A_hh @ h1 + A_ch @ h2 + A_b)
            if surprise:
                h2 = np.tanh(C_ih @ x + C_t * (o["stamps"] * since) + C_hh @ h2 + C_b)
                since = 0
            h1 = h1_new
            since += 1
            y = apply_readout(get, np.r_[h1, h2][None, None], o["readout"], O)[0, 0]
            squash = sigmoid if o["head_activation"] == "sigmoid" else (lambda v: v)
            pred = squash(P_w[:I] @ h1 + P_b[:I]) if o["predict"] == "head" else y[:I]
            ys.append(y)
        out.append(ys)
    return np.array(out)


REFERENCES = {
    "elman": ref_elman, "jordan": ref_jordan, "frnn": ref_frnn, "lstm": ref_lstm,
    "gru": ref_gru, "indrnn": ref_indrnn, "ctrnn": ref_ctrnn, "mtrnn": ref_mtrnn,
    "esn": ref_esn, "second_order": ref_second_order, "ntm": ref_ntm, "stack_rnn": ref_stack_rnn,
    "dnc": ref_dnc, "hopfield": ref_hopfield, "bam": ref_bam, "seq2seq": ref_seq2seq,
    "recursive": ref_recursive,
    "pixelrnn": ref_pixelrnn,
    "lsm": ref_lsm,
    "hrnn": ref_hrnn, "rmlp": ref_rmlp, "lrnn": ref_lrnn,
    "history_compressor": ref_history_compressor,
}


# families from outside the package (EVORNN_FAMILIES) bring their own reference
for _mod in MODULES:
    if _mod.FAMILY.name not in REFERENCES and hasattr(_mod, "reference"):
        REFERENCES[_mod.FAMILY.name] = _mod.reference
        DEFAULTS[_mod.FAMILY.name] = _mod.REFERENCE_DEFAULTS


def reference_for(family):
    if family not in REFERENCES:
        pytest.fail(f"no NumPy reference implementation for architecture {family!r}: "
                    "add one to REFERENCES in tests/test_reference.py")
    return REFERENCES[family]


def features_of(family, I, H, o):
    """Width of what a non-top layer (readout 'none') passes up."""
    if family == "esn" and o["readout_inputs"]:
        return H + I
    if family in ("ntm", "dnc"):
        return H + o["read_heads"] * o["memory"][1]
    if family == "seq2seq" and o["attention"] != "none":
        return 2 * H
    if family == "rmlp" and o["layers"] is not None:
        return o["layers"][-1]
    return H


def ref_layer(net, layer_index, prefix, family, X, H, O, options, readout=None):
    o = dict(DEFAULTS.get(family, {}))
    o.update({k: v for k, v in options.items() if k in o})
    if readout is not None:
        o["readout"] = readout
    get = Getter(net, prefix)
    Y = reference_for(family)(get, X, H, O, o, net.layers[layer_index].fixed)
    return Y, get.used


def ref_network(net, arch, n_hidden, n_out, X, options):
    """A (possibly stacked) unidirectional network: references chained layer by layer."""
    names = arch.split("+") if isinstance(arch, str) else list(arch)
    L = options.get("num_layers", len(names))
    if len(names) == 1:
        names = names * L
    hidden = list(n_hidden) if isinstance(n_hidden, (list, tuple)) else [n_hidden] * L
    used = set()
    V = X
    for i, (fam, H) in enumerate(zip(names, hidden)):
        top = i == L - 1
        prefix = f"{i}." if L > 1 else ""
        o = dict(DEFAULTS.get(fam, {}))
        o.update({k: v for k, v in options.items() if k in o})
        O = n_out if top else features_of(fam, V.shape[2], H, o)
        V, u = ref_layer(net, i, prefix, fam, V, H, O, options,
                         readout=None if top else "none")
        used |= u
    return V, used


# ---------------------------------------------------------------------------------------
# random genomes that exercise the clips and the nonlinearities


def random_genome(net, rng, scale=0.8):
    g = rng.normal(0.0, scale, net.n_params)
    for lay in net.layers:
        if lay.opts.get("genes") == "unit":
            _unit_genome(g, lay, rng, scale)
            continue
        for b in lay.blocks:
            leaf = b.name.rsplit(".", 1)[-1]
            sl = slice(b.offset, b.offset + b.size)
            if leaf == "tau":
                g[sl] = rng.uniform(0.2, 12.0, b.size)        # both sides of tau_range (0.5, 10)
            elif leaf == "gain":
                g[sl] = rng.uniform(0.3, 3.0, b.size)
            elif leaf == "leak":
                g[sl] = rng.uniform(0.1, 1.0, b.size)
            elif leaf == "input_scaling":
                g[sl] = rng.uniform(0.2, 2.0, b.size)
            elif leaf == "spectral_radius":
                g[sl] = rng.uniform(0.2, 1.5, b.size)
            elif leaf == "bias_scaling":
                g[sl] = rng.uniform(0.1, 1.5, b.size)
            elif leaf == "u":
                g[sl] = rng.uniform(-2.5, 2.5, b.size)         # |u| > 1 is clipped
    return g


def _unit_genome(g, lay, rng, scale):
    """Unit genes: weights of the raw genome's size, tau genes on both sides of [-1, 1]."""
    for b in lay.blocks:
        leaf, sl = b.name.rsplit(".", 1)[-1], slice(b.offset, b.offset + b.size)
        if leaf == "tau":
            g[sl] = rng.uniform(-1.3, 1.3, b.size)
        elif leaf == "gain":
            g[sl] = rng.uniform(-1.0, -0.6, b.size)           # gains 0.05 to 4
        else:
            g[sl] = rng.normal(0.0, scale, b.size) / lay.opts["weight_range"]


def inputs(rng, B=B_, T=T_, I=I_):
    return rng.uniform(-1.5, 1.5, (B, T, I))


def check_against_reference(arch, options, seed, n_hidden=H_, n_out=O_, n_in=I_, T=T_, B=B_):
    n_in, n_hidden, n_out = sized(arch, n_in, n_hidden, n_out, options)
    rng = np.random.default_rng(1000 + seed)
    net = Network(arch, n_in, n_hidden, n_out, seed=seed, **options)
    net.genome = random_genome(net, rng)
    X = inputs(rng, B, T, n_in)
    want, used = ref_network(net, arch, n_hidden, n_out, X, options)
    assert used == {b.name for b in net.layout}, \
        f"reference did not read every genome block: unused {sorted({b.name for b in net.layout} - used)}"
    got = net.forward(X)
    assert got.dtype == np.float64 and got.shape == (B, T, n_out)
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL64,
                               err_msg=f"{arch} {options} seed {seed}: float64")
    got32 = net.forward(X.astype(np.float32))
    assert got32.dtype == np.float32 and got32.shape == (B, T, n_out)
    np.testing.assert_allclose(got32, want, rtol=0, atol=ATOL32,
                               err_msg=f"{arch} {options} seed {seed}: float32")
    return net, X, want


# ---------------------------------------------------------------------------------------
# single families


@pytest.mark.parametrize("family", evornn.architectures())
def test_family_matches_reference(family):
    reference_for(family)
    for seed in SEEDS:
        check_against_reference(family, {}, seed)


@pytest.mark.parametrize("family", evornn.architectures())
def test_family_matches_reference_larger_sizes(family):
    """Sizes that run every branch of the 4x4-tiled matmul (K, B >= 8, remainders)."""
    check_against_reference(family, {}, 5, n_in=6, n_hidden=9, n_out=3, T=5, B=9)


@pytest.mark.parametrize("family", evornn.architectures())
def test_family_matches_reference_many_outputs(family):
    """n_out >= 8 (readouts may switch from dot products to a tiled matmul for wide outputs)."""
    check_against_reference(family, {}, 6, n_in=4, n_hidden=12, n_out=9, T=4, B=5)
    if family not in ("frnn", "ctrnn", "mtrnn"):
        return
    check_against_reference(family, {"readout": "sigmoid"}, 6, n_in=4, n_hidden=12, n_out=9,
                            T=4, B=5)


@pytest.mark.parametrize("family", evornn.architectures())
def test_single_sequence_matches_reference(family):
    """forward(X[T, I]) -> [T, O] is the batch-of-one case."""
    rng = np.random.default_rng(7)
    I, _, O = sized(family, I_, H_, O_)
    net = Network(family, I, H_, O, seed=3)
    net.genome = random_genome(net, rng)
    X = inputs(rng, 1, I=I)
    want, _ = ref_network(net, family, H_, O, X, {})
    got = net.forward(X[0])
    assert got.shape == (T_, O)
    np.testing.assert_allclose(got, want[0], rtol=0, atol=ATOL64)


VARIANTS = [
    ("lrnn", {"poles": 0, "zeros": 3}),
    ("lrnn", {"zeros": 0, "poles": 1, "readout": "tanh"}),
    ("lrnn", {"zeros": 1, "poles": 3, "readout": "sigmoid"}),
    ("lrnn", {"output_filters": True}),
    ("lrnn", {"output_filters": True, "poles": 0, "readout": "tanh"}),
    ("elman", {"activation": "relu"}),
    ("elman", {"readout": "tanh"}),
    ("elman", {"readout": "sigmoid"}),
    ("elman", {"activation": "relu", "readout": "sigmoid"}),
    ("jordan", {"context_decay": 0.0}),
    ("jordan", {"context_decay": 0.5}),
    ("jordan", {"readout": "linear", "context_decay": 0.5}),
    ("jordan", {"readout": "sigmoid"}),
    ("frnn", {"activation": "tanh"}),
    ("frnn", {"bias": False}),
    ("frnn", {"bias": False, "readout": "linear"}),
    ("frnn", {"readout": "tanh", "activation": "tanh"}),
    ("lstm", {"readout": "tanh"}),
    ("gru", {"readout": "sigmoid"}),
    ("indrnn", {"activation": "tanh"}),
    ("indrnn", {"max_recurrent": 0.5}),
    ("indrnn", {"max_recurrent": 3.0}),
    ("ctrnn", {"gains": True}),
    ("ctrnn", {"integrator": "rk4"}),
    ("ctrnn", {"integrator": "rk4", "gains": True, "dt": 0.3}),
    ("ctrnn", {"tau_range": (1.0, 2.0), "dt": 0.5}),
    ("ctrnn", {"readout": "linear"}),
    ("ctrnn", {"genes": "unit"}),
    ("ctrnn", {"genes": "unit", "gains": True, "readout": "linear", "weight_range": 4.0,
               "tau_range": (1.0, 3.0)}),
    ("ctrnn", {"genes": "unit", "integrator": "rk4", "readout": "sigmoid"}),
    ("mtrnn", {"genes": "unit", "readout": "tanh", "weight_range": 5.0}),
    ("mtrnn", {"integrator": "rk4"}),
    ("mtrnn", {"n_slow": 3}),
    ("mtrnn", {"tau_fast": 2.0, "tau_slow": 30.0, "dt": 0.5}),
    ("mtrnn", {"readout": "sigmoid"}),
    ("esn", {"evolve_leak": True}),
    ("esn", {"evolve_input_scaling": True}),
    ("esn", {"evolve_spectral_radius": True}),
    ("esn", {"evolve_leak": True, "evolve_input_scaling": True,
             "evolve_spectral_radius": True}),
    ("esn", {"leak": 0.3, "input_scaling": 0.5, "spectral_radius": 1.2}),
    ("esn", {"readout_inputs": False, "readout": "tanh"}),
    ("esn", {"density": 1.0, "bias_scaling": 0.5}),
    ("esn", {"density": 1.0, "leak": 0.3, "evolve_spectral_radius": True,
             "evolve_input_scaling": True}),
    ("esn", {"evolve_bias_scaling": True, "bias_scaling": 0.4}),
    ("esn", {"density": 0.05, "evolve_bias_scaling": True, "leak": 0.5}),
    ("esn", {"density": 0.06, "bias_scaling": 0.7}),
    ("second_order", {"activation": "tanh"}),
    ("second_order", {"readout": "sigmoid"}),
    ("ntm", {"controller": "dense"}),
    ("ntm", {"memory": (8, 3), "read_heads": 2, "write_heads": 2, "shift": 5}),
    ("ntm", {"controller": "dense", "memory": (5, 4), "shift": 1, "readout": "sigmoid"}),
    ("ntm", {"memory": (3, 2), "read_heads": 3, "readout": "tanh"}),      # shift as wide as N
    ("stack_rnn", {"memory": "queue"}),
    ("stack_rnn", {"memory": "deque", "width": 3}),
    ("stack_rnn", {"controller": "elman", "readout": "tanh"}),
    # beyond capacity each end forgets its oldest slot (T = 7 steps)
    ("stack_rnn", {"capacity": 3, "width": 2}),
    ("stack_rnn", {"memory": "queue", "capacity": 2, "controller": "elman"}),
    ("stack_rnn", {"memory": "queue", "controller": "dense", "readout": "sigmoid"}),
    ("stack_rnn", {"memory": "deque", "capacity": 4, "readout": "sigmoid"}),
    ("dnc", {"controller": "dense"}),
    ("dnc", {"memory": (8, 3), "read_heads": 3, "readout": "tanh"}),
    ("dnc", {"controller": "dense", "memory": (5, 4), "read_heads": 2, "readout": "sigmoid"}),
    ("dnc", {"memory": (1, 2)}),                                  # one slot: no links
    ("hopfield", {"update": "sync"}),
    ("hopfield", {"units": "continuous", "gain": 0.7}),
    ("hopfield", {"units": "continuous", "update": "sync", "order_seed": 99}),
    ("hopfield", {"order_seed": 5}),
    ("bam", {"split": 1}),
    ("bam", {"split": 4, "units": "continuous", "gain": 0.6}),
    ("pixelrnn", {"variant": "diagonal"}),
    ("pixelrnn", {"variant": "diagonal", "image": "3,5", "readout": "sigmoid"}),
    ("pixelrnn", {"image": "4,3", "readout": "sigmoid"}),
    ("seq2seq", {"attention": "luong", "encoder": "lstm", "decoder": "elman"}),
    ("seq2seq", {"attention": "none", "encoder": "elman", "decoder": "lstm", "readout": "tanh"}),
    ("seq2seq", {"encoder": "lstm", "decoder": "lstm", "readout": "sigmoid"}),
    # T = 7 steps: beyond 2 encoder steps the last slot is overwritten
    ("seq2seq", {"max_source": 2, "attention": "luong"}),
    ("seq2seq", {"max_source": 1, "encoder": "elman", "decoder": "gru"}),
    ("seq2seq", {"input_feeding": True, "encoder": "lstm", "readout": "sigmoid"}),
    ("seq2seq", {"input_feeding": True, "attention": "luong", "decoder": "lstm", "max_source": 2}),
    ("recursive", {"cell": "treelstm", "stack": 2, "readout": "sigmoid"}),   # T = 7 > stack


    ("hrnn", {"modules": 2, "periods": (2, 3), "readout": "tanh"}),     # step 0 ticks both
    ("hrnn", {"modules": 5, "readout": "sigmoid"}),                    # periods 1 to 16, T = 7
    ("rmlp", {"layers": (2, 3), "readout": "tanh"}),
    ("rmlp", {"layers": (1, 1, 1, 1, 1)}),
    # thresholds where some inputs surprise and some do not (inputs in +-1.5)
    ("history_compressor", {"threshold": 1.4, "sizes": (2, 3), "readout": "tanh"}),
    ("history_compressor", {"threshold": 1.2, "collapse": True, "stamps": 0.7}),
    ("history_compressor", {"threshold": 0.9, "head_activation": "sigmoid", "collapse": True}),
]


@pytest.mark.parametrize("family,options", VARIANTS, ids=lambda v: str(v))
def test_option_variant_matches_reference(family, options):
    for seed in SEEDS[:2]:
        check_against_reference(family, options, seed)


def test_indrnn_recurrent_weight_is_clipped():
    """|u| > max_recurrent acts as +-max_recurrent: same outputs as the clipped genome."""
    net = Network("indrnn", I_, H_, O_, activation="tanh")
    rng = np.random.default_rng(5)
    g = random_genome(net, rng)
    lay = {b.name: b for b in net.layout}
    u = lay["u"]
    g[u.offset:u.offset + u.size] = [3.0, -4.0, 0.5, 1.5, -0.2]
    net.genome = g
    X = inputs(rng)
    y = net.forward(X)
    g2 = g.copy()
    g2[u.offset:u.offset + u.size] = [1.0, -1.0, 0.5, 1.0, -0.2]
    net2 = Network("indrnn", I_, H_, O_, genome=g2, activation="tanh")
    np.testing.assert_allclose(y, net2.forward(X), rtol=0, atol=1e-12)
    want, _ = ref_network(net, "indrnn", H_, O_, X, {"activation": "tanh"})
    np.testing.assert_allclose(y, want, rtol=0, atol=ATOL64)


def test_ctrnn_connection_direction():
    """W[i, j] is the weight from neuron j to neuron i: only W[0, 1] nonzero moves neuron 0."""
    net = Network("ctrnn", 1, 2, 2)
    g = np.zeros(net.n_params)
    lay = {b.name: b for b in net.layout}
    g[lay["W"].offset + 1] = 5.0                       # W[0, 1]
    g[lay["tau"].offset:lay["tau"].offset + 2] = 1.0
    net.genome = g
    y = net.forward(np.zeros((3, 1)))
    # y_1 stays 0 (no input to neuron 1), so sigma(y_1) = 0.5 drives y_0 by 5 * 0.5 per unit time
    y0 = 0.0
    want = []
    for _ in range(3):
        y0 = y0 + 0.1 * (-y0 + 5.0 * 0.5)
        want.append([sigmoid(y0), 0.5])
    np.testing.assert_allclose(y, want, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------
# ESN reservoir


@pytest.mark.parametrize("H,density", [(30, 0.1), (5, 1.0), (12, 0.5), (40, 0.3)])
def test_esn_reservoir_has_unit_spectral_radius(H, density):
    for seed in (0, 1, 2):
        net = Network("esn", I_, H, O_, seed=seed, density=density)
        W, W_in, b = esn_reservoir(net.layers[0].fixed, I_, H, density)
        radius = np.abs(np.linalg.eigvals(W)).max()
        assert abs(radius - 1.0) < 1e-8, (seed, radius)
        assert np.all(np.abs(W_in) <= 1) and W_in.std() > 0


@pytest.mark.parametrize("density", [0.03, 0.05])
@pytest.mark.parametrize("B", [1, 6])
def test_sparse_esn_matches_reference_and_dense_path(density, B, monkeypatch):
    """A reservoir big enough to have many nonzeros per row: the sparse step (one sequence,
    or a batch) equals the NumPy reference and the dense step on the same reservoir."""
    opts = {"density": density, "evolve_leak": True, "evolve_input_scaling": True,
            "evolve_spectral_radius": True, "evolve_bias_scaling": True}
    net, X, want = check_against_reference("esn", opts, 4, n_hidden=40, T=12, B=B)
    W, _, _ = esn_reservoir(net.layers[0].fixed, I_, 40, density)
    assert 0.5 * density < np.count_nonzero(W) / 40 ** 2 < 1.5 * density
    monkeypatch.setattr(esn_family, "SPARSE_MAX", 0.0)     # same reservoir, stored dense
    dense = Network("esn", I_, 40, O_, seed=4, genome=net.genome, **opts)
    assert dense.layers[0].cfg[C_OPT + esn_family.C_SPARSE] == 0
    np.testing.assert_allclose(dense.forward(X), net.forward(X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dense.forward(X.astype(np.float32)), want, rtol=0, atol=ATOL32)


def test_esn_reservoir_depends_on_seed_only():
    a = Network("esn", I_, 20, O_, seed=4).layers[0].fixed
    b = Network("esn", I_, 20, O_, seed=4).layers[0].fixed
    c = Network("esn", I_, 20, O_, seed=5).layers[0].fixed
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[:I_ * 20], c[:I_ * 20])
    # and the outputs follow: same genome, different seed -> different function
    rng = np.random.default_rng(0)
    n4, n5 = Network("esn", I_, 20, O_, seed=4), Network("esn", I_, 20, O_, seed=5)
    g = random_genome(n4, rng)
    n4.genome = g
    n5.genome = g
    X = inputs(rng)
    assert not np.allclose(n4.forward(X), n5.forward(X))
    np.testing.assert_array_equal(n4.forward(X), Network("esn", I_, 20, O_, genome=g,
                                                         seed=4).forward(X))


# ---------------------------------------------------------------------------------------
# stacks and bidirectional networks


def _stack_arch(family):
    # jordan reads the network's own output, so it may only be the last layer; seq2seq reads
    # its phase flag from the network's input, so it belongs at the bottom
    # pixelrnn reads the pixels of an image from below and outputs their logits: on top
    if family == "seq2seq":
        return ["seq2seq", "elman"]
    if family == "pixelrnn":
        return ["elman", "pixelrnn"]
    return ["elman", "jordan"] if family == "jordan" else family


@pytest.mark.parametrize("family", evornn.architectures())
def test_two_layer_stack_chains_references(family):
    arch = _stack_arch(family)
    options = {} if isinstance(arch, list) else {"num_layers": 2}
    hidden = [5, 5] if one_size(arch) else [5, 4]     # a one-size layer passes N up to N
    if family == "pixelrnn":
        hidden = [64, 4]                              # elman's 64 features: the 8 x 8 image
    for seed in SEEDS[:2]:
        net, _, _ = check_against_reference(arch, options, seed, n_hidden=hidden)
        assert len(net.layers) == 2
        assert all(b.name.startswith(("0.", "1.")) for b in net.layout)


def test_num_layers_with_single_hidden_size():
    check_against_reference("lstm", {"num_layers": 3}, 0, n_hidden=4)


@pytest.mark.parametrize("arch,n_hidden,options", [
    (["gru", "ctrnn"], [5, 4], {}),
    (["gru", "ctrnn"], 5, {"integrator": "rk4"}),
    (["lstm", "esn", "elman"], [4, 6, 3], {}),
    ("ctrnn+mtrnn", [4, 6], {}),
    (["indrnn", "frnn"], [5, 4], {"activation": "tanh"}),
])
def test_heterogeneous_stack_chains_references(arch, n_hidden, options):
    for seed in SEEDS[:2]:
        check_against_reference(arch, options, seed, n_hidden=n_hidden)


def _ref_bidirectional(net, family, X, options, O):
    H = net.layers[0].n_hidden
    o = dict(DEFAULTS[family])
    o.update({k: v for k, v in options.items() if k in o})
    F = features_of(family, X.shape[2], H, o)
    f, uf = ref_layer(net, 0, "0.fwd.", family, X, H, F, options, readout="none")
    b, ub = ref_layer(net, 1, "0.bwd.", family, X[:, ::-1], H, F, options, readout="none")
    feats = np.concatenate([f, b[:, ::-1]], axis=2)
    get = Getter(net, "top.")
    readout = options.get("readout", "linear")
    return apply_readout(get, feats, readout, O), uf | ub | get.used


@pytest.mark.parametrize("family,options", [
    ("elman", {}), ("elman", {"readout": "tanh", "activation": "relu"}),
    ("elman", {"readout": "sigmoid"}), ("lstm", {}), ("ctrnn", {}), ("esn", {"density": 1.0}),
    ("mtrnn", {}), ("ntm", {"memory": (6, 3)}), ("dnc", {"memory": (6, 3)}),
], ids=str)
def test_bidirectional(family, options):
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        net = Network(family, I_, H_, O_, seed=seed, bidirectional=True, **options)
        names = [b.name for b in net.layout]
        assert "top.W_out" in names and "top.b_out" in names
        F = features_of(family, I_, H_, {**DEFAULTS[family], **options})
        assert net.block("top.W_out").shape == (O_, 2 * F)
        net.genome = random_genome(net, rng)
        X = inputs(rng)
        want, used = _ref_bidirectional(net, family, X, options, O_)
        assert used == set(names)
        np.testing.assert_allclose(net.forward(X), want, rtol=0, atol=ATOL64)
        np.testing.assert_allclose(net.forward(X.astype(np.float32)), want, rtol=0,
                                   atol=ATOL32)
        # a bidirectional output at t depends on later inputs
        X2 = X.copy()
        X2[:, -1] += 1.0
        assert not np.array_equal(net.forward(X2)[:, 0], net.forward(X)[:, 0])


def test_bidirectional_two_layer_stack():
    rng = np.random.default_rng(3)
    net = Network("gru", I_, 4, O_, num_layers=2, bidirectional=True)
    net.genome = random_genome(net, rng)
    X = inputs(rng)
    V = X
    for i in range(2):
        f, _ = ref_layer(net, 2 * i, f"{i}.fwd.", "gru", V, 4, 4, {}, readout="none")
        b, _ = ref_layer(net, 2 * i + 1, f"{i}.bwd.", "gru", V[:, ::-1], 4, 4, {},
                         readout="none")
        V = np.concatenate([f, b[:, ::-1]], axis=2)
    want = apply_readout(Getter(net, "top."), V, "linear", O_)
    np.testing.assert_allclose(net.forward(X), want, rtol=0, atol=ATOL64)


# ---------------------------------------------------------------------------------------
# step, population, batch


def _arch_cases():
    cases = [(f, {}) for f in evornn.architectures()]
    cases += [(["gru", "ctrnn"], {}), (_stack_arch("jordan"), {}), ("ctrnn", {"integrator": "rk4"}),
              ("esn", {"evolve_leak": True})]
    return cases


ARCH_CASES = _arch_cases()
ARCH_IDS = [f"{a}-{o}" for a, o in ARCH_CASES]


@pytest.mark.parametrize("arch,options", ARCH_CASES, ids=ARCH_IDS)
def test_step_equals_forward(arch, options):
    rng = np.random.default_rng(11)
    I, _, O = sized(arch, I_, H_, O_)
    net = Network(arch, I, H_, O, **options)
    net.genome = random_genome(net, rng)
    X = inputs(rng, 1, I=I)[0]
    if arch == "recursive":
        X[0, -1] = 1.0           # a first reduce pops what a carried-over stack holds
    want = net.forward(X)
    for _ in range(2):                       # reset() really flushes the state
        net.reset()
        got = np.array([net.step(x) for x in X])
        assert got.shape == (T_, O)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # without a reset, the state carries over and the outputs differ (a stateless family's do not)
    cont = np.array([net.step(x) for x in X])
    assert np.allclose(cont, want) == (isinstance(arch, str) and arch in STATELESS)
    # assigning a genome also resets
    net.genome = net.genome
    np.testing.assert_allclose(np.array([net.step(x) for x in X]), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("arch,options", ARCH_CASES, ids=ARCH_IDS)
def test_population_forward_equals_per_genome_forward(arch, options):
    rng = np.random.default_rng(13)
    I, _, O = sized(arch, I_, H_, O_)
    net = Network(arch, I, H_, O, **options)
    G = np.stack([random_genome(net, rng) for _ in range(3)])
    X = inputs(rng, I=I)
    for dtype, atol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        Y = population_forward(net, G, X.astype(dtype))
        assert Y.shape == (3, B_, T_, O) and Y.dtype == dtype
        for p in range(3):
            one = Network(arch, I, H_, O, genome=G[p], **options)
            np.testing.assert_allclose(Y[p], one.forward(X.astype(dtype)), rtol=0, atol=atol)
    # float32 genomes work too and the population does not depend on the network's own genome
    Y32 = population_forward(net, G.astype(np.float32), X.astype(np.float32))
    np.testing.assert_allclose(Y32, population_forward(net, G, X.astype(np.float32)), atol=1e-6)
    # the genomes really differ in their outputs
    assert not np.allclose(Y[0], Y[1])


def test_population_forward_matches_reference_large_population():
    """Enough genomes to be split over the worker threads."""
    rng = np.random.default_rng(17)
    net = Network("lstm", I_, H_, O_)
    G = np.stack([random_genome(net, rng) for _ in range(37)])
    X = inputs(rng, 2)
    Y = population_forward(net, G, X)
    for p in (0, 5, 18, 36):
        net.genome = G[p]
        want, _ = ref_network(net, "lstm", H_, O_, X, {})
        np.testing.assert_allclose(Y[p], want, rtol=0, atol=ATOL64)


@pytest.mark.parametrize("arch,options", ARCH_CASES, ids=ARCH_IDS)
def test_batch_sequences_are_independent(arch, options):
    rng = np.random.default_rng(19)
    I, _, O = sized(arch, I_, H_, O_)
    net = Network(arch, I, H_, O, **options)
    net.genome = random_genome(net, rng)
    X = inputs(rng, 6, I=I)
    Y = net.forward(X)
    for b in range(6):
        np.testing.assert_allclose(Y[b], net.forward(X[b]), rtol=0, atol=1e-12)
        np.testing.assert_allclose(Y[b], net.forward(X[b:b + 1])[0], rtol=0, atol=1e-12)
    # changing one sequence changes only its own outputs
    X2 = X.copy()
    X2[2] = rng.uniform(-1, 1, X2[2].shape)
    Y2 = net.forward(X2)
    np.testing.assert_array_equal(np.delete(Y2, 2, 0), np.delete(Y, 2, 0))
    assert not np.allclose(Y2[2], Y[2])


def test_forward_does_not_disturb_step_state():
    rng = np.random.default_rng(23)
    net = Network("gru", I_, H_, O_)
    net.genome = random_genome(net, rng)
    X = inputs(rng, 1)[0]
    want = net.forward(X)
    net.reset()
    first = [net.step(x) for x in X[:3]]
    net.forward(inputs(rng))                     # a whole-sequence pass in between
    rest = [net.step(x) for x in X[3:]]
    np.testing.assert_allclose(np.array(first + rest), want, rtol=0, atol=1e-12)


def test_genome_property_is_a_float64_copy():
    net = Network("elman", I_, H_, O_)
    g = net.genome
    assert g.dtype == np.float64 and g.shape == (net.n_params,)
    g[:] = 0
    assert not np.all(net.genome == 0)
    net.genome = g.astype(np.float32)
    assert net.genome.dtype == np.float64 and np.all(net.genome == 0)
    assert sum(b.size for b in net.layout) == net.n_params
    offs = [b.offset for b in net.layout]
    assert offs == sorted(offs) and offs[0] == 0


@pytest.mark.parametrize("family", evornn.architectures())
def test_non_contiguous_inputs(family):
    """Strided, reversed and Fortran-ordered input views give the reference outputs too."""
    rng = np.random.default_rng(29)
    I, _, O = sized(family, I_, H_, O_)
    net = Network(family, I, H_, O)
    net.genome = random_genome(net, rng)
    big = rng.uniform(-1.5, 1.5, (2 * B_, 2 * T_, I + 2))
    X = big[::2, ::-2, 1:1 + I]
    assert not X.flags.c_contiguous
    want, _ = ref_network(net, family, H_, O, np.ascontiguousarray(X), {})
    np.testing.assert_allclose(net.forward(X), want, rtol=0, atol=ATOL64)
    np.testing.assert_allclose(net.forward(np.asfortranarray(X[0])), want[0], rtol=0, atol=ATOL64)
    np.testing.assert_allclose(population_forward(net, net.genome[None], X)[0], want, rtol=0,
                               atol=ATOL64)


@pytest.mark.parametrize("arch,options", [("frnn", {}), ("lstm", {"bidirectional": True})])
def test_output_map_scales_every_path(arch, options):
    """output_map=(a, b) gives a * y + b from step, forward and population_forward alike."""
    rng = np.random.default_rng(31)
    plain = Network(arch, I_, H_, O_, **options)
    mapped = Network(arch, I_, H_, O_, output_map=(2.0, -1.0), **options)
    G = np.stack([random_genome(plain, rng) for _ in range(3)])
    X = inputs(rng)
    for dt in (np.float64, np.float32):
        want = 2.0 * evornn.population_forward(plain, G, X.astype(dt)) - 1.0
        got = evornn.population_forward(mapped, G, X.astype(dt))
        assert got.dtype == dt
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 if dt == np.float32 else 1e-15)
    mapped.genome = G[0]
    np.testing.assert_allclose(mapped.forward(X[0]), want[0, 0], atol=1e-6)
    if not options:
        np.testing.assert_allclose([mapped.step(x) for x in X[0]], want[0, 0], atol=1e-6)
    with pytest.raises(ValueError, match=r"output_map must be \(scale, shift\), got 3"):
        Network(arch, I_, H_, O_, output_map=3)
