"""Registry-driven checks every architecture must pass, and the shared numba primitives."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import njit

import evornn
from evornn.arch.dispatch import FAMILIES, pack, step
from evornn.arch.kernels import JIT, borrow2d, mm_acc, sigmoid, tanh, view2d
from evornn.options import Option
from evornn.threads import set_threads, threads
from tests.family_cases import sized

ARCHS = evornn.architectures()


def test_the_builtin_families_are_registered():
    assert ARCHS == ["elman", "jordan", "frnn", "lstm", "gru", "indrnn", "ctrnn", "mtrnn", "esn",
                     "second_order", "ntm", "stack_rnn", "dnc", "hopfield", "bam", "seq2seq",
                     "recursive", "pixelrnn", "lsm", "hrnn", "rmlp", "lrnn",
                     "history_compressor"]
    assert set(evornn.describe_architectures()) == set(ARCHS)


@pytest.mark.parametrize("arch", ARCHS)
def test_layout_is_a_contiguous_partition_of_the_genome(arch):
    net = evornn.Network(arch, *sized(arch, 3, 6, 2), seed=1)
    off = 0
    for b in net.layout:
        assert b.offset == off and b.size == int(np.prod(b.shape))
        off += b.size
    assert off == net.n_params == net.genome.size
    lo, hi = net.bounds()
    assert lo.shape == hi.shape == (net.n_params,)
    assert np.all(net.genome >= lo) and np.all(net.genome <= hi)


@pytest.mark.parametrize("arch", ARCHS)
def test_population_forward_is_deterministic_and_independent_of_threads(arch):
    I, _, O = sized(arch, 3, 6, 2)
    net = evornn.Network(arch, I, 6, O, seed=2)
    rng = np.random.default_rng(0)
    G = net.genome + 0.3 * rng.standard_normal((9, net.n_params))
    lo, hi = net.bounds()
    G = np.clip(G, lo, hi)
    X = rng.standard_normal((4, 12, I)).astype(np.float32)
    before = threads()
    try:
        set_threads(1)
        one = evornn.population_forward(net, G, X)
        set_threads(2)
        two = evornn.population_forward(net, G, X)
    finally:
        set_threads(before)
    assert one.shape == (9, 4, 12, O) and one.dtype == np.float32
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, evornn.population_forward(net, G, X))
    # float32 and float64 compute the same function
    y64 = evornn.population_forward(net, G, X.astype(np.float64))
    np.testing.assert_allclose(one, y64, atol=2e-4)


@njit(**JIT)
def _tanh_all(x, out):
    for i in range(x.size):
        out[i] = tanh(x[i])


@njit(**JIT)
def _sigmoid_all(x, out):
    for i in range(x.size):
        out[i] = sigmoid(x[i])


def test_float32_activations_are_accurate_and_pass_nan_through():
    x = np.concatenate([np.linspace(-30, 30, 600001), [np.inf, -np.inf, np.nan]]).astype(np.float32)
    t, s = np.empty_like(x), np.empty_like(x)
    _tanh_all(x, t)
    _sigmoid_all(x, s)
    x64 = x.astype(np.float64)
    fin = np.isfinite(x)
    assert np.abs(t[fin] - np.tanh(x64[fin])).max() < 5e-7
    assert np.abs(s[fin] - 1 / (1 + np.exp(-x64[fin]))).max() < 5e-7
    assert np.nanmax(np.abs(t)) <= 1 and t[-3] == 1 and t[-2] == -1 and np.isnan(t[-1])
    assert np.isnan(s[-1])
    # float64 is libm's function, to the last bit or so
    t64 = np.empty(5)
    _tanh_all(np.linspace(-3, 3, 5), t64)
    np.testing.assert_allclose(t64, np.tanh(np.linspace(-3, 3, 5)), rtol=1e-15, atol=0)


@pytest.mark.parametrize("B,K,M", [(1, 1, 1), (3, 5, 7), (16, 36, 128), (5, 4, 2)])
def test_small_matmul_matches_numpy(B, K, M):
    rng = np.random.default_rng(B * K * M)
    x, w, z = rng.standard_normal((B, K)), rng.standard_normal((K, M)), rng.standard_normal((B, M))
    want = z + x @ w
    mm_acc(z, x, w)
    np.testing.assert_allclose(z, want, atol=1e-12)


@njit
def _view_and_write(a, off, rows, cols, borrowed):
    v = borrow2d(a, off, rows, cols) if borrowed else view2d(a, off, rows, cols)
    v[rows - 1, cols - 1] = -1.0
    return v.copy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("borrowed", [False, True], ids=["view2d", "borrow2d"])
def test_view2d_is_a_writable_reshape_and_refuses_out_of_bounds(dtype, borrowed):
    a = np.arange(40, dtype=dtype)
    v = _view_and_write(a, 5, 3, 7, borrowed)
    want = np.arange(5, 26, dtype=dtype).reshape(3, 7)
    want[2, 6] = -1.0
    np.testing.assert_array_equal(v, want)
    assert a[25] == -1.0 and a[24] == 24.0 and a[26] == 26.0
    with pytest.raises(IndexError, match="out of the array's bounds"):
        _view_and_write(a, 30, 2, 6, borrowed)


def _layer_of(kind):
    fam = FAMILIES[kind]
    if fam.internal:             # dense: the readout on top of a bidirectional network
        return evornn.Network("elman", 3, 4, 2, bidirectional=True, seed=1).layers[-1]
    n_out = 1 if fam.defaults()["readout"] == "neurons" else 2
    return evornn.Network(fam.name, *sized(fam.name, 3, 4, n_out), seed=1).layers[0]


@pytest.mark.parametrize("kind", range(len(FAMILIES)), ids=[f.name for f in FAMILIES])
def test_every_family_reaches_its_own_branch(kind):
    """The switches (through their cached entry points) with a family's index do exactly what
    its own kernels do."""
    fam, lay = FAMILIES[kind], _layer_of(kind)
    assert lay.kind == kind and lay.family is fam
    rng = np.random.default_rng(kind)
    g = rng.uniform(-1, 1, lay.n_genes)
    fixed = lay.fixed_as(np.float64)
    w1, w2 = np.zeros(max(lay.n_packed, 1)), np.zeros(max(lay.n_packed, 1))
    pack(kind, g, lay.cfg, fixed, w1)
    fam.pack(g, lay.cfg, fixed, w2)
    np.testing.assert_array_equal(w1, w2)
    x = rng.standard_normal((2, lay.n_in))
    s1, s2 = np.zeros(2 * lay.n_state + 1), np.zeros(2 * lay.n_state + 1)
    y1, y2 = np.zeros((2, lay.n_out)), np.zeros((2, lay.n_out))
    for _ in range(3):
        step(kind, w1, lay.cfg, fixed, s1, x, y1)
        fam.step(w2, lay.cfg, fixed, s2, x, y2)
    np.testing.assert_array_equal(y1, y2)
    assert np.abs(y1).sum() > 0


def test_the_run_time_switch_calls_the_family_of_the_index():
    """A loop that reads kind at run time gets the generated if/elif switch (built here over
    two families: the full one compiles all of them, about 40 s for sixteen)."""
    from evornn.arch.dispatch import _switch
    two = (FAMILIES[0], FAMILIES[3])
    pack2 = _switch("pack", "g, cfg, fixed, w", two)
    step2 = _switch("step", "w, cfg, fixed, state, x, y", two)
    for index, kind in enumerate((0, 3)):
        fam, lay = FAMILIES[kind], _layer_of(kind)
        g = np.random.default_rng(kind).uniform(-1, 1, lay.n_genes)
        fixed = lay.fixed_as(np.float64)
        w1, w2 = np.zeros(lay.n_packed), np.zeros(lay.n_packed)
        pack2(index, g, lay.cfg, fixed, w1)
        fam.pack(g, lay.cfg, fixed, w2)
        x = np.ones((1, lay.n_in))
        s1, s2 = np.zeros(lay.n_state + 1), np.zeros(lay.n_state + 1)
        y1, y2 = np.zeros((1, lay.n_out)), np.zeros((1, lay.n_out))
        step2(index, w1, lay.cfg, fixed, s1, x, y1)
        fam.step(w2, lay.cfg, fixed, s2, x, y2)
        np.testing.assert_array_equal(w1, w2)
        np.testing.assert_array_equal(y1, y2)
        assert np.abs(y1).sum() > 0


def test_a_process_that_runs_one_family_compiles_no_other(tmp_path):
    """Population, stepping and compiled-episode loops are made per family: a fresh process
    (empty numba cache) that runs elman and dpnv's frnn compiles those two families' kernels
    and no switch over all of them."""
    code = """
