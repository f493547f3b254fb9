"""lsm: leaky integrate-and-fire dynamics against their analytic form, the liquid drawn from the
seed, option errors and the spike-templates problem solved by a ridge readout."""
import math

import numpy as np
import pytest

import evornn
from evornn.arch import lsm
from evornn.problems import spike_templates as st


def spike_steps(net, T):
    """Steps at which each neuron of a no-input network spikes over T steps: [H] arrays."""
    H = net.n_hidden[0] if isinstance(net.n_hidden, list) else net.n_hidden
    r = net.forward(np.zeros((1, T, net.n_in)))[0]
    fdecay = math.exp(-net.layers[0].opts["dt"] / net.layers[0].opts["tau_filter"])
    s = r - fdecay * np.vstack([np.zeros((1, H)), r[:-1]])   # the trace's increments
    assert np.all((np.abs(s) < 1e-9) | (np.abs(s - 1) < 1e-9))
    return [np.flatnonzero(s[:, j] > 0.5) for j in range(H)]


def lif(H=1, **opts):
    return evornn.Network("lsm", 1, H, H, seed=0, readout="none", **opts)


@pytest.mark.parametrize("background,reset", [(20.0, 13.5), (17.0, 10.0)])
def test_constant_current_spikes_at_the_analytic_lif_rate(background, reset):
    """A neuron driven by a constant current (the background E above threshold) fires at
    1 / (t_ref + tau_m ln((E - reset) / (E - threshold))); the step rounds each interval up
    to a whole step, so the error shrinks with dt."""
    period = 3.0 + 30.0 * math.log((background - reset) / (background - 15.0))
    for dt, tol in ((1.0, 1.0), (0.01, 0.01)):
        net = lif(background=background, reset=reset, dt=dt)
        spikes = spike_steps(net, int(round(500.0 / dt)))[0]
        isi = np.diff(spikes) * dt
        assert len(isi) >= 10 and np.all(isi >= period - 1e-9) and np.all(isi <= period + tol)
    assert abs(1000.0 / isi.mean() - 1000.0 / period) < 0.2     # Hz, at dt = 0.01 ms


def test_refractory_period_and_reset():
    """Driven far above threshold, each neuron spikes once per refractory period + one step
    (3 ms excitatory, 2 ms inhibitory at dt 1 ms); right after a spike the membrane sits at the
    reset and stays there while refractory."""
    net = lif(H=10, background=1000.0, weight_scale=0.0)
    _, _, ref = lsm.liquid(net.layers[0])
    assert sorted(ref) == [2.0] * 2 + [3.0] * 8                     # 20% inhibitory
    for j, steps in enumerate(spike_steps(net, 40)):
        np.testing.assert_array_equal(np.diff(steps), ref[j] + 1)
    net = lif(background=14.0, reset=12.0, input_scaling=10.0)       # one input spike fires it
    net.reset()
    for t, x in enumerate([1.0, 0.0, 0.0, 0.0, 0.0]):
        net.step(np.array([x]))
        v = net._state[0][0] + 14.0                                   # state: v above E first
        assert v == pytest.approx(12.0 if t <= 3 else 14.0 + (12.0 - 14.0) * math.exp(-1 / 30))


def test_dale_law_and_wiring():
    """Excitatory neurons' outgoing weights are positive, inhibitory ones' negative; the
    distance wiring connects near neurons more often than far ones; no self-connections."""
    net = evornn.Network("lsm", 4, 135, 2, seed=3)
    W, W_in, ref = lsm.liquid(net.layers[0])
    inh = ref == 2.0
    assert inh.sum() == 27 and np.all(W_in >= 0) and np.all(W_in.any(0))
    assert np.all(W[:, ~inh] >= 0) and np.all(W[:, inh] <= 0) and np.all(np.diag(W) == 0)
    pos = lsm.grid(135)
    D = np.sqrt(((pos[:, None] - pos[None]) ** 2).sum(-1))
    near, far = (D > 0) & (D <= 1), D >= 5
    assert (W[near] != 0).mean() > 0.1 > 20 * (W[far] != 0).mean()
    W_u, _, _ = lsm.liquid(evornn.Network("lsm", 4, 135, 2, seed=3, wiring="uniform",
                                          density=0.2).layers[0])
    assert abs((W_u != 0).sum() / (135 * 134) - 0.2) < 0.01


