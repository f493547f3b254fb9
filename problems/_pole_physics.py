"""The cart with one or two poles of the pole-balancing literature (Wieland 1991): the
equations, constants, sensors and failure limits of the NEAT 1.2 / ESP / CoSyNE reference
code, and the protocol's episode lengths. Shared by the problems (pole.py) and the
gymnasium environment (_pole_env.py).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from evornn.episode import EXACT

GRAVITY, MASSCART, MUP, FORCE_MAG, TAU = -9.8, 1.0, 0.000002, 10.0, 0.01
MASSPOLE_1, LENGTH_1, MASSPOLE_2, LENGTH_2 = 0.1, 0.5, 0.01, 0.05   # lengths are half-lengths
X_LIMIT, THETA_LIMIT = 2.4, 0.628329
START = np.array([0.0, 0.0, 0.07, 0.0, 0.0, 0.0])
MARKOV_STEPS = 100_000        # Markovian success; also the DPNV champion's first test
DPNV_STEPS = 1_000            # damping-fitness evaluation and generalization episodes


@njit(**EXACT)
def _pole_terms(th, thd, mass, half):
    """One pole's cos, gravity and friction terms, force on the cart and effective mass."""
    c, s = math.cos(th), math.sin(th)
    g = GRAVITY * s
    ml = half * mass
    t = MUP * thd / ml
    f = ml * thd * thd * s + 0.75 * mass * c * (t + g)
    return c, g, t, f, mass * (1 - 0.75 * c * c)


@njit(**EXACT)
def derivs(s, force, d, poles=2):
    """d[1], d[3], d[5]: accelerations of cart and poles (the reference code's step());
    with poles=1 the short pole is absent (d[4] = d[5] = 0)."""
    c1, g1, t1, f1, m1 = _pole_terms(s[2], s[3], MASSPOLE_1, LENGTH_1)
    if poles == 2:
        c2, g2, t2, f2, m2 = _pole_terms(s[4], s[5], MASSPOLE_2, LENGTH_2)
        d[1] = (force + f1 + f2) / (m1 + m2 + MASSCART)
        d[5] = -0.75 * (d[1] * c2 + g2 + t2) / LENGTH_2
        d[4] = s[5]
    else:
        d[1] = (force + f1) / (m1 + MASSCART)
        d[4] = d[5] = 0.0
    d[3] = -0.75 * (d[1] * c1 + g1 + t1) / LENGTH_1
    d[0], d[2] = s[1], s[3]


@njit(**EXACT)
def rk4(s, force, buf, poles=2):
    """One RK4 step of TAU seconds, in place (the reference code's rk4())."""
    dydx, dyt, dym, yt = buf[0], buf[1], buf[2], buf[3]
    derivs(s, force, dydx, poles)
    hh, h6 = TAU * 0.5, TAU / 6.0
    for i in range(6):
        yt[i] = s[i] + hh * dydx[i]
    derivs(yt, force, dyt, poles)
    for i in range(6):
        yt[i] = s[i] + hh * dyt[i]
    derivs(yt, force, dym, poles)
    for i in range(6):
        yt[i] = s[i] + TAU * dym[i]
        dym[i] += dyt[i]
    derivs(yt, force, dyt, poles)
    for i in range(6):
        s[i] = s[i] + h6 * (dydx[i] + dyt[i] + 2.0 * dym[i])


@njit(**EXACT)
def observe(s, markov, x, poles=2):
    """The network's inputs for state s, scaled as in the reference code."""
    if poles == 1:
        x[0, 0] = s[0] / 4.8
        x[0, 1] = s[1] / 2.0
        x[0, 2] = s[2] / 0.52
        x[0, 3] = s[3] / 2.0
        x[0, 4] = 0.5
    elif markov:
        x[0, 0] = s[0] / 4.8
        x[0, 1] = s[1] / 2.0
        x[0, 2] = s[2] / 0.52
        x[0, 3] = s[3] / 2.0
        x[0, 4] = s[4] / 0.52
        x[0, 5] = s[5] / 2.0
        x[0, 6] = 0.5
    else:
        x[0, 0] = s[0] / 4.8
        x[0, 1] = s[2] / 0.52
        x[0, 2] = s[4] / 0.52
        x[0, 3] = 0.5


@njit(**EXACT)
def failed(s):
    """Cart off the track or a pole past 36 degrees (an absent pole stays at 0)."""
    return abs(s[0]) > X_LIMIT or abs(s[2]) > THETA_LIMIT or abs(s[4]) > THETA_LIMIT


@njit(**EXACT)
def n_inputs(markov, poles):
    return 5 if poles == 1 else 4 + 3 * markov
