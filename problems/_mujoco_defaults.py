"""Per-environment defaults of the gym: problem options, where a setting measured by
benchmarks/mujoco.py beat the general defaults (tuned on seeds 0-2, checked on seeds 3-5:
docs/problems.md)."""
from __future__ import annotations

import dataclasses

DEFAULTS = {
    # steps to return 128 with fixed and one episode an evaluation, seeds 0-2: 224,000 /
    # 96,000 / 96,000; 3-5: 144,000 / 160,000 / 224,000; held-out 6-8: 80,000 / 64,000 /
    # not in 1,536,000. With three episodes fixed had 192,000 / 192,000 / 912,000 on seeds
    # 0-2 but reached on one of seeds 3-5 (running likewise): its starting states barely
    # differ, so a third of the steps a generation buys three times the generations
    "Swimmer-v5": {"normalize": "fixed", "episodes": 1},
    # one episode an evaluation (HalfCheetah's starting states differ only by reset noise of
    # scale 0.1): three times the generations for the steps; figures under SEARCH
    "HalfCheetah-v5": {"episodes": 1},
}

# the search's own defaults (the Problem's fields), beneath --optimizer, --popsize and --sigma0
SEARCH = {
    # steps to return 2,386 with episodes 1, seeds 0-2: 1,696,000 / 1,376,000 / 672,000;
    # held-out seeds 3-5: 864,000 / 2,112,000 / 864,000. The general defaults (xNES,
    # popsize 16, sigma0 0.5, 3 episodes) had 1,462 at best in 3,216,000 steps on seed 0;
    # their first generation's mean return was -444 against -17 with sigma0 0.1 (a joint
    # held at full torque costs 100 an episode)
    "HalfCheetah-v5": {"optimizer": "snes", "popsize": 32, "sigma0": 0.1},
    # steps to return 9,104, seeds 0-2: 420,972 / 933,712 / 694,418; popsize 16, sigma0 0.5
    # (the general defaults) stayed below 350 for 300,000-400,000 steps with either normalize;
    # held-out seeds 3-5: 660,806 / 1,110,304 / 698,405
    "InvertedDoublePendulum-v5": {"popsize": 64, "sigma0": 0.2},
}


def with_defaults(env_id: str, options: dict) -> dict:
    """options over env_id's own defaults (the options given win)."""
    return {**DEFAULTS.get(env_id, {}), **options}


def with_search_defaults(env_id: str, prob):
    """prob with env_id's own search defaults (optimizer, popsize, sigma0) in place of the
    general ones."""
    return dataclasses.replace(prob, **SEARCH.get(env_id, {}))
