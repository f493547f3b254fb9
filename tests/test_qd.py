"""Quality diversity: map-elites and novelty search on a problem's behaviour descriptors, their
archives in the run directory, and the measures of walker6 and catch."""
import json
import re
from dataclasses import asdict

import numpy as np
import pytest

import evornn
from evornn import run
from evornn.problem import evaluate_measures, get_problem
from evornn.run import CONFIG, RunConfig, new_run_dir, problem_optimizer, read_archive, start
from tests.archive_cases import assert_elite_loads, assert_resumes_to

# a sphere whose behaviour is the first two genes squashed into (-1, 1), and one gene unbounded
TOY = '''
import numpy as np
from evornn.problem import Problem

def evaluate(net, G, seed=None, measures=False):
    f = -np.sum((G - 0.3) ** 2, axis=1)
    if not measures:
        return f
    return f, np.column_stack([np.tanh(G[:, 0]), np.tanh(G[:, 1]), G[:, 2]])

PROBLEM = Problem("toy-qd", "a sphere, its first two genes as behaviour", n_in=1, n_out=1,
                  arch="elman", n_hidden=2, evaluate=evaluate, solved=lambda net, g, f: (False, {}),
                  measures={"a": (-1.0, 1.0), "b": (-1.0, 1.0), "free": None},
                  descriptors=("a", "b"))
'''
M2 = {"a": (-1.0, 1.0), "b": (-1.0, 1.0)}


@pytest.fixture
def toy(tmp_path):
    path = tmp_path / "toy_qd.py"
    path.write_text(TOY)
    return str(path)


def _drive(opt, gens, fn):
    seen = []
    for _ in range(gens):
        X = opt.ask()
        f, v = fn(X)
        opt.tell(X, f, v)
        seen.append((X, f, v))
    return seen


def _toy_fn(X):
    return -np.sum((X - 0.3) ** 2, axis=1), np.tanh(X[:, :2])


def test_map_elites_keeps_the_fittest_genome_of_every_cell_it_reached():
    opt = evornn.optimizer("map-elites", 6, seed=3, popsize=16, sigma0=1.0, measures=M2, cells=5)
    seen = _drive(opt, 30, _toy_fn)
    X = np.concatenate([s[0] for s in seen])
    f = np.concatenate([s[1] for s in seen])
    cells = opt.cell_of(np.tanh(X[:, :2]))
    best = {}
    for c, fi, x in zip(map(tuple, cells), f, X):
        if c not in best or fi > best[c][0]:
            best[c] = (fi, x)
    a = opt.archive_arrays()
    assert len(a["fitness"]) == len(best) >= 20            # of the 25 cells
    for c, fi, x in zip(map(tuple, a["cells"]), a["fitness"], a["solution"]):
        assert fi == best[c][0]
        np.testing.assert_array_equal(x, best[c][1])
    h = a["history"]
    assert h.shape == (30, 3) and h[-1, 0] == 480 and h[-1, 1] == len(best)
    assert h[-1, 2] == pytest.approx(a["fitness"].sum())
    assert opt.coverage == len(best) / 25


def test_novelty_is_the_mean_distance_to_the_k_nearest_behaviours():
    opt = evornn.optimizer("novelty", 3, seed=0, popsize=4, measures=M2, k=2)
    B = np.array([[0.0, 0.0], [0.3, 0.4], [1.0, 0.0], [0.0, 2.0]])
    # neighbours of (0, 0): 0.5 and 1; of (0.3, 0.4): 0.5 and hypot(0.7, 0.4); ...
    expected = [0.75, (0.5 + np.hypot(0.7, 0.4)) / 2, (1 + np.hypot(0.7, 0.4)) / 2,
                (2 + np.hypot(0.3, 1.6)) / 2]
    np.testing.assert_allclose(opt.novelty(B), expected)


