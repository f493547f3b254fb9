"""A network exported with --format numpy (plain Python and NumPy) against evornn's own
compiled step on the same genome and inputs, measured in the same run.

    python -m benchmarks.export_numpy [--repeats 5] [--archs frnn,ctrnn,gru,lstm]

Workload: one genome, I = 3, O = 2, H = 8 and 32, one online step at a time (B = 1, as a
robot's controller steps) for T = 200 steps, and forward over B = 16 sequences of T = 200.
"""
from __future__ import annotations

import argparse
import importlib.util
import tempfile
from pathlib import Path

import numpy as np

import evornn
from evornn.export_numpy import to_numpy

from .forward import timed

I, O, T, B = 3, 2, 200, 16


def _load(folder: Path):
    spec = importlib.util.spec_from_file_location(f"exported_{folder.name}", folder / "network.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Network()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--archs", default="frnn,ctrnn,gru,lstm")
    args = ap.parse_args()
    X = np.random.default_rng(0).standard_normal((B, T, I))
    print(f"I={I} O={O} T={T}: one step (B=1) and forward (B={B}), float64, median of "
          f"{args.repeats}")
    for arch in args.archs.split(","):
        for H in (8, 32):
            net = evornn.Network(arch, I, H, O, seed=0)
            with tempfile.TemporaryDirectory() as tmp:
                exp = _load(to_numpy(net, Path(tmp) / f"{arch}{H}")[0].parent)

            def steps_np():
                exp.reset()
                return [exp(x) for x in X[0]]

            def steps_nb():
                net.reset()
                return [net.step(x) for x in X[0]]
            steps_nb()                                    # compiles before timing
            net.forward(X)
            t_np, y_np = timed(steps_np, args.repeats)
            t_nb, y_nb = timed(steps_nb, args.repeats)
            f_np, F_np = timed(lambda: exp.forward(X), args.repeats)
            f_nb, F_nb = timed(lambda: net.forward(X), args.repeats)
            diff = max(np.abs(np.array(y_np) - np.array(y_nb)).max(), np.abs(F_np - F_nb).max())
            print(f"{arch:6} H={H:2}  step: NumPy export {t_np / T * 1e6:7.1f} us, evornn "
                  f"{t_nb / T * 1e6:5.1f} us (x{t_np / t_nb:5.1f})  forward: {f_np * 1e3:7.1f} ms, "
                  f"{f_nb * 1e3:5.2f} ms (x{f_np / f_nb:6.1f})  max|diff| {diff:.1e}")


if __name__ == "__main__":
    main()
