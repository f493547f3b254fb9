"""The deceptive maze: its sensors read the walls and the goal as documented, a move never
enters a wall, and the compiled episode is the one report draws."""
import math

import numpy as np

from evornn.problem import get_problem
from evornn.problems import maze


def test_the_sensors_at_the_start():
    out = np.empty(maze.N_IN)
    maze.sense(20.0, 25.0, 0.0, maze.WALLS, out)            # facing right
    # rangefinders at -90 (down: the floor 25 away), -45 (the floor, 25 sqrt 2), 0 (the right
    # side 180 away: capped at 100), 45 (the wall at y = 50, 25 sqrt 2), 90 (25), 180 (the left
    # side, 20); the goal, up and a little right, is in the left slice
    want = [0.75, 1 - 25 * math.sqrt(2) / 100, 0.0, 1 - 25 * math.sqrt(2) / 100, 0.75, 0.8,
            0, 1, 0, 0]
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-12)


def test_the_compiled_episode_is_the_drawn_one_and_stays_out_of_the_walls():
    prob = get_problem("maze")
    net = prob.network(seed=0)
    G = net.genome + 2.0 * np.random.default_rng(4).standard_normal((6, net.n_params))
    f, xy = prob.evaluate(net, G, None, measures=True)
    np.testing.assert_array_equal(f, prob.evaluate(net, G, None))
    np.testing.assert_allclose(f, -np.hypot(xy[:, 0] - 25, xy[:, 1] - 175), rtol=1e-15)
    moved = 0
    for g, end in zip(G, xy):
        path = prob.trace(net, g)["path"]
        np.testing.assert_allclose(path[-1], end, rtol=0, atol=1e-9)
        clear = min(maze.wall_distance(x, y, w) for x, y in path for w in maze.WALLS)
        assert clear >= maze.ROBOT_RADIUS
        moved += np.hypot(*(end - (20, 25))) > 20
    assert moved >= 3
    ok, info = prob.solved(net, G[0], -9.5)
    assert ok and info == {"goal_distance": 9.5} and not prob.solved(net, G[0], -10.5)[0]
