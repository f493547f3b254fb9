"""benchmarks/mujoco.py's steps-to-target reading of metrics.csv, and the per-environment gym defaults."""
from benchmarks.mujoco import FRESH_KEY, median_steps, steps_to_target, strict_steps


def test_steps_to_target_is_the_first_generation_whose_best_reaches_it():
    rows = [{"best": "90.5", "env_steps": "48000"}, {"best": "128.0", "env_steps": "96000"},
            {"best": "120.0", "env_steps": "144000"}, {"best": "200.0", "env_steps": "192000"}]
    assert steps_to_target(rows, 128.0) == 96000          # reached exactly counts
    assert steps_to_target(rows, 150.0) == 192000
    assert steps_to_target(rows, 201.0) is None


def test_median_counts_a_seed_that_never_reached_as_beyond_the_budget():
    assert median_steps([300, 100, 200]) == 200
    assert median_steps([300, None, 100]) == 300
    assert median_steps([None, None, 100]) is None
    assert median_steps([100, 200]) == 150


def test_strict_reach_needs_the_champion_to_hold_the_target_on_fresh_episodes():
    assert strict_steps(96000, 131.0, 128.0) == 96000
    assert strict_steps(96000, 128.0, 128.0) == 96000     # held exactly counts
    assert strict_steps(96000, 127.9, 128.0) is None      # a lucky start: not reached
    assert strict_steps(None, 300.0, 128.0) is None       # never reached in training
    steps = [strict_steps(k, fr, 128.0) for k, fr in [(100, 200.0), (200, 90.0), (300, 150.0)]]
    assert median_steps(steps) == 300
    # a training generation's key is (seed, generation): the fresh key is never one
    assert len(FRESH_KEY) != 2


def test_swimmer_defaults_to_fixed_normalization_on_one_episode_unless_told():
    from evornn.problems._mujoco_defaults import with_defaults
    assert with_defaults("Swimmer-v5", {}) == {"normalize": "fixed", "episodes": 1}
    assert with_defaults("Swimmer-v5", {"normalize": "running", "episodes": 2}) == {
        "normalize": "running", "episodes": 2}
    assert with_defaults("Hopper-v5", {"episodes": 2}) == {"episodes": 2}


def test_inverted_double_pendulum_searches_with_its_own_popsize_and_sigma0():
    import pytest

    from evornn.problem import get_problem
    pytest.importorskip("mujoco")                         # the problem reads the environment's spaces
    p = get_problem("gym:InvertedDoublePendulum-v5")
    assert (p.popsize, p.sigma0, p.optimizer) == (64, 0.2, "xnes")
    q = get_problem("gym:Swimmer-v5")
    assert (q.popsize, q.sigma0) == (16, 0.5)


def test_halfcheetah_searches_with_snes_popsize_32_sigma0_01_on_one_episode():
    import pytest

    from evornn.problem import get_problem
    from evornn.problems._mujoco_defaults import with_defaults
    pytest.importorskip("mujoco")
    assert with_defaults("HalfCheetah-v5", {}) == {"episodes": 1}
    assert with_defaults("HalfCheetah-v5", {"episodes": 3}) == {"episodes": 3}
    p = get_problem("gym:HalfCheetah-v5")
    assert (p.optimizer, p.popsize, p.sigma0) == ("snes", 32, 0.1)
    assert p.description.endswith("over 1 episodes")
    assert get_problem("gym:HalfCheetah-v5", {"episodes": 3}).description.endswith("over 3 episodes")
