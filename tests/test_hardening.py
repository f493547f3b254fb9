"""Bad input and damaged run directories, as a user meets them on the command line: one
line on stderr naming the file or value and what is wrong, exit code 2, nothing written."""
from __future__ import annotations

import pytest

from evornn import cli
from evornn.memory import available_bytes


def _error(capsys, argv) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: "), err
    return err


@pytest.mark.parametrize("source, message", [
    ("import evornn\nPROBLEM = (\n", "problem file {f}, line 2: SyntaxError: '(' was never closed"),
    ("x = 1\nraise RuntimeError('simulator missing')\n", "problem file {f}, line 2: RuntimeError: "
                                                         "simulator missing"),
])
def test_a_problem_file_that_does_not_import_is_named_with_its_line(tmp_path, capsys, source, message):
    f = tmp_path / "broken.py"
    f.write_text(source)
    assert _error(capsys, ["run", str(f), "--out", str(tmp_path / "runs")]) == \
        "error: " + message.format(f=f)
    assert not (tmp_path / "runs").exists()


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "notes.txt"
    f.write_text("mine")
    err = _error(capsys, ["run", "dpnv", "--out", str(f), "--quiet"])
    assert err == f"error: --out {f} is a file: run directories go into a folder (a new or an existing one)"
    assert f.read_text() == "mine"


def test_a_network_that_cannot_fit_is_refused_with_the_size(tmp_path, capsys):
    err = _error(capsys, ["run", "dpnv", "--hidden", "100000", "--out", str(tmp_path), "--quiet"])
    assert err.startswith("error: the network (frnn, 100000 hidden) does not fit in memory: ")
    assert "74.5 GiB" in err and err.endswith("lower --hidden")
    assert list(tmp_path.iterdir()) == []


def test_a_population_that_cannot_fit_is_refused_before_it_is_allocated(tmp_path, capsys):
    free = available_bytes()
    popsize = int(free / (4 * 8 * 12)) * 2          # twice what fits, 12 genes a genome
    err = _error(capsys, ["run", "dpnv", "--popsize", str(popsize), "--max-evals", "1",
                          "--out", str(tmp_path), "--quiet"])
    assert err.startswith(f"error: a population of {popsize:,} genomes of 12 genes needs about ")
    assert "GiB available: lower --popsize or --hidden" in err
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    assert cli.main(["run", "oscillator", "--seed", "1", "--generations", "2", "--quiet",
                     "--out", str(out)]) in (0, 1)
    return next(out.iterdir())


def _copy(src, dst):
    import shutil
    return shutil.copytree(src, dst / src.name)


def _rows(d):
    import csv
    rows = csv.DictReader(open(d / "metrics.csv"))
    return [{k: v for k, v in r.items() if k != "wall_time_s"} for r in rows]


def test_a_truncated_checkpoint_falls_back_to_the_one_before(finished, tmp_path):
    d = _copy(finished, tmp_path)
    ck = d / "checkpoint.npz"
    ck.write_bytes(ck.read_bytes()[:40])
    assert cli.main(["resume", str(d), "--quiet"]) in (0, 1)
    assert _rows(d) == _rows(finished)                 # the last generation again, the same


def test_two_damaged_checkpoints_are_named_and_eval_still_works(finished, tmp_path, capsys):
    d = _copy(finished, tmp_path)
    for name in ("checkpoint.npz", "checkpoint.prev.npz"):
        (d / name).write_bytes((d / name).read_bytes()[:40])
    err = _error(capsys, ["resume", str(d), "--quiet"])
    assert err.startswith(f"error: {d / 'checkpoint.npz'} is damaged (checkpoint.npz: BadZipFile: ")
    assert "checkpoint.prev.npz: BadZipFile" in err
    assert err.endswith("but the run cannot be resumed from it")
    assert cli.main(["eval", str(d)]) in (0, 1)               # best.npz still replays
    assert "the best network of" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["resume", "eval", "report"])
@pytest.mark.parametrize("text, why", [('{"problem": "osc', "JSONDecodeError"),
                                       ('{"problem": "oscillator"}', "TypeError")])
def test_a_damaged_config_is_named_by_every_command(finished, tmp_path, capsys, command, text, why):
    d = _copy(finished, tmp_path)
    (d / "config.json").write_text(text)
    err = _error(capsys, [command, str(d)])
    assert err.startswith(f"error: {d / 'config.json'} is damaged ({why}: ")


