"""Optimizers whose population lives in an array module: NumPy here (the same bits as
without one), CuPy on a GPU (population drawn, evaluated and ranked on the device)."""
import numpy as np
import pytest

import evornn
from evornn.optim.snes import nes_utilities
from evornn.optim.xp import array_namespace, host
from tests.gpu_cases import GPU, gpu

DEVICE = ["snes", "xnes", "es", "cmaes"]


def run(opt, gens: int, nan_at: int = 2) -> list:
    """gens generations on a shifted sphere, one genome failing (NaN) in generation nan_at;
    every asked population and the state dict at the end, on the host."""
    out = []
    for g in range(gens):
        X = opt.ask()
        f = -((host(X) - 0.3) ** 2).sum(1)
        if g == nan_at:
            f[1] = np.nan
        opt.tell(X, f)
        out.append(host(X))
    return out


@pytest.mark.parametrize("name", DEVICE)
def test_numpy_xp_is_the_optimizer_as_before(name):
    """xp=numpy (by name or module) runs the very same arithmetic as no xp: same bits."""
    kw = {"seed": 3, "popsize": 10, "bounds": (-1.0, 1.0)}
    ref = run(evornn.optimizer(name, 12, **kw), 5)
    for xp in ("numpy", np):
        got = run(evornn.optimizer(name, 12, xp=xp, **kw), 5)
        for a, b in zip(ref, got):
            np.testing.assert_array_equal(a, b)


def test_snes_host_stream_and_update_are_pinned():
    """The host path draws from default_rng([seed, 7919]) and takes SNES's update, bit for
    bit as before the array module came in (the same seeds give the same runs)."""
    D, P, seed = 7, 6, 5
    opt = evornn.optimizer("snes", D, seed=seed, popsize=P, sigma0=0.4, xp="numpy")
    s = np.random.default_rng([seed, 7919]).standard_normal((P, D))
    X = opt.ask()
    np.testing.assert_array_equal(X, 0.4 * s)
    f = -(X ** 2).sum(1)
    opt.tell(X, f)
    u = np.empty(P)
    u[np.argsort(-f, kind="stable")] = nes_utilities(P)
    sigma = np.full(D, 0.4)
    np.testing.assert_array_equal(opt.mean, sigma * (u @ s))
    eta = (3 + np.log(D)) / (5 * np.sqrt(D))
    np.testing.assert_array_equal(opt.sigma, sigma * np.exp(0.5 * eta * (u @ (s * s - 1.0))))


def test_es_host_population_is_still_seed_replayable():
    opt = evornn.optimizer("es", 9, seed=2, popsize=8, xp=np)
    X = opt.ask()
    assert opt.ships_seeds and opt.seeds.shape == (4,)
    np.testing.assert_array_equal(X, opt.population_from_seeds(opt.seeds))


def test_xp_refused_with_a_one_line_reason():
    with pytest.raises(ValueError, match="optimizer 'ga' keeps its population on the host; "
                                         "xp='cupy' is for cmaes, es, snes, xnes"):
        evornn.optimizer("ga", 5, xp="cupy")
    with pytest.raises(ValueError, match="xp must be 'numpy' or 'cupy'"):
        evornn.optimizer("snes", 5, xp="torch")
    assert evornn.optim.device_optimizers() == ["cmaes", "es", "snes", "xnes"]
    if GPU is None:
        with pytest.raises(RuntimeError, match="needs CuPy and a CUDA GPU"):
            array_namespace("cupy")


def test_population_device_needs_cupy_a_device_optimizer_and_no_device_model():
    from evornn.run import RunConfig, population_module
    cfg = RunConfig("adding", "gru", 1, "snes", 8, 0.5, 100, 0, population="device")
    with pytest.raises(ValueError, match="needs --backend cupy, not 'threads'"):
        population_module(cfg)
    cfg.backend = "cupy"
    assert population_module(cfg) == "cupy"
    cfg.optimizer = "pso"
    with pytest.raises(ValueError, match="optimizer 'pso' keeps its population on the host; the "
                                         "device takes cmaes, es, snes, xnes"):
        population_module(cfg)
    cfg.optimizer, cfg.device = "es", "memristive"
    with pytest.raises(ValueError, match="does not combine with --device"):
        population_module(cfg)
    cfg.population = "host"
    assert population_module(cfg) is None


def test_cli_refuses_a_device_population_before_the_run(tmp_path, capsys):
    from evornn.cli import main
    for flags, msg in ((["--population", "device"], "needs --backend cupy, not 'threads'"),
                       (["--population", "gpu"], "--population must be host or device, got 'gpu'")):
        assert main(["run", "adding", "--out", str(tmp_path), "--quiet", *flags]) == 2
        assert msg in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


# -- on a GPU -------------------------------------------------------------------------------