def test_the_liquid_is_fixed_by_the_seed():
    """Two networks with the same seed have the same liquid and the same spike rasters for the
    same inputs; another seed draws another liquid."""
    X = st.draw(4, np.random.default_rng(0))[0]
    rasters = [evornn.Network("lsm", 4, 40, 40, seed=s, readout="none").forward(X) for s in (7, 7, 8)]
    np.testing.assert_array_equal(rasters[0], rasters[1])
    assert rasters[0].max() > 1.0 and not np.array_equal(rasters[0], rasters[2])


@pytest.mark.parametrize("kw,message", [
    ({"tau_m": 0}, "lsm: option tau_m=0 must be a positive number"),
    ({"refractory": (3.0, -1.0)}, "lsm: option refractory=(3.0, -1.0) must be two numbers >= 0 "
                                  "(excitatory, inhibitory ms)"),
    ({"refractory": 3.0}, "lsm: option refractory=3.0 must be two numbers >= 0 (excitatory, "
                          "inhibitory ms)"),
    ({"inhibitory": 1.5}, "lsm: option inhibitory=1.5 must be in [0.0, 1.0]"),
    ({"wiring": "random"}, "lsm: option wiring='random' is not allowed; choose one of "
                           "'distance', 'uniform'"),
    ({"density": 0}, "lsm: option density=0 must be in (0.0, 1.0]"),
    ({"threshold": float("nan")}, "lsm: option threshold=nan must be a finite number"),
    ({"reset": 16.0}, "lsm: option reset=16.0 must be below the threshold (15.0 mV)"),
])
def test_bad_options_are_one_line_errors(kw, message):
    with pytest.raises(ValueError) as e:
        evornn.Network("lsm", 2, 4, 2, **kw)
    assert str(e.value) == message


def test_spike_templates_bad_options():
    with pytest.raises(ValueError, match=r"^spike-templates: window must be an integer in "
                                         r"1\.\.duration \(200\), got 300$"):
        st.make(window=300)
    with pytest.raises(ValueError, match=r"^spike-templates: jitter must be a number of ms >= 0"):
        st.make(jitter=-1)
    with pytest.raises(ValueError, match="spike-templates needs 4 outputs"):
        st.PROBLEM.evaluate(evornn.Network("lsm", 4, 10, 3), np.zeros((1, 43)), 0)


def test_jitter_moves_each_spike_by_its_standard_deviation():
    """A one-spike template at 100 ms, presented 4,000 times with 4 ms jitter: the spike times
    spread by sqrt(4^2 + 1/12) ms (the Gaussian, rounded to the 1 ms step) around 100."""
    S = np.zeros((1, 200, 1))
    S[0, 100, 0] = 1.0
    X = st.present(S, np.zeros(4000, int), 4.0, np.random.default_rng(0))
    t = np.nonzero(X[:, :, 0])[1]
    assert len(t) == 4000 and abs(t.mean() - 100) < 0.2
    assert abs(t.std() - math.sqrt(16 + 1 / 12)) < 0.15


def test_ridge_readout_solves_spike_templates_at_low_jitter():
    prob = st.make(jitter=2.0)
    net = prob.network(seed=0)
    g = st.ridge_readout(net, n_train=200, jitter=2.0)
    ok, info = prob.solved(net, g, 0.0)
    assert ok and info["test_accuracy"] >= 0.95
    assert prob.evaluate(net, g[None], 0)[0] > prob.evaluate(net, np.zeros((1, len(g))), 0)[0]
