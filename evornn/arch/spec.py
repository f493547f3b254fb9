"""What every architecture family provides, and option checking shared by them."""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np


class Family(NamedTuple):
    """One architecture family: a genome layout plus numba pack/step kernels.

    blocks(I, H, O, opts) -> [Block]      the genome layout (readout included)
    features(I, H, opts) -> int           width of the vector the readout sees
    sizes(I, H, O, opts) -> (packed, state)  per-network packed params, per-sequence state
    fixed(I, H, O, opts, rng) -> array    non-evolved arrays (ESN reservoir), else empty
    cfg(I, H, O, opts) -> [float]         family options for the kernel, from cfg[C_OPT]
    pack(g, cfg, fixed, w)                genome -> kernel-ready params (numba)
    step(w, cfg, fixed, state, x, y)      one time step for a batch (numba)
    """

    name: str
    description: str
    options: dict
    readouts: tuple
    blocks: Callable
    features: Callable
    sizes: Callable
    cfg: Callable
    pack: Callable
    step: Callable
    fixed: Callable = lambda I, H, O, opts, rng: np.zeros(0)
    check: Callable = lambda I, H, O, opts: None


def need_choice(family: str, key: str, value, allowed) -> None:
    """Raise ValueError unless value is one of allowed."""
    if value not in allowed:
        raise ValueError(f"{family}: option {key}={value!r} is not allowed; "
                         f"choose one of {', '.join(map(repr, allowed))}")


def need_finite(family: str, key: str, value) -> None:
    """Raise ValueError unless value is a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value):
        raise ValueError(f"{family}: option {key}={value!r} must be a finite number")


def need_positive(family: str, key: str, value, strict: bool = True) -> None:
    """Raise ValueError unless value is a positive (or non-negative) finite number."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and np.isfinite(value) and (value > 0 if strict else value >= 0)
    if not ok:
        raise ValueError(f"{family}: option {key}={value!r} must be a "
                         f"{'positive' if strict else 'non-negative'} number")
