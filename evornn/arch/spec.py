"""What every architecture family declares: its genome layout, options, kernels, array form,
torch twin and the facts other code asks about."""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ..options import Option, defaults
from ..options import check as check_declared


def _no_fixed(I, H, O, opts, rng):
    return np.zeros(0)


def _no_check(I, H, O, opts):
    return None


def _signed(opts):
    return (-1.0, 1.0)


def _summed_biases(blocks: dict, n: int):
    return blocks["b"], np.zeros(n)


def _summed_blocks(b_ih, b_hh, H: int, grad: bool) -> dict:
    return {"b": b_ih if grad else b_ih + b_hh}


class TorchNN(NamedTuple):
    """How one layer of a torch.nn.LSTM/GRU/RNN holds a family's layer.

    biases(blocks, n) -> (bias_ih, bias_hh)     the genome's bias blocks as torch's two [n]
    blocks(bias_ih, bias_hh, H, grad) -> dict   torch's biases as the genome's bias blocks
                                                (their gradients where grad)
    """

    name: str                                  # the torch.nn class: LSTM, GRU or RNN
    kwargs: Callable = lambda opts: {}         # its constructor's arguments from the options
    options: Callable = lambda rnn: {}         # the family's options read from a module
    biases: Callable = _summed_biases
    blocks: Callable = _summed_blocks


class Family(NamedTuple):
    """One architecture family, everything about it in one module.

    blocks(I, H, O, opts) -> [Block]      the genome layout (readout included)
    features(I, H, opts) -> int           width of the vector the readout sees (None: no readout)
    sizes(I, H, O, opts) -> (packed, state)  per-network packed params, per-sequence state
    cfg(I, H, O, opts) -> [float]         family options for the kernel, from cfg[C_OPT]
    pack(g, cfg, fixed, w)                genome -> kernel-ready params (numba)
    step(w, cfg, fixed, state, x, y)      one time step for a batch (numba)
    fixed(I, H, O, opts, rng) -> array    non-evolved arrays (ESN reservoir), else empty
    check(I, H, O, opts)                  checks across options and sizes (each option has its own)
    array(layer, G, X, xp) -> Y           the layer over a population as batched array operations
                                          (NumPy or CuPy): G [P, D], X [P|1, B, T, I] -> [P, B, T, O]
    twin(layer) -> torch module           the layer as a torch module (imports torch)
    feature_range(opts) -> (lo, hi)       the range of the features (what readout 'neurons' outputs)
    center_crossing                       whether center-crossing biases apply (ctrnn-style W, theta)
    last_only                             why the family must be the top layer ('' if it need not)
    torch_nn                              a TorchNN where one torch.nn.LSTM/GRU/RNN holds a
                                          stack of these layers, else None
    internal                              built by Network itself, not named by users (dense)
    one_size                              n_in, n_hidden and n_out are one number, the units
                                          (hopfield: probe, states and outputs are all N wide)
    io_sizes(opts) -> (n_in, n_out)       n_in and n_out that the options fix (pixelrnn: one
                                          input and one output a pixel of its image), else None
    fit_readout(net, X, Y, washout, ridge) ridge-regression readout fit of a single-layer
                                          network of the family (Network.fit_readout), else
                                          None (the esn's fit)
    no_onnx                               why the family's twin does not export to ONNX ('' if
                                          it does)
    no_numpy                              why the family's kernels do not export as plain
                                          NumPy ('' if their source runs as Python: the
                                          default; evornn.export_numpy)
    neuron_graph(vals, opts, H)           the layer as neurons and connections, for drawings
                                          (a dict: "input" [H, I], "recurrent" [H, H],
                                          "context" [H, O] from the outputs, "bias", "tau"; any
                                          may be absent), from its decoded blocks vals; None
                                          when its weights are not one per connection
    """

    name: str
    description: str
    options: dict[str, Option]
    readouts: tuple
    blocks: Callable
    features: Callable
    sizes: Callable
    cfg: Callable
    pack: Callable
    step: Callable
    fixed: Callable = _no_fixed
    check: Callable = _no_check
    array: Callable | None = None
    twin: Callable | None = None
    feature_range: Callable = _signed
    center_crossing: bool = False
    last_only: str = ""
    torch_nn: TorchNN | None = None
    internal: bool = False
    one_size: bool = False
    io_sizes: Callable | None = None
    fit_readout: Callable | None = None
    no_onnx: str = ""
    no_numpy: str = ""
    neuron_graph: Callable | None = None

    def defaults(self) -> dict:
        """Option name -> default value."""
        return defaults(self.options)

    def validate(self, I: int, H: int, O: int, opts: dict) -> None:
        """Raise ValueError naming the first bad option (its own check, then the family's)."""
        check_declared(self.name, self.options, opts)
        self.check(I, H, O, opts)


def torch_nn_twin(lay):
    """The twin of a family with a ``torch_nn`` declaration: one torch.nn.LSTM/GRU/RNN layer."""
    from ..twins.layers import TorchNNLayer
    return TorchNNLayer(lay)


def lazy_twin(build: Callable) -> Callable:
    """twin(layer) for a family whose torch module class ``build()`` defines: torch is
    imported, and the class made, on the first call."""
    made = []

    def twin(lay):
        if not made:
            made.append(build())
        return made[0](lay)
    return twin


def family(*, readouts: tuple, options: dict | None = None, **fields) -> Family:
    """A Family whose options start with ``readout`` (its default: the first of readouts)."""
    readout = Option(readouts[0], "what maps the features to the outputs: " + ", ".join(readouts))
    return Family(readouts=readouts, options={"readout": readout, **(options or {})}, **fields)
