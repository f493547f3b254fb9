"""``Network``: an architecture, its sizes and options, and one genome that fills it."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .arch.blocks import Block, bounds_of, init_genome, place
from .arch.dispatch import FAMILIES, pack, step
from .arch.kernels import C_OPT, CFG_LEN, READOUTS
from .arch.spec import Family
from .io_names import io_names
from .options import unknown

_BY_NAME = {f.name: (kind, f) for kind, f in enumerate(FAMILIES)}
_PUBLIC = tuple(f.name for f in FAMILIES if not f.internal)
_NETWORK_OPTIONS = ("num_layers", "bidirectional")


def architectures() -> list[str]:
    """Names of every architecture family."""
    return list(_PUBLIC)


def describe_architectures() -> dict[str, str]:
    """Architecture name -> one-line description."""
    return {name: _BY_NAME[name][1].description for name in _PUBLIC}


def architecture_options(name: str) -> dict:
    """An architecture's options: name -> Option(default, one-line meaning, check)."""
    if name not in _PUBLIC:
        raise unknown("architecture", name, _PUBLIC)
    return dict(_BY_NAME[name][1].options)


def _size(what: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{what} must be a positive integer, got {v!r}")
    return int(v)


@dataclass
class Layer:
    """One recurrent (or readout) layer of a network: family, sizes, genome slice, kernels' cfg."""

    family: Family
    kind: int
    n_in: int
    n_hidden: int
    n_out: int
    opts: dict
    blocks: list
    offset: int
    n_genes: int
    n_packed: int
    n_state: int
    cfg: np.ndarray
    fixed: np.ndarray
    _fixed_cast: dict = field(default_factory=dict, repr=False)

    def fixed_as(self, dtype) -> np.ndarray:
        """The fixed (non-evolved) arrays in the compute dtype, converted once."""
        key = np.dtype(dtype).str
        if key not in self._fixed_cast:
            a = self.fixed.astype(dtype)
            self._fixed_cast[key] = a if a.size else np.zeros(1, dtype)
        return self._fixed_cast[key]


def _make_layer(name, I, H, O, opts, offset, prefix, seed, index) -> Layer:
    kind, fam = _BY_NAME[name]
    if opts["readout"] not in fam.readouts:
        raise ValueError(f"{name}: readout={opts['readout']!r} is not allowed; "
                         f"choose one of {', '.join(map(repr, fam.readouts))}")
    fam.validate(I, H, O, opts)
    if opts["readout"] == "none" and fam.features(I, H, opts) != O:
        raise ValueError(f"{name}: readout='none' outputs the {fam.features(I, H, opts)} features "
                         f"themselves, so n_out must be {fam.features(I, H, opts)}, got {O}")
    blocks = place(fam.blocks(I, H, O, opts), offset, prefix)
    n_genes = sum(b.size for b in blocks)
    n_packed, n_state = fam.sizes(I, H, O, opts)
    cfg = np.zeros(CFG_LEN)
    cfg[:5] = [kind, I, H, O, READOUTS[opts["readout"]]]
    extra = fam.cfg(I, H, O, opts)
    cfg[C_OPT:C_OPT + len(extra)] = extra
    fixed = np.asarray(fam.fixed(I, H, O, opts, np.random.default_rng([seed, 1, index])), float)
    return Layer(fam, kind, I, H, O, opts, blocks, offset, n_genes, n_packed, n_state, cfg, fixed)


def build_layers(arch, n_in, n_hidden, n_out, seed, options) -> tuple[list[Layer], bool]:
    """The layer plan of a network: recurrent layers (fwd/bwd pairs when bidirectional), top last."""
    if isinstance(arch, str):
        names = arch.split("+") if "+" in arch else [arch]
    elif isinstance(arch, (list, tuple)) and arch and all(isinstance(a, str) for a in arch):
        names = list(arch)
    else:
        raise ValueError(f"arch must be an architecture name or a list of them, got {arch!r}; "
                         f"valid: {', '.join(_PUBLIC)}")
    for a in names:
        if a not in _PUBLIC:
            raise unknown("architecture", a, _PUBLIC)
    n_in, n_out = _size("n_in", n_in), _size("n_out", n_out)
    num_layers = options.pop("num_layers", None)
    bidir = options.pop("bidirectional", False)
    if bidir not in (True, False):
        raise ValueError(f"option bidirectional={bidir!r} must be True or False")
    if num_layers is not None:
        num_layers = _size("num_layers", num_layers)
        if len(names) == 1:
            names = names * num_layers
        elif num_layers != len(names):
            raise ValueError(f"num_layers={num_layers} disagrees with the {len(names)} layers "
                             f"named in arch {arch!r}")
    L = len(names)
    hidden = list(n_hidden) if isinstance(n_hidden, (list, tuple)) else [n_hidden] * L
    if len(hidden) != L:
        raise ValueError(f"n_hidden has {len(hidden)} sizes for {L} layers; give one per layer "
                         "or a single integer")
    hidden = [_size("n_hidden", h) for h in hidden]
    known = set(_NETWORK_OPTIONS)
    for a in names:
        known |= set(_BY_NAME[a][1].options)
    for key in options:
        if key not in known:
            raise unknown("option", key, sorted(known))
    top_readout = options.get("readout")
    for i, a in enumerate(names):
        why = _BY_NAME[a][1].last_only
        if why and (i < L - 1 or bidir):
            raise ValueError(f"{a} must be the last layer of a stack and cannot be bidirectional: "
                             f"{why}")

    def opts_for(a, readout):
        fam = _BY_NAME[a][1]
        o = fam.defaults()
        o.update({k: v for k, v in options.items() if k in fam.options})
        o["readout"] = readout if readout is not None else fam.options["readout"].default
        return o

    layers, offset, I = [], 0, n_in
    for i, (a, H) in enumerate(zip(names, hidden)):
        top = i == L - 1 and not bidir
        pre = f"{i}." if (L > 1 or bidir) else ""
        dirs = [("fwd.", 0), ("bwd.", 1)] if bidir else [("", 0)]
        for dname, d in dirs:
            o = opts_for(a, top_readout if top else "none")
            F = _BY_NAME[a][1].features(I, H, o)
            lay = _make_layer(a, I, H, n_out if top else F, o, offset, pre + dname, seed, 2 * i + d)
            layers.append(lay)
            offset += lay.n_genes
        I = lay.n_out * (2 if bidir else 1)
    if bidir:
        readout = top_readout if top_readout is not None else "linear"
        lay = _make_layer("dense", I, I, n_out, {"readout": readout}, offset, "top.", seed, 2 * L)
        layers.append(lay)
    return layers, bidir


def _torch_twin():
    """evornn.twins.convert, imported on first use: torch is an optional extra."""
    try:
        from .twins import convert
    except ImportError as e:
        raise ImportError(f"torch twins need torch ({e}): pip install 'evornn[bptt]'") from e
    return convert


def _input_norm(norm, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) as two float vectors of n_in, std > 0, or a one-line ValueError."""
    try:
        mean, std = (np.asarray(v, dtype=np.float64) for v in norm)
    except (TypeError, ValueError):
        raise ValueError(f"input_norm must be (mean, std), got {norm!r}") from None
    if mean.shape != (n_in,) or std.shape != (n_in,) or not (np.isfinite(mean).all()
                                                             and np.isfinite(std).all()
                                                             and (std > 0).all()):
        raise ValueError(f"input_norm must be (mean, std): two finite vectors of {n_in} (the "
                         f"inputs), std > 0; got shapes {mean.shape} and {std.shape}")
    return mean, std


class Network:
    """A recurrent network of a named architecture whose weights are one flat genome.

    ``Network("lstm", 4, 32, 2)``; stacks: ``num_layers=2`` or ``arch=["lstm", "ctrnn"]``
    (``n_hidden`` an int or one per layer); ``bidirectional=True`` for sequence tasks.
    ``output_map=(scale, shift)`` maps every output y to y * scale + shift, e.g. a sigmoid
    output in [0, 1] to an environment's action in [-1, 1]. ``inputs``/``outputs`` name the
    sensors and motors (``net.inputs``, ``net.outputs``; default in_0.., out_0..).
    ``input_norm=(mean, std)`` normalizes every input x to (x - mean) / std first (gym:
    problems' observation statistics); ``evornn.stepper`` takes inputs as given.
    """

    def __init__(self, arch, n_in: int, n_hidden, n_out: int, genome=None, seed: int = 0,
                 output_map: tuple[float, float] | None = None, inputs=None, outputs=None,
                 input_norm=None, **options):
        self.arch = arch
        self.n_in, self.n_out = n_in, n_out
        self.n_hidden = n_hidden
        self.seed = int(seed)
        self.options = dict(options)
        if output_map is not None:
            try:
                scale, shift = (float(v) for v in output_map)
            except (TypeError, ValueError):
                raise ValueError(f"output_map must be (scale, shift), got {output_map!r}") from None
            if not (np.isfinite(scale) and np.isfinite(shift)):
                raise ValueError(f"output_map must be finite numbers, got {output_map!r}")
            output_map = (scale, shift)
        self.output_map = output_map
        self.input_norm = None if input_norm is None else _input_norm(input_norm, n_in)
        self.layers, self.bidirectional = build_layers(arch, n_in, n_hidden, n_out, self.seed,
                                                       dict(options))
        # sensor and motor names (in_0.., out_0.. unless given): labels for plots and reports
        self.inputs = io_names("inputs", inputs, self.n_in, "in")
        self.outputs = io_names("outputs", outputs, self.n_out, "out")
        self.layout: list[Block] = [b for lay in self.layers for b in lay.blocks]
        self.n_params = sum(lay.n_genes for lay in self.layers)
        if genome is None:
            genome = init_genome(self.layout, np.random.default_rng([self.seed, 0]))
            cc = [lay for lay in self.layers if lay.opts.get("init") == "center-crossing"]
            if cc:
                from .crossing import center_crossing_layers
                genome = center_crossing_layers(cc, genome, clip=True)
        self.genome = genome

    # -- genome ---------------------------------------------------------------------------
    def _layout_text(self) -> str:
        return ", ".join(f"{b.name}{list(b.shape)}" for b in self.layout)

    def check_genomes(self, genomes) -> np.ndarray:
        """genomes as a float [P, n_params] array, or a ValueError naming the expected layout."""
        G = np.asarray(genomes)
        if G.dtype.kind != "f":
            raise ValueError(f"genomes must be float32 or float64, got dtype {G.dtype}")
        if G.ndim == 1:
            G = G[None]
        if G.ndim != 2 or G.shape[1] != self.n_params:
            raise ValueError(f"genome must have {self.n_params} genes (shape [P, {self.n_params}] "
                             f"for a population), got shape {np.shape(genomes)}; layout: "
                             f"{self._layout_text()}")
        if G.shape[0] == 0:
            raise ValueError("genomes is empty: a population needs at least one genome")
        bad = ~np.isfinite(G)
        if bad.any():
            p, d = np.argwhere(bad)[0]
            raise ValueError(f"genome {p} has a non-finite weight ({G[p, d]}) at gene {d} "
                             f"({self._gene_name(d)})")
        if G.dtype not in (np.float32, np.float64):
            G = G.astype(np.float64)
        return G

    def _gene_name(self, d: int) -> str:
        for b in self.layout:
            if b.offset <= d < b.offset + b.size:
                idx = np.unravel_index(d - b.offset, b.shape) if b.shape else ()
                return f"{b.name}{list(map(int, idx))}"
        return "?"

    @property
    def genome(self) -> np.ndarray:
        """The network's genome (a copy; assign to change it)."""
        return self._genome.copy()

    @genome.setter
    def genome(self, value) -> None:
        g = np.asarray(value)
        if g.ndim != 1:
            raise ValueError(f"a genome is a flat vector of {self.n_params} genes, got shape "
                             f"{g.shape}; layout: {self._layout_text()}")
        self._genome = self.check_genomes(g)[0].astype(np.float64)
        self._packed = [self._pack(lay, np.float64) for lay in self.layers]
        self.reset()

    def _pack(self, lay: Layer, dtype) -> np.ndarray:
        w = np.zeros(max(lay.n_packed, 1), dtype)
        g = np.ascontiguousarray(self._genome[lay.offset:lay.offset + lay.n_genes], dtype)
        pack(lay.kind, g, lay.cfg, lay.fixed_as(dtype), w)
        return w

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-gene (lower, upper) bounds, +-inf where unbounded."""
        return bounds_of(self.layout)

    def block(self, name: str) -> np.ndarray:
        """The genome's values of one named block, in its shape."""
        for b in self.layout:
            if b.name == name:
                return self._genome[b.offset:b.offset + b.size].reshape(b.shape)
        raise unknown("block", name, [b.name for b in self.layout])

    # -- running --------------------------------------------------------------------------
    def reset(self) -> None:
        """Flush the recurrent state (start of a new sequence or episode)."""
        self._state = [np.zeros(lay.n_state + 1) for lay in self.layers]

    def step(self, x) -> np.ndarray:
        """One time step online: x of shape (n_in,) -> outputs of shape (n_out,)."""
        if self.bidirectional:
            raise ValueError("a bidirectional network needs the whole sequence: use forward(X)")
        v = np.asarray(x)
        if v.dtype.kind not in "biuf":
            raise ValueError(f"step expects real numbers, got dtype {v.dtype}")
        if v.shape != (self.n_in,):
            raise ValueError(f"step expects x of shape ({self.n_in},), got {v.shape}")
        if self.input_norm is not None:
            v = (v - self.input_norm[0]) / self.input_norm[1]
        v = v.astype(np.float64)[None]
        for lay, w, st in zip(self.layers, self._packed, self._state):
            y = np.empty((1, lay.n_out))
            step(lay.kind, w, lay.cfg, lay.fixed_as(np.float64), st, v, y)
            v = y
        if self.output_map is not None:
            return v[0] * self.output_map[0] + self.output_map[1]
        return v[0]

    def check_inputs(self, X, batched: bool = False) -> np.ndarray:
        """Inputs as a float array [B, T, n_in] (or [T, n_in] unless batched), else ValueError."""
        A = np.asarray(X)
        if A.dtype.kind in "biu":
            A = A.astype(np.float64)
        if A.dtype.kind != "f":
            raise ValueError(f"inputs must be a float array, got dtype {A.dtype}")
        if A.dtype not in (np.float32, np.float64):
            A = A.astype(np.float64)
        want = "[B, T, n_in]" if batched else "[T, n_in] or [B, T, n_in]"
        if A.ndim not in ((3,) if batched else (2, 3)) or A.shape[-1] != self.n_in \
                or 0 in A.shape:
            raise ValueError(f"inputs must have shape {want} with n_in={self.n_in} and T, B >= 1, "
                             f"got {A.shape}")
        return A

    def forward(self, X) -> np.ndarray:
        """Outputs for whole sequences from a flushed state: X (T, n_in) or (B, T, n_in)."""
        from .population import forward_layers
        A = self.check_inputs(X)
        if self.input_norm is not None:
            A = ((A - self.input_norm[0]) / self.input_norm[1]).astype(A.dtype)
        Y = forward_layers(self, self._genome[None].astype(A.dtype), A if A.ndim == 3 else A[None])
        return Y[0] if A.ndim == 3 else Y[0, 0]

    def fit_readout(self, X, Y, washout: int = 0, ridge: float = 1e-8) -> np.ndarray:
        """Reservoir families (esn, lsm): fit the linear readout by ridge regression (see
        arch.esn.fit_readout, arch.lsm.fit_readout)."""
        from .arch.esn import fit_readout
        own = self.layers[0].family.fit_readout if len(self.layers) == 1 else None
        return (own or fit_readout)(self, X, Y, washout, ridge)

    # -- torch ----------------------------------------------------------------------------
    def to_torch(self):
        """A torch module computing the same function (torch.nn.LSTM/GRU/RNN + Linear for a
        plain lstm/gru/elman network, else a StackTwin of its layers' twins)."""
        return _torch_twin().to_torch(self)

    @classmethod
    def from_torch(cls, module) -> "Network":
        """The Network equal to a torch twin, or to a bare torch.nn.LSTM/GRU/RNN."""
        return _torch_twin().from_torch(module, cls)

    def __repr__(self) -> str:
        return (f"Network({self.arch!r}, n_in={self.n_in}, n_hidden={self.n_hidden}, "
                f"n_out={self.n_out}, n_params={self.n_params}"
                + "".join(f", {k}={v!r}" for k, v in self.options.items()) + ")")
