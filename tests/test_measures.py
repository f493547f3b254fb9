"""The measures contract: problems report per-genome figures beside the fitness, and an
optimizer that searches on them (behaviour descriptors, objectives) is told them."""
import json
from dataclasses import asdict

import numpy as np
import pytest

from evornn.optim import base
from evornn.problem import Problem, evaluate_measures, get_problem
from evornn.run import CONFIG, RunConfig, new_run_dir, problem_measures, run_loop, start

MEASURED = '''
import numpy as np
from evornn.problem import Problem

def evaluate(net, G, seed=None, measures=False):
    f = -np.sum(G ** 2, axis=1)
    if not measures:
        return f
    return f, np.column_stack([np.tanh(G[:, 0]), G.mean(axis=1)])

PROBLEM = Problem("measured", "a sphere with two measures", n_in=1, n_out=1, arch="elman",
                  n_hidden=2, evaluate=evaluate, solved=lambda net, g, f: (False, {}),
                  measures={"first": (-1.0, 1.0), "mean": None}, descriptors=("first",),
                  objectives=("fitness", "mean"))
'''


class Recorder(base.Optimizer):
    """Random search around x0 that keeps what it is told (a test double of a QD method)."""
    name = "test-recorder"
    description = "records the measures it is told"
    needs_measures = True
    declared_options = {"descriptors": base.Option((), "measures used as descriptors", None)}
    told: list = []

    def _ask(self):
        return self._rng.normal(0, self.sigma0, (self.popsize, self.dim))

    def _tell(self, X, f, failed):
        Recorder.told.append((X.copy(), f.copy(), self._values.copy(), self.options["descriptors"]))


@pytest.fixture
def recorder():
    base.register(Recorder)
    Recorder.told = []
    yield Recorder
    del base._REGISTRY[Recorder.name]


@pytest.fixture
def measured(tmp_path):
    path = tmp_path / "measured.py"
    path.write_text(MEASURED)
    return get_problem(str(path)), str(path)


def test_the_run_loop_tells_the_measures_in_the_problems_order(recorder, measured, tmp_path):
    prob, path = measured
    cfg = RunConfig(problem=path, arch="elman", hidden=2, optimizer=Recorder.name, popsize=6,
                    sigma0=0.5, max_evals=18, seed=1)
    _, summary = start(cfg, root=tmp_path / "runs", quiet=True)
    assert summary["evaluations"] == 18 and len(Recorder.told) == 3
    for X, f, v, descriptors in Recorder.told:
        np.testing.assert_array_equal(f, -np.sum(X ** 2, axis=1))
        np.testing.assert_array_equal(v[:, 0], np.tanh(X[:, 0]))
        np.testing.assert_array_equal(v[:, 1], X.mean(axis=1))
        assert descriptors == ("first",)               # the problem's default descriptors


def test_a_run_resumed_tells_the_same_measures(recorder, measured, tmp_path):
    prob, path = measured
    cfg = RunConfig(problem=path, arch="elman", hidden=2, optimizer=Recorder.name, popsize=4,
                    sigma0=0.5, max_evals=16, seed=2)
    start(cfg, root=tmp_path / "a", quiet=True)
    whole = [v for _, _, v, _ in Recorder.told]
    Recorder.told = []
    d = new_run_dir(tmp_path, cfg)
    (d / CONFIG).write_text(json.dumps(asdict(cfg)))
    run_loop(d, quiet=True, stop_after=2)
    run_loop(d, quiet=True)
    # the recorder keeps no state of its own beyond the base's: the values depend on X only
    assert len(Recorder.told) == len(whole) == 4
    for (_, _, v, _), w in zip(Recorder.told, whole):
        np.testing.assert_array_equal(v, w)


def test_an_optimizer_on_measures_refuses_a_problem_without_them(recorder):
    with pytest.raises(ValueError, match=r"--optimizer test-recorder searches on measures beside "
                       r"the fitness .* problem 'double-pole' declares none; problems that do: "
                       r".*dpnv.*walker"):
        problem_measures(get_problem("double-pole"), Recorder.name)


def test_tell_checks_the_values_shape_and_other_optimizers_take_none(recorder):
    opt = base.optimizer(Recorder.name, 3, popsize=4, measures={"a": None, "b": None})
    X = opt.ask()
    with pytest.raises(ValueError, match=r"told the values of its 2 measures \(a, b\) for each "
                                         r"of the 4 genomes: shape \(4, 2\), got \(4, 3\)"):
        opt.tell(X, np.zeros(4), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="searches on a problem's measures; give measures="):
        base.optimizer(Recorder.name, 3, popsize=4)
    with pytest.raises(ValueError, match="'snes' searches on the fitness alone; it takes no "
                                         "measures"):
        base.optimizer("snes", 3, measures={"a": None})
    snes = base.optimizer("snes", 3, popsize=4)
    with pytest.raises(ValueError, match="'snes' takes no measures' values"):
        snes.tell(snes.ask(), np.zeros(4), np.zeros((4, 1)))


def test_evaluate_measures_names_a_wrong_shape(measured):
    prob, _ = measured
    net = prob.network()
    G = np.random.default_rng(0).normal(size=(5, net.n_params))
    f, v = evaluate_measures(prob, net, G, None)
    assert f.shape == (5,) and v.shape == (5, 2)
    bad = Problem("bad", "", 1, 1, evaluate=lambda net, G, seed, measures=False: (
        np.zeros(len(G)), np.zeros((len(G), 1))), solved=None, measures={"a": None, "b": None})
    with pytest.raises(ValueError, match=r"problem 'bad': evaluate\(\.\.\., measures=True\) "
                                         r"returned fitness \(5,\) and values \(5, 1\); expected "
                                         r"\(5,\) and \(5, 2\)"):
        evaluate_measures(bad, net, G, None)


@pytest.mark.parametrize("kwargs, message", [
    ({"measures": {"fitness": None}}, "measure names are non-empty strings other than 'fitness'"),
    ({"measures": {"a": (1.0, 0.0)}}, r"measure 'a' has range \(1.0, 0.0\); allowed: None"),
    ({"measures": {"a": None}, "descriptors": ("b",)},
     r"descriptors names 'b', which is not one of its measures \(a\)"),
    ({"objectives": ("speed",)},
     r"objectives names 'speed', which is not one of its measures \(fitness\)"),
])
def test_bad_measures_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Problem("p", "", 1, 1, evaluate=None, solved=None, **kwargs)
