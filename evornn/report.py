"""What a finished run shows: the fitness plot and a replay of its best network."""
from __future__ import annotations

import csv
import json
from pathlib import Path

PLOT = "fitness.png"


def read_metrics(run_dir) -> dict[str, list[float]]:
    """metrics.csv as columns of floats."""
    with open(Path(run_dir) / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows] for k in (rows[0] if rows else {})}


def plot_fitness(run_dir) -> Path:
    """Best, best-so-far and mean fitness against evaluations, written to fitness.png."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    d = Path(run_dir)
    m = read_metrics(d)
    cfg = json.loads((d / "config.json").read_text())
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if m:
        ax.plot(m["evaluations"], m["best_so_far"], label="best so far", lw=2)
        ax.plot(m["evaluations"], m["best"], label="generation best", lw=1, alpha=0.7)
        ax.plot(m["evaluations"], m["mean"], label="generation mean", lw=1, alpha=0.7)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("fitness")
    ax.set_title(f"{cfg['problem']}: {cfg['arch']} {cfg['hidden']}, {cfg['optimizer']}, "
                 f"seed {cfg['seed']}")
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = d / PLOT
    tmp = d / (PLOT + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(out)
    return out


def replay(run_dir) -> dict:
    """Evaluate the run's best network again and run the problem's success test on it."""
    import numpy as np

    from .problem import get_problem
    from .run import CONFIG, RunConfig, load, use_backend
    d = Path(run_dir)
    cfg = RunConfig(**json.loads((d / CONFIG).read_text()))
    use_backend(cfg.backend, cfg.workers)
    prob = get_problem(cfg.problem)
    net = load(d)
    g = net.genome
    f = float(np.asarray(prob.evaluate(net, g[None], (cfg.seed, 0)))[0])
    solved, info = prob.solved(net, g, f)
    out = {"problem": cfg.problem, "fitness": f, "solved": bool(solved), **info}
    if prob.inspect is not None:
        out.update(prob.inspect(net, g))
    return out
