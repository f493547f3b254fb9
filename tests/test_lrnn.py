"""The locally recurrent network (lrnn): its filters against closed forms, bad options."""
from __future__ import annotations

import numpy as np
import pytest

from evornn import Network


def test_one_synapse_is_the_iir_filter_it_encodes():
    """H = 1, I = 1, no readout: arctanh of the feature is the filter output."""
    net = Network("lrnn", 1, 1, 1, zeros=1, poles=1, readout="none")
    g = np.zeros(net.n_params)
    g[net.layout[0].offset:net.layout[0].offset + 2] = [0.3, 0.2]      # b_0, b_1
    g[net.layout[1].offset] = 0.5                                      # a_1
    net.genome = g
    x = np.zeros((1, 6, 1))
    x[0, 0, 0] = 1.0                                                   # an impulse
    h = np.arctanh(net.forward(x)[0, :, 0])
    # impulse response of (0.3 + 0.2 z^-1) / (1 - 0.5 z^-1): 0.3, 0.35, 0.175, ...
    want = [0.3, 0.35] + [0.35 * 0.5 ** k for k in range(1, 5)]
    np.testing.assert_allclose(h, want, atol=1e-12)


def test_pole_bounds_keep_the_filters_stable():
    """|a_k| <= 0.99 / na, so sum_k |a_k| < 1 for every genome inside the bounds."""
    net = Network("lrnn", 2, 3, 1, poles=4)
    lo, hi = net.bounds()
    A = net.layout[1]
    assert A.name == "A"
    np.testing.assert_array_equal(hi[A.offset:A.offset + A.size], 0.99 / 4)
    np.testing.assert_array_equal(lo[A.offset:A.offset + A.size], -0.99 / 4)


@pytest.mark.parametrize("opts,msg", [
    ({"zeros": -1}, r"lrnn: option zeros=-1 must be an integer in 0\.\.16"),
    ({"poles": 17}, "poles=.* must be an integer in 0..16"),
    ({"poles": 1.5}, "poles=.* must be an integer in 0..16"),
    ({"zeros": 0, "poles": 0}, "zeros = 0 with poles = 0 leaves the synapses no memory"),
    ({"output_filters": 1}, "output_filters=1 must be true or false"),
    ({"output_filters": True, "readout": "none"}, "readout must be linear, tanh or sigmoid"),
])
def test_bad_options_name_the_option_and_its_range(opts, msg):
    with pytest.raises(ValueError, match=msg) as e:
        Network("lrnn", 1, 2, 1, **opts)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("opts", [{"zeros": 2, "poles": 2}, {"zeros": 1, "poles": 3, "readout": "tanh"},
                                  {"zeros": 3, "poles": 0, "readout": "sigmoid"},
                                  {"output_filters": True}, {"output_filters": True, "zeros": 0,
                                                             "poles": 2, "readout": "tanh"}])
def test_crbp_gradient_summed_over_a_sequence_is_bptts(opts):
    torch = pytest.importorskip("torch")
    from evornn.bptt import weighted_loss
    from evornn.crbp import crbp_gradient
    net = Network("lrnn", 2, 3, 2, seed=1, **opts)
    net.genome = np.random.default_rng(3).uniform(-0.3, 0.3, net.n_params)
    rng = np.random.default_rng(4)
    X, Y = (torch.from_numpy(rng.uniform(-1, 1, (4, 12, k))) for k in (2, 2))
    W = torch.from_numpy(rng.uniform(0, 1, (4, 12, 2)))
    m = net.to_torch()
    loss = weighted_loss(m(X), Y, W)
    loss.backward()
    want = torch.cat([p.grad.reshape(-1) for p in m.parameters()])
    got_loss, got = crbp_gradient(m, X, Y, W)
    assert got_loss == pytest.approx(float(loss.detach()), abs=1e-12)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=1e-8)


def test_crbp_refuses_a_network_without_iir_synapses():
    from evornn.bptt import GradientTrainer
    from evornn.problem import get_problem
    prob = get_problem("parity")
    with pytest.raises(ValueError, match=r"--optimizer crbp trains a one-layer locally recurrent "
                                         r"network \(--arch lrnn\)"):
        GradientTrainer("crbp", prob, prob.network("elman", 3))
    with pytest.raises(ValueError, match="crbp needs no truncation window"):
        GradientTrainer("crbp", prob, prob.network("lrnn", 3), window=4)


def test_online_crbp_learns_the_iir_system():
    """One batch of online CRBP (an Adam step after every time step) cut the loss on a
    batch it has not seen at least fivefold."""
    torch = pytest.importorskip("torch")
    from evornn.bptt import GradientTrainer, weighted_loss
    from evornn.problem import get_problem
    prob = get_problem("iir-ident")
    tr = GradientTrainer("crbp", prob, prob.network(seed=0), seed=0, online=True, updates=1, lr=0.003)
    X, Y, W = (torch.from_numpy(a) for a in prob.batch((7, 0)))
    with torch.no_grad():
        before = float(weighted_loss(tr.module(X), Y, W))
    tr.tell(tr.ask(), 0.0)
    with torch.no_grad():
        after = float(weighted_loss(tr.module(X), Y, W))
    assert after < 0.2 * before
