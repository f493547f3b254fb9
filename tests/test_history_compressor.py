"""history_compressor (Schmidhuber 1992): the chunker steps only at the automatizer's
surprises, reads time stamps, keeps its state bit for bit otherwise; the head learns by the
auxiliary loss; bad options are one-line errors."""
import numpy as np
import pytest

import evornn
from tests.test_reference import check_against_reference

NAME = "history_compressor"


def _set(net, **blocks):
    g = np.zeros(net.n_params)
    for b in net.layout:
        if b.name in blocks:
            g[b.offset:b.offset + b.size] = np.broadcast_to(blocks[b.name], b.shape).ravel()
    net.genome = g


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_chunker_steps_at_surprises_only_and_reads_the_time_since_its_last_step(dtype):
    """A head that always predicts 0: an input is a surprise where some channel exceeds the
    threshold (0.5), and at the first step. The chunker then reads only its stamp,
    h2 = tanh(C_t stamps k) with k the steps since its last step; otherwise h2 is kept."""
    net = evornn.Network(NAME, 2, 4, 4, readout="none", stamps=0.25, seed=0)   # units 2 + 2
    _set(net, A_ih=0.3, C_t=np.array([1.0, -0.5]))
    X = np.zeros((1, 12, 2), dtype)
    for t, v in ((3, 0.9), (4, -0.6), (9, 0.7)):
        X[0, t, t % 2] = v
    X[0, 6, 0] = 0.4                                  # below the threshold: no surprise
    h2 = net.forward(X)[0, :, 2:]
    steps = [0, 3, 4, 9]
    since = {0: 0, 3: 3, 4: 1, 9: 5}
    for t in range(12):
        last = max(s for s in steps if s <= t)
        np.testing.assert_allclose(h2[t], np.tanh(np.array([1.0, -0.5]) * 0.25 * since[last]),
                                   rtol=0, atol=1e-6)
        if t not in steps:
            assert np.array_equal(h2[t], h2[t - 1]), t


def test_predicting_its_outputs_matches_the_reference():
    """predict='output' (n_out = n_in): the surprise compares each input with the outputs of
    the step before."""
    for seed in (0, 1):
        check_against_reference(NAME, {"predict": "output", "threshold": 1.0, "collapse": True,
                                       "readout": "sigmoid"}, seed, n_in=3, n_out=3)


def test_the_state_carries_prediction_counter_and_start():
    """Stepping one input at a time, and a reset, give what one whole pass gives."""
    net = evornn.Network(NAME, 3, 5, 2, threshold=1.0, stamps=0.3, seed=2)
    net.genome = np.random.default_rng(1).normal(0, 0.8, net.n_params)
    X = np.random.default_rng(2).uniform(-1.5, 1.5, (15, 3))
    want = net.forward(X)
    for _ in range(2):
        net.reset()
        got = np.array([net.step(x) for x in X])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_the_auxiliary_loss_is_the_heads_squared_error():
    torch = pytest.importorskip("torch")
    net = evornn.Network(NAME, 3, 6, 2, collapse=True, threshold=1.0, seed=3)
    net.genome = np.random.default_rng(4).normal(0, 0.7, net.n_params)
    X = np.random.default_rng(5).uniform(-1, 1, (2, 7, 3))
    layer = net.to_torch().layers[0]
    with torch.no_grad():
        h = layer.features(torch.from_numpy(X)).numpy()
    P_w, P_b = net.block("P_w"), net.block("P_b")            # [3 + 3, 3]: input, then chunker
    q = h[..., :3] @ P_w.T + P_b
    want = ((q[:, :-1, :3] - X[:, 1:]) ** 2).mean() + ((q[..., 3:] - h[..., 3:]) ** 2).mean()
    assert abs(float(layer.aux_loss) - want) < 1e-12
    out = evornn.Network(NAME, 3, 6, 3, predict="output").to_torch().layers[0]
    with torch.no_grad():
        out.features(torch.from_numpy(X))
    assert out.aux_loss is None


