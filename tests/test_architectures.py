"""Registry-driven checks every architecture must pass, and the shared numba primitives."""
import numpy as np
import pytest
from numba import njit

import evornn
from evornn.arch.kernels import JIT, mm_acc, sigmoid, tanh, view2d
from evornn.threads import set_threads, threads

ARCHS = evornn.architectures()


def test_the_ten_families_are_registered():
    assert ARCHS == ["elman", "jordan", "frnn", "lstm", "gru", "indrnn", "ctrnn", "mtrnn", "esn",
                     "second_order"]
    assert set(evornn.describe_architectures()) == set(ARCHS)


@pytest.mark.parametrize("arch", ARCHS)
def test_layout_is_a_contiguous_partition_of_the_genome(arch):
    net = evornn.Network(arch, 3, 6, 2, seed=1)
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
    net = evornn.Network(arch, 3, 6, 2, seed=2)
    rng = np.random.default_rng(0)
    G = net.genome + 0.3 * rng.standard_normal((9, net.n_params))
    lo, hi = net.bounds()
    G = np.clip(G, lo, hi)
    X = rng.standard_normal((4, 12, 3)).astype(np.float32)
    before = threads()
    try:
        set_threads(1)
        one = evornn.population_forward(net, G, X)
        set_threads(2)
        two = evornn.population_forward(net, G, X)
    finally:
        set_threads(before)
    assert one.shape == (9, 4, 12, 2) and one.dtype == np.float32
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
def _view_and_write(a, off, rows, cols):
    v = view2d(a, off, rows, cols)
    v[rows - 1, cols - 1] = -1.0
    return v.copy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_view2d_is_a_writable_reshape_and_refuses_out_of_bounds(dtype):
    a = np.arange(40, dtype=dtype)
    v = _view_and_write(a, 5, 3, 7)
    want = np.arange(5, 26, dtype=dtype).reshape(3, 7)
    want[2, 6] = -1.0
    np.testing.assert_array_equal(v, want)
    assert a[25] == -1.0 and a[24] == 24.0 and a[26] == 26.0
    with pytest.raises(IndexError, match="out of the array's bounds"):
        _view_and_write(a, 30, 2, 6)
