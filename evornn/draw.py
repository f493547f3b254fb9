"""Pictures of a network's weights, with matplotlib alone (Agg: no display, no graphviz).

``draw_graph``: neurons as nodes, one arrow per nonzero weight (red positive, blue negative,
width by |w| against the largest), self-loops as small circles, recurrent edges curved, biases
as the node's fill, CTRNN time constants under the nodes, sensors left and motors right by
name. For networks of the families whose weights are neuron-to-neuron matrices (those that
declare ``Family.neuron_graph``) up to ``MAX_GRAPH_NEURONS`` neurons. ``draw_heatmaps``: one
panel per genome block, for any architecture. Artists carry a gid ("w:SRC>DST" for a weight edge,
"node:NAME", "label:in:K", "label:out:K", "tau:J") so that a picture can be checked.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAX_GRAPH_NEURONS = 30
KINDS = ("auto", "graph", "heatmap")
POSITIVE, NEGATIVE = "tab:red", "tab:blue"
CMAP = "RdBu_r"                       # blue negative, white 0, red positive: as the edges


def _figure(figsize, **kw):
    """A Figure on the Agg canvas, without pyplot (no global figure list, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, **kw)
    FigureCanvasAgg(fig)
    return fig


@dataclass
class Graph:
    """A network as neurons and weighted connections: sensors, hidden layers, motors."""

    inputs: list[str]                                # sensor names
    layers: list[list[str]]                          # hidden node names, bottom layer first
    outputs: list[str]                               # motor names
    motor_neurons: bool                              # outputs are the top layer's first neurons
    edges: list[tuple[str, str, float]] = field(default_factory=list)   # (src, dst, weight)
    bias: dict = field(default_factory=dict)         # node -> bias
    tau: dict = field(default_factory=dict)          # hidden node -> time constant


def graph_families() -> list[str]:
    """The families a graph can show (those that declare ``neuron_graph``)."""
    from .arch.dispatch import FAMILIES
    return [f.name for f in FAMILIES if f.neuron_graph is not None]


def graph_problem(net) -> str | None:
    """Why net cannot be drawn as a graph (one line), or None when it can."""
    if net.bidirectional:
        return "a bidirectional network is not drawn as a graph: use --kind heatmap"
    for lay in net.layers:
        if lay.family.neuron_graph is None:
            return (f"{lay.family.name} is not drawn as a graph (its weights are not one per "
                    f"neuron-to-neuron connection); graphs: {', '.join(graph_families())} and "
                    "stacks of them; use --kind heatmap")
    n = sum(lay.n_hidden for lay in net.layers)
    if n > MAX_GRAPH_NEURONS:
        return (f"{n} hidden neurons are too many for a readable graph (at most "
                f"{MAX_GRAPH_NEURONS}); use --kind heatmap")
    return None


def network_graph(net) -> Graph:
    """The neurons and nonzero connections of a network whose families declare neuron_graph
    (hidden nodes h0, h1, ..; in a stack h0.0, h0.1, .. for layer 0, and so on)."""
    why = graph_problem(net)
    if why:
        raise ValueError(why)
    L = len(net.layers)
    layers = [[f"h{j}" if L == 1 else f"h{i}.{j}" for j in range(lay.n_hidden)]
              for i, lay in enumerate(net.layers)]
    top = net.layers[-1]
    g = Graph(list(net.inputs), layers, list(net.outputs),
              top.opts["readout"] in ("neurons", "none"))
    outs = [f"out{o}" for o in range(net.n_out)]

    def matrix(W, src, dst):                 # W[dst, src], the layouts' convention
        for j, k in zip(*np.nonzero(W)):
            g.edges.append((src[k], dst[j], float(W[j, k])))

    ins = [f"in{k}" for k in range(net.n_in)]
    for lay, hid in zip(net.layers, layers):
        p = {b.name.rsplit(".", 1)[-1]: net.block(b.name) for b in lay.blocks}
        n = lay.family.neuron_graph(p, lay.opts, lay.n_hidden)
        matrix(n["input"], ins, hid)
        if n.get("recurrent") is not None:
            matrix(n["recurrent"], hid, hid)
        if n.get("context") is not None:
            matrix(n["context"], outs, hid)       # the last outputs back into the hidden
        if n.get("bias") is not None:
            g.bias.update(zip(hid, map(float, n["bias"])))
        if n.get("tau") is not None:
            g.tau.update(zip(hid, map(float, n["tau"])))
        if "W_out" in p:
            matrix(p["W_out"], hid, outs)
            g.bias.update(zip(outs, map(float, p["b_out"])))
        ins = hid                                  # a lower layer's features are its neurons
    return g


