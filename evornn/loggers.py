"""Logging a run to TensorBoard or MLflow (``--log tensorboard``, ``--log mlflow``).

Both are listeners (evornn/listeners.py) that the run loop builds from the run's config, so
``resume`` logs on to the same place. They see each generation before its checkpoint is
written: a generation that a kill cut off between the two is run again on resuming, and
logged again. TensorBoard is then told to drop the steps from there on (its restart marker,
which its readers honour); MLflow, which cannot drop a step, keeps the steps it has. Either
way each generation is one step, logged once. docs/listeners.md says how to open the logs.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .listeners import METRIC_FIELDS, Record, atomic_write
from .options import unknown

TENSORBOARD = "tensorboard"          # RUN_DIR/tensorboard/: the event files
MLFLOW_RUN = "mlflow.json"           # RUN_DIR/mlflow.json: the store and run id to log on to
DEFAULT_STORE = "mlruns"             # the MLflow store without MLFLOW_TRACKING_URI: ./mlruns
EXPERIMENT = "evornn"                # the MLflow experiment without MLFLOW_EXPERIMENT_NAME
# the record's numbers that are logged each generation (the step is the generation)
SCALARS = METRIC_FIELDS[1:]
HISTOGRAM_BINS = 30

# logger -> (the extra that installs it, the modules it imports)
LOGGERS = {
    "tensorboard": ("tensorboard", ("tensorboard.summary.writer.event_file_writer",
                                    "tensorboard.compat.proto.event_pb2")),
    "mlflow": ("mlflow", ("mlflow.tracking", "mlflow.entities")),
}


class LoggerError(ValueError):
    """A logger that cannot log (its package missing, its MLflow run gone): one line."""


def parse_loggers(values) -> list[str] | None:
    """``--log`` values (a name, names separated by commas, or a list of either) as a list
    of distinct known names in the order given, or None for none; LoggerError otherwise."""
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    names = []
    for value in values:
        if not isinstance(value, str):
            raise LoggerError(f"--log takes names ({', '.join(LOGGERS)}), got {value!r}")
        for name in (n.strip() for n in value.split(",")):
            if name and name not in LOGGERS:
                raise LoggerError(str(unknown("logger", name, list(LOGGERS))))
            if name and name not in names:
                names.append(name)
    return names or None


def check_installed(names) -> None:
    """LoggerError naming the extra to install when a logger's package does not import."""
    import importlib
    for name in names or ():
        extra, modules = LOGGERS[name]
        try:
            for module in modules:
                importlib.import_module(module)
        except Exception as e:        # not installed, or installed against a broken dependency
            raise LoggerError(f"--log {name} needs the {extra} package: pip install "
                              f"'evornn[{extra}]' ({type(e).__name__}: {e})") from None


def make_loggers(names, run_dir: Path, cfg, kept: int | None) -> list:
    """The listeners of ``names`` for run_dir; ``kept``: the generations the checkpoint
    being resumed covers (None: a new run)."""
    check_installed(names)
    makers = {"tensorboard": lambda: TensorBoardLog(run_dir, kept),
              "mlflow": lambda: MLflowLog(run_dir, cfg)}
    return [makers[n]() for n in names or ()]


def _values(record: Record) -> dict[str, float]:
    """The numbers logged for a generation: metrics.csv's columns and the step size."""
    out = {k: float(getattr(record, k)) for k in SCALARS}
    if record.sigma is not None:
        out["sigma"] = float(record.sigma)
    return out


class TensorBoardLog:
    """RUN_DIR/tensorboard/: the record's numbers as scalars and the generation's finite
    fitness as a histogram, step = generation, written with TensorBoard's own event writer
    (no TensorFlow, no torch)."""

    def __init__(self, run_dir: Path, kept: int | None = None):
        from tensorboard.compat.proto.event_pb2 import Event, SessionLog
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
        log_dir = Path(run_dir) / TENSORBOARD
        earlier = any(log_dir.glob("events.out.tfevents.*"))
        if earlier:
            _after_newest_event_file(log_dir)
        self.writer = EventFileWriter(str(log_dir))
        if earlier:
            # the restart marker: readers drop what an earlier process logged from this step
            # on (the generations after its last checkpoint, or all when it wrote none)
            self.writer.add_event(Event(wall_time=time.time(), step=(kept or 0) + 1,
                                        session_log=SessionLog(status=SessionLog.START)))

    def on_generation(self, record: Record) -> None:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary
        values = [Summary.Value(tag=k, simple_value=v) for k, v in _values(record).items()]
        histogram = fitness_histogram(record.fitness)
        if histogram is not None:
            values.append(Summary.Value(tag="fitness", histo=histogram))
        self.writer.add_event(Event(wall_time=time.time(), step=record.generation,
                                    summary=Summary(value=values)))
        # on disk before the checkpoint: a kill never loses a checkpointed generation's step
        self.writer.flush()

    def on_end(self, summary) -> None:
        self.writer.close()


