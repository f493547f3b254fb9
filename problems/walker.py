"""Beer's single-leg walker: a CTRNN drives a leg with a foot, a forward and a backward
swing motor; fitness is the distance the body travels in a fixed time.

The body model (Beer and Gallagher 1992, Adaptive Behavior 1(1), with their constants): leg length
15, motor forces up to 0.05, leg angle within +-pi/6, body velocity within +-6, swing
torque 0.5 and angular velocity within +-1. With the foot down (foot motor > 0.5) the
net motor force pushes the body (only while the leg is within its angle limits, or
pushing back towards them) and the leg angle follows the body; with the foot up the body
stops and the motors swing the leg (the forward motor forward). Signs: the leg angle grows
forwards; in stance the backward motor's force pushes the body forward and the forward
motor is off. A foot left more than 20 units behind the body makes
it unstable: it stops. The network's one input is the leg angle sensor
(5 angle / (pi/6)); its first three neurons' firing rates are the foot, backward and
forward motors. Euler steps of 0.1 for 220 time units, network and body in one compiled
loop per individual.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from evornn.episode import EXACT, pack_any, per_kind, run_chunks, single_layer, step_any
from evornn.problem import Problem

from . import _leg

FOOT, BACKWARD, FORWARD = 0, 1, 2          # motor neurons


@njit(**EXACT)
def body_step(leg, foot_out, back_out, fwd_out, dt):
    """Advance the body and leg one step; leg = [cx, vx, joint_x, foot_x, angle, omega,
    foot_down, foot_y], the joint at height 0. A planted foot stays where it is (x and y)
    while the joint moves on, so the leg angle follows the body."""
    cx, vx, jx, fx, angle, omega, fy = leg[0], leg[1], leg[2], leg[3], leg[4], leg[5], leg[7]
    down = foot_out > 0.5
    back, fwd = _leg.motor_forces(down, back_out, fwd_out)
    vx = _leg.clip_velocity(vx + dt * _leg.body_force(down, angle, back, fwd))
    cx += dt * vx
    jx += dt * vx
    fx, fy, angle, omega = _leg.move_leg(down, jx, fx, fy, angle, omega, back, fwd, dt)
    if not down:
        vx = 0.0                       # one leg: the body is supported only in stance
    if cx - fx > _leg.MAX_STRETCH:
        vx = 0.0
    leg[0], leg[1], leg[2], leg[3], leg[4], leg[5], leg[6], leg[7] = (cx, vx, jx, fx, angle, omega,
                                                                      down, fy)


@njit(**EXACT)
def start():
    """At rest, leg forward at its limit, foot up."""
    leg = np.zeros(8)
    leg[4] = _leg.FORWARD_LIMIT
    leg[3] = _leg.LEG_LENGTH * math.sin(_leg.FORWARD_LIMIT)
    leg[7] = _leg.LEG_LENGTH * math.cos(_leg.FORWARD_LIMIT)
    return leg


@njit(**EXACT)
def episode(kind, w, cfg, fixed, netstate, steps, dt, row):
    """``steps`` steps from rest, leg forward, foot up: row = (distance travelled, distance /
    duration, minus the mean over the steps of the squared motor rates' sum); NaN throughout
    for a network that diverges. The energy's sum does not touch the body, so the distance
    is the fitness whether or not the measures are asked for."""
    leg = start()
    x = np.empty((1, 1))
    y = np.empty((1, int(cfg[3])))
    netstate[:] = 0.0
    energy = 0.0
    for _ in range(steps):
        x[0, 0] = leg[4] * 5.0 / _leg.FORWARD_LIMIT
        step_any(kind, w, cfg, fixed, netstate, x, y)
        if not (math.isfinite(y[0, FOOT]) and math.isfinite(y[0, BACKWARD])
                and math.isfinite(y[0, FORWARD])):
            row[:] = np.nan
            return
        energy += y[0, FOOT] ** 2 + y[0, BACKWARD] ** 2 + y[0, FORWARD] ** 2
        body_step(leg, y[0, FOOT], y[0, BACKWARD], y[0, FORWARD], dt)
    row[0] = leg[0]
    row[1] = leg[0] / (steps * dt)
    row[2] = -energy / steps


@per_kind
def _chunk(kind):
    """The population loop for the family ``kind``: each genome's episode row."""
    @njit(nogil=True, **EXACT)
    def chunk(lo, hi, G, cfg, fixed, n_packed, n_state, steps, dt, out):
        w = np.empty(n_packed)
        netstate = np.empty(n_state + 1)
        for p in range(lo, hi):
            pack_any(kind, G[p], cfg, fixed, w)
            episode(kind, w, cfg, fixed, netstate, steps, dt, out[p])
    return chunk


def evaluate(net, genomes, seed=None, measures: bool = False):
    """Distance travelled by every genome's walker (float64, parallel over genomes); with
    ``measures`` also (speed, economy) for each, [P, 2] (``MEASURES``)."""
    lay = single_layer(net, "the walker needs a single-layer network with 1 input (leg angle) and "
                       "3 outputs (foot, backward, forward motors)", n_in=1, n_out=3)
    G = net.check_genomes(genomes).astype(np.float64)
    args = (G, lay.cfg, lay.fixed_as(np.float64), max(lay.n_packed, 1), lay.n_state, _leg.STEPS,
            _leg.DT)
    rows = np.empty((len(G), 3))
    run_chunks(_chunk(lay.kind), len(G), *args, rows)
    if measures:
        return rows[:, 0].copy(), rows[:, 1:].copy()
    return rows[:, 0].copy()


def trace(net, genome) -> dict:
    """The best walker's run: every neuron's rate, the leg angle, the body position and
    the stance (foot down) at each step (the pictures of `report`)."""
    import evornn
    full = evornn.Network(net.arch, net.n_in, net.n_hidden, net.n_hidden, genome=genome,
                          **net.options)                    # readout 'neurons': all of them
    leg = start()
    R, angle, x, stance, legs = [], [], [], [], []
    for _ in range(_leg.STEPS):
        r = full.step(np.array([leg[4] * 5.0 / _leg.FORWARD_LIMIT]))
        body_step(leg, r[FOOT], r[BACKWARD], r[FORWARD], _leg.DT)
        R.append(r)
        angle.append(leg[4])
        x.append(leg[0])
        stance.append(leg[6] > 0.5)
        legs.append((leg[2], leg[3], leg[7]))           # joint x, foot x, foot depth
    return {"t": np.arange(1, _leg.STEPS + 1) * _leg.DT, "neurons": np.array(R),
            "stance": np.array(stance)[:, None], "legs": np.array(legs)[:, None],
            "signals": {"leg angle (rad)": np.array(angle), "body position": np.array(x)}}


def _solved(net, genome, fitness):
    velocity = fitness / _leg.DURATION
    return bool(velocity >= SOLVED_VELOCITY), {"velocity": round(float(velocity), 4)}


# speed: distance / duration (the body's mean velocity); economy: minus the energy, the sum of
# the three motor rates squared (each in [0, 1]) averaged over the steps, so that both are
# maximized: the objectives of --optimizer nsga2 are the distance against the economy
MEASURES = {"speed": (-_leg.MAX_VELOCITY, _leg.MAX_VELOCITY), "economy": (-3.0, 0.0)}

# evolution here levels off at an average velocity of 0.627 (seeds 1-3, 4,000 evaluations)
SOLVED_VELOCITY = 0.62

PROBLEM = Problem("walker", "Beer's single-leg walker (CTRNN): distance in 220 time units",
                  n_in=1, n_out=3, evaluate=evaluate, solved=_solved, arch="ctrnn", n_hidden=5,
                  arch_options={"dt": _leg.DT}, optimizer="xnes", popsize=20, sigma0=4.0,
                  max_evals=20_000, trace=trace, pictures=_leg.pictures, inputs=("leg angle",),
                  outputs=("foot", "backward swing", "forward swing"), measures=MEASURES,
                  objectives=("fitness", "economy"))
