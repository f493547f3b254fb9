"""Beer's visually guided agent: ray geometry against an independent computation, and
evolution that catches falling circles."""
import math

import numpy as np
import pytest

import evornn
from evornn.problems import catch


def first_hit(inside, ox, oy, dx, dy, length):
    """The first t in [0, length] where the point o + t d is inside the shape, found by
    sampling every 1e-3 and bisecting; length if no sample is inside."""
    t = np.linspace(0.0, length, int(length * 1000) + 1)
    hit = np.flatnonzero(inside(ox + t * dx, oy + t * dy))
    if len(hit) == 0:
        return length
    if hit[0] == 0:
        return 0.0
    lo, hi = t[hit[0] - 1], t[hit[0]]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if inside(ox + mid * dx, oy + mid * dy):
            hi = mid
        else:
            lo = mid
    return hi


@pytest.mark.parametrize("shape", ["circle", "diamond"])
def test_rays_match_an_independent_computation(shape):
    rng = np.random.default_rng(7)
    R = catch.CIRCLE_RADIUS if shape == "circle" else catch.DIAMOND_RADIUS
    L = catch.RAY_LENGTH
    f = catch.ray_circle if shape == "circle" else catch.ray_diamond
    hits = misses = 0
    for _ in range(120):
        ox, cx = rng.uniform(-40, 40, 2)
        cy = rng.uniform(-5, 260)
        a = math.atan2(cx - ox, cy) + rng.uniform(-0.3, 0.3)     # near the object: hits too
        dx, dy = math.sin(a), math.cos(a)
        if shape == "circle":
            def inside(x, y):
                return (x - cx) ** 2 + (y - cy) ** 2 <= R * R
        else:
            def inside(x, y):
                return np.abs(x - cx) + np.abs(y - cy) <= R
        want = first_hit(inside, ox, 0.0, dx, dy, L)
        got = f(ox, 0.0, dx, dy, cx, cy, R, L)
        if abs(got - want) > 1e-9:
            # a ray grazing the shape can slip between two samples: check it really touches
            # (the contact point lies on the boundary), and not by more than a sample's chord
            px, py = ox + got * dx, got * dy
            edge = math.hypot(px - cx, py - cy) - R if shape == "circle" else \
                abs(px - cx) + abs(py - cy) - R
            assert want == L and got < L and abs(edge) < 1e-9, (got, want)
        hits += got < L
        misses += got == L
    assert hits > 20 and misses > 20                 # both cases were exercised
    # straight up: the bottom of the shape (the circle's lowest point, the diamond's corner)
    assert f(0.0, 0.0, 0.0, 1.0, 0.0, 100.0, R, L) == pytest.approx(100.0 - R, abs=1e-12)
    assert f(0.0, 0.0, 0.0, 1.0, 0.0, 300.0, R, L) == L          # out of reach
    assert f(0.0, 0.0, 0.0, 1.0, 0.0, 5.0, R, L) == 0.0          # from inside


def test_sensor_fan_reads_the_distances():
    x = np.empty(catch.N_RAYS)
    catch.sense(0.0, 0.0, 100.0, catch.CIRCLE, x)
    assert x[3] == pytest.approx(1 - (100 - catch.CIRCLE_RADIUS) / catch.RAY_LENGTH, abs=1e-12)
    assert np.all(x[[0, 1, 5, 6]] == 0.0) and x[2] == x[4] and 0 < x[2] < x[3]
    # Beer's diamond (side 30) is wider than his circle (diameter 30): at the same place it
    # lights five rays to the circle's three, its corner nearer the agent
    d = np.empty(catch.N_RAYS)
    catch.sense(0.0, 0.0, 100.0, catch.DIAMOND, d)
    assert np.count_nonzero(d) == 5 and np.all(d[[0, 6]] == 0.0)
    assert d[3] == pytest.approx(1 - (100 - catch.DIAMOND_RADIUS) / catch.RAY_LENGTH, abs=1e-12)
    catch.sense(0.0, 0.0, 300.0, catch.CIRCLE, x)                # beyond every ray
    assert np.all(x == 0.0)
    # a diamond to the right at the outermost ray's angle is seen by that ray only
    a = catch.RAY_ANGLES[-1]
    catch.sense(0.0, 150 * math.sin(a), 150 * math.cos(a), catch.DIAMOND, x)
    assert x[-1] > 0 and np.all(x[:-2] == 0.0)


def test_bad_network_is_refused():
    prob = {p.name: p for p in catch.PROBLEMS}["catch"]
    net = evornn.Network("ctrnn", 3, 5, 2)
    with pytest.raises(ValueError, match="7 inputs"):
        prob.evaluate(net, net.genome[None])
    with pytest.raises(ValueError, match="single-layer network"):
        prob.network("gru+ctrnn")


def test_evolution_catches_circles(tmp_path):
    from evornn.report import plot_traces
    from evornn.run import RunConfig, start
    cfg = RunConfig(problem="catch", arch="ctrnn", hidden=5, optimizer="xnes", popsize=20,
                    sigma0=4.0, max_evals=BUDGET, seed=1)
    d, s = start(cfg, tmp_path, quiet=True)
    assert s["solved"] and s["circle_distance"] <= catch.CATCH_DISTANCE, s
    assert s["evaluations"] <= BUDGET
    net = evornn.load(d)
    tr = net and {p.name: p for p in catch.PROBLEMS}["catch"].trace(net, net.genome)
    ends = tr["signals"]["object x - agent x"][catch.STEPS - 1::catch.STEPS]
    want = catch.distances(net, net.genome[None], catch.OFFSETS, np.zeros(8, int))[0]
    np.testing.assert_allclose(ends, want, atol=1e-9)            # the picture replays the run
    assert np.abs(ends).mean() <= catch.CATCH_DISTANCE
    files = plot_traces(d)
    assert [f.name for f in files] == ["activity.png", "phase.png", "catch.gif"]
    from PIL import Image
    assert Image.open(d / "catch.gif").n_frames == 8 * 15          # 15 frames a trial


BUDGET = 2000
