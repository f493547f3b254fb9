"""The memristive device model (evornn/device.py) and runs evaluated through it."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import evornn
from evornn.device import (
    Memristive,
    drift,
    generation_rng,
    make_device,
    program,
    quantize,
    read,
    weight_mask,
    write,
)
from evornn.problem import get_problem
from evornn.run import RunConfig, read_best, start

HALVES = [-1.0, -0.5, 0.0, 0.5, 1.0]
EXACT = dict(write_noise=0.0, read_noise=0.0, drift_nu=0.0, drift_nu_std=0.0)


def genomes(P=6, D=40, seed=0):
    return np.random.default_rng(seed).normal(0, 2, (P, D))


def test_the_map_is_deterministic_given_the_seed():
    G, d = genomes(), make_device("memristive")
    a = program(G, np.random.default_rng(5), d)
    b = program(G, np.random.default_rng(5), d)
    c = program(G, np.random.default_rng(6), d)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(program(G, generation_rng(3, 7), d), program(G, generation_rng(3, 7), d))


def test_levels_quantize_exactly_and_weights_beyond_the_range_clip():
    d = Memristive(levels=9, g_min=2.0, g_max=10.0, w_max=4.0, **EXACT)
    G = np.array([[0.0, 0.9, -0.9, 1.3, -2.6, 3.99, 4.0, 7.5, -100.0]])
    out = program(G, np.random.default_rng(0), d)
    step = 4.0 / 8                                   # w_max / (levels - 1)
    k = out / step
    assert np.allclose(k, np.rint(k), atol=1e-12, rtol=0)
    assert np.allclose(out, [[0.0, 1.0, -1.0, 1.5, -2.5, 4.0, 4.0, 4.0, -4.0]], atol=1e-12)
    g = quantize(np.array([1.0, 2.0, 2.4, 2.6, 10.0, 11.0]), d)
    assert np.allclose(g, [2.0, 2.0, 2.0, 3.0, 10.0, 10.0])


def test_without_w_max_each_genome_is_scaled_by_its_largest_weight():
    d = Memristive(levels=3, **EXACT)
    out = program(np.array([[4.0, 1.5, -3.0], [0.5, -0.2, 0.1]]), np.random.default_rng(0), d)
    assert np.allclose(out, [[4.0, 2.0, -4.0], [0.5, -0.25, 0.0]])    # steps of max|w| / 2


def test_noise_statistics_match_the_options():
    d = Memristive(levels=2 ** 20, w_max=1.0, write_noise=0.0, read_noise=0.02, drift_nu=0.0,
                   drift_nu_std=0.0)
    G = np.zeros((4000, 10))                      # zero weights: both devices at g_min + noise
    p = write(G, np.random.default_rng(1), d)
    w = read(p, np.random.default_rng(2), d)
    # w = (noise+ - noise-) * w_max / span, each noise of std read_noise * span
    assert w.std() == pytest.approx(np.sqrt(2) * 0.02, rel=0.02)
    d = replace(d, write_noise=0.05, read_noise=0.0, g_min=1.0, g_max=26.0)
    p = write(np.zeros((4000, 10)) + 0.0, np.random.default_rng(3), d)
    # at g_min the write noise is clipped from below: mean of max(0, N(0, s)) = s / sqrt(2 pi)
    assert p.g_plus.mean() - d.g_min == pytest.approx(0.05 * d.span / np.sqrt(2 * np.pi),
                                                    rel=0.03)
    mid = write(np.full((4000, 10), 0.5), np.random.default_rng(4), d)
    assert mid.g_plus.std() == pytest.approx(0.05 * d.span, rel=0.02)


def test_drift_follows_the_power_law_and_compensation_undoes_its_mean():
    g = drift(np.array([10.0]), 400.0, 20.0, 0.05)
    assert g[0] == pytest.approx(10.0 * 20.0 ** -0.05)
    nu = -np.log(drift(1.0, 2000.0, 20.0, 0.07) / drift(1.0, 200.0, 20.0, 0.07)) / np.log(10)
    assert nu == pytest.approx(0.07, abs=1e-12)
    G = np.array([[2.0, -1.0, 0.5]])
    d = Memristive(levels=2 ** 30, w_max=4.0, write_noise=0.0, read_noise=0.0, drift_nu=0.05,
                   drift_nu_std=0.0, drift_time=2000.0, drift_compensation=False)
    out = program(G, np.random.default_rng(0), d)
    assert np.allclose(out, G * (2000.0 / 20.0) ** -0.05, atol=1e-8)
    out = program(G, np.random.default_rng(0), replace(d, drift_compensation=True))
    assert np.allclose(out, G, atol=1e-8)


def test_neuron_parameters_are_not_conductances():
    net = evornn.Network("ctrnn", 2, 3, 1)
    mask = weight_mask(net)
    tau = [b for b in net.layout if b.name == "tau"][0]
    assert not mask[tau.offset:tau.offset + tau.size].any()
    assert mask.sum() == net.n_params - tau.size
    G = net.genome[None] * 3
    out = program(G, np.random.default_rng(0), make_device("memristive"), mask)
    assert np.array_equal(out[:, ~mask], G[:, ~mask]) and not np.allclose(out[:, mask], G[:, mask])


@pytest.mark.parametrize("name, options, text", [
    ("memristor", {}, "unknown device 'memristor' (did you mean 'memristive'?); valid: memristive"),
    ("memristive", {"lvls": 3}, "unknown memristive device option 'lvls' (did you mean 'levels'?)"),
    ("memristive", {"levels": 1}, "memristive: option levels=1 must be an integer >= 2"),
    ("memristive", {"levels": 8.5}, "memristive: option levels=8.5 must be an integer >= 2"),
    ("memristive", {"read_noise": -0.1}, "option read_noise=-0.1 must be a non-negative number"),
    ("memristive", {"g_max": 0}, "memristive: option g_max=0.0 must be a positive number"),
    ("memristive", {"g_min": 30}, "memristive: option g_max=25.0 must be > g_min (30.0)"),
    ("memristive", {"w_max": -1}, "memristive: option w_max=-1 must be a positive number"),
    ("memristive", {"drift_time": 5}, "option drift_time=5.0 must be >= drift_t0 (20.0)"),
    ("memristive", {"drift_compensation": 1}, "option drift_compensation=1 must be true or false"),
    (None, {"levels": 3}, "--device-option levels: device options need --device memristive"),
])
def test_bad_options_are_one_line_naming_them(name, options, text):
    with pytest.raises(ValueError) as e:
        make_device(name, options)
    assert text in str(e.value) and "\n" not in str(e.value)


def test_the_command_line_refuses_a_bad_device_option(capsys):
    from evornn.cli import main
    assert main(["run", "parity", "--device", "memristive", "--device-option",
                 "write_noise=-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: memristive: option write_noise=-1.0 must be a non-negative number"


def _cfg(**kw) -> RunConfig:
    prob = get_problem("parity")
    base = dict(problem="parity", arch="elman", hidden=3, optimizer="snes", popsize=8,
                sigma0=prob.sigma0, max_evals=48, seed=4, device="memristive")
    return RunConfig(**{**base, **kw})


def _fitness(d: Path) -> np.ndarray:
    rows = (d / "metrics.csv").read_text().splitlines()
    col = rows[0].split(",").index("best")
    return np.array([float(r.split(",")[col]) for r in rows[1:]])


def test_a_lossless_device_run_equals_the_ideal_run(tmp_path):
    exact = {**EXACT, "levels": 2 ** 40, "w_max": 1e3}
    d0, _ = start(_cfg(device=None), root=tmp_path / "ideal", quiet=True)
    d1, _ = start(_cfg(device_options=exact), root=tmp_path / "device", quiet=True)
    f0, f1 = _fitness(d0), _fitness(d1)
    assert len(f0) == 6 and np.allclose(f0, f1, atol=1e-6, rtol=0)
    assert json.loads((d1 / "config.json").read_text())["device_options"]["levels"] == 2 ** 40


def test_a_device_run_is_the_same_on_one_and_two_threads_and_keeps_the_ideal_genome(tmp_path):
    d1, s1 = start(_cfg(workers=1), root=tmp_path / "one", quiet=True)
    d2, s2 = start(_cfg(workers=2), root=tmp_path / "two", quiet=True)
    assert np.array_equal(_fitness(d1), _fitness(d2)) and s1["best_fitness"] == s2["best_fitness"]
    g1, f1, _ = read_best(d1)
    g2, _, _ = read_best(d2)
    assert np.array_equal(g1, g2)
    # best.npz holds the ideal genome, with the fitness its programmed copy scored (three
    # noiseless levels store weights as -1, -0.5, 0, 0.5 or 1)
    three = {**EXACT, "levels": 3, "w_max": 1.0}
    d, _ = start(_cfg(device_options=three), root=tmp_path / "three", quiet=True)
    g, f, _ = read_best(d)
    assert not np.isin(g, HALVES).all()
    gen = int(np.flatnonzero(_fitness(d) == f)[0])
    prob = get_problem("parity")
    net = prob.network("elman", 3, seed=4)
    programmed = program(g[None], np.random.default_rng(0), make_device("memristive", three))
    assert np.isin(programmed, HALVES).all()
    assert float(prob.evaluate(net, programmed, (4, gen))[0]) == f


def test_a_stopped_device_run_resumes_to_the_uninterrupted_result(tmp_path):
    import dataclasses

    from evornn.listeners import atomic_write
    from evornn.run import CONFIG, new_run_dir, run_loop
    cfg = _cfg(max_evals=40)
    whole, _ = start(cfg, root=tmp_path / "whole", quiet=True)
    d = new_run_dir(tmp_path / "parts", cfg)
    atomic_write(d / CONFIG, json.dumps(dataclasses.asdict(cfg)).encode())
    run_loop(d, quiet=True, stop_after=2)
    assert len(_fitness(d)) == 2
    run_loop(d, quiet=True)
    assert np.array_equal(_fitness(d), _fitness(whole)) and len(_fitness(d)) == 5
    assert np.array_equal(read_best(d)[0], read_best(whole)[0])


def test_with_samples_a_genome_scores_the_mean_of_its_copies_and_is_solved_when_all_pass(tmp_path):
    from types import SimpleNamespace

    from evornn.run import _solved
    exact = {**EXACT, "levels": 2 ** 40, "w_max": 1e3}
    d1, _ = start(_cfg(device_options=exact), root=tmp_path / "one", quiet=True)
    d3, _ = start(_cfg(device_options={**exact, "samples": 3}), root=tmp_path / "three",
                  quiet=True)
    assert np.allclose(_fitness(d1), _fitness(d3), atol=1e-9, rtol=0)
    prob = SimpleNamespace(solved=lambda net, g, f: (f > 0, {"f": f}))
    Gd = np.zeros((6, 2))
    assert _solved(prob, None, Gd, 1, 3, np.array([1.0, 2.0, 3.0])) == (True, {"f": 3.0})
    assert _solved(prob, None, Gd, 1, 3, np.array([1.0, -2.0, 3.0]))[0] is False


def test_list_shows_the_device_and_its_options(capsys):
    from evornn.cli import main
    assert main(["list", "--options", "memristive"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("options of the device memristive (--device-option KEY=VALUE):")
    assert [line.split()[:2] for line in out.splitlines()[1:3]] == [["levels", "64"],
                                                                    ["g_min", "0.0"]]
    assert main(["list"]) == 0
    assert "\n  memristive " in capsys.readouterr().out


def test_noise_aware_gradients_step_the_ideal_weights_by_the_programmed_weights_gradient():
    """device_noise: an update's gradient is taken at the programmed weights w + d (d drawn
    from the update's seed), and the step moves w: SGD gives w - lr grad(w + d), which one
    ideal step from w + d, less d, reproduces; the same seed draws the same d."""
    pytest.importorskip("torch")
    from evornn.bptt import GradientTrainer
    prob = get_problem("parity")
    net = prob.network("elman", 3, seed=1)
    dev = make_device("memristive")
    sgd = dict(method="sgd", momentum=0.0, clip=None, lr=0.5, updates=1)
    w = net.genome.copy()
    noisy = [GradientTrainer("bptt", prob, net, seed=2, device=dev, device_noise=True, **sgd)
             for _ in range(2)]
    got = [tr.ask()[0] for tr in noisy]
    d = program(w[None], np.random.default_rng([2, 0, 0, 0x6E6F6973]), dev, weight_mask(net))[0] - w
    at_noisy = GradientTrainer("bptt", prob, net, seed=2, x0=w + d, **sgd).ask()[0] - d
    ideal = GradientTrainer("bptt", prob, net, seed=2, **sgd).ask()[0]
    assert np.array_equal(got[0], got[1])
    np.testing.assert_allclose(got[0], at_noisy, rtol=0, atol=1e-12)
    step_noisy, step_ideal = got[0] - w, ideal - w
    assert np.abs(step_noisy - step_ideal).max() > 0.1 * np.abs(step_ideal).max()
    with pytest.raises(ValueError) as e:
        GradientTrainer("bptt", prob, net, seed=2, device_noise=True)
    assert str(e.value) == ("device_noise trains on weights programmed onto simulated devices: "
                            "it needs a device model (--device memristive)")


def test_read_noise_every_evaluation_leaves_a_default_device_run_as_it_was(tmp_path):
    import hashlib
    d, _ = start(_cfg(), root=tmp_path, quiet=True)
    # the fitness of this run measured before read_noise_every existed
    assert hashlib.sha256(_fitness(d).tobytes()).hexdigest() == \
        "391c7d77ebb0ca326acb3ff2c185853a86c00362c858f14c2542a8db6e2b3d4e"


def test_step_reads_draw_fresh_noise_every_step_with_the_options_std():
    from evornn.device import program_stepwise
    from evornn.population import reading
    net = evornn.Network("elman", 1, 1, 1)                 # W_ih, W_hh, b, W_out, b_out
    g = np.array([[0.0, 0.0, 0.0, 0.0, 1.0]])
    d = Memristive(levels=2 ** 20, w_max=1.0, read_noise=0.02, write_noise=0.0, drift_nu=0.0,
                   drift_nu_std=0.0, read_noise_every="step")
    base, reads = program_stepwise(g, np.random.default_rng(0), d, weight_mask(net))
    assert np.allclose(base, g, atol=1e-5)                    # no read noise in the base
    X = np.zeros((1, 4000, 1))
    with reading(reads):
        y = evornn.population_forward(net, base, X)[0, 0, :, 0]
    # y_t = b_out + its noise, plus products of noises (std 0.02^2): each step a new read
    # of std sqrt(2) * read_noise * w_max
    assert np.all(y[1:] != y[:-1]) and np.std(y) == pytest.approx(0.02 * np.sqrt(2), rel=0.08)
    assert abs(np.mean(y) - 1.0) < 4 * 0.03 / np.sqrt(len(y))
    with reading(reads):                                      # a second pass: new draws
        y2 = evornn.population_forward(net, base, X)[0, 0, :, 0]
    assert not np.allclose(y, y2)
    # the same seed reads the same noise; outside `reading` the base runs noiselessly
    _, again = program_stepwise(g, np.random.default_rng(0), d, weight_mask(net))
    with reading(again):
        assert np.array_equal(evornn.population_forward(net, base, X)[0, 0, :, 0], y)
    assert np.allclose(evornn.population_forward(net, base, X), 1.0, atol=1e-5)


def test_a_step_read_run_is_seeded_same_on_two_threads_and_resumes_identically(tmp_path):
    import dataclasses
    step = {"read_noise_every": "step"}
    d1, s1 = start(_cfg(device_options=step, workers=1), root=tmp_path / "one", quiet=True)
    d2, s2 = start(_cfg(device_options=step, workers=2), root=tmp_path / "two", quiet=True)
    d0, _ = start(_cfg(), root=tmp_path / "evaluation", quiet=True)
    assert np.array_equal(_fitness(d1), _fitness(d2)) and s1["best_fitness"] == s2["best_fitness"]
    assert not np.array_equal(_fitness(d1), _fitness(d0))
    from evornn.listeners import atomic_write
    from evornn.run import CONFIG, new_run_dir, run_loop
    cfg = _cfg(device_options=step)
    d = new_run_dir(tmp_path / "parts", cfg)
    atomic_write(d / CONFIG, json.dumps(dataclasses.asdict(cfg)).encode())
    run_loop(d, quiet=True, stop_after=2)
    run_loop(d, quiet=True)
    assert np.array_equal(_fitness(d), _fitness(d1)) and len(_fitness(d)) == 6


def test_read_noise_every_refuses_other_values_and_evaluations_it_cannot_step(tmp_path):
    with pytest.raises(ValueError, match="option read_noise_every='always' is not allowed; "
                                         "choose one of 'evaluation', 'step'"):
        make_device("memristive", {"read_noise_every": "always"})
    # a problem that steps its networks itself (as compiled episodes do) never sees the reads
    f = tmp_path / "own_loop.py"
    f.write_text("import numpy as np\nfrom evornn.problem import Problem\n"
                 "PROBLEM = Problem('own-loop', 'steps itself', n_in=1, n_out=1, "
                 "evaluate=lambda net, G, seed=None: -np.abs(G).sum(1), "
                 "solved=lambda n, g, f: (False, {}), arch='elman', n_hidden=2, "
                 "optimizer='snes', max_evals=16)\n")
    cfg = RunConfig(problem=str(f), arch="elman", hidden=2, optimizer="snes", popsize=8,
                    sigma0=0.5, max_evals=16, seed=0, device="memristive",
                    device_options={"read_noise_every": "step"})
    with pytest.raises(Exception, match="read_noise_every=step reads weights at each step of "
                                        "population_forward in this process"):
        start(cfg, root=tmp_path / "runs", quiet=True)
