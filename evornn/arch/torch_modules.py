"""Torch modules with evornn's genome layouts: one small class per architecture family.

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
TORCH_NN = {"lstm": nn.LSTM, "gru": nn.GRU, "elman": nn.RNN}


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


class DenseTwin(BlockModule):
    """The readout on its own (the top of bidirectional networks)."""

    def features(self, x):
        return x


class TorchNNLayer(BlockModule):
    """One lstm/gru/elman layer as a torch.nn.LSTM/GRU/RNN plus the layer's readout blocks.

    torch keeps two bias vectors where the genome keeps their sum (GRU: b_hn apart);
    loading puts the genome's biases on the input side and zeros (b_hn) on the hidden side.
    """

    def __init__(self, lay):
        super().__init__(lay, own=("W_out", "b_out"))
        self.family, H = lay.family.name, lay.n_hidden
        kw = {"nonlinearity": lay.opts["activation"]} if self.family == "elman" else {}
        self.rnn = TORCH_NN[self.family](lay.n_in, H, batch_first=True, **kw).double()

    def load_blocks(self, values: dict) -> None:
        rnn_keys = ("W_ih", "W_hh", "b", "b_ih", "b_hn")
        super().load_blocks({k: v for k, v in values.items() if k not in rnn_keys})
        load_torch_nn(self.rnn, 0, "", self.family, values)

    def read_blocks(self, grad: bool = False) -> dict:
        return {**super().read_blocks(grad), **read_torch_nn(self.rnn, 0, "", self.family, grad)}

    def features(self, x):
        y, self.hT = self.rnn(x, self.h0)
        return y


def load_torch_nn(rnn: nn.Module, k: int, sfx: str, family: str, blocks: dict) -> None:
    """Genome blocks of one lstm/gru/elman layer into layer k (direction suffix sfx) of rnn."""
    p = dict(rnn.named_parameters())
    W_ih = p[f"weight_ih_l{k}{sfx}"]
    H = p[f"weight_hh_l{k}{sfx}"].shape[1]
    b_ih = blocks["b_ih"] if family == "gru" else blocks["b"]
    b_hh = np.zeros(W_ih.shape[0])
    if family == "gru":
        b_hh[2 * H:] = blocks["b_hn"]
    with torch.no_grad():
        for name, v in ((f"weight_ih_l{k}{sfx}", blocks["W_ih"]), (f"weight_hh_l{k}{sfx}", blocks["W_hh"]),
                        (f"bias_ih_l{k}{sfx}", b_ih), (f"bias_hh_l{k}{sfx}", b_hh)):
            p[name].copy_(torch.as_tensor(np.asarray(v)))


def read_torch_nn(rnn: nn.Module, k: int, sfx: str, family: str, grad: bool = False) -> dict:
    """Layer k of rnn as genome blocks; grad=True gives d/d(block) from the parameters' gradients.

    Values fold torch's hidden-side biases into the genome's; a gradient needs no folding,
    since d/d(sum) equals d/d(either addend).
    """
    p = {name: _value(t, grad) for name, t in rnn.named_parameters()}
    n_g, H = p[f"weight_ih_l{k}{sfx}"].shape[0], p[f"weight_hh_l{k}{sfx}"].shape[1]
    b_ih = p.get(f"bias_ih_l{k}{sfx}", np.zeros(n_g))
    b_hh = p.get(f"bias_hh_l{k}{sfx}", np.zeros(n_g))
    out = {"W_ih": p[f"weight_ih_l{k}{sfx}"], "W_hh": p[f"weight_hh_l{k}{sfx}"]}
    if family == "gru":
        out["b_ih"] = b_ih if grad else b_ih + np.concatenate([b_hh[:2 * H], np.zeros(H)])
        out["b_hn"] = b_hh[2 * H:]
    else:
        out["b"] = b_ih if grad else b_ih + b_hh
    return out


class JordanTwin(BlockModule):
    """h = tanh(W_ih x + W_ch c + b), y = act(W_out h + b_out), c <- decay c + y."""

    def __init__(self, lay):
        super().__init__(lay)
        self.decay = float(lay.opts["context_decay"])

    def forward(self, x):
        c = self.start(x, self.n_out)
        u = x @ self.W_ih.T + self.b
        ys = []
        for t in range(x.shape[1]):
            y = self.readout(torch.tanh(u[:, t] + c @ self.W_ch.T))
            c = self.decay * c + y
            ys.append(y)
        self.hT = c
        return torch.stack(ys, 1)


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


class FRNNTwin(ElementwiseRNN):
    """a = act(W_ih x + W_hh a + b), b optional; outputs the first n_out neurons or a readout."""

    def recur(self, h):
        return h @ self.W_hh.T


class IndRNNTwin(ElementwiseRNN):
    """h = act(W_ih x + u * h + b) with u clipped into [-max_recurrent, max_recurrent]."""

    def __init__(self, lay):
        super().__init__(lay)
        self.max_recurrent = float(lay.opts["max_recurrent"])

    def recur(self, h):
        return torch.clamp(self.u, -self.max_recurrent, self.max_recurrent) * h


class SecondOrderTwin(BlockModule):
    """h_i = act(sum_jk W_ijk h_j x_k + b_i)."""

    def __init__(self, lay):
        super().__init__(lay)
        self.act, self.H = ACTS[lay.opts["activation"]], lay.n_hidden

    def features(self, x):
        B, T, I = x.shape
        Wf = self.W.reshape(self.H, self.H * I)        # the kernels' (j, k) -> j * I + k order
        h, hs = self.start(x, self.H), []
        for t in range(T):
            h = self.act((h[:, :, None] * x[:, t, None, :]).reshape(B, -1) @ Wf.T + self.b)
            hs.append(h)
        self.hT = h
        return torch.stack(hs, 1)


def ctrnn_rates(x, W, W_in, theta, inv_tau, gain, dt: float, rk4: bool, y0=None):
    """(firing rates [B, T, H], final y) of Beer's CTRNN from y0 (None: 0), one Euler or
    RK4 step per input."""
    u = x @ W_in.T                                     # input held during the whole step

    def rate(v):
        return torch.sigmoid(gain * (v + theta))

    def deriv(v, o, ut):
        return (ut + o @ W.T - v) * inv_tau

    y = x.new_zeros(x.shape[0], W.shape[0]) if y0 is None else y0
    o, rates = rate(y), []
    for t in range(x.shape[1]):
        ut = u[:, t]
        if rk4:
            k1 = deriv(y, o, ut)
            y2 = y + 0.5 * dt * k1
            k2 = deriv(y2, rate(y2), ut)
            y3 = y + 0.5 * dt * k2
            k3 = deriv(y3, rate(y3), ut)
            y4 = y + dt * k3
            k4 = deriv(y4, rate(y4), ut)
            y = y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        else:
            y = y + dt * inv_tau * (ut + o @ W.T - y)
        o = rate(y)
        rates.append(o)
    return torch.stack(rates, 1), y


class GeneMapped(BlockModule):
    """A ctrnn/mtrnn layer: parameters hold the genes, ``p(name)`` the value they stand for
    (the same for raw genes; the linear maps of ``ctrnn_genes`` for unit genes)."""

    def __init__(self, lay):
        super().__init__(lay)
        from .ctrnn_genes import unit
        self.gene_opts, self.unit = dict(lay.opts), unit(lay.opts)

    def p(self, name: str) -> torch.Tensor:
        from .ctrnn_genes import to_parameter
        g = getattr(self, name)
        return to_parameter(name, g, self.gene_opts, torch) if self.unit else g

    def readout(self, feats):
        if not self.unit or self.readout_kind in ("none", "neurons"):
            return super().readout(feats)
        return ACTS[self.readout_kind](feats @ self.p("W_out").T + self.p("b_out"))


class CTRNNTwin(GeneMapped):
    """Beer's CTRNN, tau clipped into tau_range, optional gains; rates are the features."""

    def __init__(self, lay):
        super().__init__(lay)
        self.dt, self.rk4 = float(lay.opts["dt"]), lay.opts["integrator"] == "rk4"
        self.tau_range = tuple(float(v) for v in lay.opts["tau_range"])

    def features(self, x):
        if self.unit:
            inv_tau = 1.0 / self.p("tau")
        else:
            inv_tau = 1.0 / torch.clamp(self.tau, *self.tau_range)
        gain = self.p("gain") if "gain" in self.block_names else 1.0
        rates, self.hT = ctrnn_rates(x, self.p("W"), self.p("W_in"), self.p("theta"), inv_tau, gain,
                                     self.dt, self.rk4, self.h0)
        return rates


