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
out, dt = [], np.dtype(sys.argv[2])
for arch in evornn.architectures():
    I, H, O = sized(arch, 3, 7, 2)
    net = evornn.Network(arch, I, H, O, seed=1)
    G = np.clip(net.genome + 0.5 * np.random.default_rng(0).standard_normal((6, net.n_params)),
                *net.bounds())
    X = np.random.default_rng(1).standard_normal((5, 40, I)).astype(dt)
    out.append(evornn.population_forward(net, G, X).ravel().astype(np.float64))
np.save(sys.argv[1], np.concatenate(out))
"""


@pytest.mark.slow   # tens of seconds (pytest --durations)
def test_cold_compiled_and_cached_kernels_give_identical_bits(tmp_path):
    """One process a precision, both at once (each compiles every family in its precision),
    each with a cold cache of its own."""
    for name in ("cold", "warm"):
        runs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path / f"{name}-{dt}.npy"),
                                  dt], env=dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / dt)),
                                 cwd=Path(__file__).resolve().parent.parent)
                for dt in ("float32", "float64")]
        assert [r.wait(timeout=600) for r in runs] == [0, 0]
    for dt in ("float32", "float64"):
        cold, warm = np.load(tmp_path / f"cold-{dt}.npy"), np.load(tmp_path / f"warm-{dt}.npy")
        assert cold.size > 0 and np.isfinite(cold).all()
        np.testing.assert_array_equal(cold, warm)
