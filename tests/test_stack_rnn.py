"""The stack_rnn family's memory on worked examples, and its capacity."""
import numpy as np
import pytest

import evornn
from evornn.arch.stack_rnn import DEQUE, QUEUE, STACK, _memory

V1, V2, V3 = np.array([0.5, 0.0, 0.0]), np.array([0.0, -0.25, 0.0]), np.array([0.0, 0.0, 0.75])


def logit(p):
    return np.log(p / (1 - p)) if p > 0 else -60.0


def run_memory(mem, steps, dtype, C=8):
    """Reads after each step of (push strengths, pop strengths, values) per end, through the
    numba kernel's memory step."""
    S = 2 if mem == DEQUE else 1
    Wd = 3
    vals, st = np.zeros(S * C * Wd, dtype), np.zeros(S * C, dtype)
    tmp, cnt, r = np.zeros(2 * S * C, dtype), np.zeros(2, dtype), np.zeros(S * Wd, dtype)
    reads = []
    for d, u, v in steps:
        m = np.concatenate([[logit(p) for p in d], [logit(p) for p in u],
                            np.arctanh(np.concatenate(v))]).astype(dtype)
        _memory(m, r, vals, st, tmp, cnt, mem, Wd, C)
        reads.append(r.astype(np.float64).copy())
    return reads


