"""CTRNNs as roboticists use them: unit genes mapped onto ranges, center-crossing
networks, and sensors and motors named by the problems."""
import json
import subprocess
import sys

import numpy as np
import pytest

import evornn
from evornn.problem import Problem, get_problem
from evornn.problems import walker

# ---------------------------------------------------------------------------------------
# gene mapping


def packed(net):
    """The kernel parameters of a one-layer ctrnn/mtrnn: W [H, H], W_in [H, I], theta,
    tau, gain, and the rest (the readout)."""
    lay, w = net.layers[0], net._packed[0]
    H, I = lay.n_hidden, lay.n_in
    p = (H + I) * H
    return (w[:H * H].reshape(H, H).T, w[H * H:p].reshape(I, H).T, w[p:p + H],
            1.0 / w[p + H:p + 2 * H], w[p + 2 * H:p + 3 * H], w[p + 3 * H:])


def test_raw_genes_pack_as_before_bit_for_bit():
    """genes='raw' (the default) is the genome itself, tau clipped: exactly, no rounding."""
    net = evornn.Network("ctrnn", 2, 4, 2, seed=1, gains=True)
    g = net.genome
    g[net.layout[3].offset] = 50.0                                # tau clipped to 10
    net.genome = g
    W, W_in, theta, tau, gain, _ = packed(net)
    np.testing.assert_array_equal(W, net.block("W"))
    np.testing.assert_array_equal(W_in, net.block("W_in"))
    np.testing.assert_array_equal(theta, net.block("theta"))
    w = net._packed[0]
    np.testing.assert_array_equal(w[28:32], 1.0 / np.clip(net.block("tau"), 0.5, 10.0))
    np.testing.assert_array_equal(gain, net.block("gain"))
    assert net.options == {"gains": True} and net.layers[0].opts["genes"] == "raw"
    assert np.isinf(net.bounds()[0][:8]).all()                    # raw weights are unbounded


@pytest.mark.parametrize("arch,options", [
    ("ctrnn", {}), ("ctrnn", {"gains": True, "readout": "linear", "integrator": "rk4"}),
    ("mtrnn", {"readout": "tanh"})])
def test_unit_genes_are_bounded_and_the_initial_network_is_the_raw_one(arch, options):
    raw = evornn.Network(arch, 2, 4, 2, seed=3, **options)
    unit = evornn.Network(arch, 2, 4, 2, seed=3, genes="unit", **options)
    lo, hi = unit.bounds()
    assert (lo == -1).all() and (hi == 1).all() and (np.abs(unit.genome) <= 1).all()
    assert [(b.name, b.shape) for b in unit.layout] == [(b.name, b.shape) for b in raw.layout]
    X = np.random.default_rng(0).standard_normal((3, 30, 2))
    np.testing.assert_allclose(unit.forward(X), raw.forward(X), rtol=0, atol=1e-12)


def test_unit_genes_map_linearly_onto_their_ranges():
    net = evornn.Network("ctrnn", 2, 3, 2, genes="unit", gains=True, readout="linear",
                         weight_range=4.0, tau_range=(1.0, 3.0))
    g = np.random.default_rng(2).uniform(-1, 1, net.n_params)
    tau_genes = np.array([-1.0, 0.25, 1.7])                        # 1.7 lies outside: clipped
    g[net.layout[3].offset:net.layout[3].offset + 3] = tau_genes
    net.genome = g
    W, W_in, theta, tau, gain, ro = packed(net)
    np.testing.assert_array_equal(W, 4.0 * net.block("W"))
    np.testing.assert_array_equal(W_in, 4.0 * net.block("W_in"))
    np.testing.assert_array_equal(theta, 4.0 * net.block("theta"))
    np.testing.assert_allclose(tau, [1.0, 2.25, 3.0], rtol=1e-15)
    np.testing.assert_allclose(gain, 0.05 + (net.block("gain") + 1) / 2 * 19.95, rtol=1e-14)
    W_out, b_out = 4.0 * net.block("W_out"), 4.0 * net.block("b_out")
    np.testing.assert_array_equal(ro, np.concatenate([W_out.ravel(), W_out.T.ravel(), b_out]))


