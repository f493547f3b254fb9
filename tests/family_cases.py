"""What the registry-driven suites give a family beyond its defaults: sizes for a family
whose inputs, units and outputs are one number (Family.one_size), and the options its torch
twin needs."""
from __future__ import annotations

from evornn.arch.dispatch import family

# binary Hopfield and BAM units are a step function: no gradient, so no twin; the twin suites run
# the continuous units
# the continuous units; pixelrnn's twin suites (RTRL: a forward-mode product a weight) run a
# 3 x 4 image, which has a third of the 8 x 8 image's weights and rows; the history
# compressor's twin suites use a threshold at which some of their random inputs (+-1.5)
# surprise the automatizer and some do not, so the chunker both steps and waits
TWIN_OPTIONS = {"hopfield": {"units": "continuous"}, "bam": {"units": "continuous"},
                "pixelrnn": {"image": "3,4"}, "history_compressor": {"threshold": 1.2}}


# families whose steps are independent (pixelrnn: a step is a whole image): no state carries
STATELESS = {"pixelrnn"}


def _first(arch) -> str:
    return (arch.split("+") if isinstance(arch, str) else list(arch))[0]


def one_size(arch) -> bool:
    """Whether arch's first layer needs n_in = n_hidden = n_out."""
    return family(_first(arch)).one_size


def _last(arch) -> str:
    return (arch.split("+") if isinstance(arch, str) else list(arch))[-1]


def _fixed(name: str, options: dict | None):
    fam = family(name)
    return None if fam.io_sizes is None else fam.io_sizes({**fam.defaults(), **(options or {})})


def sized(arch, I: int, H, O: int, options: dict | None = None) -> tuple:
    """(n_in, n_hidden, n_out) for arch from a suite's generic sizes: a one-size family
    gets its units (the first hidden size) for all three; a family whose options fix n_in and
    n_out (Family.io_sizes) gets its n_in at the bottom of a stack, its n_out at the top."""
    first, last = _fixed(_first(arch), options), _fixed(_last(arch), options)
    if first or last:
        return (first or (I, O))[0], H, (last or (I, O))[1]
    if one_size(arch):
        N = H[0] if isinstance(H, (list, tuple)) else H
        return N, H, N
    return I, H, O


def twin_options(arch, options: dict | None = None) -> dict:
    """options, plus what a family's twin needs (TWIN_OPTIONS) where the case does not say."""
    extra = TWIN_OPTIONS.get(_first(arch), {})
    return {**extra, **(options or {})}
