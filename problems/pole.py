"""Pole balancing as the neuroevolution literature runs it (Wieland 1991): the double pole
with and without velocities, and the single pole.

The equations, constants, inputs, failure limits, damping fitness and champion tests
follow the NEAT 1.2 / ESP / CoSyNE reference protocol (Gomez, Schmidhuber and Miikkulainen 2008, JMLR 9):
RK4 with dt = 0.01 s, two RK4 steps per network action, force = (out - 0.5) * 20 N for an
output in [0, 1], start theta1 = 0.07 rad, network state flushed at every start.
``markov=True`` feeds (x, xdot, th1, th1dot, th2, th2dot, 0.5), scaled; ``markov=False``
(DPNV) feeds (x, th1, th2, 0.5). The single pole is the same cart with the long pole
only, fed (x, xdot, th1, th1dot, 0.5). Everything of an episode (network step, physics
and fitness) runs in one numba-compiled loop; populations are spread over worker threads.
The same physics as a gymnasium environment: ``evornn.make_env("dpnv")``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from evornn.episode import EXACT, pack, pack_any, per_kind, run_chunks, single_layer, step_any, threads

from ._pole_physics import DPNV_STEPS, FORCE_MAG, MARKOV_STEPS, START, failed, n_inputs, observe, rk4

GENERALIZATION_NEEDED = 200   # of the 625 grid starts
# the run's champion test first balances this many steps from the standard start (the
# 100,000-step test's beginning), then tests the grid, then goes on to 100,000 steps. Many
# champions that balance 10,000 steps fail between 10,000 and 50,000, and a grid test costs
# about as much as 100,000 steps: simulated on the champions of 25 seeds (1-5, 10-29), the
# screen at 50,000 runs 27% fewer steps than at 10,000 (docs/performance.md)
SCREEN_STEPS = 50_000
SINGLE_HIDDEN = 2             # measured: 2 neurons solve in ~85 evaluations, 5 in ~140


@njit(**EXACT)
def episode(kind, w, cfg, fixed, netstate, s0, markov, max_steps, damping, poles=2):
    """Balance from s0 for up to max_steps actions; returns (steps, fitness).

    Fitness is the steps balanced, or with ``damping`` the DPNV damping fitness
    0.1 t / 1000 + 0.9 * 0.75 / sum_{last 100 steps} (|x| + |xdot| + |th1| + |th1dot|).
    """
    s = s0.copy()
    jiggle = np.zeros(100)
    netstate[:] = 0
    t = balance(kind, w, cfg, fixed, netstate, s, markov, 0, max_steps, poles, jiggle)
    if not damping:
        return t, float(t)
    f = 0.1 * t / 1000.0
    if t > 100:
        f += 0.9 * 0.75 / jiggle.sum()
    return t, f


@njit(**EXACT)
def balance(kind, w, cfg, fixed, netstate, s, markov, t, max_steps, poles, jiggle):
    """Go on balancing from state s (in place) and the network's netstate after t actions,
    up to max_steps actions; returns the actions balanced. ``jiggle[t % 100]`` keeps each
    step's |x| + |xdot| + |th1| + |th1dot| (the damping fitness's last 100 steps)."""
    buf = np.empty((4, 6))
    x = np.empty((1, n_inputs(markov, poles)))
    y = np.empty((1, int(cfg[3])))
    while t < max_steps:
        observe(s, markov, x, poles)
        step_any(kind, w, cfg, fixed, netstate, x, y)
        out = y[0, 0]
        if not math.isfinite(out):
            break
        # clipped so that any readout pushes with at most 10 N, as a sigmoid output does
        force = (min(max(out, 0.0), 1.0) - 0.5) * FORCE_MAG * 2.0
        rk4(s, force, buf, poles)
        rk4(s, force, buf, poles)
        if failed(s):
            break
        jiggle[t % 100] = abs(s[0]) + abs(s[1]) + abs(s[2]) + abs(s[3])
        t += 1
    return t


@per_kind
def _kernels(kind):
    """The population loop, the grid-start loop, one episode, the grid until its verdict and
    an episode resumed, for the family ``kind``."""
    @njit(nogil=True, **EXACT)
    def chunk(lo, hi, G, cfg, fixed, n_packed, n_state, markov, max_steps, damping, poles, out):
        w = np.empty(n_packed)
        netstate = np.empty(n_state + 1)
        s0 = START.copy()
        for p in range(lo, hi):
            pack_any(kind, G[p], cfg, fixed, w)
            out[p] = episode(kind, w, cfg, fixed, netstate, s0, markov, max_steps, damping, poles)[1]

    @njit(nogil=True, **EXACT)
    def starts_chunk(lo, hi, w, cfg, fixed, n_state, starts, markov, poles, out):
        netstate = np.empty(n_state + 1)
        for k in range(lo, hi):
            out[k] = episode(kind, w, cfg, fixed, netstate, starts[k], markov, DPNV_STEPS, False,
                             poles)[0]

    @njit(**EXACT)
    def one(w, cfg, fixed, netstate, s0, markov, max_steps):
        return episode(kind, w, cfg, fixed, netstate, s0, markov, max_steps, False)

    @njit(**EXACT)
    def resume(w, cfg, fixed, netstate, s, markov, t, max_steps):
        return balance(kind, w, cfg, fixed, netstate, s, markov, t, max_steps, 2, np.empty(100))

    @njit(nogil=True, **EXACT)
    def starts_until(w, cfg, fixed, n_state, starts, markov, poles, need, out):
        # the starts in order until `need` are balanced or too few are left for that
        netstate = np.empty(n_state + 1)
        n, good = len(starts), 0
        for k in range(n):
            out[k] = episode(kind, w, cfg, fixed, netstate, starts[k], markov, DPNV_STEPS, False,
                             poles)[0]
            good += out[k] >= DPNV_STEPS
            if good >= need or k + 1 - good > n - need:
                return k + 1
        return n
    return chunk, starts_chunk, one, starts_until, resume


def _layer(net):
    return single_layer(net, "pole balancing runs single-layer networks (stacks and bidirectional "
                        "networks are not supported in compiled episodes yet)")


def evaluate(net, genomes, markov: bool, max_steps: int, damping: bool, poles: int = 2) -> np.ndarray:
    """Fitness of every genome from the standard start (float64, parallel over genomes)."""
    lay = _layer(net)
    G = net.check_genomes(genomes).astype(np.float64)
    out = np.empty(len(G))
    args = (G, lay.cfg, lay.fixed_as(np.float64), max(lay.n_packed, 1), lay.n_state,
            bool(markov), int(max_steps), bool(damping), int(poles), out)
    run_chunks(_kernels(lay.kind)[0], len(G), *args)
    return out


def grid_starts() -> np.ndarray:
    """The 625 generalization starts: x, xdot, th1, th1dot at 0.05/0.25/0.5/0.75/0.95 of
    +-2.16 m, +-1.35 m/s, +-3.6 deg, +-8.6 deg/s; th2 = th2dot = 0."""
    q = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    ranges = [2.16, 1.35, np.radians(3.6), np.radians(8.6)]
    vals = [(2 * q - 1) * r for r in ranges]
    g = np.array(np.meshgrid(*vals, indexing="ij")).reshape(4, -1).T
    return np.hstack([g, np.zeros((len(g), 2))])


def generalization_subset() -> np.ndarray:
    """25 of the 625 grid starts in which every pair of the four variables takes each of its
    25 value pairs once (levels a, b, a + b and a + 2b mod 5: an orthogonal array)."""
    a, b = np.divmod(np.arange(25), 5)
    idx = ((a * 5 + b) * 5 + (a + b) % 5) * 5 + (a + 2 * b) % 5
    return grid_starts()[idx]


SUBSET = None                     # generalization_subset(), made on first use


def dpnv_evaluate(net, genomes, seed=None, measures: bool = False):
    """DPNV's damping fitness of every genome; with ``measures`` also its generalization
    [P, 1]: the fraction of ``generalization_subset()``'s 25 starts it balances for 1,000
    steps, measured for genomes whose fitness reaches 0.1 (every one that balanced the
    1,000-step episode) and 0 for the others."""
    f = evaluate(net, genomes, False, DPNV_STEPS, True)
    if not measures:
        return f
    global SUBSET
    if SUBSET is None:
        SUBSET = generalization_subset()
    lay = _layer(net)
    G = net.check_genomes(genomes).astype(np.float64)
    w, fx = np.empty(max(lay.n_packed, 1)), lay.fixed_as(np.float64)
    steps, good = np.empty(len(SUBSET)), np.zeros((len(G), 1))
    for p in np.flatnonzero(f >= 0.1):
        pack(lay.kind, G[p], lay.cfg, fx, w)
        run_chunks(_kernels(lay.kind)[1], len(SUBSET), w, lay.cfg, fx, lay.n_state, SUBSET,
                   False, 2, steps)
        good[p, 0] = np.mean(steps >= DPNV_STEPS)
    return f, good


def _failing_first() -> np.ndarray:
    """The grid starts' indices, those far out in cart position (weight 3) and velocity
    (weight 1) first: the starts champions fail most (measured on the champions of seeds
    1-24), so that a failing champion's verdict comes after fewer starts."""
    level = np.array(np.meshgrid(*[np.arange(5)] * 4, indexing="ij")).reshape(4, -1).T
    return np.argsort(-(np.abs(level - 2) @ np.array([3, 1, 0, 0])), kind="stable")


