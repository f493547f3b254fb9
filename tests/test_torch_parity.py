"""Torch twins against the numba kernels: lstm, gru and elman against torch.nn itself, every
other family (and mixed stacks) against its own twin (Family.twin); forward, round trips, gradients."""
import subprocess
import sys

import numpy as np
import pytest

import evornn
from evornn.arch import esn as esn_family
from evornn.arch.kernels import C_OPT

torch = pytest.importorskip("torch")
from evornn.twins.convert import TorchTwin, genome_from_module  # noqa: E402
from evornn.twins.layers import StackTwin  # noqa: E402
from tests.family_cases import sized, twin_options  # noqa: E402

TOL = {np.float32: 1e-5, np.float64: 1e-10}
CASES = [dict(), dict(num_layers=2), dict(num_layers=3), dict(bidirectional=True),
         dict(num_layers=2, bidirectional=True)]


def torch_out(module, X):
    with torch.no_grad():
        return module(torch.from_numpy(X.astype(np.float64))).numpy()


@pytest.mark.parametrize("arch", ["lstm", "gru", "elman"])
@pytest.mark.parametrize("H", [1, 7, 64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_torch(arch, H, dtype):
    net = evornn.Network(arch, 3, H, 2, seed=H)
    module = net.to_torch()
    X = np.random.default_rng(H).standard_normal((4, 25, 3))
    y = net.forward(X.astype(dtype))
    assert y.dtype == dtype
    np.testing.assert_allclose(y, torch_out(module, X), atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize("arch", ["lstm", "gru", "elman"])
@pytest.mark.parametrize("kw", CASES, ids=lambda kw: "-".join(f"{k}{v}" for k, v in kw.items()) or "single")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stacks_and_single_step_match_torch(arch, kw, dtype):
    net = evornn.Network(arch, 4, 6, 3, seed=5, **kw)
    module = net.to_torch()
    for T in (1, 9):
        X = np.random.default_rng(T).standard_normal((3, T, 4))
        np.testing.assert_allclose(net.forward(X.astype(dtype)), torch_out(module, X),
                                   atol=TOL[dtype], rtol=0)


def test_relu_elman_and_readout_activations_match_torch():
    for readout in ("tanh", "sigmoid"):
        net = evornn.Network("elman", 2, 5, 2, activation="relu", readout=readout, seed=2)
        X = np.random.default_rng(0).standard_normal((2, 11, 2))
        np.testing.assert_allclose(net.forward(X), torch_out(net.to_torch(), X), atol=1e-10)


@pytest.mark.parametrize("arch", ["lstm", "gru", "elman"])
def test_round_trips(arch):
    net = evornn.Network(arch, 3, 5, 2, num_layers=2, seed=9)
    back = evornn.Network.from_torch(net.to_torch())
    np.testing.assert_array_equal(back.genome, net.genome)

    # torch -> genome: torch's separate hidden biases fold into ours, same function
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "elman": torch.nn.RNN}[arch]
    torch.manual_seed(0)
    module = TorchTwin(cls(3, 5, num_layers=2, batch_first=True).double(),
                       torch.nn.Linear(5, 2).double())
    X = np.random.default_rng(1).standard_normal((2, 8, 3))
    net2 = evornn.Network.from_torch(module)
    np.testing.assert_allclose(net2.forward(X), torch_out(module, X), atol=1e-10)
    np.testing.assert_allclose(torch_out(net2.to_torch(), X), torch_out(module, X), atol=1e-10)


def test_bare_torch_module_converts_with_features_as_outputs():
    torch.manual_seed(3)
    lstm = torch.nn.LSTM(2, 4, batch_first=True).double()
    net = evornn.Network.from_torch(lstm)
    assert (net.n_out, net.layers[-1].opts["readout"]) == (4, "none")
    X = np.random.default_rng(2).standard_normal((2, 6, 2))
    with torch.no_grad():
        ref = lstm(torch.from_numpy(X))[0].numpy()
    np.testing.assert_allclose(net.forward(X), ref, atol=1e-10)


def test_not_a_twin_is_a_clear_error():
    with pytest.raises(ValueError, match="TorchTwin, a StackTwin or a torch.nn.LSTM/GRU/RNN"):
        evornn.Network.from_torch(torch.nn.Linear(2, 2))


# ---------------------------------------------------------------------------------------
# every family: its twin (Family.twin) in a StackTwin, forward, round trip and gradient

I_, H_, O_, B_, T_ = 3, 5, 2, 4, 9


def twin_genome(net, rng, scale=0.7):
    """A random genome with clipped genes (tau, u) inside or well outside their clip ranges,
    never near a clip boundary, where the function has a kink."""
    g = rng.normal(0.0, scale, net.n_params)
    for lay in net.layers:
        unit = lay.opts.get("genes") == "unit"
        for b in lay.blocks:
            name, sl = b.name.rsplit(".", 1)[-1], slice(b.offset, b.offset + b.size)
            if unit and name == "tau":                        # unit genes: tau clipped beyond +-1
                v = rng.uniform(-0.8, 0.8, b.size)
                v[0] = 1.5
                g[sl] = v
            elif unit and name == "gain":
                g[sl] = rng.uniform(-0.95, -0.7, b.size)     # gains 0.55 to 3
            elif unit:
                g[sl] /= lay.opts["weight_range"]             # the raw genome's weights
            elif name == "tau":
                lo, hi = lay.opts["tau_range"]
                v = rng.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo), b.size)
                v[0] = 1.5 * hi                               # clipped: flat, zero gradient
                g[sl] = v
            elif name == "u":
                m = lay.opts["max_recurrent"]
                v = rng.uniform(-0.8 * m, 0.8 * m, b.size)
                v[0] = -1.8 * m                               # clipped
                g[sl] = v
            elif name in ("gain", "input_scaling", "bias_scaling"):
                g[sl] = rng.uniform(0.3, 2.0, b.size)
            elif name in ("leak", "spectral_radius"):
                g[sl] = rng.uniform(0.2, 0.95, b.size)
    return g