def test_novelty_search_spreads_where_the_fitness_pulls_to_one_corner():
    """Fitness rewards behaviour near (-1, -1): selection on it (fitness_weight=1) crowds
    there; pure novelty spreads over the behaviour space (measured: cells of a 10 x 10 grid
    reached by the archive, seed 0)."""
    def fn(X):
        b = np.tanh(X[:, :2])
        return -np.sum((b + 1) ** 2, axis=1), b

    def spread(weight):
        opt = evornn.optimizer("novelty", 4, seed=0, popsize=20, sigma0=0.3, measures=M2,
                               fitness_weight=weight)
        _drive(opt, 40, fn)
        m = opt.archive_arrays()["measures"]
        return len({tuple(c) for c in np.floor((m + 1) * 5).clip(0, 9).astype(int)})
    novel, greedy = spread(0.0), spread(1.0)
    assert novel >= 60 and novel >= 2 * greedy, (novel, greedy)


def test_a_run_keeps_its_archive_resumes_to_the_same_one_and_loads_any_elite(toy, tmp_path):
    cfg = RunConfig(problem=toy, arch="elman", hidden=2, optimizer="map-elites", popsize=10,
                    sigma0=1.0, max_evals=120, seed=4, options={"cells": 6}, target=-5.0)
    d, summary = start(cfg, root=tmp_path / "a", quiet=True)
    whole = read_archive(d)
    # solved at once, and still filling its archive to the budget
    assert summary["solved"] and summary["stop_reason"] == "budget"
    assert summary["evaluations"] == 120 and whole["dims"].tolist() == [6, 6]
    assert list(whole["descriptors"]) == ["a", "b"]           # the problem's default
    assert_resumes_to(cfg, tmp_path / "b", whole, stop_after=5)
    assert_elite_loads(d, whole, int(np.argmin(whole["fitness"])))
    np.testing.assert_array_equal(evornn.load(d, cell=0).genome, whole["solution"][0])
    empty = next(c for c in np.ndindex(6, 6) if not (whole["cells"] == c).all(axis=1).any())
    with pytest.raises(ValueError, match=re.escape(f"cell={empty} holds no elite; "
                                                   f"{len(whole['fitness'])} of the 36 cells do")):
        evornn.load(d, cell=empty)
    with pytest.raises(ValueError, match=r"give 2 integer coordinates \(a grid of 6 x 6 over a, b\)"):
        evornn.load(d, cell=(1, 2, 3))


def test_a_novelty_run_resumes_to_the_same_archive(toy, tmp_path):
    cfg = RunConfig(problem=toy, arch="elman", hidden=2, optimizer="novelty", popsize=8,
                    sigma0=1.0, max_evals=64, seed=2)
    d, _ = start(cfg, root=tmp_path / "a", quiet=True)
    r = new_run_dir(tmp_path / "b", cfg)
    (r / CONFIG).write_text(json.dumps(asdict(cfg)))
    run.run_loop(r, quiet=True, stop_after=3)
    run.run_loop(r, quiet=True)
    a, b = read_archive(d), read_archive(r)
    assert len(a["fitness"]) > 8
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    with pytest.raises(ValueError, match=r"this archive has no grid; give the elite's number"):
        evornn.load(d, cell=(0, 0))
    assert (tmp_path / "a").exists() and (d / run.ARCHIVE).exists()


@pytest.mark.parametrize("options, message", [
    ({"descriptors": ("a", "c")}, r"option descriptors names 'c', which is not one of the "
                                  r"problem's measures \(a, b, free\)"),
    ({"descriptors": ("a", "free")}, r"map-elites needs a finite range for each descriptor, and "
                                     r"measure 'free' has none"),
    ({"cells": (3, 4, 5)}, r"option cells has 3 numbers for 2 descriptors \(a, b\); give one "
                           r"number or 2"),
    ({"cells": 0}, r"option cells must be None, an integer >= 1 or a list of them, got 0"),
    ({"variation": "sbx"}, r"option variation must be 'iso_line' or 'gaussian', got 'sbx'"),
])
def test_bad_options_are_named_in_one_line(toy, options, message):
    prob = get_problem(toy)
    net = prob.network()
    with pytest.raises(ValueError, match=message):
        problem_optimizer(prob, net, "map-elites", 0, options=options)


