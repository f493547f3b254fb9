"""Beer's minimal-cognition agent (Beer 1996, 2003): a CTRNN looks at a falling object
through a fan of distance rays and moves left and right to catch it (`catch`), or to
catch circles and avoid diamonds (`catch-avoid`).

Arena (units as Beer's): the agent, a circle of radius 15, moves along the bottom line y
= 0, within x = +-200; an object falls straight down from height 270 at speed 3, so a
trial lasts 90 time units (900 Euler steps of dt = 0.1). Objects, as Beer's: circles of
diameter 30 and diamonds of side 30 (a square on its corner, half-diagonal 21.2).
Sensors: 7 rays from the agent's centre, spread evenly over pi/6 about the vertical, 220
long; ray i reads 1 - d_i / 220 (d_i the distance to the object along the ray, 220 when
it misses), the network's 7 inputs. Motors: the first two outputs (for `ctrnn`, the
firing rates of neurons 0 and 1) set the agent's velocity, vx = 5 (y0 - y1), clipped to
+-5. Trials: the object starts at horizontal offsets -50 to 50 (8 offsets, evenly
spaced, every one a trial; circles only for `catch`, circles and diamonds at each offset
for `catch-avoid`). Fitness = mean over trials of 1 - min(|dx|, 50) / 50 for a circle
(catch it) and min(|dx|, 50) / 50 for a diamond (avoid it), dx the horizontal distance
between agent and object at the end. Solved when the circles' mean final |dx| is at most
1 (and, for `catch-avoid`, every diamond ends more than 36.2 away, the agent's radius
and the diamond's half-diagonal); a solving champion is then also tested on 41 offsets
every 2.5 (37 of them never trained on).
Agent, rays and network run in one compiled loop per genome, genomes over the worker
threads.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from evornn.episode import EXACT, pack_any, per_kind, run_chunks, single_layer, step_any
from evornn.problem import Problem

DT = 0.1
AGENT_RADIUS, ARENA_HALF_WIDTH = 15.0, 200.0
# Beer's objects: circles of diameter 30, diamonds of side 30 (half-diagonal 15 sqrt 2, so a
# diamond looks wider than a circle: the cue that tells them apart)
CIRCLE_RADIUS, DIAMOND_RADIUS = 15.0, 15.0 * math.sqrt(2.0)
START_HEIGHT, FALL_SPEED = 270.0, 3.0
STEPS = int(round(START_HEIGHT / FALL_SPEED / DT))
N_RAYS, FAN, RAY_LENGTH = 7, math.pi / 6, 220.0
RAY_ANGLES = np.linspace(-FAN / 2, FAN / 2, N_RAYS)          # from the vertical, + to the right
RAY_DX, RAY_DY = np.sin(RAY_ANGLES), np.cos(RAY_ANGLES)
MAX_SPEED = 5.0
OFFSETS = np.linspace(-50.0, 50.0, 8)
TEST_OFFSETS = np.linspace(-50.0, 50.0, 41)       # every 2.5: 37 of them never trained on
MAX_DISTANCE = 50.0
CIRCLE, DIAMOND = 0, 1


@njit(**EXACT)
def ray_circle(ox, oy, dx, dy, cx, cy, radius, length):
    """Distance along the unit ray (ox, oy) + t (dx, dy), t >= 0, to a circle; length if it
    misses within length (0 from inside)."""
    px, py = cx - ox, cy - oy
    b = px * dx + py * dy
    c = px * px + py * py - radius * radius
    if c <= 0.0:
        return 0.0
    disc = b * b - c
    if b <= 0.0 or disc < 0.0:
        return length
    t = b - math.sqrt(disc)
    return t if t < length else length


@njit(**EXACT)
def _ray_segment(ox, oy, dx, dy, ax, ay, bx, by):
    """t >= 0 where the ray meets the segment a-b, or inf."""
    ex, ey = bx - ax, by - ay
    den = dx * ey - dy * ex
    if den == 0.0:
        return math.inf
    qx, qy = ax - ox, ay - oy
    t = (qx * ey - qy * ex) / den
    s = (qx * dy - qy * dx) / den
    if t >= 0.0 and 0.0 <= s <= 1.0:
        return t
    return math.inf


CORNERS = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 0.0]])


@njit(**EXACT)
def ray_diamond(ox, oy, dx, dy, cx, cy, radius, length):
    """Distance along the unit ray to a diamond |x - cx| + |y - cy| <= radius; length if it
    misses within length (0 from inside)."""
    if abs(ox - cx) + abs(oy - cy) <= radius:
        return 0.0
    t = math.inf
    for k in range(4):
        t = min(t, _ray_segment(ox, oy, dx, dy, cx + radius * CORNERS[k, 0],
                                cy + radius * CORNERS[k, 1], cx + radius * CORNERS[k + 1, 0],
                                cy + radius * CORNERS[k + 1, 1]))
    return t if t < length else length


@njit(**EXACT)
def sense(agent_x, obj_x, obj_y, shape, out):
    """The rays' readings 1 - d / RAY_LENGTH of an object seen from the agent, into out[:N_RAYS]."""
    reach = RAY_LENGTH + DIAMOND_RADIUS         # both shapes lie within DIAMOND_RADIUS of their centre
    if (obj_x - agent_x) ** 2 + obj_y * obj_y > reach * reach:
        out[:N_RAYS] = 0.0
        return
    for i in range(N_RAYS):
        dx, dy = RAY_DX[i], RAY_DY[i]
        if shape == CIRCLE:
            d = ray_circle(agent_x, 0.0, dx, dy, obj_x, obj_y, CIRCLE_RADIUS, RAY_LENGTH)
        else:
            d = ray_diamond(agent_x, 0.0, dx, dy, obj_x, obj_y, DIAMOND_RADIUS, RAY_LENGTH)
        out[i] = 1.0 - d / RAY_LENGTH


