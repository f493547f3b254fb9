"""The memory tasks of Graves et al. (2014): copy, repeat-copy and associative recall
build the episodes the paper describes, score bits, and test solved champions."""
import numpy as np
import pytest

import evornn
from evornn.problems import _memory_tasks, associative_recall, copy_task, repeat_copy


def test_copy_episodes_recall_the_sequence_after_the_delimiter_with_no_input():
    lengths = np.array([1, 4, 20, 7])
    X, Y, S = copy_task.episodes(lengths, np.random.default_rng(0))
    assert X.shape == (4, 41, 9) and Y.shape == (4, 41, 8) and S.shape == (4, 41)
    for i, L in enumerate(lengths):
        assert np.flatnonzero(X[i, :, 8]).tolist() == [L]                 # one delimiter, at L
        assert not X[i, L + 1:].any() and not X[i, L, :8].any()           # nothing during recall
        np.testing.assert_array_equal(Y[i, L + 1:2 * L + 1], X[i, :L, :8])
        assert np.flatnonzero(S[i]).tolist() == list(range(L + 1, 2 * L + 1))
        assert not Y[i, ~S[i]].any()
    assert set(np.unique(X[..., :8])) == {0.0, 1.0}


def test_copy_lengths_option_and_registration():
    probs = evornn.problem.builtin_problems()
    assert (probs["copy"].n_in, probs["copy"].n_out) == (9, 8)
    assert "1-20" in probs["copy"].description and "1-10" in probs["copy-10"].description
    X, _, W = probs["copy-10"].batch((3, 1))
    assert X.shape[0] == 20 and X.shape[1] <= 21 and abs(W.sum() - 1) < 1e-12
    with pytest.raises(ValueError, match=r"copy: lengths must be \(lo, hi\) with 1 <= lo <= hi, "
                                         r"got \(0, 5\)"):
        copy_task.make((0, 5))


def test_repeat_copy_outputs_the_sequence_n_times_then_the_end_marker():
    X, Y, S = repeat_copy.episodes(np.array([3, 1, 10]), np.array([2, 10, 10]),
                                   np.random.default_rng(1), (5.5, np.sqrt(8.25)))
    assert X.shape == (3, 10 * 11 + 2, 10) and Y.shape[2] == 9
    for i, (L, n) in enumerate([(3, 2), (1, 10), (10, 10)]):
        assert np.flatnonzero(X[i, :, 8]).tolist() == [L]
        assert X[i, L, 9] == pytest.approx((n - 5.5) / np.sqrt(8.25))
        assert not X[i, L + 1:].any()
        np.testing.assert_array_equal(Y[i, L + 1:L + 1 + n * L, :8], np.tile(X[i, :L, :8], (n, 1)))
        assert np.flatnonzero(Y[i, :, 8]).tolist() == [L + 1 + n * L]    # the end marker
        assert np.flatnonzero(S[i]).tolist() == list(range(L + 1, L + 2 + n * L))
    # the repeat input has mean 0 and variance 1 over the training repeats
    prob = repeat_copy.make()
    X, _, _ = prob.batch((0, 0))
    counts = X[..., 9][X[..., 8] == 1]
    assert set(np.round(counts * np.sqrt(8.25) + 5.5, 9)) <= set(range(1, 11))


def test_associative_recall_answers_the_item_after_the_query():
    counts = np.array([2, 6, 4])
    X, Y, S, query = associative_recall.episodes(counts, np.random.default_rng(2))
    assert X.shape == (3, 32, 8) and Y.shape == (3, 32, 6)
    for i, k in enumerate(counts):
        items = np.stack([X[i, 4 * j + 1:4 * j + 4, :6] for j in range(k)])
        assert np.flatnonzero(X[i, :, 6]).tolist() == [4 * j for j in range(k)]
        assert np.flatnonzero(X[i, :, 7]).tolist() == [4 * k, 4 * k + 4]
        q = query[i]
        assert 0 <= q < k - 1
        np.testing.assert_array_equal(X[i, 4 * k + 1:4 * k + 4, :6], items[q])
        np.testing.assert_array_equal(Y[i, 4 * k + 5:4 * k + 8], items[q + 1])
        assert np.flatnonzero(S[i]).tolist() == [4 * k + 5, 4 * k + 6, 4 * k + 7]
        assert not X[i, 4 * k + 5:].any()


def test_fitness_is_minus_the_mean_squared_error_over_scored_bits_and_bits_are_counted():
    X, Y, S = copy_task.episodes(np.array([2, 5]), np.random.default_rng(3))
    perfect = Y[None].copy()
    half = np.full_like(perfect, 0.5)
    one_off = perfect.copy()
    one_off[0, 1, 7, 2] = 1 - one_off[0, 1, 7, 2]          # a scored bit wrong
    one_off[0, 0, 0, 0] = 1.0                               # an unscored step: no matter
    f = _memory_tasks.fitness(np.concatenate([perfect, half, one_off]), Y, S)
    np.testing.assert_allclose(f, [0.0, -0.25, -1 / (7 * 8)])
    np.testing.assert_array_equal(_memory_tasks.bits_wrong(one_off, Y, S), [[0, 1]])



