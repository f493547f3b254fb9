"""A network out of evornn as a folder a NumPy-only Python runs: ``network.py`` (the layers'
own ``pack`` and ``step`` kernels, their source copied with the numba decorators taken off,
plus a ``Network`` class) and ``network.npz`` (weights by block name, each layer's kernel
options and fixed arrays, sizes, names). The kernels are the code evornn steps, not a second
copy, so the two cannot drift; see docs/export.md."""
from __future__ import annotations

import ast
import builtins
import inspect
import json
import math
import textwrap
import types
from pathlib import Path

import numpy as np

from .export import _resolved_options

FORMAT, VERSION = "evornn-numpy", 1
PY_NAME, NPZ_NAME = "network.py", "network.npz"

# kernel primitives that need numba (an intrinsic view) or that NumPy does as one call;
# the same arithmetic, in the order of a matrix product instead of the tiled loop
_OVERRIDES = {
    "evornn.arch.kernels.view2d": (
        "def {name}(a, off, rows, cols):\n"
        "    \"\"\"a[off:off + rows*cols] seen as [rows, cols] (a view: writes reach a).\"\"\"\n"
        "    return a[off:off + rows * cols].reshape(rows, cols)\n"),
    "evornn.arch.kernels.borrow2d": (
        "def {name}(a, off, rows, cols):\n"
        "    \"\"\"a[off:off + rows*cols] seen as [rows, cols] (a view: writes reach a).\"\"\"\n"
        "    return a[off:off + rows * cols].reshape(rows, cols)\n"),
    "evornn.arch.kernels.mm_acc": (
        "def {name}(z, x, w):\n"
        "    \"\"\"z[B, M] += x[B, K] @ w[K, M].\"\"\"\n"
        "    z += x @ w\n"),
    "evornn.arch.kernels.set_rows": (
        "def {name}(z, v):\n"
        "    \"\"\"z[b, :] = v for every batch row.\"\"\"\n"
        "    z[:] = v\n"),
}
# math.exp raises OverflowError where the compiled kernel gives inf (a diverging network)
_MATH_AS_NUMPY = {"exp"}


class NotExportable(ValueError):
    """A kernel refers to something the exporter cannot write as plain Python."""


def _qualname(f) -> str:
    return f"{f.__module__}.{f.__qualname__}"


def _scalar_source(v) -> str | None:
    """A module-level constant as source text, or None when it is not a plain value."""
    if isinstance(v, (bool, int, float, str)) or v is None:
        return repr(v)
    if isinstance(v, np.generic) and v.dtype.kind in "biuf":
        return f"np.{v.dtype.name}({v.item()!r})"
    if isinstance(v, tuple):
        parts = [_scalar_source(a) for a in v]
        if None not in parts:
            return "(" + "".join(p + ", " for p in parts) + ")"
    return None


def _numpy_type(v) -> str | None:
    """A numba scalar type used as a conversion (uint64(x)) as its NumPy name."""
    name = getattr(v, "name", None)
    if type(v).__module__.startswith("numba") and isinstance(name, str) \
            and isinstance(getattr(np, name, None), type):
        return f"np.{name}"
    return None


