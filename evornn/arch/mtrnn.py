"""Multiple-timescale RNN (Yamashita and Tani 2008): a CTRNN with fast and slow neurons.

Neurons 0..H-n_slow-1 are fast (time constant tau_fast), the rest slow (tau_slow).
Only fast neurons receive the input and drive the outputs; the slow ones talk to the
fast ones through the recurrent weights. The step is the CTRNN's; only the genome
layout and its packing differ (time constants and gains are fixed, not evolved).
``genes="unit"``: weights and biases are genes in [-1, 1] times ``weight_range``, as
for the ctrnn family (``ctrnn_genes``).
"""
import numpy as np
from numba import njit

from ..options import Option, positive
from . import array_ops as ops
from . import ctrnn, ctrnn_genes
from .blocks import readout_blocks, uniform
from .ctrnn import C_UNIT, check_common, packed_size, scale, step, unit_cfg
from .kernels import C_HID, C_IN, C_OPT, C_OUT, C_READOUT, JIT, pack_readout, transpose_into, view2d
from .spec import family, lazy_twin


def n_slow(H, opts):
    return max(1, H // 4) if opts["n_slow"] is None else int(opts["n_slow"])


def blocks(I, H, O, opts):
    nf = H - n_slow(H, opts)
    bl = [uniform("W", (H, H), 1.0), uniform("W_in", (nf, I), 1.0), uniform("theta", (H,), 1.0)] \
        + readout_blocks(H, O, opts["readout"])
    return ctrnn_genes.unit_blocks(bl, opts) if ctrnn_genes.unit(opts) else bl


def check(I, H, O, opts):
    check_common("mtrnn", I, H, O, opts)
    ns = opts["n_slow"]
    if ns is not None and (not isinstance(ns, (int, np.integer)) or isinstance(ns, bool)
                           or not 1 <= ns < H):
        raise ValueError(f"mtrnn: option n_slow={ns!r} must be an integer in [1, n_hidden - 1]")
    if H < 2:
        raise ValueError(f"mtrnn: n_hidden={H} needs at least 2 neurons (one fast, one slow)")
    if opts["readout"] == "neurons" and O > H - n_slow(H, opts):
        raise ValueError(f"mtrnn: n_out={O} outputs are read from the fast neurons, and only "
                         f"{H - n_slow(H, opts)} of {H} are fast")


def cfg(I, H, O, opts):
    return [float(opts["dt"]), ("euler", "rk4").index(opts["integrator"]), float(n_slow(H, opts)),
            float(opts["tau_fast"]), float(opts["tau_slow"])] + unit_cfg(opts)


@njit(**JIT)
def pack(g, cfg, fixed, w):
    I, H, O = int(cfg[C_IN]), int(cfg[C_HID]), int(cfg[C_OUT])
    nf = H - int(cfg[C_OPT + 2])
    off = transpose_into(view2d(w, 0, H, H), g, 0, H, H)
    win = view2d(w, H * H, I, H)
    win[:] = 0
    off = transpose_into(win[:, :nf], g, off, nf, I)
    p = (H + I) * H
    for j in range(H):
        w[p + j] = g[off + j]
        w[p + H + j] = 1.0 / (cfg[C_OPT + 3] if j < nf else cfg[C_OPT + 4])
        w[p + 2 * H + j] = 1.0
    _, end = pack_readout(g, off + H, w, p + 3 * H, H, O, int(cfg[C_READOUT]))
    if cfg[C_OPT + C_UNIT] != 0:
        r = cfg[C_OPT + C_UNIT + 1]
        scale(w, 0, p + H, r)                  # W, W_in (zeros for slow neurons stay), theta
        scale(w, p + 3 * H, end, r)


def array(layer, G, X, xp):
    """The layer over a population as the CTRNN it steps as (as its numba kernel does):
    fixed time constants, unit gains, zero input weights into the slow neurons."""
    w = ctrnn_genes.parameters(ops.weights(layer, G, xp), layer.opts, xp)
    o, H = layer.opts, layer.n_hidden
    ns = n_slow(H, o)
    P, nf, I = w["W_in"].shape
    dt = w["W"].dtype
    taus = xp.asarray([o["tau_fast"]] * nf + [o["tau_slow"]] * ns, dt)
    opts = {**ctrnn.FAMILY.defaults(), "dt": o["dt"], "integrator": o["integrator"], "gains": False,
            "tau_range": (min(o["tau_fast"], o["tau_slow"]), max(o["tau_fast"], o["tau_slow"]))}
    cw = {"W": w["W"], "W_in": xp.concatenate([w["W_in"], xp.zeros((P, ns, I), dt)], axis=1),
          "theta": w["theta"], "tau": xp.broadcast_to(taus, (P, H))}
    return ops.readout(xp, w, ctrnn.rates(opts, cw, X, xp), layer)


def _twin_class():
    import torch

    GeneMapped, ctrnn_rates = ctrnn.twin_base()

    class MTRNNTwin(GeneMapped):
        """A CTRNN whose first neurons are fast (they alone get the input) and the rest slow."""

        def __init__(self, lay):
            super().__init__(lay)
            o, H = lay.opts, lay.n_hidden
            self.dt, self.rk4, self.n_slow = float(o["dt"]), o["integrator"] == "rk4", n_slow(H, o)
            nf = H - self.n_slow
            self.register_buffer("inv_tau", torch.tensor([1.0 / o["tau_fast"]] * nf
                                                         + [1.0 / o["tau_slow"]] * self.n_slow,
                                                         dtype=torch.float64))

        def features(self, x):
            W_in = torch.cat([self.p("W_in"), self.W_in.new_zeros(self.n_slow, x.shape[2])])
            rates, self.hT = ctrnn_rates(x, self.p("W"), W_in, self.p("theta"), self.inv_tau, 1.0,
                                         self.dt, self.rk4, self.h0)
            return rates
    return MTRNNTwin


def neuron_graph(vals, opts, H) -> dict:
    """The layer as neurons and connections, for drawings: only the fast neurons see the
    input; each neuron's time constant is its group's."""
    p = dict(ctrnn_genes.parameters(vals, opts))
    nf = H - n_slow(H, opts)
    W_in = np.zeros((H, p["W_in"].shape[1]))
    W_in[:nf] = p["W_in"]
    tau = np.where(np.arange(H) < nf, float(opts["tau_fast"]), float(opts["tau_slow"]))
    return {"input": W_in, "recurrent": p["W"], "bias": p["theta"], "tau": tau}


FAMILY = family(
    neuron_graph=neuron_graph,
    name="mtrnn", description="multiple-timescale CTRNN: fast neurons (input, output) and slow ones",
    readouts=("neurons", "linear", "tanh", "sigmoid", "none"),
    options={**ctrnn.common_options(1.0),
             "n_slow": Option(None, "slow neurons, the last ones (None: a quarter, at least 1)"),
             "tau_fast": Option(5.0, "time constant of the fast neurons", positive),
             "tau_slow": Option(70.0, "time constant of the slow neurons", positive),
             **ctrnn_genes.options()},
    blocks=blocks, features=lambda I, H, opts: H,
    sizes=lambda I, H, O, opts: (packed_size(I, H, O, opts), 7 * H + 1), cfg=cfg,
    pack=pack, step=step, check=check, array=array, twin=lazy_twin(_twin_class),
    feature_range=lambda opts: (0.0, 1.0), center_crossing=True)
