"""Optimizer layer: convergence, determinism, checkpoints, failures, bounds, bad input.

Parametrized over ``evornn.optimizers()`` so a newly registered optimizer is tested at
once (add its entries to the target dicts in benchmarks/tasks.py).
"""
import pickle

import numpy as np
import pytest

import evornn
from benchmarks import tasks
from benchmarks.tasks import OPTIONS, RECURRENT, ROSEN, SPHERE, recall_task, rosenbrock, run_until, sphere
from evornn import statefile
from evornn.optim.base import ALL_FAILED_LIMIT

NAMES = sorted(evornn.optimizers())

def make(name, dim=10, seed=0, **kw):
    return tasks.build(name, dim, seed=seed, **kw)


def test_registry():
    d = evornn.optimizers()
    assert {"cmaes", "ga", "pso", "sa", "es", "snes", "xnes", "cosyne"} <= set(d)
    assert all(isinstance(v, str) and len(v) > 10 for v in d.values())
    assert set(SPHERE) == set(ROSEN) == set(RECURRENT) == set(d), "add targets for new optimizers"


def test_default_popsizes():
    assert make("cmaes").popsize == 4 + int(3 * np.log(10)) == 10
    assert make("ga").popsize == 50
    assert make("pso").popsize == 30
    assert make("sa").popsize == 16
    assert make("es").popsize == 50
    X = make("cmaes").ask()
    assert X.shape == (10, 10) and X.dtype == np.float64


@pytest.mark.parametrize("name", NAMES)
def test_sphere(name):
    target, budget = SPHERE[name]
    opt = make(name, seed=1, x0=3 * np.ones(10), **OPTIONS.get(name, {}))
    assert run_until(opt, sphere, target, budget), (opt.evaluations, opt.best[1])
    assert opt.best[1] > target and opt.evaluations <= budget
    assert np.isclose(sphere(opt.best[0][None])[0], opt.best[1])


@pytest.mark.parametrize("name", NAMES)
def test_rosenbrock(name):
    target, budget = ROSEN[name]
    opt = make(name, seed=1, **OPTIONS.get(name, {}))
    assert run_until(opt, rosenbrock, target, budget), (opt.evaluations, opt.best[1])
    assert opt.best[1] > target


@pytest.mark.parametrize("name", NAMES)
def test_recurrent_delayed_recall(name):
    fitness, net = recall_task()
    target, budget = RECURRENT[name]
    opt = make(name, dim=net.n_params, seed=1, **OPTIONS.get(name, {}))
    assert run_until(opt, fitness, target, budget), (opt.evaluations, opt.best[1])
    assert -fitness(opt.best[0][None])[0] < -target      # MSE of the best genome, re-evaluated


def _run(opt, gens, fn=sphere):
    out = []
    for _ in range(gens):
        X = opt.ask()
        out.append(X)
        tasks.tell(opt, X, fn(X))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_sequence(name):
    a = _run(make(name, seed=3), 4)
    np.random.seed(12345)                   # the global RNGs must not matter
    import random
    random.seed(99)
    b = _run(make(name, seed=3), 4)
    c = _run(make(name, seed=4), 4)
    for xa, xb in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
    assert not np.array_equal(a[-1], c[-1])


@pytest.mark.parametrize("name", NAMES)
def test_global_random_state_untouched(name):
    np.random.seed(7)
    expected = np.random.RandomState(7).random_sample(3)
    opt = make(name)
    _run(opt, 2)
    np.testing.assert_array_equal(np.random.random_sample(3), expected)


