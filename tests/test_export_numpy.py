"""export --format numpy: the exported folder, run by a Python that cannot import evornn (or
numba), steps and runs every family (and a stack, a bidirectional network, a run directory
exported from the command line) to the network's own step and population_forward within
1e-12 in float64; what it cannot write is refused in one line."""
import json
import subprocess
import sys
import textwrap
from dataclasses import asdict

import numpy as np
import pytest

import evornn
from evornn import cli
from evornn.export_numpy import NPZ_NAME, PY_NAME, numpy_refusal, to_numpy
from tests.family_cases import sized

B, T = 2, 5
TOL = 1e-12

# one child process runs every exported folder: Python's start-up would cost more than the
# networks; a finder refuses evornn and numba there, so the files must do without them
CHILD = textwrap.dedent('''
    import importlib.abc, importlib.util, json, sys
    import numpy as np

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("evornn", "numba", "torch"):
                raise ImportError(f"{name} is not importable here")

    sys.meta_path.insert(0, Refuse())
    for k, folder in enumerate(json.loads(sys.argv[1])):
        spec = importlib.util.spec_from_file_location(f"exported{k}", f"{folder}/network.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        net = mod.Network()
        X = np.load(f"{folder}/X.npy")
        out = {"forward": net.forward(X), "forward_one": net.forward(X[0])}
        try:
            state, ys = None, []
            for t in range(X.shape[1]):
                y, state = net.step(X[:, t], state)
                ys.append(y)
            out["step_batch"] = np.stack(ys, 1)
            net.reset()
            out["call_one"] = np.array([net(x) for x in X[0]])
        except ValueError as e:
            out["step_error"] = np.array(str(e))
        out["names"] = np.array(json.dumps([net.inputs, net.outputs]))
        np.savez(f"{folder}/out.npz", **out)
    print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("evornn", "numba"))))
''')


def _net(arch, opts=None, seed=1, **kw):
    opts = opts or {}
    net = evornn.Network(arch, *sized(arch, 3, 4, 2, opts), seed=seed, **opts, **kw)
    net.genome = net.genome + 0.3 * np.random.default_rng(seed).standard_normal(net.n_params)
    return net


def _run_dir(tmp_path):
    from evornn.problem import get_problem
    from evornn.run import CONFIG, RunConfig, save_best
    cfg = RunConfig(problem="parity", arch="lstm", hidden=3, optimizer="xnes", popsize=4,
                    sigma0=1.0, max_evals=8, seed=1)
    d = tmp_path / "run"
    d.mkdir()
    (d / CONFIG).write_text(json.dumps(asdict(cfg)))
    g = get_problem("parity").network("lstm", 3, seed=1).genome
    save_best(d, cfg, g + 0.5 * np.random.default_rng(2).standard_normal(g.size), 1.0)
    return d


CASES = {str(a): (a, {}) for a in evornn.architectures()}
# the other branches of the families' kernels: options the defaults do not reach
CASES.update({f"{a}-{'-'.join(map(str, o.values()))}": (a, o) for a, o in [
    ("ctrnn", {"integrator": "rk4", "genes": "unit", "gains": True}),
    ("hopfield", {"units": "continuous", "update": "sync"}),
    ("seq2seq", {"encoder": "lstm", "decoder": "elman", "attention": "luong"}),
    ("recursive", {"cell": "treelstm"}), ("pixelrnn", {"variant": "diagonal", "image": "3,4"}),
    ("stack_rnn", {"controller": "elman", "memory": "deque"}),
    ("ntm", {"controller": "dense", "memory": (6, 3), "read_heads": 2}),
    ("dnc", {"controller": "dense", "memory": (6, 3), "read_heads": 2}),
    ("esn", {"density": 0.03, "evolve_leak": True}), ("lrnn", {"output_filters": True}),
    ("rmlp", {"layers": (2, 2)}), ("lsm", {"wiring": "uniform"})]})
CASES.update({"gru+ctrnn": (["gru", "ctrnn"], {}), "lstm-2-layers": ("lstm", {"num_layers": 2}),
              "gru-bidirectional": ("gru", {"bidirectional": True}),
              "elman-mapped": ("elman", {"output_map": (2.0, -1.0), "inputs": ["a", "b", "c"],
                                         "outputs": ["left", "right"]})})


