"""seq2seq: the phase-flag contract, option errors and the reverse-seq problem."""
import numpy as np
import pytest

import evornn


@pytest.mark.parametrize("kw,message", [
    ({"attention": "dot"}, "seq2seq: option attention='dot' is not allowed; choose one of 'none', "
                           "'bahdanau', 'luong'"),
    ({"decoder": "rnn"}, "seq2seq: option decoder='rnn' is not allowed; choose one of 'elman', "
                         "'gru', 'lstm'"),
    ({"max_source": 0}, "seq2seq: option max_source=0 must be an integer >= 1"),
])
def test_bad_options_are_one_line_errors(kw, message):
    with pytest.raises(ValueError) as e:
        evornn.Network("seq2seq", 3, 4, 2, **kw)
    assert str(e.value) == message


def test_needs_a_phase_input():
    with pytest.raises(ValueError, match="n_in must be at least 2"):
        evornn.Network("seq2seq", 1, 4, 2)


def test_decoder_starts_from_the_encoder_state_and_attends_to_its_states():
    """Encoder outputs do not depend on the decoder's weights; changing one encoder step's
    input changes the later decoder outputs through the state and the attention, and a
    decoder with no encoder steps before it sees a zero context."""
    net = evornn.Network("seq2seq", 3, 4, 8, seed=1, readout="none")
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (1, 6, 3))
    X[0, :3, 2], X[0, 3:, 2] = 0.0, 1.0
    Y = net.forward(X)
    g = net.genome.copy()
    for b in net.layout:
        if b.name.startswith("dec_"):
            g[b.offset:b.offset + b.size] += 1.0
    Y2 = evornn.Network("seq2seq", 3, 4, 8, seed=1, readout="none", genome=g).forward(X)
    np.testing.assert_array_equal(Y[0, :3], Y2[0, :3])
    assert np.abs(Y[0, 3:] - Y2[0, 3:]).min() > 0
    assert np.all(Y[0, :3, 4:] == 0)                       # encoder steps: context 0
    Xd = X.copy()
    Xd[0, :, 2] = 1.0                                      # decoding from the start
    assert np.all(net.forward(Xd)[0, :, 4:] == 0)
