"""Checkpoints load without running code from them: checkpoint.npz is NumPy arrays and JSON
(read with allow_pickle=False); the pickles a run directory may still hold (pycma's state,
an older directory's checkpoint.pkl) are read by an unpickler that builds state objects only.
Old run directories keep resuming, to the same result."""
from __future__ import annotations

import csv
import json
import os
import pickle
import shutil

import numpy as np
import pytest

from evornn import cli, statefile
from evornn.optim.base import LegacyRandom
from evornn.run import run_loop


class _Payload:
    """What a sender could put in a pickle: a command run when it is unpickled."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _rows(d):
    return [{k: v for k, v in r.items() if k != "wall_time_s"}
            for r in csv.DictReader(open(d / "metrics.csv"))]


def _whole_and_stopped(tmp_path, args, stop_after):
    """A finished run of args, and the same run stopped after stop_after generations."""
    assert cli.main(["run", *args, "--quiet", "--out", str(tmp_path / "whole")]) in (0, 1)
    whole = next((tmp_path / "whole").iterdir())
    d = tmp_path / "stopped" / whole.name
    d.mkdir(parents=True)
    shutil.copy(whole / "config.json", d)
    assert run_loop(d, quiet=True, stop_after=stop_after) == {}
    return whole, d


def _as_old_format(d):
    """Rewrite d's checkpoints as directories before .npz held them: pickled, in
    checkpoint.pkl, an optimizer's LegacyRandom as the object itself."""
    for name in ("checkpoint", "checkpoint.prev"):
        state = statefile.loads((d / f"{name}.npz").read_bytes())
        legacy = state["optimizer"].get("_legacy")
        if legacy is not None:
            state["optimizer"]["_legacy"] = LegacyRandom.restored(**legacy)
        (d / f"{name}.pkl").write_bytes(pickle.dumps(state))
        (d / f"{name}.npz").unlink()


def test_a_checkpoint_reads_without_pickle(tmp_path):
    _, d = _whole_and_stopped(tmp_path, ["oscillator", "--optimizer", "ga", "--seed", "1"], 2)
    with np.load(d / "checkpoint.npz", allow_pickle=False) as npz:
        tree = json.loads(npz["tree.json"].tobytes())
        assert all(npz[k].dtype != object for k in npz.files)
    assert tree["optimizer"]["generation"] == 2 and tree["run"]["done"] is False
    assert tree["optimizer"]["_legacy"]["py_state"]["$"] == "tuple"


@pytest.mark.parametrize("optimizer, problem", [("cmaes", "oscillator"), ("ga", "oscillator"),
                                                ("bptt", "reber-plain")])
def test_an_old_pickled_checkpoint_resumes_to_the_uninterrupted_result(tmp_path, capsys,
                                                                      optimizer, problem):
    args = [problem, "--optimizer", optimizer, "--seed", "1", "--generations", "4"]
    whole, d = _whole_and_stopped(tmp_path, args, 2)
    _as_old_format(d)
    capsys.readouterr()
    assert cli.main(["resume", str(d), "--quiet"]) in (0, 1)
    assert "note: checkpoint.pkl is the older pickle format: read with an unpickler that builds " \
           "only NumPy, torch, pycma and evornn state objects" in capsys.readouterr().err
    assert _rows(d) == _rows(whole)
    assert sorted(p.name for p in d.glob("checkpoint*")) == ["checkpoint.npz", "checkpoint.prev.npz"]


