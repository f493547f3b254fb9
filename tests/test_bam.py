"""The bam family against a plain-NumPy relaxation written here, its energy, and Kosko's
Hebbian encoding (bam_hebb) recalling y from a noisy x and x from a noisy y."""
import numpy as np
import pytest

import evornn
from evornn.arrays import population_forward_array
from evornn.hopfield_rules import bam_energy, bam_hebb


def recall(W, theta_x, theta_y, X, n, units="binary", gain=1.0):
    """Outputs [B, T, n + p]: start from the probe x_0 = [x, y] (a zero half not given: an
    unprobed x starts as f(W y - theta_x)), then y <- f(W^T x - theta_y + field_y),
    x <- f(W y - theta_x + field_x) a step; x_t (t >= 1) the field."""
    B, T, N = X.shape
    p = N - n
    out = np.zeros((B, T, N))

    def f(h):
        if units == "binary":
            return 1.0 if h >= 0 else -1.0
        return float(np.tanh(gain * h))
    for b in range(B):
        probe = X[b, 0].astype(np.float64)
        if units == "binary":
            s = np.array([1.0 if v >= 0 else -1.0 for v in probe])
        else:
            s = probe.copy()
        x, y = s[:n].copy(), s[n:].copy()
        x_given = any(v != 0 for v in probe[:n]) or not any(v != 0 for v in probe[n:])
        if not x_given:
            x = np.array([f(sum(W[i, j] * y[j] for j in range(p)) - theta_x[i]) for i in range(n)])
        for t in range(T):
            field = X[b, t].astype(np.float64) if t > 0 else np.zeros(N)
            y = np.array([f(sum(W[i, j] * x[i] for i in range(n)) - theta_y[j] + field[n + j])
                          for j in range(p)])
            x = np.array([f(sum(W[i, j] * y[j] for j in range(p)) - theta_x[i] + field[i])
                          for i in range(n)])
            out[b, t, :n], out[b, t, n:] = x, y
    return out


def parts(genome, n, p):
    return genome[:n * p].reshape(n, p), genome[n * p:n * p + n], genome[n * p + n:]


def reference(net, X, genome=None):
    lay = net.layers[0]
    N = lay.n_hidden
    n = lay.opts["split"] if lay.opts["split"] is not None else N // 2
    g = net.genome if genome is None else genome
    return recall(*parts(g, n, N - n), X, n, lay.opts["units"], lay.opts["gain"])


def probes(rng, B, T, N, n, dt):
    """Probes with x only, y only, both, neither; fields on some later steps."""
    X = np.zeros((B, T, N))
    X[:, 0] = rng.uniform(-1, 1, (B, N))
    X[0, 0, n:] = 0                        # x given
    X[1, 0, :n] = 0                        # y given
    X[2, 0] = 0                            # neither
    X[3:, 2] = rng.uniform(-0.5, 0.5, (B - 3, N))                  # a field at t = 2
    return X.astype(dt)