def test_a_sigmoid_head_squashes_the_prediction_in_every_form():
    """head_activation='sigmoid': kernels, twin (forward and auxiliary loss) and the head's
    prediction agree, and the surprises are those of sigmoid(P_w h1 + P_b)."""
    torch = pytest.importorskip("torch")
    net = evornn.Network(NAME, 3, 6, 2, head_activation="sigmoid", threshold=0.9, seed=3)
    net.genome = np.random.default_rng(4).normal(0, 0.9, net.n_params)
    X = np.random.default_rng(5).uniform(-1.5, 1.5, (2, 9, 3))
    layer = net.to_torch().layers[0]
    with torch.no_grad():
        h = layer.features(torch.from_numpy(X)).numpy()
        y = net.to_torch()(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(y, net.forward(X), rtol=0, atol=1e-12)
    q = 1 / (1 + np.exp(-(h[..., :3] @ net.block("P_w").T + net.block("P_b"))))
    assert abs(float(layer.aux_loss) - ((q[:, :-1] - X[:, 1:]) ** 2).mean()) < 1e-12
    sur = surprises(net, X, 0.9)
    assert 0 < sur[:, 1:].sum() < sur[:, 1:].size          # the chunker both steps and waits
    hk = evornn.Network(NAME, 3, 6, 6, readout="none", head_activation="sigmoid", threshold=0.9)
    hk.genome = net.genome[:hk.n_params]
    h2 = hk.forward(X)[..., 3:]
    assert all(np.array_equal(h2[b, t], h2[b, t - 1]) for b, t in zip(*np.nonzero(~sur)))


def surprises(net, X, threshold=0.5):
    """[B, T]: where the chunker steps (the head's prediction of each input missed it)."""
    feats = evornn.Network(NAME, net.n_in, net.n_hidden, net.n_hidden, readout="none",
                           **{k: v for k, v in net.layers[0].opts.items() if k != "readout"})
    feats.genome = net.genome[:feats.n_params]            # the readout's blocks come last
    h, I = feats.forward(X), X.shape[2]
    n1 = net.block("A_hh").shape[0]
    pred = h[..., :n1] @ net.block("P_w")[:I].T + net.block("P_b")[:I]
    if net.layers[0].opts["head_activation"] == "sigmoid":
        pred = 1 / (1 + np.exp(-pred))
    sur = np.ones(X.shape[:2], bool)
    sur[:, 1:] = (np.abs(X[:, 1:] - pred[:, :-1]) > threshold).any(-1)
    return sur


def test_bptt_learns_a_lag_and_the_chunker_then_steps_once():
    """long-lag with p = 20 by BPTT (an automatizer of 20 units, a chunker of 4): the
    automatizer comes to predict every input after the first, so the chunker steps once a
    sequence and holds x or y to the end, and the lag is solved."""
    pytest.importorskip("torch")
    from evornn.bptt import GradientTrainer
    from evornn.problems import long_lag
    prob = long_lag.make(p=20)
    net = evornn.Network(NAME, 21, 24, 21, readout="sigmoid", sizes=(20, 4), seed=0)
    tr = GradientTrainer("bptt", prob, net, seed=0, lr=0.01, dtype="float32")
    for gen in range(40):
        g = tr.ask()
        tr.tell(g, prob.evaluate(net, g, 0))
        net.genome = g[0]
        if prob.solved(net, g[0], None)[0]:
            break
    assert prob.solved(net, net.genome, None)[0] and gen < 30, gen
    assert surprises(net, long_lag.episodes(20)[0]).sum(1).tolist() == [1, 1]


@pytest.mark.parametrize("kw,I,H,O,message", [
    ({"levels": 3}, 3, 6, 2, f"{NAME}: option levels=3 must be 2 (an automatizer and a chunker): "
                             "deeper stacks of chunkers are not implemented"),
    ({"sizes": (3, 2)}, 3, 6, 2, f"{NAME}: option sizes=(3, 2) has 5 units in all but n_hidden=6; "
                                 "n_hidden is the total of the levels' sizes (--hidden 5)"),
    ({"sizes": (6,)}, 3, 6, 2, f"{NAME}: option sizes=(6,) must be None or two integers >= 1 "
                               "(automatizer, chunker)"),
    ({}, 3, 1, 2, f"{NAME}: n_hidden=1 cannot hold two levels; it needs at least 2 units (one for "
                  "the automatizer, one for the chunker)"),
    ({"predict": "output"}, 3, 6, 2, f"{NAME}: predict='output' takes the outputs as the "
                                     "prediction of the next input, so n_out must equal n_in; "
                                     "got n_in=3, n_out=2"),
    ({"predict": "input"}, 3, 6, 2, f"{NAME}: option predict='input' is not allowed; choose one "
                                    "of 'head', 'output'"),
    ({"predict": "output", "head_activation": "sigmoid"}, 3, 6, 3,
     f"{NAME}: head_activation='sigmoid' squashes the head, which predict='output' does not "
     "have; use predict='head' or head_activation='linear'"),
    ({"head_activation": "tanh"}, 3, 6, 2, f"{NAME}: option head_activation='tanh' is not "
                                           "allowed; choose one of 'linear', 'sigmoid'"),
    ({"threshold": -1}, 3, 6, 2, f"{NAME}: option threshold=-1 must be a non-negative number"),
])
def test_bad_options_are_one_line_errors(kw, I, H, O, message):
    with pytest.raises(ValueError) as e:
        evornn.Network(NAME, I, H, O, **kw)
    assert str(e.value) == message
