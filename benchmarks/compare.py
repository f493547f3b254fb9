"""Evolution against gradients on the sequence tasks of Hochreiter and Schmidhuber 1997.

    python -m benchmarks.compare [--problems adding-100,reber,parity] [--seeds 3]
                                 [--max-evals N] [--out runs/]

For each problem: the problem's own evolutionary optimizer (its defaults, the network
evolution does best with) against BPTT (and RTRL on parity) with the problem's own gradient
defaults (``Problem.gradient``: adding trains LSTM 4 with the paper's gate biases), through
the machinery of ``python -m evornn compare`` (one run directory per run, table.csv and
compare.png per problem). ``--online`` adds BPTT with online updates (``--option batch=1``,
a step a sequence, as the paper's LSTM learnt); ``--no-evolution`` leaves evolution out.
Prints success, median evaluations and median sequences to success (evolution: evaluations x
sequences a batch; gradients: the sequences they trained on, the unit of the paper) beside
the published LSTM figures (Hochreiter and Schmidhuber 1997).
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from evornn.compare import format_table, run_comparison
from evornn.problem import get_problem
from evornn.run import RunConfig
from evornn.run_options import with_defaults

PAPER = {"adding-100": "LSTM, 2 blocks of 2 cells (93 weights), online: 74,000 sequences",
         "adding": "- (the paper starts at T = 100)",
         "reber": "LSTM online: 8,440 sequences (its best set-up)",
         "reber-plain": "-", "parity": "-"}
GRADIENTS = {"parity": ("bptt", "rtrl")}
# batches a gradient run may take (10,000 x 100 adding sequences is 13x the paper's LSTM)
GRADIENT_BUDGET = 10_000


def configs(problem: str, max_evals: int | None, online: bool = False,
            evolution: bool = True) -> dict:
    """name -> RunConfig: the problem's evolution defaults, and its gradient set-ups."""
    prob = get_problem(problem)
    evo = RunConfig(problem=problem, arch=prob.arch, hidden=prob.n_hidden, optimizer=prob.optimizer,
                    popsize=prob.popsize, sigma0=prob.sigma0, max_evals=max_evals or prob.max_evals,
                    seed=0)
    out = {prob.optimizer: evo} if evolution else {}
    for name in GRADIENTS.get(problem, ("bptt",)):
        g = with_defaults({"optimizer": name}, prob)        # what `run --optimizer NAME` takes
        out[name] = replace(evo, optimizer=name, popsize=None, arch=g["arch"], hidden=g["hidden"],
                            options=g["options"], arch_options=g["arch_options"],
                            max_evals=max_evals or min(g["max_evals"], GRADIENT_BUDGET))
        if online:
            out[f"{name} online"] = replace(out[name], options={**(g["options"] or {}), "batch": 1})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", default="adding-100,reber,parity")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--max-evals", type=int, help="a budget for every run (default: each problem's)")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--online", action="store_true", help="also BPTT a step a sequence (batch=1)")
    ap.add_argument("--no-evolution", action="store_true", help="gradient runs only")
    ap.add_argument("--out", default="runs")
    args = ap.parse_args()
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    for problem in args.problems.split(","):
        cfgs = configs(problem, args.max_evals, args.online, not args.no_evolution)
        d, rows = run_comparison(cfgs, seeds,
                                 Path(args.out), progress=lambda s: print("  " + s, flush=True))
        print(f"\n{problem} ({d}); published: {PAPER.get(problem, '-')}")
        print(format_table(rows), flush=True)


if __name__ == "__main__":
    main()
