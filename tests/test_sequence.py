"""Sequence problems: adding, parity, embedded Reber grammar, a^n b^n c^n."""
from pathlib import Path

import numpy as np
import pytest

import evornn
from evornn.problems import adding, anbncn, parity, reber
from evornn.run import RunConfig, start


def test_adding_sequences_follow_the_paper_and_targets_add_the_marked_values():
    T, n = 50, 500
    X, lengths, target = adding.generate(T, n, np.random.default_rng(3))
    assert X.shape == (n, 55, 2) and lengths.min() >= 50 and lengths.max() <= 55
    assert len(np.unique(lengths)) > 3
    for i in range(n):
        L = lengths[i]
        marks = np.flatnonzero(X[i, :, 1] == 1)
        assert len(marks) == 2 and marks[0] < 10 and marks[1] < T // 2   # one in the first 10
        others = np.setdiff1d(np.arange(L), marks)
        assert X[i, L - 1, 1] == -1 and set(X[i, others, 1]) <= {0.0, -1.0}
        assert (X[i, 0, 1] == -1) != (marks[0] == 0)
        assert np.all(X[i, L:] == 0) and np.all(np.abs(X[i, :L, 0]) <= 1)
        assert marks[0] != 0 or X[i, 0, 0] == 0                          # a marked first step is 0
        assert target[i] == pytest.approx(0.5 + X[i, marks, 0].sum() / 4, abs=1e-15)
    assert np.std(target) == pytest.approx(np.sqrt(2 / 3) / 4, rel=0.1)


def hand_built_adder():
    """One LSTM cell that adds the marked values: input gate open only on marker 1."""
    net = evornn.Network("lstm", 2, 1, 1)
    W_ih = [[0, 20], [0, 0], [0.2, 0], [0, 0]]          # gates i, f, g, o
    b = [-10, 20, 0, 20]                                 # f and o always open
    return net, np.concatenate([np.ravel(W_ih), [0, 0, 0, 0], b, [1.25, 0.5]])


def test_adding_a_hand_built_adder_is_solved_and_a_random_network_is_not():
    prob = adding.make(50)
    net, good = hand_built_adder()
    rng = np.random.default_rng(0)
    G = np.vstack([good, np.zeros_like(good), rng.standard_normal((3, len(good)))])
    f = prob.evaluate(net, G, (0, 0))
    assert f[0] > -1e-4 and f[0] == f.max() and f[1:].max() < -0.03
    ok, info = prob.solved(net, good, f[0])
    assert ok and info["test_accuracy"] == 1.0 and info["sequences_per_evaluation"] == 100
    assert not prob.solved(net, G[2], f[2])[0]
    y = np.vstack([np.full(5, 0.5), np.linspace(0, 1, 5)])
    t = np.full(5, 0.5)
    np.testing.assert_allclose(adding.fitness(y, t), [0.0, -0.125])


def test_parity_targets_are_the_running_xor():
    X, target = parity.generate(12, 200, np.random.default_rng(1))
    for i in range(200):
        p = 0
        for t in range(12):
            p ^= int(X[i, t, 0])
            assert target[i, t] == p
    assert set(np.unique(X)) == {0.0, 1.0}
    perfect = np.where(target == 1, 0.9, 0.1)[None]
    wrong = perfect.copy()
    wrong[0, 5, 11] = 1 - wrong[0, 5, 11]
    both = np.concatenate([perfect, wrong, np.full_like(perfect, 0.5)])
    f = parity.fitness(both, target)
    assert f[0] == pytest.approx(-0.01) and f[0] > f[1] > f[2] == -0.25
    right = parity.sequences_right(both, target)
    assert right[0].all() and right[1].sum() == 199 and not right[1, 5] and not right[2].any()


# the Reber graph written out again from the figure, as strings: node -> {symbol: next node}
GRAPH = {"1": {"T": "2", "P": "3"}, "2": {"S": "2", "X": "4"}, "3": {"T": "3", "V": "5"},
         "4": {"X": "3", "S": "6"}, "5": {"P": "4", "V": "6"}, "6": {"E": "end"}}