@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("name", ["snes", "xnes", "es"])
def test_device_population_reaches_the_host_runs_quality_on_sphere(name):
    """Drawn on the device (another stream), the search is as good: the sphere's best after
    the same budget within a factor of the host run's, both far below the start."""
    best = {}
    for xp in ("numpy", "cupy"):
        opt = evornn.optimizer(name, 10, seed=1, popsize=20, sigma0=0.5, x0=1.0, xp=xp)
        for _ in range(200):
            X = opt.ask()
            assert (type(X).__module__.split(".")[0]) == xp
            opt.tell(X, -(host(X) ** 2).sum(1))
        best[xp] = -opt.best[1]
    assert best["cupy"] < 1e-2 and best["numpy"] < 1e-2, best


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("name", DEVICE)
def test_device_runs_are_deterministic_and_checkpoint_to_host_arrays(name):
    """Same seed, same device: the same run. The state dict holds no device array, and a
    state dict taken between ask and tell continues bit-identically on the device; loaded
    into a host optimizer it carries on from the same mean."""
    def make(xp):
        return evornn.optimizer(name, 8, seed=4, popsize=12, bounds=(-2.0, 2.0), xp=xp)
    a, b = make("cupy"), make("cupy")
    for x, y in zip(run(a, 4), run(b, 4)):
        np.testing.assert_array_equal(x, y)
    a.ask()
    d = a.state_dict()
    assert not any(type(v).__module__.startswith("cupy") for v in d.values())
    if name == "es":            # pending perturbations are seeds of the device stream
        with pytest.raises(ValueError, match="taken between ask and tell on a device"):
            make("numpy").load_state_dict(d)
    c = make("cupy")
    c.load_state_dict(d)
    for x, y in zip(run(a, 3), run(c, 3)):
        np.testing.assert_array_equal(x, y)
    h = make("numpy")
    h.load_state_dict(a.state_dict())
    if hasattr(h, "mean"):
        assert isinstance(h.mean, np.ndarray)
        np.testing.assert_array_equal(h.mean, host(a.mean))
    run(h, 1)


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("name", ["snes", "es"])
def test_no_population_crosses_to_the_host_in_a_generation(name, monkeypatch):
    """ask, a forward pass of the whole population and tell: what the optimizer copies to the
    host (its only explicit copies go through host(); CuPy refuses implicit ones with a
    TypeError) is the fitness and the best genome, not the P x D population."""
    import cupy

    import evornn.optim.base as base
    from evornn.arrays import population_forward_array
    net = evornn.Network("lstm", 2, 4, 1, seed=0)
    P, X = 64, np.random.default_rng(0).standard_normal((3, 5, 2)).astype(np.float32)
    opt = evornn.optimizer(name, net.n_params, seed=0, popsize=P, xp="cupy")
    got = []

    def counted(a):
        got.append(a.nbytes if type(a).__module__.startswith("cupy") else 0)
        return host(a)
    monkeypatch.setattr(base, "host", counted)
    for _ in range(3):
        G = opt.ask()
        Y = population_forward_array(net, G, X, cupy)
        assert isinstance(G, cupy.ndarray) and isinstance(Y, cupy.ndarray)
        opt.tell(G, -(Y[:, :, -1, 0] ** 2).mean(1))
    assert 0 < sum(got) <= 3 * (P + net.n_params) * 8, got


@pytest.mark.gpu
@gpu
def test_the_array_path_takes_device_genomes_as_they_are():
    """Device genomes give what the same genomes from the host give, and are checked like
    them (shape, non-finite genes) with the same messages."""
    import cupy

    from evornn.arrays import population_forward_array
    net = evornn.Network("gru", 3, 5, 2, seed=0)
    G = np.random.default_rng(1).standard_normal((6, net.n_params))
    X = np.random.default_rng(2).standard_normal((4, 7, 3)).astype(np.float32)
    want = population_forward_array(net, G, X, cupy).get()
    np.testing.assert_array_equal(population_forward_array(net, cupy.asarray(G), X, cupy).get(), want)
    with pytest.raises(ValueError, match=f"genome must have {net.n_params} genes"):
        population_forward_array(net, cupy.asarray(G[:, 1:]), X, cupy)
    G[4, 9] = np.nan
    with pytest.raises(ValueError, match="genome 4 has a non-finite weight \\(nan\\) at gene 9"):
        population_forward_array(net, cupy.asarray(G), X, cupy)


@pytest.mark.gpu
@gpu
def test_a_cupy_run_with_its_population_on_the_device_checkpoints_host_arrays(tmp_path):
    from evornn import statefile
    from evornn.run import CHECKPOINT, RunConfig, start
    cfg = RunConfig("adding", "gru", 4, "snes", 64, 0.5, 3 * 64, 0, backend="cupy",
                    population="device")
    d, summary = start(cfg, tmp_path, quiet=True)
    assert summary["evaluations"] == 3 * 64 and np.isfinite(summary["best_fitness"])
    saved = statefile.loads((d / CHECKPOINT).read_bytes())["optimizer"]
    assert isinstance(saved["mean"], np.ndarray) and isinstance(saved["sigma"], np.ndarray)


@pytest.mark.skipif(GPU is not None, reason="a GPU machine runs the benchmark itself")
def test_the_gpu_benchmark_without_cupy_says_so_in_one_line(monkeypatch):
    from benchmarks import gpu
    monkeypatch.setattr("sys.argv", ["gpu", "--loop"])
    with pytest.raises(SystemExit) as e:
        gpu.main()
    msg = str(e.value.code)
    assert msg.startswith("error: the cupy backend needs CuPy and a CUDA GPU") and "\n" not in msg