def test_every_path_sees_the_mapping():
    """population_forward, Network.step and the walker's compiled episode: a unit genome
    behaves as the raw genome of its parameters."""
    unit = evornn.Network("ctrnn", 1, 5, 3, genes="unit", dt=0.1)
    raw = evornn.Network("ctrnn", 1, 5, 3, dt=0.1)
    rng = np.random.default_rng(5)
    G = rng.uniform(-1, 1, (4, unit.n_params))
    tau = slice(unit.layout[3].offset, unit.layout[3].offset + 5)
    G[:, tau] = rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], (4, 5))   # tau 0.5 .. 10, exact
    R = 16.0 * G
    R[:, tau] = 0.5 + (G[:, tau] + 1) * 4.75
    np.testing.assert_array_equal(walker.evaluate(unit, G), walker.evaluate(raw, R))
    X = rng.uniform(-5, 5, (2, 40, 1))
    np.testing.assert_allclose(evornn.population_forward(unit, G, X),
                               evornn.population_forward(raw, R, X), rtol=0, atol=1e-12)
    unit.genome, raw.genome = G[0], R[0]
    for t in range(40):
        np.testing.assert_allclose(unit.step(X[0, t]), raw.step(X[0, t]), rtol=0, atol=1e-12)
    assert np.ptp(walker.evaluate(unit, G)) > 1.0                  # the walkers differ


@pytest.mark.parametrize("options,message", [
    ({"genes": "bits"}, "ctrnn: option genes='bits' is not allowed; choose one of 'raw', 'unit'"),
    ({"init": "zero"}, "ctrnn: option init='zero' is not allowed; choose one of 'random', "
                       "'center-crossing'"),
    ({"weight_range": 0}, "ctrnn: option weight_range=0 must be a positive number"),
    ({"weight_range": "16"}, "ctrnn: option weight_range='16' must be a positive number"),
])
def test_bad_gene_options_name_the_choices(options, message):
    with pytest.raises(ValueError) as e:
        evornn.Network("ctrnn", 1, 3, 1, **options)
    assert str(e.value) == message
    with pytest.raises(ValueError, match="mtrnn: option"):
        evornn.Network("mtrnn", 1, 4, 1, **options)


# ---------------------------------------------------------------------------------------
# center crossing


def net_inputs_at_half(net):
    """Every neuron's sigmoid argument g_i (y_i + theta_i) at y_i = sum_j W[i, j] * 0.5,
    the state where all firing rates are 0.5, from the kernel's own parameters."""
    W, _, theta, _, gain, _ = packed(net)
    return gain * (W @ np.full(len(theta), 0.5) + theta)


@pytest.mark.parametrize("arch,options", [
    ("ctrnn", {}), ("ctrnn", {"genes": "unit"}),
    ("ctrnn", {"genes": "unit", "gains": True, "weight_range": 8.0}), ("ctrnn", {"gains": True}),
    ("mtrnn", {}), ("mtrnn", {"genes": "unit"})])
def test_center_crossing_puts_every_neuron_at_the_centre_of_its_sigmoid(arch, options):
    net = evornn.Network(arch, 2, 6, 2, seed=4, **options)
    g = net.genome
    if net.layers[0].opts["genes"] == "raw":
        g[:36] = np.random.default_rng(1).uniform(-16, 16, 36)      # Beer's weight range
    else:
        g[:36] = np.random.default_rng(1).uniform(-0.3, 0.3, 36)    # biases stay in range
    before = net_inputs_at_half(net)
    net.genome = evornn.center_crossing(net, g)
    assert np.abs(net_inputs_at_half(net)).max() < 1e-12 < np.abs(before).max()
    W_genes = net.block("W")
    np.testing.assert_array_equal(net.block("W"), g[:36].reshape(6, 6))   # weights untouched
    np.testing.assert_allclose(net.block("theta"), -W_genes.sum(1) / 2, rtol=1e-15)


@pytest.mark.parametrize("genes", ["raw", "unit"])
def test_center_crossing_initial_network(genes):
    """init='center-crossing': random weights as usual, center-crossing biases; a problem
    with x0='init' starts its search there."""
    net = evornn.Network("ctrnn", 1, 5, 3, seed=7, genes=genes, init="center-crossing")
    plain = evornn.Network("ctrnn", 1, 5, 3, seed=7, genes=genes)
    np.testing.assert_array_equal(net.block("W"), plain.block("W"))
    assert np.abs(net_inputs_at_half(net)).max() < 1e-12
    assert np.abs(net_inputs_at_half(plain)).max() > 0.1
    import dataclasses

    from evornn.run import problem_optimizer
    prob = dataclasses.replace(walker.PROBLEM, x0="init", arch_options={
        "dt": 0.1, "genes": genes, "init": "center-crossing"})
    start = prob.network(seed=7)
    opt = problem_optimizer(prob, start, "xnes", 7)
    np.testing.assert_array_equal(opt.x0, net.genome)


