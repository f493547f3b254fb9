"""An exported network under onnxruntime against evornn.population_forward on the same
genome and inputs, measured in the same run (and the export's own time).

    python -m benchmarks.export [--repeats 5] [--archs gru,ctrnn,lstm]

Workload: one genome, I = 3, H = 32, O = 2, B = 64 sequences of T = 100 steps, float32;
onnxruntime on one thread, as EVORNN_THREADS=1 gives population_forward one.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import evornn
from evornn.export import to_onnx

from .forward import timed

I, H, O, B, T = 3, 32, 2, 64, 100


def main() -> None:
    import onnxruntime as ort
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--archs", default="gru,ctrnn,lstm")
    args = ap.parse_args()
    X = np.random.default_rng(0).standard_normal((B, T, I)).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    print(f"B={B} T={T} I={I} H={H} O={O} float32, median of {args.repeats}")
    for arch in args.archs.split(","):
        net = evornn.Network(arch, I, H, O, seed=0)
        G = net.genome[None].astype(np.float32)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            path = to_onnx(net, Path(tmp) / "n.onnx")[0]
            t_export = time.perf_counter() - t0
            sess = ort.InferenceSession(str(path), so)
            ref = evornn.population_forward(net, G, X)[0]         # compiles before timing
            t_ort, y = timed(lambda: sess.run(None, {"x": X})[0], args.repeats)
            t_pf, _ = timed(lambda: evornn.population_forward(net, G, X), args.repeats)
        print(f"{arch:8} export {t_export:5.2f} s  onnxruntime {t_ort * 1e3:6.1f} ms  "
              f"population_forward {t_pf * 1e3:6.1f} ms  ratio {t_ort / t_pf:5.2f}  "
              f"max|diff| {np.abs(y - ref).max():.1e}")


if __name__ == "__main__":
    main()