class _Collector:
    """Source of the functions a set of kernels calls, each under a unique flat name."""

    def __init__(self):
        self.names: dict[int, str] = {}        # id(function) -> its name in the file
        self.consts: dict[str, str] = {}       # module.name of a constant -> its name
        self.taken: set[str] = set()
        self.chunks: list[str] = []
        self.const_lines: list[str] = []

    def _fresh(self, module: str, name: str) -> str:
        base = f"{module.rsplit('.', 1)[-1]}_{name}".lstrip("_")
        new, k = base, 2
        while new in self.taken:
            new, k = f"{base}_{k}", k + 1
        self.taken.add(new)
        return new

    def name_of(self, v, where: str) -> str:
        """The name v has in the file, writing its source (or value) there first."""
        if id(v) in self.names:
            return self.names[id(v)]
        typed = _numpy_type(v)
        if typed:
            return typed
        f = getattr(v, "py_func", v)
        if isinstance(f, types.FunctionType):
            name = self._fresh(f.__module__, f.__name__)
            self.names[id(v)] = name
            over = _OVERRIDES.get(_qualname(f))
            self.chunks.append(over.format(name=name) if over else self._function(f, name))
            return name
        # constants by where they live, not by identity: small ints are shared objects
        if where in self.consts:
            return self.consts[where]
        src = _scalar_source(v)
        if src is None:
            raise NotExportable(f"{where} is {type(v).__name__} {v!r:.60}, which the NumPy "
                                "export cannot write as plain Python")
        name = self._fresh(where.rsplit(".", 1)[0], where.rsplit(".", 1)[-1])
        self.consts[where] = name
        self.const_lines.append(f"{name} = {src}\n")
        return name

    def source(self) -> str:
        return "".join(self.const_lines) + "\n\n" + "\n\n".join(self.chunks)

    def _function(self, f, name: str) -> str:
        tree = ast.parse(textwrap.dedent(inspect.getsource(f)))
        fn = tree.body[0]
        if not isinstance(fn, ast.FunctionDef):
            raise NotExportable(f"{_qualname(f)} is not a plain function")
        fn.decorator_list = []
        fn.name = name
        local = {a.arg for a in ast.walk(fn) if isinstance(a, ast.arg)}     # lambdas' too
        local |= {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, (ast.Store, ast.Del))}
        g = f.__globals__
        if f.__closure__:
            raise NotExportable(f"{_qualname(f)} closes over variables of the function that "
                                "made it")
        collector = self

        class Rename(ast.NodeTransformer):
            def visit_Attribute(self, node):
                base = node.value
                if isinstance(base, ast.Name) and base.id not in local \
                        and isinstance(g.get(base.id), types.ModuleType):
                    mod = g[base.id]
                    if mod is np:
                        return ast.copy_location(ast.Attribute(ast.Name("np", ast.Load()),
                                                               node.attr, node.ctx), node)
                    if mod is math:
                        lib = "np" if node.attr in _MATH_AS_NUMPY else "math"
                        return ast.copy_location(ast.Attribute(ast.Name(lib, ast.Load()),
                                                               node.attr, node.ctx), node)
                    v = getattr(mod, node.attr)
                    new = collector.name_of(v, f"{mod.__name__}.{node.attr}")
                    return ast.copy_location(ast.parse(new, mode="eval").body, node)
                return self.generic_visit(node)

            def visit_Name(self, node):
                if node.id in local or not isinstance(node.ctx, ast.Load):
                    return node
                if node.id not in g:
                    if hasattr(builtins, node.id):
                        return node
                    raise NotExportable(f"{_qualname(f)} reads {node.id}, defined nowhere")
                v = g[node.id]
                if v is np:
                    return ast.copy_location(ast.Name("np", ast.Load()), node)
                if v is math:
                    return ast.copy_location(ast.Name("math", ast.Load()), node)
                if isinstance(v, types.ModuleType):
                    raise NotExportable(f"{_qualname(f)} passes module {v.__name__} around")
                new = collector.name_of(v, f"{f.__module__}.{node.id}")
                return ast.copy_location(ast.parse(new, mode="eval").body, node)

        fn = Rename().visit(fn)
        return ast.unparse(ast.fix_missing_locations(fn)) + "\n"


def numpy_refusal(net) -> str | None:
    """Why the network cannot be exported to NumPy (one line), or None."""
    try:
        _kernel_source(net)
    except NotExportable as e:
        return str(e)
    return None


def _kernel_source(net) -> tuple[str, list[tuple[str, str]]]:
    """(source of every kernel the layers call, [(pack name, step name)] a layer)."""
    c = _Collector()
    names = []
    for lay in net.layers:
        fam = lay.family
        if fam.no_numpy:
            raise NotExportable(f"{fam.name} does not export to NumPy: {fam.no_numpy}")
        try:
            names.append((c.name_of(fam.pack, f"{fam.name}.pack"),
                          c.name_of(fam.step, f"{fam.name}.step")))
        except NotExportable as e:
            raise NotExportable(f"{fam.name} does not export to NumPy: {e}") from None
        except (OSError, TypeError) as e:
            raise NotExportable(f"{fam.name} does not export to NumPy: its kernels' source "
                                f"cannot be read ({e})") from None
    return c.source(), names


