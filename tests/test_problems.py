"""Every built-in problem, from the registry: its evaluation and success test keep the
contract the run loop relies on (a new problem is tested the day it is added)."""
import numpy as np
import pytest

from evornn.problem import Problem, builtin_problems

PROBLEMS = sorted(builtin_problems())


@pytest.mark.parametrize("name", PROBLEMS)
def test_problem_contract(name):
    prob = builtin_problems()[name]
    assert isinstance(prob, Problem) and prob.name == name and prob.description
    net = prob.network(n_hidden=min(prob.n_hidden, 30), seed=0)   # the contract, not the size
    assert net.n_in == prob.n_in          # (reservoir problems output features, not n_out)
    rng = np.random.default_rng(0)
    lo, hi = net.bounds()
    G = np.clip(net.genome + 0.3 * rng.standard_normal((3, net.n_params)), lo, hi)
    f = prob.evaluate(net, G, (0, 1))
    assert isinstance(f, np.ndarray) and f.shape == (3,) and f.dtype == np.float64
    assert np.all(np.isfinite(f))
    np.testing.assert_array_equal(prob.evaluate(net, G, (0, 1)), f)   # same seed, same fitness
    ok, info = prob.solved(net, G[0], float(f[0]))
    assert isinstance(ok, bool) and isinstance(info, dict)
