"""mso-gen by BPTT: teacher forcing against what the literature does for free-running generation.

    python -m benchmarks.mso_gen [--rows 0,1,...] [--seed S]
    python -m benchmarks.mso_gen --pair [--k 2] [--hidden 16] [--seeds 0-2] [--max-evals 1500]

Each row is one to three `python -m evornn run mso-gen` runs (Adam): a first run from the
network's initialization, then runs each started (--init) from the one before's best
network with other options (a lower learning rate, or free-running training); a row stops
at its first solved run.
Printed for each: whether the last run was solved (free-running NRMSE < 0.05 over steps
301-600), its best teacher-forced one-step MSE (minus the fitness) and the free-running NRMSE
of two networks: the run's best (by that fitness, its best.npz) and the one the trainer
ended with (its checkpoint), which differ when the free run is trained. A solved run
stops at the first generation whose network passes.

--pair: the clockwork RNN (hrnn, --hidden units, its default partition: four modules of
periods 1, 2, 4, 8) against the Elman network whose weight count is nearest, each by the
problem's default trainer (BPTT, Adam) for --max-evals evaluations on the same seeds, on
MSO with --k sines (2: mso-gen itself; 3 to 5: ``mso_gen.problem(k)`` through a problem
file). Printed per run: the weights, solved, the teacher-forced MSE, the free-running NRMSE
of its best network and the wall seconds.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import evornn
from evornn import statefile
from evornn.bptt import GradientTrainer
from evornn.problem import get_problem

HRNN = ["--arch", "hrnn", "--hidden", "16"]
NOISE = ["feedback_noise=0.01"]
FREE = ["teacher_forcing=0", "warmup=100", "closed_loop=True", "lr=0.001"]
SCHEDULED = ["teacher_forcing=0.9", "anneal=40", "warmup=100", "closed_loop=True", "lr=0.003"]
# (name, network, seed, [(options, evaluations) a stage])
ROWS = [
    ("GRU 8, teacher forcing", [], 0, [([], 2200)]),
    ("GRU 8, noise 0.01", [], 0, [(NOISE, 2200)]),
    ("GRU 8, noise 0.01, then free-running (closed loop)", [], 0, [(NOISE, 2200), (FREE, 275)]),
    ("GRU 8, noise 0.01, then scheduled sampling 0.9 -> 0 (closed loop)", [], 0,
     [(NOISE, 2200), (SCHEDULED, 550)]),
    ("hrnn 16, teacher forcing, then lr 0.001", HRNN, 1, [([], 1500), (["lr=0.001"], 550)]),
    ("hrnn 16, noise 0.01, then lr 0.001, then 0.0003", HRNN, 1,
     [(NOISE, 1500), (NOISE + ["lr=0.001"], 550), (NOISE + ["lr=0.0003"], 550)]),
    ("hrnn 16, noise 0.01, then lr 0.001, then 0.0003", HRNN, 2,
     [(NOISE, 1500), (NOISE + ["lr=0.001"], 550), (NOISE + ["lr=0.0003"], 550)]),
]


def best_genome(run_dir: Path):
    """The run's best network by its fitness, as (net, genome)."""
    net = evornn.load(run_dir)
    return net, net.genome


def last_genome(run_dir: Path):
    """The network a gradient run ended with (its checkpoint's module), as (net, genome)."""
    net = evornn.load(run_dir)
    saved = statefile.loads((run_dir / "checkpoint.npz").read_bytes())
    tr = GradientTrainer("bptt", get_problem("mso-gen"), net)
    tr.load_state_dict(saved["optimizer"])
    return net, tr.genome()


def free_nrmse(net, genome, k: int = 2) -> float:
    """The free-running NRMSE on steps 301-600 (the problem's success measure), MSO with k sines."""
    from evornn.problems import mso_gen
    from evornn.problems.mso import nrmse
    y = mso_gen.SCALE * mso_gen.series(mso_gen.N_TEACHER + mso_gen.N_TEST + 1, k)
    return float(nrmse(y[mso_gen.N_TEACHER:mso_gen.N_TEACHER + mso_gen.N_TEST],
                       mso_gen.free_run(net, genome, k)))


def run(network: list[str], options: list[str], seed: int, evals: int, out: Path,
        init: Path | None = None) -> dict:
    """One mso-gen run through the CLI: its summary and the free-running NRMSE of its last network."""
    args = [*network, "--seed", str(seed), "--max-evals", str(evals)]
    for o in options:
        args += ["--option", o]
    cmd = [sys.executable, "-m", "evornn", "run", "mso-gen", *args, "--quiet", "--out", str(out)]
    if init is not None:
        cmd += ["--init", str(init)]
    subprocess.run(cmd, check=False, capture_output=True, text=True)     # exit 1: not solved
    d = next(out.iterdir())
    summary = json.loads((d / "summary.json").read_text())
    return {"dir": d, "solved": summary["solved"], "evaluations": summary["evaluations"],
            "mse": -summary["best_fitness"], "free_best": free_nrmse(*best_genome(d)),
            "free_last": free_nrmse(*last_genome(d)),
            "command": " ".join(["run mso-gen", *args, *(["--init FIRST"] if init else [])])}


