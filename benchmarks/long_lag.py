"""The long-lag task (Hochreiter and Schmidhuber 1997, experiment 2a, p = 100): the LSTM row
by BPTT, the clockwork RNN (hrnn) against an Elman network of as many weights, and evolution.

    python -m benchmarks.long_lag bptt [--hidden 32] [--forget-bias 5] [--seeds 0-9] [--max-evals 8000]
    python -m benchmarks.long_lag pair [--hidden 32] [--seeds 0-2] [--max-evals 8000]
    python -m benchmarks.long_lag evolve [--seed 0] [--max-evals 200000] [--seconds 240]
    python -m benchmarks.long_lag chunker [--hidden 32] [--sizes 28,4] [--seeds 0-3] [--max-evals 4000]
                                   [--seconds 1200] [--predict head|output]
                                   [--head-activation linear|sigmoid]
    python -m benchmarks.long_lag chunker-evolve [--hidden 4] [--sizes 3,1] [--seed 0] [--seconds 240]
    python -m benchmarks.long_lag chunker-row [--seeds 0-2] [--max-evals 17820] [--seconds 5400]

Every run goes through `python -m evornn run long-lag` (BPTT: Adam with the run's defaults,
float32 twins, lr 0.01; one evaluation is one update on both sequences, so the training sequences
are twice the evaluations). The paper's rows for p = 100: the chunker solved 33% of trials
after 32,400 training sequences, LSTM 100% after 5,040 (its Table 2). bptt: our LSTM (a
forget gate, which the paper's LSTM did not have: its initial bias --forget-bias keeps the
cells open, as the paper's constant error carousel is), sigmoid readout. Each row's margin:
the final step's target output less its largest other output, the smaller of the two
sequences' (above 0 where both final predictions are right, and by how much). pair: hrnn with
--hidden units (four modules) and the Elman network whose weight count is nearest. evolve:
the problem's default optimizer (snes) and network, stopped by a time box. chunker: the
history compressor (an automatizer of sizes[0] units predicting its next input by its own
head, a chunker of sizes[1] stepping only where that prediction missed, threshold 0.5), by
BPTT as above with the head's auxiliary loss (--head-activation sigmoid: the head's
prediction squashed); chunker-evolve: the same family evolved by
the problem's default optimizer (snes), stopped by a time box. chunker-row: the chunker's row
of Table 2, the setting of chunker with a sigmoid head (32 units as 28 + 4, predict head)
over --seeds, each generation's final predictions traced: per seed the training sequences
to the paper's success as read here (the final prediction right on both sequences: when it
first was, and from when it stayed so), the strict verdict (every prediction right), the
chunker's steps at the end; then the share of seeds that succeeded within 32,400 sequences
beside the paper's 33%. Its default budget, 17,820 evaluations, is 1,620 generations of 10
updates on both sequences: 32,400 training sequences counting the updates' batches only
(the summary's training_sequences; each generation's fitness evaluation trains on nothing).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import evornn

P = 100
PAPER_SEQUENCES = 32_400        # the chunker's budget in Table 2 (33% of its trials succeeded)
TRACE = "_traced"               # the entry that runs the CLI with long-lag's solved test traced


def traced(problem, path) -> "evornn.problem.Problem":
    """A copy of the long-lag ``problem`` whose solved test also appends its info, one JSON
    line a call, to ``path`` (a run calls it once a generation until solved)."""
    def solved(net, genome, fitness):
        ok, info = problem.solved(net, genome, fitness)
        with open(path, "a") as f:
            f.write(json.dumps({k: info[k] for k in ("final_right", "other_right")}) + "\n")
        return ok, info
    return dataclasses.replace(problem, solved=solved)


def paper_success(final_right: list[int], sequences_per_generation: int) -> dict:
    """Training sequences to the paper's success, the final prediction right on both
    sequences, from each generation's count of right final predictions: ``first`` when it
    first held, ``kept`` from when it held to the last generation (None: never)."""
    both = [n == 2 for n in final_right]
    first = both.index(True) + 1 if any(both) else None
    kept = len(both)
    while kept and both[kept - 1]:
        kept -= 1
    kept = kept + 1 if kept < len(both) else None
    return {g: None if v is None else v * sequences_per_generation
            for g, v in (("first", first), ("kept", kept))}


def run(arch: str, hidden: int, seed: int, max_evals: int, extra=(), seconds: float = 600,
        trace: bool = False) -> dict:
    """One run of long-lag through the CLI: its summary, wall seconds and weight count (with
    ``trace``, also each generation's final predictions right, of 2, as ``final_trace``)."""
    with tempfile.TemporaryDirectory() as out:
        log = Path(out) / "trace.jsonl"
        cli = [sys.executable, "-m", "benchmarks.long_lag", TRACE, str(log)] if trace else \
            [sys.executable, "-m", "evornn"]
        cmd = [*cli, "run", "long-lag", "--arch", arch, "--hidden", str(hidden),
               "--max-evals", str(max_evals), "--seed", str(seed), "--quiet",
               "--out", str(Path(out) / "runs"), *extra]
        t0 = time.perf_counter()
        try:
            subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=seconds)
        except subprocess.TimeoutExpired:
            pass          # the run checkpoints every generation: its summary so far is read below
        wall = time.perf_counter() - t0
        dirs = list((Path(out) / "runs").iterdir()) if (Path(out) / "runs").exists() else []
        finals = [json.loads(line)["final_right"] for line in log.read_text().splitlines()] \
            if log.exists() else []
        if not dirs:
            return {"summary": {}, "seconds": wall, "n_params": 0, "final_trace": finals}
        d = dirs[0]
        path = d / "summary.json"
        summary = json.loads(path.read_text()) if path.exists() else {}
        if not summary and (d / "metrics.csv").exists():
            # stopped by the time box: how far its last finished generation got
            rows = (d / "metrics.csv").read_text().splitlines()
            if len(rows) > 1:
                last = dict(zip(rows[0].split(","), rows[-1].split(",")))
                summary = {"solved": False, "evaluations": int(last["evaluations"]),
                           "best_fitness": float(last["best_so_far"]), "stopped": "time box"}
        try:
            net = evornn.load(d)
            from evornn.problems import long_lag
            summary.setdefault("final", long_lag.make().solved(net, net.genome, None)[1])
            summary["final"]["margin"] = final_margin(net)
            if arch == "history_compressor":
                summary["final"]["chunker_steps"] = chunker_steps(net)
            n = net.n_params
        except Exception:          # a run killed before its first best genome was saved
            n = 0
        return {"summary": summary, "seconds": wall, "n_params": n, "final_trace": finals}