def make(arch, options, seed=0, n_hidden=H_, n_out=O_):
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = sized(arch, I_, n_hidden, n_out, options)
    net = evornn.Network(arch, n_in, n_hidden, n_out, seed=seed, **options)
    net.genome = twin_genome(net, rng)
    return net, rng.uniform(-1.5, 1.5, (B_, T_, n_in))


FAMILY_CASES = [(f, twin_options(f)) for f in evornn.architectures()]
VARIANT_CASES = [
    ("bam", {"units": "continuous", "split": 1, "gain": 2.0}),
    ("jordan", {"context_decay": 0.5, "readout": "linear"}),
    ("jordan", {"readout": "sigmoid"}),
    ("frnn", {"activation": "tanh", "bias": False}),
    ("frnn", {"readout": "tanh"}),
    ("indrnn", {"activation": "tanh", "max_recurrent": 0.5}),
    ("ctrnn", {"integrator": "rk4", "gains": True, "dt": 0.3}),
    ("ctrnn", {"gains": True, "readout": "linear", "tau_range": (1.0, 2.0), "dt": 0.5}),
    ("ctrnn", {"genes": "unit", "gains": True, "readout": "linear", "weight_range": 4.0}),
    ("mtrnn", {"genes": "unit", "readout": "tanh", "integrator": "rk4"}),
    ("mtrnn", {"integrator": "rk4", "n_slow": 2}),
    ("mtrnn", {"readout": "sigmoid", "tau_fast": 2.0, "dt": 0.5}),
    ("esn", {"evolve_leak": True, "evolve_input_scaling": True, "evolve_spectral_radius": True,
             "evolve_bias_scaling": True}),
    ("esn", {"density": 1.0, "leak": 0.3, "bias_scaling": 0.5, "evolve_spectral_radius": True}),
    ("esn", {"readout_inputs": False, "readout": "tanh", "evolve_leak": True}),
    ("second_order", {"activation": "tanh", "readout": "sigmoid"}),
    ("ntm", {"controller": "dense", "memory": (8, 3), "readout": "sigmoid"}),
    ("ntm", {"memory": (6, 4), "read_heads": 2, "write_heads": 2, "shift": 5}),
    ("stack_rnn", {"memory": "queue", "width": 3}),
    ("stack_rnn", {"memory": "deque", "controller": "elman", "width": 2, "capacity": 4}),
    ("stack_rnn", {"controller": "elman", "capacity": 3, "readout": "tanh"}),
    ("stack_rnn", {"memory": "queue", "controller": "dense", "width": 2}),
    ("dnc", {"controller": "dense", "memory": (8, 3), "readout": "sigmoid"}),
    ("dnc", {"memory": (6, 4), "read_heads": 2}),
    ("seq2seq", {"attention": "luong", "encoder": "lstm", "decoder": "elman"}),
    ("seq2seq", {"attention": "none", "encoder": "elman", "decoder": "lstm", "readout": "tanh"}),
    ("seq2seq", {"max_source": 3, "encoder": "lstm", "readout": "sigmoid"}),   # T = 9 > 3
    ("recursive", {"cell": "treelstm", "stack": 3, "readout": "tanh"}),       # T = 9 > 3
    ("pixelrnn", {"variant": "diagonal", "image": "3,5", "readout": "sigmoid"}),
    ("hrnn", {"modules": 2, "periods": (2, 3), "readout": "tanh"}),
    ("rmlp", {"layers": (3, 2), "readout": "sigmoid"}),
    ("lrnn", {"output_filters": True, "readout": "tanh", "zeros": 1, "poles": 2}),
    ("history_compressor", {"threshold": 1.3, "collapse": True, "stamps": 0.5, "readout": "tanh"}),
    ("seq2seq", {"input_feeding": True, "max_source": 4, "decoder": "lstm"}),
]
STACK_CASES = [
    (["gru", "ctrnn"], {}),
    (["lstm", "esn", "elman"], {"evolve_leak": True}),
    ("ctrnn+mtrnn", {"integrator": "rk4"}),
    (["indrnn", "frnn"], {"activation": "tanh"}),
    (["second_order", "jordan"], {}),
    ("lstm", {"num_layers": 2}),            # torch.nn.LSTM inside a StackTwin (two hidden sizes)
    ("ctrnn", {"bidirectional": True}),
    ("esn", {"bidirectional": True, "density": 1.0}),
    (["indrnn", "mtrnn"], {"bidirectional": True}),
    ("gru", {"bidirectional": True, "num_layers": 2}),   # one torch.nn.GRU (TorchTwin)
    (["gru", "ntm"], {"memory": (7, 3)}),
    (["dnc", "gru"], {"memory": (5, 3)}),
]
STACK_HIDDEN = {0: [5, 4], 1: [4, 6, 3], 2: [4, 6], 3: [5, 4], 4: [5, 4], 5: [3, 4]}


