"""bam-recall: the problem's pairs, probes from either side, fitness, success test, start."""
import numpy as np
import pytest

from evornn.hopfield_rules import bam_hebb
from evornn.problem import get_problem
from evornn.problems import bam_recall as br


def test_probes_give_one_side_with_the_noise_fraction_flipped():
    X, Y = br.pairs_of(40, 30, 3)
    assert X.shape == (3, 40) and Y.shape == (3, 30)
    P, which = br.probes_of(X, Y, 0.1, 2, np.random.default_rng(0))
    assert P.shape == (12, 70) and list(which) == [0, 0, 1, 1, 2, 2] * 2
    assert not P[:6, 40:].any() and not P[6:, :40].any()       # the other side not given
    assert list(np.sum(P[:6, :40] != X[which[:6]], 1)) == [4] * 6
    assert list(np.sum(P[6:, 40:] != Y[which[6:]], 1)) == [3] * 6


def test_hebb_start_solves_three_pairs_and_not_eight():
    prob = br.make(K=3)
    net = prob.network()
    X, Y = br.pairs_of(40, 30, 3)
    g = prob.x0(net)
    np.testing.assert_array_equal(g, bam_hebb(net, X, Y))
    f = prob.evaluate(net, g[None], 1)
    assert f[0] > 0.99
    ok, info = prob.solved(net, g, f[0])
    assert ok and info["recalled_exactly"] == 1.0 and info["test_probes"] == 60
    many = br.make(K=8)
    net = many.network()
    g = many.x0(net)
    ok, info = many.solved(net, g, 0.0)
    assert not ok and info["recalled_exactly"] < 0.6


def test_the_default_is_not_solved_at_the_start():
    prob = get_problem("bam-recall")
    assert (prob.arch, prob.n_in, prob.arch_options) == ("bam", 70, {"split": 40})
    net = prob.network()
    ok, info = prob.solved(net, prob.x0(net), 1.0)
    assert not ok and 0.9 < info["recalled_exactly"] < 1.0


@pytest.mark.parametrize("kw,message", [
    (dict(K=0), "K must be an integer >= 1, got 0"),
    (dict(p=0), "p must be an integer >= 1, got 0"),
    (dict(noise=1), r"noise \(the fraction of bits flipped\) must be in \[0, 1\), got 1"),
])
def test_bad_options_are_one_line(kw, message):
    with pytest.raises(ValueError, match=message):
        br.make(**kw)


def test_other_networks_are_refused_in_one_line():
    prob = br.make(n=4, p=3, K=2)
    with pytest.raises(ValueError, match=r"needs a one-layer bam network of N=7 units with "
                                         r"split=4 \(--arch bam --hidden 7\)"):
        prob.network(options={"split": 3})
