"""--log tensorboard and --log mlflow: read back with TensorBoard's event reader and MLflow's
client, equal to metrics.csv generation by generation, and continued on resume."""
import json
import os
import subprocess
import sys
from dataclasses import asdict

import numpy as np
import pytest

import evornn
from evornn import cli
from evornn.listeners import read_metrics
from evornn.loggers import SCALARS, flat_params
from evornn.run import CHECKPOINT, CONFIG, RunConfig, new_run_dir, read_config, run_loop

pytest.importorskip("tensorboard")
pytest.importorskip("mlflow")

POPSIZE, GENERATIONS = 8, 5


class Recorder:
    def __init__(self):
        self.records = []

    def on_generation(self, record):
        self.records.append(record)

    def on_end(self, summary):
        pass


def _run_dir(tmp_path, log):
    cfg = RunConfig(problem="parity", arch="elman", hidden=3, optimizer="cmaes", popsize=POPSIZE,
                    sigma0=1.0, max_evals=10_000, seed=1, generations=GENERATIONS, log=log)
    d = new_run_dir(tmp_path / "runs", cfg)
    (d / CONFIG).write_text(json.dumps(asdict(cfg)))
    return d


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An MLflow store of the test's own (a plain path, as a user may set it)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(tmp_path / "mlruns"))
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    return (tmp_path / "mlruns").as_uri()


def _events(d):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(d / "tensorboard"), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def _stop_as_a_kill_would(d, stop_after):
    """Run stop_after generations, then take the last checkpoint back: the state a kill
    leaves between a generation's log and its checkpoint."""
    assert run_loop(d, quiet=True, stop_after=stop_after) == {}
    os.replace(d / "checkpoint.prev.npz", d / CHECKPOINT)


def test_tensorboard_scalars_are_metrics_csv_and_each_histogram_holds_the_population(tmp_path):
    d = _run_dir(tmp_path, ["tensorboard"])
    rec = Recorder()
    run_loop(d, quiet=True, listeners=[rec])
    acc, m = _events(d), read_metrics(d)
    steps = list(range(1, GENERATIONS + 1))
    assert set(acc.Tags()["scalars"]) == {*SCALARS, "sigma"}
    for key in SCALARS:             # TensorBoard keeps scalars as float32
        events = acc.Scalars(key)
        assert [e.step for e in events] == steps, key
        np.testing.assert_array_equal(np.float32([e.value for e in events]), np.float32(m[key]))
    sigma = [e.value for e in acc.Scalars("sigma")]
    np.testing.assert_array_equal(np.float32(sigma), np.float32([r.sigma for r in rec.records]))
    assert len(set(sigma)) == GENERATIONS                       # cmaes's sigma, as it adapts
    hists = acc.Histograms("fitness")
    assert [h.step for h in hists] == steps
    for h, r in zip(hists, rec.records):
        v = h.histogram_value
        assert v.num == POPSIZE == sum(v.bucket)
        assert (v.min, v.max) == (r.fitness.min(), r.fitness.max())
        assert v.sum == pytest.approx(r.fitness.sum(), rel=1e-12)


def test_tensorboard_resumed_after_a_stop_and_a_kill_has_each_step_once(tmp_path):
    d = _run_dir(tmp_path, ["tensorboard"])
    assert run_loop(d, quiet=True, stop_after=1) == {}
    _stop_as_a_kill_would(d, 2)          # steps 2 and 3 logged, the checkpoint at 2
    assert run_loop(d, quiet=True)["generations"] == GENERATIONS
    acc, m = _events(d), read_metrics(d)
    assert len(list((d / "tensorboard").iterdir())) == 3        # one event file a process
    for key in SCALARS:
        events = acc.Scalars(key)
        assert [e.step for e in events] == list(range(1, GENERATIONS + 1)), key
        # step 3 is the run's second go at generation 3: its wall time is metrics.csv's
        np.testing.assert_array_equal(np.float32([e.value for e in events]), np.float32(m[key]))
    assert [h.step for h in acc.Histograms("fitness")] == list(range(1, GENERATIONS + 1))


def test_a_kill_before_the_first_checkpoint_starts_the_logs_and_metrics_csv_again(tmp_path):
    d = _run_dir(tmp_path, ["tensorboard"])
    assert run_loop(d, quiet=True, stop_after=1) == {}
    (d / CHECKPOINT).unlink()           # generation 1 logged and in metrics.csv, not checkpointed
    assert len((d / "metrics.csv").read_text().splitlines()) == 2
    run_loop(d, quiet=True)
    acc, m = _events(d), read_metrics(d)
    assert m["generation"] == [1, 2, 3, 4, 5]
    events = acc.Scalars("wall_time_s")
    assert [e.step for e in events] == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(np.float32([e.value for e in events]), np.float32(m["wall_time_s"]))


def _history(client, run_id):
    return {k: [(h.step, h.value) for h in client.get_metric_history(run_id, k)]
            for k in (*SCALARS, "sigma")}


