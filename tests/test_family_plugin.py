"""A family defined in one file outside the package (tests/toy_family.py), named in
EVORNN_FAMILIES, registers like a built-in one: it is listed, runs from the CLI and passes
the reference, array and torch parity suites. Child processes: the registry is read at import."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "EVORNN_FAMILIES": str(ROOT / "tests" / "toy_family.py")}


# set in the child pytest below: the tests that start it skip there, the CLI test runs there
INNER = os.environ.get("EVORNN_FAMILIES", "").endswith("toy_family.py")


def _run(*args, **kw):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=900, **kw)


@pytest.mark.skipif(INNER, reason="this is the child run")
def test_toy_family_passes_the_parity_and_reference_suites_and_runs_from_the_cli():
    """One child process (the plugin's kernels compile once, not once a process)."""
    r = _run("-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "-k", "toy",
             "tests/test_reference.py", "tests/test_arrays.py", "tests/test_torch_parity.py",
             "tests/test_architectures.py", "tests/test_export_numpy.py",
             "tests/test_family_plugin.py")
    tail = r.stdout.strip().splitlines()[-1]
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", tail).group(1))
    assert passed >= 16 and "failed" not in tail, tail
    assert "PASSED tests/test_family_plugin.py::test_toy_family_is_listed_and_runs_from_the_cli" \
        in r.stdout, r.stdout[-3000:]


@pytest.mark.skipif(not INNER, reason="runs in the child pytest of the test above")
def test_toy_family_is_listed_and_runs_from_the_cli(tmp_path, capsys):
    from evornn import cli
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  bam .*\n  seq2seq .*\n  recursive .*\n  pixelrnn .*\n  lsm .*\n  hrnn .*\n"
                     r"  rmlp .*\n  lrnn .*\n  history_compressor .*\n"
                     r"  toy +toy leaky-integrator Elman network", out, re.M), out
    code = cli.main(["run", "parity", "--arch", "toy", "--generations", "2", "--quiet",
                     "--out", str(tmp_path)])
    assert code == 1                                   # not solved in 2 generations
    assert "parity: not solved (generations) after" in capsys.readouterr().out


def test_a_plugin_that_is_not_there_or_not_a_family_is_named(tmp_path):
    (tmp_path / "empty.py").write_text("X = 1\n")
    for spec, message in ((str(tmp_path / "missing.py"), "no family file"),
                          (str(tmp_path / "empty.py"), "defines no FAMILY")):
        r = subprocess.run([sys.executable, "-c", "import evornn"], cwd=ROOT, capture_output=True,
                           text=True, env={**os.environ, "EVORNN_FAMILIES": spec})
        assert r.returncode == 1
        assert f"ImportError: EVORNN_FAMILIES: {spec!r} {message}" in r.stderr or \
            f"ImportError: EVORNN_FAMILIES: {message} {spec!r}" in r.stderr, r.stderr
