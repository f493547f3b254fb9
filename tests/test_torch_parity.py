"""lstm, gru and elman against torch.nn itself, both directions of the conversion."""
import numpy as np
import pytest

import evornn

torch = pytest.importorskip("torch")
from evornn.arch.torch_twin import TorchTwin  # noqa: E402

TOL = {np.float32: 1e-5, np.float64: 1e-10}
CASES = [dict(), dict(num_layers=2), dict(num_layers=3), dict(bidirectional=True),
         dict(num_layers=2, bidirectional=True)]


def torch_out(module, X):
    with torch.no_grad():
        return module(torch.from_numpy(X.astype(np.float64))).numpy()


@pytest.mark.parametrize("arch", ["lstm", "gru", "elman"])
@pytest.mark.parametrize("H", [1, 7, 64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_torch(arch, H, dtype):
    net = evornn.Network(arch, 3, H, 2, seed=H)
    module = net.to_torch()
    X = np.random.default_rng(H).standard_normal((4, 25, 3))
    y = net.forward(X.astype(dtype))
    assert y.dtype == dtype
    np.testing.assert_allclose(y, torch_out(module, X), atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize("arch", ["lstm", "gru", "elman"])
@pytest.mark.parametrize("kw", CASES, ids=lambda kw: "-".join(f"{k}{v}" for k, v in kw.items()) or "single")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stacks_and_single_step_match_torch(arch, kw, dtype):
    net = evornn.Network(arch, 4, 6, 3, seed=5, **kw)
    module = net.to_torch()
    for T in (1, 9):
        X = np.random.default_rng(T).standard_normal((3, T, 4))
        np.testing.assert_allclose(net.forward(X.astype(dtype)), torch_out(module, X),
                                   atol=TOL[dtype], rtol=0)


def test_relu_elman_and_readout_activations_match_torch():
    for readout in ("tanh", "sigmoid"):
        net = evornn.Network("elman", 2, 5, 2, activation="relu", readout=readout, seed=2)
        X = np.random.default_rng(0).standard_normal((2, 11, 2))
        np.testing.assert_allclose(net.forward(X), torch_out(net.to_torch(), X), atol=1e-10)


@pytest.mark.parametrize("arch", ["lstm", "gru", "elman"])
def test_round_trips(arch):
    net = evornn.Network(arch, 3, 5, 2, num_layers=2, seed=9)
    back = evornn.Network.from_torch(net.to_torch())
    np.testing.assert_array_equal(back.genome, net.genome)

    # torch -> genome: torch's separate hidden biases fold into ours, same function
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "elman": torch.nn.RNN}[arch]
    torch.manual_seed(0)
    module = TorchTwin(cls(3, 5, num_layers=2, batch_first=True).double(),
                       torch.nn.Linear(5, 2).double())
    X = np.random.default_rng(1).standard_normal((2, 8, 3))
    net2 = evornn.Network.from_torch(module)
    np.testing.assert_allclose(net2.forward(X), torch_out(module, X), atol=1e-10)
    np.testing.assert_allclose(torch_out(net2.to_torch(), X), torch_out(module, X), atol=1e-10)


def test_bare_torch_module_converts_with_features_as_outputs():
    torch.manual_seed(3)
    lstm = torch.nn.LSTM(2, 4, batch_first=True).double()
    net = evornn.Network.from_torch(lstm)
    assert (net.n_out, net.layers[-1].opts["readout"]) == (4, "none")
    X = np.random.default_rng(2).standard_normal((2, 6, 2))
    with torch.no_grad():
        ref = lstm(torch.from_numpy(X))[0].numpy()
    np.testing.assert_allclose(net.forward(X), ref, atol=1e-10)


def test_no_twin_is_a_clear_error():
    with pytest.raises(ValueError, match="no torch twin for 'ctrnn'.*lstm, gru, elman"):
        evornn.Network("ctrnn", 2, 3, 1).to_torch()
    with pytest.raises(ValueError, match="one hidden size"):
        evornn.Network("lstm", 2, [3, 4], 1, num_layers=2).to_torch()
    with pytest.raises(ValueError, match="TorchTwin or a torch.nn.LSTM/GRU/RNN"):
        evornn.Network.from_torch(torch.nn.Linear(2, 2))
