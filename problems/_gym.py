"""Any gymnasium environment as a problem: ``python -m evornn run gym:CartPole-v1``.

Fitness is the mean return over ``episodes`` episodes; every genome of a generation
meets the same starting states (episode seeds drawn from the run seed and generation), so
the comparison inside a generation is fair and the run is reproducible. Observations are
normalized with a mean and standard deviation measured once, under random actions, from
a fixed seed. Discrete actions take the argmax of the outputs; continuous (Box) actions
map the outputs onto the action bounds, from [-1, 1] (tanh or linear readouts, clipped)
or from [0, 1] (sigmoid rates: ctrnn, mtrnn, sigmoid frnn). The population's networks step
together (evornn.stepper) and the environments too, as one gymnasium vector environment
(``vectorization="sync"``, or ``"async"``: one process an environment, for environments
whose step costs more than a process hop); an episode's return stops counting when it
terminates, whatever the vector environment's autoreset does after that.
"""
from __future__ import annotations

import numpy as np

from evornn.problem import Problem


def _spaces(env_id: str):
    import gymnasium as gym
    env = gym.make(env_id)
    obs, act = env.observation_space, env.action_space
    if not isinstance(obs, gym.spaces.Box) or len(obs.shape) != 1:
        raise ValueError(f"gym:{env_id}: only flat Box observations are supported, got {obs}")
    if not isinstance(act, (gym.spaces.Discrete, gym.spaces.Box)) or (
            isinstance(act, gym.spaces.Box) and len(act.shape) != 1):
        raise ValueError(f"gym:{env_id}: actions must be Discrete or a flat Box, got {act}")
    return env, obs, act


def _names(env, space: str, stem: str, n: int) -> tuple[str, ...]:
    """The environment's own names for its observations or actions (an attribute
    ``observation_names`` / ``action_names`` of n strings), else stem_0, stem_1, ..."""
    names = getattr(env.unwrapped, f"{space}_names", None)
    if isinstance(names, (list, tuple)) and len(names) == n and all(isinstance(v, str) for v in names):
        return tuple(names)
    return tuple(f"{stem}_{i}" for i in range(n))


def _normalizer(env, steps: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of observations under random actions (fixed seeds: reproducible)."""
    env.action_space.seed(0)
    obs, _ = env.reset(seed=0)
    seen = [obs]
    for _ in range(steps):
        obs, _, term, trunc, _ = env.step(env.action_space.sample())
        seen.append(obs)
        if term or trunc:
            obs, _ = env.reset()
    seen = np.asarray(seen, dtype=np.float64)
    return seen.mean(0), np.maximum(seen.std(0), 1e-6)


def unit_outputs(net) -> bool:
    """Whether the network's outputs lie in [0, 1] (sigmoid rates) rather than [-1, 1]."""
    top = net.layers[-1]
    o = top.opts
    return o["readout"] == "sigmoid" or (o["readout"] == "neurons"
                                         and top.family.feature_range(o) == (0.0, 1.0))


VECTORIZATION = ("sync", "async")


def make_problem(env_id: str, episodes: int = 3, max_steps: int | None = None,
                 vectorization: str = "sync") -> Problem:
    """The Problem for gymnasium environment env_id."""
    import gymnasium as gym
    if vectorization not in VECTORIZATION:
        raise ValueError(f"vectorization must be one of {', '.join(VECTORIZATION)}, got "
                         f"{vectorization!r}")
    env, obs_space, act_space = _spaces(env_id)
    mean, std = _normalizer(env)
    discrete = isinstance(act_space, gym.spaces.Discrete)
    n_out = int(act_space.n) if discrete else int(act_space.shape[0])
    inputs = _names(env, "observation", "obs", int(obs_space.shape[0]))
    outputs = _names(env, "action", "action", n_out)
    env.close()
    threshold = getattr(gym.spec(env_id), "reward_threshold", None)
    limit = max_steps or getattr(gym.spec(env_id), "max_episode_steps", None) or 1000

    def act(Y, unit: bool):
        if discrete:
            return np.argmax(Y, axis=1)
        lo, hi = act_space.low, act_space.high
        u = np.clip(Y, 0, 1) if unit else (np.clip(Y, -1, 1) + 1) * 0.5
        return lo + u * (hi - lo)

    def returns(net, genomes, seeds) -> np.ndarray:
        """Mean return of every genome over the episodes that start from seeds."""
        from evornn.stepper import PopulationStepper
        G = np.repeat(np.asarray(genomes, dtype=np.float64), len(seeds), axis=0)
        stepper = PopulationStepper(net, G)
        unit = unit_outputs(net)
        envs = gym.make_vec(env_id, num_envs=len(G), vectorization_mode=vectorization)
        try:
            obs, _ = envs.reset(seed=[int(seeds[i % len(seeds)]) for i in range(len(G))])
            total = np.zeros(len(G))
            alive = np.ones(len(G), bool)
            for _ in range(limit):
                obs, r, term, trunc, _ = envs.step(act(stepper.step((obs - mean) / std), unit))
                total += np.where(alive, r, 0.0)
                alive &= ~(term | trunc)
                if not alive.any():
                    break
        finally:
            envs.close()
        return total.reshape(-1, len(seeds)).mean(1)

    def evaluate(net, genomes, seed):
        seeds = np.random.default_rng([*seed, 7]).integers(0, 2**31 - 1, episodes)
        return returns(net, genomes, seeds)

    def solved(net, genome, fitness):
        if threshold is None or fitness < threshold:
            return False, {}
        test = returns(net, genome[None], np.arange(10_000, 10_010))[0]   # 10 fresh episodes
        return bool(test >= threshold), {"test_return": float(test), "threshold": threshold}

    return Problem(f"gym:{env_id}", f"gymnasium {env_id}: mean return over {episodes} episodes",
                   n_in=int(obs_space.shape[0]), n_out=n_out, evaluate=evaluate, solved=solved,
                   arch="elman", n_hidden=8, arch_options={"readout": "tanh"}, optimizer="xnes",
                   popsize=16, sigma0=0.5, max_evals=20_000,
                   inputs=inputs, outputs=outputs)
