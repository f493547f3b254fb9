"""Genome layouts: named blocks of weights, concatenated into one flat vector."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .kernels import READOUTS, RO_NEURONS, RO_NONE


@dataclass(frozen=True)
class Block:
    """One named block of a genome: shape, initialisation range and optional bounds."""

    name: str
    shape: tuple
    init: tuple = (-0.1, 0.1)     # uniform(low, high); low == high for a constant
    bounds: tuple | None = None   # (low, high) every optimizer must respect
    offset: int = 0
    shift: tuple = ()             # per-element values added to the uniform draw (or none)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1


def uniform(name: str, shape: tuple, scale: float, bounds=None) -> Block:
    """A block initialised uniformly in [-scale, scale]."""
    return Block(name, tuple(shape), (-scale, scale), bounds)


def place(blocks: list[Block], start: int = 0, prefix: str = "") -> list[Block]:
    """Give each block its offset in the genome (and an optional name prefix)."""
    out, off = [], start
    for b in blocks:
        out.append(replace(b, name=prefix + b.name, offset=off))
        off += b.size
    return out


def readout_blocks(F: int, O: int, readout: str) -> list[Block]:
    """The readout's blocks: W_out [O, F] and b_out [O], none for 'none'/'neurons'."""
    if READOUTS[readout] in (RO_NONE, RO_NEURONS):
        return []
    s = 1.0 / np.sqrt(F)
    return [uniform("W_out", (O, F), s), uniform("b_out", (O,), s)]


def init_genome(blocks: list[Block], rng: np.random.Generator) -> np.ndarray:
    """A genome drawn from each block's init range, clipped into its bounds."""
    parts = []
    for b in blocks:
        lo, hi = b.init
        v = rng.uniform(lo, hi, b.size) if hi > lo else np.full(b.size, float(lo))
        if b.shift:
            v = v + np.asarray(b.shift, dtype=np.float64)
        if b.bounds is not None:
            v = np.clip(v, *b.bounds)
        parts.append(v)
    return np.concatenate(parts) if parts else np.zeros(0)


def bounds_of(blocks: list[Block]) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene lower and upper bounds (+-inf where a block is unbounded)."""
    n = sum(b.size for b in blocks)
    lo, hi = np.full(n, -np.inf), np.full(n, np.inf)
    for b in blocks:
        if b.bounds is not None:
            lo[b.offset:b.offset + b.size] = b.bounds[0]
            hi[b.offset:b.offset + b.size] = b.bounds[1]
    return lo, hi
