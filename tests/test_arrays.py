"""The batched array path (NumPy here, CuPy on a GPU) computes what the numba kernels do."""
import numpy as np
import pytest

import evornn
from evornn.arrays import ARRAY_FAMILIES, array_module, population_forward_array
from tests.family_cases import sized
from tests.gpu_cases import GPU

# every architecture (a family added later fails here until it has an array form), then
# options that change the equations, stacks and bidirectional networks
CASES = [(f, {}) for f in evornn.architectures()] + [
    ("elman", {"activation": "relu", "readout": "tanh"}),
    ("jordan", {"context_decay": 0.5, "readout": "linear"}),
    ("jordan", {"readout": "sigmoid"}),
    ("frnn", {"bias": False, "activation": "tanh"}),
    ("lstm", {"readout": "sigmoid"}),
    ("indrnn", {"activation": "tanh"}),
    ("ctrnn", {"integrator": "rk4", "gains": True, "dt": 0.3}),
    ("mtrnn", {"integrator": "rk4", "n_slow": 2, "tau_fast": 2.0, "tau_slow": 9.0, "readout": "linear"}),
    ("mtrnn", {"genes": "unit", "weight_range": 4.0, "readout": "linear"}),
    ("esn", {"density": 0.05, "readout": "tanh"}),              # the sparse reservoir
    ("esn", {"evolve_leak": True, "evolve_input_scaling": True, "evolve_spectral_radius": True,
             "evolve_bias_scaling": True, "readout_inputs": False, "leak": 0.4}),
    ("esn", {"bias_scaling": 0.3, "leak": 0.7, "spectral_radius": 1.2, "readout": "sigmoid"}),
    ("second_order", {"activation": "tanh", "readout": "tanh"}),
    ("stack_rnn", {"memory": "queue", "controller": "elman", "readout": "sigmoid"}),
    ("stack_rnn", {"memory": "deque", "width": 3, "capacity": 5}),     # T = 11 > capacity
    ("stack_rnn", {"capacity": 4}),
    ("stack_rnn", {"memory": "queue", "controller": "dense", "capacity": 6}),
    ("ctrnn", {"genes": "unit", "gains": True, "readout": "linear", "weight_range": 4.0}),
    ("ntm", {"controller": "dense", "memory": (8, 3), "shift": 5, "readout": "sigmoid"}),
    ("ntm", {"memory": (6, 4), "read_heads": 2, "write_heads": 3, "shift": 1}),
    (["ntm", "gru"], {"memory": (5, 2)}),
    ("dnc", {"controller": "dense", "memory": (8, 3), "readout": "sigmoid"}),
    ("dnc", {"memory": (6, 4), "read_heads": 3}),
    (["dnc", "gru"], {"memory": (5, 2)}),
    ("hopfield", {"units": "continuous"}),
    ("hopfield", {"update": "sync", "order_seed": 3}),
    ("hopfield", {"units": "continuous", "update": "sync", "gain": 2.5}),
    ("hopfield", {"units": "continuous", "num_layers": 2, "order_seed": 7}),
    ("bam", {"units": "continuous", "gain": 1.7}),
    ("bam", {"split": 1}),
    ("bam", {"units": "continuous", "split": 5, "num_layers": 2}),
    ("seq2seq", {"attention": "luong", "encoder": "lstm", "decoder": "elman"}),
    ("seq2seq", {"attention": "none", "decoder": "lstm", "readout": "sigmoid"}),
    ("seq2seq", {"max_source": 3, "encoder": "elman"}),               # T = 11 > max_source
    ("seq2seq", {"input_feeding": True, "attention": "luong", "decoder": "lstm"}),
    (["seq2seq", "gru"], {"attention": "luong"}),
    ("recursive", {"cell": "treelstm", "stack": 3, "readout": "sigmoid"}),   # T = 11 > stack
    ("pixelrnn", {"variant": "diagonal", "image": "3,4", "readout": "sigmoid"}),
    ("hrnn", {"modules": 3, "periods": (1, 3, 5), "readout": "tanh"}),
    ("rmlp", {"layers": (2, 4), "readout": "sigmoid"}),
    ("lrnn", {"output_filters": True, "readout": "sigmoid", "zeros": 1, "poles": 2}),
    ("history_compressor", {"threshold": 1.3, "collapse": True, "sizes": (4, 2)}),
    (["gru", "ctrnn"], {}),
    ("lstm", {"num_layers": 2}),
    (["esn", "second_order", "jordan"], {}),
    (["mtrnn", "elman"], {}),
    ("lstm", {"bidirectional": True}),
    (["esn", "gru"], {"bidirectional": True, "readout": "tanh"}),
    (["second_order", "mtrnn"], {"bidirectional": True}),
]


