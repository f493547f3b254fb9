"""a^n b^n c^n under Gers and Schmidhuber's (2001) protocol: train on n = 1..10, count the
runs that learn the training set, and test how far each generalizes.

    python -m benchmarks.anbncn bptt [--seeds 1-10] [--hidden 8] [--generations 300] [--more 50]
                                     [--lr 0.01] [--readout linear] [--test 200]
    python -m benchmarks.anbncn evolve [--seeds 1-10] [--hidden 8] [--test 200]

bptt: the trainer of `--optimizer bptt` (Adam, the whole training set a step, 10 steps a
generation) on the problem's LSTM, from the network's own initialization (seeded by the
run seed); after each generation the network is tested on the training strings, and at
the first generation that gets them all right, on n = 1..--test (the largest N with every
n <= N right). --more G trains G generations further and tests again (the paper kept
training; its figures are for the network at the end). evolve: `python -m evornn run
anbncn` (snes, its defaults) with the same test. A line a seed, then the share solved
and the generalization ranges.
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


def seeds(text: str) -> list[int]:
    """'1-10' -> [1, ..., 10]; '3' -> [3]."""
    a, _, b = text.partition("-")
    return list(range(int(a), int(b or a) + 1))


def bptt_trial(seed: int, hidden: int, generations: int, more: int, n_test: int, lr: float,
               readout: str) -> dict:
    """One BPTT run: generations to learn n = 1..10, generalization then and after --more."""
    from evornn.bptt import GradientTrainer
    from evornn.problems import anbncn
    prob = anbncn.make(n_train=10, n_test=n_test)
    net = prob.network(arch="lstm", n_hidden=hidden, seed=seed, options={"readout": readout})
    tr = GradientTrainer("bptt", prob, net, seed=seed, lr=lr)
    res, t0, first = {"seed": seed}, time.perf_counter(), None
    for g in range(generations + more):
        G = tr.ask()
        f = prob.evaluate(net, G, seed)
        tr.tell(G, f)
        if first is None and g >= generations:
            break
        if first is None or g + 1 == first + more:
            ok, info = prob.solved(net, G[0], f[0])
            if first is None and ok:
                first = g + 1
                res.update(generations=first, sequences=tr.sequences, generalizes_to=info["generalizes_to"])
            elif first is not None:
                res["after_more"] = info.get("generalizes_to", 0)     # 0: the training set lost
            if first is not None and g + 1 == first + more:
                break
    res["seconds"] = round(time.perf_counter() - t0, 1)
    return res


def evolve_trial(seed: int, hidden: int, n_test: int) -> dict:
    """One evolution run (the problem's defaults) and the generalization of its champion."""
    import evornn
    from evornn.problems import anbncn
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "evornn", "run", "anbncn", "--seed", str(seed), "--hidden",
               str(hidden), "--quiet", "--out", out]
        subprocess.run(cmd, check=False, capture_output=True, text=True)   # exit 1: not solved
        d = next(Path(out).iterdir())
        s = json.loads((d / "summary.json").read_text())
        res = {"seed": seed, "solved": s["solved"], "evaluations": s["evaluations"]}
        if s["solved"]:
            net = evornn.load(d)
            ok, info = anbncn.make(n_test=n_test).solved(net, net.genome, s["best_fitness"])
            res["generalizes_to"] = info["generalizes_to"]
    return res


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["bptt", "evolve"])
    ap.add_argument("--seeds", default="1-10")
    ap.add_argument("--hidden", type=int, default=8)
    ap.add_argument("--generations", type=int, default=300)
    ap.add_argument("--more", type=int, default=0)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--readout", default="linear")
    ap.add_argument("--test", type=int, default=200)
    a = ap.parse_args(argv)
    rows = []
    for s in seeds(a.seeds):
        r = (bptt_trial(s, a.hidden, a.generations, a.more, a.test, a.lr, a.readout) if a.mode == "bptt"
             else evolve_trial(s, a.hidden, a.test))
        rows.append(r)
        print(r, flush=True)
    gen = [r["generalizes_to"] for r in rows if "generalizes_to" in r]
    print(f"solved {len(gen)}/{len(rows)}; generalizes to n = 1..N, N: median "
          f"{np.median(gen) if gen else '-'}, best {max(gen, default='-')}; N > 10 in "
          f"{sum(n > 10 for n in gen)}/{len(rows)}")
    more = [r["after_more"] for r in rows if "after_more" in r]
    if more:
        print(f"after {a.more} generations more: N median {np.median(more)}, best {max(more)}, "
              f"N > 10 in {sum(n > 10 for n in more)}/{len(rows)}")


if __name__ == "__main__":
    main()
