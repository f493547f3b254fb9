"""The array module an optimizer's population lives in: NumPy (the host) or CuPy (a GPU).

With CuPy the population is drawn, built and ranked on the device; the fitness vector comes
from the host and the state dict goes to the host (NumPy), so a run resumes on any
machine. Device draws come from cuRAND's Philox4_32_10, re-seeded every generation by a key
the optimizer's host generator draws: deterministic for a seed on a given device, and a
different stream from NumPy's.
"""
from __future__ import annotations

import numpy as np

_DEVICE_RNG: dict = {}         # one cuRAND generator per module, re-seeded by each key


def array_namespace(xp):
    """numpy for None, 'numpy' or numpy; cupy for 'cupy' or cupy (a RuntimeError saying why
    without a GPU); a ValueError naming the choices otherwise."""
    if xp is None or xp is np or xp == "numpy":
        return np
    if xp == "cupy" or getattr(xp, "__name__", None) == "cupy":
        from ..arrays import array_module
        return array_module("cupy")
    raise ValueError(f"xp must be 'numpy' or 'cupy' (or the module), got {xp!r}")


def on_device(a) -> bool:
    """Whether a is a device (CuPy) array."""
    return type(a).__module__.startswith("cupy")


def host(a):
    """a as a NumPy array where it is a device array; anything else as it is."""
    return a.get() if on_device(a) else a


def device_normal(xp, key: int, shape: tuple):
    """Standard normal float64 draws of this shape on the device of module xp (cupy), from
    cuRAND's Philox generator seeded with key: the same key, the same draws on one device."""
    if xp not in _DEVICE_RNG:
        _DEVICE_RNG[xp] = xp.random.RandomState(
            seed=0, method=xp.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10)
    rs = _DEVICE_RNG[xp]
    rs.seed(int(key))
    return rs.standard_normal(shape, dtype=xp.float64)
