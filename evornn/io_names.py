"""Names of a network's inputs and outputs (sensors and motors), checked against their counts."""
from __future__ import annotations


def io_names(what: str, names, n: int, stem: str) -> tuple[str, ...]:
    """names as a tuple of n strings (stem_0.. when None), else a ValueError saying what is wrong."""
    if names is None:
        return tuple(f"{stem}_{i}" for i in range(n))
    if isinstance(names, str) or not all(isinstance(v, str) for v in names):
        raise ValueError(f"{what} must be a sequence of {n} names (strings), got {names!r}")
    names = tuple(names)
    if len(names) != n:
        kind = "input" if stem == "in" else "output"
        raise ValueError(f"{what} has {len(names)} names {names!r}, but n_{stem} is {n}: give one "
                         f"name per {kind}")
    return names
