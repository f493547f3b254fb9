"""The memory tasks: reverse / copy-long (sequence transduction) and dyck2, their data and scores."""
import json

import numpy as np
import pytest

from evornn.problem import get_problem
from evornn.problems import _transduction as tr
from evornn.problems import dyck2


@pytest.mark.parametrize("reverse", [True, False])
def test_transduction_sequences_follow_the_protocol(reverse):
    X, Y, ns = tr.generate(50, (3, 9), 5, reverse, np.random.default_rng(0))
    assert X.shape == (50, 2 * ns.max() + 2, 7) and ns.min() >= 3 and ns.max() <= 9
    for i, n in enumerate(ns):
        sym = X[i].argmax(axis=1)
        assert sym[0] == 5 and sym[n + 1] == 6                    # start, separator
        assert X[i, n + 2:].sum() == 0                             # no input while answering
        a = sym[1:n + 1]
        assert np.array_equal(Y[i, n + 2:2 * n + 2], a[::-1] if reverse else a)
        assert np.all(Y[i, :n + 2] == -1) and np.all(Y[i, 2 * n + 2:] == -1)


def test_transduction_accuracy_and_weights():
    X, Y, _ = tr.generate(20, (4, 6), 4, True, np.random.default_rng(1))
    Z, M = tr.one_hot(Y, 4)
    assert tr.accuracy(Z, Y) == (1.0, 1.0)
    wrong = Z.copy()
    i, t = 3, int(np.flatnonzero(M[3])[0])
    wrong[i, t] = np.roll(wrong[i, t], 1)                         # one symbol wrong
    coarse, fine = tr.accuracy(wrong, Y)
    assert coarse == pytest.approx(19 / 20) and fine == pytest.approx(1 - 1 / M.sum())
    W = tr.weights(M, 4)
    assert W.sum() == pytest.approx(1.0) and np.all(W.sum(axis=(1, 2)) == pytest.approx(1 / 20))
    # a perfect answer has fitness 0, a blank one minus the mean of the targets' squares
    assert tr.fitness(Z[None], Z, W)[0] == 0.0
    assert tr.fitness(np.zeros_like(Z)[None], Z, W)[0] == pytest.approx(-1 / 4)


@pytest.mark.parametrize("name,memory,longest", [("reverse", "stack", 128), ("copy-long", "queue", 128),
                                                 ("reverse-short", "stack", 32)])
def test_transduction_problems_size_the_memory_for_their_test_sequences(name, memory, longest):
    prob = get_problem(name)
    net = prob.network(n_hidden=4)
    assert net.layers[0].opts["memory"] == memory
    assert net.layers[0].opts["capacity"] == 2 * longest + 2
    ok, info = prob.solved(net, net.genome, 0.0)
    assert not ok and info["test_coarse_accuracy"] == 0.0 and 0.0 <= info["test_fine_accuracy"] < 0.5


def test_copy_long_network_options_leave_copy_short_as_it_was():
    long, short = get_problem("copy-long"), get_problem("copy-short")
    assert long.arch_options == {"memory": "queue", "capacity": 258, "readout": "sigmoid",
                                 "controller": "dense", "noise": 1.0}
    assert long.optimizer_options == {"dtype": "float32", "lr": 0.01}
    assert short.arch_options == {"memory": "queue", "capacity": 66, "readout": "sigmoid"}
    assert short.optimizer_options == {"dtype": "float32", "lr": 0.003}
    assert long.network(n_hidden=4).layers[0].opts["controller"] == "dense"


def test_transduction_options_are_checked():
    with pytest.raises(ValueError, match=r"reverse: lengths must be ranges \(lo, hi\) with 1 <= lo "
                                         r"<= hi and vocab >= 2, got train=\(9, 8\)"):
        tr.make("reverse", True, train=(9, 8))


def test_dyck2_targets_name_the_closing_bracket_or_the_end():
    s = [dyck2.SYMBOLS.index(c) for c in "([])[]"]
    np.testing.assert_array_equal(dyck2.targets(s), [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1],
                                                     [0, 1, 0], [0, 0, 1]])


@pytest.mark.parametrize("D", [1, 3, 12])
def test_dyck2_strings_have_the_depth_asked_for(D):
    rng = np.random.default_rng(D)
    for _ in range(100):
        s = dyck2.deep(D, rng)
        depth = np.cumsum([1 if c in dyck2.OPEN else -1 for c in s])
        assert depth.min() >= 0 and depth[-1] == 0 and depth.max() == D and len(s) <= 10 * D


def test_dyck2_deepest_and_solved():
    depths = np.repeat(np.arange(1, 6), 2)
    right = np.ones(10, bool)
    assert dyck2.deepest(right, depths) == 5
    right[7] = False                                  # a string of depth 4
    assert dyck2.deepest(right, depths) == 3
    prob = get_problem("dyck2")
    net = prob.network()
    assert net.layers[0].opts["capacity"] == 160
    ok, info = prob.solved(net, net.genome, 0.0)
    assert not ok and info["deepest"] == 0 and info["test_depth"] == 16
    with pytest.raises(ValueError, match=r"dyck2: depths must satisfy .* got 4, 16 and 17"):
        dyck2.make(solve_depth=17)


def test_dyck2_can_ask_for_depths_beyond_those_it_trains_on(monkeypatch):
    """solve_depth: a run that stops only once the network predicts deeper strings than it
    saw; a network right up to depth 6 solves it at 6, not at 7."""
    monkeypatch.setattr(dyck2, "strings_right", lambda Yhat, Y, M: np.repeat(np.arange(1, 17), 10) <= 6)
    for solve_depth, ok in ((4, True), (6, True), (7, False)):
        prob = dyck2.make(solve_depth=solve_depth)
        net = prob.network()
        assert prob.solved(net, net.genome, 0.0) == (ok, {
            "deepest": 6, "test_accuracy": 6 / 16, "train_depth": 4, "test_depth": 16,
            "sequences_per_evaluation": 32})


def test_a_memory_task_trains_by_bptt_on_its_defaults(tmp_path):
    """The defaults are what solves these tasks (docs/problems.md): BPTT on float32 twins at
    lr 0.003; 20 generations take reverse-short from -0.23 to the all-1/8 plateau (-0.109)."""
    from evornn import cli
    assert cli.main(["run", "reverse-short", "--generations", "20", "--seed", "1", "--quiet",
                     "--out", str(tmp_path)]) == 1
    (d,) = tmp_path.iterdir()
    config = json.loads((d / "config.json").read_text())
    assert config["optimizer"] == "bptt" and config["arch"] == "stack_rnn"
    best = [float(r.split(",")[-2]) for r in (d / "metrics.csv").read_text().splitlines()[1:]]
    assert len(best) == 20 and best[0] < -0.2 and -0.1095 < best[-1] < -0.109
