"""The seq2seq problems sort-seq and addition-seq, their shared encoding and free-running
decoding, and scheduled sampling."""
import numpy as np
import pytest

import evornn
from evornn.problem import get_problem
from evornn.problems import _seq2seq_tasks as tasks
from evornn.problems import addition_seq, sort_seq


def test_sort_seq_targets_are_the_sorted_sources():
    prob = get_problem("sort-seq")
    X, Z, W = prob.batch((3, 1))
    Y = np.where(W[..., 0] > 0, Z.argmax(-1), -1)
    for x, y in zip(X, Y):
        src = np.flatnonzero(x[:, 9] == 0)              # encoder steps (then padding)
        n = int((y >= 0).sum())
        a = x[:n, :8].argmax(-1)
        assert src[:n].tolist() == list(range(n)) and 5 <= n <= 20
        assert y[y >= 0].tolist() == sorted(a.tolist())


def test_addition_seq_targets_are_the_sums():
    assert addition_seq.show(addition_seq.target(addition_seq.parse("123+45="))) == "168$"
    assert addition_seq.show(addition_seq.target(addition_seq.parse("999+1"))) == "1000$"
    rng = np.random.default_rng(0)
    for n in range(1, 7):
        for _ in range(20):
            s = addition_seq.source(rng, n)
            a, b = "".join("+" if d == 10 else str(d) for d in s).split("+")
            assert max(len(a), len(b)) == n and not any(len(d) > 1 and d[0] == "0" for d in (a, b))
            assert addition_seq.show(addition_seq.target(s)) == str(int(a) + int(b)) + "$"
    X, Y = tasks.encode([addition_seq.parse("12+3")], [np.array([1, 5, 10])], 11)
    # encoder: 1, 2, '+', 3; decoder: start, then the digits 1 and 5 fed; flag on 3 steps
    assert np.argwhere(X[0]).tolist() == [[0, 1], [1, 2], [2, 10], [3, 3], [4, 11], [4, 12],
                                          [5, 1], [5, 12], [6, 5], [6, 12]]
    assert Y[0].tolist() == [-1, -1, -1, -1, 1, 5, 10]


@pytest.mark.parametrize("call,message", [
    (lambda: addition_seq.parse("12-3"), "addition-seq: a problem is two decimal numbers joined by "
                                         "'+', e.g. '123+45=', got '12-3'"),
    (lambda: tasks.encode([np.array([1, 8])], [np.array([1, 2])], 8, task="sort-seq"),
     "sort-seq: every source must be a non-empty sequence of symbols 0-7 (its alphabet), got [1, 8]"),
    (lambda: tasks.encode([np.array([1, 2])], [np.array([11])], 11, task="addition-seq"),
     "addition-seq: every target must be a non-empty sequence of symbols 0-10 (its alphabet), got [11]"),
    (lambda: sort_seq.make(vocab=1), "sort-seq: the alphabet needs at least 2 symbols, got vocab=1"),
    (lambda: sort_seq.make(train=(5, 4)), "sort-seq: lengths must be ranges (lo, hi) with 1 <= lo <= hi, "
                                          "got train=(5, 4), test=(5, 40)"),
])
def test_bad_input_is_one_line(call, message):
    with pytest.raises(ValueError) as e:
        call()
    assert str(e.value) == message


@pytest.fixture(scope="module")
def small():
    """A small network of addition-seq and a few problems of 1-3 digits."""
    prob = get_problem("addition-seq")
    net = prob.network(n_hidden=6, seed=2)
    rng = np.random.default_rng(5)
    sources = [addition_seq.source(rng, n) for n in (1, 2, 3, 3)]
    return prob, net, sources, [addition_seq.target(a) for a in sources]


def test_free_running_equals_teacher_forcing_on_its_own_predictions(small):
    """Free-running greedy decoding: fed its own previous argmax, each prediction is the argmax
    a teacher-forced pass gives when its predictions are taken for the targets (the oracle
    path: right predictions give the teacher-forced scores)."""
    prob, net, sources, targets = small
    steps = [len(r) for r in targets]
    pred = tasks.free_running(net, net.genome, sources, steps, 11)
    fed = [p[:k] for p, k in zip(pred, steps)]
    X, Y = tasks.encode(sources, fed, 11)
    tf = evornn.population_forward(net, net.genome[None], X.astype(np.float32))[0].argmax(-1)
    assert [tf[i][Y[i] >= 0].tolist() for i in range(len(sources))] == [p.tolist() for p in fed]

