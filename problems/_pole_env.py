"""Pole balancing as a gymnasium environment, stepping the compiled physics of pole.py (_pole_physics.py).

Observations are the scaled inputs the evolved networks see (bias input included), so a
network from ``evornn.load(run_dir)`` acts with ``net.step(obs)``; actions are in
[-1, 1] and push with force = 10 N x action. ``unwrapped.state`` is the physical state
[x, xdot, th1, th1dot, th2, th2dot] (th2 = th2dot = 0 for the single pole).
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np

from . import _pole_physics as physics


class PoleEnv(gym.Env):
    """The cart with one or two poles; reward 1 for every step balanced."""

    metadata = {"render_modes": []}

    def __init__(self, markov: bool = True, poles: int = 2, max_episode_steps: int | None = None):
        if poles not in (1, 2):
            raise ValueError(f"poles must be 1 or 2, got {poles!r}")
        self.markov, self.poles = bool(markov or poles == 1), int(poles)
        self.max_episode_steps = max_episode_steps or (
            physics.MARKOV_STEPS if self.markov else physics.DPNV_STEPS)
        n = int(physics.n_inputs(self.markov, self.poles))
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (n,), np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float64)
        self.state = physics.START.copy()
        self._buf = np.empty((4, 6))
        self._obs = np.empty((1, n))
        self._t = 0

    def _observation(self) -> np.ndarray:
        physics.observe(self.state, self.markov, self._obs, self.poles)
        return self._obs[0].copy()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Back to the standard start (theta1 = 0.07 rad), or to options["state"]."""
        super().reset(seed=seed)
        s = physics.START if not options or "state" not in options else options["state"]
        s = np.asarray(s, dtype=np.float64)
        if s.shape != (6,) or not np.all(np.isfinite(s)):
            raise ValueError("options['state'] must be 6 finite numbers [x, xdot, th1, th1dot, "
                             f"th2, th2dot], got {options['state']!r}")
        self.state = s.copy()
        if self.poles == 1:
            self.state[4:] = 0.0
        self._t = 0
        return self._observation(), {}

    def step(self, action):
        a = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
        force = a * physics.FORCE_MAG
        if not np.isfinite(force):
            raise ValueError(f"action must be a finite number in [-1, 1], got {action!r}")
        physics.rk4(self.state, force, self._buf, self.poles)
        physics.rk4(self.state, force, self._buf, self.poles)
        self._t += 1
        terminated = bool(physics.failed(self.state))
        truncated = not terminated and self._t >= self.max_episode_steps
        return self._observation(), 0.0 if terminated else 1.0, terminated, truncated, {}
