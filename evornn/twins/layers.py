"""What every torch twin shares: layer modules whose parameters are genome blocks, the
torch.nn.LSTM/GRU/RNN layer, and the stack of layers. Each family's own twin lives in its
module in ``evornn.arch`` and builds on these.

A layer module's parameters are its genome blocks, under the blocks' own names and
shapes (``W_ih``, ``u``, ``tau``, ``W_out``, ...), so genome <-> module is one copy a
block; what the genome does not hold (an ESN's reservoir, an MTRNN's time constants)
is a buffer. Every layer maps x [B, T, I] -> [B, T, O] from a zero state with the
equations of its family's module docstring, and clips where the numba ``pack`` clips
(ctrnn tau, indrnn u, esn leak), so gradients are zero where the kernels are flat.
``lstm``/``gru``/``elman`` layers wrap torch.nn.LSTM/GRU/RNN.

State: a layer starts from ``h0`` (None: zeros) and leaves its final state in ``hT``, so
a sequence can be run in windows (truncated BPTT) or one step at a time (RTRL, feedback).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

ACTS = {"linear": lambda z: z, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}


def leaf(name: str) -> str:
    """A block's name without its layer prefix ('1.fwd.W_ih' -> 'W_ih')."""
    return name.rsplit(".", 1)[-1]


def _value(t: torch.Tensor, grad: bool) -> np.ndarray:
    if grad:
        return np.zeros(tuple(t.shape)) if t.grad is None else t.grad.detach().double().numpy()
    return t.detach().double().cpu().numpy()


class BlockModule(nn.Module):
    """A layer whose parameters are its genome blocks; subclasses define ``features``."""

    def __init__(self, lay, own=None):
        super().__init__()
        self.readout_kind, self.n_out = lay.opts["readout"], lay.n_out
        self.block_names = [leaf(b.name) for b in lay.blocks]   # genome order
        self.h0 = self.hT = None
        for b in lay.blocks:
            if own is None or leaf(b.name) in own:
                self.register_parameter(leaf(b.name), nn.Parameter(torch.zeros(b.shape, dtype=torch.float64)))

    def start(self, x: torch.Tensor, width: int) -> torch.Tensor:
        """The state a sequence starts from: h0, or zeros [B, width]."""
        return x.new_zeros(x.shape[0], width) if self.h0 is None else self.h0

    def load_blocks(self, values: dict) -> None:
        """Copy genome blocks (leaf name -> array in the block's shape) into the parameters."""
        with torch.no_grad():
            for name, v in values.items():
                getattr(self, name).copy_(torch.as_tensor(v))

    def read_blocks(self, grad: bool = False) -> dict:
        """Leaf name -> the block's values (or gradients, zero where none) as float64 arrays."""
        return {name: _value(p, grad) for name, p in self.named_parameters(recurse=False)}

    def readout(self, feats: torch.Tensor) -> torch.Tensor:
        """act(feats W_out^T + b_out), the features themselves ('none') or the first n_out ('neurons')."""
        if self.readout_kind == "none":
            return feats
        if self.readout_kind == "neurons":
            return feats[..., :self.n_out]
        return ACTS[self.readout_kind](feats @ self.W_out.T + self.b_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, I] -> outputs [B, T, n_out] from a zero state."""
        return self.readout(self.features(x))


class TorchOps:
    """The array operations the families' shared unrolls call (array_ops.Ops in NumPy or
    CuPy), in torch. Axes default to the last."""

    mm = staticmethod(lambda x, W: x @ W.T)
    einsum = staticmethod(torch.einsum)
    sigmoid = staticmethod(torch.sigmoid)
    tanh = staticmethod(torch.tanh)
    where = staticmethod(torch.where)
    minimum = staticmethod(lambda a, b: torch.clamp(a, max=b))
    maximum = staticmethod(lambda a, b: torch.clamp(a, min=b))
    arange = staticmethod(lambda S, like: torch.arange(S, device=like.device))
    zeros_like = staticmethod(torch.zeros_like)
    cat = staticmethod(lambda parts, axis=-1: torch.cat(parts, axis))
    stack = staticmethod(torch.stack)
    flip = staticmethod(lambda a, axis=-1: torch.flip(a, (axis,)))
    swap = staticmethod(lambda a: a.transpose(-1, -2))
    take = staticmethod(lambda a, start, stop, axis: a.narrow(axis % a.ndim, start, stop - start))

    @staticmethod
    def const(a, like):
        return torch.as_tensor(np.asarray(a), dtype=like.dtype, device=like.device)

    @staticmethod
    def index(a, idx):
        return a[..., torch.as_tensor(idx, device=a.device), :]

    @staticmethod
    def index2(a, i, j, feat):
        """a[..., i, j] (a[..., i, j, :] with a trailing feature axis)."""
        i, j = (torch.as_tensor(np.array(v), device=a.device) for v in (i, j))
        return a[..., i, j, :] if feat else a[..., i, j]

    @staticmethod
    def masked_softmax(s, valid):
        s = s.masked_fill(~valid, float("-inf"))
        s = torch.where(valid.any(-1, keepdim=True), s, torch.zeros_like(s))
        return torch.softmax(s, -1) * valid


class DenseTwin(BlockModule):
    """The readout on its own (the top of bidirectional networks)."""

    def features(self, x):
        return x


class ElementwiseRNN(BlockModule):
    """Shared loop of frnn and indrnn: h_t = act(W_ih x_t + b + rec(h_{t-1}))."""

    def __init__(self, lay):
        super().__init__(lay)
        self.act, self.H = ACTS[lay.opts["activation"]], lay.n_hidden

    def features(self, x):
        u = x @ self.W_ih.T + (self.b if "b" in self.block_names else 0.0)
        h, hs = self.start(x, self.H), []
        for t in range(x.shape[1]):
            h = self.act(u[:, t] + self.recur(h))
            hs.append(h)
        self.hT = h
        return torch.stack(hs, 1)


class TorchNNLayer(BlockModule):
    """One lstm/gru/elman layer as a torch.nn.LSTM/GRU/RNN plus the layer's readout blocks.

    torch keeps two bias vectors where the genome keeps their sum (GRU: b_hn apart);
    loading puts the genome's biases on the input side and the rest (the family's
    ``torch_nn.biases``) on the hidden side.
    """

    def __init__(self, lay):
        super().__init__(lay, own=("W_out", "b_out"))
        self.spec = lay.family.torch_nn
        self.rnn = getattr(nn, self.spec.name)(lay.n_in, lay.n_hidden, batch_first=True,
                                               **self.spec.kwargs(lay.opts)).double()

    def load_blocks(self, values: dict) -> None:
        super().load_blocks({k: v for k, v in values.items() if k in ("W_out", "b_out")})
        load_torch_nn(self.rnn, 0, "", self.spec, values)

    def read_blocks(self, grad: bool = False) -> dict:
        return {**super().read_blocks(grad), **read_torch_nn(self.rnn, 0, "", self.spec, grad)}

    def features(self, x):
        y, self.hT = self.rnn(x, self.h0)
        return y


def load_torch_nn(rnn: nn.Module, k: int, sfx: str, spec, blocks: dict) -> None:
    """Genome blocks of one layer into layer k (direction suffix sfx) of rnn; spec is the
    family's ``torch_nn`` declaration."""
    p = dict(rnn.named_parameters())
    b_ih, b_hh = spec.biases(blocks, p[f"weight_ih_l{k}{sfx}"].shape[0])
    with torch.no_grad():
        for name, v in ((f"weight_ih_l{k}{sfx}", blocks["W_ih"]), (f"weight_hh_l{k}{sfx}", blocks["W_hh"]),
                        (f"bias_ih_l{k}{sfx}", b_ih), (f"bias_hh_l{k}{sfx}", b_hh)):
            p[name].copy_(torch.as_tensor(np.asarray(v)))