def case_id(case):
    arch, options = case
    name = "+".join(arch) if isinstance(arch, list) else arch
    return name + "".join(f"-{k}={v}" for k, v in options.items())


ALL_CASES = FAMILY_CASES + VARIANT_CASES + STACK_CASES


def hidden_for(case):
    return STACK_HIDDEN.get(STACK_CASES.index(case), H_) if case in STACK_CASES else H_


@pytest.mark.parametrize("case", ALL_CASES, ids=case_id)
def test_twin_computes_the_numba_function_and_round_trips(case):
    arch, options = case
    net, X = make(arch, options, n_hidden=hidden_for(case))
    module = net.to_torch()
    want = torch_out(module, X)
    assert want.shape == (B_, T_, net.n_out)
    np.testing.assert_allclose(net.forward(X), want, atol=TOL[np.float64], rtol=0)
    # the ntm's and dnc's float32 steps sum and normalise over every memory slot, twice a
    # head: their rounding error is a few float32 ulps larger than a plain layer's
    tol32 = TOL[np.float32] * (3 if arch in ("ntm", "dnc") else 1)
    np.testing.assert_allclose(net.forward(X.astype(np.float32)), want, atol=tol32, rtol=0)
    with torch.no_grad():                     # the twin in float32 too
        y32 = net.to_torch().float()(torch.from_numpy(X.astype(np.float32))).numpy()
    np.testing.assert_allclose(y32, want, atol=TOL[np.float32], rtol=0)
    # genome -> module -> genome, exactly, and back to a Network with the same layout
    np.testing.assert_array_equal(genome_from_module(module), net.genome)
    back = evornn.Network.from_torch(module)
    assert [(b.name, b.shape) for b in back.layout] == [(b.name, b.shape) for b in net.layout]
    np.testing.assert_array_equal(back.genome, net.genome)


@pytest.mark.parametrize("family", evornn.architectures())
def test_every_family_has_a_stack_twin_with_block_named_parameters(family):
    """Outside the one-torch.nn-module case, each layer's parameters are its genome blocks."""
    arch = ["elman", family] if family in ("jordan", "pixelrnn") else [family, "elman"]
    # pixelrnn reads an 8 x 8 image: elman's 64 features
    net, X = make(arch, twin_options(arch), n_hidden=[64 if family == "pixelrnn" else 4, 3])
    module = net.to_torch()
    lay = net.layers[0]
    assert isinstance(module, StackTwin) and type(module.layers[0]) is type(lay.family.twin(lay))
    named = {f"{i}.{k}" for i, m in enumerate(module.layers) for k, _ in m.named_parameters(recurse=False)}
    assert named <= {b.name for b in net.layout}
    np.testing.assert_allclose(net.forward(X), torch_out(module, X), atol=TOL[np.float64], rtol=0)


def loss_weights(net, seed=1):
    return np.random.default_rng(seed).standard_normal((B_, T_, net.n_out))


def autograd_genome_gradient(net, X, Wt):
    """d(sum(Y * Wt))/d(genome) through the twin (float64), mapped back to layout order."""
    module = net.to_torch()
    y = module(torch.from_numpy(X))
    (y * torch.from_numpy(Wt)).sum().backward()
    return genome_from_module(module, grad=True)


