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
out, part = [], int(sys.argv[2])
archs = evornn.architectures()
# option variants with kernel paths of their own, in their family's part and precision
variants = [("seq2seq", {"input_feeding": True})]
cases = [(k, arch, {}) for k, arch in enumerate(archs)] + [(archs.index(a), a, o) for a, o in variants]
for k, arch, opts in cases:
    if k % 2 != part:
        continue
    dt = np.dtype(("float32", "float64")[(k + k // 2) % 2])   # lstm and gru in float32
    I, H, O = sized(arch, 3, 7, 2, opts)
    net = evornn.Network(arch, I, H, O, seed=1, **opts)
    G = np.clip(net.genome + 0.5 * np.random.default_rng(0).standard_normal((6, net.n_params)),
                *net.bounds())
    X = np.random.default_rng(1).standard_normal((5, 40, I)).astype(dt)
    out.append(evornn.population_forward(net, G, X).ravel().astype(np.float64))
np.save(sys.argv[1], np.concatenate(out))
"""


@pytest.mark.slow   # tens of seconds (pytest --durations)
def test_cold_compiled_and_cached_kernels_give_identical_bits(tmp_path):
    """Two processes at once, each with a cold cache of its own, each compiling every other
    family in one precision; the precisions alternate along the registry, so both are
    covered and a cold compile of everything is not paid twice (it was most of the
    suite's time)."""
    for name in ("cold", "warm"):
        runs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path / f"{name}-{part}.npy"),
                                  str(part)], env=dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / str(part))),
                                 cwd=Path(__file__).resolve().parent.parent)
                for part in (0, 1)]
        assert [r.wait(timeout=600) for r in runs] == [0, 0]
    for part in (0, 1):
        cold, warm = np.load(tmp_path / f"cold-{part}.npy"), np.load(tmp_path / f"warm-{part}.npy")
        assert cold.size > 0 and np.isfinite(cold).all()
        np.testing.assert_array_equal(cold, warm)
