"""Evaluations to solve pole balancing under the literature's protocol, with the defaults
that ``python -m evornn run`` uses.

    python -m benchmarks.pole [--problems dpnv,double-pole] [--seeds 50] [--first-seed 0]
                              [--optimizers xnes,cmaes] [--arch A --hidden H --popsize P --sigma0 S]
                              [--option KEY=VALUE ...] [--arch-option KEY=VALUE ...]
                              [--basis problem|none|mirror|mirror-feedforward] [--recurrent-scale R]

Each run is what ``python -m evornn run PROBLEM --seed S`` does (ask, evaluate, tell, test
the generation's champion with the problem's success test), without the run directory.
DPNV: damping fitness over 1,000 steps; the champion must balance 100,000 steps from the
standard start and 1,000 steps from at least 200 of the 625 grid starts (tests are not
counted as evaluations). double-pole (Markovian): solved at 100,000 steps balanced. A run
fails at the problem's budget (40,000 evaluations). Wall time per solve excludes numba
compilation (the kernels are compiled before the clock starts). Published and peer
figures (Stanley and Miikkulainen 2002; Gomez et al. 2008), printed beside ours.
``--basis`` picks the default xNES's search space: the problem's own (mirror-symmetric
controllers), every gene (``none``), or the mirror basis with
(``mirror``, their steps ``--recurrent-scale`` times the others') or without
(``mirror-feedforward``) recurrent weights.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import evornn
from evornn.cli import parse_options
from evornn.problem import get_problem
from evornn.problems.pole import mirror_basis
from evornn.run import problem_optimizer

PEERS = {
    "dpnv": "CoSyNE 3,416, CMA-ES 6,061 (papers); EvoTorch XNES 20/20, mean 1,978; pycma 16/20, 2,923; "
            "neat-python 12/20, 10,062",
    "double-pole": "CMA-ES 895, CoSyNE 954 (papers); NEAT 3,600; ESP 3,800",
    "single-pole": "CoSyNE 98 (paper, 1 pole with velocities)",
}


def solve(prob, net, optimizer: str, seed: int, popsize, sigma0: float, options=None):
    """(evaluations to solve or None, seconds) for one seed, as the run loop does it."""
    opt = problem_optimizer(prob, net, optimizer, seed, popsize, sigma0, None, options)
    t0 = time.perf_counter()
    while opt.evaluations < prob.max_evals:
        G = opt.ask()
        f = np.asarray(prob.evaluate(net, G, (seed, opt.generation)), dtype=np.float64)
        opt.tell(G, f)
        i = int(np.argmax(np.where(np.isfinite(f), f, -np.inf)))
        if (prob.solved_fast or prob.solved)(net, G[i], float(f[i]))[0]:
            return opt.evaluations, time.perf_counter() - t0
        if opt.stop():
            break
    return None, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", default="dpnv,double-pole")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed+seeds-1")
    ap.add_argument("--optimizers", default=None, help="default: each problem's own")
    ap.add_argument("--arch")
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--popsize", type=int)
    ap.add_argument("--sigma0", type=float)
    ap.add_argument("--option", action="append", default=[],
                    help="an optimizer option, KEY=VALUE (repeatable), e.g. permute='probabilistic'")
    ap.add_argument("--arch-option", action="append", default=[],
                    help="an architecture option, KEY=VALUE (repeatable), e.g. layers=(2,2) for rmlp")
    ap.add_argument("--basis", default="problem", choices=("problem", "none", "mirror", "mirror-feedforward"),
                    help="the default xNES's search space (default: the problem's own)")
    ap.add_argument("--recurrent-scale", type=float, default=1.0,
                    help="with --basis mirror: the recurrent coordinates' steps on the others'")
    args = ap.parse_args()
    options = parse_options(args.option)
    arch_options = parse_options(args.arch_option, "--arch-option")
    print(f"seeds {args.first_seed}..{args.first_seed + args.seeds - 1} each; a run fails at the "
          "problem's budget")
    print(f"{'problem':12} {'network':12} {'optimizer':9} {'solved':>7} {'mean':>7} {'median':>7} "
          f"{'p90':>7} {'max':>7} {'median s':>8}  published / peers")
    for name in args.problems.split(","):
        prob = get_problem(name)
        net = prob.network(args.arch, args.hidden, options=arch_options)
        sigma0 = args.sigma0 or prob.sigma0
        popsize = args.popsize or prob.popsize
        basis = {}
        if args.basis != "problem":
            lay = net.layers[0]
            rec = args.recurrent_scale if args.basis == "mirror" else 0.0
            basis["basis"] = None if args.basis == "none" else mirror_basis(lay.n_in, lay.n_hidden, rec)
        warm = evornn.optimizer("xnes", net.n_params, seed=0, bounds=net.bounds()).ask()
        prob.evaluate(net, warm, (0, 0))                        # compile before timing
        prob.solved(net, warm[0], 0.2)
        for optimizer in (args.optimizers or prob.optimizer).split(","):
            evals, walls = [], []
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                e, wall = solve(prob, net, optimizer, seed, popsize, sigma0,
                                {**options, **(basis if optimizer == "xnes" else {})})
                if e is not None:
                    evals.append(e)
                    walls.append(wall)
            ev = np.array(evals, float)
            stat = (lambda fn: f"{fn(ev):7.0f}") if len(ev) else (lambda fn: f"{'-':>7}")
            arch = f"{args.arch or prob.arch} {args.hidden or prob.n_hidden}"
            print(f"{name:12} {arch:12} {optimizer:9} {len(ev):3d}/{args.seeds:<3d} "
                  f"{stat(np.mean)} {stat(np.median)} {stat(lambda e: np.percentile(e, 90))} {stat(np.max)} "
                  f"{np.median(walls) if walls else np.nan:8.3f}  {PEERS.get(name, '')}", flush=True)


if __name__ == "__main__":
    main()