def test_walker6_measures_match_its_recorded_walk():
    prob = get_problem("walker6")
    net = prob.network()
    opt = problem_optimizer(prob, net, "map-elites", 0)
    assert opt.descriptors == ("duty_L1", "duty_L2", "duty_R1", "duty_R2")
    assert opt.dims == [8] * 4 and prob.objectives == ("fitness", "economy")
    from evornn.problems import walker6
    G = np.random.default_rng(5).normal(0, 4, (6, net.n_params))
    f, v = evaluate_measures(prob, net, G, None)
    np.testing.assert_array_equal(f, prob.evaluate(net, G, None))     # the fitness path's bits
    np.testing.assert_array_equal(v[:, 6], f)                          # speed is the fitness
    np.testing.assert_array_equal(v[:, 8], -v[:, 7])
    walked = 0
    for g, row in zip(G, v):
        rec = walker6.run(net, g)
        duty = (rec["legs"][:, :, 4] > 0.5).mean(axis=0)
        energy = (rec["rates"][:, :, :3] ** 2).sum(axis=2).mean()
        np.testing.assert_allclose(row[:6], duty, rtol=0, atol=1e-12)
        np.testing.assert_allclose(row[7], energy, rtol=1e-12)
        walked += 0 < duty.mean() < 1
        assert duty[0] == duty[2] and duty[3] == duty[5]     # front and rear legs step alike
    assert walked >= 2                                  # some of them lift and plant their feet


def test_catch_measures_the_final_offset_and_speed():
    for name in ("catch", "catch-avoid"):
        prob = get_problem(name)
        net = prob.network()
        G = np.random.default_rng(1).normal(0, 4, (5, net.n_params))
        f, v = evaluate_measures(prob, net, G, None)
        np.testing.assert_array_equal(f, prob.evaluate(net, G, None))
        if name == "catch":                 # fitness = 1 - mean capped offset / 50
            assert list(prob.measures) == ["offset", "velocity"]
            np.testing.assert_allclose(f, 1 - v[:, 0] / 50, rtol=1e-12)
        else:                               # circles caught, diamonds avoided
            assert list(prob.measures) == ["circle_offset", "diamond_offset", "velocity"]
            np.testing.assert_allclose(f, (1 - v[:, 0] / 50 + v[:, 1] / 50) / 2, rtol=1e-12)
        assert (v[:, -1] >= 0).all() and (v[:, -1] <= 5).all() and v[:, -1].max() > 0


def test_eval_cell_replays_an_archived_elite_and_refuses_a_cell_it_cannot(toy, tmp_path, capsys):
    from evornn import cli
    cfg = RunConfig(problem=toy, arch="elman", hidden=2, optimizer="map-elites", popsize=10,
                    sigma0=1.0, max_evals=60, seed=4, options={"cells": 6})
    d, _ = start(cfg, root=tmp_path / "a", quiet=True)
    a = read_archive(d)
    i = int(np.argmax(a["fitness"]))
    cell = ",".join(str(int(c)) for c in a["cells"][i])
    assert cli.main(["eval", str(d), "--cell", cell]) == 1          # replayed, not solved
    out = capsys.readouterr().out
    assert f"the elite in cell ({cell.replace(',', ', ')}) of {d} has fitness {a['fitness'][i]:.6g}" in out
    assert cli.main(["eval", str(d), "--cell", "2"]) == 1
    assert f"archived elite 2 of {d} has fitness {a['fitness'][2]:.6g}" in capsys.readouterr().out
    empty = next(c for c in np.ndindex(6, 6) if not (a["cells"] == c).all(axis=1).any())
    n = len(a["fitness"])
    for arg, message in [(",".join(map(str, empty)), f"cell={empty} holds no elite; {n} of the 36 cells do"),
                         ("6,0", "cell=(6, 0) is outside the grid of 6 x 6 over a, b (the coordinates "
                                 "run from 0 to 5, 5)"),
                         (str(n), f"cell={n}: the archive holds elites 0 .. {n - 1}"),
                         ("a,b", "--cell 'a,b': give grid coordinates I,J")]:
        assert cli.main(["eval", str(d), "--cell", arg]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}") and err.count("\n") == 1, err
    cfg = RunConfig(problem=toy, arch="elman", hidden=2, optimizer="xnes", popsize=10,
                    sigma0=1.0, max_evals=20, seed=4)
    plain, _ = start(cfg, root=tmp_path / "b", quiet=True)
    assert cli.main(["eval", str(plain), "--cell", "0,0"]) == 2
    assert "holds no archive.npz: only map-elites and novelty runs keep an archive" in capsys.readouterr().err