def _positions(g: Graph) -> tuple[dict, dict]:
    """Sensors in a column on the left, each hidden layer on a circle (left to right), motors
    on the right. Returns (node -> position, hidden node -> its circle's centre)."""
    radii = [max(1.2, 0.4 * len(hid)) for hid in g.layers]
    pos, centres, cx = {}, {}, 0.0
    for i, (hid, R) in enumerate(zip(g.layers, radii)):
        cx += (radii[i - 1] + R + 2.0) if i else 0.0
        c = np.array([cx, 0.0])
        for j, n in enumerate(hid):
            a = np.pi / 2 - 2 * np.pi * j / len(hid)
            pos[n] = c + (R * np.array([np.cos(a), np.sin(a)]) if len(hid) > 1 else 0.0)
            centres[n] = c

    def column(names, x):
        span = max(2 * max(radii), 0.8 * (len(names) - 1))
        for i, n in enumerate(names):
            y = span / 2 - (span * i / (len(names) - 1) if len(names) > 1 else span / 2)
            pos[n] = np.array([x, y])
    column([f"in{k}" for k in range(len(g.inputs))], -radii[0] - 2.0)
    column([f"out{o}" for o in range(len(g.outputs))], cx + radii[-1] + 2.0)
    return pos, centres


def _outward(p, centre) -> np.ndarray:
    """The unit vector from the hidden circle's centre through p (up for the centre itself)."""
    d = np.asarray(p, float) - centre
    n = np.linalg.norm(d)
    return d / n if n > 0 else np.array([0.0, 1.0])


def edge_width(w: float, largest: float, top: float = 4.0) -> float:
    """An edge's line width: 0.3 for a vanishing weight to top for the largest."""
    return 0.3 + (top - 0.3) * abs(w) / largest if largest > 0 else 0.3


def _ink(face) -> str:
    """Black or white text, whichever reads on a node of colour face."""
    from matplotlib.colors import to_rgb
    r, g, b = to_rgb(face)
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"


