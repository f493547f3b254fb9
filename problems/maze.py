"""A deceptive maze (after Lehman and Stanley 2011's hard maze): a wheeled robot with
rangefinders and a goal radar must reach a goal behind three walls; fitness is minus the
final distance to the goal, and the straight ways towards it end in dead ends.

Arena: a 200 x 200 box (y up) cut into four corridors 50 high by three walls that leave
gaps of 40 at alternate ends: y = 50 from the left side to x = 160, y = 100 from x = 40 to
the right side, y = 150 from the left side to x = 160. The robot (radius 8) starts at
(20, 25) facing right; the goal is at (25, 175), above the start in the top corridor. The way
there zigzags right, up, left, up, right, up and left (about 800 long); the left ends of the
first and third corridors are dead ends right under the goal (133 and 33 from it at best),
and leaving them for the gaps at the right takes the robot further away (about 215 and
165): minus the distance is a deceptive fitness.
Sensors (the network's 10 inputs): 6 rangefinders at -90, -45, 0, 45, 90 and 180 degrees
from the heading, reading 1 - d / 100 (d the distance to the nearest wall along the ray,
capped at 100), and 4 radar slices (front, left, back, right; 90 degrees each) of which the
one holding the goal's direction reads 1, the others 0. Motors: the two outputs, clipped to
[-1, 1], drive the left and right wheels: forward speed 3 (l + r) / 2 a step, turn 0.25 (r -
l) / 2 radians a step. A move that would bring the robot within its radius of a wall is not
made (it may still turn). 400 steps; reaching within 10 of the goal ends the episode there.
Measures (the behaviour descriptors of novelty search and MAP-Elites): the final x and y.
Solved: the robot reached the goal. Robot, sensors and network run in one compiled loop per
genome, genomes over the worker threads.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from evornn.episode import EXACT, pack_any, per_kind, run_chunks, single_layer, step_any
from evornn.problem import Problem

SIZE = 200.0
# walls as segments (x0, y0, x1, y1): the box, then the wall with the gap at the right
WALLS = np.array([[0.0, 0.0, SIZE, 0.0], [SIZE, 0.0, SIZE, SIZE], [SIZE, SIZE, 0.0, SIZE],
                  [0.0, SIZE, 0.0, 0.0], [0.0, 50.0, 160.0, 50.0], [40.0, 100.0, SIZE, 100.0],
                  [0.0, 150.0, 160.0, 150.0]])
START = (20.0, 25.0, 0.0)                        # x, y, heading (right)
GOAL = (25.0, 175.0)
GOAL_RADIUS, ROBOT_RADIUS = 10.0, 8.0
STEPS, MAX_SPEED, MAX_TURN = 400, 3.0, 0.25
RANGE = 100.0
RANGER_ANGLES = np.radians([-90.0, -45.0, 0.0, 45.0, 90.0, 180.0])
N_IN = len(RANGER_ANGLES) + 4


@njit(**EXACT)
def ray_wall(ox, oy, dx, dy, w):
    """Distance along the unit ray (ox, oy) + t (dx, dy), t >= 0, to the segment w, or inf."""
    ex, ey = w[2] - w[0], w[3] - w[1]
    den = dx * ey - dy * ex
    if den == 0.0:
        return math.inf
    qx, qy = w[0] - ox, w[1] - oy
    t = (qx * ey - qy * ex) / den
    s = (qx * dy - qy * dx) / den
    if t >= 0.0 and 0.0 <= s <= 1.0:
        return t
    return math.inf


@njit(**EXACT)
def wall_distance(x, y, w):
    """Distance from the point (x, y) to the segment w."""
    ex, ey = w[2] - w[0], w[3] - w[1]
    s = ((x - w[0]) * ex + (y - w[1]) * ey) / (ex * ex + ey * ey)
    s = min(max(s, 0.0), 1.0)
    return math.hypot(x - w[0] - s * ex, y - w[1] - s * ey)


@njit(**EXACT)
def sense(x, y, heading, walls, out):
    """The rangefinders' readings 1 - d / RANGE, then the four radar slices, into out[:N_IN]."""
    n = len(RANGER_ANGLES)
    for i in range(n):
        a = heading + RANGER_ANGLES[i]
        dx, dy = math.cos(a), math.sin(a)
        d = RANGE
        for k in range(len(walls)):
            d = min(d, ray_wall(x, y, dx, dy, walls[k]))
        out[i] = 1.0 - d / RANGE
    rel = math.atan2(GOAL[1] - y, GOAL[0] - x) - heading
    rel = (rel + math.pi) % (2.0 * math.pi) - math.pi          # in [-pi, pi)
    # slices front [-45, 45), left [45, 135), back [135, 225), right [225, 315) degrees
    slice_ = int(math.floor((rel + math.pi / 4) / (math.pi / 2))) % 4
    for j in range(4):
        out[n + j] = 1.0 if j == slice_ else 0.0


@njit(**EXACT)
def move(robot, left, right, walls):
    """One step of the wheels' commands (clipped to [-1, 1]): robot = [x, y, heading]; a
    move into a wall is not made."""
    left, right = min(max(left, -1.0), 1.0), min(max(right, -1.0), 1.0)
    robot[2] += MAX_TURN * (right - left) / 2.0
    v = MAX_SPEED * (left + right) / 2.0
    nx, ny = robot[0] + v * math.cos(robot[2]), robot[1] + v * math.sin(robot[2])
    for k in range(len(walls)):
        if wall_distance(nx, ny, walls[k]) < ROBOT_RADIUS:
            return
    robot[0], robot[1] = nx, ny


