"""The locally recurrent network (lrnn): its filters against closed forms, bad options."""
from __future__ import annotations

import numpy as np
import pytest

from evornn import Network


def test_one_synapse_is_the_iir_filter_it_encodes():
    """H = 1, I = 1, an identity-like readout: tanh^-1 of the feature is the filter's output."""
    net = Network("lrnn", 1, 1, 1, zeros=1, poles=1, readout="none")
    g = np.zeros(net.n_params)
    g[net.layout[0].offset:net.layout[0].offset + 2] = [0.3, 0.2]      # b_0, b_1
    g[net.layout[1].offset] = 0.5                                      # a_1
    net.genome = g
    x = np.zeros((1, 6, 1))
    x[0, 0, 0] = 1.0                                                   # an impulse
    h = np.arctanh(net.forward(x)[0, :, 0])
    # impulse response of (0.3 + 0.2 z^-1) / (1 - 0.5 z^-1): 0.3, 0.35, 0.175, ...
    want = [0.3, 0.35] + [0.35 * 0.5 ** k for k in range(1, 5)]
    np.testing.assert_allclose(h, want, atol=1e-12)


def test_pole_bounds_keep_the_filters_stable():
    """|a_k| <= 0.99 / na, so sum_k |a_k| < 1 for every genome inside the bounds."""
    net = Network("lrnn", 2, 3, 1, poles=4)
    lo, hi = net.bounds()
    A = net.layout[1]
    assert A.name == "A"
    np.testing.assert_array_equal(hi[A.offset:A.offset + A.size], 0.99 / 4)
    np.testing.assert_array_equal(lo[A.offset:A.offset + A.size], -0.99 / 4)


@pytest.mark.parametrize("opts,msg", [
    ({"zeros": -1}, r"lrnn: option zeros=-1 must be an integer in 0\.\.16"),
    ({"poles": 17}, "poles=.* must be an integer in 0..16"),
    ({"poles": 1.5}, "poles=.* must be an integer in 0..16"),
    ({"zeros": 0, "poles": 0}, "zeros = 0 with poles = 0 leaves the synapses no memory"),
])
def test_bad_options_name_the_option_and_its_range(opts, msg):
    with pytest.raises(ValueError, match=msg) as e:
        Network("lrnn", 1, 2, 1, **opts)
    assert "\n" not in str(e.value)