def _meta(net) -> dict:
    return {"format": FORMAT, "version": VERSION, "arch": net.arch, "n_in": net.n_in,
            "n_hidden": net.n_hidden, "n_out": net.n_out, "seed": net.seed,
            "options": _resolved_options(net), "output_map": net.output_map,
            "inputs": list(net.inputs), "outputs": list(net.outputs),
            "bidirectional": net.bidirectional, "layout": [b.name for b in net.layout],
            "layers": [{"family": lay.family.name, "offset": lay.offset,
                        "n_genes": lay.n_genes, "n_packed": lay.n_packed,
                        "n_state": lay.n_state, "n_out": lay.n_out,
                        "cfg": [float(v) for v in lay.cfg]} for lay in net.layers]}


_TEMPLATE = '''\
"""{title}

Exported by evornn (python -m evornn export RUN_DIR --format numpy); needs only NumPy. The
functions below are evornn's own kernels for this architecture, their source copied as it
is with the compilation decorators taken off; network.npz beside this file holds the
weights by block name (its "__meta__" entry: sizes, options, names, the layers' settings).

    from network import Network
    net = Network()                  # reads network.npz beside this file
    y, state = net.step(x)           # x [n_in] or [B, n_in]; the state starts at zeros
    y, state = net.step(x2, state)   # the next step
    Y = net.forward(X)               # X [B, T, n_in] (or [T, n_in]) from the zero state
    net.reset(); y = net(x)          # or let the network keep its own state

Float64 throughout (evornn's float32 kernels use a faster tanh; these are its float64 ones).
"""
import json
import math
import os

import numpy as np

FORMAT, VERSION = {fmt!r}, {version!r}


{kernels}

# each layer's pack (genome -> kernel parameters) and step (one time step of a batch)
LAYER_KERNELS = [{layer_kernels}]


class Network:
    """The exported network: step(x, state) -> (y, state), forward(X), reset()/__call__."""

    def __init__(self, path=None):
        path = path or os.path.join(os.path.dirname(os.path.abspath(__file__)), "network.npz")
        with np.load(path, allow_pickle=False) as d:
            meta = json.loads(str(d["__meta__"]))
            if meta.get("format") != FORMAT or meta.get("version") != VERSION:
                raise ValueError(f"{{path}} is not a {{FORMAT}} file of version {{VERSION}}")
            self.blocks = {{name: np.array(d[name], dtype=np.float64) for name in meta["layout"]}}
            fixed = [np.array(d[f"__fixed{{i}}__"], dtype=np.float64)
                     for i in range(len(meta["layers"]))]
        self.meta = meta
        self.n_in, self.n_out = meta["n_in"], meta["n_out"]
        self.inputs, self.outputs = meta["inputs"], meta["outputs"]
        self.bidirectional = meta["bidirectional"]
        self.output_map = meta["output_map"]
        genome = np.concatenate([self.blocks[n].ravel() for n in meta["layout"]])
        self.layers = []
        for (pack, step), lay, fx in zip(LAYER_KERNELS, meta["layers"], fixed):
            g = np.ascontiguousarray(genome[lay["offset"]:lay["offset"] + lay["n_genes"]])
            cfg = np.array(lay["cfg"], dtype=np.float64)
            w = np.zeros(max(lay["n_packed"], 1))
            pack(g, cfg, fx, w)
            self.layers.append((step, w, cfg, fx, lay["n_state"], lay["n_out"]))
        self.reset()

    def initial_state(self, batch=1):
        """The zero state of a batch of `batch` sequences: one array a layer."""
        return [np.zeros(n_state * batch + 1) for _, _, _, _, n_state, _ in self.layers]

    def _inputs(self, x, ndims):
        v = np.asarray(x, dtype=np.float64)
        if v.ndim not in ndims or v.shape[-1] != self.n_in or 0 in v.shape:
            raise ValueError(f"inputs must have {{' or '.join(f'{{n}} axes' for n in ndims)}} "
                             f"with n_in={{self.n_in}} last, got shape {{v.shape}}")
        return v

    def _map(self, y):
        if self.output_map is None:
            return y
        return y * self.output_map[0] + self.output_map[1]

    def step(self, x, state=None):
        """One time step: x [n_in] (or a batch [B, n_in]) and the state (None: zeros) ->
        (y [n_out] (or [B, n_out]), the next state); the state given is not changed."""
        if self.bidirectional:
            raise ValueError("a bidirectional network needs the whole sequence: use forward(X)")
        v = self._inputs(x, (1, 2))
        single = v.ndim == 1
        v = np.ascontiguousarray(v.reshape(-1, self.n_in))
        B = v.shape[0]
        if state is None:
            state = self.initial_state(B)
        else:
            want = [s.shape for s in self.initial_state(B)]
            if [np.shape(s) for s in state] != want:
                raise ValueError(f"the state of a batch of {{B}} has shapes {{want}}")
            state = [np.array(s, dtype=np.float64) for s in state]
        for (step, w, cfg, fx, _, n_out), st in zip(self.layers, state):
            y = np.empty((B, n_out))
            step(w, cfg, fx, st, v, y)
            v = y
        v = self._map(v)
        return (v[0] if single else v), state

    def reset(self):
        """Flush the state that __call__ carries (a new sequence or episode)."""
        self.state = None

    def __call__(self, x):
        """One time step on the network's own state (reset() flushes it): x [n_in] -> y."""
        y, self.state = self.step(x, self.state)
        return y

    def _pass(self, layer, XT):
        """One layer over whole sequences XT [T, B, F] from the zero state -> [T, B, O]."""
        step, w, cfg, fx, n_state, n_out = layer
        T, B = XT.shape[0], XT.shape[1]
        state = np.zeros(n_state * B + 1)
        out = np.empty((T, B, n_out))
        for t in range(T):
            y = np.empty((B, n_out))
            step(w, cfg, fx, state, np.ascontiguousarray(XT[t]), y)
            out[t] = y
        return out

    def forward(self, X):
        """Outputs [B, T, n_out] for whole sequences X [B, T, n_in] (or [T, n_in] -> [T, n_out])
        from the zero state."""
        A = self._inputs(X, (2, 3))
        XT = (A[:, None] if A.ndim == 2 else A.transpose(1, 0, 2))
        if not self.bidirectional:
            for layer in self.layers:
                XT = self._pass(layer, XT)
        else:
            for fwd, bwd in zip(self.layers[:-1:2], self.layers[1:-1:2]):
                f = self._pass(fwd, XT)
                b = self._pass(bwd, XT[::-1])[::-1]
                XT = np.concatenate([f, b], axis=2)
            XT = self._pass(self.layers[-1], XT)
        Y = self._map(XT)
        return Y[:, 0] if A.ndim == 2 else Y.transpose(1, 0, 2)
'''