class MTRNNTwin(GeneMapped):
    """A CTRNN whose first neurons are fast (they alone get the input) and the rest slow."""

    def __init__(self, lay):
        super().__init__(lay)
        from .mtrnn import n_slow
        o, H = lay.opts, lay.n_hidden
        self.dt, self.rk4, self.n_slow = float(o["dt"]), o["integrator"] == "rk4", n_slow(H, o)
        nf = H - self.n_slow
        self.register_buffer("inv_tau", torch.tensor([1.0 / o["tau_fast"]] * nf
                                                     + [1.0 / o["tau_slow"]] * self.n_slow,
                                                     dtype=torch.float64))

    def features(self, x):
        W_in = torch.cat([self.p("W_in"), self.W_in.new_zeros(self.n_slow, x.shape[2])])
        rates, self.hT = ctrnn_rates(x, self.p("W"), W_in, self.p("theta"), self.inv_tau, 1.0,
                                     self.dt, self.rk4, self.h0)
        return rates


class ESNTwin(BlockModule):
    """h = (1 - a) h + a tanh(rho W h + s W_in x + beta b); features [h; x] or h.

    The reservoir W, W_in and b are buffers (dense, whatever format ``fixed`` stores them
    in); leak, input scaling, spectral radius and bias scaling are parameters when evolved,
    else the options' values. The leak is clipped into [0, 1] as the kernel's pack does.
    """

    SCALARS = ("leak", "input_scaling", "spectral_radius", "bias_scaling")

    def __init__(self, lay):
        super().__init__(lay)
        W, W_in, b = esn_reservoir(lay)
        self.register_buffer("reservoir", torch.from_numpy(W))
        self.register_buffer("input_weights", torch.from_numpy(W_in))
        self.register_buffer("unit_bias", torch.from_numpy(b))
        self.options = {k: float(lay.opts[k]) for k in self.SCALARS}
        self.readout_inputs = bool(lay.opts["readout_inputs"])

    def scalar(self, name: str):
        """The evolved gene (a 1-element parameter) or the option's fixed value."""
        return getattr(self, name)[0] if name in self.block_names else self.options[name]

    def features(self, x):
        a = torch.clamp(torch.as_tensor(self.scalar("leak"), dtype=x.dtype), 0.0, 1.0)
        rho = self.scalar("spectral_radius")
        u = x @ (self.scalar("input_scaling") * self.input_weights).T \
            + self.scalar("bias_scaling") * self.unit_bias
        h, feats = self.start(x, self.reservoir.shape[0]), []
        for t in range(x.shape[1]):
            h = (1 - a) * h + a * torch.tanh(rho * (h @ self.reservoir.T) + u[:, t])
            feats.append(torch.cat([h, x[:, t]], 1) if self.readout_inputs else h)
        self.hT = h
        return torch.stack(feats, 1)


