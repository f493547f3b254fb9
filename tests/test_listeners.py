"""The run loop hands every generation's record to listeners; problems draw their own pictures."""
import ast
import csv
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

import evornn
from evornn.listeners import METRIC_FIELDS, Record
from evornn.run import CONFIG, RunConfig, new_run_dir, run_loop

ROOT = Path(evornn.__file__).parent


class Recorder:
    """A listener that keeps what it is given."""

    def __init__(self):
        self.records, self.ends = [], []

    def on_generation(self, record):
        self.records.append(record)

    def on_end(self, summary):
        self.ends.append(summary)


def _run_dir(tmp_path, **kw):
    cfg = RunConfig(**{"problem": "parity", "arch": "elman", "hidden": 3, "optimizer": "cmaes",
                       "popsize": 8, "sigma0": 1.0, "max_evals": 10_000, "seed": 1,
                       "generations": 5, **kw})
    d = new_run_dir(tmp_path, cfg)
    (d / CONFIG).write_text(json.dumps(asdict(cfg)))
    return d


def test_a_listener_gets_every_generations_record_as_metrics_csv_has_it(tmp_path):
    d = _run_dir(tmp_path)
    rec = Recorder()
    summary = run_loop(d, quiet=True, listeners=[rec])
    rows = list(csv.reader(open(d / "metrics.csv")))
    assert rows[0] == METRIC_FIELDS and len(rows) == 1 + 5 == 1 + len(rec.records)
    for r, row in zip(rec.records, rows[1:]):
        assert [str(v) for v in r.row()] == row               # the same numbers, digit for digit
        assert r.fitness.shape == (8,) and r.best == r.fitness[np.isfinite(r.fitness)].max()
    assert [r.generation for r in rec.records] == [1, 2, 3, 4, 5]
    assert [r.done for r in rec.records] == [False] * 4 + [True]
    assert rec.records[-1].stop_reason == "generations" == summary["stop_reason"]
    assert rec.ends == [summary] and summary["generations"] == 5


def test_a_stopped_loop_ends_its_listeners_with_none_and_resumes_where_it_stopped(tmp_path):
    d = _run_dir(tmp_path)
    first, second = Recorder(), Recorder()
    assert run_loop(d, quiet=True, stop_after=2, listeners=[first]) == {}
    assert [r.generation for r in first.records] == [1, 2] and first.ends == [None]
    summary = run_loop(d, quiet=True, listeners=[second])
    assert [r.generation for r in second.records] == [3, 4, 5] and second.ends == [summary]
    assert first.records[-1].best_so_far <= second.records[0].best_so_far


def test_the_loop_without_listeners_gives_the_same_run(tmp_path):
    """Attaching a listener changes nothing the run writes."""
    plain, watched = _run_dir(tmp_path), _run_dir(tmp_path)
    a = run_loop(plain, quiet=True)
    b = run_loop(watched, quiet=True, listeners=[Recorder()])
    strip = lambda d: [r.rsplit(",", 1)[0] for r in (d / "metrics.csv").read_text().splitlines()]  # noqa: E731
    assert strip(plain) == strip(watched) and len(strip(plain)) == 6
    a.pop("wall_time_s"), b.pop("wall_time_s")
    assert a == b
    np.testing.assert_array_equal(evornn.load(plain).genome, evornn.load(watched).genome)


def test_a_record_is_the_csv_row():
    r = Record(3, 24, 0.5, 0.25, 0.2, 0.1, 1, 0.75, 1.2345, np.zeros(8))
    assert r.row() == [3, 24, 0.5, 0.25, 0.2, 0.1, 1, 0.75, 1.2345]
    assert not r.done and r.stop_reason == ""


PICTURE_PROBLEM = '''
import numpy as np
import evornn
from evornn.problem import Problem

X = np.random.default_rng(0).uniform(-1, 1, (4, 6, 1))
CALLS = []


def evaluate(net, G, seed):
    return -np.mean(evornn.population_forward(net, G, X) ** 2, axis=(1, 2, 3))


def trace(net, genome):
    return {"t": np.arange(6.0), "neurons": np.ones((6, 2)), "marker": 7}


def pictures(tr, run_dir):
    CALLS.append((tr["marker"], str(run_dir)))
    out = run_dir / "mine.txt"
    out.write_text("drawn")
    return [out]


PROBLEM = Problem("pictured", "", n_in=1, n_out=1, arch="elman", n_hidden=2, evaluate=evaluate,
                  solved=lambda net, g, f: (False, {}), trace=trace, pictures=pictures,
                  optimizer="cmaes", popsize=6, max_evals=12)
'''


def test_report_calls_the_problems_pictures_hook(tmp_path, monkeypatch):
    import evornn.problem
    from evornn.report import plot_traces
    mine = tmp_path / "pictured.py"
    mine.write_text(PICTURE_PROBLEM)
    prob = evornn.problem.get_problem(str(mine))
    monkeypatch.setattr(evornn.problem, "get_problem", lambda name: prob)    # one module, one CALLS
    d = _run_dir(tmp_path / "runs", problem=str(mine), arch="elman", hidden=2, popsize=6,
                 max_evals=12, generations=None)
    assert run_loop(d, quiet=True)["stop_reason"] == "budget"
    files = plot_traces(d)
    assert [f.name for f in files] == ["activity.png", "phase.png", "mine.txt"]
    assert (d / "mine.txt").read_text() == "drawn"
    assert prob.pictures.__globals__["CALLS"] == [(7, str(d))]


def _imports(path: Path) -> set[str]:
    """Every name path imports, at the top or inside functions, as module.name."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            out |= {f"{'.' * node.level}{node.module or ''}.{a.name}" for a in node.names}
    return out


def test_the_run_does_not_import_the_report_nor_evaluation_an_optimizer():
    for name in ("run.py", "listeners.py"):
        assert not any("report" in m for m in _imports(ROOT / name)), name
    assert not any("optim" in m for m in _imports(ROOT / "backends.py"))
    assert not any("backends" in m for m in _imports(ROOT / "optim" / "es.py"))
    assert "from_seeds" not in (ROOT / "run.py").read_text()


def test_openai_es_declares_its_seed_batch_and_it_rebuilds_the_asked_genomes():
    opt = evornn.optimizer("es", 7, seed=3, popsize=10, sigma0=0.5, bounds=(-1.0, 1.0))
    assert opt.ships_seeds and not getattr(evornn.optimizer("xnes", 3, seed=0), "ships_seeds", False)
    G = opt.ask()
    b = opt.seed_batch()
    assert b["rows"] * len(b["seeds"]) == len(G) == 10
    np.testing.assert_array_equal(b["rebuild"](b["seeds"], b["mean"], *b["args"]), G)
    np.testing.assert_array_equal(b["rebuild"](b["seeds"][2:4], b["mean"], *b["args"]), G[4:8])
