"""Beer and Gallagher's six-legged walker: the compiled walk against the equations written
out again, and evolution to a tripod gait."""
import math

import numpy as np
import pytest

import evornn
from evornn.problems import _leg, walker6


def blocks(net, genome):
    """The genome's named blocks as arrays (W[k, j]: from neuron j to neuron k)."""
    return {b.name: np.asarray(genome[b.offset:b.offset + b.size], float).reshape(b.shape)
            for b in net.layout}


def py_walk(net, genome, steps):
    """The six-legged walker in plain Python: 30 neurons, six legs, the stability rule."""
    g = blocks(net, genome)
    W, Win, theta = g["W"], g["W_in"], g["theta"]
    tau = np.clip(g["tau"], 0.5, 10.0)
    H, dt, lim, L = len(theta), 0.1, math.pi / 6, 15.0
    ipsi = {0: [1], 1: [0, 2], 2: [1], 3: [4], 4: [3, 5], 5: [4]}
    place = [1, 0, -1, 1, 0, -1]
    y = [[0.0] * H for _ in range(6)]

    def rate(v, k):
        return 1.0 / (1.0 + math.exp(-(v + theta[k])))
    r = [[rate(y[i][k], k) for k in range(H)] for i in range(6)]
    angle = [lim, -lim, lim, -lim, lim, -lim]
    omega = [0.0] * 6
    jx = [20.0 * p for p in place]
    fx = [jx[i] + L * math.sin(angle[i]) for i in range(6)]
    fy = [L * math.cos(angle[i]) for i in range(6)]
    cx = vx = 0.0
    for _ in range(steps):
        new = []
        for i in range(6):
            s = angle[i] * 5 / lim
            row = []
            for k in range(H):
                # summed in the compiled loop's order, so that the bits agree
                z = Win[k, 0] * s + Win[k, 1] * sum(r[n][k] for n in ipsi[i])
                z += Win[k, 2] * r[(i + 3) % 6][k]
                for j in range(H):
                    z += r[i][j] * W[k, j]
                row.append(y[i][k] + dt * (1.0 / tau[k]) * (z - y[i][k]))
            new.append(row)
        y = new
        r = [[rate(y[i][k], k) for k in range(H)] for i in range(6)]
        down = [r[i][0] > 0.5 for i in range(6)]
        back = [0.05 * r[i][1] for i in range(6)]
        fwd = [0.0 if down[i] else 0.05 * r[i][2] for i in range(6)]
        force = 0.0
        for i in range(6):
            f = back[i] - fwd[i]
            if down[i] and (-lim <= angle[i] <= lim or (angle[i] < -lim and f < 0)
                            or (angle[i] > lim and f > 0)):
                force += f
        vx = min(max(vx + dt * force / 3.0, -6.0), 6.0)       # a body of three legs' weight
        cx += dt * vx
        for i in range(6):
            jx[i] += dt * vx
            if down[i]:                                  # the planted foot stays put
                a = math.atan2(fx[i] - jx[i], fy[i])
                omega[i], angle[i] = (a - angle[i]) / dt, a
            else:
                omega[i] = min(max(omega[i] + dt * 0.5 * (fwd[i] - back[i]), -1.0), 1.0)
                angle[i] += dt * omega[i]
                if angle[i] < -lim:
                    angle[i], omega[i] = -lim, 0.0
                if angle[i] > lim:
                    angle[i], omega[i] = lim, 0.0
                fx[i], fy[i] = jx[i] + L * math.sin(angle[i]), L * math.cos(angle[i])
        # stable: the stance feet's polygon holds the centre of mass (feet at their joints)
        left = [place[i] for i in range(3) if down[i]]
        right = [place[i] for i in range(3, 6) if down[i]]
        if not (left and right and max(left) + max(right) > 0 and min(left) + min(right) < 0):
            vx = 0.0
        if any(jx[i] - fx[i] > 20 for i in range(6)):
            vx = 0.0
    return cx / (steps * dt)


def test_stability_rule():
    def st(*legs):
        down = np.zeros(6, bool)
        down[[walker6.LEGS.index(n) for n in legs]] = True
        return walker6.stable(down)
    assert st("L1", "R2", "L3") and st("R1", "L2", "R3") and st(*walker6.LEGS)
    assert st("L1", "L3", "R1", "R3") and st("L1", "L2", "R2", "R3")
    assert not st("L1", "R3") and not st("L2", "R2") and not st("L1", "L2", "L3")
    assert not st("L1", "R1", "R2") and not st("L1", "R2", "R3") and not st()


def test_hand_set_controller_matches_the_equations():
    net = walker6.PROBLEM.network()
    g = np.zeros(net.n_params)
    rng = np.random.default_rng(4)
    for b in net.layout:                               # a hand-set, strongly coupled controller
        if b.name != "tau":
            g[b.offset:b.offset + b.size] = rng.uniform(-8, 8, b.size)
    tau = next(b for b in net.layout if b.name == "tau")
    g[tau.offset:tau.offset + tau.size] = [0.7, 1.5, 3.0, 0.3, 12.0]    # two clipped
    got = walker6.evaluate(net, g[None])[0]
    want = py_walk(net, g, _leg.STEPS)
    assert abs(got - want) < 1e-9 * max(1.0, abs(want)), (got, want)
    G = evornn.optimizer("xnes", net.n_params, seed=0, sigma0=4.0, popsize=40).ask()
    some = walker6.evaluate(net, G)
    best = int(np.argmax(some))
    for p in (0, 1, best):
        assert abs(some[p] - py_walk(net, G[p], _leg.STEPS)) < 1e-9 * max(1.0, abs(some[p]))
    assert some[best] > 0.05 and np.ptp(some) > 0.05  # some walk (best 0.092), and they differ


def test_bad_network_is_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="3 inputs"):
        net = evornn.Network("ctrnn", 1, 5, 3)
        walker6.evaluate(net, net.genome[None])
    with pytest.raises(ValueError, match="single-layer ctrnn"):
        walker6.PROBLEM.network("elman")
    from evornn.cli import main
    # one line and exit code 2, and no run directory
    assert main(["run", "walker6", "--arch", "elman", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "single-layer ctrnn" in err and "elman" in err and len(err.splitlines()) == 1
    assert not any(tmp_path.iterdir())


@pytest.mark.slow   # tens of seconds (pytest --durations)
def test_evolution_finds_a_tripod_gait(tmp_path):
    from evornn.report import plot_traces
    from evornn.run import RunConfig, start
    cfg = RunConfig(problem="walker6", arch="ctrnn", hidden=5, optimizer="xnes", popsize=20,
                    sigma0=4.0, max_evals=BUDGET, seed=1)
    d, s = start(cfg, tmp_path, quiet=True)
    assert s["solved"] and s["velocity"] >= walker6.SOLVED_VELOCITY and s["evaluations"] <= BUDGET
    net = evornn.load(d)
    tr = walker6.trace(net, net.genome)
    assert abs(tr["signals"]["body position"][-1] / _leg.DURATION - s["best_fitness"]) < 1e-12
    # tripods: neighbours alternate (measured -0.435, -0.44, 1.0 with 3.7 feet down on average)
    phases = walker6.gait(tr["stance"])
    assert phases["contralateral"] < -0.3 and phases["ipsilateral"] < -0.3, phases
    assert phases["front_rear"] > 0.5, phases
    files = plot_traces(d)
    assert [f.name for f in files] == ["activity.png", "phase.png", "gait.png", "walk.gif"]
    assert tr["stance"].shape == (_leg.STEPS, 6) and tr["legs"].shape == (_leg.STEPS, 6, 3)


BUDGET = 10_000
