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
            prob.close()
        np.testing.assert_array_equal(a, b)
        assert np.all(np.isfinite(a)) and np.all(a < 0) and a.max() > a.min()


def test_unknown_environment_is_named():
    with pytest.raises(ValueError, match=r"unknown gymnasium environment 'CartPole-v9' \(did you "
                                         r"mean 'gym:CartPole-v1'\?\)"):
        get_problem("gym:CartPole-v9")


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_vector_environment_returns_equal_episodes_stepped_one_by_one(env_id):
    """The worker processes' returns are those of each environment stepped on its own from
    the same seed by the problem's network (which applies the observation statistics)."""
    from evornn.problems._gym import _normalizer, make_problem, unit_outputs
    prob = make_problem(env_id, episodes=2, max_steps=120, normalize="fixed")
    net = prob.network()
    G = net.genome + 0.7 * np.random.default_rng(4).standard_normal((3, net.n_params))
    got = prob.evaluate(net, G, (3, 1))
    seeds = np.random.default_rng([3, 1, 7]).integers(0, 2**31 - 1, 2)
    env = gym.make(env_id)
    mean, std = _normalizer(gym.make(env_id))
    np.testing.assert_array_equal(net.input_norm[0], mean)    # the network normalizes itself
    np.testing.assert_array_equal(net.input_norm[1], std)
    want = np.zeros(3)
    for p in range(3):
        net.genome = G[p]
        for s in seeds:
            net.reset()
            obs, _ = env.reset(seed=int(s))
            for _ in range(120):
                y = net.step(obs)
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


def test_fitness_and_gathered_states_are_the_same_bits_for_1_and_2_workers():
    """Two generations of gym:Pendulum-v1 with running normalization: the fitness and the
    statistics (observation sums, env steps) are bit for bit those of one worker."""
    from evornn.problems._gym import make_problem
    from evornn.threads import set_threads, threads
    before, out = threads(), []
    for workers in (1, 2):
        prob = make_problem("Pendulum-v1", episodes=2, max_steps=60)
        net = prob.network()
        G = net.genome + 0.5 * np.random.default_rng(2).standard_normal((5, net.n_params))
        try:
            set_threads(workers)
            f = []
            for g in range(2):
                f.append(prob.evaluate(net, G, (4, g)))
                prob.end_generation()
        finally:
            prob.close()
            set_threads(before)
        out.append((f, prob.get_state()))
    (fa, sa), (fb, sb) = out
    np.testing.assert_array_equal(fa, fb)
    assert fa[0].min() < fa[0].max() and not np.array_equal(fa[0], fa[1])
    assert sa["env_steps"] == sb["env_steps"] == sa["count"] == 2 * 5 * 2 * 60
    for k in ("sum", "sumsq"):
        np.testing.assert_array_equal(sa[k], sb[k])


class _Crashing:
    """A stand-in environment whose step raises."""

    observation_space = None

    def reset(self, seed=None):
        return np.zeros(3), {}

    def step(self, a):
        raise ValueError("the simulator blew up")

    def close(self):
        pass


def test_a_dead_or_failing_worker_ends_the_evaluation_with_one_line_and_no_process_left():
    import multiprocessing as mp
    import signal

    from evornn.problems._gym_pool import Pool
    net = evornn.Network("elman", 3, 2, 1)
    G = np.repeat(net.genome[None], 4, axis=0)
    chunks = [(G[:2], [1, 2], np.zeros(3), np.ones(3), 5), (G[2:], [3, 4], np.zeros(3), np.ones(3), 5)]
    pool = Pool(2, _Crashing, net, lambda Y: Y)
    procs = list(pool.procs)
    with pytest.raises(RuntimeError, match=r"^a gym worker's environment raised ValueError: the "
                                           r"simulator blew up$"):
        pool.map(chunks)
    assert pool.procs == [] and all(p.exitcode is not None for p in procs)   # stopped, reaped
    pool = Pool(2, lambda: gym.make("Pendulum-v1"), net, lambda Y: Y)
    procs = list(pool.procs)
    np.testing.assert_array_equal(pool.map(chunks)[1][1], [5, 5])  # 5 steps each episode
    pid = pool.procs[0].pid
    import os
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match=rf"^gym worker process {pid} died \(exit code -9\) while "
                                           "stepping its environments$"):
        pool.map(chunks)
    assert pool.procs == [] and all(p not in mp.active_children() for p in procs)


