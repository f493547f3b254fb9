"""MuJoCo walkers' behaviour descriptors: each foot's contact rate with the floor, counted in
the gym: problem's episode workers."""

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")


def _genomes(net, n, seed):
    return net.genome + 0.5 * np.random.default_rng(seed).standard_normal((n, net.n_params))


def test_contact_rates_are_the_fractions_a_plain_gymnasium_loop_counts():
    """Walker2d-v5's two feet: the evaluation's rates are the mean over its episodes of the
    fraction of steps after which the simulator lists a contact of that foot with the floor,
    found here by the geoms' names; the returns are the loop's too."""
    pytest.importorskip("mujoco")
    import mujoco

    from evornn.problems._gym import make_problem
    prob = make_problem("Walker2d-v5", episodes=2, max_steps=40, normalize="none")
    assert prob.descriptors == ("right_foot_contact", "left_foot_contact")
    assert prob.measures == {k: (0.0, 1.0) for k in prob.descriptors}
    net = prob.network()
    G = _genomes(net, 3, 1)
    try:
        f, v = prob.evaluate(net, G, (2, 0), measures=True)
    finally:
        prob.close()
    seeds = np.random.default_rng([2, 0, 7]).integers(0, 2**31 - 1, 2)
    env = gym.make("Walker2d-v5")
    m, d = env.unwrapped.model, env.unwrapped.data
    lo, hi = env.action_space.low, env.action_space.high
    for g, fit, rates in zip(G, f, v):
        net.genome = g
        ret, frac = [], []
        for s in seeds:
            obs, _ = env.reset(seed=int(s))
            net.reset()
            total, down, steps = 0.0, np.zeros(2), 0
            for _ in range(40):
                obs, r, term, trunc, _ = env.step(lo + (np.clip(net.step(obs), -1, 1) + 1) * 0.5 * (hi - lo))
                total, steps = total + r, steps + 1
                pairs = {frozenset(mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_GEOM, int(i))
                                   for i in d.contact[k].geom) for k in range(d.ncon)}
                down += [frozenset(("floor", foot)) in pairs for foot in ("foot_geom", "foot_left_geom")]
                if term or trunc:
                    break
            ret.append(total)
            frac.append(down / steps)
        assert fit == np.mean(ret)
        np.testing.assert_allclose(rates, np.mean(frac, axis=0), rtol=0, atol=1e-12)
    assert np.any((v > 0) & (v < 1)) and v.min() < v.max()


def test_ants_legs_are_named_by_where_they_stand():
    pytest.importorskip("mujoco")
    from evornn.problems._gym import FEET
    env = gym.make("Ant-v5")
    env.reset(seed=0)
    m, d = env.unwrapped.model, env.unwrapped.data
    for name, geom in FEET["Ant"].items():
        x, y, _ = d.geom_xpos[m.geom(geom).id]
        assert (x > 0) == name.startswith("front") and (y > 0) == name.endswith("left"), name


def test_rates_are_the_same_bits_for_1_and_2_workers_and_leave_the_fitness_alone():
    pytest.importorskip("mujoco")
    from evornn.problems._gym import make_problem
    from evornn.threads import set_threads, threads
    before, out = threads(), []
    for workers in (1, 2):
        prob = make_problem("Hopper-v5", episodes=2, max_steps=30)
        net = prob.network()
        G = _genomes(net, 5, 3)
        try:
            set_threads(workers)
            got, plain = [], []
            for gen in range(2):
                got.append(prob.evaluate(net, G, (1, gen), measures=True))
                plain.append(prob.evaluate(net, G, (1, gen)))
                prob.end_generation()
        finally:
            prob.close()
            set_threads(before)
        out.append((got, plain, prob.get_state()))
    (a, pa, sa), (b, pb, sb) = out
    for (fa, va), (fb, vb) in zip(a, b):
        np.testing.assert_array_equal(fa, fb)
        np.testing.assert_array_equal(va, vb)
    np.testing.assert_array_equal(pa, [f for f, _ in a])    # measuring changes no return
    assert va.shape == (5, 1) and va.min() < va.max()
    assert sa["env_steps"] == sb["env_steps"] and np.array_equal(sa["sum"], sb["sum"])


def test_a_qd_optimizer_on_an_environment_without_feet_is_one_line_naming_those_with(tmp_path, capsys):
    from evornn.cli import main
    assert main(["run", "gym:CartPole-v1", "--optimizer", "map-elites", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "problem 'gym:CartPole-v1' declares none; problems that do: " in err
    assert all(f"gym:{e}-v5" in err for e in ("Hopper", "Walker2d", "HalfCheetah", "Ant"))


def test_a_hopper_map_elites_run_keeps_resumes_and_loads_its_archive(tmp_path):
    """gym:Hopper-v5 with map-elites end to end: the archive over foot_contact, the same after
    a stop and resume, an elite loaded by its cell, and report's heat map."""
    pytest.importorskip("mujoco")
    pytest.importorskip("ribs")
    from evornn.report import plot_archive
    from evornn.run import RunConfig, read_archive, start
    from tests.archive_cases import assert_elite_loads, assert_resumes_to
    cfg = RunConfig(problem="gym:Hopper-v5", arch="elman", hidden=4, optimizer="map-elites",
                    popsize=6, sigma0=0.5, max_evals=24, seed=3, options={"cells": 8},
                    problem_options={"episodes": 1, "max_steps": 40})
    d, summary = start(cfg, root=tmp_path / "a", quiet=True)
    whole = read_archive(d)
    assert summary["evaluations"] == 24 and list(whole["descriptors"]) == ["foot_contact"]
    assert whole["dims"].tolist() == [8] and len(whole["fitness"]) >= 3
    assert np.all((whole["measures"] >= 0) & (whole["measures"] <= 1))
    bins = np.minimum(whole["measures"][:, 0] * 8, 7).astype(int)     # 8 cells over [0, 1]
    np.testing.assert_array_equal(whole["cells"][:, 0], bins)
    assert_resumes_to(cfg, tmp_path / "b", whole, stop_after=2)
    assert_elite_loads(d, whole, int(np.argmax(whole["fitness"])))
    assert [p.name for p in plot_archive(d)] == ["archive.png", "qd.png"]