def test_a_pickled_checkpoint_that_would_run_code_is_refused(tmp_path, capsys):
    _, d = _whole_and_stopped(tmp_path, ["oscillator", "--seed", "1"], 2)
    marker = tmp_path / "ran"
    for p in d.glob("checkpoint*.npz"):
        p.unlink()
    (d / "checkpoint.pkl").write_bytes(pickle.dumps({"optimizer": _Payload(marker)}))
    capsys.readouterr()
    assert cli.main(["resume", str(d), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: {d / 'checkpoint.pkl'} is damaged (checkpoint.pkl: "
                          "UnpicklingError: refused posix.system: not a NumPy, torch, pycma or "
                          "evornn state object)")
    assert not marker.exists()


def test_pycma_state_that_would_run_code_is_refused_and_resume_says_it_is_a_pickle(tmp_path, capsys):
    whole, d = _whole_and_stopped(tmp_path, ["oscillator", "--optimizer", "cmaes", "--seed", "1",
                                             "--generations", "4"], 2)
    kept = {p.name: p.read_bytes() for p in d.glob("checkpoint*.npz")}
    marker = tmp_path / "ran"
    for name, data in kept.items():
        state = statefile.loads(data)
        state["optimizer"]["_es"] = pickle.dumps(_Payload(marker))
        (d / name).write_bytes(statefile.dumps(state))
    capsys.readouterr()
    assert cli.main(["resume", str(d), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "note: cmaes keeps pycma's state as a pickle inside the checkpoint: read with an " \
           "unpickler that builds only NumPy and pycma objects" in err
    assert "checkpoint.npz: UnpicklingError: refused posix.system" in err and not marker.exists()
    for name, data in kept.items():                       # the real state resumes as before
        (d / name).write_bytes(data)
    assert cli.main(["resume", str(d), "--quiet"]) in (0, 1)
    assert _rows(d) == _rows(whole)


@pytest.mark.parametrize("damage", ["pickled", "truncated"])
def test_best_npz_is_read_without_pickle(tmp_path, capsys, damage):
    """eval, report and evornn.load read best.npz: a pickled genome is refused, not run."""
    import evornn
    from evornn.run import DamagedRunError
    whole, _ = _whole_and_stopped(tmp_path, ["oscillator", "--seed", "1"], 1)
    marker, best = tmp_path / "ran", whole / "best.npz"
    if damage == "pickled":
        with np.load(best) as z:
            config = str(z["config"])
        genome = np.empty(1, dtype=object)
        genome[0] = _Payload(marker)
        np.savez(best, genome=genome, fitness=1.0, config=config)
        why = "ValueError: Object arrays cannot be loaded when allow_pickle=False"
    else:
        best.write_bytes(best.read_bytes()[:50])
        why = "BadZipFile: "
    with pytest.raises(DamagedRunError, match=f"best.npz is damaged \\({why}"):
        evornn.load(whole)
    capsys.readouterr()
    assert cli.main(["eval", str(whole)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {best} is damaged ({why}")
    assert cli.main(["report", str(whole)]) == 0            # the fitness plot needs no network
    assert not marker.exists()


def test_a_checkpoint_is_written_first_then_once_a_second_last_and_when_the_work_ends(tmp_path):
    """Between two writes a generation's state waits in memory: a Ctrl-C or an error writes
    it (the last finished generation's, not one past the next ask), a kill -9 costs at most
    the generations since the last write."""
    import evornn
    from evornn.listeners import Checkpoint, Record
    path = tmp_path / "checkpoint.npz"
    opt, state, before = evornn.optimizer("xnes", 3, seed=0), {"generation": 0}, []
    ck = Checkpoint(path, opt, state, every_s=3600, before=lambda: before.append(state["generation"]))

    def generation(done=False):
        G = opt.ask()
        opt.tell(G, -np.sum(G ** 2, axis=1))
        state["generation"] = opt.generation
        ck.on_generation(Record(opt.generation, opt.evaluations, 0.0, 0.0, 0.0, 0.0, 0, 0.0, 0.0,
                                np.zeros(1), done))
        return statefile.loads(path.read_bytes())

    assert [generation()["run"]["generation"] for _ in range(5)] == [1, 1, 1, 1, 1]
    asked = opt.ask()                                 # interrupted in generation 6, after its ask
    ck.on_end(None)
    saved = statefile.loads(path.read_bytes())
    assert saved["run"]["generation"] == saved["optimizer"]["generation"] == 5
    again = evornn.optimizer("xnes", 3, seed=0)
    again.load_state_dict(saved["optimizer"])
    np.testing.assert_array_equal(again.ask(), asked)     # resumes to the uninterrupted run
    ck.every_s = 0.0
    assert generation()["run"]["generation"] == 6
    ck.every_s = 3600
    assert generation(done=True)["run"]["generation"] == 7    # the run's last: written at once
    assert before == [1, 5, 6, 7]


def test_best_npz_is_written_with_the_checkpoint(tmp_path, monkeypatch):
    import evornn.listeners
    from evornn.run import BEST, CHECKPOINT, read_best
    monkeypatch.setattr(evornn.listeners, "CHECKPOINT_EVERY_S", 3600.0)
    seen = []

    class Watch:
        def on_generation(self, record):
            saved = statefile.loads((d / CHECKPOINT).read_bytes())["run"]
            seen.append((record.best_so_far, saved["best_fitness"], read_best(d)[1]))

        def on_end(self, summary):
            pass

    assert cli.main(["run", "dpnv", "--seed", "1", "--quiet", "--out", str(tmp_path / "whole"),
                     "--generations", "8"]) == 1
    whole = next((tmp_path / "whole").iterdir())
    d = tmp_path / "stopped" / whole.name
    d.mkdir(parents=True)
    shutil.copy(whole / "config.json", d)
    run_loop(d, quiet=True, stop_after=6, listeners=[Watch()])
    first = seen[0][0]
    assert seen == [(best, first, first) for best, _, _ in seen] and seen[-1][0] > first
    assert read_best(d)[1] == seen[-1][0]                 # written when the process stopped
    assert run_loop(d, quiet=True)["best_fitness"] == read_best(whole)[1]
    assert (d / BEST).read_bytes() == (whole / BEST).read_bytes()