def test_mlflow_logs_params_metrics_and_artifacts_and_resume_continues_the_run(tmp_path, store):
    from mlflow.tracking import MlflowClient
    d = _run_dir(tmp_path, ["mlflow"])
    assert run_loop(d, quiet=True, stop_after=1) == {}
    saved = json.loads((d / "mlflow.json").read_text())
    assert saved["tracking_uri"] == store
    client = MlflowClient(store)
    assert client.get_run(saved["run_id"]).info.status == "KILLED"
    _stop_as_a_kill_would(d, 2)          # steps 2 and 3 logged, the checkpoint at 2
    rec = Recorder()
    summary = run_loop(d, quiet=True, listeners=[rec])
    assert json.loads((d / "mlflow.json").read_text()) == saved
    (exp,) = [e for e in client.search_experiments() if e.name == "evornn"]
    (run,) = client.search_runs([exp.experiment_id])         # one run, continued
    assert run.info.run_id == saved["run_id"] and run.info.status == "FINISHED"
    assert run.data.params == flat_params(read_config(d))
    assert run.data.params["log"] == "mlflow" and run.data.params["popsize"] == str(POPSIZE)
    assert run.data.tags["evornn.stop_reason"] == summary["stop_reason"] == "generations"
    m, hist = read_metrics(d), _history(client, run.info.run_id)
    steps = list(range(1, GENERATIONS + 1))
    for key in SCALARS:
        assert [s for s, _ in hist[key]] == steps, key
        got = [v for _, v in hist[key]]
        if key == "wall_time_s":      # step 3 kept from the first go, the csv has the second's
            got, want = got[:2] + got[3:], m[key][:2] + m[key][3:]
        else:
            want = m[key]
        assert got == want, key       # float64 both: digit for digit
    assert [s for s, _ in hist["sigma"]] == steps
    # generation 3 again gave the same sigma (a resumed run repeats its generations exactly)
    assert [v for _, v in hist["sigma"]][2:] == [r.sigma for r in rec.records]
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert names == {"best.npz", "checkpoint.npz", "checkpoint.prev.npz", "config.json",
                     "fitness.png", "metrics.csv", "mlflow.json", "summary.json"}
    local = client.download_artifacts(run.info.run_id, "best.npz", str(tmp_path))
    with np.load(local) as z:
        np.testing.assert_array_equal(z["genome"], evornn.load(d).genome)


def test_log_on_the_command_line_goes_into_the_config_and_logs_to_mlruns_here(tmp_path,
                                                                             monkeypatch):
    from mlflow.tracking import MlflowClient
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    args = ["run", "parity", "--arch", "elman", "--hidden", "3", "--optimizer", "snes",
            "--popsize", "6", "--generations", "2", "--quiet", "--out", "runs"]
    assert cli.main([*args, "--log", "mlflow", "--log", "tensorboard,mlflow"]) == 1
    (d,) = (tmp_path / "runs").iterdir()
    assert read_config(d).log == ["mlflow", "tensorboard"]
    saved = json.loads((d / "mlflow.json").read_text())
    assert saved["tracking_uri"] == (tmp_path / "mlruns").as_uri()
    hist = _history(MlflowClient(saved["tracking_uri"]), saved["run_id"])
    assert [v for _, v in hist["best"]] == read_metrics(d)["best"]
    assert [e.step for e in _events(d).Scalars("sigma")] == [1, 2] == [s for s, _ in hist["sigma"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlruns", "runs"]


def test_an_unknown_logger_is_one_line(tmp_path, capsys):
    assert cli.main(["run", "parity", "--log", "tensorbord", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == ("error: unknown logger 'tensorbord' (did you mean 'tensorboard'?); valid: "
                   "tensorboard, mlflow\n")
    assert not list(tmp_path.iterdir())                      # before any work


BLOCKED = """
import importlib.abc, sys
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Missing())
from evornn import cli
print("run", cli.main(["run", "parity", "--log", "tensorboard,mlflow", "--quiet",
                      "--out", {out!r}]))
print("resume", cli.main(["resume", {resume!r}, "--quiet"]))
"""


@pytest.mark.parametrize("blocked", ["tensorboard", "mlflow"])
def test_a_logger_whose_package_is_missing_is_one_line_naming_the_extra(tmp_path, blocked):
    d = _run_dir(tmp_path, ["tensorboard", blocked])
    code = BLOCKED.format(blocked=blocked, out=str(tmp_path / "new"), resume=str(d))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "MLFLOW_TRACKING_URI": str(tmp_path / "mlruns")})
    assert r.stdout.split() == ["run", "2", "resume", "2"], r.stderr
    want = (f"--log {blocked} needs the {blocked} package: pip install 'evornn[{blocked}]' "
            f"(ModuleNotFoundError: No module named '{blocked}')")
    assert r.stderr.splitlines() == [f"error: {want}", f"error: {d}: {want}"]
    assert not (tmp_path / "new").exists() and sorted(p.name for p in d.iterdir()) == [CONFIG]


def test_the_optimizers_step_size_is_their_sigma():
    for name in ("cmaes", "snes", "xnes", "es", "ga", "sa"):
        opt = evornn.optimizer(name, 4, popsize=6, sigma0=0.3)
        assert opt.step_size == pytest.approx(0.3, rel=1e-15), name
    for name in ("pso", "cosyne"):
        assert evornn.optimizer(name, 4, popsize=6, sigma0=0.3).step_size is None
