"""Device models: the network's weights as they are when programmed onto hardware.

``--device memristive`` stores every weight as a differential pair of conductances,
w = scale * (G+ - G-), each G in [g_min, g_max] with ``levels`` levels; writing a pair
adds programming noise once, conductances drift as G(t) = G0 (t / t0)^-nu, and every read
adds read noise. The model is a genome -> genome map: a programmed genome is an ordinary
genome, so every architecture, problem and backend runs it unchanged. docs/memristive.md
has the model, its defaults (Joshi et al., Nature Communications 11, 2473, 2020) and results.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace

import numpy as np

from .options import (
    Option,
    boolean,
    check,
    choice,
    defaults,
    integer,
    non_negative,
    positive,
    unknown,
)

# blocks that are neuron parameters, not synapses: CTRNN time constants and gains, and an
# ESN's evolvable reservoir scalars stay exact (digital), as a chip's neuron circuits would
NOT_CONDUCTANCES = ("tau", "gain", "leak", "input_scaling", "spectral_radius", "bias_scaling")


def _none_or_positive(v) -> str | None:
    return None if v is None else positive(v)


MEMRISTIVE_OPTIONS: dict[str, Option] = {
    "levels": Option(64, "conductance levels a device can be programmed to (>= 2)", integer(2)),
    "g_min": Option(0.0, "lowest conductance, uS", non_negative),
    "g_max": Option(25.0, "highest conductance, uS (> g_min)", positive),
    "w_max": Option(None, "the weight stored as g_max - g_min (None: each genome's largest "
                          "|weight|); larger weights clip", _none_or_positive),
    "write_noise": Option(0.04, "programming noise, std as a fraction of g_max - g_min, drawn "
                                "once per programming", non_negative),
    "read_noise": Option(0.03, "read noise, std as a fraction of g_max - g_min, drawn at every "
                               "read (read_noise_every)", non_negative),
    "read_noise_every": Option("evaluation", "when the weights are read: once an evaluation (a "
                                             "slow 1/f fluctuation) or at every time step of "
                                             "population_forward ('step')",
                               choice("evaluation", "step")),
    "drift_nu": Option(0.05, "mean drift exponent nu of G(t) = G0 (t / t0)^-nu", non_negative),
    "drift_nu_std": Option(0.008, "device-to-device std of nu, drawn once per programming",
                           non_negative),
    "drift_t0": Option(20.0, "drift reference time t0, seconds after programming", positive),
    "drift_time": Option(3600.0, "when the network is read, seconds after programming "
                                 "(>= drift_t0)", positive),
    "drift_compensation": Option(True, "divide what is read by the mean drift factor (t / "
                                       "t0)^-nu, one digital scale as on the chip", boolean),
    "samples": Option(1, "devices a genome is programmed onto per evaluation: its fitness is "
                         "their mean, and it is solved when every copy passes", integer(1)),
}
DEVICES = {"memristive": "each weight a pair of memristive conductances: levels, programming "
                         "and read noise, drift (docs/memristive.md)"}


@dataclass(frozen=True)
class Memristive:
    """A checked memristive device model (``make_device`` builds one from options)."""

    levels: int = 64
    g_min: float = 0.0
    g_max: float = 25.0
    w_max: float | None = None
    write_noise: float = 0.04
    read_noise: float = 0.03
    read_noise_every: str = "evaluation"
    drift_nu: float = 0.05
    drift_nu_std: float = 0.008
    drift_t0: float = 20.0
    drift_time: float = 3600.0
    drift_compensation: bool = True
    samples: int = 1

    def __post_init__(self):
        check("memristive", MEMRISTIVE_OPTIONS, self.__dict__)
        if self.g_max <= self.g_min:
            raise ValueError(f"memristive: option g_max={self.g_max!r} must be > g_min "
                             f"({self.g_min!r})")
        if self.drift_time < self.drift_t0:
            raise ValueError(f"memristive: option drift_time={self.drift_time!r} must be >= "
                             f"drift_t0 ({self.drift_t0!r})")

    @property
    def span(self) -> float:
        """g_max - g_min, the conductance range."""
        return self.g_max - self.g_min

    @property
    def drift_factor(self) -> float:
        """(drift_time / drift_t0)^-nu at the mean nu: what drift multiplies a conductance by
        on average (the compensation divides by it)."""
        return float((self.drift_time / self.drift_t0) ** -self.drift_nu)


def make_device(name: str | None, options: dict | None = None) -> Memristive | None:
    """The device model a run's ``device`` and ``device_options`` name (None: ideal weights),
    or a one-line ValueError naming the bad name, option or value and what is allowed."""
    if name is None:
        if options:
            raise ValueError(f"--device-option {next(iter(options))}: device options need "
                             "--device memristive")
        return None
    if name not in DEVICES:
        raise unknown("device", name, list(DEVICES))
    opts = dict(options or {})
    for k in opts:
        if k not in MEMRISTIVE_OPTIONS:
            raise unknown("memristive device option", k, list(MEMRISTIVE_OPTIONS))
    for k, v in opts.items():                # TOML and --device-option give ints for floats
        if isinstance(MEMRISTIVE_OPTIONS[k].default, float) and isinstance(v, (int, np.integer)) \
                and not isinstance(v, bool):
            opts[k] = float(v)
    check("memristive", MEMRISTIVE_OPTIONS, opts)
    return Memristive(**{**defaults(MEMRISTIVE_OPTIONS), **opts})


def weight_mask(net) -> np.ndarray:
    """True for the genes that are synaptic weights and biases (each a conductance pair),
    False for neuron parameters (NOT_CONDUCTANCES blocks)."""
    mask = np.ones(net.n_params, bool)
    for b in net.layout:
        if b.name.rpartition(".")[2] in NOT_CONDUCTANCES:
            mask[b.offset:b.offset + b.size] = False
    return mask


@dataclass
class Programmed:
    """Conductance pairs as written: G+ and G- [P, n_weights] in uS, each genome's weight
    scale [P] (the weight stored as g_max - g_min), and the genomes they came from."""

    g_plus: np.ndarray
    g_minus: np.ndarray
    w_max: np.ndarray
    genomes: np.ndarray
    mask: np.ndarray
    nu_plus: np.ndarray
    nu_minus: np.ndarray


def quantize(g: np.ndarray, d: Memristive) -> np.ndarray:
    """Conductances clipped into [g_min, g_max] and rounded to the nearest of d.levels levels."""
    step = d.span / (d.levels - 1)
    return d.g_min + np.rint((np.clip(g, d.g_min, d.g_max) - d.g_min) / step) * step


def write(genomes: np.ndarray, rng: np.random.Generator, d: Memristive,
          mask: np.ndarray | None = None) -> Programmed:
    """Program genomes [P, D] onto devices: the masked genes' target pairs, quantized to the
    levels, plus programming noise (clipped into the range, as write-verify keeps it)."""
    G = np.atleast_2d(np.asarray(genomes, dtype=np.float64))
    mask = np.ones(G.shape[1], bool) if mask is None else np.asarray(mask, bool)
    W = G[:, mask]
    if d.w_max is not None:
        scale = np.full(len(G), float(d.w_max))
    else:
        scale = np.abs(W).max(axis=1, initial=0.0)
        scale[scale == 0] = 1.0
    x = np.clip(W / scale[:, None], -1.0, 1.0) * d.span       # target G+ - G-
    gp = quantize(d.g_min + np.maximum(x, 0.0), d)
    gm = quantize(d.g_min + np.maximum(-x, 0.0), d)
    # always drawn, so a noise level of 0 leaves the random stream where it was
    noise = rng.standard_normal((2,) + W.shape) * (d.write_noise * d.span)
    nu = np.maximum(d.drift_nu + d.drift_nu_std * rng.standard_normal((2,) + W.shape), 0.0)
    gp = np.clip(gp + noise[0], d.g_min, d.g_max)
    gm = np.clip(gm + noise[1], d.g_min, d.g_max)
    return Programmed(gp, gm, scale, G, mask, nu[0], nu[1])


def drift(g0: np.ndarray, t: float, t0: float, nu) -> np.ndarray:
    """Conductance t seconds after programming: G(t) = G0 (t / t0)^-nu (nu a number or one
    exponent per device)."""
    return np.asarray(g0) * (t / t0) ** -np.asarray(nu)


def read(p: Programmed, rng: np.random.Generator, d: Memristive) -> np.ndarray:
    """The genomes the devices hold when read at d.drift_time: drifted pairs plus read noise,
    turned back into weights (unmasked genes as they were)."""
    noise = rng.standard_normal((2,) + p.g_plus.shape) * (d.read_noise * d.span)
    gp = drift(p.g_plus, d.drift_time, d.drift_t0, p.nu_plus) + noise[0]
    gm = drift(p.g_minus, d.drift_time, d.drift_t0, p.nu_minus) + noise[1]
    gain = 1.0 / d.drift_factor if d.drift_compensation else 1.0
    out = p.genomes.copy()
    out[:, p.mask] = (gp - gm) * (gain * p.w_max / d.span)[:, None]
    return out


def program(genomes: np.ndarray, rng: np.random.Generator, d: Memristive,
            mask: np.ndarray | None = None) -> np.ndarray:
    """Write genomes onto fresh devices and read them once: the genomes [P, D] an evaluation
    sees (deterministic given rng's state)."""
    return read(write(genomes, rng, d, mask), rng, d)


class StepReads:
    """Read noise drawn afresh at every time step of ``population_forward`` for the genomes
    one evaluation programmed (``read_noise_every="step"``); ``reading`` turns it on."""

    def __init__(self, base: np.ndarray, sd: np.ndarray, mask: np.ndarray, key: int):
        # rows are found by their float32 values: a problem may cast its genomes first
        self._rows = {r.tobytes(): i for i, r in enumerate(base.astype(np.float32))}
        self._calls = np.zeros(len(base), np.int64)
        self._lock = threading.Lock()
        self.sd, self.mask, self.key, self.used = sd, mask, int(key), False

    def noise_for(self, genomes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For one forward pass of genomes [P, D] (rows the device programmed): each gene's
        read-noise std in weight units [P, D] and a seed [P] for its draws."""
        G = np.atleast_2d(np.asarray(genomes)).astype(np.float32)
        with self._lock:
            idx = []
            for r in G:
                i = self._rows.get(r.tobytes())
                if i is None:
                    raise ValueError("read_noise_every=step: population_forward got a genome the "
                                     "device did not program in this evaluation")
                # a row's k-th pass draws from (key, row, k): the same draws however the rows
                # are split over threads and calls
                idx.append((i, int(self._calls[i])))
                self._calls[i] += 1
            self.used = True
        rows = np.array([i for i, _ in idx], np.int64)
        sd = np.where(self.mask[None, :], self.sd[rows][:, None], 0.0)
        seeds = np.array([np.random.default_rng([self.key, i, k]).integers(2 ** 32)
                          for i, k in idx], np.int64)
        return sd, seeds


def program_stepwise(genomes: np.ndarray, rng: np.random.Generator, d: Memristive,
                     mask: np.ndarray | None = None) -> tuple[np.ndarray, StepReads]:
    """Write genomes onto fresh devices and read them without read noise: the genomes [P, D]
    an evaluation starts from, and the StepReads adding fresh read noise at every step."""
    p = write(genomes, rng, d, mask)
    base = read(p, rng, replace(d, read_noise=0.0))
    gain = 1.0 / d.drift_factor if d.drift_compensation else 1.0
    # a weight read is (G+ + n+ - G- - n-) * gain * w_max / span, each n of std read_noise *
    # span: n+ - n- is one normal of sqrt(2) times that std, one draw a weight a step
    sd = np.sqrt(2.0) * d.read_noise * gain * p.w_max
    return base, StepReads(base, sd, p.mask, int(rng.integers(2 ** 63)))


def generation_rng(seed: int, generation: int) -> np.random.Generator:
    """The device noise of one generation of a run: the same on any backend or worker count."""
    return np.random.default_rng([int(seed), int(generation), 0x6D656D])