def draw_graph(net, ax=None):
    """The network as a graph on ax (a new figure when None); returns the Figure."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.patches import Circle, FancyArrowPatch
    g = network_graph(net)
    pos, centres = _positions(g)
    hidden = [n for hid in g.layers for n in hid]
    grow = 1 + max(0, max(map(len, g.layers)) - 8) / 12
    wide = 1 + 0.6 * (len(g.layers) - 1)
    fig = ax.figure if ax is not None else _figure((9 * grow * wide, 6.5 * grow))
    ax = ax if ax is not None else fig.add_subplot()
    r = 0.3                                               # node radius
    largest = max((abs(w) for _, _, w in g.edges), default=0.0)
    dense = min(1.0, np.sqrt(60 / max(len(g.edges), 1)))     # thinner, fainter when crowded
    top, alpha = max(1.2, 4 * dense), max(0.3, 0.75 * dense)
    for src, dst, w in g.edges:
        colour, lw = (POSITIVE if w > 0 else NEGATIVE), edge_width(w, largest, top)
        if src == dst:                                    # a self-loop: a small circle outside
            art = Circle(pos[src] + _outward(pos[src], centres[src]) * 1.6 * r, 0.7 * r,
                         fill=False, ec=colour, lw=lw, alpha=alpha, zorder=1)
        else:
            same_layer = src in centres and dst in centres and \
                np.array_equal(centres[src], centres[dst])
            recurrent = same_layer or src.startswith("out")      # out: the Jordan context
            art = FancyArrowPatch(pos[src], pos[dst], arrowstyle="-|>", mutation_scale=8 + lw,
                                  connectionstyle=f"arc3,rad={0.25 if recurrent else 0.0}",
                                  color=colour, lw=lw, alpha=alpha, shrinkA=12, shrinkB=12,
                                  zorder=1)
        ax.add_patch(art)
        art.set_gid(f"w:{src}>{dst}")
    biggest_bias = max((abs(b) for b in g.bias.values()), default=0.0) or 1.0
    norm, cmap = Normalize(-biggest_bias, biggest_bias), colormaps[CMAP]
    motors = g.layers[-1][:len(g.outputs)] if g.motor_neurons else []
    nodes = [f"in{k}" for k in range(len(g.inputs))] + hidden
    nodes += [] if g.motor_neurons else [f"out{o}" for o in range(len(g.outputs))]
    for n in nodes:
        face = cmap(norm(g.bias[n])) if n in g.bias else (1.0, 1.0, 1.0, 1.0)
        ax.add_patch(Circle(pos[n], r, fc=face, ec="k", lw=1.4 if n in motors else 0.8, zorder=3,
                            gid=f"node:{n}"))
        if n in centres:
            dy = 0.35 * r if n in g.tau else 0.0      # the time constant goes under it
            ax.text(pos[n][0], pos[n][1] + dy, n[1:], ha="center", va="center", zorder=4,
                    fontsize=7 if len(n) < 4 else 5.5, color=_ink(face))
        if n in g.tau:
            ax.text(pos[n][0], pos[n][1] - 0.35 * r, f"τ={g.tau[n]:.3g}", ha="center",
                    va="center", fontsize=5.5, gid=f"tau:{n}", zorder=4, color=_ink(face))
    for k, name in enumerate(g.inputs):
        ax.text(pos[f"in{k}"][0] - 1.4 * r, pos[f"in{k}"][1], name, ha="right", va="center",
                fontsize=8, gid=f"label:in:{k}")
    for o, name in enumerate(g.outputs):
        if g.motor_neurons:                      # the motor is the neuron itself: named there
            n = motors[o]
            out = _outward(pos[n], centres[n])
            p = pos[n] + out * 3.1 * r                                  # past the self-loop
            ha = "left" if out[0] > 0.3 else "right" if out[0] < -0.3 else "center"
            ax.text(*p, name, ha=ha, va="center", fontsize=8, fontweight="bold",
                    gid=f"label:out:{o}", zorder=4)
        else:
            ax.text(pos[f"out{o}"][0] + 1.4 * r, pos[f"out{o}"][1], name, ha="left",
                    va="center", fontsize=8, gid=f"label:out:{o}")
    xy = np.array(list(pos.values()))
    ax.set_xlim(xy[:, 0].min() - 2.5, xy[:, 0].max() + 2.5)
    ax.set_ylim(xy[:, 1].min() - 1.0, xy[:, 1].max() + 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    arch = "+".join(lay.family.name for lay in net.layers)
    ax.set_title(f"{arch}: {len(g.inputs)} inputs, {len(hidden)} neurons, {len(g.outputs)} "
                 f"outputs; edges red +, blue -, width |w| (max {largest:.3g}); fill: bias",
                 fontsize=9)
    return fig


def weight_blocks(net) -> list[tuple[str, np.ndarray]]:
    """(name, values as a 2-D array) for every block of the genome: vectors as one row."""
    out = []
    for b in net.layout:
        v = net.block(b.name)
        out.append((b.name, np.atleast_2d(v) if v.ndim < 2 else v.reshape(v.shape[0], -1)))
    return out


def draw_heatmaps(net):
    """One panel per genome block (diverging colours centred at 0); returns the Figure."""
    blocks = weight_blocks(net)
    cols = min(4, len(blocks))
    rows = -(-len(blocks) // cols)
    from matplotlib.ticker import MaxNLocator
    fig = _figure((3.4 * cols, 2.9 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, b, (name, V) in zip(axes.flat, net.layout, blocks):
        m = (float(np.abs(V).max()) if V.size else 0.0) or 1.0
        im = ax.imshow(V, cmap=CMAP, vmin=-m, vmax=m, aspect="auto", interpolation="nearest")
        im.set_gid(f"block:{name}")
        ax.set_title(f"{name} {list(b.shape)}", fontsize=8)
        ax.tick_params(labelsize=6)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if V.shape[0] == 1:                       # a vector: its one row needs no tick
            ax.set_yticks([])
        if V.shape[1] == 1:
            ax.set_xticks([0])
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04).ax.tick_params(labelsize=6)
    for ax in axes.flat[len(blocks):]:
        ax.axis("off")
    fig.suptitle(f"{net.arch}: genome blocks (red +, blue -)", fontsize=10)
    return fig


def draw(net, kind: str = "auto"):
    """The network's picture: kind 'graph', 'heatmap', or 'auto' (a graph where one can be
    drawn, else heat maps). Returns the Figure; a ValueError for a kind that does not apply."""
    if kind not in KINDS:
        raise ValueError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "graph" or (kind == "auto" and graph_problem(net) is None):
        return draw_graph(net)
    return draw_heatmaps(net)


SUFFIXES = (".png", ".svg", ".pdf")


def check_out(out) -> Path:
    """out as a Path to a picture file in an existing folder, else a one-line ValueError."""
    p = Path(out)
    if p.suffix.lower() not in SUFFIXES:
        raise ValueError(f"--out {out} must end in {', '.join(SUFFIXES)}")
    if not p.parent.is_dir():
        raise ValueError(f"--out {out}: the folder {p.parent} does not exist")
    if p.is_dir():
        raise ValueError(f"--out {out} is a folder: give a file name such as network.png")
    return p


def save_drawing(net, out, kind: str = "auto") -> Path:
    """Draw net into the file out (written whole, then moved into place); returns out."""
    out = check_out(out)
    fig = draw(net, kind)
    tmp = out.with_name(out.name + ".tmp" + out.suffix)
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(out)
    return out
