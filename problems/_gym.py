"""Any gymnasium environment as a problem: ``python -m evornn run gym:CartPole-v1``.

Fitness is the mean return over ``episodes`` episodes; every genome of a generation
meets the same starting states (episode seeds drawn from the run seed and generation), so
the comparison inside a generation is fair and the run is reproducible. Observations are
normalized (``normalize``) by the running mean and standard deviation of the states the
population's episodes visit, as ARS V2 and OpenAI-ES do ("running": each generation uses
the statistics frozen at its start, its own states merged in after it), by a mean and
standard deviation measured once under random actions ("fixed"), or not at all ("none").
Discrete actions take the argmax of the outputs; continuous (Box) actions map the outputs
onto the action bounds, from [-1, 1] (tanh or linear readouts, clipped) or from [0, 1]
(sigmoid rates: ctrnn, mtrnn, sigmoid frnn). The episodes run in worker processes
(problems/_gym_pool.py), each stepping a chunk of the environments and their networks
(evornn.stepper), as many as evornn's threads (``--workers``); the results do not depend on
how many. An episode's return stops counting when it terminates.

MuJoCo walkers with feet (``FEET``: Hopper, Walker2d, HalfCheetah, Ant, Humanoid) measure
each foot's contact rate, the fraction of an episode's steps after which the simulator lists
a contact of that foot's geom with the floor, averaged over the evaluation's episodes: the
behaviour descriptors of ``--optimizer map-elites`` and ``novelty``, in [0, 1].
"""
from __future__ import annotations

import sys

import numpy as np

from evornn.problem import Problem

from ._gym_pool import FLOOR, Pool, ready_envs, run_chunk

# Each MuJoCo walker's feet, by the environment's name without its version: descriptor ->
# the foot's geom in gymnasium's model (the same names in -v4 and -v5).
FEET = {
    "Hopper": {"foot": "foot_geom"},
    "Walker2d": {"right_foot": "foot_geom", "left_foot": "foot_left_geom"},
    "HalfCheetah": {"back_foot": "bfoot", "front_foot": "ffoot"},
    # named by where the legs stand (forward is +x, left +y), not by ant.xml's bodies: its
    # "front_right_leg" reaches to (-0.2, 0.2), the back left, and "back_leg" to the back right
    "Ant": {"front_left": "left_ankle_geom", "back_left": "right_ankle_geom",
            "back_right": "third_ankle_geom", "front_right": "fourth_ankle_geom"},
    "Humanoid": {"right_foot": "right_foot", "left_foot": "left_foot"},
}


def feet_of(env_id: str, env=None) -> dict:
    """descriptor -> foot geom of env_id: {} for an environment without a foot table, or
    (env given) one whose MuJoCo model lacks a geom of it."""
    feet = FEET.get(env_id.rpartition("-v")[0] or env_id, {})
    if feet and env is not None:
        model = env.unwrapped.model
        try:
            for name in (*feet.values(), FLOOR):
                model.geom(name)
        except KeyError:
            return {}
    return feet


def with_feet() -> list[str]:
    """The gym: problems that measure their feet's contact rates (for error messages)."""
    return [f"gym:{name}-v5" for name in sorted(FEET)]

# MuJoCo 4 deprecates the compiler attribute settotalmass, which gymnasium's HalfCheetah
# model still sets: its warning would print (and go to MUJOCO_LOG.TXT) for every
# environment built, a population's worth a run
KNOWN_WARNINGS = ("compiler attribute 'settotalmass' is deprecated",)


def make_env(env_id: str, **kwargs):
    """gym.make(env_id, **kwargs), MuJoCo's known deprecation warnings (KNOWN_WARNINGS) left
    out; any other MuJoCo warning still reaches the handler in place, or stderr."""
    import gymnasium as gym
    if not str(gym.spec(env_id).entry_point).startswith("gymnasium.envs.mujoco"):
        return gym.make(env_id, **kwargs)
    try:
        import mujoco
    except ImportError:
        raise ValueError(f"gym:{env_id} needs MuJoCo: pip install -e '.[mujoco]' (or "
                         "pip install 'gymnasium[mujoco]')") from None
    caught: list[str] = []
    before = mujoco.get_mju_user_warning()
    mujoco.set_mju_user_warning(caught.append)
    try:
        env = gym.make(env_id, **kwargs)
    finally:
        mujoco.set_mju_user_warning(before)
    for msg in caught:
        if not msg.startswith(KNOWN_WARNINGS):
            before(msg) if before is not None else print(f"WARNING: {msg}", file=sys.stderr)
    return env