import numpy as np, evornn
from evornn.arch import dispatch
from evornn.problem import get_problem
net = evornn.Network("elman", 2, 3, 1)
G = np.random.default_rng(0).normal(size=(3, net.n_params))
Y = evornn.population_forward(net, G, np.ones((1, 4, 2)))
net.genome = G[0]
y = net.step(np.ones(2))
prob = get_problem("dpnv")
pnet = prob.network()
f = prob.evaluate(pnet, np.zeros((2, pnet.n_params)), 0)
names = [fam.name for fam in dispatch.FAMILIES if fam.step.signatures or fam.pack.signatures]
switch = len(dispatch._step_switch.signatures) + len(dispatch._pack_switch.signatures)
print("compiled", ",".join(names), switch, Y.shape, f.shape)
"""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=Path(__file__).resolve().parent.parent, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split() == ["compiled", "elman,frnn", "0", "(3,", "1,", "4,", "1)", "(2,)"], r.stdout


def test_every_family_declares_its_options_and_forms():
    for fam in FAMILIES:
        assert list(fam.options)[0] == "readout" and fam.defaults()["readout"] == fam.readouts[0]
        assert all(isinstance(o, Option) and o.help for o in fam.options.values()), fam.name
        assert fam.array is not None and fam.twin is not None, fam.name


def test_no_family_name_switch_outside_arch():
    """What code outside evornn/arch/ needs to know about a family it asks the family."""
    root = Path(evornn.__file__).parent
    files = [f for f in root.rglob("*.py") if "arch" not in f.relative_to(root).parts]
    files += list((root.parent / "problems").glob("*.py"))
    pattern = re.compile(r"family\.name\s*(==|!=|in\b|not in\b)|\.arch\s*(==|!=)")
    hits = [f"{f.name}:{i}" for f in files for i, line in enumerate(f.read_text().splitlines(), 1)
            if pattern.search(line)]
    assert hits == []


@pytest.mark.parametrize("arch", ARCHS)
def test_feature_range_holds(arch):
    """Family.feature_range bounds what a layer's features can be (readout 'none')."""
    fam = FAMILIES[[f.name for f in FAMILIES].index(arch)]
    opts = fam.defaults()
    I = sized(arch, 3, 6, 2)[0]
    n_feat = fam.features(I, 6, opts)
    if n_feat is None:             # jordan: no features apart from its outputs
        return
    net = evornn.Network(arch, I, 6, n_feat, readout="none", seed=2)
    X = np.random.default_rng(0).standard_normal((4, 20, I)) * 3
    Y = evornn.population_forward(net, np.random.default_rng(1).uniform(-2, 2, (5, net.n_params)), X)
    lo, hi = fam.feature_range(opts)
    assert Y.min() >= lo and Y.max() <= hi
