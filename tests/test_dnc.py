"""The differentiable neural computer family: its options, its allocation, and networks with
hand-set weights that write, free and read memory slots as its docstring says (the
registry-driven suites test the rest)."""
import numpy as np
import pytest

import evornn
from evornn.arch import dnc


@pytest.mark.parametrize("options,message", [
    ({"memory": (0, 20)}, r"dnc: option memory=\(0, 20\) must be \(N, W\), two integers >= 1"),
    ({"memory": (16, 0)}, r"dnc: option memory=\(16, 0\) must be \(N, W\), two integers >= 1"),
    ({"memory": (32,)}, r"dnc: option memory=\(32,\) must be \(N, W\), two integers >= 1"),
    ({"memory": 64}, r"dnc: option memory=64 must be \(N, W\)"),
    ({"read_heads": 0}, r"dnc: option read_heads=0 must be an integer >= 1"),
    ({"read_heads": 1.5}, r"dnc: option read_heads=1\.5 must be an integer >= 1"),
    ({"controller": "gru"}, r"dnc: option controller='gru' is not allowed; choose one of 'lstm', "
                            r"'dense'"),
])
def test_bad_options_are_one_line_naming_the_option_and_its_range(options, message):
    with pytest.raises(ValueError, match=message) as e:
        evornn.Network("dnc", 3, 4, 2, **options)
    assert "\n" not in str(e.value)