def pair_run(problem: str, arch: str, hidden: int, seed: int, evals: int, k: int,
             out: Path) -> dict:
    """One BPTT run of ``problem`` (a name or a problem file) by the CLI: its summary, the
    free-running NRMSE of its best network, its weight count and wall seconds."""
    cmd = [sys.executable, "-m", "evornn", "run", problem, "--arch", arch, "--hidden",
           str(hidden), "--seed", str(seed), "--max-evals", str(evals), "--quiet", "--out",
           str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=False, capture_output=True, text=True)     # exit 1: not solved
    wall = time.perf_counter() - t0
    d = next(out.iterdir())
    summary = json.loads((d / "summary.json").read_text())
    net, genome = best_genome(d)
    return {"solved": summary["solved"], "evaluations": summary["evaluations"],
            "mse": -summary["best_fitness"], "free": free_nrmse(net, genome, k),
            "n_params": net.n_params, "seconds": wall}


def pair(k: int, hidden: int, seeds: list[int], evals: int) -> None:
    """hrnn against the Elman network of (nearly) its weight count on MSO with k sines."""
    n = evornn.Network("hrnn", 1, hidden, 1).n_params
    he = min(range(1, 4 * hidden), key=lambda h: abs(evornn.Network("elman", 1, h, 1).n_params - n))
    print(f"MSO{k}, BPTT (Adam, the problem's defaults), {evals} evaluations; hrnn {hidden} has "
          f"{n} weights, elman {he} {evornn.Network('elman', 1, he, 1).n_params}", flush=True)
    print("| network | weights | seed | solved | evaluations | teacher-forced MSE | "
          "free-running NRMSE | s |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        problem = "mso-gen"
        if k != 2:
            problem = str(Path(tmp) / f"mso{k}_gen.py")
            Path(problem).write_text("from evornn.problems import mso_gen\n\n"
                                     f"PROBLEM = mso_gen.problem({k})\n")
        for s in seeds:
            for arch, h in (("hrnn", hidden), ("elman", he)):
                r = pair_run(problem, arch, h, s, evals, k, Path(tmp) / f"{arch}-{s}")
                print(f"| `{arch}` {h} | {r['n_params']} | {s} | {r['solved']} | "
                      f"{r['evaluations']} | {r['mse']:.2g} | {r['free']:.3g} | "
                      f"{r['seconds']:.0f} |", flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default=",".join(str(i) for i in range(len(ROWS))),
                    help=f"which rows, by index 0-{len(ROWS) - 1}")
    ap.add_argument("--seed", type=int, default=None, help="in place of each row's own seed")
    ap.add_argument("--pair", action="store_true", help="hrnn against Elman of as many weights")
    ap.add_argument("--k", type=int, default=2, choices=range(1, 6), help="--pair: MSO's sines")
    ap.add_argument("--hidden", type=int, default=16, help="--pair: hrnn's units")
    ap.add_argument("--seeds", default="0-2", help="--pair: seeds, lo-hi")
    ap.add_argument("--max-evals", type=int, default=1500, help="--pair: evaluations a run")
    a = ap.parse_args(argv)
    if a.pair:
        lo, _, hi = a.seeds.partition("-")
        pair(a.k, a.hidden, list(range(int(lo), int(hi or lo) + 1)), a.max_evals)
        return
    print("| set-up | seed | solved | evaluations | teacher-forced MSE | free-running NRMSE, best / last "
          "| commands |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for i in (int(r) for r in a.rows.split(",")):
            name, network, seed, stages = ROWS[i]
            seed = seed if a.seed is None else a.seed
            init, cmds, evals = None, [], 0
            for k, (options, budget) in enumerate(stages):
                r = run(network, options, seed, budget, Path(tmp) / f"{i}-{k}", init)
                init, evals = r["dir"], evals + r["evaluations"]
                cmds.append(f"`{r['command']}`")
                if r["solved"]:
                    break
            free = f"{r['free_best']:.3g} / {r['free_last']:.3g}"
            print(f"| {name} | {seed} | {r['solved']} | {evals} | {r['mse']:.2g} | {free} | "
                  f"{'; '.join(cmds)} |", flush=True)


if __name__ == "__main__":
    main()
