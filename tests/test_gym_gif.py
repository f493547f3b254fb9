"""report's GIF of a gymnasium run's champion: the episode it renders is the one the problem
scores, and the GIF has the frames and size it should."""
import math

import numpy as np
import pytest

import evornn

gym = pytest.importorskip("gymnasium")
pytest.importorskip("pygame")            # the classic-control environments draw with pygame


def test_the_rendered_policy_scores_what_the_problem_scores():
    from evornn.gym_gif import episode
    from evornn.problem import get_problem
    prob = get_problem("gym:Pendulum-v1")
    net = prob.network(seed=0)
    g = net.genome + 0.5 * np.random.default_rng(2).standard_normal(net.n_params)
    f = prob.evaluate(net, g[None], (3, 1))[0]
    # the problem's episode seeds for run seed 3, generation 1 (3 episodes)
    seeds = np.random.default_rng([3, 1, 7]).integers(0, 2**31 - 1, 3)
    assert np.mean([episode("Pendulum-v1", net, g, s)[0] for s in seeds]) == pytest.approx(f, rel=1e-9)
    assert f < -100                                         # (not a trivially equal zero)


def test_report_draws_the_champions_episode_into_a_small_gif(tmp_path, capsys, monkeypatch):
    from PIL import Image

    from evornn import cli, gym_gif
    from evornn.run import RunConfig, start
    cfg = RunConfig(problem="gym:CartPole-v1", arch="elman", hidden=2, optimizer="xnes",
                    popsize=4, sigma0=0.5, max_evals=4, seed=1)
    d, _ = start(cfg, tmp_path, quiet=True)
    assert cli.main(["report", str(d)]) == 0
    out = capsys.readouterr().out
    line = next(s for s in out.splitlines() if s.startswith("episode.gif: "))
    ret = float(line.rsplit("return ", 1)[1])               # CartPole: 1 a step, so steps
    assert f"picture: {d / 'episode.gif'}" in out
    with Image.open(d / "episode.gif") as im:
        # one frame every ceil(500 / 100) = 5 steps from the reset, 600 x 400 shrunk to 240 wide
        assert im.n_frames == math.ceil(ret / 5) and im.size == (240, 160)
    monkeypatch.setattr(gym_gif, "episode", lambda *a, **k: (_ for _ in ()).throw(
        RuntimeError("Could not initialize an OpenGL context\nmore")))
    assert gym_gif.champion_gif(d, evornn.load(d), "CartPole-v1") == (None, (
        "no episode.gif: gym:CartPole-v1 could not render rgb_array frames here (RuntimeError: "
        "Could not initialize an OpenGL context) (MuJoCo renders offscreen with MUJOCO_GL=egl "
        "or osmesa and their libraries)"))


def test_mujoco_gl_is_egl_on_a_headless_linux_unless_chosen(monkeypatch):
    from evornn import gym_gif
    monkeypatch.setattr(gym_gif.sys, "platform", "linux")
    for display, chosen, want in [(None, None, "egl"), (None, "osmesa", "osmesa"), (":0", None, None)]:
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        for var, value in (("DISPLAY", display), ("MUJOCO_GL", chosen)):
            if value is None:
                monkeypatch.delenv(var, raising=False)
            else:
                monkeypatch.setenv(var, value)
        gym_gif.headless_gl()
        assert gym_gif.os.environ.get("MUJOCO_GL") == want