def _spaces(env_id: str):
    import gymnasium as gym
    env = make_env(env_id)
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


NORMALIZE = ("running", "fixed", "none")
OPTIONS = ("episodes", "max_steps", "normalize")
TINY_STD = 1e-8            # a coordinate that (almost) never moves is left unscaled


def act_for(space, unit: bool):
    """act(Y) for outputs Y [n, O]: the argmax for Discrete actions, else the outputs mapped
    onto the Box's bounds from [0, 1] (``unit``: sigmoid rates) or from [-1, 1], clipped."""
    import gymnasium as gym
    if isinstance(space, gym.spaces.Discrete):
        return lambda Y: np.argmax(Y, axis=1)
    lo, hi = space.low, space.high

    def act(Y):
        u = np.clip(Y, 0, 1) if unit else (np.clip(Y, -1, 1) + 1) * 0.5
        return lo + u * (hi - lo)
    return act


def check_options(env_id: str, options: dict) -> None:
    """A one-line ValueError naming a gym: problem option that is unknown or has a bad value."""
    for k, v in options.items():
        if k not in OPTIONS:
            raise ValueError(f"gym:{env_id}: unknown problem option {k!r}; valid: {', '.join(OPTIONS)}")
    if "normalize" in options and options["normalize"] not in NORMALIZE:
        raise ValueError(f"gym:{env_id}: normalize must be one of {', '.join(NORMALIZE)}, got "
                         f"{options['normalize']!r}")
    for k in ("episodes", "max_steps"):
        v = options.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"gym:{env_id}: {k} must be an integer >= 1, got {v!r}")


