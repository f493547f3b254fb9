"""rmlp (recurrent multilayer perceptron): layers in cascade within a step, each recurrent on
itself; the layer sizes and n_hidden; bad options are one-line errors."""
import numpy as np
import pytest

import evornn


def test_one_layer_is_an_elman_network():
    rm = evornn.Network("rmlp", 3, 5, 2, seed=3)
    el = evornn.Network("elman", 3, 5, 2, seed=3)
    assert [b.shape for b in rm.layout] == [b.shape for b in el.layout]
    el.genome = rm.genome                  # the same blocks in the same order
    X = np.random.default_rng(1).uniform(-1, 1, (2, 11, 3))
    np.testing.assert_allclose(rm.forward(X), el.forward(X), rtol=0, atol=1e-12)


def test_layers_cascade_within_a_step_and_recur_on_themselves():
    net = evornn.Network("rmlp", 2, 7, 4, layers=(3, 4), readout="none", seed=1)
    assert {b.name: b.shape for b in net.layout} == {
        "W_ih_0": (3, 2), "W_hh_0": (3, 3), "b_0": (3,),
        "W_ih_1": (4, 3), "W_hh_1": (4, 4), "b_1": (4,)}
    X = np.random.default_rng(0).uniform(-1, 1, (1, 2, 2))
    h = net.forward(X)[0]
    W0, U0, b0 = net.block("W_ih_0"), net.block("W_hh_0"), net.block("b_0")
    W1, U1, b1 = net.block("W_ih_1"), net.block("W_hh_1"), net.block("b_1")
    a0 = np.tanh(W0 @ X[0, 0] + b0)                    # step 0 from zero states
    np.testing.assert_allclose(h[0], np.tanh(W1 @ a0 + b1), rtol=0, atol=1e-12)
    a1 = np.tanh(W0 @ X[0, 1] + U0 @ a0 + b0)          # the top layer hears the one below
    np.testing.assert_allclose(h[1], np.tanh(W1 @ a1 + U1 @ h[0] + b1), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kw,H,message", [
    ({"layers": (4, 0)}, 4, "rmlp: option layers=(4, 0) must be None or integers >= 1, one per "
                            "layer"),
    ({"layers": "8,8"}, 16, "rmlp: option layers='8,8' must be None or integers >= 1, one per "
                            "layer"),
    ({"layers": (8, 8)}, 12, "rmlp: option layers=(8, 8) has 16 units in all but n_hidden=12; "
                             "n_hidden is the total of the layer sizes (--hidden 16)"),
])
def test_bad_options_are_one_line_errors(kw, H, message):
    with pytest.raises(ValueError) as e:
        evornn.Network("rmlp", 3, H, 2, **kw)
    assert str(e.value) == message


def test_cli_refuses_a_layers_conflict_in_one_line(capsys, tmp_path):
    from evornn import cli
    code = cli.main(["run", "parity", "--arch", "rmlp", "--hidden", "6", "--arch-option",
                     "layers=(4, 4)", "--generations", "1", "--quiet", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1
    assert "rmlp: option layers=(4, 4) has 8 units in all but n_hidden=6" in err[0]