def finite_difference_gradient(net, X, Wt, eps=1e-5):
    """Central differences of the numba forward pass for every gene (one population call)."""
    D = net.n_params
    G = net.genome + np.concatenate([eps * np.eye(D), -eps * np.eye(D)])
    L = np.einsum("pbto,bto->p", evornn.population_forward(net, G, X), Wt)
    return (L[:D] - L[D:]) / (2 * eps)


GRAD_CASES = FAMILY_CASES + [VARIANT_CASES[i] for i in (0, 2, 4, 5, 7, 8, 9, 11, 13, 15, 16, 17,
                                                          18, 19, 20, 21, 23, 24, 25, 26, 27, 28, 29, 30,
                                                          31, 33)] \
    + [STACK_CASES[i] for i in (0, 1, 6, 8, 9, 10, 11)]


@pytest.mark.parametrize("case", GRAD_CASES, ids=case_id)
def test_twin_gradient_matches_finite_differences_of_numba(case):
    arch, options = case
    net, X = make(arch, options, seed=3, n_hidden=hidden_for(case))
    Wt = loss_weights(net)
    grad = autograd_genome_gradient(net, X, Wt)
    fd = finite_difference_gradient(net, X, Wt)
    assert grad.shape == (net.n_params,) and np.abs(grad).max() > 1e-2
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)
    # clipped genes (tau, u beyond their range) have zero gradient in both
    for b in net.layout:
        if b.name.rsplit(".", 1)[-1] in ("tau", "u"):
            assert grad[b.offset] == 0.0 and abs(fd[b.offset]) < 1e-9


def test_torch_side_changes_come_back_as_the_same_function():
    """Train-like edits in torch (all parameters moved, torch.nn hidden biases nonzero) ->
    from_torch gives a Network computing the edited module's function."""
    net, X = make(["gru", "ctrnn", "esn"], {"evolve_leak": True}, n_hidden=[4, 5, 6])
    module = net.to_torch()
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.add_(0.05 * torch.randn_like(p) if not name.endswith("leak") else -0.1 * torch.ones_like(p))
    back = evornn.Network.from_torch(module)
    np.testing.assert_allclose(back.forward(X), torch_out(module, X), atol=1e-10, rtol=0)
    np.testing.assert_array_equal(genome_from_module(back.to_torch()), back.genome)


def test_sparse_esn_reservoir_twin():
    """A sparse reservoir (compact `fixed`) decodes to the matrix the kernels step; gradients too."""
    net, X = make("esn", {"density": 0.03, "evolve_spectral_radius": True, "evolve_leak": True},
                  n_hidden=40)
    assert net.layers[0].cfg[C_OPT + esn_family.C_SPARSE] == 1
    module = net.to_torch()
    W = module.layers[0].reservoir.numpy()
    assert 0 < np.count_nonzero(W) < 0.1 * W.size
    assert abs(np.abs(np.linalg.eigvals(W)).max() - 1.0) < 1e-8
    np.testing.assert_allclose(net.forward(X), torch_out(module, X), atol=1e-10, rtol=0)
    Wt = loss_weights(net)
    np.testing.assert_allclose(autograd_genome_gradient(net, X, Wt), finite_difference_gradient(net, X, Wt),
                               rtol=1e-5, atol=1e-7)


def test_output_map_and_reservoir_checks():
    X = np.random.default_rng(0).standard_normal((2, 5, 2))
    for arch in ("ctrnn", "lstm"):
        net = evornn.Network(arch, 2, 3, 1, output_map=(2.0, -1.0), seed=1)
        module = net.to_torch()
        np.testing.assert_allclose(net.forward(X), torch_out(module, X), atol=1e-12)
        assert evornn.Network.from_torch(module).output_map == (2.0, -1.0)
    esn = evornn.Network("esn", 2, 6, 1, density=1.0, seed=2).to_torch()
    with torch.no_grad():
        esn.layers[0].reservoir.mul_(0.5)
    with pytest.raises(ValueError, match="reservoir differs from the one its seed 2 builds"):
        evornn.Network.from_torch(esn)


def test_family_without_twin_is_a_clear_error():
    net = evornn.Network("ctrnn", 2, 3, 1)
    net.layers[0].family = net.layers[0].family._replace(twin=None)
    with pytest.raises(ValueError, match="no torch twin for 'ctrnn': twins exist for elman, jordan"):
        net.to_torch()


def test_import_evornn_without_torch():
    code = ("import sys; sys.modules['torch'] = None; import evornn; "
            "net = evornn.Network('ctrnn', 2, 3, 1); print(net.forward([[0.0, 1.0]]).shape)\n"
            "try:\n    net.to_torch()\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == "(1, 1)" and "pip install" in out