def test_layout_and_options_from_a_config_file_may_be_lists():
    net = evornn.Network("dnc", 3, 4, 2, memory=[6, 5], read_heads=2)
    # interface: 2 read keys of 5, 2 strengths, write key 5, strength, erase 5, write
    # vector 5, 2 free gates, allocation and write gates, 2 x 3 read modes
    assert net.block("W_xi").shape == (10 + 2 + 5 + 1 + 5 + 5 + 2 + 1 + 1 + 6, 4)
    assert net.block("W_ih").shape == (16, 3 + 10)
    assert net.block("W_out").shape == (2, 4 + 10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_allocation_takes_the_least_used_slot_first_and_ties_in_slot_order(dtype):
    u = np.array([0.5, 0.1, 0.9, 0.1], dtype)
    # free list 1, 3, 0, 2: a[phi_j] = (1 - u[phi_j]) prod_{i<j} u[phi_i]
    want = [0.5 * 0.1 * 0.1, 0.9, 0.1 * 0.5 * 0.1 * 0.1, 0.9 * 0.1]
    a = np.zeros(4, dtype)
    dnc._allocation(u.copy(), np.empty(4, np.int64), a, 4)
    np.testing.assert_allclose(a, want, rtol=1e-6)
    np.testing.assert_allclose(dnc._allocation_xp(np, u[None]), [want], rtol=1e-6)
    # all unused: everything goes to slot 0
    dnc._allocation(np.zeros(4, dtype), np.empty(4, np.int64), a, 4)
    np.testing.assert_array_equal(a, [1, 0, 0, 0])


# A dense DNC whose weights are set by hand. Inputs [d (4), write, cue, free]: h =
# [tanh(2 d), tanh(40 write), tanh(40 cue), tanh(40 free)], the flags +-1 so their units
# are +-1. Write steps (write = +1) write tanh(2 d) to the allocated slot (allocation gate
# 1, erase 1); a cue step reads by content with key tanh(2 d) (strength ~201); the other
# steps read along the links, forward or backward; free = +1 frees last step's read slot.
W_ = 4
ITEMS = 0.8 * np.array([[1, 1, -1, -1], [1, -1, 1, -1], [1, -1, -1, 1], [-1, -1, 1, 1]])
NEW = 0.8 * np.array([-1, 1, -1, 1])         # cosine 0 or -1 with every other pattern


def hand_set(N, direction):
    net = evornn.Network("dnc", W_ + 3, W_ + 3, W_ + 3 + W_, controller="dense",
                         memory=(N, W_), readout="none")
    at = dnc.offsets(W_, 1)
    g = np.zeros(net.n_params)

    def put(name, row, col, value):
        b = next(b for b in net.layout if b.name == name)
        k = b.offset + (row * b.shape[1] + col if col is not None else row)
        g[k] = value
    for j in range(W_):
        put("W_ih", j, j, 2.0)
        put("W_xi", at["read_keys"] + j, j, 1.0)
        put("W_xi", at["write_vector"] + j, j, 1.0)
        put("b_xi", at["erase"] + j, None, 40.0)
    for j in range(3):
        put("W_ih", W_ + j, W_ + j, 40.0)
    put("b_xi", at["read_strengths"], None, 200.0)
    put("W_xi", at["free_gates"], W_ + 2, 40.0)
    put("b_xi", at["allocation_gate"], None, 40.0)
    put("W_xi", at["write_gate"], W_, 40.0)
    # read modes (backward, content, forward): content on a cue step; the chosen direction
    # when neither writing nor cued; all three alike (unused) on write steps
    modes = at["read_modes"]
    put("W_xi", modes + 1, W_ + 1, 40.0)
    for m in (0, 2):
        put("b_xi", modes + m, None, -40.0)
    m = modes + (2 if direction == "forward" else 0)
    put("W_xi", m, W_, -40.0)
    put("W_xi", m, W_ + 1, -40.0)
    net.genome = g
    return net


def steps(*rows):
    """Input rows (d, write, cue, free) -> [1, T, 7]."""
    return np.array([[*d, w, c, f] for d, w, c, f in rows], float)[None]


def write(d):
    return (d, 1, -1, -1)


def cue(d):
    return (d, -1, 1, -1)


def follow():
    return (np.zeros(W_), -1, -1, -1)


def reads(net, X, dtype):
    return net.forward(X.astype(dtype))[0, :, W_ + 3:]


TOL = {np.float64: 1e-12, np.float32: 1e-6}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_slots_written_in_order_are_read_back_along_the_links(direction, dtype):
    """Four items written to free slots of six, one a step; a cue finds the first (forward)
    or last (backward) by content, then the links give the others in write order (or its
    reverse), then nothing."""
    net = hand_set(6, direction)
    items = ITEMS if direction == "forward" else ITEMS[::-1]
    X = steps(*map(write, ITEMS), cue(items[0]), follow(), follow(), follow(), follow())
    r = reads(net, X, dtype)
    np.testing.assert_allclose(r[4:8], np.tanh(2 * items), atol=TOL[dtype])
    np.testing.assert_allclose(r[8], 0, atol=TOL[dtype])         # no slot beyond the last


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_freed_slot_of_a_full_memory_is_written_next(dtype):
    """Four items fill four slots (usage 1 each). A cue reads item 2; freeing it on the next
    write puts the new item in its slot: item 2 is gone, the others stay. Without freeing,
    a full memory has nothing to allocate: the new item is not written."""
    net = hand_set(4, "forward")
    for free in (True, False):
        probes = [ITEMS[0], ITEMS[1], ITEMS[2], ITEMS[3], NEW]
        X = steps(*map(write, ITEMS), cue(ITEMS[2]), (NEW, 1, -1, 1 if free else -1),
                  *map(cue, probes))
        r = reads(net, X, dtype)
        np.testing.assert_allclose(r[4], np.tanh(2 * ITEMS[2]), atol=TOL[dtype])
        found = [np.allclose(r[6 + k], np.tanh(2 * d), atol=TOL[dtype])
                 for k, d in enumerate(probes)]
        assert found == ([True, True, False, True, True] if free
                         else [True, True, True, True, False]), (free, found)


def test_the_hand_set_network_is_the_same_function_in_every_form():
    """The twin and the array form follow the same slots (ties, frees) as the kernels."""
    torch = pytest.importorskip("torch")
    from evornn.arrays import population_forward_array
    net = hand_set(4, "forward")
    X = steps(*map(write, ITEMS), cue(ITEMS[2]), (NEW, 1, -1, 1), *map(cue, ITEMS), follow())
    y = net.forward(X)
    with torch.no_grad():
        np.testing.assert_allclose(net.to_torch()(torch.from_numpy(X)).numpy(), y, atol=1e-12)
    np.testing.assert_allclose(population_forward_array(net, net.genome[None], X)[0], y,
                               atol=1e-12)


def test_reset_starts_a_new_sequence():
    net = evornn.Network("dnc", 3, 4, 2, seed=2, memory=(5, 3))
    X = np.random.default_rng(0).uniform(-1, 1, (6, 3))
    first = np.array([net.step(x) for x in X])
    net.reset()
    again = np.array([net.step(x) for x in X])
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first, net.forward(X), atol=1e-12)