def test_the_hinge_fitness_scores_only_bits_inside_the_margin_and_is_a_problem_option():
    X, Y, S = copy_task.episodes(np.array([2, 5]), np.random.default_rng(3))
    sure = np.where(Y > 0.5, 0.8, 0.2)[None]                 # every bit right by 0.3
    close = sure.copy()
    close[0, 1, 7, 2] = 0.5 + (0.1 if Y[1, 7, 2] else -0.1)  # one right by 0.1 only
    wrong = sure.copy()
    wrong[0, 1, 7, 2] = 0.5 + (-0.1 if Y[1, 7, 2] else 0.1)  # one wrong by 0.1
    f = _memory_tasks.hinge(np.concatenate([sure, close, wrong, 0.5 + 0 * sure]), Y, S, 0.25)
    np.testing.assert_allclose(f, [0.0, -0.15 / 0.25 / 56, -0.35 / 0.25 / 56, -1.0])
    prob = copy_task.make((1, 5), margin=0.25)
    net = prob.network(n_hidden=4, options={"memory": (8, 9)})
    G = net.genome + np.random.default_rng(1).standard_normal((3, net.n_params))
    rng = np.random.default_rng(7)                           # the episodes evaluate draws
    X, Y, S = copy_task.episodes(rng.integers(1, 6, size=20), rng)
    Yhat = _memory_tasks.outputs(net, G, X)
    np.testing.assert_allclose(prob.evaluate(net, G, 7), _memory_tasks.hinge(Yhat, Y, S, 0.25))
    np.testing.assert_allclose(copy_task.make((1, 5)).evaluate(net, G, 7),
                               _memory_tasks.fitness(Yhat, Y, S))
    with pytest.raises(ValueError, match=r"copy-5: margin must be a number in \(0, 0.5\] or None, "
                                         r"got 0.6"):
        copy_task.make((1, 5), margin=0.6)

def _oracle(wrong_from=None):
    """outputs() of a network that copies perfectly (every bit wrong from length wrong_from on)."""
    def outputs(net, genomes, X):
        Y = np.zeros(X.shape[:2] + (8,))
        for i in range(X.shape[0]):
            L = int(np.flatnonzero(X[i, :, 8])[0])
            Y[i, L + 1:2 * L + 1] = X[i, :L, :8]
            if wrong_from is not None and L >= wrong_from:
                Y[i, L + 1:2 * L + 1] = 1 - Y[i, L + 1:2 * L + 1]
        return np.repeat(Y[None], len(genomes), 0)
    return outputs


@pytest.mark.parametrize("wrong_from,reach", [(None, 120), (55, 50), (1, 0)])
def test_copy_is_solved_by_a_perfect_copier_and_reports_its_generalization(monkeypatch, wrong_from, reach):
    prob = copy_task.make((1, 5), n_test=200)
    net = prob.network(n_hidden=2, options={"memory": (8, 2)})
    for module in (copy_task, _memory_tasks):
        monkeypatch.setattr(module, "outputs", _oracle(wrong_from))
    ok, info = prob.solved(net, net.genome, 0.0)
    if reach == 0:
        assert not ok and info["test_bits_wrong"] == 1.0
        return
    assert ok and info["test_bits_wrong"] == 0.0 and info["test_episodes"] == 200
    assert info["generalizes_to"] == reach
    assert info["bits_wrong_at_120"] == (0.0 if wrong_from is None else 1.0)
    assert "bits_wrong" not in info                   # the table stays out of summary.json


@pytest.mark.parametrize("name", ["copy", "repeat-copy", "associative-recall"])
def test_a_random_ntm_is_not_solved(name):
    prob = evornn.problem.get_problem(name)
    net = prob.network(n_hidden=4, options={"memory": (16, 4)})
    rng = np.random.default_rng(4)
    G = net.genome + rng.standard_normal((4, net.n_params))
    f = prob.evaluate(net, G, (1, 2))
    assert f.shape == (4,) and np.all(f < 0) and np.all(f >= -1)
    i = int(np.argmax(f))
    ok, info = prob.solved(net, G[i], f[i])
    assert ok is False and 0 < info["test_bits_wrong"] <= 1


def test_copy_generalization_tables_bits_wrong_at_every_tested_length(monkeypatch):
    """The figure benchmarks/memory.py prints for any network, solved or not."""
    net = copy_task.make((1, 5)).network(n_hidden=2, options={"memory": (8, 2)})
    monkeypatch.setattr(copy_task, "outputs", _oracle(55))
    out = copy_task.generalization(net, net.genome)
    assert out["bits_wrong"] == {L: (1.0 if L >= 55 else 0.0) for L in range(10, 121, 10)}
    assert out["generalizes_to"] == 50 and out["bits_wrong_at_120"] == 1.0


def test_the_portfolio_keeps_the_start_with_the_best_fitness_at_e_and_its_seeds_are_fixed():
    from benchmarks.memory import choose_start, portfolio_seeds
    # three on the plateau, one climbing; a start that failed every evaluation reads NaN
    assert choose_start([-0.76, -0.77, -0.31, -0.76]) == 2
    assert choose_start([float("nan"), -0.8, -0.79]) == 2
    assert choose_start([-0.5, -0.5]) == 0              # the first of equals
    with pytest.raises(ValueError, match="--portfolio"):
        choose_start([])
    seeds = portfolio_seeds(1, 4)
    assert seeds == portfolio_seeds(1, 4) and len(set(seeds)) == 4 and 1 not in seeds
    assert portfolio_seeds(1, 2) == seeds[:2] and portfolio_seeds(4, 4) != seeds
