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
    ({"attention": "none", "input_feeding": True}, "seq2seq: option input_feeding=True feeds the "
     "attention context, so it needs attention bahdanau or luong, got attention='none'"),
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


def test_input_feeding_reads_the_step_befores_context():
    """With the fed columns of dec_W_ih zero, input feeding is the plain network bit for bit;
    with them set, only the decoder steps after the first change (the first is fed the
    encoder step's context, 0)."""
    plain = evornn.Network("seq2seq", 3, 4, 2, seed=1)
    fed = evornn.Network("seq2seq", 3, 4, 2, seed=1, input_feeding=True)
    g = np.zeros(fed.n_params)
    blocks = {b.name: b for b in fed.layout}
    for b in plain.layout:
        v = plain.genome[b.offset:b.offset + b.size]
        if b.name == "dec_W_ih":             # [G, I'] into the first columns of [G, I' + H]
            v = np.hstack([v.reshape(12, 2), np.zeros((12, 4))]).ravel()
        g[blocks[b.name].offset:blocks[b.name].offset + v.size] = v
    X = np.random.default_rng(0).uniform(-1, 1, (2, 7, 3))
    X[:, :3, 2], X[:, 3:, 2] = 0.0, 1.0
    fed.genome = g
    np.testing.assert_array_equal(fed.forward(X), plain.forward(X))
    W = blocks["dec_W_ih"]
    g2 = g.copy()
    g2[W.offset:W.offset + W.size] += 0.5 * np.tile(np.r_[0, 0, 1, 1, 1, 1], 12)
    fed.genome = g2
    Y, Y2 = plain.forward(X), fed.forward(X)
    np.testing.assert_array_equal(Y2[:, :4], Y[:, :4])
    assert np.abs(Y2[:, 4:] - Y[:, 4:]).min() > 0


def test_reverse_seq_layout_and_free_running_decoding():
    """The inputs of a source (symbols, then the phase flag with the start symbol and the
    previous target), and free-running greedy decoding: fed its own previous argmax, each
    prediction is the argmax a teacher-forced pass gives on those same fed symbols."""
    from evornn.problem import get_problem
    from evornn.problems.reverse_seq import encode, free_running
    X, Y = encode([np.array([1, 2, 3])])
    assert np.argwhere(X[0]).tolist() == [[0, 1], [1, 2], [2, 3], [3, 8], [3, 9], [4, 3], [4, 9],
                                          [5, 2], [5, 9]]
    assert Y[0].tolist() == [-1, -1, -1, 3, 2, 1]
    prob = get_problem("reverse-seq")
    net = prob.network(n_hidden=6, seed=2)
    rng = np.random.default_rng(3)
    sources = [rng.integers(0, 8, size=n) for n in (2, 5, 9)]
    pred = free_running(net, net.genome, sources)
    fed = [p[:len(a)][::-1] for p, a in zip(pred, sources)]     # as if the predictions were targets
    Xf, _ = encode(fed)
    for i, a in enumerate(sources):                              # the encoder read the real source
        Xf[i, :len(a), :8] = 0.0
        Xf[i, np.arange(len(a)), a] = 1.0
    tf = evornn.population_forward(net, net.genome[None], Xf)[0].argmax(-1)
    for i, a in enumerate(sources):
        assert tf[i, len(a):2 * len(a)].tolist() == pred[i, :len(a)].tolist()
