"""hrnn (clockwork RNN): modules tick at their periods, hear only slower modules, and bad
options are one-line errors."""
import numpy as np
import pytest

import evornn


def _states(net, X):
    """Every unit's state after every step (readout 'none' outputs h itself)."""
    return net.forward(X)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_module_that_does_not_tick_keeps_its_state_bit_for_bit(dtype):
    net = evornn.Network("hrnn", 2, 7, 7, modules=3, readout="none", seed=4)  # units 3, 2, 2
    X = np.random.default_rng(0).uniform(-1, 1, (3, 13, 2)).astype(dtype)
    h = _states(net, X)
    units = [range(0, 3), range(3, 5), range(5, 7)]
    for i, period in enumerate((1, 2, 4)):
        for t in range(1, 13):
            same = np.array_equal(h[:, t, units[i]], h[:, t - 1, units[i]])
            assert same == (t % period != 0), (i, t)


def test_the_genome_holds_no_weights_from_faster_to_slower_modules():
    net = evornn.Network("hrnn", 2, 6, 1, seed=1)                  # 4 modules: 2, 2, 1, 1 units
    shapes = {b.name: b.shape for b in net.layout}
    assert [shapes[f"W_hh_{i}"] for i in range(4)] == [(2, 6), (2, 4), (1, 2), (1, 1)]
    assert net.n_params == 6 * 2 + (12 + 8 + 2 + 1) + 6 + 6 + 1
    # an input seen only by the fastest module (step 1: only period 1 ticks) never reaches
    # the slower ones
    feats = evornn.Network("hrnn", 2, 6, 6, readout="none", seed=1)
    X = np.random.default_rng(2).uniform(-1, 1, (2, 20, 2))
    X2 = X.copy()
    X2[:, 1] += 1.0
    a, b = feats.forward(X), feats.forward(X2)
    np.testing.assert_array_equal(a[:, :, 2:], b[:, :, 2:])
    assert np.abs(a[:, 1:, :2] - b[:, 1:, :2]).min() > 0


def test_one_module_is_an_elman_network():
    hr = evornn.Network("hrnn", 3, 5, 2, modules=1, seed=3)
    el = evornn.Network("elman", 3, 5, 2, seed=3)
    assert [b.shape for b in hr.layout] == [b.shape for b in el.layout]
    el.genome = hr.genome                  # the same blocks in the same order
    X = np.random.default_rng(1).uniform(-1, 1, (2, 11, 3))
    np.testing.assert_allclose(hr.forward(X), el.forward(X), rtol=0, atol=1e-12)


def test_the_clock_lives_in_the_state():
    """Stepping across the periods' least common multiple (12 here) and resuming after a
    reset give what one pass gives."""
    net = evornn.Network("hrnn", 1, 4, 1, modules=3, periods=(1, 3, 4), seed=5)
    X = np.random.default_rng(3).uniform(-1, 1, (30, 1))
    want = net.forward(X)
    net.reset()
    got = np.array([net.step(x) for x in X])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kw,H,message", [
    ({"modules": 0}, 5, "hrnn: option modules=0 must be an integer >= 1"),
    ({"periods": (1, 1, 2, 4)}, 5, "hrnn: option periods=(1, 1, 2, 4) must be None or strictly "
                                   "increasing integers >= 1, one per module"),
    ({"periods": "fast"}, 5, "hrnn: option periods='fast' must be None or strictly increasing "
                             "integers >= 1, one per module"),
    ({"periods": (1, 2)}, 5, "hrnn: option periods=(1, 2) must give one period per module, "
                             "4 (option modules)"),
    ({"modules": 6}, 5, "hrnn: n_hidden=5 is fewer units than modules=6; each module needs at "
                        "least one unit"),
    ({"modules": 2, "periods": (4099, 4111)}, 5,
     "hrnn: option periods=(4099, 4111) has a least common multiple above 16777216 (2^24), "
     "where a float32 step counter is no longer exact"),
])
def test_bad_options_are_one_line_errors(kw, H, message):
    with pytest.raises(ValueError) as e:
        evornn.Network("hrnn", 3, H, 2, **kw)
    assert str(e.value) == message


def test_rows_at_different_steps_each_follow_their_own_clock():
    """A batch whose rows' counters differ (one restarted mid-run) steps each row as if it
    were alone (the kernel's per-row path against its one-product path)."""
    lay = evornn.Network("hrnn", 2, 6, 2, periods=(1, 2, 3, 5), seed=2).layers[0]
    fam, fixed = lay.family, lay.fixed_as(np.float64)
    w = np.zeros(lay.n_packed)
    fam.pack(np.random.default_rng(7).uniform(-1, 1, lay.n_genes), lay.cfg, fixed, w)
    X = np.random.default_rng(4).uniform(-1, 1, (2, 12, 2))

    def run(rows, starts):
        state, y, out = np.zeros(lay.n_state * len(rows) + 1), np.zeros((len(rows), 2)), []
        for t in range(12):
            for r, s in enumerate(starts):
                if t == s:               # restart row r: zero state, counter 0
                    B = len(rows)
                    state[r * 6:(r + 1) * 6] = 0
                    state[B * 12 + r] = 0
            fam.step(w, lay.cfg, fixed, state, X[rows, t], y)
            out.append(y.copy())
        return np.array(out)

    both = run([0, 1], [0, 5])
    np.testing.assert_allclose(both[:, 0], run([0], [0])[:, 0], rtol=0, atol=1e-13)
    np.testing.assert_allclose(both[5:, 1], run([1], [5])[5:, 0], rtol=0, atol=1e-13)
