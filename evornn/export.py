"""A network out of evornn: a JSON file (weights by block name, architecture, options) that
any language reads, and ONNX graphs of its torch twin (a whole-sequence graph and a step
graph with the state in and out) that onnxruntime runs. See docs/export.md."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FORMAT, VERSION = "evornn-network", 1
# JSON holds every weight as decimal text: past this it is the wrong format (use the run's best.npz)
JSON_MAX_GENES = 100_000
ONNX_OPSET = 17


def _plain(v):
    """Options as JSON values (tuples become lists; from_json turns them back)."""
    if isinstance(v, (list, tuple)):
        return [_plain(a) for a in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _resolved_options(net) -> dict:
    """The options the network was built with plus every default its layers resolved, where
    all layers that have the option agree (a stack's families may default one name apart)."""
    opts = dict(net.options)
    seen: dict = {}
    for lay in net.layers:
        if lay.family.internal:
            continue
        for k, v in lay.opts.items():
            if k != "readout":
                seen.setdefault(k, []).append(v)
    for k, vs in seen.items():
        if k not in opts and all(v == vs[0] for v in vs):
            opts[k] = vs[0]
    return {k: _plain(v) for k, v in opts.items()}


def to_json(net) -> dict:
    """The network as a JSON-ready dict: arch, sizes, resolved options and blocks by name."""
    if net.n_params > JSON_MAX_GENES:
        raise ValueError(f"the network has {net.n_params} genes: JSON export is for small networks "
                         f"(at most {JSON_MAX_GENES} genes); keep the run's best.npz instead")
    g = net.genome
    return {"format": FORMAT, "version": VERSION, "arch": _plain(net.arch), "n_in": net.n_in,
            "n_hidden": _plain(net.n_hidden), "n_out": net.n_out, "seed": net.seed,
            "output_map": _plain(net.output_map), "inputs": list(net.inputs),
            "outputs": list(net.outputs), "options": _resolved_options(net),
            "blocks": {b.name: g[b.offset:b.offset + b.size].reshape(b.shape).tolist()
                       for b in net.layout},
            "genome_size": net.n_params}


def _tuples(v):
    """JSON lists back to the tuples options hold (tau_range=(0.5, 10.0))."""
    return tuple(_tuples(a) for a in v) if isinstance(v, list) else v


def from_json(d: dict):
    """The Network a to_json dict describes (its genome bit-identical to the exported one)."""
    from .network import Network
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ValueError(f"not an evornn network file: expected format {FORMAT!r}")
    if d.get("version") != VERSION:
        raise ValueError(f"evornn network file version {d.get('version')!r} is not supported "
                         f"(this evornn reads version {VERSION})")
    net = Network(d["arch"], d["n_in"], d["n_hidden"], d["n_out"], seed=d.get("seed", 0),
                  output_map=d.get("output_map"), inputs=d.get("inputs"),
                  outputs=d.get("outputs"), **{k: _tuples(v) for k, v in d["options"].items()})
    if net.n_params != d["genome_size"]:
        raise ValueError(f"the file's genome_size {d['genome_size']} disagrees with its "
                         f"architecture's {net.n_params} genes")
    g = np.zeros(net.n_params)
    for b in net.layout:
        if b.name not in d["blocks"]:
            raise ValueError(f"block {b.name!r} is missing from the file; layout: "
                             f"{', '.join(x.name for x in net.layout)}")
        v = np.asarray(d["blocks"][b.name], dtype=np.float64)
        if v.shape != tuple(b.shape):
            raise ValueError(f"block {b.name!r} has shape {list(v.shape)}, the layout wants "
                             f"{list(b.shape)}")
        g[b.offset:b.offset + b.size] = v.ravel()
    net.genome = g
    return net


def write_json(net, path) -> Path:
    """Write to_json(net) to path; returns the path."""
    path = Path(path)
    path.write_text(json.dumps(to_json(net)))
    return path


def read_json(path):
    """The Network in a file written by write_json."""
    return from_json(json.loads(Path(path).read_text()))


# -- ONNX ------------------------------------------------------------------------------------

def _onnx_modules():
    try:
        import onnx  # noqa: F401
        import torch
    except ImportError as e:
        raise ImportError(f"ONNX export needs torch and onnx ({e}): pip install 'evornn[onnx]'") \
            from None
    return torch


def onnx_refusal(net) -> str | None:
    """Why the network cannot go to ONNX (one line) before any export work, or None."""
    for lay in net.layers:
        if lay.family.no_onnx:
            return f"{lay.family.name} does not export to ONNX: {lay.family.no_onnx}"
        if lay.family.twin is None:
            return f"{lay.family.name} does not export to ONNX: it has no torch twin"
    if net.bidirectional:
        return ("a bidirectional network does not export to ONNX: it reads its whole input "
                "at once, so it has no step graph to scan; export a one-direction network")
    return None


def _leaves(s):
    return [t for p in s for t in _leaves(p)] if isinstance(s, (tuple, list)) else [s]


class _Shapes:
    """State <-> one [B, S] tensor, batch-size free (the graphs take any B)."""

    def __init__(self, states2, states3):
        # each state tensor's shape and batch axis, found as the axis whose size follows B
        # (torch.nn keeps [layers, B, H], the other twins [B, ...])
        def axis(a, b):
            moved = [i for i, (m, n) in enumerate(zip(a.shape, b.shape)) if (m, n) == (2, 3)]
            return moved[0] if moved else 0
        self.spec = [(isinstance(h, tuple),
                      [(tuple(a.shape), axis(a, b)) for a, b in zip(_leaves(h), _leaves(k))])
                     for h, k in zip(states2, states3)]
        self.width = sum(int(np.prod([n for i, n in enumerate(shape) if i != ax]))
                         for _, parts in self.spec for shape, ax in parts)

    def flatten(self, states, x, torch):
        cols = [t.movedim(ax, 0).reshape(t.shape[ax], -1)
                for (_, parts), h in zip(self.spec, states) for (_, ax), t in zip(parts, _leaves(h))]
        if self.width == 0:       # a stateless family: one unused column keeps the graph simple
            cols.append(x[:, :1] * 0)
        return torch.cat(cols, 1)

    def unflatten(self, flat):
        out, k = [], 0
        for is_tuple, parts in self.spec:
            ts = []
            for shape, ax in parts:
                rest = [n for i, n in enumerate(shape) if i != ax]
                w = int(np.prod(rest))
                t = flat[:, k:k + w]
                ts.append(t if len(rest) == 1 else t.reshape([-1] + rest).movedim(0, ax))
                k += w
            out.append(tuple(ts) if is_tuple else ts[0])
        return out


def _step_module(net, torch):
    """(step module (x [B, I], state [B, S]) -> (y [B, O], state), S) from the twin, float32."""
    from torch import nn

    from .twins.convert import get_state, set_state
    twin = net.to_torch().float().eval()
    probes = []
    for B in (2, 3):
        set_state(twin, None)
        with torch.no_grad():
            twin(torch.zeros(B, 1, net.n_in))
        probes.append(get_state(twin))
    shapes = _Shapes(*probes)

    class Step(nn.Module):
        def __init__(self):
            super().__init__()
            self.twin = twin

        def forward(self, x, state):
            set_state(self.twin, shapes.unflatten(state))
            y = self.twin(x[:, None, :])[:, 0]
            return y, shapes.flatten(get_state(self.twin), x, torch)

    return Step(), shapes.width


# the graph pieces below are written as ONNX protos directly: a few lines each
def _value(name: str, dims: list):
    """A float tensor's ValueInfoProto; a str dim is symbolic (B, T), None unknown."""
    from onnx import TensorProto, TensorShapeProto, TypeProto, ValueInfoProto
    shape = TensorShapeProto(dim=[TensorShapeProto.Dimension(dim_param=d) if isinstance(d, str)
                                  else TensorShapeProto.Dimension() if d is None
                                  else TensorShapeProto.Dimension(dim_value=d) for d in dims])
    return ValueInfoProto(name=name, type=TypeProto(tensor_type=TypeProto.Tensor(
        elem_type=TensorProto.FLOAT, shape=shape)))


def _int64s(name: str, values: list):
    from onnx import TensorProto
    return TensorProto(name=name, data_type=TensorProto.INT64, dims=[len(values)], int64_data=values)


def _node(op: str, inputs: list, outputs: list, **attrs):
    from onnx import AttributeProto, GraphProto, NodeProto, TensorProto
    node = NodeProto(op_type=op, input=inputs, output=outputs)
    for k, v in attrs.items():
        if isinstance(v, GraphProto):
            node.attribute.append(AttributeProto(name=k, type=AttributeProto.GRAPH, g=v))
        elif isinstance(v, TensorProto):
            node.attribute.append(AttributeProto(name=k, type=AttributeProto.TENSOR, t=v))
        elif isinstance(v, list):
            node.attribute.append(AttributeProto(name=k, type=AttributeProto.INTS, ints=v))
        else:
            node.attribute.append(AttributeProto(name=k, type=AttributeProto.INT, i=v))
    return node


def _both_inputs(model, n_in: int, width: int):
    """The step graph with inputs (x, state) in this order: the exporter drops an input the
    function does not read (a stateless family's state), and callers need both."""
    have = {i.name: i for i in model.graph.input}
    x_in = have.get("x") or _value("x", ["B", n_in])
    state_in = have.get("state") or _value("state", ["B", width])
    del model.graph.input[:]
    model.graph.input.extend([x_in, state_in])
    return model


def _scan(step_model, n_in: int, n_out: int, width: int):
    """The whole-sequence graph: an ONNX Scan whose body is the step graph, so T (and B)
    are free; tracing the twin's own loop would fix T at export."""
    import onnx
    from onnx import GraphProto, ModelProto, TensorProto
    body = step_model.graph
    # Scan's body takes the carried state first, then the scanned input
    x_in, state_in = body.input
    del body.input[:]
    body.input.extend([state_in, x_in])
    out = {o.name: o for o in body.output}
    del body.output[:]
    body.output.extend([out["state_out"], out["y"]])
    zero = TensorProto(name="v", data_type=TensorProto.FLOAT, dims=[1], float_data=[0.0])
    nodes = [
        _node("Shape", ["x"], ["x_shape"]),
        _node("Slice", ["x_shape", "zero", "one"], ["batch"]),
        _node("Concat", ["batch", "width"], ["state_shape"], axis=0),
        _node("ConstantOfShape", ["state_shape"], ["state0"], value=zero),
        _node("Scan", ["state0", "x"], ["stateT", "y"], body=body, num_scan_inputs=1,
              scan_input_axes=[1], scan_output_axes=[1]),
    ]
    graph = GraphProto(node=nodes, name="evornn_sequence", input=[_value("x", ["B", "T", n_in])],
                       output=[_value("y", ["B", "T", n_out])],
                       initializer=[_int64s("zero", [0]), _int64s("one", [1]),
                                    _int64s("width", [width])])
    model = ModelProto(graph=graph, opset_import=step_model.opset_import,
                       ir_version=step_model.ir_version, producer_name="evornn")
    onnx.checker.check_model(model)
    return model


def to_onnx(net, path, step_path=None) -> list[Path]:
    """Write the whole-sequence graph x [B, T, n_in] -> y [B, T, n_out] to path and the step
    graph (x [B, n_in], state [B, S]) -> (y, state_out) to step_path (when given); float32,
    any B and T, the state starts at zeros. Returns the paths written."""
    why = onnx_refusal(net)
    if why:
        raise ValueError(why)
    torch = _onnx_modules()
    import io
    import warnings

    import onnx
    step, width = _step_module(net, torch)
    buf = io.BytesIO()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(step, (torch.zeros(2, net.n_in), torch.zeros(2, max(width, 1))), buf,
                              input_names=["x", "state"], output_names=["y", "state_out"],
                              opset_version=ONNX_OPSET, dynamo=False,
                              dynamic_axes={"x": {0: "B"}, "state": {0: "B"}, "y": {0: "B"},
                                            "state_out": {0: "B"}})
    except Exception as e:      # torch names the operation it cannot write
        fams = ", ".join(dict.fromkeys(lay.family.name for lay in net.layers
                                       if not lay.family.internal))
        raise ValueError(f"{fams} does not export to ONNX: torch's exporter says "
                         f"{str(e).splitlines()[0]}") from None
    width = max(width, 1)
    step_model = _both_inputs(onnx.load_from_string(buf.getvalue()), net.n_in, width)
    path, written = Path(path), []
    onnx.save(_scan(_both_inputs(onnx.load_from_string(buf.getvalue()), net.n_in, width),
                    net.n_in, net.n_out, width), str(path))
    written.append(path)
    if step_path is not None:
        onnx.save(step_model, str(step_path))
        written.append(Path(step_path))
    return written
