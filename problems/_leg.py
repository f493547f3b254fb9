"""The leg of Beer's walkers (the constants of Beer and Gallagher 1992), shared by `walker` and `walker6`.

A leg hangs from a joint at height 0; its angle grows forwards. In stance (foot down) the
planted foot stays put while the joint moves on with the body, so the angle follows the
body; the backward swing motor pushes the body forward and the forward motor is off. In
swing (foot up) the motors turn the leg within its angle limits.
"""
from __future__ import annotations

import math

from numba import njit

from evornn.episode import EXACT

LEG_LENGTH, MAX_LEG_FORCE = 15.0, 0.05
FORWARD_LIMIT, BACKWARD_LIMIT = math.pi / 6, -math.pi / 6
MAX_VELOCITY, MAX_TORQUE, MAX_OMEGA = 6.0, 0.5, 1.0
MAX_STRETCH = 20.0                 # a foot further than this behind its joint stops the body
DT, DURATION = 0.1, 220.0          # Euler step and run length of both walkers (time units)
STEPS = int(round(DURATION / DT))


@njit(**EXACT)
def motor_forces(down, back_out, fwd_out):
    """(backward, forward) motor forces from the motor neurons' rates; forward is off in stance."""
    fwd = 0.0 if down else fwd_out * MAX_LEG_FORCE
    return back_out * MAX_LEG_FORCE, fwd


@njit(**EXACT)
def body_force(down, angle, back, fwd):
    """The force a leg puts on the body: in stance, back - fwd while the leg is within its angle
    limits or pushing back towards them; otherwise none."""
    f = back - fwd
    if down and ((BACKWARD_LIMIT <= angle <= FORWARD_LIMIT) or (angle < BACKWARD_LIMIT and f < 0)
                 or (angle > FORWARD_LIMIT and f > 0)):
        return f
    return 0.0


@njit(**EXACT)
def clip_velocity(vx):
    """The body's velocity within +-MAX_VELOCITY."""
    return min(max(vx, -MAX_VELOCITY), MAX_VELOCITY)


@njit(**EXACT)
def move_leg(down, jx, fx, fy, angle, omega, back, fwd, dt):
    """(foot x, foot depth, angle, omega) after the joint moved to jx: a planted foot stays
    where it is and the angle follows; a lifted leg turns under the motors' torque."""
    if down:
        new = math.atan2(fx - jx, fy)
        omega = (new - angle) / dt
        angle = new
    else:
        omega = min(max(omega + dt * MAX_TORQUE * (fwd - back), -MAX_OMEGA), MAX_OMEGA)
        angle += dt * omega
        if angle < BACKWARD_LIMIT:
            angle, omega = BACKWARD_LIMIT, 0.0
        if angle > FORWARD_LIMIT:
            angle, omega = FORWARD_LIMIT, 0.0
        fx = jx + LEG_LENGTH * math.sin(angle)
        fy = LEG_LENGTH * math.cos(angle)
    return fx, fy, angle, omega


def pictures(tr: dict, run_dir) -> list:
    """[walk.gif]: a walker's trace ("legs" [T, legs, 3]: joint x, foot x, foot depth;
    "stance" [T, legs]; optional "leg_names") animated into run_dir, for `report`."""
    from pathlib import Path

    import numpy as np
    return [animate(tr["t"], np.asarray(tr["legs"]), np.asarray(tr["stance"], bool),
                    Path(run_dir) / "walk.gif", names=tr.get("leg_names"))]


def animate(t, legs, stance, path, frames: int = 120, names=None):
    """A GIF of the walk: body, legs (red while the foot is down), from legs[T, n, 3]; legs
    whose name starts with R (the far side) are dashed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from evornn.report import save_gif
    idx = np.linspace(0, len(t) - 1, frames).astype(int)
    fig, ax = plt.subplots(figsize=(6, 2.4))
    far = [bool(names) and str(names[n]).startswith("R") for n in range(legs.shape[1])]
    lines = [ax.plot([], [], lw=2 if f else 3, ls="--" if f else "-")[0] for f in far]
    spread = float(np.ptp(legs[0, :, 0]))
    body, = ax.plot([], [], "k-" if spread > 0 else "ks", lw=6, ms=10)
    ax.set_ylim(-18, 4)
    ax.set_yticks([])

    def draw(k):
        i = idx[k]
        jx = legs[i, :, 0]
        ax.set_xlim(jx.mean() - 30 - spread / 2, jx.mean() + 30 + spread / 2)
        if spread > 0:
            body.set_data([jx.min(), jx.max()], [0.0, 0.0])
        else:
            body.set_data([jx.mean()], [0.0])
        for n, ln in enumerate(lines):
            ln.set_data([jx[n], legs[i, n, 1]], [0.0, -legs[i, n, 2]])
            ln.set_color("r" if stance[i, n] else "b")
        ax.set_title(f"t = {t[i]:.1f}")
        return lines + [body]

    return save_gif(fig, draw, frames, path)
