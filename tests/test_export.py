"""export: JSON round trips bit for bit, ONNX graphs match population_forward to 1e-5 (or the
family is refused in one line), and the command writes the files or says why not."""
import json
from dataclasses import asdict

import numpy as np
import pytest

import evornn
from evornn import cli
from evornn.arch.dispatch import family
from evornn.export import JSON_MAX_GENES, from_json, onnx_refusal, to_json, to_onnx
from tests.family_cases import sized, twin_options

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("torch")


def _net(arch, opts=None, seed=1):
    opts = twin_options(arch, opts)
    net = evornn.Network(arch, *sized(arch, 3, 4, 2, opts), seed=seed, **opts)
    net.genome = net.genome + 0.3 * np.random.default_rng(seed).standard_normal(net.n_params)
    return net


@pytest.mark.parametrize("arch", evornn.architectures() + [["gru", "ctrnn"]], ids=str)
def test_json_round_trip_is_bit_identical(arch):
    net = _net(arch)
    d = json.loads(json.dumps(to_json(net)))            # through text, as a file holds it
    assert d["format"] == "evornn-network" and d["genome_size"] == net.n_params
    assert list(d["blocks"]) == [b.name for b in net.layout]
    back = from_json(d)
    assert back.genome.tobytes() == net.genome.tobytes()
    assert [lay.opts for lay in back.layers] == [lay.opts for lay in net.layers]
    assert [lay.fixed.tobytes() for lay in back.layers] == [lay.fixed.tobytes() for lay in net.layers]


def test_json_refuses_big_networks_and_foreign_files():
    big = evornn.Network("elman", 3, 320, 2)
    assert big.n_params > JSON_MAX_GENES
    with pytest.raises(ValueError, match=f"has {big.n_params} genes: JSON export is for small "
                                         f"networks \\(at most {JSON_MAX_GENES} genes\\)"):
        to_json(big)
    with pytest.raises(ValueError, match="not an evornn network file"):
        from_json({"format": "other"})


def _run(path, X):
    s = ort.InferenceSession(str(path))
    return s.run(None, {"x": X})[0]


@pytest.mark.parametrize("arch,opts", [(a, None) for a in evornn.architectures()]
                         + [("lstm", {"num_layers": 2}), (["gru", "ctrnn"], None)], ids=str)
def test_onnx_graphs_match_population_forward_or_are_refused(arch, opts, tmp_path):
    net = _net(arch, opts)
    seq_path, step_path = tmp_path / "n.onnx", tmp_path / "n-step.onnx"
    refusal = onnx_refusal(net)
    if isinstance(arch, str) and (family(arch).no_onnx or arch == "dnc"):
        with pytest.raises(ValueError) as e:
            to_onnx(net, seq_path, step_path)
        why = family(arch).no_onnx or "torch's exporter says Unsupported: ONNX export of operator Sort"
        assert str(e.value).startswith(f"{arch} does not export to ONNX: {why}")
        assert "\n" not in str(e.value) and not seq_path.exists()
        return
    assert refusal is None
    assert to_onnx(net, seq_path, step_path) == [seq_path, step_path]
    rng = np.random.default_rng(0)
    for B, T in ((2, 5), (3, 2)):                     # B and T are free in the graphs
        X = rng.standard_normal((B, T, net.n_in)).astype(np.float32)
        ref = evornn.population_forward(net, net.genome[None].astype(np.float32), X)[0]
        assert np.abs(_run(seq_path, X) - ref).max() < 1e-5
        step = ort.InferenceSession(str(step_path))
        state = np.zeros((B, step.get_inputs()[1].shape[1]), np.float32)
        ys = []
        for t in range(T):
            y, state = step.run(None, {"x": X[:, t], "state": state})
            ys.append(y)
        assert np.abs(np.stack(ys, 1) - ref).max() < 1e-5


def test_a_bidirectional_network_is_refused_in_one_line(tmp_path):
    net = evornn.Network("gru", 3, 4, 2, bidirectional=True)
    with pytest.raises(ValueError, match="^a bidirectional network does not export to ONNX: it "
                                         "reads its whole input at once"):
        to_onnx(net, tmp_path / "n.onnx")


def _run_dir(tmp_path):
    from evornn.problem import get_problem
    from evornn.run import CONFIG, RunConfig, save_best
    cfg = RunConfig(problem="parity", arch="gru", hidden=3, optimizer="xnes", popsize=4,
                    sigma0=1.0, max_evals=8, seed=1)
    d = tmp_path / "run"
    d.mkdir()
    (d / CONFIG).write_text(json.dumps(asdict(cfg)))
    save_best(d, cfg, get_problem("parity").network("gru", 3, seed=1).genome, 1.0)
    return d


def test_the_command_writes_the_files_and_refuses_in_one_line(tmp_path, capsys):
    from evornn.run import load
    d = _run_dir(tmp_path)
    assert cli.main(["export", str(d), "--format", "json"]) == 0
    assert capsys.readouterr().out == f"{d / 'network.json'}\n"
    net = load(d)
    assert evornn.export.read_json(d / "network.json").genome.tobytes() == net.genome.tobytes()
    assert cli.main(["export", str(d), "--format", "onnx"]) == 0
    assert capsys.readouterr().out == f"{d / 'network.onnx'}\n{d / 'network-step.onnx'}\n"
    X = np.random.default_rng(0).standard_normal((2, 6, net.n_in)).astype(np.float32)
    ref = evornn.population_forward(net, net.genome[None].astype(np.float32), X)[0]
    assert np.abs(_run(d / "network.onnx", X) - ref).max() < 1e-5
    out = tmp_path / "no" / "n.json"
    assert cli.main(["export", str(d), "--format", "json", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: --out {out}: the folder {out.parent} does not exist\n"
    assert cli.main(["export", str(tmp_path / "nothere"), "--format", "json"]) == 2
    assert capsys.readouterr().err == \
        f"error: {tmp_path / 'nothere'} is not an evornn run directory (no config.json)\n"
    (d / "best.npz").write_bytes(b"garbage")
    assert cli.main(["export", str(d), "--format", "json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {d / 'best.npz'} is damaged (") and err.count("\n") == 1


def test_without_onnx_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)
    with pytest.raises(ImportError, match=r"^ONNX export needs torch and onnx \(.*\): pip install "
                                          r"'evornn\[onnx\]'$"):
        to_onnx(evornn.Network("gru", 3, 4, 2), tmp_path / "n.onnx")


def test_json_keeps_the_output_map_the_names_and_the_seed():
    net = evornn.Network("esn", 2, 5, 1, seed=7, output_map=(2.0, -1.0), inputs=["a", "b"],
                         outputs=["motor"])
    back = from_json(json.loads(json.dumps(to_json(net))))
    assert (back.output_map, back.inputs, back.outputs, back.seed) == ((2.0, -1.0), ("a", "b"),
                                                                      ("motor",), 7)
    assert back.layers[0].fixed.tobytes() == net.layers[0].fixed.tobytes()   # the reservoir
