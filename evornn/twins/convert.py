"""PyTorch twins of evornn networks: genome <-> torch module, same function, same layout.

Every family has a twin (``Family.twin``). A network whose recurrent layers are all of
one family that a torch.nn.LSTM/GRU/RNN holds (``Family.torch_nn``: lstm, gru, elman),
with one hidden size, becomes a ``TorchTwin``: that real torch module (stacked,
bidirectional) plus a Linear readout. Any other network becomes a ``StackTwin`` of its
layers' twins, whose parameters carry the genome blocks' names.

Genome -> module -> genome round-trips exactly (``genome_from_module``). torch keeps two
bias vectors per layer where the genome keeps their sum (and, for GRU, b_hn apart since
it sits inside r * (...)), so module -> genome -> module gives the same function with
the hidden-side biases folded into the input-side ones.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..arch.dispatch import FAMILIES
from .layers import StackTwin, leaf, load_torch_nn, read_torch_nn

ACTS = {"linear": None, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "none": None}


class TorchTwin(nn.Module):
    """``rnn`` (torch.nn.LSTM/GRU/RNN, batch_first) followed by an optional ``readout`` Linear."""

    def __init__(self, rnn: nn.Module, readout: nn.Linear | None, activation: str = "linear"):
        super().__init__()
        self.rnn, self.readout, self.activation = rnn, readout, activation
        self.h0 = self.hT = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, n_in] -> outputs [B, T, n_out] from h0 (None: zeros); final state in hT."""
        y, self.hT = self.rnn(x, self.h0)
        if self.readout is not None:
            y = self.readout(y)
            act = ACTS[self.activation]
            if act is not None:
                y = act(y)
        return y


def _recurrent(net) -> list:
    return [lay for lay in net.layers if not lay.family.internal]


def _is_torch_nn(net) -> bool:
    """Whether one torch.nn.LSTM/GRU/RNN holds every recurrent layer of the network."""
    rec = _recurrent(net)
    return len({lay.family.name for lay in rec}) == 1 and rec[0].family.torch_nn is not None \
        and len({lay.n_hidden for lay in rec}) == 1


