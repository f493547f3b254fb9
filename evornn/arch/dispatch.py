"""One entry point to every family's kernels, switched on the family's index.

Compiled functions passed as arguments cannot be cached by numba (measured: 6 s of
compilation in every new process), so population and episode loops call these two
switches instead; a new family adds one branch here and one line in ``FAMILIES``.
"""
from numba import njit

from . import ctrnn, dense, elman, esn, frnn, gru, indrnn, jordan, lstm, mtrnn, second_order
from .kernels import JIT

# index = kind; order fixed by this tuple
FAMILIES = (elman.FAMILY, jordan.FAMILY, frnn.FAMILY, lstm.FAMILY, gru.FAMILY, indrnn.FAMILY,
            ctrnn.FAMILY, mtrnn.FAMILY, esn.FAMILY, second_order.FAMILY, dense.FAMILY)


@njit(**JIT)
def pack_any(kind, g, cfg, fixed, w):
    """Genome -> packed kernel parameters for the family with index ``kind``."""
    if kind == 0:
        elman.pack(g, cfg, fixed, w)
    elif kind == 1:
        jordan.pack(g, cfg, fixed, w)
    elif kind == 2:
        frnn.pack(g, cfg, fixed, w)
    elif kind == 3:
        lstm.pack(g, cfg, fixed, w)
    elif kind == 4:
        gru.pack(g, cfg, fixed, w)
    elif kind == 5:
        indrnn.pack(g, cfg, fixed, w)
    elif kind == 6:
        ctrnn.pack(g, cfg, fixed, w)
    elif kind == 7:
        mtrnn.pack(g, cfg, fixed, w)
    elif kind == 8:
        esn.pack(g, cfg, fixed, w)
    elif kind == 9:
        second_order.pack(g, cfg, fixed, w)
    else:
        dense.pack(g, cfg, fixed, w)


@njit(**JIT)
def step_any(kind, w, cfg, fixed, state, x, y):
    """One time step of the family with index ``kind`` for a batch x[B, I] -> y[B, O]."""
    if kind == 0:
        elman.step(w, cfg, fixed, state, x, y)
    elif kind == 1:
        jordan.step(w, cfg, fixed, state, x, y)
    elif kind == 2:
        frnn.step(w, cfg, fixed, state, x, y)
    elif kind == 3:
        lstm.step(w, cfg, fixed, state, x, y)
    elif kind == 4:
        gru.step(w, cfg, fixed, state, x, y)
    elif kind == 5:
        indrnn.step(w, cfg, fixed, state, x, y)
    elif kind == 6 or kind == 7:
        ctrnn.step(w, cfg, fixed, state, x, y)
    elif kind == 8:
        esn.step(w, cfg, fixed, state, x, y)
    elif kind == 9:
        second_order.step(w, cfg, fixed, state, x, y)
    else:
        dense.step(w, cfg, fixed, state, x, y)
