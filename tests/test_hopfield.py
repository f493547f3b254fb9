"""The hopfield family against a plain-NumPy relaxation written here, its energy, and the
storage rules (hebb, storkey, pseudo_inverse) recalling patterns from corrupted probes."""
import numpy as np
import pytest

import evornn
from evornn import hopfield_rules as rules
from evornn.arch.hopfield import energy
from evornn.arrays import population_forward_array

MASK = 0xFFFFFFFF


def unit_order(seed, sweep, N):
    """The documented async order: Fisher-Yates driven by a 32-bit LCG from (seed, sweep)."""
    def lcg(v):
        return (v * 1664525 + 1013904223) & MASK
    order = list(range(N))
    x = ((seed & MASK) * 69069 + (sweep & MASK) * 362437 + 1) & MASK
    for _ in range(3):
        x = lcg(x)
    for i in range(N - 1, 0, -1):
        x = lcg(x)
        j = (x >> 8) % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def weights_of(genes, N):
    """Symmetric W with a zero diagonal from the upper triangle, row by row."""
    W, k = np.zeros((N, N)), 0
    for i in range(N):
        for j in range(i + 1, N):
            W[i, j] = W[j, i] = genes[k]
            k += 1
    return W


def relax(W, theta, X, units="binary", gain=1.0, update="async", seed=0):
    """Outputs [B, T, N]: start from the probe x_0, one sweep a step, x_t (t >= 1) a field."""
    B, T, N = X.shape
    Y = np.zeros((B, T, N))

    def f(h):
        if units == "binary":
            return 1.0 if h >= 0 else -1.0
        return np.tanh(gain * h)
    for b in range(B):
        if units == "binary":
            s = np.array([1.0 if v >= 0 else -1.0 for v in X[b, 0]])
        else:
            s = X[b, 0].astype(np.float64).copy()
        for t in range(T):
            field = X[b, t] if t > 0 else np.zeros(N)
            if update == "sync":
                s = np.array([f(W[i] @ s - theta[i] + field[i]) for i in range(N)])
            else:
                for i in unit_order(seed, t, N):
                    s[i] = f(W[i] @ s - theta[i] + field[i])
            Y[b, t] = s
    return Y


