"""python -m evornn compare: optimizers x seeds on one problem, one table and one plot."""
import csv
import json

import numpy as np
import pytest

pytest.importorskip("torch")

from evornn import cli  # noqa: E402
from evornn.compare import format_table, summarize  # noqa: E402


def test_summarize_counts_successes_sequences_and_loss():
    runs = [{"solved": True, "evaluations": 100, "best_fitness": -0.01, "wall_time_s": 2.0,
             "sequences_per_evaluation": 50},
            {"solved": True, "evaluations": 300, "best_fitness": -0.02, "wall_time_s": 4.0,
             "sequences_per_evaluation": 50},
            {"solved": False, "evaluations": 1000, "best_fitness": -0.2, "wall_time_s": 9.0}]
    row = summarize("xnes", runs, has_loss=True)
    assert row["solved"] == 2 and row["runs"] == 3 and row["success_rate"] == pytest.approx(2 / 3)
    assert row["median_evaluations_to_solve"] == 200
    assert row["median_sequences_to_solve"] == 10_000          # 200 evaluations x 50 sequences
    assert row["median_final_loss"] == pytest.approx(0.02)
    assert row["median_wall_s"] == 4.0
    none = summarize("ga", runs[2:], has_loss=False)
    assert none["solved"] == 0 and np.isnan(none["median_evaluations_to_solve"])
    assert np.isnan(none["median_final_loss"])
    table = format_table([row, none])
    assert "| xnes | 2/3 | 200 | 10,000 | 0.02 |" in table and "| ga | 0/1 | - | - | - |" in table


def test_compare_runs_every_optimizer_and_seed_into_one_directory(tmp_path, capsys):
    code = cli.main(["compare", "parity", "--optimizers", "bptt,snes", "--seeds", "2",
                     "--max-evals", "600", "--option", "bptt.lr=0.01", "--out", str(tmp_path)])
    assert code == 0
    d = tmp_path / "compare-parity"
    with open(d / "table.csv") as f:
        rows = {r["optimizer"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"bptt", "snes"} and all(r["runs"] == "2" for r in rows.values())
    assert rows["bptt"]["solved"] == "2"                        # BPTT solves parity in ~300
    # training sequences: 10 of a generation's 11 evaluations are updates on 50 sequences
    # each, the 11th the fitness evaluation, which trains on nothing
    assert float(rows["bptt"]["median_sequences_to_solve"]) == \
        50 * 10 * float(rows["bptt"]["median_evaluations_to_solve"]) / 11
    runs = json.loads((d / "runs.json").read_text())
    assert sorted(runs) == ["bptt", "snes"] and all(len(v) == 2 for v in runs.values())
    for v in runs.values():
        for name in v:
            assert (d / name / "summary.json").exists()
    assert (d / "compare.png").read_bytes()[:4] == b"\x89PNG"
    out = capsys.readouterr().out
    assert "| bptt | 2/2 |" in out and str(d) in out


@pytest.mark.parametrize("argv,message", [
    (["--optimizers", "bptt,bptt"], "distinct names"),
    (["--optimizers", "bptt,xnes", "--option", "cmaes.x=1"], "'cmaes' is not one of the compared"),
    (["--optimizers", "bptt,xnes", "--option", "bptt.nope=1"], "unknown option"),
    (["--optimizers", "bptt", "--seeds", "0"], "--seeds must be >= 1"),
])
def test_compare_refuses_bad_input_in_one_line(argv, message, capsys, tmp_path):
    assert cli.main(["compare", "parity"] + argv + ["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not any(tmp_path.iterdir())
