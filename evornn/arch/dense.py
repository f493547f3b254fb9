"""A readout on its own, y = act(W_out x + b_out): the top of bidirectional networks."""
from numba import njit

from .array_ops import features_then_readout
from .blocks import readout_blocks
from .kernels import C_IN, C_OUT, C_READOUT, JIT, READOUTS, pack_readout, readout, readout_size
from .spec import family


@njit(**JIT)
def pack(g, cfg, fixed, w):
    pack_readout(g, 0, w, 0, int(cfg[C_IN]), int(cfg[C_OUT]), int(cfg[C_READOUT]))


@njit(**JIT)
def step(w, cfg, fixed, state, x, y):
    readout(w, 0, x, y, int(cfg[C_READOUT]))


def twin(lay):
    """The readout as a torch module."""
    from ..twins.layers import DenseTwin
    return DenseTwin(lay)


FAMILY = family(
    name="dense", description="feed-forward readout layer (internal: tops bidirectional networks)",
    readouts=("linear", "tanh", "sigmoid"), internal=True,
    blocks=lambda I, H, O, opts: readout_blocks(I, O, opts["readout"]),
    features=lambda I, H, opts: None,
    sizes=lambda I, H, O, opts: (readout_size(I, O, READOUTS[opts["readout"]]), 0),
    cfg=lambda I, H, O, opts: [], pack=pack, step=step,
    array=features_then_readout(lambda layer, w, X, xp: X), twin=twin,
    feature_range=lambda opts: (-float("inf"), float("inf")))