@pytest.mark.parametrize("dtype,atol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_stack_and_queue_reproduce_the_papers_example(dtype, atol):
    """Grefenstette et al. 2015's worked example: push v1 (d 0.8); pop 0.1, push v2 (0.5);
    pop 0.9, push v3 (0.9)."""
    steps = [((0.8,), (0.0,), (V1,)), ((0.5,), (0.1,), (V2,)), ((0.9,), (0.9,), (V3,))]
    r = run_memory(STACK, steps, dtype)
    np.testing.assert_allclose(r[0], 0.8 * V1, atol=atol)
    np.testing.assert_allclose(r[1], 0.5 * V2 + 0.5 * V1, atol=atol)
    np.testing.assert_allclose(r[2], 0.9 * V3 + 0.1 * V1, atol=atol)       # v2 popped, v1 at 0.3
    # the queue pops and reads at the bottom: v1 0.8 -> 0.7, then v1 gone and v2 0.5 -> 0.3
    r = run_memory(QUEUE, steps, dtype)
    np.testing.assert_allclose(r[1], 0.7 * V1 + 0.3 * V2, atol=atol)
    np.testing.assert_allclose(r[2], 0.3 * V2 + 0.7 * V3, atol=atol)


def test_deque_pops_both_ends_on_the_old_strengths():
    """Top push v1 (0.8), bottom push v2 (0.6); then pops of 0.9 at the top and 0.3 at the
    bottom act together: v1 goes, v2 keeps 0.6 - 0.1 - 0.3 = 0.2."""
    z = np.zeros(3)
    steps = [((0.8, 0.0), (0.0, 0.0), (V1, z)), ((0.0, 0.6), (0.0, 0.0), (z, V2)),
             ((0.0, 0.0), (0.9, 0.3), (z, z))]
    r = run_memory(DEQUE, steps, np.float64)
    np.testing.assert_allclose(r[0], np.concatenate([0.8 * V1, 0.8 * V1]), atol=1e-12)
    np.testing.assert_allclose(r[1], np.concatenate([0.8 * V1 + 0.2 * V2, 0.6 * V2 + 0.4 * V1]),
                               atol=1e-12)
    np.testing.assert_allclose(r[2], np.concatenate([0.2 * V2, 0.2 * V2]), atol=1e-12)


def test_a_full_memory_forgets_its_oldest_slot():
    """Every step takes a slot, pushing or not: with capacity 4 the fifth step's slot
    overwrites v1, so a stack popped down to it reads nothing."""
    z = np.zeros(3)
    steps = [((1.0 - 1e-12,), (0.0,), (V1,)), ((1.0 - 1e-12,), (0.0,), (V2,)),
             ((1.0 - 1e-12,), (0.0,), (V3,)), ((0.0,), (1.0 - 1e-12,), (z,)),
             ((0.0,), (1.0 - 1e-12,), (z,))]
    wide, full = run_memory(STACK, steps, np.float64, C=8), run_memory(STACK, steps, np.float64, C=4)
    np.testing.assert_allclose(wide[3], V2, atol=1e-9)
    np.testing.assert_allclose(wide[4], V1, atol=1e-9)
    np.testing.assert_allclose(full[3], V2, atol=1e-9)       # v3 popped
    np.testing.assert_allclose(full[4], z, atol=1e-9)        # v1 forgotten


@pytest.mark.parametrize("memory", ["stack", "queue", "deque"])
def test_capacity_is_exact_up_to_the_sequence_length(memory):
    rng = np.random.default_rng(4)
    X = rng.uniform(-1.5, 1.5, (3, 12, 2))
    out = {}
    for C in (256, 12, 5):
        net = evornn.Network("stack_rnn", 2, 4, 2, seed=1, memory=memory, capacity=C, width=3)
        g = np.random.default_rng(0).normal(0.0, 1.0, net.n_params)
        lay = {b.name: b for b in net.layout}
        S = 2 if memory == "deque" else 1
        # weak pushes, almost no pops: reads reach far down, where a small memory forgets
        g[lay["W_mem"].offset:lay["W_mem"].offset + 2 * S * 4] *= 0.1
        g[lay["b_mem"].offset:lay["b_mem"].offset + 2 * S] = [-2.0] * S + [-5.0] * S
        net.genome = g
        out[C] = net.forward(X)
    np.testing.assert_array_equal(out[12], out[256])
    assert not np.allclose(out[5], out[256])
    np.testing.assert_array_equal(out[5][:, :5], out[256][:, :5])


def test_genome_layout_follows_the_options():
    net = evornn.Network("stack_rnn", 3, 4, 2, memory="deque", width=5, readout="sigmoid")
    shapes = {b.name: b.shape for b in net.layout}
    # the controller sees the input and both reads; m holds d, u (both ends) and two values
    assert shapes == {"W_ih": (16, 3 + 10), "W_hh": (16, 4), "b": (16,), "W_mem": (2 * 2 + 2 * 5, 4),
                      "b_mem": (14,), "W_out": (2, 4), "b_out": (2,)}
    net = evornn.Network("stack_rnn", 3, 4, 2, controller="elman", width=2)
    assert {b.name: b.shape for b in net.layout}["W_ih"] == (4, 5)
    net = evornn.Network("stack_rnn", 3, 4, 2, controller="dense", width=2)
    shapes = {b.name: b.shape for b in net.layout}
    # no W_hh: the controller's only state is the memory
    assert "W_hh" not in shapes and shapes["W_ih"] == (4, 5)
    assert net.n_params == 4 * 5 + 4 + 4 * 4 + 4 + 2 * 4 + 2


def test_training_noise_is_seeded_and_only_in_training():
    torch = pytest.importorskip("torch")
    net = evornn.Network("stack_rnn", 3, 4, 2, memory="queue", controller="dense", width=2, noise=2.0)
    X = np.random.default_rng(0).normal(size=(2, 6, 3))
    twin, x = net.to_torch(), torch.as_tensor(X)
    part = next(m for m in twin.modules() if hasattr(m, "seed_noise"))
    with torch.no_grad():                          # no gradient: the function itself
        np.testing.assert_allclose(twin(x).numpy(), net.forward(X), atol=1e-12)
    runs = []
    for seed in ((1, 0, 0), (1, 0, 0), (1, 0, 1)):
        part.seed_noise(seed)
        runs.append(twin(x).detach().numpy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert np.abs(runs[0] - net.forward(X)).max() > 1e-3 and np.abs(runs[0] - runs[2]).max() > 1e-3
