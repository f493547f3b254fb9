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

from . import ctrnn_genes
from .blocks import readout_blocks, uniform
from .ctrnn import C_UNIT, check_common, packed_size, scale, step, unit_cfg
from .kernels import C_HID, C_IN, C_OPT, C_OUT, C_READOUT, JIT, pack_readout, transpose_into, view2d
from .spec import Family, need_positive


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
    need_positive("mtrnn", "tau_fast", opts["tau_fast"])
    need_positive("mtrnn", "tau_slow", opts["tau_slow"])
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


FAMILY = Family(
    name="mtrnn", description="multiple-timescale CTRNN: fast neurons (input, output) and slow ones",
    options={"readout": "neurons", "dt": 1.0, "integrator": "euler", "n_slow": None,
             "tau_fast": 5.0, "tau_slow": 70.0, "genes": "raw", "weight_range": 16.0,
             "init": "random"},
    readouts=("neurons", "linear", "tanh", "sigmoid", "none"),
    blocks=blocks, features=lambda I, H, opts: H,
    sizes=lambda I, H, O, opts: (packed_size(I, H, O, opts), 7 * H + 1), cfg=cfg,
    pack=pack, step=step, check=check)
