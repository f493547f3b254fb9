"""The main command end to end, warm: ``python -m evornn run dpnv`` (seed 0, the default) run
as a fresh process N times, medians of wall and CPU time (user + sys of the process).

    python -m benchmarks.startup [--runs 5] [--problem dpnv] [--args "--seed 0"]
                                 [--against PATH] [--no-pyc]

One unmeasured run first warms numba's disk cache and Python's bytecode cache. Each run
writes its run directory into a fresh temporary folder. ``--against PATH``: another
checkout of evornn (e.g. the commit before a change) runs the same command, alternating
with this tree's runs, and the ratios this tree / that one are printed; without it the
reference is ``python -c "import evornn"`` in this tree. Children run with Python's
bytecode cache on, as an installed package does, unless ``--no-pyc`` (then every module
of the checkout is compiled from source in every run). EVORNN_THREADS is passed on.
"""
from __future__ import annotations

import argparse
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], tree: Path, pyc: bool, cwd: str) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one run of cmd with tree first on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    if pyc:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode not in (0, 1):
        raise SystemExit(f"{shlex.join(cmd)} failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def command(problem: str, extra: str, tmp: str) -> list[str]:
    """A run of problem into a fresh folder under tmp."""
    out = tempfile.mkdtemp(dir=tmp)
    return [sys.executable, "-m", "evornn", "run", problem, *shlex.split(extra), "--out", out]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--problem", default="dpnv")
    ap.add_argument("--args", default="", help='more options of the run, e.g. "--seed 1"')
    ap.add_argument("--against", type=Path, help="another evornn checkout, run alternately")
    ap.add_argument("--no-pyc", action="store_true", help="no bytecode cache in the children")
    args = ap.parse_args()
    pyc = not args.no_pyc
    ref_name = f"{args.against}" if args.against else 'python -c "import evornn"'
    import_cmd = [sys.executable, "-c", "import evornn"]
    trees = {"this tree": ROOT, ref_name: args.against or ROOT}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="evornn-startup-") as tmp:
        def cmd(name: str) -> list[str]:
            return import_cmd if name == ref_name and not args.against else \
                command(args.problem, args.args, tmp)
        for name in trees:                               # warm the caches, unmeasured
            timed(cmd(name), trees[name], pyc, tmp)
        for _ in range(args.runs):
            for name in trees:
                times[name].append(timed(cmd(name), trees[name], pyc, tmp))
    shown = shlex.join(["python", "-m", "evornn", "run", args.problem, *shlex.split(args.args)])
    print(f"{shown}: {args.runs} runs each, EVORNN_THREADS={os.environ.get('EVORNN_THREADS', '(unset)')}, "
          f"bytecode cache {'on' if pyc else 'off'}")
    med = {}
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        med[name] = (wall, cpu)
        each = ", ".join(f"{w:.2f}/{c:.2f}" for w, c in runs)
        print(f"  {name}: median wall {wall:.3f} s, CPU {cpu:.3f} s  (wall/CPU each: {each})")
    (w0, c0), (w1, c1) = med["this tree"], med[ref_name]
    print(f"  this tree / {ref_name}: wall {w0 / w1:.2f}x, CPU {c0 / c1:.2f}x")


if __name__ == "__main__":
    main()
