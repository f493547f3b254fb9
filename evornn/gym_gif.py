"""A GIF of a gymnasium run's champion: one episode stepped as the problem steps it
(observations normalized, outputs mapped onto the actions) and rendered as rgb_array.

MuJoCo renders offscreen through OpenGL; on Linux without a display MUJOCO_GL is set to
``egl`` when unset (it must be set before mujoco is imported). Where an environment cannot
render, the reason comes back as one line instead of a file.
"""
from __future__ import annotations

import functools
import math
import os
import sys
from pathlib import Path

import numpy as np

GIF = "episode.gif"


def headless_gl() -> None:
    """MUJOCO_GL=egl on Linux without a display, unless the user chose a backend."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("MUJOCO_GL", "egl")


def policy(env_id: str, net, genome: np.ndarray):
    """obs [O] -> action for the genome's network, as the gym:ENV_ID problem acts: the
    observation normalized by the network's input_norm (the run's statistics, which
    evornn.load puts there; none: raw), the outputs onto the action space; a fresh state."""
    from .problems._gym import act_for, unit_outputs
    from .stepper import PopulationStepper
    mean, std = net.input_norm if net.input_norm is not None else (0.0, 1.0)
    stepper = PopulationStepper(net, np.asarray(genome, np.float64)[None])
    to_actions = act_for(_space(env_id), unit_outputs(net))

    def act(obs):
        return to_actions(stepper.step(((np.asarray(obs, np.float64) - mean) / std)[None]))[0]
    return act


@functools.lru_cache(maxsize=8)
def _space(env_id: str):
    """The environment's action space (read once a process)."""
    from .problems._gym import _spaces
    env, _, space = _spaces(env_id)
    env.close()
    return space


def episode(env_id: str, net, genome: np.ndarray, seed: int, max_frames: int = 0,
            width: int = 240) -> tuple[float, list[np.ndarray]]:
    """One episode of the genome from reset(seed): its return and, with max_frames > 0, at
    most that many rgb frames (every k-th step, k spreading them over the step limit; no
    wider than width pixels)."""
    from .problems._gym import make_env
    if max_frames:
        headless_gl()
    env = _render_env(env_id) if max_frames else make_env(env_id)
    limit = env.spec.max_episode_steps or 1000
    every = max(1, math.ceil(limit / max_frames)) if max_frames else 0
    act = policy(env_id, net, genome)
    frames: list[np.ndarray] = []
    try:
        obs, _ = env.reset(seed=int(seed))
        total, t = 0.0, 0
        while True:
            if every and t % every == 0 and len(frames) < max_frames:
                frames.append(_shrink(env.render(), width))
            obs, r, term, trunc, _ = env.step(act(obs))
            total += float(r)
            t += 1
            if term or trunc or t >= limit:
                break
    finally:
        env.close()
    return total, frames


def _render_env(env_id: str):
    """The environment rendering rgb_array; MuJoCo's walkers through their 'track' camera,
    which follows the body (the default free camera stays put and the body runs out of it)."""
    from .problems._gym import make_env
    try:
        env = make_env(env_id, render_mode="rgb_array", camera_name="track")
    except Exception:                     # not a MuJoCo environment: no camera_name
        return make_env(env_id, render_mode="rgb_array")
    try:
        env.reset(seed=0)
        env.render()
        return env
    except Exception:                     # a MuJoCo environment without a 'track' camera
        env.close()
        return make_env(env_id, render_mode="rgb_array")


def _shrink(frame, width: int) -> np.ndarray:
    from PIL import Image
    frame = np.asarray(frame, np.uint8)
    h, w = frame.shape[:2]
    if w <= width:
        return frame
    return np.asarray(Image.fromarray(frame).resize((width, max(1, round(h * width / w)))))


def save_frames(frames: list[np.ndarray], path: Path, fps: int = 15) -> Path:
    """frames [H, W, 3] as a looping GIF at path (written whole, then moved into place)."""
    from PIL import Image
    images = [Image.fromarray(f) for f in frames]
    tmp = path.with_name(path.name + ".tmp.gif")
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                   duration=round(1000 / fps), loop=0)
    tmp.replace(path)
    return path


def champion_gif(run_dir, net, env_id: str, max_frames: int = 100) -> tuple[Path | None, str]:
    """RUN_DIR/episode.gif of the champion's episode from seed 10,000 (the first of the
    success test's), and a line saying what was drawn or why nothing could be."""
    try:
        total, frames = episode(env_id, net, net.genome, 10_000, max_frames)
    except Exception as e:                # no renderer, no OpenGL, no pygame: say so, go on
        why = str(e).strip().splitlines()[0] if str(e).strip() else ""
        hint = (" (MuJoCo renders offscreen with MUJOCO_GL=egl or osmesa and their libraries)"
                if "mujoco" in f"{type(e).__module__} {e}".lower() or "GL" in str(e) else "")
        return None, f"no {GIF}: gym:{env_id} could not render rgb_array frames here " \
                     f"({type(e).__name__}: {why}){hint}"
    if not frames:
        return None, f"no {GIF}: gym:{env_id} gave no frames"
    path = save_frames(frames, Path(run_dir) / GIF)
    return path, f"{GIF}: {len(frames)} frames of the champion's episode from seed 10000, " \
                 f"return {total:.6g}"