FAILING_FIRST = _failing_first()
# the order the run's champion tests take the grid starts in: FAILING_FIRST, then, as
# champions are tested, the starts that failed more of them than they passed first (the
# champions of one run resemble each other). It orders work only: a verdict and a count
# do not depend on it.
_tally = np.zeros(625)
_tally[FAILING_FIRST] = np.linspace(0.5, 0.0, 625)


def _learn(starts: np.ndarray, steps: np.ndarray) -> None:
    """Count the grid starts just run: +1 where the champion failed, -1 where it balanced."""
    _tally[starts] += np.where(steps < DPNV_STEPS, 1.0, -1.0)


def _packed(net, genome):
    lay = _layer(net)
    w = np.empty(max(lay.n_packed, 1))
    fx = lay.fixed_as(np.float64)
    pack(lay.kind, net.check_genomes(genome)[0].astype(np.float64), lay.cfg, fx, w)
    return lay, w, fx, np.empty(lay.n_state + 1)


def generalization(net, genome, markov: bool, poles: int = 2) -> int:
    """Of the 625 grid starts, how many the network balances for 1,000 steps (the starts
    spread over the worker threads)."""
    lay, w, fx, _ = _packed(net, genome)
    starts = grid_starts()
    steps = np.empty(len(starts))
    run_chunks(_kernels(lay.kind)[1], len(starts), w, lay.cfg, fx, lay.n_state, starts,
               bool(markov), int(poles), steps)
    return int((steps >= DPNV_STEPS).sum())


