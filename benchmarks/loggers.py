"""What logging a generation costs: --log tensorboard and --log mlflow beside metrics.csv.

    python -m benchmarks.loggers [--generations 200] [--popsize 50]

Each listener's ``on_generation`` is timed on the same records (a popsize-long fitness
vector, sigma set), each in a fresh run directory; the ratio is to MetricsCSV's row,
measured in the same run. MLflow logs to a file store in a temporary folder, as it does to
./mlruns.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from evornn.listeners import MetricsCSV, Record
from evornn.run import CONFIG, RunConfig


def records(generations: int, popsize: int) -> list[Record]:
    """Records of a made-up run: random fitness, a shrinking sigma."""
    rng = np.random.default_rng(0)
    out = []
    for g in range(1, generations + 1):
        f = rng.standard_normal(popsize)
        out.append(Record(g, g * popsize, float(f.max()), float(f.mean()), float(np.median(f)),
                          float(f.std()), 0, float(f.max()), 0.01 * g, f, sigma=0.99 ** g))
    return out


def per_generation_ms(make, recs: list[Record]) -> float:
    """Median milliseconds of one on_generation call of the listener make() builds."""
    listener = make()
    times = []
    for r in recs:
        t0 = time.perf_counter()
        listener.on_generation(r)
        times.append(time.perf_counter() - t0)
    listener.on_end(None)
    return 1e3 * float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generations", type=int, default=200)
    ap.add_argument("--popsize", type=int, default=50)
    args = ap.parse_args()
    from evornn.loggers import MLflowLog, TensorBoardLog
    recs = records(args.generations, args.popsize)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MLFLOW_TRACKING_URI"] = str(Path(tmp) / "mlruns")
        cfg = RunConfig(problem="parity", arch="elman", hidden=3, optimizer="snes",
                        popsize=args.popsize, sigma0=1.0, max_evals=10**9, seed=0)

        def run_dir(name: str) -> Path:
            d = Path(tmp) / name
            d.mkdir()
            (d / CONFIG).write_text(json.dumps(asdict(cfg)))
            return d

        ref = per_generation_ms(lambda: MetricsCSV(run_dir("csv") / "metrics.csv"), recs)
        rows = [("metrics.csv (reference)", ref),
                ("tensorboard", per_generation_ms(lambda: TensorBoardLog(run_dir("tb")), recs)),
                ("mlflow", per_generation_ms(lambda: MLflowLog(run_dir("ml"), cfg), recs))]
    print(f"{args.generations} generations of popsize {args.popsize}: median ms a generation")
    for name, ms in rows:
        print(f"  {name:24} {ms:8.3f} ms  {ms / ref:6.1f}x metrics.csv")


if __name__ == "__main__":
    main()
