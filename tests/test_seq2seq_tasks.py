"""The seq2seq problems sort-seq and addition-seq, their shared encoding and free-running
decoding, and scheduled sampling."""
import numpy as np
import pytest

import evornn
from evornn.problem import get_problem
from evornn.problems import _seq2seq_tasks as tasks
from evornn.problems import addition_seq, reverse_seq, sort_seq


def test_the_small_setting_evolves_by_default():
    from evornn.run import problem_optimizer
    prob = get_problem("reverse-seq-small")
    opt = problem_optimizer(prob, prob.network(seed=0), prob.optimizer, seed=0)
    assert type(opt).__name__.lower() == "snes" and prob.n_in == 6 and prob.n_out == 4


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


def test_lsb_order_reverses_operands_and_answer():
    """order="lsb": the same problems (same seed) with each operand and the answer least
    significant digit first; the end symbol stays last."""
    src = addition_seq.flip(addition_seq.parse("123+45="))
    assert src.tolist() == [3, 2, 1, 10, 5, 4]
    assert addition_seq.show(addition_seq.lsb_target(src)) == "861$"
    big = addition_seq.flip(addition_seq.parse("999+1"))
    assert addition_seq.show(addition_seq.lsb_target(big)) == "0001$"
    msb, lsb = addition_seq.make(batch=8), addition_seq.make(batch=8, order="lsb")
    (Xm, Zm, Wm), (Xl, Zl, Wl) = msb.batch((4, 2)), lsb.batch((4, 2))
    np.testing.assert_array_equal(Wm, Wl)
    for xm, xl, zm, zl, w in zip(Xm, Xl, Zm, Zl, Wm[..., 0] > 0):
        enc = xm[:, 12] == 0
        k = int(np.argmax(~enc))                          # the first decoder step
        sm, sl = xm[:k, :11].argmax(-1), xl[:k, :11].argmax(-1)
        np.testing.assert_array_equal(addition_seq.flip(sm), sl)
        am, al = zm[w].argmax(-1), zl[w].argmax(-1)
        assert al.tolist() == am[:-1][::-1].tolist() + [10]
        assert al.tolist() == addition_seq.lsb_target(sl).tolist()


@pytest.mark.parametrize("call,message", [
    (lambda: addition_seq.parse("12-3"), "addition-seq: a problem is two decimal numbers joined by "
                                         "'+', e.g. '123+45=', got '12-3'"),
    (lambda: tasks.encode([np.array([1, 8])], [np.array([1, 2])], 8, task="sort-seq"),
     "sort-seq: every source must be a non-empty sequence of symbols 0-7 (its alphabet), got [1, 8]"),
    (lambda: tasks.encode([np.array([1, 2])], [np.array([11])], 11, task="addition-seq"),
     "addition-seq: every target must be a non-empty sequence of symbols 0-10 (its alphabet), got [11]"),
    (lambda: addition_seq.make(order="reversed"), "addition-seq: order must be one of msb, lsb (the "
                                                  "digit order of operands and answer), got 'reversed'"),
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



def test_mixing_right_predictions_changes_nothing(small):
    """The oracle path: when every prediction is the target, scheduled sampling at any rate
    feeds the teacher's symbols, so the scores are the teacher-forced ones."""
    _, _, sources, targets = small
    X, Y = tasks.encode(sources, targets, 11)
    oracle = np.eye(11)[np.maximum(Y, 0)]                 # outputs whose argmax is the target
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(tasks.scheduled(X, lambda x: oracle, 1.0, 3, rng, 11), X)
    chosen = tasks.fed_steps(X, 11)
    assert chosen.sum() == sum(len(r) - 1 for r in targets)
    np.testing.assert_array_equal(tasks.mix(X, chosen, np.maximum(Y, 0), 11), X)


def test_sampling_rate_zero_is_teacher_forcing_bit_for_bit():
    """A sampling problem whose coins never come up scores each genome on its own, exactly as
    the teacher-forced problem scores the population; rate 0 leaves the inputs as they are."""
    plain, sampled = sort_seq.make(batch=6), sort_seq.make(batch=6, sampling=1e-12)
    assert plain.resample is None and sampled.resample is not None
    net = plain.network(n_hidden=6, seed=1)
    G = net.genome + 0.2 * np.random.default_rng(0).standard_normal((3, net.n_params))
    np.testing.assert_array_equal(sampled.evaluate(net, G, (1, 2)), plain.evaluate(net, G, (1, 2)))
    X = plain.batch((1, 2))[0]
    assert tasks.scheduled(X, None, 0.0, 1, np.random.default_rng(0), 8) is X
    assert tasks.sampling_rate(0.5, 4, (0, 1)) == 0.25 and tasks.sampling_rate(0.5, 4, (0, 9, 2)) == 0.5


def test_sampling_rate_one_is_free_running(small):
    """p = 1 with as many passes as the longest target: the scored inputs are free-running
    decoding's, and so are the outputs' argmaxes (Duckworth et al.'s passes converge to it)."""
    _, net, sources, targets = small
    steps = [len(r) for r in targets]
    X, Y = tasks.encode(sources, targets, 11)
    fwd = lambda x: evornn.population_forward(net, net.genome[None], x.astype(np.float32))[0]  # noqa: E731
    Xs = tasks.scheduled(X, fwd, 1.0, max(steps), np.random.default_rng(0), 11)
    pred = tasks.free_running(net, net.genome, sources, steps, 11)
    Xf, _ = tasks.encode(sources, [p[:k] for p, k in zip(pred, steps)], 11)
    np.testing.assert_array_equal(Xs, Xf)
    got = fwd(Xs).argmax(-1)
    assert [got[i][Y[i] >= 0].tolist() for i in range(len(sources))] == \
        [p[:k].tolist() for p, k in zip(pred, steps)]
    one = tasks.scheduled(X, fwd, 1.0, 1, np.random.default_rng(0), 11)   # one pass: the first fed step only
    assert [int(one[i, len(a) + 1, :11].argmax()) for i, a in enumerate(sources)] == pred[:, 0].tolist()


def test_bptt_trains_on_the_sampled_inputs():
    """The trainer's loss on a batch is minus the sampling problem's fitness on that seed
    (both score the network on inputs mixed with its own predictions), not the teacher-forced."""
    pytest.importorskip("torch")
    from evornn.bptt import GradientTrainer
    prob = reverse_seq.make(batch=4, train=(3, 5), sampling=0.5, passes=2)
    net = prob.network(n_hidden=6, seed=3)
    trainer = GradientTrainer("bptt", prob, net, seed=0, dtype="float64")
    seed = (0, 0, 0)
    loss = trainer._update(*prob.batch(seed), seed=seed)
    np.testing.assert_allclose(-loss, prob.evaluate(net, net.genome[None], seed)[0], rtol=1e-5)
    plain = reverse_seq.make(batch=4, train=(3, 5))
    assert abs(loss + plain.evaluate(net, net.genome[None], seed)[0]) > 1e-4
    with pytest.raises(ValueError, match="reverse-seq: sampling must be in"):
        reverse_seq.make(sampling=1.5)