@pytest.fixture(scope="module")
def exported(request, tmp_path_factory):
    """name -> (network, inputs, the child's outputs): the cases this session runs (-k picks),
    exported and run at once."""
    wanted = {item.callspec.params["name"] for item in request.session.items
              if item.module is request.module and hasattr(item, "callspec")}
    root = tmp_path_factory.mktemp("npexport")
    nets, folders = {}, []
    for name, (arch, opts) in CASES.items():
        if name not in wanted:
            continue
        opts = dict(opts)
        kw = {k: opts.pop(k) for k in ("output_map", "inputs", "outputs") if k in opts}
        net = _net(arch, opts, **kw)
        folder = root / name
        assert to_numpy(net, folder) == [folder / PY_NAME, folder / NPZ_NAME]
        X = np.random.default_rng(0).standard_normal((B, T, net.n_in))
        np.save(folder / "X.npy", X)
        nets[name], folders = (net, X, folder), folders + [str(folder)]
    if "run-dir" in wanted:
        run = _run_dir(root)
        assert cli.main(["export", str(run), "--format", "numpy"]) == 0
        folder = run / "network-numpy"
        net = evornn.load(run)
        X = np.random.default_rng(0).standard_normal((B, T, net.n_in))
        np.save(folder / "X.npy", X)
        nets["run-dir"], folders = (net, X, folder), folders + [str(folder)]
    # -I: no PYTHONPATH, no user site, the script's folder not on the path
    r = subprocess.run([sys.executable, "-I", "-c", CHILD, json.dumps(folders)], cwd=root,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout) == []                  # nothing of evornn or numba was imported
    return {k: (net, X, dict(np.load(f / "out.npz"))) for k, (net, X, f) in nets.items()}


@pytest.mark.parametrize("name", list(CASES) + ["run-dir"])
def test_the_numpy_export_equals_step_and_population_forward(name, exported):
    net, X, out = exported[name]
    want = evornn.population_forward(net, net.genome[None], X)[0]
    assert np.abs(out["forward"] - want).max() <= TOL
    assert np.abs(out["forward_one"] - want[0]).max() <= TOL
    assert json.loads(str(out["names"])) == [list(net.inputs), list(net.outputs)]
    if net.bidirectional:
        assert str(out["step_error"]) == ("a bidirectional network needs the whole sequence: "
                                          "use forward(X)")
        return
    net.reset()
    one = np.array([net.step(x) for x in X[0]])        # what evornn.load(run_dir).step gives
    assert np.abs(out["call_one"] - one).max() <= TOL
    assert np.abs(out["step_batch"] - want).max() <= TOL
    assert np.abs(out["step_batch"][0] - one).max() <= TOL


_NOT_PLAIN = {"table": 1}


def _bad_step(w, cfg, fixed, state, x, y):
    y[:] = _NOT_PLAIN["table"]


def test_a_kernel_the_exporter_cannot_write_is_refused_in_one_line(tmp_path, capsys):
    net = evornn.Network("elman", 3, 4, 2)
    assert numpy_refusal(net) is None
    lay = net.layers[0]
    lay.family = lay.family._replace(step=_bad_step)
    why = (f"elman does not export to NumPy: {__name__}._NOT_PLAIN is dict {{'table': 1}}, "
           "which the NumPy export cannot write as plain Python")
    assert numpy_refusal(net) == why
    with pytest.raises(ValueError) as e:
        to_numpy(net, tmp_path / "out")
    assert str(e.value) == why and not (tmp_path / "out").exists()
    lay.family = lay.family._replace(no_numpy="its step calls a C library")
    assert numpy_refusal(net) == "elman does not export to NumPy: its step calls a C library"


def test_the_command_prints_the_files_and_checks_out(tmp_path, capsys):
    d = _run_dir(tmp_path)
    out = tmp_path / "robot"
    assert cli.main(["export", str(d), "--format", "numpy", "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"{out / PY_NAME}\n{out / NPZ_NAME}\n"
    meta = json.loads(str(np.load(out / NPZ_NAME)["__meta__"]))
    assert (meta["arch"], meta["n_in"], meta["n_out"]) == ("lstm", 1, 1)
    assert "import evornn" not in (out / PY_NAME).read_text()
    bad = tmp_path / "no" / "robot"
    assert cli.main(["export", str(d), "--format", "numpy", "--out", str(bad)]) == 2
    assert capsys.readouterr().err == f"error: --out {bad}: the folder {bad.parent} does not exist\n"
    (tmp_path / "file").write_text("")
    assert cli.main(["export", str(d), "--format", "numpy", "--out", str(tmp_path / "file")]) == 2
    assert capsys.readouterr().err == (f"error: {d}: {tmp_path / 'file'} is a file: the NumPy "
                                       "export writes a folder (network.py, network.npz)\n")