def reber_prefix(s: str) -> bool:
    """Is s a prefix of some Reber string?"""
    if not s:
        return True
    if s[0] != "B":
        return False
    node = "1"
    for c in s[1:]:
        if node == "end" or c not in GRAPH[node]:
            return False
        node = GRAPH[node][c]
    return True


def embedded_prefix(s: str) -> bool:
    """Is s a prefix of some embedded Reber string B (T|P) reber (same) E?"""
    if len(s) < 2:
        return s in ("", "B")
    if s[0] != "B" or s[1] not in "TP":
        return False
    rest = s[2:]
    end = rest.find("E")                                 # the inner string's only E
    if end < 0:
        return reber_prefix(rest)
    return reber_prefix(rest[:end + 1]) and (s[1] + "E").startswith(rest[end + 1:])


@pytest.mark.parametrize("embedded", [True, False])
def test_reber_strings_are_in_the_grammar_and_targets_are_the_legal_next_symbols(embedded):
    rng = np.random.default_rng(7)
    strings = reber.embedded_strings(300, rng) if embedded else reber.reber_strings(300, rng)
    ok = embedded_prefix if embedded else reber_prefix
    X, Y, M = reber.encode(strings, embedded)
    for i, sym in enumerate(strings):
        s = "".join(reber.SYMBOLS[k] for k in sym)
        assert ok(s) and s.endswith("E") and (s.count("E") == (2 if embedded else 1))
        assert M[i].sum() == len(s) - 1 and not M[i, len(s) - 1:].any()
        for t in range(len(s) - 1):
            assert reber.SYMBOLS[X[i, t].argmax()] == s[t] and X[i, t].sum() == 1
            legal = {c for c in reber.SYMBOLS if ok(s[:t + 1] + c)}
            assert {reber.SYMBOLS[k] for k in np.flatnonzero(Y[i, t])} == legal
    if embedded:
        # the step after the inner E has exactly one legal symbol: the second one
        lengths = M.sum(axis=1)
        recall = Y[np.arange(len(strings)), lengths - 2]
        assert all(recall[i, s[1]] == 1 and recall[i].sum() == 1 for i, s in enumerate(strings))


def test_reber_fitness_and_the_025_criterion():
    X, Y, M = reber.draw(40, np.random.default_rng(2), True)
    perfect = np.where(Y > 0, 0.8, 0.2)[None]
    off = perfect.copy()
    off[0, 3, 1, 0] = 0.5                                # one output of one step 0.3-0.5 off
    both = np.concatenate([perfect, off, np.full_like(perfect, 0.5)])
    f = reber.fitness(both, Y, M)
    assert f[0] == pytest.approx(-0.04) and f[0] > f[1] > f[2]
    right = reber.strings_right(both, Y, M)
    assert right[0].all() and right[1].sum() == 39 and not right[1, 3] and not right[2].any()
    garbage = np.where(M[..., None], 0.2, 99.0)[None] + Y  # padding is never scored
    assert reber.strings_right(garbage, Y, M).all()


def anbncn_legal(prefix: str) -> set:
    """Symbols c with prefix + c a prefix of some S a^m b^m c^m T (m >= 1)."""
    m_max = len(prefix) + 2
    return {c for c in "abcT" for m in range(1, m_max) if anbncn.string(m).startswith(prefix + c)}


def test_anbncn_targets_predict_every_predictable_symbol():
    for n in range(1, 13):
        s = anbncn.string(n)
        assert s == "S" + "a" * n + "b" * n + "c" * n + "T"
        Y = anbncn.targets(n)
        assert Y.shape == (3 * n + 1, 4)
        for t in range(3 * n + 1):
            assert {anbncn.OUT_SYMBOLS[k] for k in np.flatnonzero(Y[t])} == anbncn_legal(s[:t + 1])
    X, Y, M = anbncn.batch((1, 2, 3))
    assert X.shape == (3, 10, 4) and list(M.sum(axis=1)) == [4, 7, 10]
    assert "".join(anbncn.IN_SYMBOLS[k] for k in X[2].argmax(axis=1)) == "Saaabbbccc"