CODECS = {"pickle": (pickle.dumps, pickle.loads), "checkpoint": (statefile.dumps, statefile.loads)}


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("name", NAMES)
def test_state_dict_roundtrip(name, codec):
    """Through pickle, and through a checkpoint's file (NumPy and JSON, no pickle)."""
    dumps, loads = CODECS[codec]
    kw = dict(x0=np.ones(10), bounds=(-2.0, np.full(10, 2.0)))
    opt = make(name, seed=5, **kw)
    _run(opt, 3, rosenbrock)
    state = loads(dumps(opt.state_dict()))
    ref = _run(opt, 3, rosenbrock)
    fresh = make(name, seed=11, **kw)       # a different seed: the state must override it
    fresh.load_state_dict(state)
    assert fresh.generation == 3 and fresh.evaluations == 3 * opt.popsize
    got = _run(fresh, 3, rosenbrock)
    for r, g in zip(ref, got):
        np.testing.assert_array_equal(r, g)
    assert fresh.best[1] == opt.best[1]
    np.testing.assert_array_equal(fresh.best[0], opt.best[0])
    # and restoring the same object rewinds it too
    opt.load_state_dict(state)
    np.testing.assert_array_equal(opt.ask(), ref[0])


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_between_ask_and_tell(name):
    opt = make(name, seed=5)
    _run(opt, 2)
    X = opt.ask()
    state = statefile.loads(statefile.dumps(opt.state_dict()))
    tasks.tell(opt, X, sphere(X))
    ref = _run(opt, 2)
    fresh = make(name, seed=5)
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.ask(), X)      # the pending population survives
    tasks.tell(fresh, X, sphere(X))
    for r, g in zip(ref, _run(fresh, 2)):
        np.testing.assert_array_equal(r, g)


def test_state_dict_wrong_optimizer():
    with pytest.raises(ValueError, match="state_dict is for"):
        make("ga").load_state_dict(make("pso").state_dict())


@pytest.mark.parametrize("name", NAMES)
def test_failed_individuals(name):
    opt = make(name, seed=2)
    best_seen = -np.inf
    for g in range(5):
        X = opt.ask()
        f = sphere(X)
        f[0], f[1], f[2] = np.nan, np.inf, -np.inf      # +inf is a failure, not a best
        tasks.tell(opt, X, f)
        best_seen = max(best_seen, f[3:].max())
    assert opt.failures == 15
    x, fb = opt.best
    assert np.isfinite(fb) and fb == best_seen
    assert np.isclose(sphere(x[None])[0], fb)
    assert opt.stop() == [] or not any("failed" in r for r in opt.stop())


@pytest.mark.parametrize("name", NAMES)
def test_all_failed_generations_stop(name):
    opt = make(name, seed=2)
    X = opt.ask()
    tasks.tell(opt, X, sphere(X))
    assert opt.best[1] > -np.inf
    for k in range(ALL_FAILED_LIMIT):
        assert not any("failed" in r for r in opt.stop())
        X = opt.ask()
        tasks.tell(opt, X, np.full(len(X), np.nan))
    assert opt.all_failed_generations == 3 and opt.failures == 3 * opt.popsize
    reasons = opt.stop()
    assert any("all individuals failed" in r and "3 generations" in r for r in reasons), reasons
    X = opt.ask()                                        # still usable; a success resets it
    assert np.isfinite(X).all()
    tasks.tell(opt, X, sphere(X))
    assert not any("failed" in r for r in opt.stop())


def test_all_failed_from_the_start():
    for name in NAMES:
        opt = make(name, seed=0)
        for _ in range(3):
            X = opt.ask()
            tasks.tell(opt, X, np.full(len(X), np.inf))
        assert opt.best == (None, -np.inf)
        assert any("all individuals failed" in r for r in opt.stop())
        assert np.isfinite(opt.ask()).all()


@pytest.mark.parametrize("name", NAMES)
def test_bounds_respected(name):
    D = 10
    lo = np.full(D, -1.0)
    hi = np.linspace(0.2, 1.0, D)
    lo[0], hi[1] = -np.inf, np.inf                      # mixed finite / infinite bounds
    opt = make(name, seed=0, x0=np.zeros(D), sigma0=2.0, bounds=(lo, hi))
    for _ in range(15):
        X = opt.ask()
        assert (X >= lo).all() and (X <= hi).all()
        tasks.tell(opt, X, -np.sum((X - 5.0) ** 2, axis=1))    # optimum outside the box
    x, f = opt.best
    assert (x >= lo).all() and (x <= hi).all()
    # quality diversity spreads its budget over its descriptors instead (and novelty search
    # does not select on the fitness at all)
    if not evornn.optim.needs_measures(name):
        assert x[2] > 0.5 * hi[2]                        # pushed towards the upper bound


def test_bounds_scalars_and_default_x0():
    opt = make("pso", bounds=(1.0, 3.0))
    X = opt.ask()
    assert X.min() >= 1.0 and X.max() <= 3.0
    np.testing.assert_array_equal(opt.x0, np.full(10, 2.0))   # default x0: box centre