def test_running_statistics_resume_load_and_the_env_step_budget(tmp_path):
    """gym:Pendulum-v1 with a budget of 2,500 env steps (800 a generation) stops after 4
    generations; stopped after 2 and resumed it ends the same (metrics with env_steps, summary,
    champion and its statistics), and evornn.load's network, which normalizes by the saved
    statistics, steps the champion's episode to the champion's return."""
    import csv
    import json
    from dataclasses import asdict

    from evornn.run import CONFIG, RunConfig, new_run_dir, read_problem_state, run_loop
    cfg = RunConfig(problem="gym:Pendulum-v1", arch="elman", hidden=3, optimizer="xnes",
                    popsize=8, sigma0=0.5, max_evals=10_000, seed=5, max_env_steps=2500,
                    problem_options={"episodes": 1, "max_steps": 100})
    results = []
    for stop_after in (None, 2):
        d = new_run_dir(tmp_path, cfg)
        (d / CONFIG).write_text(json.dumps(asdict(cfg)))
        if stop_after:
            assert run_loop(d, quiet=True, stop_after=stop_after) == {}
        summary = run_loop(d, quiet=True)
        rows = list(csv.DictReader(open(d / "metrics.csv")))
        results.append((summary, [{k: v for k, v in r.items() if k != "wall_time_s"} for r in rows],
                        evornn.load(d), read_problem_state(d)))
    (a, ra, net, sa), (b, rb, net_b, sb) = results
    assert [int(r["env_steps"]) for r in ra] == [800, 1600, 2400, 3200]
    assert a["stop_reason"] == "budget" and a["env_steps"] == 3200 and a["evaluations"] == 32
    assert {k: v for k, v in a.items() if k != "wall_time_s"} == \
        {k: v for k, v in b.items() if k != "wall_time_s"}
    assert ra == rb
    np.testing.assert_array_equal(net.genome, net_b.genome)
    for k in ("sum", "sumsq", "count"):
        np.testing.assert_array_equal(sa[k], sb[k])
    # the champion's generation: the first row whose best is the run's best
    gen = next(int(r["generation"]) for r in ra if float(r["best"]) == a["best_fitness"])
    assert sa["count"] == 800 * (gen - 1)           # the statistics frozen at its start
    assert gen > 1 and np.all(net.input_norm[0] != 0) and np.all(net.input_norm[1] != 1)
    env = gym.make("Pendulum-v1")
    (s,) = np.random.default_rng([5, gen - 1, 7]).integers(0, 2**31 - 1, 1)
    obs, _ = env.reset(seed=int(s))
    total = 0.0
    for _ in range(100):
        y = net.step(obs)
        obs, r, _, _, _ = env.step(-2 + (np.clip(y, -1, 1) + 1) * 0.5 * 4)
        total += r
    assert total == a["best_fitness"], gen


@pytest.mark.parametrize("args,message", [
    (["gym:CartPole-v1", "--problem-option", "normalize=mean"],
     "gym:CartPole-v1: normalize must be one of running, fixed, none, got 'mean'"),
    (["gym:CartPole-v1", "--problem-option", "episode=2"],
     "gym:CartPole-v1: unknown problem option 'episode'; valid: episodes, max_steps, normalize"),
    (["gym:CartPole-v1", "--max-env-steps", "0"], "--max-env-steps must be >= 1, got 0"),
    (["dpnv", "--max-env-steps", "100"], "--max-env-steps needs a problem that counts environment "
                                         "steps (gym:ENV_ID); dpnv counts none"),
    (["dpnv", "--problem-option", "episodes=2"], "problem 'dpnv' takes no options"),
])
def test_bad_gym_options_are_one_line_errors(args, message, tmp_path, capsys):
    from evornn.cli import main
    assert main(["run", *args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_mujoco_environments_kept_between_generations_give_the_returns_of_fresh_ones():
    """Workers keep MuJoCo environments (reset(seed) restores the whole state): a generation
    after another returns the same bits as one run on new environments, 1 or 2 workers."""
    pytest.importorskip("mujoco")
    from evornn.problems._gym import make_problem
    from evornn.threads import set_threads, threads
    before, got = threads(), []
    for workers, generations in ((1, (0, 1)), (2, (0, 1)), (2, (1,))):
        prob = make_problem("Swimmer-v5", episodes=1, max_steps=40, normalize="none")
        net = prob.network()
        G = net.genome + 0.5 * np.random.default_rng(6).standard_normal((3, net.n_params))
        try:
            set_threads(workers)
            got.append([prob.evaluate(net, G, (0, g)) for g in generations][-1])
        finally:
            prob.close()
            set_threads(before)
    np.testing.assert_array_equal(got[0], got[2])
    np.testing.assert_array_equal(got[1], got[2])
    assert got[2].min() < got[2].max()


def test_halfcheetah_is_built_without_mujocos_settotalmass_warning(monkeypatch):
    """MuJoCo 4's settotalmass deprecation (HalfCheetah's model) is left out; other warnings
    still reach the handler in place, which is put back."""
    mujoco = pytest.importorskip("mujoco")
    from evornn.problems import _gym
    seen: list[str] = []
    mujoco.set_mju_user_warning(seen.append)
    try:
        _gym.make_env("HalfCheetah-v5").close()
        assert seen == [] and mujoco.get_mju_user_warning() is not None
        gym.make("HalfCheetah-v5").close()
        if not seen:
            pytest.skip("this MuJoCo does not warn about settotalmass")
        known = seen.pop()
        assert "settotalmass" in known
        monkeypatch.setattr(_gym, "KNOWN_WARNINGS", ("another warning",))
        _gym.make_env("HalfCheetah-v5").close()
        assert seen == [known]
    finally:
        mujoco.set_mju_user_warning(None)


def test_a_mujoco_environment_where_mujoco_is_missing_is_refused_in_one_line():
    try:
        import mujoco  # noqa: F401
        pytest.skip("mujoco is installed here")
    except ImportError:
        pass
    from evornn.problem import get_problem
    with pytest.raises(ValueError, match=r"^gym:Hopper-v5 needs MuJoCo: pip install -e '\.\[mujoco\]'"):
        get_problem("gym:Hopper-v5")
