"""The neural Turing machine family: its options, and its heads moving and reading as
its docstring says (the registry-driven suites test the rest)."""
import numpy as np
import pytest

import evornn


@pytest.mark.parametrize("options,message", [
    ({"memory": (0, 20)}, r"ntm: option memory=\(0, 20\) must be \(N, M\), two integers >= 1"),
    ({"memory": (128,)}, r"ntm: option memory=\(128,\) must be \(N, M\), two integers >= 1"),
    ({"memory": 64}, r"ntm: option memory=64 must be \(N, M\)"),
    ({"read_heads": 0}, r"ntm: option read_heads=0 must be an integer >= 1"),
    ({"write_heads": 0}, r"ntm: option write_heads=0 must be an integer >= 1"),
    ({"shift": 2}, r"ntm: option shift=2 must be an odd integer from 1 to the memory slots N"),
    ({"shift": 5, "memory": (4, 3)}, r"ntm: option shift=5 must be an odd integer from 1 to the 4 "
                                     r"memory slots"),
    ({"controller": "gru"}, r"ntm: option controller='gru' is not allowed; choose one of 'lstm', "
                            r"'dense'"),
])
def test_bad_options_are_one_line_naming_the_option_and_its_range(options, message):
    with pytest.raises(ValueError, match=message) as e:
        evornn.Network("ntm", 3, 4, 2, **options)
    assert "\n" not in str(e.value)


def test_options_from_a_config_file_may_be_lists():
    net = evornn.Network("ntm", 3, 4, 2, memory=[6, 2], shift=5)
    assert net.block("W_read").shape == (2 + 5 + 3, 4)


def moving_heads(read_shift: int, N=8, M=3, T=11):
    """A dense NTM whose heads only move: both start on slot 0 and keep their previous
    weighting (g ~ 0), the write head shifts by +1 each step and writes tanh(3 tanh(2 x_t)),
    erasing the slot first; the read head shifts by read_shift. Features: [h, r]."""
    net = evornn.Network("ntm", M, M, M + M, controller="dense", memory=(N, M), readout="none")
    g = np.zeros(net.n_params)

    def put(name, value, rows=None):
        b = next(b for b in net.layout if b.name == name)
        block = np.zeros(b.shape)
        block[rows if rows is not None else slice(None)] = value
        g[b.offset:b.offset + b.size] = (g[b.offset:b.offset + b.size].reshape(b.shape)
                                         + block).ravel()

    put("W_ih", np.hstack([2 * np.eye(M), np.zeros((M, M))]))
    for head, shift in (("b_read", read_shift), ("b_write", 1)):
        put(head, -40.0, M + 1)                     # interpolation gate g ~ 0
        put(head, 40.0, M + 2 + 1 + shift)          # shift logits for -1, 0, +1
        put(head, 40.0, M + 5)                      # gamma ~ 41: sharp
    put("b_write", 40.0, slice(M + 6, 2 * M + 6))    # erase ~ 1
    put("W_write", 3 * np.eye(M), slice(2 * M + 6, 3 * M + 6))
    net.genome = g
    X = np.random.default_rng(0).uniform(-1, 1, (2, T, M))
    return net, X


@pytest.mark.parametrize("dtype,atol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_heads_moving_together_read_back_what_was_written(dtype, atol):
    """Write and read heads shifting by +1 meet on the slot just written (around the
    circular memory too: 11 steps on 8 slots)."""
    net, X = moving_heads(+1)
    F = net.forward(X.astype(dtype))
    h, r = F[..., :3], F[..., 3:]
    np.testing.assert_allclose(h, np.tanh(2 * X), atol=atol)
    np.testing.assert_allclose(r, np.tanh(3 * np.tanh(2 * X)), atol=atol)


def test_a_read_head_left_on_slot_0_reads_the_initial_memory_until_it_is_written():
    """Memory starts at 1e-6 everywhere and the heads on slot 0: the write head reaches slot
    0 again at step N - 1 = 7, and the read head reads it from then on."""
    net, X = moving_heads(0)
    r = net.forward(X)[..., 3:]
    np.testing.assert_allclose(r[:, :7], 1e-6, rtol=1e-9)
    np.testing.assert_allclose(r[:, 7:], np.tanh(3 * np.tanh(2 * X[:, 7:7 + 1])).repeat(4, 1),
                               atol=1e-12)
    # the twin and the array form agree
    import torch
    with torch.no_grad():
        twin = net.to_torch()(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(twin[..., 3:], r, atol=1e-15, rtol=1e-9)


def copy_machine(N: int, K: float = 5.0) -> evornn.Network:
    """The network benchmarks/memory.py evolves (dense controller of 9, memory N x 9), set by
    hand to copy: units 0-7 carry the input bits, or in recall the bits read last step;
    unit 8 is on from the delimiter on (the delimiter, then the marker column the write head
    puts beside every vector). The write head steps +1 and writes each step; the read head
    stays on slot 0 until unit 8 turns on, then steps +1 a step behind the writes. 63 of
    803 weights are set."""
    net = evornn.Network("ntm", 9, 9, 8, controller="dense", memory=(N, 9), readout="sigmoid")
    g = np.zeros(net.n_params)

    def block(name):
        b = next(b for b in net.layout if b.name == name)
        return g[b.offset:b.offset + b.size].reshape(b.shape)      # a view: writes go to g

    M = 9                                     # head params: key M, beta, g, shifts -1 0 +1, gamma
    W, b = block("W_ih"), block("b")
    W[range(9), range(9)] = W[range(9), range(9, 18)] = K        # u = [x (9), r (9)]
    b[:] = -K / 2
    b_read, W_read = block("b_read"), block("W_read")
    b_read[[M + 1, M + 2]], b_read[M + 5] = -K, K                # keep the weighting, no -1
    W_read[M + 3, 8], W_read[M + 4, 8] = -K, K                   # stay, or step once recalling
    b_write, W_write = block("b_write"), block("W_write")
    b_write[[M + 1, M + 2, M + 3]], b_write[[M + 4, M + 5]] = -K, K
    b_write[M + 6:2 * M + 6] = K                                 # erase everything
    W_write[range(2 * M + 6, 2 * M + 14), range(8)] = K          # add the bits
    b_write[3 * M + 5] = K                                       # and the marker
    block("W_out")[range(8), range(8)] = K
    net.genome = g
    return net


def test_a_hand_set_ntm_solves_copy_and_with_more_memory_copies_further():
    """What the evolved copy benchmark searches for exists in its 803 genes: copy-10's test
    set exactly right; 22 slots copy up to 21 vectors (the memory wraps after), and the
    same genome on 128 slots copies all the way to 120."""
    from evornn.problems import copy_task
    net = copy_machine(22)
    ok, info = copy_task.make((1, 10)).solved(net, net.genome, 0.0)
    assert ok and info["test_bits_wrong"] == 0.0
    assert copy_task.generalization(net, net.genome)["generalizes_to"] == 20
    wide = copy_machine(128)
    reach = copy_task.generalization(wide, wide.genome)
    assert reach["generalizes_to"] == 120 and reach["bits_wrong_at_120"] == 0.0
    assert np.count_nonzero(net.genome) == 63 and net.n_params == 803
