"""What watches a run: each generation's record handed to listeners, and the ones a run has.

A listener is any object with ``on_generation(record)`` (after every generation, in order)
and ``on_end(summary)`` (once, when the loop stops: the summary of a finished run, or None
when the process stops early, interrupted or by ``stop_after``). ``run_loop`` writes
metrics.csv, checkpoint.npz, the progress bar and fitness.png through the listeners here and
then calls any listeners it is given; docs/listeners.md shows one attached in a few lines.
"""
from __future__ import annotations

import copy
import csv
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import statefile

METRIC_FIELDS = ["generation", "evaluations", "best", "mean", "median", "std", "failures",
                 "best_so_far", "wall_time_s"]
PLOT = "fitness.png"
# at most this many seconds of a run's generations are lost to a kill -9 or a power cut (then
# run again by resume, to the same result)
CHECKPOINT_EVERY_S = 1.0


@dataclass(frozen=True)
class Record:
    """One generation of a run: the metrics.csv row's numbers, and more for listeners."""

    generation: int
    evaluations: int
    best: float              # the generation's best finite fitness (NaN when all failed)
    mean: float
    median: float
    std: float
    failures: int            # individuals whose fitness was not finite
    best_so_far: float       # the run's best network's fitness (-inf until one is finite)
    wall_time_s: float       # the run's time in generations so far, rounded to 0.1 ms
    fitness: np.ndarray      # the generation's whole fitness vector, as evaluated
    done: bool = False       # the run ends after this generation
    stop_reason: str = ""    # why it ends: solved, budget, generations or the optimizer's words
    sigma: float | None = None  # the optimizer's step size after this generation (None: none)
    counters: dict | None = None  # the problem's running totals (gym: env_steps), if it keeps any

    def row(self) -> list:
        """The metrics.csv row: METRIC_FIELDS in order, then the problem's counters."""
        return [getattr(self, k) for k in METRIC_FIELDS] + list((self.counters or {}).values())


def atomic_write(path: Path, data: bytes, keep: Path | None = None) -> None:
    """Write path whole or not at all (a kill never leaves half a file); with ``keep``, the
    file it replaces moves there first."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    if keep is not None and path.exists():
        os.replace(path, keep)
    os.replace(tmp, path)


class MetricsCSV:
    """metrics.csv: a header, then one row a generation. ``kept`` (resuming) is the number of
    generations the checkpoint covers (None: no checkpoint): later rows, written before a
    kill, are dropped. ``counters``: the problem's counters' names, columns after the rest."""

    def __init__(self, path: Path, kept: int | None = None, counters: Sequence[str] = ()):
        self.path = path
        if path.exists():
            # no checkpoint yet (kept None): a kill came before the first one, after its row
            _truncate_rows(path, kept or 0)
        else:
            with open(path, "w", newline="") as f:
                csv.writer(f).writerow([*METRIC_FIELDS, *counters])

    def on_generation(self, record: Record) -> None:
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow(record.row())

    def on_end(self, summary) -> None:
        pass


def _truncate_rows(path: Path, generations: int) -> None:
    """Keep the header and the rows of generations the checkpoint covers (a kill can land
    between writing a row and writing its checkpoint)."""
    if not path.exists():
        return
    rows = path.read_text().splitlines()
    atomic_write(path, ("\n".join(rows[:1 + generations]) + "\n").encode())


def previous(path: Path) -> Path:
    """Where the checkpoint before path's is kept (checkpoint.prev.npz beside checkpoint.npz)."""
    return path.with_name(path.stem + ".prev" + path.suffix)


class Checkpoint:
    """checkpoint.npz: the optimizer's state and the run's (``state`` is the loop's own dict,
    read at each generation's end), enough to resume to the same result, in a file that
    loads without pickle (evornn/statefile.py). Written after the first generation a process
    runs, then once ``every_s`` seconds have passed since the last one, after the run's last
    generation, and at the end of the process's work (Ctrl-C, an error, ``stop_after``): the
    fsync of each costs milliseconds, more than a generation of a small problem. The one before
    stays beside it (``previous``). ``before``: called before each write (the run's best.npz,
    kept as durable as the checkpoints). ``replaces``: files of an older format, removed once
    the first new checkpoint is written."""

    def __init__(self, path: Path, optimizer, state: dict, replaces: Sequence[Path] = (),
                 every_s: float | None = None, before=None):
        self.path, self.optimizer, self.state = path, optimizer, state
        self.replaces = list(replaces)
        self.every_s = CHECKPOINT_EVERY_S if every_s is None else every_s
        self.before = before
        self.pending, self.written = None, None

    def on_generation(self, record: Record) -> None:
        # a snapshot now: a Ctrl-C during the next generation finds the optimizer past its ask()
        self.pending = {"optimizer": self.optimizer.state_dict(), "run": copy.deepcopy(self.state)}
        if record.done or self.written is None or time.monotonic() - self.written >= self.every_s:
            self._write()

    def on_end(self, summary) -> None:
        self._write()

    def _write(self) -> None:
        if self.before is not None:
            self.before()
        if self.pending is None:
            return
        atomic_write(self.path, statefile.dumps(self.pending), keep=previous(self.path))
        self.pending, self.written = None, time.monotonic()
        for old in self.replaces:
            old.unlink(missing_ok=True)
        self.replaces = []


class ProgressBar:
    """A tqdm bar of evaluations with the generation, best so far and generation mean."""

    def __init__(self, total: int, initial: int, desc: str):
        from tqdm import tqdm
        self.bar = tqdm(total=total, initial=initial, unit="eval", dynamic_ncols=True, desc=desc)

    def on_generation(self, record: Record) -> None:
        # the bar redraws at most ten times a second (tqdm's mininterval), not at every
        # generation: 400 redraws were 2-4% of a dpnv run's CPU
        self.bar.set_postfix(gen=record.generation, best=f"{record.best_so_far:.4g}",
                             mean=f"{record.mean:.3g}", refresh=False)
        self.bar.update(record.evaluations - self.bar.n)

    def on_end(self, summary) -> None:
        self.bar.close()


class FitnessPlot:
    """fitness.png when the run finishes; a failed plot is a warning, never a failed run."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir

    def on_generation(self, record: Record) -> None:
        pass

    def on_end(self, summary) -> None:
        if summary is None:
            return
        try:
            plot_fitness(self.run_dir)
        except Exception as e:
            import warnings
            warnings.warn(f"no fitness plot written: {e}", stacklevel=2)


def read_metrics(run_dir) -> dict[str, list[float]]:
    """metrics.csv as columns of floats."""
    with open(Path(run_dir) / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows] for k in (rows[0] if rows else {})}


def plot_fitness(run_dir) -> Path:
    """Best, best-so-far and mean fitness against evaluations, written to fitness.png."""
    from .lineplot import line_plot
    d = Path(run_dir)
    m = read_metrics(d)
    cfg = json.loads((d / "config.json").read_text())
    series = [(m.get("evaluations", []), m.get(k, []), style) for k, style in (
        ("best_so_far", ("best so far", 2, 1.0)), ("best", ("generation best", 1, 0.7)),
        ("mean", ("generation mean", 1, 0.7)))]
    out = d / PLOT
    tmp = d / (PLOT + ".tmp.png")
    line_plot(tmp, series, f"{cfg['problem']}: {cfg['arch']} {cfg['hidden']}, {cfg['optimizer']}, "
                           f"seed {cfg['seed']}", "evaluations", "fitness")
    tmp.replace(out)
    return out