@njit(**EXACT)
def episode(kind, w, cfg, fixed, netstate, walls, steps, row):
    """One run from the start: row = (final x, final y); NaN for a network that diverges."""
    x = np.empty((1, N_IN))
    y = np.empty((1, int(cfg[3])))
    netstate[:] = 0.0
    robot = np.array(START)
    for _ in range(steps):
        sense(robot[0], robot[1], robot[2], walls, x[0])
        step_any(kind, w, cfg, fixed, netstate, x, y)
        if not (math.isfinite(y[0, 0]) and math.isfinite(y[0, 1])):
            row[:] = np.nan
            return
        move(robot, y[0, 0], y[0, 1], walls)
        if math.hypot(robot[0] - GOAL[0], robot[1] - GOAL[1]) <= GOAL_RADIUS:
            break
    row[0], row[1] = robot[0], robot[1]


@per_kind
def _chunk(kind):
    """The population loop for the family ``kind``: each genome's final position."""
    @njit(nogil=True, **EXACT)
    def chunk(lo, hi, G, cfg, fixed, n_packed, n_state, walls, steps, out):
        w = np.empty(n_packed)
        netstate = np.empty(n_state + 1)
        for p in range(lo, hi):
            pack_any(kind, G[p], cfg, fixed, w)
            episode(kind, w, cfg, fixed, netstate, walls, steps, out[p])
    return chunk


def _layer(net):
    return single_layer(net, f"maze needs a single-layer network with {N_IN} inputs (6 "
                        f"rangefinders, 4 radar slices) and 2 outputs (left and right wheels); "
                        f"got {net.arch!r} with {len(net.layers)} layers, {net.n_in} inputs, "
                        f"{net.n_out} outputs", n_in=N_IN, n_out=2)


def final_positions(net, genomes) -> np.ndarray:
    """Every genome's final (x, y) [P, 2] (float64, parallel over genomes)."""
    lay = _layer(net)
    G = net.check_genomes(genomes).astype(np.float64)
    out = np.empty((len(G), 2))
    run_chunks(_chunk(lay.kind), len(G), G, lay.cfg, lay.fixed_as(np.float64),
               max(lay.n_packed, 1), lay.n_state, WALLS, STEPS, out)
    return out


def goal_distance(xy: np.ndarray) -> np.ndarray:
    """Distance of positions [P, 2] to the goal."""
    return np.hypot(xy[:, 0] - GOAL[0], xy[:, 1] - GOAL[1])


def evaluate(net, genomes, seed=None, measures: bool = False):
    """Minus the final distance to the goal; with ``measures`` also the final (x, y) [P, 2]."""
    xy = final_positions(net, genomes)
    f = -goal_distance(xy)
    return (f, xy) if measures else f


def _solved(net, genome, fitness):
    return bool(-fitness <= GOAL_RADIUS), {"goal_distance": round(float(-fitness), 3)}


def trace(net, genome) -> dict:
    """The robot's run for `report`: the outputs (wheels) and the path at each step."""
    net.genome = genome
    net.reset()
    robot = np.array(START)
    x = np.empty(N_IN)
    R, path = [], []
    for _ in range(STEPS):
        sense(robot[0], robot[1], robot[2], WALLS, x)
        r = net.step(x)
        move(robot, r[0], r[1], WALLS)
        R.append(r)
        path.append(robot[:2].copy())
        if math.hypot(robot[0] - GOAL[0], robot[1] - GOAL[1]) <= GOAL_RADIUS:
            break
    path = np.array(path)
    return {"t": np.arange(1, len(R) + 1, dtype=float), "neurons": np.array(R),
            "signals": {"distance to goal": goal_distance(path)}, "path": path}


def draw(path_xy: np.ndarray, out, title: str = ""):
    """The maze, the start, the goal and a path [T, 2] into out (a .png)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for w in WALLS:
        ax.plot(w[[0, 2]], w[[1, 3]], color="k", lw=2)
    ax.plot(path_xy[:, 0], path_xy[:, 1], color="tab:blue", lw=1)
    ax.add_patch(_circle(GOAL, GOAL_RADIUS, "tab:green"))
    ax.plot(*START[:2], "o", color="tab:red")
    ax.set_aspect("equal")
    ax.set_xlim(-5, SIZE + 5)
    ax.set_ylim(-5, SIZE + 5)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    return out


def _circle(c, r, color):
    from matplotlib.patches import Circle
    return Circle(c, r, color=color, alpha=0.5)


def pictures(tr: dict, run_dir) -> list:
    """[maze.png]: the best robot's path through the maze, for `report`."""
    from pathlib import Path
    p = tr["path"]
    d = float(goal_distance(p[-1:])[0])
    return [draw(p, Path(run_dir) / "maze.png", f"final distance to the goal {d:.1f}")]


PROBLEM = Problem("maze", "deceptive maze: a wheeled robot (rangefinders, goal radar) must reach a "
                  "goal behind three walls; fitness minus the final distance", n_in=N_IN, n_out=2,
                  evaluate=evaluate, solved=_solved, arch="elman", n_hidden=5,
                  arch_options={"readout": "tanh"}, optimizer="xnes", popsize=20, sigma0=1.0,
                  max_evals=20_000, trace=trace, pictures=pictures, check=_layer,
                  inputs=tuple(f"ranger {a:g}" for a in np.degrees(RANGER_ANGLES))
                  + ("radar front", "radar left", "radar back", "radar right"),
                  outputs=("left wheel", "right wheel"),
                  measures={"x": (0.0, SIZE), "y": (0.0, SIZE)}, descriptors=("x", "y"))