def reference(net, X, genome=None):
    o, N = net.layers[0].opts, net.n_in
    g = net.genome if genome is None else genome
    W, theta = weights_of(g[:N * (N - 1) // 2], N), g[N * (N - 1) // 2:]
    return relax(W, theta, X, o["units"], o["gain"], o["update"], o["order_seed"])


OPTIONS = [{}, {"update": "sync"}, {"units": "continuous"},
           {"units": "continuous", "update": "sync", "gain": 2.0},
           {"units": "continuous", "gain": 0.5, "order_seed": 12345}, {"order_seed": 2 ** 31 - 1}]


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_kernels_and_array_form_match_the_reference(options):
    rng = np.random.default_rng(1)
    N, P = 7, 4
    net = evornn.Network("hopfield", N, N, N, seed=0, **options)
    G = rng.normal(0, 0.8, (P, net.n_params))
    X = rng.uniform(-1.5, 1.5, (5, 9, N))
    X[:2, 1:] = 0.0                                  # plain recall for two sequences
    want = np.stack([reference(net, X, g) for g in G])
    for dtype, atol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        got = evornn.population_forward(net, G, X.astype(dtype))
        assert got.dtype == dtype and got.shape == (P, 5, 9, N)
        np.testing.assert_allclose(got, want, rtol=0, atol=atol)
        arr = population_forward_array(net, G, X.astype(dtype), np)
        np.testing.assert_allclose(arr, want, rtol=0, atol=atol)
    if options.get("units") == "binary" or "units" not in options:
        assert set(np.unique(want)) <= {-1.0, 1.0}
    # one step at a time is the same relaxation
    net.genome = G[0]
    net.reset()
    np.testing.assert_allclose([net.step(x) for x in X[2]], want[0, 2], rtol=0, atol=1e-12)


def test_async_order_is_a_seeded_permutation_per_sweep():
    from evornn.arch.hopfield import sweep_order
    orders = [unit_order(0, t, 10) for t in range(6)]
    for t, o in enumerate(orders):
        assert sorted(o) == list(range(10))
        assert list(sweep_order(0, t, 10)) == o
    assert len({tuple(o) for o in orders}) == 6
    assert unit_order(1, 0, 10) != orders[0]


def test_async_and_sync_differ_and_the_probe_is_not_a_field():
    rng = np.random.default_rng(3)
    a = evornn.Network("hopfield", 8, 8, 8, seed=0)
    a.genome = rng.normal(0, 1, a.n_params)
    s = evornn.Network("hopfield", 8, 8, 8, seed=0, update="sync", genome=a.genome)
    X = np.zeros((6, 5, 8))
    X[:, 0] = rng.choice([-1.0, 1.0], (6, 8))
    assert not np.array_equal(a.forward(X), s.forward(X))
    # a zero probe starts from all +1 (sign(0) = +1)
    Z = np.zeros((1, 1, 8))
    W, theta = weights_of(a.genome[:28], 8), a.genome[28:]
    np.testing.assert_array_equal(a.forward(Z), relax(W, theta, Z))
    np.testing.assert_array_equal(relax(W, theta, Z), relax(W, theta, np.ones((1, 1, 8))))


def test_decoded_weights_are_symmetric_with_a_zero_diagonal():
    from evornn.arch.hopfield import full_weights
    net = evornn.Network("hopfield", 9, 9, 9, seed=4)
    g = np.random.default_rng(0).normal(0, 1, net.n_params)
    W = full_weights(g[:36], 9)
    np.testing.assert_array_equal(W, W.T)
    np.testing.assert_array_equal(np.diag(W), np.zeros(9))
    np.testing.assert_array_equal(W, weights_of(g[:36], 9))
    assert [b.name for b in net.layout] == ["W", "theta"] and net.n_params == 36 + 9
    # the round trip through genome_from_weights
    np.testing.assert_array_equal(rules.genome_from_weights(net, W, g[36:]), g)


def test_energy_never_increases_under_async_binary_updates():
    rng = np.random.default_rng(5)
    for trial in range(40):
        N = int(rng.integers(3, 25))
        net = evornn.Network("hopfield", N, N, N, order_seed=trial)
        G = rng.normal(0, 1, (3, net.n_params))
        X = np.zeros((8, 12, N))
        X[:, 0] = rng.choice([-1.0, 1.0], (8, N))
        Y = evornn.population_forward(net, G, X)
        for p in range(3):
            E = rules.hopfield_energy(net, np.concatenate([X[:, :1], Y[p]], 1), genome=G[p])
            assert E.shape == (8, 13)
            assert np.all(np.diff(E, axis=1) <= 1e-9), (trial, p)
            # and it reaches a fixed point: the last sweeps repeat
            assert np.array_equal(Y[p, :, -1], Y[p, :, -2])


def test_continuous_async_lyapunov_function_never_increases():
    """For s_i = tanh(g h_i) updated one at a time, L(s) = E(s) + (1/g) sum_i G(s_i) with
    G(s) = integral_0^s artanh(v) dv = s artanh(s) + log(1 - s^2) / 2 does not increase."""
    rng = np.random.default_rng(6)
    for trial in range(20):
        N, gain = int(rng.integers(3, 15)), float(rng.uniform(0.3, 3.0))
        net = evornn.Network("hopfield", N, N, N, units="continuous", gain=gain, order_seed=trial)
        net.genome = rng.normal(0, 1, net.n_params)
        X = np.zeros((5, 10, N))
        X[:, 0] = rng.uniform(-0.9, 0.9, (5, N))
        Y = net.forward(X)
        Y = np.clip(Y, -1 + 1e-12, 1 - 1e-12)
        L = rules.hopfield_energy(net, Y) + (Y * np.arctanh(Y) + 0.5 * np.log1p(-Y * Y)).sum(-1) / gain
        assert np.all(np.diff(L, axis=1) <= 1e-9), trial


def test_energy_is_the_quadratic_form():
    rng = np.random.default_rng(7)
    W = rng.normal(0, 1, (5, 5))
    W = W + W.T
    np.fill_diagonal(W, 0)
    theta, S = rng.normal(0, 1, 5), rng.choice([-1.0, 1.0], (3, 4, 5))
    E = energy(W, theta, S)
    assert E.shape == (3, 4)
    s = S[2, 1]
    assert abs(E[2, 1] - (-0.5 * s @ W @ s + theta @ s)) < 1e-12


def corrupted(patterns, frac, rng):
    probes = patterns.copy()
    K, N = patterns.shape
    for k in range(K):
        probes[k, rng.choice(N, int(frac * N), replace=False)] *= -1
    return probes


@pytest.mark.parametrize("rule", ["hebb", "storkey", "pseudo_inverse"])
@pytest.mark.parametrize("update", ["async", "sync"])
def test_rules_recall_every_pattern_from_probes_with_10_percent_flipped(rule, update):
    rng = np.random.default_rng(11)
    N, K = 100, 5
    patterns = rng.choice([-1.0, 1.0], (K, N))
    net = evornn.Network("hopfield", N, N, N, update=update)
    net.genome = getattr(rules, rule)(net, patterns)
    for seed in range(3):
        probes = corrupted(patterns, 0.1, np.random.default_rng(seed))
        assert np.all((probes != patterns).sum(1) == 10)
        X = np.zeros((K, 8, N))
        X[:, 0] = probes
        Y = net.forward(X)
        np.testing.assert_array_equal(Y[:, -1], patterns)
    # the stored patterns themselves are fixed points
    X = np.zeros((K, 2, N))
    X[:, 0] = patterns
    np.testing.assert_array_equal(net.forward(X)[:, -1], patterns)
    W = rules.full_weights(net.genome[:N * (N - 1) // 2], N)
    np.testing.assert_array_equal(W, W.T)
    if rule == "hebb":
        want = patterns.T @ patterns / N
        np.fill_diagonal(want, 0)
        np.testing.assert_allclose(W, want, atol=1e-15)


def test_storkey_matches_its_definition_and_pseudo_inverse_projects():
    rng = np.random.default_rng(12)
    N = 12
    pats = rng.choice([-1.0, 1.0], (3, N))
    W = np.zeros((N, N))
    for xi in pats:                                   # the rule written entry by entry
        h = np.array([[sum(W[i, k] * xi[k] for k in range(N) if k not in (i, j))
                       for j in range(N)] for i in range(N)])
        new = W.copy()
        for i in range(N):
            for j in range(N):
                if i != j:
                    new[i, j] += (xi[i] * xi[j] - xi[i] * h[j, i] - h[i, j] * xi[j]) / N
        W = new
    net = evornn.Network("hopfield", N, N, N)
    got = rules.full_weights(rules.storkey(net, pats)[:N * (N - 1) // 2], N)
    np.testing.assert_allclose(got, W, atol=1e-12)
    P = rules.full_weights(rules.pseudo_inverse(net, pats)[:N * (N - 1) // 2], N)
    proj = pats.T @ np.linalg.inv(pats @ pats.T) @ pats
    np.fill_diagonal(proj, 0)
    np.testing.assert_allclose(P, proj, atol=1e-12)


def one_line(excinfo):
    assert "\n" not in str(excinfo.value)


@pytest.mark.parametrize("patterns,match", [
    (np.ones((2, 9)), r"patterns have length 9, the network has N=10 units"),
    (np.zeros((0, 10)), r"need at least one pattern \(K >= 1\), got K=0"),
    (np.full((2, 10), 0.5), r"patterns must be \+-1 only, got 0.5 at pattern 0, unit 0"),
    (np.ones(10), r"patterns must be a K x N array of \+-1, got 1 dimensions"),
    (np.array([["a"] * 10]), r"patterns must be a K x N array of \+-1"),
])
@pytest.mark.parametrize("rule", ["hebb", "storkey", "pseudo_inverse"])
def test_bad_patterns_are_one_line_errors(patterns, match, rule):
    net = evornn.Network("hopfield", 10, 10, 10)
    with pytest.raises(ValueError, match=match) as e:
        getattr(rules, rule)(net, patterns)
    one_line(e)


def test_bad_weights_and_networks_are_one_line_errors():
    net = evornn.Network("hopfield", 4, 4, 4)
    W = np.zeros((4, 4))
    def hop(n=5, **kw):
        return evornn.Network("hopfield", n, n, n, **kw)
    gw = rules.genome_from_weights
    cases = [
        (lambda: gw(net, np.zeros((4, 3))),
         r"W must be N x N = 4 x 4 \(the network's units\), got shape \(4, 3\)"),
        (lambda: gw(net, W + np.triu(np.ones((4, 4)), 1)),
         r"W must be symmetric, got W\[0, 1\]=1.0 and W\[1, 0\]=0.0"),
        (lambda: gw(net, W + np.eye(4)),
         r"W must have a zero diagonal \(the genome holds none\), got W\[0, 0\]=1.0"),
        (lambda: gw(net, W, np.ones(3)), r"theta must have N=4 values, got shape \(3,\)"),
        (lambda: rules.hebb(evornn.Network("elman", 4, 4, 4), np.ones((1, 4))),
         r"needs a one-layer hopfield network, got elman"),
        (lambda: evornn.Network("hopfield", 3, 5, 5),
         r"hopfield: n_in, n_hidden and n_out must all be N \(the units\), got n_in=3, n_hidden=5, n_out=5"),
        (lambda: hop(units="analog"), r"option units='analog' is not allowed"),
        (lambda: hop(gain=0.0), r"option gain=0.0 must be a positive number"),
        (lambda: hop(update="random"), r"option update='random' is not allowed"),
        (lambda: hop(order_seed=-1), r"option order_seed=-1 must be an integer in \[0, 2147483648\)"),
        (lambda: hop(readout="linear"), r"readout='linear' is not allowed"),
        (lambda: hop(1), r"hopfield: needs at least 2 units, got N=1"),
        (lambda: hop().to_torch(), r"binary units have no gradient"),
        (lambda: rules.hopfield_energy(net, np.ones(3)), r"states must be \[..., N=4\], got shape \(3,\)"),
    ]
    for make, match in cases:
        with pytest.raises(ValueError, match=match) as e:
            make()
        one_line(e)
