"""What a finished run shows: the fitness plot, a replay of its best network and pictures of
its trace (the problem draws its own through its ``pictures`` hook)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .listeners import PLOT, plot_fitness, read_metrics  # noqa: F401 (drawn by a run's listener)


def replay(run_dir) -> dict:
    """Evaluate the run's best network again and run the problem's success test on it."""
    from .backends import compute_module, use_backend
    from .population import computing
    from .problem import get_problem
    from .run import CONFIG, RunConfig, load
    d = Path(run_dir)
    cfg = RunConfig(**json.loads((d / CONFIG).read_text()))
    use_backend(cfg.backend, cfg.workers)
    prob = get_problem(cfg.problem)
    net = load(d)
    g = net.genome
    with computing(compute_module(cfg.backend)):
        f = float(np.asarray(prob.evaluate(net, g[None], (cfg.seed, 0)))[0])
        solved, info = prob.solved(net, g, f)
        out = {"problem": cfg.problem, "fitness": f, "solved": bool(solved), **info}
        if prob.inspect is not None:
            out.update(prob.inspect(net, g))
    return out


def plot_front(run_dir) -> tuple[Path, str]:
    """front.png: a multi-objective run's front, its first two objectives against each
    other; and one line with its size and each objective's extreme member."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .run import read_front
    d = Path(run_dir)
    _, F, names = read_front(d)
    fig, ax = plt.subplots(figsize=(5, 4))
    if F.shape[1] >= 2:
        order = np.argsort(F[:, 0])
        ax.plot(F[order, 0], F[order, 1], "o-", ms=4, lw=0.8)
        ax.set_ylabel(names[1])
    else:
        ax.plot(F[:, 0], np.zeros(len(F)), "o")
    ax.set_xlabel(names[0])
    ax.set_title(f"front: {len(F)} non-dominated (all maximized)")
    png = _save(fig, d / "front.png")
    ext = "; ".join(f"best {n}: member {int(np.argmax(F[:, j]))} ("
                    + ", ".join(f"{m} {F[int(np.argmax(F[:, j])), i] + 0.0:.6g}"
                                for i, m in enumerate(names)) + ")"
                    for j, n in enumerate(names))
    return png, f"front: {len(F)} members; {ext}"


def plot_traces(run_dir) -> list[Path]:
    """For problems with a trace (CTRNN robotics): activity.png (neuron rates and signals over
    time), phase.png (the first two neurons against each other), gait.png for traces with a
    stance (per leg over time), then the problem's own pictures (its ``pictures`` hook, e.g.
    the walkers' walk.gif). Returns the files written."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .problem import get_problem
    from .run import CONFIG, load
    d = Path(run_dir)
    cfg = json.loads((d / CONFIG).read_text())
    prob = get_problem(cfg["problem"])
    if prob.trace is None:
        return []
    net = load(d)
    tr = prob.trace(net, net.genome)
    t, R = tr["t"], tr["neurons"]
    signals = tr.get("signals", {})
    out = []
    fig, axes = plt.subplots(1 + len(signals), 1, figsize=(8, 2.2 * (1 + len(signals))),
                             sharex=True, squeeze=False)
    labels = neuron_labels(net, R.shape[1])
    for i in range(R.shape[1]):
        axes[0, 0].plot(t, R[:, i], lw=1, label=labels[i])
    axes[0, 0].set_ylabel("firing rate")
    axes[0, 0].legend(loc="upper right", fontsize=7, ncol=min(R.shape[1], 5))
    for ax, (name, v) in zip(axes[1:, 0], signals.items()):
        ax.plot(t, v, lw=1, color="k")
        ax.set_ylabel(name)
    axes[-1, 0].set_xlabel("time")
    out.append(_save(fig, d / "activity.png"))
    if R.shape[1] >= 2:
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        half = len(t) // 2                    # the settled half: the limit cycle, not the start
        ax.plot(R[half:, 0], R[half:, 1], lw=0.8)
        ax.set_xlabel("neuron 0")
        ax.set_ylabel("neuron 1")
        ax.set_title("phase plot (second half of the run)")
        out.append(_save(fig, d / "phase.png"))
    if "stance" in tr:
        S = np.asarray(tr["stance"], bool)
        names = tr.get("leg_names") or [f"leg {i}" for i in range(S.shape[1])]
        fig, ax = plt.subplots(figsize=(8, 0.6 + 0.5 * S.shape[1]))
        for leg in range(S.shape[1]):
            down = np.flatnonzero(S[:, leg])
            ax.broken_barh(_runs(t, down), (leg - 0.4, 0.8), color="k")
        ax.set_yticks(range(S.shape[1]))
        ax.set_yticklabels(names)
        ax.invert_yaxis()                     # the first leg on top
        ax.set_xlabel("time (black: stance, foot down)")
        out.append(_save(fig, d / "gait.png"))
    if prob.pictures is not None:
        out += prob.pictures(tr, d)
    return out


def neuron_labels(net, n: int) -> list[str]:
    """'neuron i', with the motor's name for neurons that are outputs (readout 'neurons')."""
    top = net.layers[-1]
    motors = net.outputs if top.opts.get("readout") == "neurons" and len(net.layers) == 1 else ()
    return [f"neuron {i}" + (f" ({motors[i]})" if i < len(motors) else "") for i in range(n)]


def save_gif(fig, draw, frames: int, path: Path) -> Path:
    """draw(k) for k < frames animated into path (written whole, then moved into place); the
    GIF writer problems' pictures hooks share."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter
    tmp = path.with_name(path.name + ".tmp.gif")
    FuncAnimation(fig, draw, frames=frames, blit=False).save(tmp, writer=PillowWriter(fps=15))
    plt.close(fig)
    tmp.replace(path)
    return path


def _runs(t, idx) -> list[tuple[float, float]]:
    """(start, width) of the runs of consecutive indices, in the units of t."""
    if len(idx) == 0:
        return []
    dt = t[1] - t[0] if len(t) > 1 else 1.0
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.r_[idx[0], idx[breaks + 1]]
    ends = np.r_[idx[breaks], idx[-1]]
    return [(float(t[a]), float(t[b] - t[a] + dt)) for a, b in zip(starts, ends)]


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
    return path
