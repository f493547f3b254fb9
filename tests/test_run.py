"""The main job: python -m evornn run PROBLEM, run directories, resume, bad input."""
import csv
import json
import subprocess
import sys
from dataclasses import asdict

import numpy as np
import pytest

import evornn
from evornn.problems import pole
from evornn.run import CHECKPOINT, CONFIG, RunConfig, load, new_run_dir, run_loop


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "evornn", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_run_solves_dpnv_and_writes_a_complete_run_directory(tmp_path):
    r = cli("run", "dpnv", "--seed", "1", "--quiet", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "dpnv: SOLVED after 160 evaluations" in r.stdout
    (d,) = tmp_path.iterdir()
    summary = json.loads((d / "summary.json").read_text())
    assert summary["solved"] and summary["evaluations"] == 160 and summary["generations"] == 16
    assert summary["generalization"] >= 200 and summary["seed"] == 1
    assert {"problem", "best_fitness", "wall_time_s"} <= set(summary)
    rows = list(csv.reader(open(d / "metrics.csv")))
    assert rows[0][:2] == ["generation", "evaluations"] and len(rows) == 1 + 16
    assert int(rows[-1][1]) == 160
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["optimizer"] == "xnes" and cfg["arch"] == "frnn" and cfg["hidden"] == 2
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
    r = cli("eval", str(d))                    # replay: the same fitness, the test passed again
    assert r.returncode == 0, r.stderr
    assert f"has fitness {summary['best_fitness']:.6g} and passes the success test" in r.stdout
    assert f"generalization {summary['generalization']}" in r.stdout
    png = d / "fitness.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    png.unlink()
    r = cli("report", str(d))
    assert r.returncode == 0 and "dpnv: SOLVED after 160 evaluations" in r.stdout
    assert png.stat().st_size > 10_000
    # a second run never overwrites the first
    r2 = cli("run", "dpnv", "--seed", "1", "--quiet", "--out", str(tmp_path), "--generations", "2")
    assert r2.returncode == 1 and len(list(tmp_path.iterdir())) == 2


@pytest.mark.slow   # tens of seconds (pytest --durations)
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
    (["eval", "/nonexistent/run"], "is not an evornn run directory"),
    (["report", "/nonexistent/run"], "is not an evornn run directory"),
    (["run", "dpnv", "--backend", "thread"], "unknown backend 'thread' (did you mean 'threads'?)"),
    (["run", "dpnv", "--workers", "0"], "--workers must be >= 1, got 0"),
    (["run", "dpnv", "--address", "auto"], "--address joins a Ray cluster: it needs --backend ray"),
    (["run", "parity", "--backend", "cupy"], "the cupy backend needs"),
    (["run", "--config", "nothere.toml"], "config file 'nothere.toml' does not exist"),
    (["run"], "no problem given"),
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


@pytest.mark.parametrize("sig", ["SIGINT", "SIGKILL"])
def test_a_users_problem_file_runs_and_ctrl_c_or_a_kill_leaves_a_resumable_run(tmp_path, sig):
    import signal
    import time
    mine = tmp_path / "mine.py"
    mine.write_text(USER_PROBLEM)
    ref = cli("run", str(mine), "--seed", "3", "--quiet", "--out", str(tmp_path / "a"))
    assert ref.returncode == 0, ref.stderr
    (da,) = (tmp_path / "a").iterdir()
    want = json.loads((da / "summary.json").read_text())
    assert want["solved"] and want["problem"] == str(mine)

    # a child of a background job inherits SIGINT ignored (and Python then keeps it so):
    # give it the default disposition, as a terminal's Ctrl-C finds it
    p = subprocess.Popen([sys.executable, "-m", "evornn", "run", str(mine), "--seed", "3",
                          "--quiet", "--out", str(tmp_path / "b")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline:                  # wait for a few checkpointed generations
        runs = list((tmp_path / "b").glob("*/metrics.csv"))
        if runs and len(runs[0].read_text().splitlines()) > 5:
            break
        time.sleep(0.05)
    p.send_signal(getattr(signal, sig))
    _, err = p.communicate(timeout=60)
    if sig == "SIGINT":
        assert p.returncode == 130 and "resume" in err
    else:
        assert p.returncode == -signal.SIGKILL
    (db,) = (tmp_path / "b").iterdir()
    assert (db / CHECKPOINT).exists() and not (db / "summary.json").exists()
    r = cli("resume", str(db), "--quiet")
    assert r.returncode == 0, r.stderr
    got = json.loads((db / "summary.json").read_text())
    for k in ("solved", "evaluations", "generations", "best_fitness"):
        assert got[k] == want[k], k
    np.testing.assert_array_equal(evornn.load(db).genome, evornn.load(da).genome)


@pytest.mark.parametrize("text,message", [
    ('problem = "dpnv"\npopsze = 10\n', "unknown key 'popsze' (did you mean 'popsize'?); valid: problem"),
    ('problem = "dpnv"\nseed = \n', "TOML syntax error"),
    ('problem = "dpnv"\nhidden = "five"\n', "hidden must be int, got 'five'"),
    ('problem = "dpnv"\nhidden = 0\n', "--hidden must be >= 1, got 0"),
    ('[run]\nproblem = "dpnx"\n', "unknown problem 'dpnx' (did you mean 'dpnv'?)"),
])
def test_bad_config_file_is_one_line_and_exit_code_2(text, message, tmp_path):
    f = tmp_path / "run.toml"
    f.write_text(text)
    r = cli("run", "--config", str(f), "--out", str(tmp_path / "runs"))
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "runs").exists()


def test_config_file_and_backends_give_the_same_run(tmp_path):
    """A TOML file sets what flags set (flags win); serial and 1 or 2 worker threads agree."""
    f = tmp_path / "run.toml"
    f.write_text('[run]\nproblem = "dpnv"\noptimizer = "snes"\nseed = 4\ngenerations = 30\n'
                 'popsize = 12\nbackend = "serial"\nquiet = true\n')
    runs = []
    for extra in ([], ["--backend", "threads", "--workers", "2"], ["--workers", "1", "--seed", "5"]):
        out = tmp_path / f"r{len(runs)}"
        r = cli("run", "--config", str(f), "--out", str(out), *extra)
        assert r.returncode == 1, r.stderr                    # 30 generations: not solved
        (d,) = out.iterdir()
        cfg = json.loads((d / "config.json").read_text())
        rows = [row.rsplit(",", 1)[0] for row in (d / "metrics.csv").read_text().splitlines()]
        runs.append((cfg, rows))
    (c0, m0), (c1, m1), (c2, m2) = runs
    assert c0["optimizer"] == "snes" and c0["popsize"] == 12 and c0["backend"] == "serial"
    assert c1["backend"] == "threads" and c1["workers"] == 2 and c2["seed"] == 5
    assert len(m0) == 31 and m0 == m1 and m2 != m0


@pytest.mark.parametrize("x0", ["center", "init"])
def test_a_problem_chooses_where_the_search_starts(tmp_path, x0):
    from evornn.run import _setup
    mine = tmp_path / "start.py"
    mine.write_text(USER_PROBLEM.replace('max_evals=5000)', f'max_evals=5000, x0="{x0}")'))
    cfg = RunConfig(problem=str(mine), arch="elman", hidden=4, optimizer="xnes", popsize=None,
                    sigma0=0.5, max_evals=100, seed=3)
    prob, net, opt = _setup(cfg)
    want = net.genome if x0 == "init" else np.zeros(net.n_params)
    assert np.abs(net.genome).max() > 0.1
    np.testing.assert_array_equal(opt.x0, want)


def test_bad_start_is_named():
    from evornn.problem import Problem
    with pytest.raises(ValueError, match="x0 must be 'center', 'init' or a function \\(net\\) -> "
                                         "genome, got 'middle'"):
        Problem("p", "", 1, 1, evaluate=None, solved=None, x0="middle")


def test_init_starts_a_run_from_another_runs_best_genome(tmp_path):
    from evornn.run import _setup
    r = cli("run", "dpnv", "--seed", "3", "--generations", "5", "--quiet", "--out", str(tmp_path / "a"))
    assert r.returncode == 1, r.stderr
    (da,) = (tmp_path / "a").iterdir()
    best = evornn.load(da).genome
    r = cli("run", "dpnv", "--seed", "4", "--optimizer", "cmaes", "--generations", "1", "--init",
            str(da), "--quiet", "--out", str(tmp_path / "b"))
    assert r.returncode == 1, r.stderr
    (db,) = (tmp_path / "b").iterdir()
    cfg = RunConfig(**json.loads((db / "config.json").read_text()))
    assert cfg.init == str(da.resolve())
    _, _, opt = _setup(cfg)
    np.testing.assert_array_equal(opt.x0, best)
    r = cli("run", "dpnv", "--hidden", "3", "--init", str(da), "--out", str(tmp_path / "c"))
    assert r.returncode == 2 and "its best genome has 12 genes, this run's network needs 21" in r.stderr
    r = cli("run", "dpnv", "--init", str(tmp_path), "--out", str(tmp_path / "c"))
    assert r.returncode == 2 and "no best.npz there" in r.stderr
    assert not (tmp_path / "c").exists()


def test_option_tables_and_flags_reach_the_optimizer_and_the_network(tmp_path):
    """--option / --arch-option (and the [options] / [arch_options] tables of a config file)
    set optimizer and architecture options; an unknown one is refused in one line."""
    f = tmp_path / "run.toml"
    f.write_text('problem = "parity"\noptimizer = "xnes"\ngenerations = 2\nquiet = true\n'
                 '[options]\neta_sigma = 0.5\n[arch_options]\nforget_bias = 1.5\n')
    r = cli("run", "--config", str(f), "--out", str(tmp_path / "a"), "--option", "eta_B=0.25")
    assert r.returncode == 1, r.stderr
    (d,) = (tmp_path / "a").iterdir()
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["options"] == {"eta_sigma": 0.5, "eta_B": 0.25}
    assert cfg["arch_options"] == {"forget_bias": 1.5}
    net = load(d)
    assert net.options["forget_bias"] == 1.5
    r = cli("run", "parity", "--option", "eta_sigmaa=1", "--out", str(tmp_path / "b"))
    assert r.returncode == 2 and "unknown option(s) 'eta_sigmaa'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "b").exists()
    r = cli("run", "parity", "--arch-option", "forget_bias=x", "--out", str(tmp_path / "b"))
    assert r.returncode == 2 and "forget_bias='x' must be a finite number" in r.stderr


def _started(start):
    from evornn.problem import Problem
    return Problem("started", "", 1, 1, evaluate=None, solved=None, arch="elman", n_hidden=2,
                   optimizer="snes", sigma0=0.1, x0=start)


def test_a_problems_x0_function_gives_the_initial_genome_and_init_wins():
    from evornn.run import problem_optimizer
    prob = _started(lambda net: 0.01 * np.arange(net.n_params))
    net = prob.network(seed=1)
    assert net.n_params == 11                      # W_in 2, W_hh 4, b 2, readout 2 + 1
    opt = problem_optimizer(prob, net, "snes", seed=0, popsize=20)
    want = [0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1]
    np.testing.assert_array_equal(opt.x0, want)
    np.testing.assert_array_equal(opt.mean, want)            # the first generation's mean
    G = opt.ask()
    assert np.abs(G.mean(0) - want).max() < 0.1 and G.std(0).min() > 0.01
    cm = problem_optimizer(prob, net, "cmaes", seed=0)
    np.testing.assert_array_equal(cm.x0, want)
    # --init (an x0 given) wins over the problem's
    opt = problem_optimizer(prob, net, "snes", seed=0, x0=np.full(11, 0.5))
    np.testing.assert_array_equal(opt.x0, np.full(11, 0.5))


def test_a_problems_x0_genome_of_the_wrong_size_is_one_line():
    from evornn.run import problem_optimizer
    prob = _started(lambda net: np.zeros(3))
    with pytest.raises(ValueError, match=r"^problem 'started': x0 gave a genome of shape "
                                         r"\(3,\), the network needs 11 genes$"):
        problem_optimizer(prob, prob.network(), "snes", seed=0)


HOOKS_PROBLEM = '''
import numpy as np
from evornn.problem import Problem


def log(name):
    with open({log!r}, "a") as f:
        f.write(name + "\\n")


def solved(net, g, f):
    log("solved")
    return False, {{"test": "in full"}}


def solved_fast(net, g, f):
    log("fast")
    return False, {{}}


PROBLEM = Problem("hooks", "", n_in=1, n_out=1, arch="elman", n_hidden=2,
                  evaluate=lambda net, G, seed: -np.sum(G ** 2, axis=1), solved=solved,
                  solved_fast=solved_fast, popsize=6, max_evals=30)
'''


def test_the_run_asks_solved_fast_and_the_full_test_only_for_a_target_reached(tmp_path):
    from evornn.cli import main
    log = tmp_path / "calls.txt"
    mine = tmp_path / "hooks.py"
    mine.write_text(HOOKS_PROBLEM.format(log=str(log)))
    assert main(["run", str(mine), "--quiet", "--out", str(tmp_path / "a")]) == 1
    assert log.read_text().split() == ["fast"] * 5                   # 5 generations of 6
    log.unlink()
    assert main(["run", str(mine), "--quiet", "--out", str(tmp_path / "b"), "--target=-1e9"]) == 0
    assert log.read_text().split() == ["fast", "solved"]
    (d,) = (tmp_path / "b").iterdir()
    assert json.loads((d / "summary.json").read_text())["test"] == "in full"
