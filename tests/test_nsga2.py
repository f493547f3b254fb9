"""nsga2: NSGA-II on a problem's objectives; the run keeps its front (front.npz), report
draws it, evornn.load(run_dir, front_index=k) loads any member."""
import json
from dataclasses import asdict

import numpy as np
import pytest

import evornn
from evornn import cli
from evornn.optim.nsga2 import dominates
from evornn.problem import get_problem
from evornn.run import CONFIG, FRONT, RunConfig, new_run_dir, problem_optimizer, read_front, run_loop, start

TWO_WELLS = '''
import numpy as np
from evornn.problem import Problem

def evaluate(net, G, seed=None, measures=False):
    # two wells, at x0 = 0 and x0 = 2: the Pareto set is x0 in [0, 2], every other gene 0
    f = -np.sum(G ** 2, axis=1)
    if not measures:
        return f
    g = f + 4 * G[:, 0] - 4
    return f, np.column_stack([g, G[:, 0]])

PROBLEM = Problem("two-wells", "two wells", n_in=1, n_out=1, arch="elman", n_hidden=1,
                  evaluate=evaluate, solved=lambda net, g, f: (False, {}),
                  measures={"other": None, "x0": None}, objectives=("fitness", "other"))
'''


@pytest.fixture
def two_wells(tmp_path):
    path = tmp_path / "two_wells.py"
    path.write_text(TWO_WELLS)
    return str(path)


def two_wells_objectives(G):
    f = -np.sum(G ** 2, axis=1)
    return f, np.column_stack([f + 4 * G[:, 0] - 4, G[:, 0]])


def test_the_front_spreads_along_the_true_pareto_front():
    """f1 = -|x|^2, f2 = -|x - 2 e0|^2: the true front is f2 = -(2 - sqrt(-f1))^2."""
    opt = evornn.optimizer("nsga2", 4, seed=0, popsize=40, sigma0=1.0,
                           measures={"other": None, "x0": None}, objectives=("fitness", "other"))
    for _ in range(60):
        X = opt.ask()
        f, v = two_wells_objectives(X)
        opt.tell(X, f, v)
    G, F = opt.front()
    assert opt.objective_names == ("fitness", "other") and len(G) >= 20
    assert not any(dominates(F[[i]], F).any() for i in range(len(F)))
    gap = F[:, 1] + (2 - np.sqrt(-F[:, 0])) ** 2          # 0 on the true front
    assert np.abs(gap).max() < 0.05, np.abs(gap).max()
    assert G[:, 0].min() < 0.1 and G[:, 0].max() > 1.9    # both ends reached
    assert np.all(np.diff(F[:, 0]) <= 0)                  # best first objective first


def test_bad_objectives_are_named_in_one_line():
    with pytest.raises(ValueError) as e:
        evornn.optimizer("nsga2", 3, measures={"speed": None}, objectives="fitness,sped")
    assert str(e.value) == ("option objectives names 'sped'; allowed: fitness, speed ('fitness' "
                            "and the problem's measures)")
    with pytest.raises(ValueError, match="names an objective twice: fitness, fitness"):
        evornn.optimizer("nsga2", 3, measures={"a": None}, objectives=("fitness", "fitness"))
    opt = evornn.optimizer("nsga2", 3, measures={"a": None, "b": None})
    assert opt.objective_names == ("fitness", "a", "b")   # none given: all of them


def test_a_run_refuses_a_problem_without_objectives():
    prob = get_problem("double-pole")
    with pytest.raises(ValueError, match=r"^--optimizer nsga2 searches on measures beside the "
                                         r"fitness .* problem 'double-pole' declares none; "
                                         r"problems that do: .*dpnv, .*walker"):
        problem_optimizer(prob, prob.network(), "nsga2", 0)


def test_a_run_keeps_its_front_and_resumes_to_the_same_one(two_wells, tmp_path, capsys):
    cfg = RunConfig(problem=two_wells, arch="elman", hidden=1, optimizer="nsga2", popsize=12,
                    sigma0=1.0, max_evals=120, seed=3, target=-1.0)
    d, summary = start(cfg, root=tmp_path / "a", quiet=True)
    # solved in the first generation (x0 = 0), the run spends its budget on the front
    assert summary["solved"] and summary["evaluations"] == 120
    assert summary["stop_reason"] == "budget"
    G, F, names = read_front(d)
    assert names == ("fitness", "other") and summary["front_size"] == len(G) >= 2
    f, v = two_wells_objectives(G)
    np.testing.assert_array_equal(F, np.column_stack([f, v[:, 0]]))
    assert not any(dominates(F[[i]], F).any() for i in range(len(F)))
    # interrupted after 4 generations and resumed: the same front, bit for bit
    d2 = new_run_dir(tmp_path / "b", cfg)
    (d2 / CONFIG).write_text(json.dumps(asdict(cfg)))
    run_loop(d2, quiet=True, stop_after=4)
    run_loop(d2, quiet=True)
    assert (d2 / FRONT).read_bytes() == (d / FRONT).read_bytes()
    # any member loads as a network; a wrong index is named
    k = len(G) - 1
    np.testing.assert_array_equal(evornn.load(d, front_index=k).genome, G[k])
    with pytest.raises(ValueError, match=rf"front_index must be an integer in \[0, {len(G)}\): "
                                         rf"the front of .* has {len(G)} members, got {len(G)}"):
        evornn.load(d, front_index=len(G))
    # report draws it and names its extremes
    assert cli.main(["report", str(d)]) == 0
    out = capsys.readouterr().out
    assert (d / "front.png").exists() and f"front: {len(G)} members; best fitness: member 0" in out


def test_a_run_of_another_optimizer_keeps_no_front(two_wells, tmp_path):
    cfg = RunConfig(problem=two_wells, arch="elman", hidden=1, optimizer="snes", popsize=4,
                    sigma0=1.0, max_evals=8, seed=0)
    d, _ = start(cfg, root=tmp_path, quiet=True)
    with pytest.raises(ValueError, match="holds no front.npz: only runs of a multi-objective "
                                         r"optimizer \(--optimizer nsga2\) keep a front"):
        evornn.load(d, front_index=0)


def test_walker_runs_distance_against_economy(tmp_path):
    cfg = RunConfig(problem="walker", arch="ctrnn", hidden=5, optimizer="nsga2", popsize=8,
                    sigma0=4.0, max_evals=24, seed=1)
    d, _ = start(cfg, root=tmp_path, quiet=True)
    G, F, names = read_front(d)
    assert names == ("fitness", "economy")
    prob = get_problem("walker")
    net = evornn.load(d, front_index=0)
    f, v = prob.evaluate(net, G, None, measures=True)
    np.testing.assert_array_equal(F, np.column_stack([f, v[:, 1]]))
    assert (F[:, 1] <= 0).all() and (F[:, 1] >= -3).all()


def test_the_front_holds_each_objective_vector_once():
    opt = evornn.optimizer("nsga2", 2, seed=0, popsize=8, measures={"a": None})
    X = opt.ask()
    X[:] = X[1]                                   # a population of one genome's copies
    opt.tell(X, -np.sum(X ** 2, axis=1), X[:, :1])
    G, F = opt.front()
    assert (opt._rank == 0).sum() == 8 and len(G) == 1
    np.testing.assert_array_equal(G[0], X[1])