def champion_test(net, genome, markov: bool = False, count: bool = True) -> tuple[bool, int | None]:
    """The DPNV champion test: 100,000 steps from the standard start, then 1,000 steps from
    each of the 625 grid starts; passed when at least 200 of them are balanced.
    Returns (passed, grid starts balanced; 0 when the 100,000 steps fail). Not counted as
    evaluations. ``count=False`` gives the same verdict, and the same count when passed, but
    stops at a failure as soon as it is certain and returns None for its count."""
    lay, w, fx, st = _packed(net, genome)
    kern = _kernels(lay.kind)
    if count:
        t, _ = kern[2](w, lay.cfg, fx, st, START.copy(), markov, MARKOV_STEPS)
        if t < MARKOV_STEPS:
            return False, 0
        good = generalization(net, genome, markov)
        return good >= GENERALIZATION_NEEDED, good
    # cheapest first: the long test's first steps, the grid until its verdict is certain,
    # the rest of the long test (from where its first steps left it), then the rest of the
    # grid for the count
    s = START.copy()
    st[:] = 0
    t = kern[4](w, lay.cfg, fx, st, s, markov, 0, SCREEN_STEPS)
    if t < SCREEN_STEPS:
        return False, None
    order = np.argsort(-_tally, kind="stable")
    starts = grid_starts()[order]
    steps = np.empty(len(starts))
    ran = _starts_until(kern, lay, w, fx, starts, markov, steps)
    _learn(order[:ran], steps[:ran])
    if (steps[:ran] >= DPNV_STEPS).sum() < GENERALIZATION_NEEDED:
        return False, None
    if kern[4](w, lay.cfg, fx, st, s, markov, t, MARKOV_STEPS) < MARKOV_STEPS:
        return False, None
    run_chunks(kern[1], len(starts) - ran, w, lay.cfg, fx, lay.n_state, starts[ran:], bool(markov),
               2, steps[ran:])
    _learn(order[ran:], steps[ran:])
    good = int((steps >= DPNV_STEPS).sum())
    return good >= GENERALIZATION_NEEDED, good


