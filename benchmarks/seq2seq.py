"""Genome-timesteps per second of the seq2seq family's population forward, against its own
array form (NumPy batched over the population, the way a vectorizing peer runs it),
measured in the same run; and addition-seq trained by BPTT.

    python -m benchmarks.seq2seq [forward] [--repeats 3] [--dtype float32]
    python -m benchmarks.seq2seq addition [--problem addition-seq-lsb] [--seeds 1-3]
                                          [--attention bahdanau,none] [--seconds 1800] [-- RUN OPTIONS]

addition: one `python -m evornn run PROBLEM --optimizer bptt --seed S --arch-option
attention=A` a seed and attention (the problem's defaults otherwise; options after `--`
go to the run), each in a time box; then the best network's free-running exact match by
operand length (1-3 trained, 4-6 beyond), from the problem's held-out set.

Forward workload: P = 512 genomes, GRU encoder and decoder of H = 32, reverse-seq's sizes (8
symbols, I = 11 with the phase flag, O = 8), B = 16 sequences of a 20-symbol source and
21 decoder steps (T = 41); attention none, bahdanau and luong.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import evornn
from evornn.arrays import population_forward_array

from .forward import timed

P, H, I, O, B, N = 512, 32, 11, 8, 16, 20


def inputs(dtype) -> np.ndarray:
    """[B, T, I]: random one-hot source symbols, then decoder steps with the flag set."""
    rng = np.random.default_rng(0)
    X = np.zeros((B, 2 * N + 1, I), dtype)
    for b in range(B):
        X[b, np.arange(N), rng.integers(0, 8, N)] = 1
        X[b, N:, 8] = 1                                     # start / previous-symbol channel
        X[b, N:, I - 1] = 1                                 # the phase flag
    return X


def forward(args) -> None:
    """The population forward's speed against its array form."""
    X = inputs(args.dtype)
    print(f"P={P} B={B} T={X.shape[1]} H={H} {args.dtype}; millions of genome-timesteps/s")
    print(f"{'attention':10} {'evornn':>8} {'numpy':>8} {'x numpy':>8} {'max|diff|':>10}")
    for att in ("none", "bahdanau", "luong"):
        net = evornn.Network("seq2seq", I, H, O, attention=att, max_source=N, seed=1)
        G = (net.genome + 0.3 * np.random.default_rng(1).standard_normal((P, net.n_params)))
        G = G.astype(args.dtype)
        evornn.population_forward(net, G[:2], X)                        # compile
        t_e, Y = timed(lambda: evornn.population_forward(net, G, X), args.repeats)
        t_n, Yn = timed(lambda: population_forward_array(net, G, X), args.repeats)
        rate = P * B * X.shape[1] / 1e6
        print(f"{att:10} {rate / t_e:8.2f} {rate / t_n:8.2f} {t_n / t_e:7.2f}x "
              f"{float(np.abs(Y - Yn).max()):10.1e}")


def train(problem: str, seed: int, attention: str, seconds: float, extra=()) -> dict:
    """One BPTT run of an addition problem through the CLI, in a time box: its evaluations,
    training sequences, verdict and the best network's free-running figures."""
    from evornn.problem import get_problem
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "evornn", "run", problem, "--optimizer", "bptt", "--seed", str(seed),
               "--arch-option", f"attention={attention}", "--max-evals", "10000000", "--quiet",
               "--out", out, *extra]
        t0 = time.perf_counter()
        try:
            subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=seconds)
        except subprocess.TimeoutExpired:
            pass                       # checkpointed every generation: read how far it got
        wall = time.perf_counter() - t0
        dirs = list(Path(out).iterdir())
        if not dirs:
            return {"seconds": wall}
        d = dirs[0]
        rows = (d / "metrics.csv").read_text().splitlines() if (d / "metrics.csv").exists() else []
        last = dict(zip(rows[0].split(","), rows[-1].split(","))) if len(rows) > 1 else {}
        summary = json.loads((d / "summary.json").read_text()) if (d / "summary.json").exists() else {}
        r = {"seconds": wall, "solved": bool(summary.get("solved", False)),
             "evaluations": int(summary.get("evaluations", last.get("evaluations", 0))),
             "best_fitness": float(last.get("best_so_far", "nan")),
             # an evaluation is an update of 32 sequences or a generation's scoring: 10 in 11 train
             "sequences": int(summary.get("training_sequences",
                                          32 * int(last.get("evaluations", 0)) * 10 // 11))}
        try:
            net = evornn.load(d)
            r["exact"] = get_problem(problem).inspect(net, net.genome)
        except Exception:              # killed before its first best network was saved
            pass
        return r


def addition(args, extra) -> None:
    """addition-seq by BPTT: every seed with every attention."""
    lo, _, hi = args.seeds.partition("-")
    print(f"{args.problem} by BPTT, {args.seconds:.0f} s a run; exact match free-running by operand "
          "length (1-3 trained)")
    print(f"{'attention':9} {'seed':>4} {'solved':>6} {'evals':>8} {'sequences':>9} {'best fit':>9} "
          f"{'1-3':>5} {'by length 1..6':>32} {'s':>5}")
    for att in args.attention.split(","):
        for seed in range(int(lo), int(hi or lo) + 1):
            r = train(args.problem, seed, att, args.seconds, extra)
            e = r.get("exact", {})
            by = " ".join(f"{v:.2f}" for v in e.get("exact_by_length", {}).values())
            inside = e.get("exact_train_lengths", float("nan"))
            print(f"{att:9} {seed:4d} {str(r.get('solved')):>6} {r.get('evaluations', 0):8,d} "
                  f"{r.get('sequences', 0):9,d} {r.get('best_fitness', float('nan')):9.2g} {inside:5.2f} "
                  f"{by:>32} {r['seconds']:5.0f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", nargs="?", default="forward", choices=("forward", "addition"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--problem", default="addition-seq-lsb")
    ap.add_argument("--seeds", default="1-3")
    ap.add_argument("--attention", default="bahdanau,none")
    ap.add_argument("--seconds", type=float, default=1800)
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    forward(args) if args.what == "forward" else addition(args, extra)


if __name__ == "__main__":
    main()
