"""What a finished run shows: the fitness plot, a replay of its best network and pictures of
its trace (the problem draws its own through its ``pictures`` hook)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .listeners import PLOT, plot_fitness, read_metrics  # noqa: F401 (drawn by a run's listener)


def replay(run_dir, cell=None) -> dict:
    """Evaluate the run's best network (with ``cell``, that elite of its archive, as
    ``evornn.load``) again and run the problem's success test on it."""
    from .backends import compute_module, use_backend
    from .population import computing
    from .run import CONFIG, RunConfig, load, load_problem
    d = Path(run_dir)
    cfg = RunConfig(**json.loads((d / CONFIG).read_text()))
    use_backend(cfg.backend, cfg.workers)
    prob = load_problem(d)                 # with the state its best network was evaluated with
    net = load(d, cell=cell)
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

    from .run import load, load_problem
    d = Path(run_dir)
    prob = load_problem(d)
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


def grid_image(cells: np.ndarray, dims, values: np.ndarray) -> tuple[np.ndarray, list, list]:
    """A 2-D image of a k-D grid of values (NaN: empty cell): descriptors 0, 2, 4, ... make
    the rows, 1, 3, 5, ... the columns, the first of each the outermost (Cully et al.'s
    nested grid; k = 2 is the plain grid). Returns the image and the two axes' descriptors."""
    dims = [int(d) for d in dims]
    rows, cols = list(range(0, len(dims), 2)), list(range(1, len(dims), 2))

    def flat(axes, c):
        i = np.zeros(len(c), np.int64)
        for a in axes:
            i = i * dims[a] + c[:, a]
        return i
    img = np.full((int(np.prod([dims[a] for a in rows])), int(np.prod([dims[a] for a in cols]))),
                  np.nan)
    c = np.asarray(cells, np.int64).reshape(len(values), len(dims))
    img[flat(rows, c), flat(cols, c)] = values
    return img, rows, cols


def plot_archive(run_dir) -> list[Path]:
    """For a quality-diversity run (archive.npz): archive.png, the elites' fitness over the
    descriptor grid (map-elites) or the archived behaviours (novelty, the first two
    descriptors), and qd.png, the QD-score and the cells filled against evaluations."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .run import read_archive
    d = Path(run_dir)
    a = read_archive(d)
    names = [str(n) for n in a["descriptors"]]
    fig = Figure(figsize=(6.5, 5.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if "cells" in a:
        img, rows, cols = grid_image(a["cells"], a["dims"], a["fitness"])
        # one or two descriptors: the axes in their units (one: a single column); more:
        # nested, in cells
        lo, hi = a["lower"], a["upper"]
        extent = ((0, 1, lo[0], hi[0]) if len(names) == 1 else
                  (lo[1], hi[1], lo[0], hi[0]) if len(names) == 2 else None)
        im = ax.imshow(img, origin="lower", aspect="auto", interpolation="nearest",
                       cmap="viridis", extent=extent)
        ax.set_ylabel(" / ".join(names[i] for i in rows) or "-")
        ax.set_xlabel(" / ".join(names[i] for i in cols) or "")
        if not cols:
            ax.set_xticks([])
        cells = int(np.prod(a["dims"]))
        ax.set_title(f"{len(a['fitness'])} of {cells} cells filled", fontsize=10)
    else:
        m = a["measures"]
        y = m[:, 1] if m.shape[1] > 1 else np.zeros(len(m))
        im = ax.scatter(m[:, 0], y, c=a["fitness"], s=8, cmap="viridis")
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1] if len(names) > 1 else "")
        ax.set_title(f"{len(m)} behaviours in the novelty archive", fontsize=10)
    fig.colorbar(im, ax=ax, label="fitness")
    fig.tight_layout()
    out = [d / "archive.png"]
    fig.savefig(out[0], dpi=100)
    h = a["history"]
    fig = Figure(figsize=(8, 3.2))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(h[:, 0], h[:, 2], color="k")
    ax1.set_xlabel("evaluations")
    ax1.set_ylabel("QD-score (sum of the elites' fitness)")
    ax2.plot(h[:, 0], h[:, 1], color="k")
    ax2.set_xlabel("evaluations")
    ax2.set_ylabel("elites (cells filled)" if "cells" in a else "archived behaviours")
    fig.tight_layout()
    out.append(d / "qd.png")
    fig.savefig(out[1], dpi=100)
    return out