def final_margin(net) -> float:
    """The smaller, over the two sequences, of the final step's target output less its
    largest other output: above 0 where both final predictions are right, and by how much
    (outputs of 0.5 for both x and y score 0)."""
    import numpy as np

    from evornn.problems import long_lag
    y = long_lag.outputs(net, net.genome[None], long_lag.episodes(P)[0])[0, :, -1]
    t = long_lag.sequences(P)[:, -1]
    rest = y.copy()
    rest[np.arange(2), t] = -np.inf
    return float((y[np.arange(2), t] - rest.max(1)).min())


def chunker_steps(net) -> list[int]:
    """How many steps the chunker of a history compressor takes on each of the two
    sequences: the inputs its prediction (head or outputs) missed, and the first."""
    import numpy as np

    from evornn.problems import long_lag
    o = net.layers[0].opts
    X = long_lag.episodes(P)[0]
    n1, I = net.block("A_hh").shape[0], X.shape[2]
    if o["predict"] == "output":
        pred = net.forward(X)
    else:
        feats = evornn.Network("history_compressor", net.n_in, net.n_hidden, net.n_hidden,
                               **{**o, "readout": "none"})
        feats.genome = net.genome[:feats.n_params]        # the readout's blocks come last
        h = feats.forward(X)
        pred = h[..., :n1] @ net.block("P_w")[:I].T + net.block("P_b")[:I]
        if o["head_activation"] == "sigmoid":
            pred = 1 / (1 + np.exp(-pred))
    missed = (np.abs(X[:, 1:] - pred[:, :-1]) > o["threshold"]).any(-1)
    return (1 + missed.sum(1)).tolist()


def seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def report(rows: list[tuple[str, int, dict]]) -> None:
    print(f"{'network':14} {'weights':>7} {'seed':>4} {'solved':>6} {'evals':>7} {'sequences':>9} "
          f"{'best fitness':>12} {'final right':>11} {'margin':>7} {'others right':>12} {'s':>5}")
    for name, seed, r in rows:
        s = r["summary"]
        f = s.get("final") or s.get("info") or {}
        ev = int(s.get("evaluations", 0))
        print(f"{name:14} {r['n_params']:7,d} {seed:4d} {str(s.get('solved')):>6} {ev:7,d} "
              f"{2 * ev:9,d} {s.get('best_fitness', float('nan')):12.3g} "
              f"{str(f.get('final_right', '?')) + '/2':>11} {f.get('margin', float('nan')):7.3f} "
              f"{str(f.get('other_right', '?')) + '/' + str(2 * (P - 1)):>12} {r['seconds']:5.0f}",
              flush=True)
    for name, seed, r in rows:
        steps = (r["summary"].get("final") or {}).get("chunker_steps")
        if steps:
            print(f"{name} seed {seed}: the chunker steps {steps} times on the two sequences "
                  f"of {P} inputs")
    solved = [r for _, _, r in rows if r["summary"].get("solved")]
    if rows:
        used = sorted(2 * int(r["summary"]["evaluations"]) for r in solved)
        print(f"solved {len(solved)}/{len(rows)}; training sequences of the solved runs: {used}")


def row_report(rows: list[tuple[int, dict]]) -> None:
    """The chunker's row: per seed the paper's success and the strict verdict, then the share
    of seeds that succeeded within the paper's budget."""
    print(f"{'seed':>4} {'strict':>6} {'sequences':>9} {'final first':>11} {'final kept':>10} "
          f"{'margin':>7} {'others right':>12} {'chunker steps':>13} {'s':>6}")
    ok = strict = 0
    for seed, r in rows:
        s = r["summary"]
        f = s.get("final") or s.get("info") or {}
        gens = int(s.get("generations", 0))
        # a run stopped by its time box has no summary: its sequences are not known
        per = int(s["training_sequences"]) // gens if gens and "training_sequences" in s else 0
        won = paper_success(r["final_trace"], per) if per else {"first": "?", "kept": "?"}
        ok += isinstance(won["first"], int) and won["first"] <= PAPER_SEQUENCES
        strict += bool(s.get("solved"))
        print(f"{seed:4d} {str(s.get('solved')):>6} {int(s.get('training_sequences', 0)):9,d} "
              f"{won['first'] or '-':>11} {won['kept'] or '-':>10} "
              f"{f.get('margin', float('nan')):7.3f} "
              f"{str(f.get('other_right', '?')) + '/' + str(2 * (P - 1)):>12} "
              f"{str(f.get('chunker_steps', '?')):>13} {r['seconds']:6.0f}", flush=True)
    print(f"the paper's success (final prediction right on both sequences) within "
          f"{PAPER_SEQUENCES:,} sequences: {ok}/{len(rows)} seeds (the paper's chunker: 33%); "
          f"every prediction right: {strict}/{len(rows)}")


