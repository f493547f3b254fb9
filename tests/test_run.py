"""The main job: python -m evornn run PROBLEM, run directories, resume, bad input."""
import csv
import json
import subprocess
import sys
from dataclasses import asdict

import numpy as np
import pytest

import evornn
from evornn.run import CHECKPOINT, CONFIG, RunConfig, new_run_dir, run_loop
from problems import pole


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "evornn", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_run_solves_dpnv_and_writes_a_complete_run_directory(tmp_path):
    r = cli("run", "dpnv", "--seed", "1", "--quiet", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "dpnv: SOLVED after 1605 evaluations" in r.stdout
    (d,) = tmp_path.iterdir()
    summary = json.loads((d / "summary.json").read_text())
    assert summary["solved"] and summary["evaluations"] == 1605 and summary["generations"] == 107
    assert summary["generalization"] >= 200 and summary["seed"] == 1
    assert {"problem", "best_fitness", "wall_time_s"} <= set(summary)
    rows = list(csv.reader(open(d / "metrics.csv")))
    assert rows[0][:2] == ["generation", "evaluations"] and len(rows) == 1 + 107
    assert int(rows[-1][1]) == 1605
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["optimizer"] == "xnes" and cfg["arch"] == "frnn" and cfg["hidden"] == 5
    net = evornn.load(d)                     # the best network, usable without the optimizer
    passed, good = pole.champion_test(net, net.genome)
    assert passed and good == summary["generalization"]
    env = evornn.make_env("dpnv")             # the loaded network drives the environment
    obs, _ = env.reset(seed=0)
    steps, done = 0, False
    while not done:
        a = net.step(obs)
        assert a.shape == (1,) and -1 <= a[0] <= 1
        obs, r, term, trunc, _ = env.step(a)
        steps += r
        done = term or trunc
    assert steps == 1000 and trunc
    # a second run never overwrites the first
    r2 = cli("run", "dpnv", "--seed", "1", "--quiet", "--out", str(tmp_path), "--generations", "2")
    assert r2.returncode == 1 and len(list(tmp_path.iterdir())) == 2


def test_resume_after_a_stop_reaches_the_uninterrupted_result(tmp_path):
    cfg = RunConfig(problem="dpnv", arch="frnn", hidden=5, optimizer="cmaes", popsize=None,
                    sigma0=1.0, max_evals=40_000, seed=2)
    results = []
    for stop_after in (None, 17):
        d = new_run_dir(tmp_path, cfg)
        (d / CONFIG).write_text(json.dumps(asdict(cfg)))
        if stop_after:
            assert run_loop(d, quiet=True, stop_after=stop_after) == {}
            assert (d / CHECKPOINT).exists() and not (d / "summary.json").exists()
            r = cli("resume", str(d), "--quiet")
            assert r.returncode in (0, 1), r.stderr
            summary = json.loads((d / "summary.json").read_text())
        else:
            summary = run_loop(d, quiet=True)
        results.append((summary, (d / "metrics.csv").read_text(), evornn.load(d).genome))
    (a, ma, ga), (b, mb, gb) = results
    assert {k: v for k, v in a.items() if k != "wall_time_s"} == \
        {k: v for k, v in b.items() if k != "wall_time_s"}
    strip = lambda m: [row.rsplit(",", 1)[0] for row in m.splitlines()]  # noqa: E731 (wall time)
    assert strip(ma) == strip(mb)
    np.testing.assert_array_equal(ga, gb)


@pytest.mark.parametrize("args,message", [
    (["run", "dpvn"], "unknown problem 'dpvn' (did you mean 'dpnv'?); valid: "),
    (["run", "dpnv", "--arch", "lstn"], "unknown architecture 'lstn' (did you mean 'lstm'?)"),
    (["run", "dpnv", "--optimizer", "cmaa"], "unknown optimizer 'cmaa' (did you mean 'cmaes'?)"),
    (["run", "dpnv", "--popsize", "1"], "--popsize must be >= 2, got 1"),
    (["run", "dpnv", "--hidden", "0"], "--hidden must be >= 1, got 0"),
    (["run", "dpnv", "--max-evals", "-5"], "--max-evals must be >= 1, got -5"),
    (["run", "dpnv", "--sigma0", "0"], "--sigma0 must be > 0"),
    (["run", "nothere.py"], "problem file 'nothere.py' does not exist"),
    (["resume", "/nonexistent/run"], "is not an evornn run directory"),
])
def test_bad_input_is_one_line_and_exit_code_2(args, message, tmp_path):
    r = cli(*args, "--out", str(tmp_path)) if args[0] == "run" else cli(*args)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())             # nothing was started


def test_list_names_every_problem_architecture_and_optimizer():
    r = cli("list")
    assert r.returncode == 0
    for name in ["dpnv", "double-pole", "single-pole", *evornn.architectures(), *evornn.optimizers()]:
        assert f"  {name} " in r.stdout


USER_PROBLEM = '''
import time
import numpy as np
import evornn
from evornn.problem import Problem

rng = np.random.default_rng(123)
X = rng.choice([-1.0, 1.0], size=(16, 10, 1))


def evaluate(net, G, seed):
    time.sleep(0.05)                                  # slow enough to interrupt
    out = evornn.population_forward(net, G, X)[:, :, 1:, 0]
    return -np.mean((out - X[None, :, :-1, 0]) ** 2, axis=(1, 2))


PROBLEM = Problem("recall", "output the previous input", n_in=1, n_out=1, arch="elman",
                  n_hidden=4, evaluate=evaluate, solved=lambda net, g, f: (f > -0.05, {}),
                  optimizer="cmaes", sigma0=0.5, max_evals=5000)
'''


def test_a_users_problem_file_runs_and_ctrl_c_leaves_a_resumable_run(tmp_path):
    import signal
    import time
    mine = tmp_path / "mine.py"
    mine.write_text(USER_PROBLEM)
    ref = cli("run", str(mine), "--seed", "3", "--quiet", "--out", str(tmp_path / "a"))
    assert ref.returncode == 0, ref.stderr
    (da,) = (tmp_path / "a").iterdir()
    want = json.loads((da / "summary.json").read_text())
    assert want["solved"] and want["problem"] == str(mine)

    p = subprocess.Popen([sys.executable, "-m", "evornn", "run", str(mine), "--seed", "3",
                          "--quiet", "--out", str(tmp_path / "b")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:                  # wait for a few checkpointed generations
        runs = list((tmp_path / "b").glob("*/metrics.csv"))
        if runs and len(runs[0].read_text().splitlines()) > 5:
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "resume" in err
    (db,) = (tmp_path / "b").iterdir()
    assert (db / CHECKPOINT).exists() and not (db / "summary.json").exists()
    r = cli("resume", str(db), "--quiet")
    assert r.returncode == 0, r.stderr
    got = json.loads((db / "summary.json").read_text())
    for k in ("solved", "evaluations", "generations", "best_fitness"):
        assert got[k] == want[k], k
    np.testing.assert_array_equal(evornn.load(db).genome, evornn.load(da).genome)