def esn_reservoir(lay) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(W [H, H], W_in [H, I], b [H]) decoded from an esn layer's ``fixed`` array: W_in^T, b,
    then W as nonzeros per row and (column, value) pairs when sparse, else W^T dense."""
    from . import esn
    from .kernels import C_OPT
    I, H = lay.n_in, lay.n_hidden
    fixed = np.asarray(lay.fixed, dtype=np.float64)
    W_in = fixed[:I * H].reshape(I, H).T.copy()
    b = fixed[I * H:I * H + H].copy()
    res = fixed[I * H + H:]
    if not lay.cfg[C_OPT + esn.C_SPARSE]:
        return res.reshape(H, H).T.copy(), W_in, b
    counts = res[:H].astype(int)
    pairs = res[H:].reshape(-1, 2)
    W = np.zeros((H, H))
    W[np.repeat(np.arange(H), counts), pairs[:, 0].astype(int)] = pairs[:, 1]
    return W, W_in, b


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


LAYER_CLASSES = {"lstm": TorchNNLayer, "gru": TorchNNLayer, "elman": TorchNNLayer,
                 "jordan": JordanTwin, "frnn": FRNNTwin, "indrnn": IndRNNTwin, "ctrnn": CTRNNTwin,
                 "mtrnn": MTRNNTwin, "second_order": SecondOrderTwin, "esn": ESNTwin,
                 "dense": DenseTwin}