OPTIONS = [{}, {"split": 3}, {"split": 6}, {"units": "continuous"},
           {"units": "continuous", "gain": 2.5, "split": 2}]


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_kernels_and_array_form_match_the_reference(options):
    rng = np.random.default_rng(1)
    N, P, B, T = 7, 3, 6, 5
    net = evornn.Network("bam", N, N, N, seed=0, **options)
    n = options.get("split", N // 2)
    G = rng.uniform(-1, 1, (P, net.n_params))
    for dt, atol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        X = probes(rng, B, T, N, n, dt)
        want = np.stack([reference(net, X.astype(np.float64), g) for g in G])
        got = evornn.population_forward(net, G, X)
        assert got.shape == (P, B, T, N) and got.dtype == dt
        np.testing.assert_allclose(got, want, rtol=0, atol=atol)
        np.testing.assert_allclose(population_forward_array(net, G, X, np), want, rtol=0,
                                   atol=atol)


def test_an_unprobed_layer_starts_from_the_probed_one():
    n = 3
    net = evornn.Network("bam", 5, 5, 5, split=n)
    W = np.array([[1.0, -1.0], [1.0, 0.5], [-1.0, 1.0]])
    net.genome = np.concatenate([W.ravel(), np.zeros(5)])
    # y not given: y = sign(W^T [1, 1, -1]) = sign([3, -1.5]), then x = sign(W y) = sign([2, 0.5, -2])
    out = net.forward(np.array([[1.0, 1.0, -1.0, 0.0, 0.0]]))
    np.testing.assert_array_equal(out[0], [1.0, 1.0, -1.0, 1.0, -1.0])
    # x not given: x = sign(W [-1, 1]) = sign([-2, -0.5, 2]) first, then a step:
    # y = sign(W^T x) = sign([-4.5, 2.5]) = [-1, 1], x = [-1, -1, 1]
    out = net.forward(np.array([[0.0, 0.0, 0.0, -1.0, 1.0]]))
    np.testing.assert_array_equal(out[0], [-1.0, -1.0, 1.0, -1.0, 1.0])
    # neither given: x counts as given, sign(0) = +1: x = [1, 1, 1], y = sign([1, 0.5]) = [1, 1],
    # x = sign([0, 1.5, 0]) = [1, 1, 1]
    out = net.forward(np.zeros((1, 5)))
    np.testing.assert_array_equal(out[0], [1.0, 1.0, 1.0, 1.0, 1.0])


def test_energy_never_increases_along_a_relaxation():
    rng = np.random.default_rng(3)
    N, n = 30, 12
    net = evornn.Network("bam", N, N, N, split=n)
    for trial in range(5):
        g = rng.uniform(-1, 1, net.n_params)
        X = np.zeros((8, 12, N))
        X[:, 0] = rng.choice([-1.0, 1.0], (8, N))
        X[:4, 0, n:] = 0
        S = evornn.population_forward(net, g[None], X)[0]
        E = bam_energy(net, S, g)                                   # [B, T]
        assert np.all(np.diff(E, axis=1) <= 1e-9)
        W, tx, ty = parts(g, n, N - n)
        x, y = S[..., :n], S[..., n:]
        np.testing.assert_allclose(E, -np.einsum("bti,ij,btj->bt", x, W, y) + x @ tx + y @ ty,
                                   atol=1e-12)


def flip(v, k, rng):
    v = v.copy()
    i = rng.choice(v.size, k, replace=False)
    v[i] = -v[i]
    return v


def test_bam_hebb_recalls_pairs_both_ways():
    rng = np.random.default_rng(5)
    n, p, K = 40, 30, 3
    net = evornn.Network("bam", n + p, n + p, n + p, split=n)
    Xs, Ys = rng.choice([-1.0, 1.0], (K, n)), rng.choice([-1.0, 1.0], (K, p))
    g = bam_hebb(net, Xs, Ys)
    np.testing.assert_array_equal(g[:n * p].reshape(n, p), sum(np.outer(x, y) for x, y in zip(Xs, Ys)))
    assert not g[n * p:].any()
    seqs = []
    for k in range(K):
        seqs.append(np.concatenate([flip(Xs[k], 6, rng), np.zeros(p)]))   # y from a noisy x
        seqs.append(np.concatenate([np.zeros(n), flip(Ys[k], 4, rng)]))   # x from a noisy y
    X = np.zeros((2 * K, 4, n + p))
    X[:, 0] = seqs
    out = evornn.population_forward(net, g[None], X)[0, :, -1]
    for k in range(K):
        for row in (2 * k, 2 * k + 1):
            np.testing.assert_array_equal(out[row, :n], Xs[k])
            np.testing.assert_array_equal(out[row, n:], Ys[k])


@pytest.mark.parametrize("X,Y,message", [
    (np.ones((2, 40)), np.ones((3, 30)), "X and Y must hold as many pairs, got K=2 and K=3"),
    (np.ones((2, 39)), np.ones((2, 30)), "X has rows of length 39, the network's layer has n=40"),
    (np.ones((2, 40)), np.ones((2, 31)), "Y has rows of length 31, the network's layer has p=30"),
    (np.ones(40), np.ones((1, 30)), r"must be K x n and K x p arrays, got shapes \(40,\)"),
    (np.full((1, 40), 0.5), np.ones((1, 30)), "must be \\+-1 only, got 0.5 at pattern 0, unit 0"),
    (np.ones((0, 40)), np.ones((0, 30)), r"at least one pattern \(K >= 1\), got K=0"),
])
def test_bam_hebb_errors_are_one_line(X, Y, message):
    net = evornn.Network("bam", 70, 70, 70, split=40)
    with pytest.raises(ValueError, match=message) as e:
        bam_hebb(net, X, Y)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="bam_hebb needs a one-layer bam network, got hopfield"):
        bam_hebb(evornn.Network("hopfield", 70, 70, 70), np.ones((1, 40)), np.ones((1, 30)))


@pytest.mark.parametrize("kwargs,message", [
    (dict(split=0), r"option split=0 must be None \(N // 2\) or an integer >= 1"),
    (dict(split=5), r"option split=5 \(the first layer's size n\) must satisfy 1 <= split < N=5"),
    (dict(split=2.5), "option split=2.5 must be None"),
    (dict(units="spiking"), "units"),
])
def test_bad_options_are_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message) as e:
        evornn.Network("bam", 5, 5, 5, **kwargs)
    assert "\n" not in str(e.value)


def test_sizes_must_be_one_number():
    with pytest.raises(ValueError, match="bam: n_in, n_hidden and n_out must all be N"):
        evornn.Network("bam", 3, 5, 5)


def test_continuous_twin_matches_and_binary_has_none():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    net = evornn.Network("bam", 6, 6, 6, units="continuous", split=2, seed=1)
    net.genome = rng.uniform(-1, 1, net.n_params)
    X = probes(rng, 5, 4, 6, 2, np.float64)
    with torch.no_grad():
        got = net.to_torch()(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(got, net.forward(X), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="bam: binary units have no gradient"):
        evornn.Network("bam", 6, 6, 6).to_torch()