def test_center_crossing_out_of_range_and_wrong_networks_are_errors():
    net = evornn.Network("ctrnn", 1, 4, 1, genes="unit")
    g = net.genome
    g[:16] = 0.9                                                    # theta would be -1.8
    with pytest.raises(ValueError, match=r"center crossing needs biases of 28.8 \(neurons 0, 1, 2, "
                                         r"3\), beyond weight_range=16: raise weight_range"):
        evornn.center_crossing(net, g)
    with pytest.raises(ValueError, match="center crossing is defined for ctrnn and mtrnn layers; "
                                         "this network has lstm"):
        evornn.center_crossing(evornn.Network("lstm", 1, 4, 1))
    with pytest.raises(ValueError, match="genome must have 28 genes"):
        evornn.center_crossing(net, np.zeros(5))


# ---------------------------------------------------------------------------------------
# named sensors and motors


def test_problems_name_their_sensors_and_motors():
    w = get_problem("walker")
    assert w.inputs == ("leg angle",) and w.outputs == ("foot", "backward swing", "forward swing")
    assert get_problem("dpnv").inputs == ("cart position", "pole 1 angle", "pole 2 angle",
                                          "bias (0.5)")
    for name in ("double-pole", "single-pole", "oscillator", "parity"):
        p = get_problem(name)
        assert (len(p.inputs), len(p.outputs)) == (p.n_in, p.n_out)
    assert get_problem("parity").inputs == ("in_0",)
    net = w.network()
    assert (net.inputs, net.outputs) == (w.inputs, w.outputs)


def test_gym_problems_name_observations_and_actions():
    pytest.importorskip("gymnasium")
    p = get_problem("gym:CartPole-v1")
    assert p.inputs == ("obs_0", "obs_1", "obs_2", "obs_3") and p.outputs == ("action_0", "action_1")


def test_names_of_the_wrong_length_are_a_clear_error():
    kw = dict(description="", evaluate=None, solved=None)
    with pytest.raises(ValueError) as e:
        Problem("mine", n_in=2, n_out=1, inputs=("left eye",), **kw)
    assert str(e.value) == ("problem 'mine': inputs has 1 names ('left eye',), but n_in is 2: give "
                            "one name per input")
    with pytest.raises(ValueError, match="problem 'mine': outputs must be a sequence of 1 names"):
        Problem("mine", n_in=2, n_out=1, outputs="motor", **kw)
    with pytest.raises(ValueError, match="outputs has 2 names"):
        evornn.Network("ctrnn", 1, 3, 1, outputs=("a", "b"))


def test_list_eval_report_and_load_show_the_names(tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "evornn", *args], capture_output=True,
                              text=True, cwd=tmp_path)
    r = cli("list")
    assert "inputs: leg angle; outputs: foot, backward swing, forward swing" in r.stdout
    r = cli("run", "walker", "--seed", "2", "--quiet", "--out", str(tmp_path / "runs"))
    assert r.returncode == 0, r.stderr
    d = tmp_path / "runs" / "walker-ctrnn-xnes-s2"
    r = cli("eval", str(d))
    assert r.stdout.splitlines()[-1] == "inputs: leg angle; outputs: foot, backward swing, forward swing"
    net = evornn.load(d)
    assert net.outputs == ("foot", "backward swing", "forward swing")
    from evornn.report import neuron_labels
    assert neuron_labels(net, 5) == ["neuron 0 (foot)", "neuron 1 (backward swing)",
                                     "neuron 2 (forward swing)", "neuron 3", "neuron 4"]
    assert json.loads((d / "summary.json").read_text())["solved"]


def test_a_problem_file_runs_walker_with_unit_genes_from_a_center_crossing_start(tmp_path):
    """What docs/problems.md shows a Beer-lab user: the walker with genes in [-1, 1] (+-16, tau in
    [0.5, 10]) whose search starts from a center-crossing network."""
    from evornn.run import RunConfig, start
    f = tmp_path / "beer_walker.py"
    f.write_text("import dataclasses\nfrom evornn.problems import walker\n"
                 "PROBLEM = dataclasses.replace(walker.PROBLEM, x0='init', sigma0=0.25, arch_options="
                 "{'dt': 0.1, 'genes': 'unit', 'init': 'center-crossing'})\n")
    prob = get_problem(str(f))
    cfg = RunConfig(problem=str(f), arch="ctrnn", hidden=5, optimizer="xnes", popsize=20,
                    sigma0=prob.sigma0, max_evals=2000, seed=1)
    d, s = start(cfg, tmp_path, quiet=True)
    assert s["solved"] and s["velocity"] >= 0.62 and s["evaluations"] <= 2000   # measured: 220
    net = evornn.load(d)
    assert net.layers[0].opts["genes"] == "unit" and (np.abs(net.genome) <= 1).all()
    assert net.outputs == ("foot", "backward swing", "forward swing")
