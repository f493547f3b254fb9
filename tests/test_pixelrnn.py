"""pixelrnn: each pixel's output sees exactly the pixels its variant reaches before it (numba
kernels and torch twin, exhaustively on small images), one-line errors, and the digits-nll
problem (its NLL, its loss, BPTT within a budget)."""
import numpy as np
import pytest

import evornn

R, C = 4, 5


def _net(variant, seed=0, **kw):
    net = evornn.Network("pixelrnn", R * C, 3, R * C, seed=seed, variant=variant,
                         image=f"{R},{C}", **kw)
    net.genome = np.random.default_rng(seed).normal(0.0, 0.8, net.n_params)
    return net


def _seen(variant) -> np.ndarray:
    """seen[p, q]: whether pixel q (raster order) reaches the output at pixel p."""
    s = np.zeros((R * C, R * C), bool)
    for r in range(R):
        for c in range(C):
            for r2 in range(R):
                for c2 in range(C):
                    if variant == "diagonal":          # every pixel before p
                        ok = (r2, c2) < (r, c)
                    else:                               # left in its row; the triangle above
                        ok = (r2 == r and c2 < c) or (r2 < r and c2 <= c + (r - r2))
                    s[r * C + c, r2 * C + c2] = ok
    return s


def _flips(seed=1):
    """A random binary image, then that image with each pixel q flipped in turn: [1 + N, N]."""
    x = (np.random.default_rng(seed).random(R * C) < 0.5).astype(float)
    X = np.repeat(x[None], R * C + 1, 0)
    X[1 + np.arange(R * C), np.arange(R * C)] = 1 - x
    return X


@pytest.mark.parametrize("variant", ["row", "diagonal"])
def test_each_output_sees_exactly_its_receptive_field_in_numba_and_twin(variant):
    """Flipping pixel q changes the output at p exactly when q is in p's receptive field: never
    at or after p (raster order); the diagonal variant sees every pixel before p, the row
    variant the pixels left of p in its row and a triangle of the rows above (the paper's
    Row LSTM field: row r - k up to column c + k)."""
    torch = pytest.importorskip("torch")
    net = _net(variant)
    X = _flips()
    seen = _seen(variant)
    assert not np.any(np.triu(seen))                        # q >= p: never
    y = net.forward(X[:, None])[:, 0]                       # [1 + N, N]
    with torch.no_grad():
        yt = net.to_torch()(torch.from_numpy(X[:, None])).numpy()[:, 0]
    for out in (y, yt):
        changed = np.abs(out[1:] - out[0]).T                 # [p, q]
        assert np.all(changed[~seen] == 0.0)
        assert changed[seen].min() > 1e-9
    np.testing.assert_allclose(y, yt, atol=1e-12, rtol=0)


@pytest.mark.parametrize("kw,message", [
    ({"variant": "column"}, "pixelrnn: option variant='column' is not allowed; choose one of "
                            "'row', 'diagonal'"),
    ({"image": "8"}, "pixelrnn: option image='8' must be \"R,C\": two integers >= 2 (rows, columns)"),
    ({"image": "1,64"}, "pixelrnn: option image='1,64' must be \"R,C\": two integers >= 2 "
                        "(rows, columns)"),
    ({"readout": "tanh"}, "pixelrnn: readout='tanh' is not allowed; choose one of 'linear', "
                          "'sigmoid'"),
])
def test_bad_options_are_one_line_errors(kw, message):
    with pytest.raises(ValueError) as e:
        evornn.Network("pixelrnn", 64, 4, 64, **kw)
    assert str(e.value) == message


def test_images_of_the_wrong_size_and_stacks_are_one_line_errors():
    with pytest.raises(ValueError) as e:
        evornn.Network("pixelrnn", 28 * 28, 4, 28 * 28)
    assert str(e.value) == ("pixelrnn: an image of 8 x 8 pixels (one binary channel) needs n_in = "
                            "n_out = 64, got n_in = 784, n_out = 784; set the option image=\"R,C\" "
                            "to the image's size")
    assert evornn.Network("pixelrnn", 784, 4, 784, image="28,28").n_out == 784
    with pytest.raises(ValueError, match="^pixelrnn must be the last layer of a stack and cannot "
                                         "be bidirectional: its outputs are the image's pixel"):
        evornn.Network("pixelrnn", 64, 4, 64, num_layers=2)


def test_digits_nll_is_the_bernoulli_nll_per_image_and_its_torch_loss():
    """The fitness is minus the mean over the batch of -sum_p log p(x_p), computed here from
    sigmoid probabilities pixel by pixel; the gradient form's loss is the same number."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from evornn.problem import get_problem
    prob = get_problem("digits-nll")
    net = prob.network(n_hidden=3, seed=0)
    G = net.genome + 0.3 * np.random.default_rng(0).standard_normal((2, net.n_params))
    f = prob.evaluate(net, G, (4, 2))
    X, Y, W = prob.batch((4, 2))
    assert X.shape == (100, 1, 64) and set(np.unique(X)) == {0.0, 1.0}
    for g, fit in zip(G, f):
        logits = evornn.population_forward(net, g[None], X.astype(np.float32))[0, :, 0].astype(float)
        p = 1.0 / (1.0 + np.exp(-logits))
        direct = -np.mean([sum(np.log(p[i, k] if X[i, 0, k] else 1 - p[i, k]) for k in range(64))
                           for i in range(len(X))])
        assert abs(fit - -direct) < 1e-9 * abs(direct)
        loss = prob.loss(torch.from_numpy(logits[:, None]), torch.from_numpy(Y), torch.from_numpy(W))
        assert abs(float(loss) - direct) < 1e-9 * direct


def test_digits_nll_refuses_networks_that_see_the_pixel_they_predict():
    pytest.importorskip("sklearn")
    from evornn.problem import get_problem
    prob = get_problem("digits-nll")
    net = evornn.Network("lstm", 64, 4, 64)
    with pytest.raises(ValueError, match="^digits-nll needs an autoregressive pixel model with "
                                         "logits out: arch pixelrnn with readout linear, got lstm"):
        prob.evaluate(net, net.genome[None], 0)


def test_digits_nll_without_scikit_learn_names_the_extra(monkeypatch):
    import sys

    from evornn.problems import digits_nll
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    digits_nll.load.cache_clear()
    try:
        with pytest.raises(ValueError) as e:
            digits_nll.load()
        assert str(e.value) == ("digits-nll needs scikit-learn's bundled digits: pip install "
                                "'evornn[digits]' (scikit-learn)")
    finally:
        digits_nll.load.cache_clear()


def test_bptt_lowers_the_test_nll_below_the_independent_pixels_baseline(tmp_path):
    """Within 100 Adam updates (lr 0.05) on batches of 100 images, a Row LSTM of 4 units gets a
    test NLL below the independent-Bernoulli baseline's 24.58 nats (benchmarks.pixelrnn;
    20.14 here)."""
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    from evornn.problem import get_problem
    from evornn.run import RunConfig, load, start
    cfg = RunConfig(problem="digits-nll", arch="pixelrnn", hidden=4, optimizer="bptt",
                    popsize=None, sigma0=1.0, max_evals=100, seed=0, options={"lr": 0.05})
    d, summary = start(cfg, tmp_path, quiet=True)
    net = load(d)
    _, info = get_problem("digits-nll").solved(net, net.genome, summary["best_fitness"])
    assert info["test_nll"] < 24.58
