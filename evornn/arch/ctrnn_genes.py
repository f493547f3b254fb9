"""How CTRNN and MTRNN genomes map to parameters: ``genes="raw"`` or ``genes="unit"``.

``raw`` (the default): a gene is the parameter itself (time constants clipped into
``tau_range``, gains bounded by their block). ``unit`` is the evolutionary-robotics
convention (Beer's): every gene lives in [-1, 1], and the layout's bounds say so, so
every optimizer keeps it there; each gene maps linearly onto its parameter's range:

- weights and biases (W, W_in, theta, readout W_out and b_out): g * weight_range
- time constants: tau_range[0] + (g + 1) / 2 * (tau_range[1] - tau_range[0]), linear
  as in Beer's own code (not exponential); g clipped into [-1, 1] first, so tau stays
  inside tau_range whatever the genome says
- gains (``gains=True``): the same line onto GAIN_BOUNDS, clipped likewise

Weights are not clipped: a gene outside [-1, 1] (which no optimizer produces) maps by
the same line. The numba ``pack`` kernels apply these maps; this module gives them to
the layout, the torch twins and the array path.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

GENES = ("raw", "unit")
INITS = ("random", "center-crossing")
GAIN_BOUNDS = (0.05, 20.0)
WEIGHT_BLOCKS = ("W", "W_in", "theta", "W_out", "b_out")


def unit(opts: dict) -> bool:
    """Whether a layer's options ask for unit genes."""
    return opts.get("genes", "raw") == "unit"


def gene_range(leaf: str, opts: dict) -> tuple[float, float]:
    """The parameter range onto which a unit gene of block ``leaf`` maps linearly."""
    if leaf == "tau":
        return float(opts["tau_range"][0]), float(opts["tau_range"][1])
    if leaf == "gain":
        return GAIN_BOUNDS
    if leaf in WEIGHT_BLOCKS:
        r = float(opts["weight_range"])
        return -r, r
    raise ValueError(f"no unit-gene range for block {leaf!r}; blocks: tau, gain, "
                     f"{', '.join(WEIGHT_BLOCKS)}")


def to_gene(leaf: str, value, opts: dict):
    """The unit gene whose parameter is ``value`` (the inverse of ``to_parameter``)."""
    lo, hi = gene_range(leaf, opts)
    if leaf in WEIGHT_BLOCKS:
        return np.asarray(value) / hi
    return (np.asarray(value) - lo) / (0.5 * (hi - lo)) - 1.0


def to_parameter(leaf: str, g, opts: dict, xp=np):
    """The parameter a unit gene block stands for (arrays of numpy, cupy or torch)."""
    lo, hi = gene_range(leaf, opts)
    if leaf in WEIGHT_BLOCKS:
        return g * hi
    clip = xp.clamp if hasattr(xp, "clamp") else xp.clip
    return lo + (clip(g, -1.0, 1.0) + 1.0) * (0.5 * (hi - lo))


def parameters(blocks: dict, opts: dict, xp=np) -> dict:
    """Leaf name -> parameter values for leaf name -> gene values (unchanged for raw genes)."""
    if not unit(opts):
        return blocks
    return {k: to_parameter(k, v, opts, xp) for k, v in blocks.items()}


def unit_blocks(blocks: list, opts: dict) -> list:
    """Raw blocks as unit-gene blocks: bounds [-1, 1], init ranges mapped onto genes (so a
    network's initial genome stands for the same parameters in both modes)."""
    out = []
    for b in blocks:
        lo, hi = (float(v) for v in to_gene(b.name, np.asarray(b.init, float), opts))
        out.append(replace(b, init=(max(lo, -1.0), min(hi, 1.0)), bounds=(-1.0, 1.0)))
    return out


def options() -> dict:
    """The gene options every CTRNN-style family declares."""
    from ..options import Option, choice, positive
    return {"genes": Option("raw", "raw: genes are the parameters; unit: genes in [-1, 1] mapped "
                                   "onto the parameters' ranges", choice(*GENES)),
            "weight_range": Option(16.0, "unit genes: weights and biases are gene * weight_range",
                                   positive),
            "init": Option("random", "the initial genome: random, or center-crossing biases",
                           choice(*INITS))}
