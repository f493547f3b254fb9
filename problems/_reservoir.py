"""Echo state networks with an evolved reservoir and a ridge-regression readout.

Shared by the time-series problems (``mackey_glass.py``, ``mso.py``). The genome is the
esn layout's three evolvable reservoir genes (leak, input scaling, spectral radius); the
problem's network is an ``esn`` with readout ``"none"``, so its outputs are the readout's
features [h_t; u_t]. The linear readout that turns them into the one-step prediction of
u_{t+1} is not evolved: it is a function of the genome, the ridge-regression fit on the
training series (``predictor`` gives the full network). Per genome, one compiled function
runs the teacher-forced reservoir, fits the readout for every ridge value from one SVD and
free-runs the validation starts (output fed back as the next input); genomes are spread
over the worker threads.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from threadpoolctl import threadpool_limits

import evornn
from evornn.episode import JIT, family, pack, pack_any, per_kind, run_chunks, step_any
from evornn.problem import Problem

GENES = ("leak", "input_scaling", "spectral_radius")


@njit(**JIT)
def generate(kind, w, cfg, fixed, state, x, n_steps, out):
    """Free-run a batch: step with inputs x[B, 1], then feed each output back as the next
    input; out[B, n_steps] gets the outputs (out[:, 0] predicts the step after x)."""
    y = np.empty_like(x)
    for s in range(n_steps):
        step_any(kind, w, cfg, fixed, state, x, y)
        for b in range(x.shape[0]):
            out[b, s] = y[b, 0]
            x[b, 0] = y[b, 0]


@njit(**JIT)
def teacher_then_generate(kind, w, cfg, fixed, n_state, U, n_steps, out):
    """From a zero state, teacher-force the batch U[B, T] (all but its last column, which
    starts the free run), then free-run n_steps; out[B, n_steps] as in ``generate``."""
    B, T = U.shape
    state = np.zeros(n_state * B + 1)
    x = np.empty((B, 1))
    y = np.empty((B, 1))
    for t in range(T - 1):
        for b in range(B):
            x[b, 0] = U[b, t]
        step_any(kind, w, cfg, fixed, state, x, y)
    for b in range(B):
        x[b, 0] = U[b, T - 1]
    generate(kind, w, cfg, fixed, state, x, n_steps, out)


@per_kind
def _kernels(kind):
    """The fitting loop and one teacher-forced run, for the family ``kind`` (esn's)."""
    @njit(nogil=True, **JIT)
    def fit_chunk(lo, hi, G, cfg_res, cfg_lin, fixed, n_state, n_packed_res, n_packed_lin, u,
                  n_wash, n_fit, starts, n_steps, ridges, readouts, preds):
        """For genomes lo..hi-1: teacher-force u, fit the readout on steps n_wash..n_wash+n_fit-1
        (target u_{t+1}) for every ridge, and free-run n_steps from every validation start.

        readouts[P, R, F + 1] (W_out then b_out), preds[P, R, K, n_steps]. The free runs start
        from the teacher-forced reservoir state of step start - 1: the esn state holds h for
        the batch first (h [B, H], then scratch), so K copies of h make a batch of K runs.
        """
        H = int(cfg_res[2])
        F = int(cfg_res[3])                    # readout 'none': outputs are the F features
        D = G.shape[1]
        K = starts.shape[0]
        T = max(n_wash + n_fit, starts.max())
        Phi = np.empty((T, F + 1))
        w = np.empty(n_packed_res)
        wl = np.empty(n_packed_lin)
        state = np.empty(n_state + 1)
        st = np.empty(n_state * K + 1)
        x = np.empty((1, 1))
        y = np.empty((1, F))
        xk = np.empty((K, 1))
        out = np.empty((K, n_steps))
        g_lin = np.empty(D + F + 1)
        target = u[n_wash + 1:n_wash + n_fit + 1].copy()
        for p in range(lo, hi):
            pack_any(kind, G[p], cfg_res, fixed, w)
            state[:] = 0
            for t in range(T):
                x[0, 0] = u[t]
                step_any(kind, w, cfg_res, fixed, state, x, y)
                Phi[t, :F] = y[0]
                Phi[t, F] = 1.0
            # ridge solutions for every ridge from one thin SVD (better conditioned than the
            # normal equations, which square the condition number)
            U_, s, Vt = np.linalg.svd(Phi[n_wash:n_wash + n_fit], full_matrices=False)
            Uy = U_.T @ target
            g_lin[:D] = G[p]
            for r in range(ridges.shape[0]):
                wb = Vt.T @ (s / (s * s + ridges[r]) * Uy)
                readouts[p, r] = wb
                g_lin[D:] = wb
                pack_any(kind, g_lin, cfg_lin, fixed, wl)
                st[:] = 0
                for k in range(K):
                    st[k * H:(k + 1) * H] = Phi[starts[k] - 1, :H]
                    xk[k, 0] = u[starts[k]]
                generate(kind, wl, cfg_lin, fixed, st, xk, n_steps, out)
                preds[p, r] = out

    @njit(**JIT)
    def teacher_run(w, cfg, fixed, n_state, U, n_steps, out):
        teacher_then_generate(kind, w, cfg, fixed, n_state, U, n_steps, out)
    return fit_chunk, teacher_run


@dataclass(frozen=True)
class ReservoirProblem(Problem):
    """A problem whose genome is an ESN's reservoir genes; its network is the reservoir.

    ``fan_in``, when given, sets the density to fan_in / n_hidden (the mean number of
    reservoir inputs per unit), so ``--hidden`` keeps the connectivity per unit; the start
    genes are where ``x0="init"`` starts the search.
    """

    density: float = 0.1
    bias_scaling: float = 0.2
    fan_in: float | None = None
    start: tuple = (1.0, 1.0, 0.9)        # leak, input scaling, spectral radius

    def network(self, arch=None, n_hidden=None, seed=0, options=None):
        """The reservoir (esn, readout 'none', leak / input scaling / spectral radius evolved)."""
        if options:
            raise ValueError(f"{self.name} builds its reservoir itself: architecture options "
                             f"({', '.join(options)}) do not apply; --hidden sets its size")
        if arch not in (None, "esn"):
            raise ValueError(f"{self.name} evolves an echo state network's reservoir and fits its "
                             f"readout; arch must be 'esn', got {arch!r}")
        H = n_hidden or self.n_hidden
        density = self.density if self.fan_in is None else min(1.0, self.fan_in / H)
        return reservoir(H, seed, density, self.bias_scaling, start=self.start)


def reservoir(n_hidden: int, seed: int, density: float = 0.1, bias_scaling: float = 0.2,
              readout: str = "none", start: tuple = (1.0, 1.0, 0.9)) -> evornn.Network:
    """A one-input ESN whose genome starts with the three reservoir genes (initialized to
    ``start``; outputs: the features)."""
    n_out = n_hidden + 1 if readout == "none" else 1
    leak, scale, radius = start
    return evornn.Network("esn", 1, n_hidden, n_out, seed=seed, readout=readout, density=density,
                          bias_scaling=bias_scaling, leak=leak, input_scaling=scale,
                          spectral_radius=radius, evolve_leak=True, evolve_input_scaling=True,
                          evolve_spectral_radius=True)


def linear_twin(net: evornn.Network) -> evornn.Network:
    """The same reservoir (same seed, so the same fixed weights) with a linear readout."""
    o = net.options
    return reservoir(net.n_hidden, net.seed, o["density"], o["bias_scaling"], readout="linear")


def fit_and_generate(net, genomes, u, n_wash: int, n_fit: int, starts, n_steps: int,
                     ridges) -> tuple[np.ndarray, np.ndarray]:
    """Readouts [P, R, F + 1] fit for every genome and ridge, and the free runs
    [P, R, K, n_steps] from every start (float64, genomes spread over the worker threads)."""
    lay = net.layers[0]
    if len(net.layers) != 1 or lay.family is not family("esn") or lay.opts["readout"] != "none":
        raise ValueError("time-series problems need their own reservoir network (esn, readout "
                         "'none'); build it with problem.network()")
    lin = linear_twin(net).layers[0]
    G = net.check_genomes(genomes).astype(np.float64)
    u = np.ascontiguousarray(u, dtype=np.float64)
    starts = np.asarray(starts, dtype=np.int64)
    ridges = np.asarray(ridges, dtype=np.float64)
    P, R, K, F = len(G), len(ridges), len(starts), lay.n_out
    if starts.min() < 1 or starts.max() >= len(u) or n_wash + n_fit + 1 > len(u):
        raise ValueError("validation starts and the fit window must lie inside the series")
    readouts = np.empty((P, R, F + 1))
    preds = np.empty((P, R, K, n_steps))
    args = (G, lay.cfg, lin.cfg, lay.fixed_as(np.float64), lay.n_state,
            max(lay.n_packed, 1), lin.n_packed, u, int(n_wash), int(n_fit), starts, int(n_steps),
            ridges, readouts, preds)
    with threadpool_limits(1):        # BLAS threads beside the worker threads starve both
        run_chunks(_kernels(lay.kind)[0], P, *args)
    return readouts, preds


def predictor(net, genome, readout) -> evornn.Network:
    """The full ESN (reservoir genes of ``genome`` + the fitted ``readout``), ready to step."""
    full = linear_twin(net)
    full.genome = np.concatenate([net.check_genomes(genome)[0], readout])
    return full


def teacher_forced_runs(full: evornn.Network, U: np.ndarray, n_steps: int) -> np.ndarray:
    """Free runs [B, n_steps] of the full ESN after teacher-forcing each row of U[B, T]."""
    lay = full.layers[0]
    w = np.empty(lay.n_packed)
    pack(lay.kind, full.genome.astype(np.float64), lay.cfg, lay.fixed_as(np.float64), w)
    out = np.empty((len(U), n_steps))
    _kernels(lay.kind)[1](w, lay.cfg, lay.fixed_as(np.float64), lay.n_state,
                          np.ascontiguousarray(U, dtype=np.float64), int(n_steps), out)
    return out