def read_torch_nn(rnn: nn.Module, k: int, sfx: str, spec, grad: bool = False) -> dict:
    """Layer k of rnn as genome blocks; grad=True gives d/d(block) from the parameters' gradients.

    Values fold torch's hidden-side biases into the genome's; a gradient needs no folding,
    since d/d(sum) equals d/d(either addend).
    """
    p = {name: _value(t, grad) for name, t in rnn.named_parameters()}
    n_g, H = p[f"weight_ih_l{k}{sfx}"].shape[0], p[f"weight_hh_l{k}{sfx}"].shape[1]
    b_ih = p.get(f"bias_ih_l{k}{sfx}", np.zeros(n_g))
    b_hh = p.get(f"bias_hh_l{k}{sfx}", np.zeros(n_g))
    return {"W_ih": p[f"weight_ih_l{k}{sfx}"], "W_hh": p[f"weight_hh_l{k}{sfx}"],
            **spec.blocks(b_ih, b_hh, H, grad)}


class StackTwin(nn.Module):
    """Any evornn network as torch layers: recurrent layers (fwd/bwd pairs when
    bidirectional, then a DenseTwin top), in the order of ``Network.layers``.

    ``config`` holds Network's arguments (arch, sizes, seed, options) for from_torch.
    """

    def __init__(self, layers: list[nn.Module], bidirectional: bool, config: dict):
        super().__init__()
        self.layers, self.bidirectional, self.config = nn.ModuleList(layers), bidirectional, config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, n_in] -> outputs [B, T, n_out] from a zero state (output_map applied)."""
        if self.bidirectional:
            for f, b in zip(self.layers[:-1:2], self.layers[1:-1:2]):
                x = torch.cat([f(x), b(x.flip(1)).flip(1)], 2)
            x = self.layers[-1](x)
        else:
            for m in self.layers:
                x = m(x)
        if self.config.get("output_map") is not None:
            scale, shift = self.config["output_map"]
            x = x * scale + shift
        return x
