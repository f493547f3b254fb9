"""Environment steps to reach the scores of Salimans et al. (2017)'s Table 3 on MuJoCo.

    python -m benchmarks.mujoco [--rows swimmer-fixed,idp] [--seeds 0,1,2] [--budget-factor 1.1]
                                [--workers 2] [--out DIR] [--stop-at-target]

Each row is ``python -m evornn run gym:ENV --seed S --max-env-steps B ...`` with the row's
options (a subprocess; B = the budget factor times OpenAI-ES's steps). A seed reaches the
target at the first generation whose best fitness is at least the target; the best
fitness of a generation is its best genome's mean return over the problem's episodes (3;
HalfCheetah-v5: 1) from that generation's starting states, and the steps counted are
``env_steps`` of metrics.csv at that generation's end (every episode evaluated so far, that generation's
included; champions' test episodes not counted). ``--stop-at-target`` ends each run there
(the CLI's ``--target``): the same steps, without the rest of the budget. Printed per seed: those steps (or
``-`` when the budget ran out first), the run's best fitness, and the median over seeds
(a seed that did not reach counts as more than the budget: the median is ``-`` when half
or more did not). OpenAI-ES's steps beside it: the paper's Table 3, TRPO's score at 5 M
steps as the target, on the v1 environments (ours are v5: different models and rewards).

A stricter reading, because a generation's best over 3 episodes can be a lucky start: the
run's best network (best.npz; with ``--stop-at-target`` the champion of the generation that
reached) is evaluated again on 10 fresh episodes, whose starting states come from the key
FRESH_KEY that no training generation uses (those use (seed, generation)), with the
observation statistics it was evaluated with. Printed beside each seed as ``fresh F``; with
``--stop-at-target`` the strict median counts a seed as reached at its steps only when F is
at least the target, and as not reached otherwise (the run stopped there: a later champion
that holds is not looked for, so the strict median is an upper bound on steps).
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

# row name: (environment, target, OpenAI-ES steps in the paper, extra run arguments);
# a row without normalize= takes the problem's default for its environment
RUNNING, FIXED = ["--problem-option", "normalize=running"], ["--problem-option", "normalize=fixed"]
CTRNN = ["--arch", "ctrnn", "--hidden", "8"]
# the search before HalfCheetah-v5 had its own defaults (problems/_mujoco_defaults.py)
GENERAL = ["--problem-option", "episodes=3", "--optimizer", "xnes", "--popsize", "16", "--sigma0", "0.5"]
# three episodes an evaluation: the Swimmer rows measured before Swimmer-v5's default of one
EP3 = ["--problem-option", "episodes=3"]
ROWS = {
    "swimmer": ("Swimmer-v5", 128.0, 1.39e6, []),
    "swimmer-running": ("Swimmer-v5", 128.0, 1.39e6, RUNNING + EP3),
    "swimmer-fixed": ("Swimmer-v5", 128.0, 1.39e6, FIXED + EP3),
    "swimmer-ctrnn": ("Swimmer-v5", 128.0, 1.39e6, CTRNN + EP3),
    "swimmer-ctrnn-running": ("Swimmer-v5", 128.0, 1.39e6, CTRNN + RUNNING + EP3),
    "swimmer-ctrnn-fixed": ("Swimmer-v5", 128.0, 1.39e6, CTRNN + FIXED + EP3),
    "halfcheetah": ("HalfCheetah-v5", 2386.0, 2.88e6, []),
    "halfcheetah-general": ("HalfCheetah-v5", 2386.0, 2.88e6, GENERAL),
    "halfcheetah-sigma05": ("HalfCheetah-v5", 2386.0, 2.88e6, ["--popsize", "16", "--sigma0", "0.5"]),
    "halfcheetah-ctrnn": ("HalfCheetah-v5", 2386.0, 2.88e6, CTRNN),
    "halfcheetah-ctrnn-sigma05": ("HalfCheetah-v5", 2386.0, 2.88e6, CTRNN + ["--sigma0", "0.5"]),
    "idp": ("InvertedDoublePendulum-v5", 9104.0, 5.39e6, []),
    "idp-running": ("InvertedDoublePendulum-v5", 9104.0, 5.39e6, RUNNING),
    "idp-fixed": ("InvertedDoublePendulum-v5", 9104.0, 5.39e6, FIXED),
    "idp-pop64": ("InvertedDoublePendulum-v5", 9104.0, 5.39e6, ["--popsize", "64", "--sigma0", "0.2"]),
    "hopper": ("Hopper-v5", 3403.0, 3.16e7, []),
    "walker2d": ("Walker2d-v5", 3830.0, 3.79e7, []),
}


def steps_to_target(rows: list[dict], target: float) -> int | None:
    """env_steps at the first metrics.csv row whose best is at least target (None: never)."""
    for r in rows:
        if float(r["best"]) >= target:
            return int(r["env_steps"])
    return None


FRESH_KEY, FRESH_EPISODES = (10**9,), 10


def strict_steps(steps: int | None, fresh: float, target: float) -> int | None:
    """steps when the champion at the stop also holds the target on fresh episodes, else None."""
    return steps if steps is not None and fresh >= target else None


def fresh_return(run_dir: Path, episodes: int = FRESH_EPISODES) -> float:
    """Mean return of the run's best network over episodes fresh starting states (FRESH_KEY),
    under the observation statistics saved with it."""
    import numpy as np

    from evornn.backends import compute_module, use_backend
    from evornn.population import computing
    from evornn.problem import get_problem
    from evornn.run import load, read_config, read_problem_state
    cfg = read_config(run_dir)
    use_backend(cfg.backend, cfg.workers)
    prob = get_problem(cfg.problem, {**(cfg.problem_options or {}), "episodes": episodes})
    saved = read_problem_state(run_dir)
    if saved is not None:
        prob.set_state(saved)
    net = load(run_dir)
    try:
        with computing(compute_module(cfg.backend)):
            return float(np.asarray(prob.evaluate(net, net.genome[None], FRESH_KEY))[0])
    finally:
        if prob.close is not None:
            prob.close()


def median_steps(steps: list[int | None]) -> float | None:
    """Median over seeds, a seed that never reached counting as infinitely many steps."""
    s = sorted(float("inf") if v is None else float(v) for v in steps)
    n = len(s)
    m = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return None if m == float("inf") else m


def one_run(row: str, seed: int, budget: int, workers: int, out: Path,
            stop: bool = False) -> tuple[int | None, float, int, float]:
    """(steps to the row's target or None, the run's best fitness, its env_steps, its best
    network's fresh_return) for one seed; stop: end the run at the target."""
    env, target, _, extra = ROWS[row]
    run_dir = out / f"{row}-s{seed}"
    cmd = [sys.executable, "-m", "evornn", "run", f"gym:{env}", "--seed", str(seed),
           "--workers", str(workers), "--max-env-steps", str(budget), "--max-evals", str(10**9),
           "--out", str(run_dir), "--quiet", *extra, *(["--target", str(target)] if stop else [])]
    rc = subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode
    if rc not in (0, 1):        # 1: the run ended unsolved (the environment's threshold), as expected
        raise RuntimeError(f"{' '.join(cmd)} exited with {rc}")
    (metrics,) = run_dir.glob("*/metrics.csv")
    with open(metrics) as f:
        rows = list(csv.DictReader(f))
    return (steps_to_target(rows, target), max(float(r["best"]) for r in rows),
            int(rows[-1]["env_steps"]), fresh_return(metrics.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default="swimmer-running,swimmer-fixed",
                    help=f"comma-separated, of: {', '.join(ROWS)}")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--budget-factor", type=float, default=1.1,
                    help="each run's step budget, times OpenAI-ES's steps to the target")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="keep the run directories here (default: a temporary one)")
    ap.add_argument("--stop-at-target", action="store_true", help="end each run when it reaches the target")
    args = ap.parse_args()
    rows = args.rows.split(",")
    for r in rows:
        if r not in ROWS:
            ap.error(f"unknown row {r!r}; valid: {', '.join(ROWS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        print("| row | target | seed: steps to target (best; fresh) | median | strict median "
              "| OpenAI-ES (v1) |")
        print("|---|---|---|---|---|---|")
        for row in rows:
            env, target, es_steps, _ = ROWS[row]
            budget = int(args.budget_factor * es_steps)
            got = [(s, *one_run(row, s, budget, args.workers, out, args.stop_at_target)) for s in seeds]
            cells = ", ".join(f"{s}: {'-' if k is None else f'{k:,}'} ({b:.0f}; fresh {fr:.0f})"
                              for s, k, b, _, fr in got)
            med = median_steps([k for _, k, _, _, _ in got])
            strict = median_steps([strict_steps(k, fr, target) for _, k, _, _, fr in got])
            # without the stop, best.npz is the best network of the whole run, not the one
            # that reached: no strict reading
            strict_cell = ("-" if strict is None else f"{strict:,.0f}") if args.stop_at_target else "n/a"
            print(f"| {row} | {target:,.0f} | {cells} | {'-' if med is None else f'{med:,.0f}'} "
                  f"(budget {budget:,}) | {strict_cell} | {es_steps:.3g} |", flush=True)


if __name__ == "__main__":
    main()