def _recurrent_pairs(net):
    """(torch layer index, name suffix, Layer) for every recurrent layer of the network."""
    rec = _recurrent(net)
    if net.bidirectional:
        return [(i // 2, "_reverse" if i % 2 else "", lay) for i, lay in enumerate(rec)]
    return [(i, "", lay) for i, lay in enumerate(rec)]


def _blocks(net, lay, g: np.ndarray) -> dict:
    return {leaf(b.name): g[b.offset:b.offset + b.size].reshape(b.shape) for b in lay.blocks}


def to_torch(net) -> nn.Module:
    """A torch module computing the network's function, float64 parameters (see module doc)."""
    if _is_torch_nn(net) and net.output_map is None:     # TorchTwin has no output map
        return _to_torch_nn(net)
    g = net.genome
    layers = []
    for lay in net.layers:
        if lay.family.twin is None:
            raise ValueError(f"no torch twin for {lay.family.name!r}: twins exist for "
                             f"{', '.join(f.name for f in FAMILIES if f.twin and not f.internal)}")
        m = lay.family.twin(lay)
        m.load_blocks(_blocks(net, lay, g))
        layers.append(m)
    config = dict(arch=net.arch, n_in=net.n_in, n_hidden=net.n_hidden, n_out=net.n_out, seed=net.seed,
                  output_map=net.output_map, **net.options)
    return StackTwin(layers, net.bidirectional, config)


def _to_torch_nn(net) -> TorchTwin:
    spec = _recurrent(net)[0].family.torch_nn
    g = net.genome
    first = net.layers[0]
    kw = spec.kwargs(first.opts)
    rnn = getattr(nn, spec.name)(first.n_in, first.n_hidden, num_layers=len(_recurrent_pairs(net))
                        // (2 if net.bidirectional else 1), batch_first=True,
                        bidirectional=net.bidirectional, **kw).double()
    for k, sfx, lay in _recurrent_pairs(net):
        load_torch_nn(rnn, k, sfx, spec, _blocks(net, lay, g))
    top = net.layers[-1]
    act = top.opts["readout"]
    readout = None
    if act != "none":
        W, b = (g[bl.offset:bl.offset + bl.size].reshape(bl.shape) for bl in top.blocks[-2:])
        readout = nn.Linear(W.shape[1], W.shape[0]).double()
        with torch.no_grad():
            readout.weight.copy_(torch.from_numpy(W))
            readout.bias.copy_(torch.from_numpy(b))
    twin = TorchTwin(rnn, readout, act)
    twin.network = type(net)            # the class whose layout the genome follows
    return twin


def _torch_nn_shell(module, network):
    """(network class instance with the TorchTwin's / bare LSTM/GRU/RNN's layout, rnn,
    readout Linear or None)."""
    rnn, readout, act = (module.rnn, module.readout, module.activation) \
        if isinstance(module, TorchTwin) else (module, None, "none")
    fam = next((f for f in FAMILIES if f.torch_nn and type(rnn) is getattr(nn, f.torch_nn.name)), None)
    if fam is None:
        raise ValueError(f"from_torch takes a TorchTwin, a StackTwin or a torch.nn.LSTM/GRU/RNN, got "
                         f"{type(module).__name__}")
    if getattr(rnn, "proj_size", 0):
        raise ValueError("LSTM with proj_size has no evornn twin; use proj_size=0")
    H = rnn.hidden_size
    opts = {"num_layers": rnn.num_layers, "bidirectional": rnn.bidirectional,
            "readout": act if readout is not None else "none"}
    opts.update(fam.torch_nn.options(rnn))
    n_out = readout.out_features if readout is not None else H * (2 if rnn.bidirectional else 1)
    if readout is None and rnn.bidirectional:
        raise ValueError("a bare bidirectional torch RNN has no evornn twin: wrap it in a "
                         "TorchTwin with a Linear readout")
    return network(fam.name, rnn.input_size, H, n_out, **opts), rnn, readout


def _torch_nn_genome(net, rnn, readout, grad: bool) -> np.ndarray:
    g = np.zeros(net.n_params)
    spec = _recurrent(net)[0].family.torch_nn
    for k, sfx, lay in _recurrent_pairs(net):
        vals = read_torch_nn(rnn, k, sfx, spec, grad)
        for b in lay.blocks:
            if leaf(b.name) in vals:      # the readout is filled below
                g[b.offset:b.offset + b.size] = vals[leaf(b.name)].ravel()
    if readout is not None:
        W_out, b_out = net.layers[-1].blocks[-2:]
        for bl, t in ((W_out, readout.weight), (b_out, readout.bias)):
            t = t.grad if grad and t is not None else t        # a Linear may have no bias
            g[bl.offset:bl.offset + bl.size] = 0.0 if t is None else t.detach().double().numpy().ravel()
    return g


def genome_from_module(module, grad: bool = False) -> np.ndarray:
    """The genome a twin holds, in layout order; grad=True: d(loss)/d(genome) from its .grad."""
    if isinstance(module, StackTwin):
        parts = []
        for m in module.layers:
            vals = m.read_blocks(grad)
            parts += [np.asarray(vals[name], dtype=np.float64).ravel() for name in m.block_names]
        return np.concatenate(parts) if parts else np.zeros(0)
    network = getattr(module, "network", None)
    if network is None:
        raise ValueError("genome_from_module reads twins made by Network.to_torch; for another "
                         "torch module use Network.from_torch(module).genome")
    net, rnn, readout = _torch_nn_shell(module, network)
    return _torch_nn_genome(net, rnn, readout, grad)


def load_genome(module, net, genome) -> None:
    """Copy a genome into a twin of net in place (its parameter objects, and so an optimizer's
    hold on them, stay the same)."""
    g = np.asarray(genome, dtype=np.float64)
    if isinstance(module, StackTwin):
        for m, lay in zip(module.layers, net.layers):
            m.load_blocks(_blocks(net, lay, g))
        return
    spec = _recurrent(net)[0].family.torch_nn
    for k, sfx, lay in _recurrent_pairs(net):
        load_torch_nn(module.rnn, k, sfx, spec, _blocks(net, lay, g))
    if module.readout is not None:
        W, b = (g[bl.offset:bl.offset + bl.size].reshape(bl.shape) for bl in net.layers[-1].blocks[-2:])
        with torch.no_grad():
            module.readout.weight.copy_(torch.from_numpy(W))
            module.readout.bias.copy_(torch.from_numpy(b))


def from_torch(module, network):
    """The network (an instance of the class ``network``) computing the same function as a
    TorchTwin, a StackTwin or a bare LSTM/GRU/RNN."""
    if not isinstance(module, StackTwin):
        net, rnn, readout = _torch_nn_shell(module, network)
        net.genome = _torch_nn_genome(net, rnn, readout, grad=False)
        return net
    cfg = dict(module.config)
    net = network(cfg.pop("arch"), cfg.pop("n_in"), cfg.pop("n_hidden"), cfg.pop("n_out"),
                  genome=genome_from_module(module), **cfg)
    for lay, m in zip(net.layers, module.layers):
        # what is not in the genome (an ESN's reservoir) the seed rebuilds: it must be the module's
        if hasattr(m, "check_fixed"):
            m.check_fixed(lay, net.seed)
    return net


def stateful_parts(module) -> list:
    """The parts of a twin that carry state between calls (each has h0 and hT)."""
    if isinstance(module, StackTwin):
        if module.bidirectional:
            raise ValueError("a bidirectional network reads its whole input at once: it cannot "
                             "be run in windows or step by step")
        return list(module.layers)
    if getattr(module, "rnn", None) is not None and module.rnn.bidirectional:
        raise ValueError("a bidirectional network reads its whole input at once: it cannot "
                         "be run in windows or step by step")
    return [module]


def get_state(module) -> list:
    """The final state of every stateful part after the last forward call."""
    return [m.hT for m in stateful_parts(module)]


def set_state(module, states) -> None:
    """Start the next forward call from states (None: zeros), e.g. a detached get_state()."""
    parts = stateful_parts(module)
    states = [None] * len(parts) if states is None else states
    for m, h in zip(parts, states):
        m.h0 = h


def flatten_state(states) -> tuple[torch.Tensor, list]:
    """states -> (one [B, S] tensor, the layout unflatten_state needs). torch.nn's
    [layers, B, H] states and LSTM (h, c) pairs become columns in a fixed order."""
    spec, cols = [], []
    for h in states:
        parts = h if isinstance(h, tuple) else (h,)
        spec.append((isinstance(h, tuple), [None if p is None else tuple(p.shape) for p in parts]))
        for p in parts:
            if p is not None:
                cols.append(p.permute(1, 0, 2).reshape(p.shape[1], -1) if p.dim() == 3 else p)
    return torch.cat(cols, 1), spec


def unflatten_state(flat: torch.Tensor, spec: list) -> list:
    """The inverse of flatten_state."""
    states, k = [], 0
    for is_tuple, shapes in spec:
        parts = []
        for shape in shapes:
            if shape is None:
                parts.append(None)
                continue
            if len(shape) == 3:
                L, B, H = shape
                parts.append(flat[:, k:k + L * H].reshape(B, L, H).permute(1, 0, 2).contiguous())
                k += L * H
            else:
                parts.append(flat[:, k:k + shape[1]])
                k += shape[1]
        states.append(tuple(parts) if is_tuple else parts[0])
    return states