def numpy_source(net) -> str:
    """The text of network.py for net (its architecture and options; the weights are read
    from network.npz)."""
    kernels, names = _kernel_source(net)
    fams = "+".join(lay.family.name for lay in net.layers)
    title = (f"A {fams} network (n_in={net.n_in}, n_out={net.n_out}"
             + (", bidirectional" if net.bidirectional else "") + ") as plain NumPy.")
    return _TEMPLATE.format(title=title, fmt=FORMAT, version=VERSION, kernels=kernels,
                            layer_kernels=", ".join(f"({p}, {s})" for p, s in names))


def to_numpy(net, folder) -> list[Path]:
    """Write folder/network.py and folder/network.npz (the folder is made if missing; its
    parent must exist); returns the paths written."""
    try:
        src = numpy_source(net)
    except NotExportable as e:
        raise ValueError(str(e)) from None
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file: the NumPy export writes a folder ({PY_NAME}, "
                         f"{NPZ_NAME})")
    folder.mkdir(exist_ok=True)
    g = net.genome
    arrays = {b.name: g[b.offset:b.offset + b.size].reshape(b.shape) for b in net.layout}
    for i, lay in enumerate(net.layers):
        arrays[f"__fixed{i}__"] = lay.fixed_as(np.float64)
    arrays["__meta__"] = np.array(json.dumps(_meta(net)))
    py, npz = folder / PY_NAME, folder / NPZ_NAME
    with open(npz, "wb") as fh:
        np.savez(fh, **arrays)
    py.write_text(src)
    return [py, npz]