def test_anbncn_fitness_criterion_and_generalization_range():
    X, Y, M = anbncn.batch(tuple(range(1, 11)))
    perfect = np.where(Y > 0, 0.9, 0.1)[None]
    late = perfect.copy()
    late[0, 9, 3 * 10, 3] = 0.4                          # n = 10 misses the final T
    both = np.concatenate([perfect, late, np.full_like(perfect, 0.5)])
    f = anbncn.fitness(both, Y, M)
    assert f[0] == pytest.approx(-0.01) and f[0] > f[1] > f[2]
    right = anbncn.strings_right(both, Y, M)
    assert right[0].all() and right[1].sum() == 9 and not right[1, 9] and not right[2].any()
    assert anbncn.generalizes_to(right[0]) == 10 and anbncn.generalizes_to(right[1]) == 9
    assert anbncn.generalizes_to(np.array([True, False, True])) == 1
    assert anbncn.generalizes_to(np.array([False, True])) == 0


PROBLEMS = [adding.make(20), parity.make(10), reber.make(True, n_test=1000),
            reber.make(False, n_test=1000), anbncn.make(5, n_test=20)]


@pytest.mark.parametrize("prob", PROBLEMS, ids=[p.name for p in PROBLEMS])
def test_evaluate_is_float64_finite_deterministic_and_a_random_network_is_not_solved(prob):
    net = prob.network()
    rng = np.random.default_rng(11)
    G = net.genome + rng.standard_normal((6, net.n_params))
    f = prob.evaluate(net, G, (5, 3))
    assert f.dtype == np.float64 and f.shape == (6,) and np.isfinite(f).all() and (f < 0).all()
    np.testing.assert_array_equal(f, prob.evaluate(net, G, (5, 3)))
    np.testing.assert_array_equal(f[2:4], prob.evaluate(net, G[2:4], (5, 3)))
    i = int(np.argmax(f))
    assert prob.solved(net, G[i], f[i])[0] is False


def test_builtin_sequence_problems_are_registered_with_their_sizes():
    probs = evornn.problem.builtin_problems()
    sizes = {name: (probs[name].n_in, probs[name].n_out) for name in
             ["adding", "parity", "reber", "reber-plain", "anbncn"]}
    assert sizes == {"adding": (2, 1), "parity": (1, 1), "reber": (7, 7), "reber-plain": (7, 7),
                     "anbncn": (4, 4)}


def test_a_short_parity_run_is_solved(tmp_path):
    prob = evornn.problem.get_problem("parity")
    cfg = RunConfig(problem="parity", arch=prob.arch, hidden=prob.n_hidden, optimizer=prob.optimizer,
                    popsize=prob.popsize, sigma0=prob.sigma0, max_evals=5_000, seed=5)
    d, summary = start(cfg, root=Path(tmp_path), quiet=True)
    assert summary["solved"] and summary["evaluations"] <= 5_000
    assert summary["test_accuracy"] == 1.0 and summary["accuracy_10T"] >= 0.9
    net = evornn.load(d)
    X, target = parity.generate(10, 100, np.random.default_rng(99))
    assert parity.sequences_right(parity.outputs(net, net.genome[None], X), target).all()


# the problems' own defaults, on the seed of each that solves soonest (seeds 1-3 all solve;
# adding seed 1 at 16,300 evaluations, anbncn seed 4 at 53,174 with numpy 2.4 / numba 0.68:
# 43,296 with the libraries of 2026-11, so the budget leaves room for such drift)
@pytest.mark.slow   # tens of seconds (pytest --durations)
@pytest.mark.parametrize("name, seed, evals", [("adding", 1, 20_000), ("anbncn", 4, 65_000)])
def test_the_default_settings_solve(tmp_path, name, seed, evals):
    prob = evornn.problem.get_problem(name)
    cfg = RunConfig(problem=name, arch=prob.arch, hidden=prob.n_hidden, optimizer=prob.optimizer,
                    popsize=prob.popsize, sigma0=prob.sigma0, max_evals=evals, seed=seed)
    _, summary = start(cfg, root=Path(tmp_path), quiet=True)
    assert summary["solved"] and summary["evaluations"] <= evals
    if name == "adding":
        assert summary["test_accuracy"] >= 0.95 and summary["T"] == 50
    else:
        assert summary["generalizes_to"] >= 10
