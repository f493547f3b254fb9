"""hopfield-recall: the problem's patterns, probes, fitness, success test, start and options."""
import numpy as np
import pytest

from evornn.hopfield_rules import hebb
from evornn.problem import get_problem
from evornn.problems import hopfield_recall as hr


def test_probes_flip_exactly_the_noise_fraction_of_bits():
    xi = hr.patterns_of(100, 4)
    assert xi.shape == (4, 100) and set(np.unique(xi)) == {-1.0, 1.0}
    np.testing.assert_array_equal(xi, hr.patterns_of(100, 4))         # a fixed seed
    P, which = hr.noisy(xi, 0.1, 3, np.random.default_rng(0))
    assert P.shape == (12, 100) and list(which) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert list(np.sum(P != xi[which], axis=1)) == [10] * 12
    P2, _ = hr.noisy(xi, 0.1, 3, np.random.default_rng(1))
    assert np.any(P2 != P)                                             # fresh flips a seed
    assert hr.tiles(100) == (10, 10) and hr.tiles(30) == (5, 6) and hr.tiles(7) == (2, 4)


def test_hebb_start_solves_five_patterns_and_not_twenty_five():
    prob = hr.make(K=5)
    net = prob.network()
    g = prob.x0(net)
    np.testing.assert_array_equal(g, hebb(net, hr.patterns_of(100, 5)))
    f = prob.evaluate(net, g[None], 3)
    assert f.shape == (1,) and f[0] > 0.99
    ok, info = prob.solved(net, g, f[0])
    assert ok and info["recalled_exactly"] == 1.0 and info["test_probes"] == 50
    many = hr.make(K=25)                       # above 0.138 N: Hebb's crosstalk wins
    net = many.network()
    g = many.x0(net)
    f = many.evaluate(net, g[None], 3)
    ok, info = many.solved(net, g, f[0])
    assert not ok and info["recalled_exactly"] < 0.5 and -1 <= f[0] < 0.9


def test_fitness_is_the_mean_final_overlap():
    prob = hr.make(N=16, K=2, noise=0.125, T=3)
    net = prob.network()
    zero = np.zeros(net.n_params)              # W = 0, theta = 0: every unit goes to +1
    xi = hr.patterns_of(16, 2)
    np.testing.assert_allclose(prob.evaluate(net, zero[None], 0), [xi.sum() / 32], atol=1e-12)
    assert prob.solved(net, zero, 0.0)[0] is False


def test_default_problems_are_registered():
    p = get_problem("hopfield-recall")
    assert (p.arch, p.n_in, p.n_hidden, p.n_out, p.optimizer) == ("hopfield", 100, 100, 100, "cmaes")
    assert p.sigma0 == 0.02 and callable(p.x0)
    assert get_problem("hopfield-recall-20").name == "hopfield-recall-20"


@pytest.mark.parametrize("kw,message", [
    (dict(K=0), "K must be an integer >= 1, got 0"),
    (dict(N=1), "N must be an integer >= 2, got 1"),
    (dict(noise=1.0), r"noise \(the fraction of bits flipped\) must be in \[0, 1\), got 1.0"),
    (dict(noise=-0.1), r"must be in \[0, 1\), got -0.1"),
    (dict(K=2.5), "K must be an integer >= 1, got 2.5"),
])
def test_bad_options_are_one_line(kw, message):
    with pytest.raises(ValueError, match=message) as e:
        hr.make(**kw)
    assert "\n" not in str(e.value)


def test_other_networks_are_refused_in_one_line():
    prob = hr.make(N=16, K=2)
    with pytest.raises(ValueError, match=r"needs a one-layer hopfield network of N=16 units "
                                         r"\(--arch hopfield --hidden 16\), got elman"):
        prob.network(arch="elman")


def test_trace_and_pictures(tmp_path):
    prob = hr.make(N=25, K=3, noise=0.08, T=4)
    net = prob.network()
    g = prob.x0(net)
    tr = prob.trace(net, g)
    r = tr["recall"]
    assert r["probes"].shape == r["relaxed"].shape == (3, 25) and r["energy"].shape == (3, 5)
    assert np.all(np.diff(r["energy"], axis=1) <= 1e-9)               # async binary: descent
    (path,) = prob.pictures(tr, tmp_path)
    assert path.name == "recall.png" and path.stat().st_size > 1000