def running_stats(state: dict) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the observations counted in state (0 and 1 before any;
    1 where a coordinate's deviation is below TINY_STD)."""
    n = state["count"]
    d = len(state["sum"])
    if n < 2:
        return np.zeros(d), np.ones(d)
    mean = state["sum"] / n
    std = np.sqrt(np.maximum(state["sumsq"] / n - mean * mean, 0.0))
    return mean, np.where(std < TINY_STD, 1.0, std)


def make_problem(env_id: str, episodes: int = 3, max_steps: int | None = None,
                 normalize: str = "running") -> Problem:
    """The Problem for gymnasium environment env_id (options: check_options)."""
    import gymnasium as gym
    check_options(env_id, {"episodes": episodes, "max_steps": max_steps, "normalize": normalize})
    env, obs_space, act_space = _spaces(env_id)
    d = int(obs_space.shape[0])
    fixed = _normalizer(env) if normalize == "fixed" else (np.zeros(d), np.ones(d))
    discrete = isinstance(act_space, gym.spaces.Discrete)
    n_out = int(act_space.n) if discrete else int(act_space.shape[0])
    inputs = _names(env, "observation", "obs", d)
    outputs = _names(env, "action", "action", n_out)
    feet = feet_of(env_id, env)
    geoms = tuple(feet.values())
    env.close()
    threshold = getattr(gym.spec(env_id), "reward_threshold", None)
    limit = max_steps or getattr(gym.spec(env_id), "max_episode_steps", None) or 1000
    # the run's state: observations counted (their sum and sum of squares) and environment
    # steps, merged at each generation's end; pending: what the last evaluation gathered
    state = {"count": 0, "sum": np.zeros(d), "sumsq": np.zeros(d), "env_steps": 0}
    held = {"pending": None, "pool": None, "key": None, "envs": []}

    def stats():
        return running_stats(state) if normalize == "running" else fixed

    def new_env():
        return make_env(env_id)

    def episodes_of(net, G, seeds, counted=None) -> tuple:
        from evornn.backends import evaluation_workers
        mean, std = stats()
        act = act_for(act_space, unit_outputs(net))
        workers = min(evaluation_workers(), len(G))
        if workers == 1:
            envs = ready_envs(held["envs"], len(G), new_env)
            return run_chunk(envs, net, G, seeds, mean, std, limit, act, counted)
        key = (workers, id(net), unit_outputs(net))
        if held["key"] != key:
            close()
            held["pool"], held["key"] = Pool(workers, new_env, net, act), key
        # two chunks a worker: episodes that end early (a fallen walker) still balance
        parts = np.array_split(np.arange(len(G)), min(len(G), 2 * workers))
        more = (counted,) if counted else ()
        out = held["pool"].map([(G[i], seeds[i], mean, std, limit, *more) for i in parts])
        return tuple(np.concatenate(col) for col in zip(*out))

    def returns(net, genomes, seeds, gather: bool = False, contacts: bool = False):
        """Mean return of every genome over the episodes that start from seeds; with
        contacts, also each foot's contact rate [P, F]."""
        G = np.repeat(np.asarray(genomes, dtype=np.float64), len(seeds), axis=0)
        S = np.tile(np.asarray(seeds, dtype=np.int64), len(genomes))
        total, steps, s1, s2, touch = episodes_of(net, G, S, geoms if contacts else None)
        if gather:          # per episode: summed at the generation's end, in episode order
            held["pending"] = (steps, s1, s2)
        fitness = total.reshape(-1, len(seeds)).mean(1)
        if not contacts:
            return fitness
        # each episode's rate, then their mean: a short episode (a fall) weighs as a long one
        rate = touch / steps[:, None]
        return fitness, rate.reshape(len(genomes), len(seeds), len(geoms)).mean(1)

    def evaluate(net, genomes, seed, measures: bool = False):
        seeds = np.random.default_rng([*seed, 7]).integers(0, 2**31 - 1, episodes)
        return returns(net, genomes, seeds, gather=True, contacts=measures and bool(geoms))

    def solved(net, genome, fitness):
        if threshold is None or fitness < threshold:
            return False, {}
        test = returns(net, genome[None], np.arange(10_000, 10_010))[0]   # 10 fresh episodes
        return bool(test >= threshold), {"test_return": float(test), "threshold": threshold}

    def end_generation():
        if held["pending"] is not None:
            steps, s1, s2 = held["pending"]
            n, s1, s2 = int(steps.sum()), s1.sum(0), s2.sum(0)
            state.update(count=state["count"] + n, sum=state["sum"] + s1,
                         sumsq=state["sumsq"] + s2, env_steps=state["env_steps"] + n)
            held["pending"] = None

    def get_state():
        return {k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in state.items()}

    def set_state(saved):
        want = {"count": (), "sum": (d,), "sumsq": (d,), "env_steps": ()}
        if set(saved) != set(want) or any(np.shape(saved[k]) != s for k, s in want.items()):
            raise ValueError(f"gym:{env_id}: a saved state needs {', '.join(want)} (sums of "
                             f"{d} observations), got {sorted(saved)}")
        state.update(count=int(saved["count"]), sum=np.array(saved["sum"], dtype=np.float64),
                     sumsq=np.array(saved["sumsq"], dtype=np.float64),
                     env_steps=int(saved["env_steps"]))
        held["pending"] = None

    def set_gathered(parts):
        # chunks' episodes joined in population order: the same sums, to the bit, as one
        # evaluation of the whole population
        held["pending"] = tuple(np.concatenate(col) for col in zip(*parts)) if parts else None

    def input_norm():
        return None if normalize == "none" else stats()

    def close():
        if held["pool"] is not None:
            held["pool"].close()
        held["pool"], held["key"] = None, None

    return Problem(f"gym:{env_id}", f"gymnasium {env_id}: mean return over {episodes} episodes",
                   n_in=d, n_out=n_out, evaluate=evaluate, solved=solved,
                   arch="elman", n_hidden=8, arch_options={"readout": "tanh"}, optimizer="xnes",
                   popsize=16, sigma0=0.5, max_evals=20_000,
                   inputs=inputs, outputs=outputs, get_state=get_state, set_state=set_state,
                   end_generation=end_generation, gathered=lambda: held["pending"],
                   set_gathered=set_gathered, counters=lambda: {"env_steps": state["env_steps"]},
                   input_norm=input_norm, close=close,
                   measures={f"{k}_contact": (0.0, 1.0) for k in feet},
                   descriptors=tuple(f"{k}_contact" for k in feet))
