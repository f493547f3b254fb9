"""Evolution against gradients on one problem: several optimizers x seeds, one table.

``python -m evornn compare PROBLEM --optimizers xnes,cmaes,bptt --seeds 5`` runs every
(optimizer, seed) as an ordinary run (its own run directory, resumable, under one
comparison directory), then writes table.csv, table.md and compare.png (best fitness
against evaluations and against wall time) and prints the table. Evolution counts
evaluations and gradients count batches; sequences put both in one unit, as Hochreiter and
Schmidhuber 1997 count them: evolution's evaluations x sequences a batch, and the sequences a
gradient run trained on (its summary's training_sequences: not the batch of each
generation's fitness evaluation).
"""
from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

COLUMNS = ["optimizer", "runs", "solved", "success_rate", "median_evaluations_to_solve",
           "median_sequences_to_solve", "median_final_loss", "median_best_fitness",
           "median_wall_s"]


def comparison_dir(root: Path, problem: str) -> Path:
    """A fresh runs/compare-<problem>[-n] directory."""
    from .run import fresh_dir
    return fresh_dir(root, f"compare-{Path(problem).stem.replace(':', '-')}")


def _median(values) -> float:
    return float(np.median(values)) if len(values) else float("nan")


def summarize(optimizer: str, summaries: list[dict], has_loss: bool) -> dict:
    """One table row from the runs' summaries."""
    solved = [s for s in summaries if s["solved"]]
    evals = [s["evaluations"] for s in solved]
    per = [s.get("sequences_per_evaluation") for s in solved]
    # a gradient run counts the sequences it trained on; evolution, those its evaluations saw
    seqs = [s["training_sequences"] if "training_sequences" in s else e * p
            for s, e, p in zip(solved, evals, per) if p or "training_sequences" in s]
    best = [s["best_fitness"] for s in summaries]
    return {"optimizer": optimizer, "runs": len(summaries), "solved": len(solved),
            "success_rate": len(solved) / max(len(summaries), 1),
            "median_evaluations_to_solve": _median(evals),
            "median_sequences_to_solve": _median(seqs) if seqs else float("nan"),
            "median_final_loss": -_median(best) if has_loss else float("nan"),
            "median_best_fitness": _median(best),
            "median_wall_s": _median([s["wall_time_s"] for s in summaries])}


def _fmt(v) -> str:
    if isinstance(v, float):
        if np.isnan(v):
            return "-"
        return f"{v:.3g}" if abs(v) < 1e3 else f"{v:,.0f}"
    return str(v)


def format_table(rows: list[dict]) -> str:
    """The table as Markdown (what is printed and written to table.md)."""
    heads = ["optimizer", "solved", "median evaluations", "median sequences", "median final loss",
             "median best fitness", "median wall s"]
    keys = ["optimizer", None, "median_evaluations_to_solve", "median_sequences_to_solve",
            "median_final_loss", "median_best_fitness", "median_wall_s"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for r in rows:
        cells = [f"{r['solved']}/{r['runs']}" if k is None else _fmt(r[k]) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_comparison(configs: dict, seeds: list[int], root: Path, quiet: bool = True,
                   progress=print) -> tuple[Path, list[dict]]:
    """Run every optimizer's RunConfig (name -> config: problem, network, budget, options) on
    every seed; returns the comparison directory and the table rows."""
    from .problem import get_problem
    from .run import start
    problem = next(iter(configs.values())).problem
    prob = get_problem(problem)
    d = comparison_dir(root, problem)
    runs, rows = {}, []
    for name, base in configs.items():
        summaries = []
        for seed in seeds:
            run_dir, summary = start(replace(base, seed=seed), d, quiet=quiet)
            summaries.append(summary)
            runs.setdefault(name, []).append(run_dir.name)
            progress(f"{name} seed {seed}: {'solved' if summary['solved'] else 'not solved'} after "
                     f"{summary['evaluations']} evaluations, {summary['wall_time_s']:.1f} s")
        rows.append(summarize(name, summaries, prob.batch is not None))
    with open(d / "table.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    (d / "table.md").write_text(format_table(rows) + "\n")
    (d / "runs.json").write_text(json.dumps(runs, indent=2))
    try:
        plot_comparison(d, runs)
    except Exception as e:                # a missing plot must not lose the table
        import warnings
        warnings.warn(f"no compare.png written: {e}", stacklevel=2)
    return d, rows


def plot_comparison(d: Path, runs: dict) -> Path:
    """compare.png: every run's best fitness so far against evaluations and wall time."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, dirs) in enumerate(runs.items()):
        for k, rd in enumerate(dirs):
            with open(d / rd / "metrics.csv") as f:
                rows = list(csv.DictReader(f))
            if not rows:
                continue
            ev = [float(r["evaluations"]) for r in rows]
            wall = [float(r["wall_time_s"]) for r in rows]
            best = [float(r["best_so_far"]) for r in rows]
            kw = dict(color=colors[i % len(colors)], alpha=0.7, lw=1, label=name if k == 0 else None)
            axes[0].plot(ev, best, **kw)
            axes[1].plot(wall, best, **kw)
    for ax, xl in zip(axes, ("evaluations", "wall time (s)")):
        ax.set_xlabel(xl)
        ax.set_ylabel("best fitness so far")
        ax.set_xscale("symlog")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(d.name)
    fig.tight_layout()
    out = d / "compare.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
