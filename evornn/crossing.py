"""Center-crossing CTRNNs (Mathayomchan and Beer 2002).

A neuron is center-crossing when its net input sits at the centre of its sigmoid while
every neuron fires at 0.5: with y_i = sum_j w_ij * 0.5 (the weights *into* neuron i, row
i of our ``W``, since tau_i dy_i/dt = -y_i + sum_j W[i, j] sigma_j + ...), that needs
theta_i = -sum_j W[i, j] / 2. Gains multiply y + theta, so they leave the point where
it is zero alone. External inputs (and, in a stack, the layer below) count as zero.
Unit genes map W and theta by the same factor (``weight_range``), so the same formula
holds between their genes.
"""
from __future__ import annotations

import numpy as np

from .arch.ctrnn_genes import unit
from .arch.dispatch import FAMILIES

# the families whose layers have CTRNN weights W and biases theta (Family.center_crossing)
CTRNN_FAMILIES = tuple(f.name for f in FAMILIES if f.center_crossing)


def center_crossing_layers(layers, genome: np.ndarray, clip: bool = False) -> np.ndarray:
    """``genome`` with theta set center-crossing in every ctrnn/mtrnn layer of ``layers``."""
    g = np.array(genome, dtype=np.float64)
    for lay in layers:
        if not lay.family.center_crossing:
            continue
        blocks = {b.name.rsplit(".", 1)[-1]: b for b in lay.blocks}
        W, th = blocks["W"], blocks["theta"]
        theta = -0.5 * g[W.offset:W.offset + W.size].reshape(W.shape).sum(axis=1)
        if unit(lay.opts) and np.abs(theta).max() > 1.0:
            if not clip:
                bad = np.flatnonzero(np.abs(theta) > 1.0)
                r = lay.opts["weight_range"]
                raise ValueError(
                    f"center crossing needs biases of {r * np.abs(theta).max():.4g} (neurons "
                    f"{', '.join(map(str, bad))}), beyond weight_range={r:g}: raise weight_range "
                    "or use smaller weights")
            theta = np.clip(theta, -1.0, 1.0)
        g[th.offset:th.offset + th.size] = theta
    return g


def center_crossing(net, genome=None) -> np.ndarray:
    """A copy of ``genome`` (default: the network's) whose ctrnn/mtrnn biases make every
    neuron center-crossing: theta_i = -sum_j W[i, j] / 2, in raw and unit genes alike."""
    if not any(lay.family.center_crossing for lay in net.layers):
        raise ValueError(f"center crossing is defined for {' and '.join(CTRNN_FAMILIES)} layers; "
                         f"this network has {', '.join(lay.family.name for lay in net.layers)}")
    g = net.genome if genome is None else net.check_genomes(genome)
    if g.ndim == 2 and len(g) != 1:
        raise ValueError(f"center_crossing takes one genome, got {len(g)}")
    return center_crossing_layers(net.layers, np.ravel(g))
