"""What the registry-driven suites give a family beyond its defaults: sizes for a family
whose inputs, units and outputs are one number (Family.one_size), and the options its torch
twin needs."""
from __future__ import annotations

from evornn.arch.dispatch import family

# binary Hopfield and BAM units are a step function: no gradient, so no twin; the twin suites run
# the continuous units
TWIN_OPTIONS = {"hopfield": {"units": "continuous"}, "bam": {"units": "continuous"}}


def _first(arch) -> str:
    return (arch.split("+") if isinstance(arch, str) else list(arch))[0]


def one_size(arch) -> bool:
    """Whether arch's first layer needs n_in = n_hidden = n_out."""
    return family(_first(arch)).one_size


def sized(arch, I: int, H, O: int) -> tuple:
    """(n_in, n_hidden, n_out) for arch from a suite's generic sizes: a one-size family
    gets its units (the first hidden size) for all three, a family whose options fix n_in and
    n_out (Family.io_sizes) gets those of its defaults."""
    fam = family(_first(arch))
    if fam.io_sizes is not None:
        I, O = fam.io_sizes(fam.defaults())
        return I, H, O
    if one_size(arch):
        N = H[0] if isinstance(H, (list, tuple)) else H
        return N, H, N
    return I, H, O


def twin_options(arch, options: dict | None = None) -> dict:
    """options, plus what a family's twin needs (TWIN_OPTIONS) where the case does not say."""
    extra = TWIN_OPTIONS.get(_first(arch), {})
    return {**extra, **(options or {})}
