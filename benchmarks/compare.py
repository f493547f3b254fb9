"""Evolution against gradients on the sequence tasks of Hochreiter and Schmidhuber 1997.

    python -m benchmarks.compare [--problems adding-100,reber,parity] [--seeds 3]
                                 [--max-evals N] [--out runs/]

For each problem: the problem's own evolutionary optimizer (its defaults, the network
evolution does best with) against BPTT (and RTRL on parity) on the network gradients do
best with here, through the machinery of ``python -m evornn compare`` (one run directory
per run, table.csv and compare.png per problem). Prints success, median evaluations and
median training sequences to success (evaluations x sequences a batch: the unit of the
paper) beside the published LSTM figures (Hochreiter and Schmidhuber 1997; Gers,
Schmidhuber and Cummins 2000).
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from evornn.compare import format_table, run_comparison
from evornn.problem import get_problem
from evornn.run import RunConfig

PAPER = {"adding-100": "LSTM (2 blocks of 2 cells): 74,000 sequences",
         "adding": "- (the paper starts at T = 100)",
         "reber": "LSTM: 8,440 sequences (best run)",
         "reber-plain": "-", "parity": "-"}
# the networks BPTT trains best on here (docs/gradients.md)
GRADIENT_NETS = {"adding-100": dict(arch="lstm", hidden=8, arch_options={"forget_bias": 2.0}),
                 "adding": dict(arch="lstm", hidden=8, arch_options={"forget_bias": 2.0})}
GRADIENTS = {"parity": ("bptt", "rtrl")}
# batches a gradient run may take (10,000 x 100 adding sequences is 13x the paper's LSTM)
GRADIENT_BUDGET = 10_000


def configs(problem: str, max_evals: int | None) -> dict:
    """name -> RunConfig: the problem's evolution defaults, and its gradient set-ups."""
    prob = get_problem(problem)
    evo = RunConfig(problem=problem, arch=prob.arch, hidden=prob.n_hidden, optimizer=prob.optimizer,
                    popsize=prob.popsize, sigma0=prob.sigma0, max_evals=max_evals or prob.max_evals,
                    seed=0)
    out = {prob.optimizer: evo}
    net = GRADIENT_NETS.get(problem, {})
    for name in GRADIENTS.get(problem, ("bptt",)):
        out[name] = replace(evo, optimizer=name, popsize=None, options={"lr": 0.01},
                            max_evals=max_evals or min(evo.max_evals, GRADIENT_BUDGET), **net)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", default="adding-100,reber,parity")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--max-evals", type=int, help="a budget for every run (default: each problem's)")
    ap.add_argument("--out", default="runs")
    args = ap.parse_args()
    for problem in args.problems.split(","):
        d, rows = run_comparison(configs(problem, args.max_evals), list(range(args.seeds)),
                                 Path(args.out), progress=lambda s: print("  " + s, flush=True))
        print(f"\n{problem} ({d}); published: {PAPER.get(problem, '-')}")
        print(format_table(rows), flush=True)


if __name__ == "__main__":
    main()
