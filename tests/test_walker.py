"""Beer's single-leg walker: the compiled body against the equations written out again."""
import math

import numpy as np

import evornn
from evornn.problems import _leg, walker


def py_walk(net, genome, steps):
    """The walker's equations of motion in plain Python, network stepped by Network.step."""
    net.genome = genome
    net.reset()
    lim, L = math.pi / 6, 15.0
    cx = vx = jx = omega = 0.0
    angle, fx, fy = lim, L * math.sin(lim), L * math.cos(lim)
    for _ in range(steps):
        foot, back_o, fwd_o = net.step(np.array([angle * 5 / lim]))
        down = foot > 0.5
        fwd = 0.0 if down else 0.05 * fwd_o
        back = 0.05 * back_o
        f = back - fwd
        force = f if down and (-lim <= angle <= lim or (angle < -lim and f < 0)
                               or (angle > lim and f > 0)) else 0.0
        vx = min(max(vx + 0.1 * force, -6.0), 6.0)
        cx, jx = cx + 0.1 * vx, jx + 0.1 * vx
        if down:
            new = math.atan2(fx - jx, fy)            # the planted foot stays put
            omega, angle = (new - angle) / 0.1, new
        else:
            vx = 0.0
            omega = min(max(omega + 0.1 * 0.5 * (fwd - back), -1.0), 1.0)
            angle += 0.1 * omega
            if angle < -lim:
                angle, omega = -lim, 0.0
            if angle > lim:
                angle, omega = lim, 0.0
            fx, fy = jx + L * math.sin(angle), L * math.cos(angle)
        if cx - fx > 20:
            vx = 0.0
    return cx


def test_hand_set_controller_matches_the_equations():
    net = evornn.Network("ctrnn", 1, 3, 3, dt=0.1)
    g = np.zeros(net.n_params)
    rng = np.random.default_rng(4)
    for name in ("W", "W_in", "theta"):            # a hand-set, strongly coupled controller
        b = next(b for b in net.layout if b.name == name)
        g[b.offset:b.offset + b.size] = rng.uniform(-8, 8, b.size)
    tau = next(b for b in net.layout if b.name == "tau")
    g[tau.offset:tau.offset + tau.size] = [0.7, 1.5, 3.0]
    got = walker.evaluate(net, g[None])[0]
    want = py_walk(net, g, _leg.STEPS)
    assert got == want or abs(got - want) < 1e-9 * max(1.0, abs(want)), (got, want)
    G = evornn.optimizer("xnes", net.n_params, seed=0, sigma0=4.0).ask()
    some = walker.evaluate(net, G)
    for p in range(3):
        assert abs(some[p] - py_walk(net, G[p], _leg.STEPS)) < 1e-9 * max(1.0, abs(some[p]))
    assert np.ptp(some) > 1.0                      # the random walkers differ


def test_evolution_reaches_the_velocity_plateau(tmp_path):
    from evornn.run import RunConfig, start
    cfg = RunConfig(problem="walker", arch="ctrnn", hidden=5, optimizer="xnes", popsize=20,
                    sigma0=4.0, max_evals=6000, seed=1)
    d, s = start(cfg, tmp_path, quiet=True)
    assert s["solved"] and s["velocity"] >= 0.62 and s["evaluations"] <= 6000   # measured: 360
    # the report's trace replays the same walk, and the pictures are written
    from evornn.report import plot_traces
    net = evornn.load(d)
    tr = walker.trace(net, net.genome)
    assert abs(tr["signals"]["body position"][-1] - s["best_fitness"]) < 1e-9 * s["best_fitness"]
    assert 0.2 < tr["stance"].mean() < 0.95 and tr["neurons"].shape == (_leg.STEPS, 5)
    files = plot_traces(d)
    assert [f.name for f in files] == ["activity.png", "phase.png", "gait.png", "walk.gif"]
    assert all(f.read_bytes()[:4] == b"\x89PNG" for f in files[:3])
    assert files[3].read_bytes()[:6] == b"GIF89a"
    legs = tr["legs"][:, 0]
    np.testing.assert_allclose(legs[:, 0], tr["signals"]["body position"], atol=1e-12)  # joint = body


def test_measures_speed_and_economy_beside_the_unchanged_distance():
    """The measured episode returns the fitness-only episode's distance bit for bit, the
    speed as distance / 220 and the economy as minus the mean squared motor rates' sum of
    the same walk stepped by Network.step (report's trace)."""
    prob = walker.PROBLEM
    net = prob.network()
    G = np.random.default_rng(2).normal(0, 4, (3, net.n_params))
    f = prob.evaluate(net, G, None)
    f2, v = prob.evaluate(net, G, None, measures=True)
    np.testing.assert_array_equal(f2, f)
    np.testing.assert_allclose(v[:, 0], f / 220.0, rtol=1e-12)
    for g, e in zip(G, v[:, 1]):
        R = walker.trace(net, g)["neurons"][:, :3]
        assert abs(e + np.mean(np.sum(R ** 2, axis=1))) < 1e-9
    assert list(prob.measures) == ["speed", "economy"] and prob.objectives == ("fitness", "economy")