@njit(**EXACT)
def move(agent_x, left, right, dt):
    """The agent's position after one step of the motors' velocity 5 (left - right)."""
    v = min(max(MAX_SPEED * (left - right), -MAX_SPEED), MAX_SPEED)
    return min(max(agent_x + dt * v, -ARENA_HALF_WIDTH), ARENA_HALF_WIDTH)


@njit(**EXACT)
def trial_end(kind, w, cfg, fixed, netstate, offset, shape, steps, dt):
    """Final horizontal distance (as ``trial``) of one trial from a flushed network, and the
    velocity of the last step."""
    x = np.empty((1, N_RAYS))
    y = np.empty((1, int(cfg[3])))
    netstate[:] = 0.0
    agent_x, obj_y, v = 0.0, START_HEIGHT, 0.0
    for _ in range(steps):
        sense(agent_x, offset, obj_y, shape, x[0])
        step_any(kind, w, cfg, fixed, netstate, x, y)
        if not (math.isfinite(y[0, 0]) and math.isfinite(y[0, 1])):
            return np.nan, np.nan
        agent_x = move(agent_x, y[0, 0], y[0, 1], dt)
        v = min(max(MAX_SPEED * (y[0, 0] - y[0, 1]), -MAX_SPEED), MAX_SPEED)
        obj_y -= dt * FALL_SPEED
    return offset - agent_x, v


@njit(**EXACT)
def trial(kind, w, cfg, fixed, netstate, offset, shape, steps, dt):
    """Final horizontal distance object - agent of one trial from a flushed network."""
    return trial_end(kind, w, cfg, fixed, netstate, offset, shape, steps, dt)[0]


@per_kind
def _chunk(kind):
    """The population loop for the family ``kind``."""
    @njit(nogil=True, **EXACT)
    def chunk(lo, hi, G, cfg, fixed, n_packed, n_state, offsets, shapes, steps, dt, out):
        w = np.empty(n_packed)
        netstate = np.empty(n_state + 1)
        for p in range(lo, hi):
            pack_any(kind, G[p], cfg, fixed, w)
            for k in range(len(offsets)):
                out[p, k] = trial(kind, w, cfg, fixed, netstate, offsets[k], shapes[k], steps, dt)
    return chunk


@per_kind
def _end_chunk(kind):
    """The population loop keeping each trial's final distance and velocity."""
    @njit(nogil=True, **EXACT)
    def chunk(lo, hi, G, cfg, fixed, n_packed, n_state, offsets, shapes, steps, dt, out, vel):
        w = np.empty(n_packed)
        netstate = np.empty(n_state + 1)
        for p in range(lo, hi):
            pack_any(kind, G[p], cfg, fixed, w)
            for k in range(len(offsets)):
                out[p, k], vel[p, k] = trial_end(kind, w, cfg, fixed, netstate, offsets[k],
                                                 shapes[k], steps, dt)
    return chunk


