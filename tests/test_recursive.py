"""recursive: trees as post-order shift/reduce sequences, their error lines, the composition
against a direct recursion over the tree, and the tree-eval problem."""
import numpy as np
import pytest

import evornn
from evornn.trees import REDUCE, depth, encode, postorder, stack_needed

V = 5                       # leaf symbols; inputs V + 1 with the reduce flag
BUDGET = 660


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def direct(net, tree):
    """(h, c) of tree's root by recursion over the nested tuple (no stack, no kernels)."""
    b = {name: np.array(net.block(name), np.float64) for name in ("E", "b_leaf", "W", "b")}
    H, tl = net.layers[0].n_hidden, net.layers[0].opts["cell"] == "treelstm"
    if not isinstance(tree, tuple):
        z = b["E"][:, tree] + b["b_leaf"]
        if not tl:
            return np.tanh(z), None
        c = sigmoid(z[:H]) * np.tanh(z[2 * H:])
        return sigmoid(z[H:2 * H]) * np.tanh(c), c
    (h1, c1), (h2, c2) = direct(net, tree[0]), direct(net, tree[1])
    z = b["W"] @ np.concatenate([h1, h2]) + b["b"]
    if not tl:
        return np.tanh(z), None
    c = sigmoid(z[:H]) * np.tanh(z[4 * H:]) + sigmoid(z[H:2 * H]) * c1 + sigmoid(z[2 * H:3 * H]) * c2
    return sigmoid(z[3 * H:4 * H]) * np.tanh(c), c


@pytest.mark.parametrize("tree,message", [
    ((1, 2, 3), "not a binary tree: a node has 3 children (every internal node must be a pair "
                "(left, right)): (1, 2, 3)"),
    (((0, 1), (2,)), "not a binary tree: a node has 1 child (every internal node must be a pair "
                     "(left, right)): (2,)"),
    ((0, 7), "not a tree leaf: leaves must be symbol indices 0..4, got: 7"),
    ((0, "x"), "not a tree leaf: leaves must be symbol indices 0..4, got: 'x'"),
    ((0, [1, 2]), "not a tree leaf: leaves must be symbol indices 0..4, got: [1, 2]"),
])
def test_trees_that_are_not_binary_are_one_line_errors(tree, message):
    with pytest.raises(ValueError) as e:
        encode([(0, 1), tree], V)
    assert str(e.value) == message


def test_a_tree_deeper_than_the_stack_is_refused():
    right_spine = (0, (1, (2, 3)))             # post-order 0 1 2 3 R R R: 4 vectors at once
    assert stack_needed(postorder(right_spine, V)) == 4 and depth(right_spine) == 3
    assert stack_needed(postorder(((0, 1), 2), V)) == 2
    with pytest.raises(ValueError) as e:
        encode([right_spine], V, stack=3)
    assert str(e.value) == ("tree needs a stack of 4 vectors, the network holds 3 (option stack): "
                            "(0, (1, (2, 3)))")


def test_network_needs_the_reduce_flag_and_a_known_cell():
    with pytest.raises(ValueError, match="recursive: n_in must be at least 2"):
        evornn.Network("recursive", 1, 4, 2)
    with pytest.raises(ValueError) as e:
        evornn.Network("recursive", 3, 4, 2, cell="lstm")
    assert str(e.value) == "recursive: option cell='lstm' is not allowed; choose one of 'plain', 'treelstm'"


def test_post_order_encoding():
    X, roots = encode([((3, 1), 4), 2], V)
    assert postorder(((3, 1), 4), V) == [3, 1, REDUCE, 4, REDUCE]
    assert X.shape == (2, 5, V + 1) and roots.tolist() == [4, 0]
    assert np.argwhere(X[0]).tolist() == [[0, 3], [1, 1], [2, 5], [3, 4], [4, 5]]
    assert np.argwhere(X[1]).tolist() == [[0, 2]]          # padding: all zeros


@pytest.mark.parametrize("cell", ["plain", "treelstm"])
def test_root_equals_a_direct_recursion_and_the_order_of_children_matters(cell):
    """Every tree's root output (readout 'none': the root's h) equals the recursion over the
    nested tuple, in float64 and float32, one batch of trees of different shapes; swapping
    two children changes the root."""
    net = evornn.Network("recursive", V + 1, 6, 6, cell=cell, stack=4, readout="none", seed=3)
    net.genome = net.genome + 0.5 * np.random.default_rng(0).standard_normal(net.n_params)
    trees = [((0, 1), (2, (3, 4))), (((4, 3), 2), 1), (1, 0), (0, 1), 3, ((2, 2), (2, 2))]
    X, roots = encode(trees, V, stack=4)
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 2e-6)):
        Y = evornn.population_forward(net, net.genome[None].astype(dtype), X.astype(dtype))[0]
        got = Y[np.arange(len(trees)), roots]
        want = np.array([direct(net, t)[0] for t in trees])
        np.testing.assert_allclose(got, want, rtol=0, atol=tol)
    assert np.abs(got[2] - got[3]).min() > 1e-3           # (1, 0) against (0, 1)


def test_tree_eval_labels_every_subexpression():
    from evornn.problems import tree_eval as te
    expr = (te.PLUS, (te.TIMES, 5, 4), 7)                  # (5 * 4) + 7 = 27 -> 7
    assert te.value(expr) == 7 and te.binary(expr) == ((((5, te.TIMES), 4), te.PLUS), 7)
    X, Y = te.encode_exprs([expr, 3], stack=4, node_labels=True)
    assert postorder(te.binary(expr), te.N_SYMBOLS) == [5, te.TIMES, REDUCE, 4, REDUCE, te.PLUS,
                                                        REDUCE, 7, REDUCE]
    assert Y[0].tolist() == [5, -1, -1, 4, 0, -1, -1, 7, 7] and Y[1].tolist() == [3] + [-1] * 8
    _, Yr = te.encode_exprs([expr, 3], stack=4, node_labels=False)
    assert Yr[0].tolist() == [-1] * 8 + [7]
    rng = np.random.default_rng(0)
    assert [te.labels(te.draw(d, rng)).count(-1) > 0 for d in (0, 1)] == [False, True]

    def operators_deep(e):
        return 1 + max(operators_deep(e[1]), operators_deep(e[2])) if isinstance(e, tuple) else 0
    assert all(operators_deep(te.draw(d, rng)) == d for d in range(6) for _ in range(5))


def test_bptt_solves_a_small_tree_eval(tmp_path):
    """One operator, + or * mod 10 (their two tables), with a 16-unit tree-LSTM by BPTT at
    Adam's lr 0.03 on float32 twins: solved after 220 evaluations (seed 1, measured); the
    default problem's runs are in docs/problems.md."""
    from evornn.run import RunConfig, start
    f = tmp_path / "tree_small.py"
    f.write_text("from evornn.problems import tree_eval\n"
                 "PROBLEM = tree_eval.make(train_depth=1, test_depth=2, batch=32, per_depth=50, "
                 "name='tree-small')\n")
    cfg = RunConfig(problem=str(f), arch="recursive", hidden=16, optimizer="bptt", popsize=None,
                    sigma0=0.5, max_evals=BUDGET, seed=1, arch_options={"cell": "treelstm"},
                    options={"lr": 0.03})
    _, summary = start(cfg, tmp_path, quiet=True)
    assert summary["solved"] and summary["root_accuracy_train_depths"] >= 0.99
    assert summary["evaluations"] <= BUDGET and set(summary["root_accuracy_by_depth"]) == {1, 2}