def test_cmaes_full_or_separable():
    assert make("cmaes", dim=10).diagonal is False
    assert make("cmaes", dim=1001).diagonal is True
    assert make("cmaes", dim=10, diagonal=True).diagonal is True
    assert make("cmaes", dim=1001, diagonal=False, popsize=4).diagonal is False


def test_es_perturbations_from_seeds():
    opt = make("es", seed=0, popsize=6)
    X = opt.ask()
    seeds = opt.seeds
    assert seeds.shape == (3,)
    np.testing.assert_array_equal(opt.population_from_seeds(seeds), X)
    eps = opt.perturbation(seeds[1])
    np.testing.assert_allclose(X[2] - opt.mean, opt.sigma * eps)
    np.testing.assert_allclose(X[3] - opt.mean, -opt.sigma * eps)
    np.testing.assert_array_equal(make("es", seed=9).perturbation(seeds[1]), eps)


@pytest.mark.parametrize("kwargs, match", [
    (dict(popsize=1), r"popsize must be an integer >= 2"),
    (dict(popsize=0), r"popsize must be an integer >= 2"),
    (dict(sigma0=0.0), r"sigma0 must be a positive"),
    (dict(sigma0=-1.0), r"sigma0 must be a positive"),
    (dict(bounds=(1.0, 1.0)), r"lower bound must be < upper bound .* gene 0"),
    (dict(bounds=(np.zeros(10), np.r_[np.ones(9), -1.0])), r"gene 9 has lower 0.0 >= upper -1.0"),
    (dict(bounds=(np.zeros(9), np.ones(9))), r"lower bound must be a scalar or have length 10"),
    (dict(bounds=(0.0, np.ones(3))), r"upper bound must be a scalar or have length 10"),
    (dict(bounds=(0.0,)), r"bounds must be a pair"),
    (dict(x0=np.zeros(3)), r"x0 must be a scalar or have length 10"),
    (dict(x0=5.0, bounds=(-1.0, 1.0)), r"x0 must lie within bounds"),
    (dict(no_such_option=1), r"unknown option\(s\) 'no_such_option'.*valid options: "),
])
@pytest.mark.parametrize("name", NAMES)
def test_bad_input(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(name, **kwargs)


def test_unknown_option_lists_valid_ones():
    with pytest.raises(ValueError, match=r"valid options: .*tournsize"):
        make("ga", tournament=3)
    with pytest.raises(ValueError, match=r"valid options: .*topology"):
        make("pso", topo="ring")


def test_unknown_name():
    with pytest.raises(ValueError, match=r"unknown optimizer 'cmaes2' \(did you mean 'cmaes'\?\); "
                                         r"valid names: " + ", ".join(NAMES)):
        evornn.optimizer("cmaes2", 10)
    with pytest.raises(ValueError, match=r"unknown optimizer 'xyz'; valid names: cmaes"):
        evornn.optimizer("xyz", 10)


def test_pyswarms_logging_left_alone(tmp_path, monkeypatch):
    import logging
    monkeypatch.chdir(tmp_path)
    n = len(logging.getLogger().handlers)
    for topology in ("star", "ring"):
        _run(make("pso", topology=topology), 2)
    assert len(logging.getLogger().handlers) == n
    assert not (tmp_path / "report.log").exists()


def test_option_values_checked():
    with pytest.raises(ValueError, match="popsize must be even"):
        make("es", popsize=7)
    with pytest.raises(ValueError, match="topology must be 'star' or 'ring'"):
        make("pso", topology="wheel")
    with pytest.raises(ValueError, match="crossover='sbx' needs finite bounds"):
        make("ga", crossover="sbx")
    with pytest.raises(ValueError, match="cooling must be in"):
        make("sa", cooling=1.5)


@pytest.mark.parametrize("name", NAMES)
def test_tell_checks_shapes(name):
    opt = make(name)
    with pytest.raises(ValueError, match="call ask\\(\\) first"):
        tasks.tell(opt, np.zeros((opt.popsize, 10)), np.zeros(opt.popsize))
    X = opt.ask()
    np.testing.assert_array_equal(opt.ask(), X)          # ask() is idempotent until tell()
    with pytest.raises(ValueError, match=r"X must have the shape of the last ask\(\)"):
        tasks.tell(opt, X[:-1], sphere(X[:-1]))
    with pytest.raises(ValueError, match=r"X must have the shape"):
        tasks.tell(opt, X[:, :-1], sphere(X))
    with pytest.raises(ValueError, match=f"fitness must have length popsize={opt.popsize}"):
        tasks.tell(opt, X, sphere(X)[:-1])
    tasks.tell(opt, X, sphere(X))                               # the pending population is intact
    assert opt.generation == 1 and opt.evaluations == opt.popsize


def test_other_variants_run():
    """Non-default variants: GA with SBX / comma replacement, ring PSO, SGD ES, SA restarts."""
    for name, kw in (("ga", dict(crossover="sbx", bounds=(-5.0, 5.0), replacement="comma")),
                     ("pso", dict(topology="ring", k=4, vmax=1.0)),
                     ("es", dict(optimizer="sgd", lr=0.5)),
                     ("sa", dict(restart_after=5)),
                     ("cmaes", dict(diagonal=True))):
        opt = make(name, seed=0, x0=np.ones(10), **kw)
        f0 = sphere(opt.x0[None])[0]
        run_until(opt, sphere, 1.0, 3000)
        assert opt.best[1] > f0 / 10, (name, opt.best[1])


@pytest.mark.parametrize("name", NAMES)
def test_max_evaluations_and_generations(name):
    opt = make(name, max_evaluations=5 * make(name).popsize)
    n = 0
    while not opt.stop():
        _run(opt, 1)
        n += 1
    assert n == 5 and opt.stop() == [f"max_evaluations={5 * opt.popsize} reached"]
    opt = make(name, max_generations=2)
    _run(opt, 2)
    assert opt.stop() == ["max_generations=2 reached"]


def test_cmaes_reports_pycma_termination():
    opt = make("cmaes", x0=np.ones(10))
    while not opt.stop() and opt.generation < 1000:
        _run(opt, 1)
    assert opt.stop() == ["cmaes: tolfun"] and opt.best[1] > -1e-10


def rastrigin(X):
    return -(10 * X.shape[1] + np.sum(X ** 2 - 10 * np.cos(2 * np.pi * X), axis=1))


@pytest.mark.parametrize("strategy", ["ipop", "bipop"])
def test_cmaes_restarts_grow_the_population_and_find_better_optima(strategy):
    def best_after(restarts, seed):
        opt = make("cmaes", dim=5, seed=seed, x0=3 * np.ones(5), sigma0=2.0, restarts=restarts,
                   restart_strategy=strategy, cma_options={"tolfun": 1e-8})
        sizes, evals = set(), 0
        while opt.evaluations < 30000 and not opt.stop() and opt.best[1] < -1e-3:
            X = opt.ask()
            sizes.add(len(X))
            tasks.tell(opt, X, rastrigin(X))
            evals += len(X)
        assert opt.evaluations == evals
        return opt.best[1], opt.restarts_done, sizes

    # measured (seeds 0..4): no restarts ends at -4.0 .. -20.6; with 9 restarts IPOP and
    # BIPOP reach the global optimum 0 in 4 and 3 of 5 seeds, the rest at -1 or -2
    plain = [best_after(0, s)[0] for s in range(3)]
    restarted = [best_after(9, s) for s in range(3)]
    assert all(r[1] >= 1 for r in restarted)
    if strategy == "ipop":
        assert max(max(r[2]) for r in restarted) >= 4 * 9     # popsize doubled at least twice
    assert max(plain) < -3.0
    assert sum(r[0] > -1e-3 for r in restarted) >= 2


def test_cmaes_restart_state_round_trip():
    def fresh():
        return make("cmaes", dim=4, seed=3, sigma0=1.0, restarts=5, restart_strategy="bipop",
                    cma_options={"tolfun": 1e-3})
    a = fresh()
    while a.restarts_done < 2:
        X = a.ask()
        a.tell(X, rastrigin(X))
    b = fresh()
    b.load_state_dict(pickle.loads(pickle.dumps(a.state_dict())))
    for _ in range(5):
        Xa, Xb = a.ask(), b.ask()
        np.testing.assert_array_equal(Xa, Xb)
        a.tell(Xa, rastrigin(Xa))
        b.tell(Xb, rastrigin(Xb))
    assert a.popsize == b.popsize and a.restarts_done == b.restarts_done


def test_cmaes_stagnation_restarts_a_search_whose_best_stops_improving_under_noise():
    """A fitness that is only noise drawn afresh each generation: pycma's own criteria do
    not fire in 300 generations; stagnation=20 restarts from generation 40 on (each time
    twice the popsize); a run that keeps improving is not restarted."""
    def run(stagnation, f, generations=300):
        opt = make("cmaes", dim=20, seed=4, sigma0=0.5, restarts=3, stagnation=stagnation)
        first = None
        while opt.generation < generations and opt.restarts_done < 3:
            X = opt.ask()
            tasks.tell(opt, X, f(X, opt.generation))
            if first is None and opt.restarts_done:
                first = opt.generation
        return opt, first

    def plateau(X, gen):
        return np.random.default_rng(gen).normal(0, 1, len(X))
    off, _ = run(None, plateau)
    assert off.restarts_done == 0 and not off.stop() and off.generation == 300
    on, first = run(20, plateau)
    assert first == 40 and on.restarts_done == 3 and on.popsize == 8 * off.popsize
    improving, _ = run(20, lambda X, gen: -np.sum(X ** 2, 1), generations=100)
    assert improving.restarts_done == 0 and improving.best[1] > -1e-3


def test_xnes_restarts_when_sigma_collapses():
    """On a sphere sigma shrinks; below restart_below * sigma0 the search starts again from
    x0 with sigma0, at most `restarts` times, and a checkpoint carries the count."""
    opt = make("xnes", dim=4, seed=2, x0=np.full(4, 3.0), sigma0=1.0, restart_below=0.5,
               restarts=2)
    sigmas = []
    while opt.generation < 400:
        X = opt.ask()
        tasks.tell(opt, X, sphere(X))
        sigmas.append(opt.sigma)
        if opt.restarts_done == 1 and sigmas[-1] == 1.0:
            np.testing.assert_array_equal(opt.mean, np.full(4, 3.0))
    assert opt.restarts_done == 2 and opt.sigma < 0.5            # the third collapse stays
    assert sum(s == 1.0 for s in sigmas) == 2
    b = make("xnes", dim=4, seed=2, x0=np.full(4, 3.0), sigma0=1.0, restart_below=0.5, restarts=2)
    b.load_state_dict(pickle.loads(pickle.dumps(opt.state_dict())))
    assert b.restarts_done == 2
    np.testing.assert_array_equal(b.ask(), opt.ask())
    with pytest.raises(ValueError, match=r"option restart_below must be in \(0, 1\) or None, got 1.5"):
        make("xnes", restart_below=1.5)


def test_xnes_basis_searches_a_subspace_of_the_genomes():
    """With basis A every genome is x0 + A z: a zero row holds its gene at x0, a row of
    -1s ties its gene to minus the sum of others; on a sphere the subspace's optimum is found."""
    A = np.zeros((4, 2))
    A[0, 0] = A[1, 1] = 1.0
    A[2] = [-1.0, -1.0]                               # gene 2 = -(gene 0 + gene 1) + 1
    x0 = np.array([0.0, 0.0, 1.0, 5.0])
    opt = make("xnes", dim=4, seed=3, x0=x0, sigma0=1.0, basis=A)
    for _ in range(150):
        X = opt.ask()
        np.testing.assert_array_equal(X[:, 3], 5.0)
        np.testing.assert_allclose(X[:, 2], 1.0 - X[:, 0] - X[:, 1], atol=1e-12)
        opt.tell(X, sphere(X))
    # min of z0^2 + z1^2 + (1 - z0 - z1)^2 + 25 is at z0 = z1 = 1/3
    np.testing.assert_allclose(opt.mean, [1 / 3, 1 / 3, 1 / 3, 5.0], atol=1e-3)
    plain, none = make("xnes", dim=4, seed=3), make("xnes", dim=4, seed=3, basis=None)
    np.testing.assert_array_equal(plain.ask(), none.ask())
    with pytest.raises(ValueError, match=r"option basis must be None or a \[4, L\] matrix of rank L "
                                         r"\(1 <= L <= 4, finite\), got shape \(4, 2\)"):
        make("xnes", dim=4, basis=np.ones((4, 2)))