def _starts_until(kern, lay, w, fx, starts, markov, steps) -> int:
    """Balance from the starts in order until GENERALIZATION_NEEDED are balanced or too few
    are left for that; returns how many ran (their steps in ``steps``). On worker threads,
    a block of starts at a time."""
    n, need = len(starts), GENERALIZATION_NEEDED
    if threads() == 1:
        return int(kern[3](w, lay.cfg, fx, lay.n_state, starts, bool(markov), 2, need, steps))
    ran = good = 0
    block = 8 * threads()
    while ran < n and good < need and ran - good <= n - need:
        hi = min(ran + block, n)
        run_chunks(kern[1], hi - ran, w, lay.cfg, fx, lay.n_state, starts[ran:hi], bool(markov), 2,
                   steps[ran:hi])
        good += int((steps[ran:hi] >= DPNV_STEPS).sum())
        ran = hi
    return ran


# the network's output y in [0, 1] as the environment's action in [-1, 1] (force = 10 N x action)
ACTION_MAP = (2.0, -1.0)


def network(markov: bool, arch: str = "frnn", n_hidden: int = 5, poles: int = 2, **options):
    """The literature's controller: 5 fully recurrent sigmoid neurons, output = neuron 0,
    bias as a constant input (45 weights without velocities, 60 with)."""
    import evornn
    if arch == "frnn":
        options.setdefault("bias", False)
    return evornn.Network(arch, n_inputs(markov, poles), n_hidden, 1, **options)


def _env(markov: bool, poles: int):
    def make(**kwargs):
        from ._pole_env import PoleEnv
        return PoleEnv(markov=markov, poles=poles, **kwargs)
    return make


def _inspect(markov: bool, poles: int):
    return lambda net, genome: {"grid_starts_balanced": int(generalization(net, genome, markov, poles)),
                                "of": 625}


def _solved_markov(net, genome, fitness):
    return bool(fitness >= MARKOV_STEPS), {"steps": int(fitness)}


def _solved_dpnv(net, genome, fitness):
    if fitness < 0.1:          # fewer than 1,000 steps balanced: the long test fails too
        return False, {"generalization": 0}
    passed, good = champion_test(net, genome)
    return passed, {"generalization": int(good)}


def _solved_dpnv_fast(net, genome, fitness):
    if fitness < 0.1:
        return False, {}
    passed, good = champion_test(net, genome, count=False)
    return passed, ({"generalization": int(good)} if passed else {})


def mirror_basis(n_in: int, n_hidden: int, recurrent: float = 1.0) -> tuple:
    """xNES's ``basis`` [D, L] for an ``frnn`` (bias as the last input) whose force is an odd
    function of the state, as the mirror-symmetric cart and poles are: each neuron's bias weight
    is minus the sum of its recurrent weights, so that the rest state a = 0.5 pushes with no
    force. ``recurrent`` scales the recurrent coordinates' steps (0: no recurrent weights)."""
    I, H = n_in, n_hidden
    D = (I + H) * H
    cols = []
    for j in range(H):
        for i in range(I - 1):
            cols.append(np.eye(D)[j * I + i])
    for j in range(H):
        for k in range(H if recurrent else 0):
            cols.append(recurrent * (np.eye(D)[I * H + j * H + k] - np.eye(D)[j * I + I - 1]))
    return tuple(map(tuple, np.array(cols).T))