def fitness_histogram(fitness: np.ndarray):
    """A TensorBoard HistogramProto of the finite values of fitness (None when there are
    none): HISTOGRAM_BINS equal bins from the smallest to the largest."""
    from tensorboard.compat.proto.summary_pb2 import HistogramProto
    f = np.asarray(fitness, dtype=np.float64)
    f = f[np.isfinite(f)]
    if f.size == 0:
        return None
    lo, hi = float(f.min()), float(f.max())
    if lo == hi:
        limits, counts = [hi], [f.size]
    else:
        counts, edges = np.histogram(f, bins=HISTOGRAM_BINS, range=(lo, hi))
        limits, counts = edges[1:].tolist(), counts.tolist()
    return HistogramProto(min=lo, max=hi, num=f.size, sum=float(f.sum()),
                          sum_squares=float(f @ f), bucket_limit=limits, bucket=counts)


def _after_newest_event_file(log_dir: Path) -> None:
    """Wait, if need be, until the clock's second is past the newest event file's: readers
    take the files in name order, and the name starts with the second it was made in (a
    resume in the same second would otherwise sort by process id)."""
    seconds = [int(p.name.split(".")[3]) for p in log_dir.glob("events.out.tfevents.*")
               if p.name.split(".")[3].isdigit()]
    if seconds:
        while time.time() < max(seconds) + 1:
            time.sleep(max(seconds) + 1 - time.time() + 0.01)


def tracking_uri() -> str:
    """Where MLflow logs: MLFLOW_TRACKING_URI, a plain path made absolute, else ./mlruns."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_STORE
    if ":" not in uri:                    # a folder: the file store, named so that a resume
        uri = Path(uri).resolve().as_uri()  # from another folder finds it
    return uri


def _client(uri: str):
    """An MlflowClient of the store at uri."""
    if uri.startswith("file:"):
        # MLflow 3 refuses its file store unless told it is wanted; ./mlruns is the store
        # asked for (a database store needs SQLAlchemy, which mlflow-skinny leaves out)
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.tracking import MlflowClient
    return MlflowClient(tracking_uri=uri)


def flat_params(cfg) -> dict[str, str]:
    """The run's config as MLflow params: nested options as ``options.KEY``, lists joined by
    commas, every value as text."""
    out = {}
    for k, v in asdict(cfg).items():
        for key, value in ({f"{k}.{i}": x for i, x in v.items()} if isinstance(v, dict)
                           else {k: v}).items():
            out[key] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return out


class MLflowLog:
    """One MLflow run a run directory (its id in RUN_DIR/mlflow.json): the config as
    params, the record's numbers as metrics (step = generation), and at the end the run
    directory's files as artifacts."""

    def __init__(self, run_dir: Path, cfg):
        from mlflow.entities import Param
        self.run_dir = Path(run_dir)
        path = self.run_dir / MLFLOW_RUN
        self.logged = 0                   # the last generation the MLflow run holds
        if path.exists():
            saved = json.loads(path.read_text())
            self.uri, self.run_id = saved["tracking_uri"], saved["run_id"]
            self.client = _client(self.uri)
            try:
                self.client.update_run(self.run_id, status="RUNNING")
                history = self.client.get_metric_history(self.run_id, SCALARS[0])
            except Exception as e:
                raise LoggerError(f"{path}: MLflow run {self.run_id} of {self.uri} cannot be "
                                  f"continued ({type(e).__name__}: {e})") from None
            self.logged = max((m.step for m in history), default=0)
            return
        self.uri = tracking_uri()
        self.client = _client(self.uri)
        run = self.client.create_run(_experiment(self.client), run_name=self.run_dir.name,
                                     tags={"evornn.run_dir": str(self.run_dir.resolve())})
        self.run_id = run.info.run_id
        params = [Param(k, v) for k, v in flat_params(cfg).items()]
        for i in range(0, len(params), 100):           # MLflow takes 100 params a batch
            self.client.log_batch(self.run_id, params=params[i:i + 100])
        atomic_write(path, json.dumps({"tracking_uri": self.uri, "run_id": self.run_id},
                                      indent=2).encode())

    def on_generation(self, record: Record) -> None:
        if record.generation <= self.logged:
            return         # logged before a kill cut the checkpoint off; the run repeats it
        from mlflow.entities import Metric
        ms = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[
            Metric(k, v, ms, record.generation) for k, v in _values(record).items()])
        self.logged = record.generation

    def on_end(self, summary) -> None:
        if summary is None:                # resume sets it running again
            self.client.set_terminated(self.run_id, status="KILLED")
            return
        for p in sorted(self.run_dir.iterdir()):
            if p.is_dir():
                self.client.log_artifacts(self.run_id, str(p), artifact_path=p.name)
            elif p.suffix not in (".lock", ".tmp"):          # run.lock: held while it runs
                self.client.log_artifact(self.run_id, str(p))
        self.client.set_tag(self.run_id, "evornn.stop_reason", summary.get("stop_reason", ""))
        self.client.set_tag(self.run_id, "evornn.solved", str(bool(summary.get("solved"))))
        self.client.set_terminated(self.run_id, status="FINISHED")


def _experiment(client) -> str:
    """The id of the experiment MLFLOW_EXPERIMENT_NAME (default evornn), made if new."""
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except Exception:                      # another process made it first
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id
