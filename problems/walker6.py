"""Beer and Gallagher's (1992) six-legged walker: six copies of the single leg of `walker`,
each driven by the same 5-neuron CTRNN, coupled between neighbouring legs; fitness is the
body's average forward velocity over 220 time units.

Legs: 0-2 left front, middle, rear (L1, L2, L3), 3-5 right (R1, R2, R3). Every leg is the
leg of `walker` (problems/_leg.py): its angle sensor (5 angle / (pi/6)) feeds its own
controller, whose first three neurons' rates are its foot, backward and forward motors.

Controller: one leg controller, copied six times. The genome is that of a `ctrnn`
Network with 3 inputs and 5 neurons (Euler, dt 0.1), read as W (neuron to neuron),
theta, tau, W_in[:, 0] (angle sensor weights) and, in place of two further input
weights, each neuron's coupling weights: W_in[k, 1] from neuron k of the ipsilateral
neighbours (the leg in front and the leg behind on the same side) and W_in[k, 2] from
neuron k of the contralateral leg (the other leg of the same segment). Only corresponding
neurons are coupled, with the same weight in both directions (symmetric), as in Beer and
Gallagher: 25 + 5 + 5 + 5 + 10 = 50 genes. A neuron's input is
    sum_j W[k, j] r_j + W_in[k, 0] s + W_in[k, 1] sum_ipsi r_k + W_in[k, 2] r_k(contra),
with r the firing rates of the previous step (one 30-neuron CTRNN, stepped synchronously).

Body: each stance leg pushes the body as `walker`'s leg does (its backward motor, while
within its angle limits or pushing back towards them); the body weighs as much as three
single-leg bodies, so that a tripod moves it as one leg moves `walker`'s:
vx <- clip(vx + dt sum_legs f / 3, +-6). Every joint moves with the body, planted feet stay
put, lifted legs swing. Static stability, simplified: the legs are taken to stand at
their joints, at fore-aft positions +1 (front), 0 (middle), -1 (rear) on two sides, the
centre of mass in the middle; the body is supported when the polygon of the stance feet
contains the centre of mass strictly, that is when a foot is down on each side and
    max_left + max_right > 0  and  min_left + min_right < 0
over the fore-aft positions of each side's stance feet (a tripod L1 R2 L3 or R1 L2 R3 is
stable; a diagonal pair, the two middle legs or one side alone are not). An unsupported
body falls: its velocity is zeroed (with one leg this is `walker`'s rule, the body moves
only in stance). A foot more than 20 units behind its joint zeroes it too.

Start: body at rest, all feet up, the neurons at rest (state 0); the legs of one tripod
(L1, R2, L3) at their forward limit, the others (R1, L2, R3) at their backward limit.
Identical legs started identically under symmetric coupling would stay in step forever,
so the start must break the symmetry (docs/problems.md has what the other starts and
bodies that were tried gave).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from evornn.episode import EXACT, family, pack, pack_any, per_kind, run_chunks
from evornn.problem import Problem

from . import _leg

LEGS = ("L1", "L2", "L3", "R1", "R2", "R3")
POSITION = np.array([1, 0, -1, 1, 0, -1])      # fore-aft place of each leg's joint (stability)
BODY_MASS = 3.0                                # three single-leg bodies: a tripod moves it as one leg
JOINT_SPACING = 20.0                           # distance between joints (pictures only)
START_ANGLES = _leg.FORWARD_LIMIT * np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])   # L1 R2 L3 forward
FOOT, BACKWARD, FORWARD = 0, 1, 2              # motor neurons
N_IN = 3                                       # angle sensor, ipsilateral, contralateral coupling


@njit(**EXACT)
def stable(down):
    """Whether the stance feet hold the body up (the simplified static stability rule)."""
    lmax, lmin, rmax, rmin = -9, 9, -9, 9
    for leg in range(6):
        if down[leg]:
            p = POSITION[leg]
            if leg < 3:
                lmax, lmin = max(lmax, p), min(lmin, p)
            else:
                rmax, rmin = max(rmax, p), min(rmin, p)
    return lmax > -9 and rmax > -9 and lmax + rmax > 0 and lmin + rmin < 0


@njit(**EXACT)
def network_step(w, H, y, r, rnew, sensor, dt):
    """One Euler step of the six coupled leg controllers: y (states) and r (rates) [6, H]
    in place, from the packed ctrnn weights w (3 inputs) and the angle sensors [6]."""
    win = H * H
    p = (H + N_IN) * H
    for leg in range(6):
        side = 3 * (leg // 3)
        pos = leg - side
        for k in range(H):
            z = w[win + k] * sensor[leg]
            s = 0.0
            if pos > 0:
                s += r[leg - 1, k]
            if pos < 2:
                s += r[leg + 1, k]
            z += w[win + H + k] * s
            z += w[win + 2 * H + k] * r[(leg + 3) % 6, k]
            for j in range(H):
                z += r[leg, j] * w[j * H + k]
            y[leg, k] += dt * w[p + H + k] * (z - y[leg, k])
    for leg in range(6):
        for k in range(H):
            rnew[leg, k] = 1.0 / (1.0 + math.exp(-(w[p + 2 * H + k] * (y[leg, k] + w[p + k]))))
    r[:] = rnew


@njit(**EXACT)
def episode(w, H, steps, dt, rec_x, rec_legs, rec_r, acc):
    """Distance the body travels in ``steps`` steps; with rec_x of length steps, also the
    body position, the legs [steps, 6, 5] (joint x, foot x, foot depth, angle, foot down)
    and the rates [steps, 6, H] at every step; with acc of length 7, the steps each leg's
    foot was down (acc[:6]) and the sum of the squared motor rates (acc[6])."""
    p = (H + N_IN) * H
    y = np.zeros((6, H))
    r = np.empty((6, H))
    rnew = np.empty((6, H))
    for leg in range(6):
        for k in range(H):
            r[leg, k] = 1.0 / (1.0 + math.exp(-(w[p + 2 * H + k] * (y[leg, k] + w[p + k]))))
    jx, fx, fy = np.empty(6), np.empty(6), np.empty(6)
    angle, omega = START_ANGLES.copy(), np.zeros(6)
    down = np.zeros(6, np.bool_)
    back, fwd, sensor = np.empty(6), np.empty(6), np.empty(6)
    for leg in range(6):
        jx[leg] = JOINT_SPACING * POSITION[leg]
        fx[leg] = jx[leg] + _leg.LEG_LENGTH * math.sin(angle[leg])
        fy[leg] = _leg.LEG_LENGTH * math.cos(angle[leg])
    cx = vx = 0.0
    record = rec_x.shape[0] > 0
    measure = acc.shape[0] > 0
    for t in range(steps):
        for leg in range(6):
            sensor[leg] = angle[leg] * 5.0 / _leg.FORWARD_LIMIT
        network_step(w, H, y, r, rnew, sensor, dt)
        force = 0.0
        for leg in range(6):
            if not (math.isfinite(r[leg, FOOT]) and math.isfinite(r[leg, BACKWARD])
                    and math.isfinite(r[leg, FORWARD])):
                return np.nan
            down[leg] = r[leg, FOOT] > 0.5
            back[leg], fwd[leg] = _leg.motor_forces(down[leg], r[leg, BACKWARD], r[leg, FORWARD])
            force += _leg.body_force(down[leg], angle[leg], back[leg], fwd[leg])
            if measure:
                acc[leg] += down[leg]
                acc[6] += r[leg, FOOT] ** 2 + r[leg, BACKWARD] ** 2 + r[leg, FORWARD] ** 2
        vx = _leg.clip_velocity(vx + dt * force / BODY_MASS)
        cx += dt * vx
        for leg in range(6):
            jx[leg] += dt * vx
            fx[leg], fy[leg], angle[leg], omega[leg] = _leg.move_leg(
                down[leg], jx[leg], fx[leg], fy[leg], angle[leg], omega[leg], back[leg], fwd[leg],
                dt)
        if not stable(down):
            vx = 0.0                      # the body falls onto its belly
        for leg in range(6):
            if jx[leg] - fx[leg] > _leg.MAX_STRETCH:
                vx = 0.0
        if record:
            rec_x[t] = cx
            for leg in range(6):
                rec_legs[t, leg, 0], rec_legs[t, leg, 1], rec_legs[t, leg, 2] = jx[leg], fx[leg], fy[leg]
                rec_legs[t, leg, 3], rec_legs[t, leg, 4] = angle[leg], down[leg]
            rec_r[t] = r
    return cx


@per_kind
def _chunk(kind):
    """The population loop (the family ``kind`` is ctrnn's)."""
    @njit(nogil=True, **EXACT)
    def chunk(lo, hi, G, cfg, fixed, n_packed, H, steps, dt, out):
        w = np.empty(n_packed)
        none_x, none_legs, none_r = np.empty(0), np.empty((0, 6, 5)), np.empty((0, 6, H))
        for p in range(lo, hi):
            pack_any(kind, G[p], cfg, fixed, w)
            out[p] = episode(w, H, steps, dt, none_x, none_legs, none_r, none_x) / (steps * dt)
    return chunk


@per_kind
def _measure_chunk(kind):
    """The population loop with the measures (MEASURES' order) in vals [P, 9]."""
    @njit(nogil=True, **EXACT)
    def chunk(lo, hi, G, cfg, fixed, n_packed, H, steps, dt, out, vals):
        w = np.empty(n_packed)
        none_x, none_legs, none_r = np.empty(0), np.empty((0, 6, 5)), np.empty((0, 6, H))
        acc = np.empty(7)
        for p in range(lo, hi):
            pack_any(kind, G[p], cfg, fixed, w)
            acc[:] = 0.0
            out[p] = episode(w, H, steps, dt, none_x, none_legs, none_r, acc) / (steps * dt)
            if not math.isfinite(out[p]):
                vals[p] = np.nan
                continue
            vals[p, :6] = acc[:6] / steps
            vals[p, 6] = out[p]
            vals[p, 7] = acc[6] / (6 * steps)
            vals[p, 8] = -vals[p, 7]
    return chunk


def _layer(net):
    lay = net.layers[0] if len(net.layers) == 1 else None
    if (lay is None or lay.family is not family("ctrnn") or net.n_in != N_IN or net.n_out != 3
            or lay.opts["readout"] != "neurons" or lay.opts["integrator"] != "euler"):
        raise ValueError("walker6 needs a single-layer ctrnn network (Euler, readout 'neurons') "
                         "with 3 inputs (angle sensor, ipsilateral and contralateral coupling "
                         f"weights) and 3 outputs (foot, backward, forward motors); got "
                         f"{net.arch!r} with {net.n_in} inputs and {net.n_out} outputs")
    return lay


def evaluate(net, genomes, seed=None, measures: bool = False):
    """Average forward velocity of every genome's six-legged walker (parallel over genomes);
    with measures, also the values [P, 9] of MEASURES."""
    lay = _layer(net)
    G = net.check_genomes(genomes).astype(np.float64)
    out = np.empty(len(G))
    args = (len(G), G, lay.cfg, lay.fixed_as(np.float64), lay.n_packed, lay.n_hidden, _leg.STEPS,
            float(lay.opts["dt"]), out)
    if not measures:
        run_chunks(_chunk(lay.kind), *args)
        return out
    vals = np.empty((len(G), len(MEASURES)))
    run_chunks(_measure_chunk(lay.kind), *args, vals)
    return out, vals


def run(net, genome) -> dict:
    """One walk recorded step by step: body position [T], legs [T, 6, 5], rates [T, 6, H]."""
    lay = _layer(net)
    w = np.empty(lay.n_packed)
    g = net.check_genomes(np.asarray(genome, np.float64)[None])[0].astype(np.float64)
    pack(lay.kind, g, lay.cfg, lay.fixed_as(np.float64), w)
    T = _leg.STEPS
    x, legs, r = np.empty(T), np.empty((T, 6, 5)), np.empty((T, 6, lay.n_hidden))
    dist = episode(w, lay.n_hidden, T, float(lay.opts["dt"]), x, legs, r, np.empty(0))
    return {"distance": dist, "x": x, "legs": legs, "rates": r}


def gait(stance: np.ndarray) -> dict:
    """Phase relations of a gait from stance[T, 6] (the settled second half): the correlation
    of each pair's stance, for contralateral (L-R), ipsilateral neighbour and front-rear pairs
    (a tripod gait: about -1, -1, +1), and the mean number of feet down."""
    s = np.asarray(stance, float)[len(stance) // 2:]

    def corr(a, b):
        x, y = s[:, a] - s[:, a].mean(), s[:, b] - s[:, b].mean()
        d = np.sqrt((x * x).sum() * (y * y).sum())
        return float((x * y).sum() / d) if d > 0 else 0.0
    return {"contralateral": round(np.mean([corr(i, i + 3) for i in range(3)]), 3),
            "ipsilateral": round(np.mean([corr(0, 1), corr(1, 2), corr(3, 4), corr(4, 5)]), 3),
            "front_rear": round(np.mean([corr(0, 2), corr(3, 5)]), 3),
            "feet_down": round(float(s.sum(1).mean()), 2)}


def trace(net, genome) -> dict:
    """The best walk for `report`: leg L1's neurons, its angle and the body position over time,
    every leg's stance, and the legs for the animation."""
    rec = run(net, genome)
    legs = rec["legs"]
    return {"t": np.arange(1, _leg.STEPS + 1) * _leg.DT, "neurons": rec["rates"][:, 0],
            "stance": legs[:, :, 4] > 0.5, "legs": legs[:, :, :3], "leg_names": list(LEGS),
            "signals": {"L1 leg angle (rad)": legs[:, 0, 3], "body position": rec["x"]}}


def _solved(net, genome, fitness):
    return bool(fitness >= SOLVED_VELOCITY), {"velocity": round(float(fitness), 4)}


def _inspect(net, genome) -> dict:
    return gait(run(net, genome)["legs"][:, :, 4] > 0.5)


# Each leg's duty factor (the fraction of the steps its foot is down; Cully et al.'s 2015
# hexapod gait descriptor), the speed (the fitness) and the energy: the squared rates of
# the three motor neurons (foot, backward, forward), summed, averaged over legs and steps
# (0 .. 3); economy is minus the energy, so that both objectives are maximized. A side's
# front and rear legs have the same neighbours and start alike, so they step alike
# (equal duty factors): the default descriptors are the four that differ.
MEASURES = {**{f"duty_{leg}": (0.0, 1.0) for leg in LEGS},
            "speed": (-_leg.MAX_VELOCITY, _leg.MAX_VELOCITY), "energy": (0.0, 3.0),
            "economy": (-3.0, 0.0)}

# seed 1 passes it after about 9,000 evaluations; legs in step reach 0.76, this needs a tripod
SOLVED_VELOCITY = 1.5

PROBLEM = Problem("walker6", "Beer and Gallagher's six-legged walker (coupled CTRNN legs): "
                  "average forward velocity over 220 time units", n_in=N_IN, n_out=3,
                  evaluate=evaluate, solved=_solved, arch="ctrnn", n_hidden=5,
                  arch_options={"dt": _leg.DT}, optimizer="xnes", popsize=20, sigma0=4.0,
                  max_evals=20_000, trace=trace, pictures=_leg.pictures, inspect=_inspect, check=_layer,
                  inputs=("leg angle", "ipsilateral coupling", "contralateral coupling"),
                  outputs=("foot", "backward swing", "forward swing"), measures=MEASURES,
                  descriptors=("duty_L1", "duty_L2", "duty_R1", "duty_R2"),
                  objectives=("fitness", "economy"))