def _layer(net):
    return single_layer(net, f"catch needs a single-layer network with {N_RAYS} inputs (the rays) "
                        f"and 2 outputs (left and right motors); got {net.arch!r} with "
                        f"{len(net.layers)} layers, {net.n_in} inputs, {net.n_out} outputs",
                        n_in=N_RAYS, n_out=2)


def distances(net, genomes, offsets, shapes, velocities: bool = False):
    """Final horizontal distance object - agent [P, trials] (float64, parallel over genomes);
    with velocities, also the final velocity [P, trials]."""
    lay = _layer(net)
    G = net.check_genomes(genomes).astype(np.float64)
    out = np.empty((len(G), len(offsets)))
    args = (len(G), G, lay.cfg, lay.fixed_as(np.float64), max(lay.n_packed, 1), lay.n_state,
            np.asarray(offsets, np.float64), np.asarray(shapes, np.int64), STEPS, DT, out)
    if not velocities:
        run_chunks(_chunk(lay.kind), *args)
        return out
    vel = np.empty((len(G), len(offsets)))
    run_chunks(_end_chunk(lay.kind), *args, vel)
    return out, vel


def score(dist: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """Fitness per trial: 1 - |dx| / 50 for circles, |dx| / 50 for diamonds (|dx| capped at 50)."""
    near = np.minimum(np.abs(dist), MAX_DISTANCE) / MAX_DISTANCE
    return np.where(np.asarray(shapes) == CIRCLE, 1.0 - near, near)


def trace(net, genome, offsets=OFFSETS, shapes=None) -> dict:
    """The trials one after another for `report`: every neuron's rate (for a ctrnn; otherwise
    the two motor outputs), the agent's and the object's horizontal positions over time, and
    the scene (agent, object and its shape) for the animation."""
    import evornn
    shapes = np.zeros(len(offsets), int) if shapes is None else shapes
    full = net
    full.genome = genome
    if len(net.layers) == 1 and net.layers[0].opts["readout"] == "neurons":
        try:                                                # readout 'neurons': all of them
            full = evornn.Network(net.arch, net.n_in, net.n_hidden, net.n_hidden, genome=genome,
                                  **net.options)
        except ValueError:                                  # (mtrnn reads the fast ones only)
            pass
    R, agent, obj, height, kind = [], [], [], [], []
    x = np.empty(N_RAYS)
    for offset, shape in zip(offsets, shapes):
        full.reset()
        a, oy = 0.0, START_HEIGHT
        for _ in range(STEPS):
            sense(a, offset, oy, shape, x)
            r = full.step(x)
            a = move(a, r[0], r[1], DT)
            oy -= DT * FALL_SPEED
            R.append(r)
            agent.append(a)
            obj.append(offset)
            height.append(oy)
            kind.append(shape)
    agent, obj = np.array(agent), np.array(obj, float)
    return {"t": np.arange(1, len(R) + 1) * DT, "neurons": np.array(R),
            "signals": {"agent x": agent, "object x - agent x": obj - agent},
            "scene": {"agent_x": agent, "object_x": obj, "object_y": np.array(height),
                      "diamond": np.array(kind) == DIAMOND, "agent_radius": AGENT_RADIUS,
                      "circle_radius": CIRCLE_RADIUS, "diamond_radius": DIAMOND_RADIUS,
                      "steps_per_trial": STEPS, "half_width": ARENA_HALF_WIDTH}}


def pictures(tr: dict, run_dir) -> list:
    """[catch.gif]: the trace's scene animated into run_dir, for `report`."""
    from pathlib import Path
    return [animate(tr["scene"], Path(run_dir) / "catch.gif")]


def animate(scene: dict, path, per_trial: int = 15):
    """A GIF of the falling-object trials: the agent (black), a circle (blue) or a diamond
    (red) falling towards it, per_trial frames a trial."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, Polygon

    from evornn.report import save_gif
    n = int(scene["steps_per_trial"])
    trials = len(scene["agent_x"]) // n
    idx = [k * n + i for k in range(trials) for i in np.linspace(0, n - 1, per_trial).astype(int)]
    w = scene["half_width"]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.set_aspect("equal")
    ax.set_xlim(-w, w)
    ax.set_ylim(-20, max(scene["object_y"]) + 25)
    ax.set_yticks([])
    agent = ax.add_patch(Circle((0, 0), scene["agent_radius"], color="k"))
    circle = ax.add_patch(Circle((0, 0), scene["circle_radius"], color="tab:blue"))
    rd = scene["diamond_radius"]
    diamond = ax.add_patch(Polygon([[rd, 0], [0, rd], [-rd, 0], [0, -rd]], color="tab:red"))

    def draw(k):
        i = idx[k]
        ox, oy = scene["object_x"][i], scene["object_y"][i]
        agent.center = (scene["agent_x"][i], 0.0)
        is_diamond = bool(scene["diamond"][i])
        circle.set_visible(not is_diamond)
        diamond.set_visible(is_diamond)
        circle.center = (ox, oy)
        diamond.set_xy([[ox + rd, oy], [ox, oy + rd], [ox - rd, oy], [ox, oy - rd]])
        ax.set_title(f"trial {i // n + 1} of {trials}")
        return [agent, circle, diamond]

    return save_gif(fig, draw, len(idx), path)


def make(name: str, shapes: tuple, n_hidden: int) -> Problem:
    """A catch problem: trials at every offset for every shape in ``shapes``."""
    offsets = np.tile(OFFSETS, len(shapes))
    kinds = np.repeat(np.asarray(shapes, np.int64), len(OFFSETS))
    test_offsets = np.tile(TEST_OFFSETS, len(shapes))
    test_kinds = np.repeat(np.asarray(shapes, np.int64), len(TEST_OFFSETS))

    def evaluate(net, genomes, seed=None, measures: bool = False):
        if not measures:
            return score(distances(net, genomes, offsets, kinds), kinds).mean(1)
        dist, vel = distances(net, genomes, offsets, kinds, velocities=True)
        near = np.minimum(np.abs(dist), MAX_DISTANCE)
        vals = [near[:, kinds == k].mean(1) for k in shapes] + [np.abs(vel).mean(1)]
        return score(dist, kinds).mean(1), np.column_stack(vals)

    def figures(net, genome, offs, kinds_):
        d = np.abs(distances(net, genome[None], offs, kinds_)[0])
        out = {"circle_distance": round(float(d[kinds_ == CIRCLE].mean()), 3)}
        if DIAMOND in shapes:
            out["diamond_distance"] = round(float(d[kinds_ == DIAMOND].min()), 3)
        return out

    def solved(net, genome, fitness):
        info = figures(net, genome, offsets, kinds)
        ok = info["circle_distance"] <= CATCH_DISTANCE and \
            info.get("diamond_distance", np.inf) >= AVOID_DISTANCE
        if ok:          # then also on offsets it never saw (reported, not required)
            test = figures(net, genome, test_offsets, test_kinds)
            info.update({f"test_{k}": v for k, v in test.items()})
        return bool(ok), info

    def trace_(net, genome):
        return trace(net, genome, offsets, kinds)
    what = "catch falling circles" if len(shapes) == 1 else "catch circles, avoid diamonds"
    # the final horizontal offset |dx| (capped at 50, as in the fitness), mean over each
    # shape's trials, and the final speed |v|, mean over all trials
    offsets_ = ("offset",) if len(shapes) == 1 else ("circle_offset", "diamond_offset")
    measures = {**{k: (0.0, MAX_DISTANCE) for k in offsets_}, "velocity": (0.0, MAX_SPEED)}
    return Problem(name, f"Beer's visually guided agent (7 rays): {what}", n_in=N_RAYS, n_out=2,
                   evaluate=evaluate, solved=solved, arch="ctrnn", n_hidden=n_hidden,
                   arch_options={"dt": DT}, optimizer="xnes", popsize=20, sigma0=4.0,
                   max_evals=20_000, trace=trace_, pictures=pictures, check=_layer,
                   inputs=tuple(f"ray {i}" for i in range(N_RAYS)), outputs=("motor +x", "motor -x"),
                   measures=measures, descriptors=tuple(measures))


CATCH_DISTANCE = 1.0            # mean final |dx| of the circles
AVOID_DISTANCE = AGENT_RADIUS + DIAMOND_RADIUS    # every diamond missed, even at its widest

PROBLEMS = [make("catch", (CIRCLE,), 5), make("catch-avoid", (CIRCLE, DIAMOND), 5)]
