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


def test_a_truncated_checkpoint_is_named_and_eval_still_works(finished, tmp_path, capsys):
    d = _copy(finished, tmp_path)
    ck = d / "checkpoint.pkl"
    ck.write_bytes(ck.read_bytes()[:40])
    err = _error(capsys, ["resume", str(d), "--quiet"])
    assert err.startswith(f"error: {ck} is damaged (UnpicklingError: ")
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
