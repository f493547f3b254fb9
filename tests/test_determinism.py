"""Same inputs, same bits: a process that compiles the kernels cold and one that loads them
from numba's cache must agree exactly (fastmath flags can make them differ; they did for
the float32 LSTM gates and the pole physics before those were restricted)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = """
import sys, numpy as np, evornn
from tests.family_cases import sized
out = []
for arch in evornn.architectures():
    I, H, O = sized(arch, 3, 7, 2)
    net = evornn.Network(arch, I, H, O, seed=1)
    G = np.clip(net.genome + 0.5 * np.random.default_rng(0).standard_normal((6, net.n_params)),
                *net.bounds())
    for dt in (np.float32, np.float64):
        X = np.random.default_rng(1).standard_normal((5, 40, I)).astype(dt)
        out.append(evornn.population_forward(net, G, X).ravel().astype(np.float64))
np.save(sys.argv[1], np.concatenate(out))
"""


@pytest.mark.slow   # tens of seconds (pytest --durations)
def test_cold_compiled_and_cached_kernels_give_identical_bits(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))   # a cold cache of its own
    for name in ("cold", "warm"):
        subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / f"{name}.npy")], env=env,
                       cwd=Path(__file__).resolve().parent.parent,
                       check=True, timeout=600)
    cold, warm = np.load(tmp_path / "cold.npy"), np.load(tmp_path / "warm.npy")
    assert cold.size > 0 and np.isfinite(cold).all()
    np.testing.assert_array_equal(cold, warm)
