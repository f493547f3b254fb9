"""Every built-in problem, from the registry: its evaluation and success test keep the
contract the run loop relies on (a new problem is tested the day it is added)."""
import numpy as np
import pytest

from evornn.problem import Problem, builtin_problems
from tests.family_cases import one_size

PROBLEMS = sorted(builtin_problems())


@pytest.mark.parametrize("name", PROBLEMS)
def test_problem_contract(name):
    prob = builtin_problems()[name]
    assert isinstance(prob, Problem) and prob.name == name and prob.description
    # the contract, not the size (a one-size family's units are its inputs: kept)
    net = prob.network(n_hidden=prob.n_hidden if one_size(prob.arch) else min(prob.n_hidden, 30),
                       seed=0)
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


GRADIENT_PROBLEMS = sorted(n for n, p in builtin_problems().items() if p.batch is not None)


def test_the_sequence_problems_have_a_gradient_form():
    assert {"adding", "parity", "reber", "reber-plain", "anbncn", "copy", "copy-10", "repeat-copy",
            "associative-recall", "reverse", "copy-long", "dyck2", "reverse-seq"} <= set(GRADIENT_PROBLEMS)


@pytest.mark.parametrize("name", GRADIENT_PROBLEMS)
def test_batch_hook_is_the_fitness_in_gradient_form(name):
    """Minus the weighted squared error (or the problem's own loss) on batch(seed) is the
    problem's fitness on that seed, so that gradient training minimizes exactly what evolution
    maximizes."""
    import evornn
    prob = builtin_problems()[name]
    net = prob.network(seed=0)
    rng = np.random.default_rng(1)
    G = net.genome + 0.3 * rng.standard_normal((3, net.n_params))
    X, Y, W = prob.batch((5, 2))
    out = evornn.population_forward(net, G, X.astype(np.float32)).astype(np.float64)
    if prob.loss is not None:             # the problem's own loss (ctc-symbols: torch's CTC)
        torch = pytest.importorskip("torch")
        assert X.ndim == 3 and X.shape[2] == prob.n_in
        Yt, Wt = torch.from_numpy(Y), torch.from_numpy(W)
        loss = np.array([float(prob.loss(torch.from_numpy(o), Yt, Wt)) for o in out])
        np.testing.assert_allclose(-loss, prob.evaluate(net, G, (5, 2)), rtol=1e-6, atol=1e-12)
        return
    assert X.ndim == Y.ndim == 3 and W.shape == Y.shape and Y.shape[2] == prob.n_out
    assert X.shape[:2] == Y.shape[:2] and X.shape[2] == prob.n_in
    assert np.all(W >= 0) and abs(W.sum() - 1.0) < 1e-12
    loss = (W * (out - Y) ** 2).sum(axis=(1, 2, 3))
    # rtol: a problem may evaluate in float64 (mso-gen) where this runs float32 kernels
    np.testing.assert_allclose(-loss, prob.evaluate(net, G, (5, 2)), rtol=1e-6, atol=1e-12)


def test_mso_gen_problem_k_builds_msok_and_k2_is_mso_gen():
    from evornn.problems import mso, mso_gen
    assert mso_gen.problem(2).evaluate is mso_gen.PROBLEM.evaluate is mso_gen.evaluate
    p3 = mso_gen.problem(3)
    X, Y, _ = p3.batch(0)
    y = mso_gen.SCALE * mso.series(301, 3)
    assert p3.name == "mso3-gen" and np.array_equal(X[0, :, 0], y[:-1])
    assert np.array_equal(Y[0, :, 0], y[1:]) and not np.array_equal(X, mso_gen.data(2)[0])
    net = p3.network("elman", 3, seed=0)
    G = np.zeros((1, net.n_params))               # outputs 0: the fitness is minus mean y^2
    assert p3.evaluate(net, G)[0] == pytest.approx(-np.mean(y[101:] ** 2))
    with pytest.raises(ValueError, match="option k=6 must be one of 1..5"):
        mso_gen.problem(6)
