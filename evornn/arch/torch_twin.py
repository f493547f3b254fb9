"""PyTorch twins of the lstm, gru and elman networks: real torch.nn.LSTM/GRU/RNN + Linear.

Genome -> module -> genome round-trips exactly. torch keeps two bias vectors per
layer where the genome keeps their sum (and, for GRU, b_hn apart since it sits
inside r * (...)), so module -> genome -> module gives the same function with the
hidden-side biases folded into the input-side ones.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

TORCH_CLASSES = {"lstm": nn.LSTM, "gru": nn.GRU, "elman": nn.RNN}
GATES = {"lstm": 4, "gru": 3, "elman": 1}
ACTS = {"linear": None, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "none": None}


class TorchTwin(nn.Module):
    """``rnn`` (torch.nn.LSTM/GRU/RNN, batch_first) followed by an optional ``readout`` Linear."""

    def __init__(self, rnn: nn.Module, readout: nn.Linear | None, activation: str = "linear"):
        super().__init__()
        self.rnn, self.readout, self.activation = rnn, readout, activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, n_in] -> outputs [B, T, n_out] from a zero initial state."""
        y, _ = self.rnn(x)
        if self.readout is not None:
            y = self.readout(y)
            act = ACTS[self.activation]
            if act is not None:
                y = act(y)
        return y


def _family(net) -> str:
    names = {lay.family.name for lay in net.layers if lay.family.name != "dense"}
    hidden = {lay.n_hidden for lay in net.layers if lay.family.name != "dense"}
    if len(names) != 1 or next(iter(names)) not in TORCH_CLASSES:
        raise ValueError(f"no torch twin for {net.arch!r}: twins exist for "
                         f"{', '.join(TORCH_CLASSES)} (one family per network)")
    if len(hidden) != 1:
        raise ValueError("torch stacks need one hidden size for every layer, got "
                         f"{sorted(hidden)}")
    return next(iter(names))


def _recurrent_pairs(net):
    """(torch layer index, name suffix, Layer) for every recurrent layer of the network."""
    rec = [lay for lay in net.layers if lay.family.name != "dense"]
    if net.bidirectional:
        return [(i // 2, "_reverse" if i % 2 else "", lay) for i, lay in enumerate(rec)]
    return [(i, "", lay) for i, lay in enumerate(rec)]


def to_torch(net) -> TorchTwin:
    """A TorchTwin with the network's weights, float64 parameters."""
    fam = _family(net)
    g = net.genome
    first = net.layers[0]
    kw = {"nonlinearity": first.opts["activation"]} if fam == "elman" else {}
    rnn = TORCH_CLASSES[fam](first.n_in, first.n_hidden, num_layers=len(_recurrent_pairs(net))
                             // (2 if net.bidirectional else 1), batch_first=True,
                             bidirectional=net.bidirectional, **kw).double()
    params = dict(rnn.named_parameters())
    with torch.no_grad():
        for k, sfx, lay in _recurrent_pairs(net):
            blocks = {b.name.rsplit(".", 1)[-1]: g[b.offset:b.offset + b.size].reshape(b.shape)
                      for b in lay.blocks}
            H = lay.n_hidden
            params[f"weight_ih_l{k}{sfx}"].copy_(torch.from_numpy(blocks["W_ih"]))
            params[f"weight_hh_l{k}{sfx}"].copy_(torch.from_numpy(blocks["W_hh"]))
            if fam == "gru":
                b_hh = np.concatenate([np.zeros(2 * H), blocks["b_hn"]])
                params[f"bias_ih_l{k}{sfx}"].copy_(torch.from_numpy(blocks["b_ih"]))
            else:
                b_hh = np.zeros(GATES[fam] * H)
                params[f"bias_ih_l{k}{sfx}"].copy_(torch.from_numpy(blocks["b"]))
            params[f"bias_hh_l{k}{sfx}"].copy_(torch.from_numpy(b_hh))
        top = net.layers[-1]
        act = top.opts["readout"]
        readout = None
        if act != "none":
            W, b = (g[bl.offset:bl.offset + bl.size].reshape(bl.shape) for bl in top.blocks[-2:])
            readout = nn.Linear(W.shape[1], W.shape[0]).double()
            readout.weight.copy_(torch.from_numpy(W))
            readout.bias.copy_(torch.from_numpy(b))
    return TorchTwin(rnn, readout, act)


def from_torch(module):
    """The Network computing the same function as a TorchTwin or a bare LSTM/GRU/RNN."""
    from ..network import Network
    rnn, readout, act = (module.rnn, module.readout, module.activation) \
        if isinstance(module, TorchTwin) else (module, None, "none")
    fam = next((name for name, cls in TORCH_CLASSES.items() if type(rnn) is cls), None)
    if fam is None:
        raise ValueError(f"from_torch takes a TorchTwin or a torch.nn.LSTM/GRU/RNN, got "
                         f"{type(module).__name__}")
    if getattr(rnn, "proj_size", 0):
        raise ValueError("LSTM with proj_size has no evornn twin; use proj_size=0")
    H = rnn.hidden_size
    opts = {"num_layers": rnn.num_layers, "bidirectional": rnn.bidirectional,
            "readout": act if readout is not None else "none"}
    if fam == "elman":
        opts["activation"] = rnn.nonlinearity
    n_out = readout.out_features if readout is not None else H * (2 if rnn.bidirectional else 1)
    if readout is None and rnn.bidirectional:
        raise ValueError("a bare bidirectional torch RNN has no evornn twin: wrap it in a "
                         "TorchTwin with a Linear readout")
    net = Network(fam, rnn.input_size, H, n_out, **opts)
    g = np.zeros(net.n_params)
    p = {k: v.detach().double().cpu().numpy() for k, v in rnn.named_parameters()}
    n_g = GATES[fam] * H
    for k, sfx, lay in _recurrent_pairs(net):
        b_ih = p.get(f"bias_ih_l{k}{sfx}", np.zeros(n_g))
        b_hh = p.get(f"bias_hh_l{k}{sfx}", np.zeros(n_g))
        vals = {"W_ih": p[f"weight_ih_l{k}{sfx}"], "W_hh": p[f"weight_hh_l{k}{sfx}"]}
        if fam == "gru":
            vals["b_ih"] = b_ih + np.concatenate([b_hh[:2 * H], np.zeros(H)])
            vals["b_hn"] = b_hh[2 * H:]
        else:
            vals["b"] = b_ih + b_hh
        for b in lay.blocks:
            if b.name.endswith("_out"):
                continue   # the readout, filled below
            g[b.offset:b.offset + b.size] = vals[b.name.rsplit(".", 1)[-1]].ravel()
    if readout is not None:
        W_out, b_out = net.layers[-1].blocks[-2:]
        g[W_out.offset:W_out.offset + W_out.size] = readout.weight.detach().double().numpy().ravel()
        g[b_out.offset:b_out.offset + b_out.size] = (
            readout.bias.detach().double().numpy() if readout.bias is not None else 0.0)
    net.genome = g
    return net