def _mirror(recurrent: float):
    """The problem's xNES ``basis`` as a function of the network: ``mirror_basis`` for one
    layer of sigmoid neurons read as the outputs whose genome is exactly W_ih [H, I] then
    W_hh [H, H] (the default ``frnn``: no own biases), else None (every gene)."""
    def basis(net):
        lay = net.layers[0]
        I, H = lay.n_in, lay.n_hidden
        blocks = [(b.name, tuple(b.shape), b.offset) for b in net.layout]
        if len(net.layers) != 1 or lay.opts.get("readout") != "neurons" or \
                lay.family.feature_range(lay.opts) != (0.0, 1.0) or \
                blocks != [("W_ih", (H, I), 0), ("W_hh", (H, H), I * H)]:
            return None
        return mirror_basis(I, H, recurrent)
    return basis


from evornn.problem import Problem  # noqa: E402

# Defaults tuned on seeds 0-99 (benchmarks/pole.py; docs/problems.md has the figures and
# the held-out seeds): few fully recurrent neurons search faster than the literature's five,
# two without velocities (12 weights) and one with them (8 weights: the Markovian task
# needs no memory); xNES with step-size and shape learning rates 0.1, restarted from the
# center when its step size has shrunk to 0.6 sigma0 (runs that converge onto a controller
# that balances from the standard start but does not generalize), searching only the
# mirror-symmetric controllers (``mirror_basis``: 10 and 7 coordinates; DPNV's recurrent ones
# stepping at half sigma0).
DPNV_HIDDEN, MARKOV_HIDDEN = 2, 1
_XNES = {"eta_sigma": 0.1, "eta_B": 0.1, "restart_below": 0.6}
DPNV_SEARCH = dict(sigma0=3.0, popsize=10, optimizer="xnes", max_evals=40_000,
                   optimizer_options={**_XNES, "basis": _mirror(0.5)})
MARKOV_SEARCH = dict(sigma0=2.0, popsize=8, optimizer="xnes", max_evals=40_000,
                     optimizer_options={**_XNES, "basis": _mirror(1.0)})

# the network's sensors (scaled as ``observe`` scales them) and its one motor
_CART = ("cart position", "cart velocity")
_POLE1 = ("pole 1 angle", "pole 1 angular velocity")
_POLE2 = ("pole 2 angle", "pole 2 angular velocity")
MARKOV_INPUTS = _CART + _POLE1 + _POLE2 + ("bias (0.5)",)
DPNV_INPUTS = ("cart position", "pole 1 angle", "pole 2 angle", "bias (0.5)")
SINGLE_INPUTS = _CART + _POLE1 + ("bias (0.5)",)
OUTPUTS = ("force",)

PROBLEMS = [
    Problem("double-pole", "double pole balancing with velocities (Markovian), 100,000 steps",
            n_in=7, n_out=1, arch="frnn", n_hidden=MARKOV_HIDDEN, arch_options={"bias": False},
            evaluate=lambda net, G, seed: evaluate(net, G, True, MARKOV_STEPS, False),
            solved=_solved_markov, output_map=ACTION_MAP, env=_env(True, 2),
            inspect=_inspect(True, 2), inputs=MARKOV_INPUTS, outputs=OUTPUTS, **MARKOV_SEARCH),
    Problem("dpnv", "double pole balancing without velocities, damping fitness, champion tests",
            n_in=4, n_out=1, arch="frnn", n_hidden=DPNV_HIDDEN, arch_options={"bias": False},
            evaluate=dpnv_evaluate, solved=_solved_dpnv, solved_fast=_solved_dpnv_fast,
            measures={"generalization": (0.0, 1.0)}, objectives=("fitness", "generalization"),
            output_map=ACTION_MAP, env=_env(False, 2), inputs=DPNV_INPUTS, outputs=OUTPUTS,
            **DPNV_SEARCH),
    Problem("single-pole", "single pole balancing with velocities (Markovian), 100,000 steps",
            n_in=5, n_out=1, arch="frnn", n_hidden=SINGLE_HIDDEN, arch_options={"bias": False},
            evaluate=lambda net, G, seed: evaluate(net, G, True, MARKOV_STEPS, False, poles=1),
            solved=_solved_markov, optimizer="xnes", sigma0=1.0, max_evals=10_000,
            output_map=ACTION_MAP, env=_env(True, 1), inspect=_inspect(True, 1),
            inputs=SINGLE_INPUTS, outputs=OUTPUTS),
]
