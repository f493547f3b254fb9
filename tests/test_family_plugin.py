"""A family defined in one file outside the package (tests/toy_family.py), named in
EVORNN_FAMILIES, registers like a built-in one: it is listed, runs from the CLI and passes
the reference, array and torch parity suites. Child processes: the registry is read at import."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "EVORNN_FAMILIES": str(ROOT / "tests" / "toy_family.py")}


def _run(*args, **kw):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=900, **kw)


def test_toy_family_is_listed_and_runs_from_the_cli(tmp_path):
    r = _run("-m", "evornn", "list")
    assert re.search(r"^  dnc .*\n  toy +toy leaky-integrator Elman network", r.stdout, re.M), \
        r.stdout
    r = _run("-m", "evornn", "run", "parity", "--arch", "toy", "--generations", "2", "--quiet",
             "--out", str(tmp_path))
    assert r.returncode in (0, 1), r.stderr          # 1: not solved in 2 generations
    assert "parity: not solved (generations) after" in r.stdout


def test_toy_family_passes_the_parity_and_reference_suites():
    r = _run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "toy",
             "tests/test_reference.py", "tests/test_arrays.py", "tests/test_torch_parity.py",
             "tests/test_architectures.py")
    tail = r.stdout.strip().splitlines()[-1]
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", tail).group(1))
    assert passed >= 15 and "failed" not in tail, tail


def test_a_plugin_that_is_not_there_or_not_a_family_is_named(tmp_path):
    (tmp_path / "empty.py").write_text("X = 1\n")
    for spec, message in ((str(tmp_path / "missing.py"), "no family file"),
                          (str(tmp_path / "empty.py"), "defines no FAMILY")):
        r = subprocess.run([sys.executable, "-c", "import evornn"], cwd=ROOT, capture_output=True,
                           text=True, env={**os.environ, "EVORNN_FAMILIES": spec})
        assert r.returncode == 1
        assert f"ImportError: EVORNN_FAMILIES: {spec!r} {message}" in r.stderr or \
            f"ImportError: EVORNN_FAMILIES: {message} {spec!r}" in r.stderr, r.stderr