def main() -> None:
    if sys.argv[1:2] == [TRACE]:
        # the CLI with long-lag's solved test traced to the file named next
        from evornn import cli
        from evornn.problems import long_lag
        long_lag.PROBLEMS[:] = [traced(long_lag.PROBLEMS[0], sys.argv[2])]
        sys.exit(cli.main(sys.argv[3:]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=("bptt", "pair", "evolve", "chunker", "chunker-evolve",
                                     "chunker-row"))
    ap.add_argument("--sizes", default=None)
    ap.add_argument("--predict", default="head", choices=("head", "output"))
    ap.add_argument("--head-activation", default="linear", choices=("linear", "sigmoid"))
    ap.add_argument("--forget-bias", type=float, default=5.0)
    ap.add_argument("--hidden", type=int, default=None)
    ap.add_argument("--seeds", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-evals", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None,
                    help="a run's time box (default: 240 for evolve modes, 1200 for chunker)")
    args = ap.parse_args()
    bptt = ("--optimizer", "bptt", "--option", "dtype=float32", "--option", "lr=0.01")
    if args.what == "bptt":
        H, fb = args.hidden or 32, args.forget_bias
        rows = [(f"lstm {H}", s, run("lstm", H, s, args.max_evals or 8000,
                                     bptt + ("--arch-option", f"forget_bias={fb}")))
                for s in seeds(args.seeds or "0-9")]
        report(rows)
    elif args.what == "pair":
        H, sig = args.hidden or 32, ("--arch-option", "readout=sigmoid")
        n = evornn.Network("hrnn", P + 1, H, P + 1).n_params
        He = min(range(1, 4 * H), key=lambda h: abs(evornn.Network("elman", P + 1, h, P + 1).n_params - n))
        rows = []
        for s in seeds(args.seeds or "0-2"):
            for name, arch, h in ((f"hrnn {H}", "hrnn", H), (f"elman {He}", "elman", He)):
                rows.append((name, s, run(arch, h, s, args.max_evals or 8000, bptt + sig)))
                print(json.dumps({"network": name, "seed": s, **rows[-1][2]}, default=str), flush=True)
        report(rows)
    elif args.what == "chunker":
        H, sizes = args.hidden or 32, args.sizes or "28,4"
        opts = ("--arch-option", "readout=sigmoid", "--arch-option", f"sizes={sizes}",
                "--arch-option", f"predict={args.predict}")
        label = args.predict
        if args.head_activation != "linear":
            opts += ("--arch-option", f"head_activation={args.head_activation}")
            label += f" {args.head_activation}"
        rows = [(f"hc {sizes.replace(',', '+')} {label}", s, run("history_compressor", H, s,
                                                        args.max_evals or 4000, bptt + opts,
                                                        seconds=args.seconds or 1200))
                for s in seeds(args.seeds or "0-3")]
        report(rows)
    elif args.what == "chunker-row":
        opts = ("--arch-option", "readout=sigmoid", "--arch-option", "sizes=28,4",
                "--arch-option", "head_activation=sigmoid")
        rows = []
        for s in seeds(args.seeds or "0-2"):
            rows.append((s, run("history_compressor", 32, s, args.max_evals or 17_820,
                                bptt + opts, seconds=args.seconds or 5400, trace=True)))
            print(json.dumps({"seed": s, **{k: v for k, v in rows[-1][1].items()
                                            if k != "final_trace"}}, default=str), flush=True)
        row_report(rows)
    elif args.what == "chunker-evolve":
        H, sizes = args.hidden or 4, args.sizes or "3,1"
        opts = ("--arch-option", "readout=sigmoid", "--arch-option", f"sizes={sizes}")
        r = run("history_compressor", H, args.seed, args.max_evals or 200_000, opts,
                seconds=args.seconds or 240)
        report([(f"hc {sizes.replace(',', '+')} (snes)", args.seed, r)])
    else:
        r = run("lstm", 4, args.seed, args.max_evals or 200_000, seconds=args.seconds or 240)
        report([("lstm 4 (snes)", args.seed, r)])


if __name__ == "__main__":
    main()