# the same parity tests run on CuPy where there is a GPU (on a GPU machine: pytest -k cupy)
MODULES = ["numpy", pytest.param("cupy", marks=[pytest.mark.gpu,
                                               pytest.mark.skipif(GPU is None, reason="no CUDA GPU")])]


def on_host(Y):
    return Y.get() if hasattr(Y, "get") else Y


def genomes(net, P, rng):
    lo, hi = net.bounds()
    return np.clip(net.genome + 0.5 * rng.standard_normal((P, net.n_params)), lo, hi)


@pytest.mark.parametrize("arch,options", CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype,atol", [(np.float64, 1e-10), (np.float32, 2e-4)])
@pytest.mark.parametrize("module", MODULES)
def test_array_path_equals_numba_kernels(arch, options, dtype, atol, module):
    rng = np.random.default_rng(7)
    I, _, O = sized(arch, 3, 6, 2, options)
    net = evornn.Network(arch, I, 6, O, seed=1, **options)
    G = genomes(net, 9, rng)
    X = rng.uniform(-1.5, 1.5, (4, 11, I)).astype(dtype)
    want = evornn.population_forward(net, G, X)
    got = on_host(population_forward_array(net, G, X, array_module(module)))
    assert got.shape == want.shape == (9, 4, 11, O) and got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=0, atol=atol)


def test_output_map_applies():
    rng = np.random.default_rng(2)
    net = evornn.Network("frnn", 4, 2, 1, bias=False, output_map=(2.0, -1.0))
    G = genomes(net, 5, rng)
    X = rng.uniform(-1, 1, (2, 6, 4))
    np.testing.assert_allclose(population_forward_array(net, G, X), evornn.population_forward(net, G, X),
                               atol=1e-12)


def test_every_architecture_has_an_array_form():
    assert sorted(ARRAY_FAMILIES) == sorted(evornn.architectures())


@pytest.mark.parametrize("arch,options", CASES[:len(evornn.architectures())] + CASES[-2:],
                         ids=lambda v: str(v))
def test_population_forward_under_arrays_never_falls_back(arch, options):
    """With the arrays routed to NumPy, population_forward is the array path itself, bit for bit,
    for every family and for bidirectional networks."""
    from evornn.population import computing
    rng = np.random.default_rng(3)
    I, _, O = sized(arch, 3, 5, 2)
    net = evornn.Network(arch, I, 5, O, seed=2, **options)
    G = genomes(net, 4, rng)
    X = rng.uniform(-1, 1, (2, 7, I))
    with computing(np):
        got = evornn.population_forward(net, G, X)
    np.testing.assert_array_equal(got, population_forward_array(net, G, X, np))
    np.testing.assert_allclose(got, evornn.population_forward(net, G, X), rtol=0, atol=1e-10)


def test_cupy_without_a_gpu_says_so():
    with pytest.raises(ValueError, match="array module must be 'numpy' or 'cupy', got 'jax'"):
        array_module("jax")
    try:
        xp = array_module("cupy")
    except RuntimeError as e:
        assert "needs" in str(e) and "CUDA GPU" in str(e)
    else:
        assert xp.cuda.runtime.getDeviceCount() >= 1        # a GPU machine: the module works


@pytest.mark.parametrize("module", MODULES)
def test_a_problem_built_on_population_forward_runs_through_the_array_path(module):
    """With the arrays routed to NumPy (or, on a GPU, to CuPy as the cupy backend routes
    them), a sequence problem's fitness matches the numba kernels' to float tolerance."""
    from evornn.population import computing
    from evornn.problem import get_problem
    prob = get_problem("parity")
    net = prob.network()
    G = genomes(net, 16, np.random.default_rng(4))
    want = prob.evaluate(net, G, (0, 1))
    with computing(array_module(module)):
        got = prob.evaluate(net, G, (0, 1))
    np.testing.assert_array_equal(prob.evaluate(net, G, (0, 1)), want)   # the kernels again after
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert want.max() > want.min()
    assert not np.array_equal(got, want)        # float32 rounding differs: the other path ran
