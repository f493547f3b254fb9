"""The long-lag problem (Hochreiter and Schmidhuber 1997, experiment 2a): its two sequences,
its bad input, and a hand-set Elman memory that solves it."""
import numpy as np
import pytest

import evornn
from evornn.problems import long_lag


def test_sequences_one_hot_and_lengths():
    p = 100
    s = long_lag.sequences(p)
    assert s.shape == (2, p + 1)
    assert list(s[:, 0]) == [p, p - 1] and list(s[:, -1]) == [p, p - 1]    # y...y, x...x
    assert (s[0, 1:-1] == np.arange(p - 1)).all() and (s[1, 1:-1] == s[0, 1:-1]).all()
    X, Y, W = long_lag.episodes(p)
    assert X.shape == Y.shape == W.shape == (2, p, p + 1)
    assert (X.sum(-1) == 1).all() and (Y.sum(-1) == 1).all()
    assert (X[:, 1:] == Y[:, :-1]).all()                  # the target is the next input
    assert (Y[:, -1] == X[:, 0]).all()                    # the last symbol repeats the first
    assert W.sum() == pytest.approx(1.0) and W[:, -1].sum() == pytest.approx(0.5)


@pytest.mark.parametrize("p", [1, 0, 2.5, True])
def test_bad_p_is_one_line(p):
    with pytest.raises(ValueError, match=r"^long-lag: p must be an integer >= 2 \(the lag\), got"):
        long_lag.make(p=p)


def _memory(p: int, sign: float) -> tuple:
    """An Elman network set by hand: units 0..p flag the symbol read (+0.96, else -0.96), unit
    p + 1 latches the first symbol (x: +1, y: -1); the readout maps a_k to a_{k+1} and, on
    a_{p-1}, names the latched symbol (the other one for sign = -1)."""
    prob = long_lag.make(p=p)
    H, m, last, x, y = p + 2, p + 1, p - 2, p - 1, p
    net = evornn.Network("elman", p + 1, H, p + 1, readout="sigmoid")
    g = np.zeros(net.n_params)
    for b in net.layout:
        v = g[b.offset:b.offset + b.size].reshape(b.shape)
        if b.name == "W_ih":
            v[np.arange(p + 1), np.arange(p + 1)] = 4.0
            v[m, x], v[m, y] = 4.0, -4.0
        elif b.name == "W_hh":
            v[m, m] = 3.0
        elif b.name == "b":
            v[:p + 1] = -2.0
        elif b.name == "W_out":
            v[np.arange(1, p - 1), np.arange(0, p - 2)] = 10.0      # a_k -> a_{k+1}
            v[0, x] = v[0, y] = 5.0                                 # x or y -> a_1
            v[x, last], v[x, m] = 10.0, 10.0 * sign
            v[y, last], v[y, m] = 10.0, -10.0 * sign
        elif b.name == "b_out":
            v[0], v[x], v[y] = 5.0, -10.0, -10.0
    return prob, net, g


@pytest.mark.parametrize("p", [2, 100])
def test_hand_set_memory_solves_and_wrong_memory_does_not(p):
    prob, net, good = _memory(p, 1.0)
    _, _, bad = _memory(p, -1.0)
    ok, info = prob.solved(net, good, None)
    assert ok and info["final_right"] == 2
    ok, info = prob.solved(net, bad, None)
    assert not ok and info["final_right"] == 0 and info["other_right"] == 2 * (p - 1)
    f = prob.evaluate(net, np.stack([good, bad]), 0)
    # every output of the good network is within 0.01 of its target; the wrong one also gets
    # both final outputs wrong (error ~1 each): 1 / (p + 1) lower
    assert -1e-4 < f[0] < 0
    assert f[1] - f[0] == pytest.approx(-1.0 / (p + 1), rel=0.01)


def test_fitness_is_minus_the_weighted_squared_error_of_batch():
    prob = long_lag.make(p=5)
    net = prob.network(seed=3)
    X, Y, W = prob.batch(0)
    Yhat = evornn.population_forward(net, net.genome[None], X.astype(np.float32))[0]
    assert prob.evaluate(net, net.genome[None], 7)[0] == pytest.approx(
        -(((Yhat - Y) ** 2) * W).sum(), rel=1e-5)


def test_paper_success_first_and_kept():
    """The paper's success (both final predictions right) from each generation's count: when
    it first held and from when it held to the end, in training sequences."""
    from benchmarks.long_lag import paper_success
    assert paper_success([0, 1, 2, 1, 2, 2], 20) == {"first": 60, "kept": 100}
    assert paper_success([2, 2], 20) == {"first": 20, "kept": 20}
    assert paper_success([2, 1], 20) == {"first": 20, "kept": None}
    assert paper_success([1, 0, 1], 20) == {"first": None, "kept": None}


def test_traced_solved_logs_each_call(tmp_path):
    """The traced problem answers as the problem does and appends its final and other
    predictions right, one line a call."""
    import json

    from benchmarks.long_lag import traced
    prob = long_lag.make(p=3)
    net = prob.network()
    log = tmp_path / "trace.jsonl"
    t = traced(prob, log)
    rng = np.random.default_rng(0)
    want = []
    for _ in range(2):
        g = rng.normal(size=net.n_params)
        ok, info = prob.solved(net, g, None)
        assert t.solved(net, g, None) == (ok, info)
        want.append({"final_right": info["final_right"], "other_right": info["other_right"]})
    assert [json.loads(line) for line in log.read_text().splitlines()] == want
