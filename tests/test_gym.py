"""gym:ENV_ID problems and the population stepper they run on."""
import numpy as np
import pytest

import evornn
from evornn.problem import get_problem
from evornn.stepper import PopulationStepper

gym = pytest.importorskip("gymnasium")


@pytest.mark.parametrize("arch,options", [("elman", {}), ("lstm", {}), ("ctrnn", {}),
                                          (["gru", "frnn"], {}), ("frnn", {"bias": False})])
def test_stepper_equals_stepping_each_network(arch, options):
    rng = np.random.default_rng(3)
    net = evornn.Network(arch, 3, 4, 2, output_map=(2.0, -1.0), **options)
    G = net.genome + 0.5 * rng.standard_normal((5, net.n_params))
    X = rng.uniform(-1, 1, (6, 5, 3))
    st = PopulationStepper(net, G)
    got = np.array([st.step(x) for x in X])
    for p in range(5):
        net.genome = G[p]
        want = np.array([net.step(x[p]) for x in X])
        np.testing.assert_allclose(got[:, p], want, rtol=0, atol=1e-13)
    st.reset()
    np.testing.assert_array_equal(st.step(X[0]), got[0])


def test_cartpole_is_solved_by_a_small_recurrent_policy(tmp_path):
    """gym:CartPole-v1 reaches the maximum return (500, also on 10 fresh test episodes)."""
    from evornn.run import RunConfig, start
    cfg = RunConfig(problem="gym:CartPole-v1", arch="elman", hidden=8, optimizer="xnes",
                    popsize=16, sigma0=0.5, max_evals=2000, seed=1)
    d, summary = start(cfg, tmp_path, quiet=True)
    assert summary["solved"] and summary["best_fitness"] == 500 and summary["test_return"] == 500
    assert summary["evaluations"] <= 2000                    # measured: 160
    assert d.name == "gym-CartPole-v1-elman-xnes-s1"


def test_gym_fitness_is_deterministic_and_continuous_actions_work():
    from evornn.threads import set_threads, threads
    prob = get_problem("gym:Pendulum-v1")
    assert (prob.n_in, prob.n_out) == (3, 1)
    before = threads()
    for arch in ("elman", "ctrnn"):
        net = prob.network(arch, 3)
        G = net.genome + np.random.default_rng(0).standard_normal((4, net.n_params))
        try:
            set_threads(1)
            a = prob.evaluate(net, G, (0, 2))
            set_threads(2)
            b = prob.evaluate(net, G, (0, 2))
        finally:
            set_threads(before)
        np.testing.assert_array_equal(a, b)
        assert np.all(np.isfinite(a)) and np.all(a < 0) and a.max() > a.min()


def test_unknown_environment_is_named():
    with pytest.raises(ValueError, match=r"unknown gymnasium environment 'CartPole-v9' \(did you "
                                         r"mean 'gym:CartPole-v1'\?\)"):
        get_problem("gym:CartPole-v9")


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_vector_environment_returns_equal_episodes_stepped_one_by_one(env_id):
    """The vector environment's returns (autoreset ignored after an episode ends) are those
    of each environment stepped on its own from the same seed."""
    from evornn.problems._gym import _normalizer, make_problem, unit_outputs
    prob = make_problem(env_id, episodes=2, max_steps=120)
    net = prob.network()
    G = net.genome + 0.7 * np.random.default_rng(4).standard_normal((3, net.n_params))
    got = prob.evaluate(net, G, (3, 1))
    seeds = np.random.default_rng([3, 1, 7]).integers(0, 2**31 - 1, 2)
    env = gym.make(env_id)
    mean, std = _normalizer(gym.make(env_id))
    want = np.zeros(3)
    for p in range(3):
        net.genome = G[p]
        for s in seeds:
            net.reset()
            obs, _ = env.reset(seed=int(s))
            for _ in range(120):
                y = net.step((obs - mean) / std)
                if env_id == "CartPole-v1":
                    a = int(np.argmax(y))
                else:
                    lo, hi = env.action_space.low, env.action_space.high
                    u = np.clip(y, 0, 1) if unit_outputs(net) else (np.clip(y, -1, 1) + 1) * 0.5
                    a = lo + u * (hi - lo)
                obs, r, term, trunc, _ = env.step(a)
                want[p] += r / 2
                if term or trunc:
                    break
    np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.parametrize("env_id,n_in,n_out", [("LunarLander-v3", 8, 4), ("BipedalWalker-v3", 24, 4)])
def test_box2d_environments_run_as_problems(env_id, n_in, n_out):
    pytest.importorskip("Box2D")
    from evornn.problems._gym import make_problem
    prob = make_problem(env_id, episodes=1, max_steps=60)
    assert (prob.n_in, prob.n_out) == (n_in, n_out)
    net = prob.network()
    G = net.genome + np.random.default_rng(1).standard_normal((3, net.n_params))
    a = prob.evaluate(net, G, (0, 1))
    np.testing.assert_array_equal(a, prob.evaluate(net, G, (0, 1)))     # reproducible
    assert np.all(np.isfinite(a)) and a.max() > a.min()
