"""CoSyNE's generation step: survivors permuted within subpopulations, offspring of the top
quarter below them, genes kept within the weight limit; its option checks."""
import numpy as np
import pytest

import evornn


def _told(opt, rng):
    X = opt.ask()
    f = rng.standard_normal(len(X))
    opt.tell(X, f)
    return X[np.argsort(-f, kind="stable")]


def test_survivors_are_permuted_parents_and_offspring_fill_the_rest():
    opt = evornn.optimizer("cosyne", 6, seed=3, popsize=40, sigma0=1.0)
    ranked = _told(opt, np.random.default_rng(0))
    pop = opt.ask()
    # the top quarter (10 rows) survives; each column of it is a permutation of theirs
    np.testing.assert_array_equal(np.sort(pop[:10], axis=0), np.sort(ranked[:10], axis=0))
    assert not np.array_equal(pop[:10], ranked[:10])          # "all": rows recombined
    # the 30 rows below are new: crossover of two parents, then Cauchy mutation of ~60%
    assert not np.isin(pop[10:], ranked[10:]).any()
    from_parents = np.isin(pop[10:], ranked[:10])
    assert 0.5 < 1 - from_parents.mean() < 0.7               # mutated: 0.57 of 180 genes here


def test_probabilistic_marking_keeps_the_best_network_whole():
    opt = evornn.optimizer("cosyne", 6, seed=3, popsize=40, permute="probabilistic")
    ranked = _told(opt, np.random.default_rng(1))
    np.testing.assert_array_equal(opt.ask()[0], ranked[0])   # marking probability 0 at f_max


def test_weight_limit_holds_the_cauchy_walk():
    rng = np.random.default_rng(2)
    widest = {}
    for limit in (None, np.inf):
        opt = evornn.optimizer("cosyne", 8, seed=0, popsize=20, sigma0=0.5, x0=1.0,
                               weight_limit=limit)
        for _ in range(300):                                  # selection holds nothing
            _told(opt, rng)
        widest[limit] = np.abs(opt.ask() - 1.0).max()
    assert widest[None] <= 10 * 0.5                           # default: x0 +- 10 sigma0
    assert widest[np.inf] > 10 * 0.5                          # without it the weights drift


@pytest.mark.parametrize("kw, match", [
    ({"weight_limit": 0}, "weight_limit must be None, > 0 or inf"),
    ({"permute": "some"}, "permute must be 'all', 'probabilistic' or 'none'"),
    ({"mutation_rate": 1.5}, "mutation_rate must be in"),
    ({"offspring": 40}, "offspring must be None or an integer in"),
])
def test_bad_options(kw, match):
    with pytest.raises(ValueError, match=match):
        evornn.optimizer("cosyne", 6, popsize=40, **kw)