CRASHING = '''
import numpy as np
from pathlib import Path
from evornn.problem import Problem

FLAG = Path({flag!r})


def evaluate(net, genomes, seed=None):
    if FLAG.exists() and seed[1] == 2:            # the simulator crashes in generation 2
        raise RuntimeError("simulator crashed")
    f = -np.sum(np.asarray(genomes) ** 2, axis=1)
    return f[:-1] if FLAG.with_suffix(".shape").exists() else f


PROBLEM = Problem("crashing", "a problem whose simulator crashes", n_in=1, n_out=1,
                  evaluate=evaluate, solved=lambda net, g, f: (False, {{}}), arch="elman",
                  n_hidden=2, popsize=6, max_evals=30)
'''


def test_a_crashing_problem_stops_the_run_resumably(tmp_path, capsys):
    flag = tmp_path / "crash.flag"
    f = tmp_path / "crashing.py"
    f.write_text(CRASHING.format(flag=str(flag)))
    flag.touch()
    assert cli.main(["run", str(f), "--seed", "1", "--quiet", "--out", str(tmp_path / "runs")]) == 3
    d = next((tmp_path / "runs").iterdir())
    err = capsys.readouterr().err.strip()
    assert err == (f"error: problem {f}: its evaluation raised RuntimeError: simulator crashed; the "
                   f"last finished generation is checkpointed: fix the cause, then python -m "
                   f"evornn resume {d}")
    assert len((d / "metrics.csv").read_text().splitlines()) == 1 + 2       # generations 0 and 1
    flag.unlink()
    assert cli.main(["resume", str(d), "--quiet"]) == 1                      # budget, not solved
    assert len((d / "metrics.csv").read_text().splitlines()) == 1 + 5        # 30 evaluations


def test_fitness_of_the_wrong_shape_is_refused(tmp_path, capsys):
    flag = tmp_path / "crash.flag"
    f = tmp_path / "crashing.py"
    f.write_text(CRASHING.format(flag=str(flag)))
    flag.with_suffix(".shape").touch()
    assert cli.main(["run", str(f), "--seed", "1", "--quiet", "--out", str(tmp_path / "runs")]) == 3
    assert "its evaluation returned fitness of shape (5,); expected (6,), one float a genome" in \
        capsys.readouterr().err


def test_a_running_run_directory_cannot_be_resumed_twice(finished, tmp_path, capsys):
    import os

    from evornn.run import _lock
    d = _copy(finished, tmp_path)
    held = _lock(d)                       # as another process running it would hold it
    try:
        err = _error(capsys, ["resume", str(d), "--quiet"])
        assert err.startswith(f"error: {d} is being run by process {os.getpid()}: ")
    finally:
        held.close()
    assert cli.main(["resume", str(d), "--quiet"]) in (0, 1)      # a released lock is taken over


def test_sigterm_checkpoints_and_exits_like_ctrl_c(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    p = subprocess.Popen([sys.executable, "-m", "evornn", "run", "walker", "--seed", "1", "--quiet",
                          "--out", str(tmp_path)], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not list(tmp_path.glob("*/checkpoint.npz")) and time.time() < deadline:
        time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "interrupted: the last finished generation is checkpointed" in err
    d = next(tmp_path.iterdir())
    rows = len((d / "metrics.csv").read_text().splitlines()) - 1
    from evornn import statefile
    from evornn.run import CHECKPOINT, read_config
    assert statefile.loads((d / CHECKPOINT).read_bytes())["optimizer"]["generation"] == rows >= 1
    assert read_config(d).problem == "walker"


def _closed_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address, message", [
    ("127.0.0.1:{port}", "error: no Ray cluster answers at 127.0.0.1:{port} ([Errno 111] Connection "
                         "refused): start one there with `ray start --head`, or check the address"),
    ("999.1.1.1:1", "error: no Ray cluster answers at 999.1.1.1:1 ("),
    ("nowhere", "error: --address 'nowhere' must be HOST:PORT (or auto, a cluster started on this "
                "machine)"),
])
def test_an_unreachable_ray_address_is_one_line_at_once(tmp_path, capsys, address, message):
    port = _closed_port()
    err = _error(capsys, ["run", "dpnv", "--backend", "ray", "--address", address.format(port=port),
                          "--quiet", "--out", str(tmp_path)])
    assert err.startswith(message.format(port=port))      # before ray.init, which would wait
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_a_generation_is_written_lands_after_the_writes():
    """The metrics row and the checkpoint of a generation are written both or neither: a
    SIGINT arriving in between is held and raised once they are done."""
    import os
    import signal
    import time

    from evornn.run import _signals_held
    done = []
    with pytest.raises(KeyboardInterrupt):
        with _signals_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            done.append("metrics")
            done.append("checkpoint")
    assert done == ["metrics", "checkpoint"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
