"""Command line: ``python -m evornn run PROBLEM``, ``resume RUN_DIR``, ``list``, ``demo``."""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def demo(args) -> int:
    """Build every architecture, run a population through it, and say how fast it was."""
    import evornn
    from evornn.threads import threads
    P, B, T, I, O = args.popsize, 16, 200, 4, 2
    print(f"evornn {evornn.__version__}: population forward passes, P={P} genomes x B={B} "
          f"sequences x T={T} steps, {threads()} threads, float32")
    print(f"{'architecture':14} {'genes':>6} {'first call s':>12} {'M genome-steps/s':>17}  output range")
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((B, T, I)).astype(np.float32)
    for arch in evornn.architectures():
        net = evornn.Network(arch, I, args.hidden, O, seed=args.seed)
        G = net.genome + 0.1 * rng.standard_normal((P, net.n_params))
        lo, hi = net.bounds()
        G = np.clip(G, lo, hi)
        t0 = time.perf_counter()
        evornn.population_forward(net, G[:1], X[:, :1])
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        Y = evornn.population_forward(net, G, X)
        rate = P * B * T / (time.perf_counter() - t0) / 1e6
        print(f"{arch:14} {net.n_params:6d} {first:12.2f} {rate:17.2f}  [{Y.min():+.3f}, {Y.max():+.3f}]")
    print("first call includes numba compilation (cached on disk for later runs). "
          "Evolution runs (python -m evornn run PROBLEM) are not built yet.")
    return 0


class UsageError(Exception):
    """Bad input found before any work: printed as one line, exit code 2."""


def _check_names(problem: str, arch, optimizer) -> None:
    import evornn
    from evornn.network import _unknown
    from evornn.problem import get_problem
    try:
        get_problem(problem)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if arch is not None and arch not in evornn.architectures():
        raise UsageError(str(_unknown("architecture", arch, evornn.architectures())))
    if optimizer is not None and optimizer not in evornn.optimizers():
        raise UsageError(str(_unknown("optimizer", optimizer, sorted(evornn.optimizers()))))


def _positive(name: str, v, allow_none=True, minimum=1):
    if v is None and allow_none:
        return
    if v < minimum:
        raise UsageError(f"--{name} must be >= {minimum}, got {v}")


def run(args) -> int:
    """Evolve a network on a problem with the problem's defaults for anything not given."""
    from evornn.problem import get_problem
    from evornn.run import RunConfig, start
    _check_names(args.problem, args.arch, args.optimizer)
    _positive("popsize", args.popsize, minimum=2)
    _positive("hidden", args.hidden)
    _positive("max-evals", args.max_evals)
    _positive("generations", args.generations)
    if args.sigma0 is not None and not args.sigma0 > 0:
        raise UsageError(f"--sigma0 must be > 0, got {args.sigma0}")
    prob = get_problem(args.problem)
    cfg = RunConfig(problem=args.problem, arch=args.arch or prob.arch,
                    hidden=args.hidden or prob.n_hidden, optimizer=args.optimizer or prob.optimizer,
                    popsize=args.popsize or prob.popsize, sigma0=args.sigma0 or prob.sigma0,
                    max_evals=args.max_evals or prob.max_evals, seed=args.seed,
                    generations=args.generations, target=args.target)
    try:
        prob.network(cfg.arch, cfg.hidden, seed=cfg.seed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    from pathlib import Path
    root = Path(args.out)
    try:
        d, summary = start(cfg, root, quiet=args.quiet)
    except KeyboardInterrupt:
        print("\ninterrupted: the last finished generation is checkpointed; continue with "
              "python -m evornn resume RUN_DIR", file=sys.stderr)
        return 130
    _report(d, summary)
    return 0 if summary["solved"] else 1


def _report(d, summary) -> None:
    extra = "".join(f", {k} {v}" for k, v in summary.items()
                    if k not in ("problem", "solved", "evaluations", "generations", "best_fitness",
                                 "wall_time_s", "seed", "optimizer", "arch", "stop_reason"))
    verdict = "SOLVED" if summary["solved"] else f"not solved ({summary['stop_reason']})"
    print(f"{summary['problem']}: {verdict} after {summary['evaluations']} evaluations "
          f"({summary['generations']} generations, {summary['wall_time_s']:.1f} s), best fitness "
          f"{summary['best_fitness']:.6g}{extra}. Results in {d}")


def resume(args) -> int:
    """Continue an interrupted run to the result it would have reached."""
    from pathlib import Path

    from evornn.run import CHECKPOINT, CONFIG, SUMMARY, run_loop
    d = Path(args.run_dir)
    if not (d / CONFIG).exists():
        raise UsageError(f"{d} is not an evornn run directory (no {CONFIG})")
    if (d / SUMMARY).exists() and not (d / CHECKPOINT).exists():
        raise UsageError(f"{d} has finished already")
    try:
        summary = run_loop(d, quiet=args.quiet)
    except KeyboardInterrupt:
        print("\ninterrupted again; resume once more to continue", file=sys.stderr)
        return 130
    _report(d, summary)
    return 0 if summary["solved"] else 1


def list_all(args) -> int:
    """Problems, architectures, optimizers and backends, one line each."""
    import evornn
    from evornn.problem import builtin_problems
    print("problems:")
    for name, p in sorted(builtin_problems().items()):
        print(f"  {name:14} {p.description}")
    print("architectures:")
    for name, d in evornn.describe_architectures().items():
        print(f"  {name:14} {d}")
    print("optimizers:")
    for name, d in evornn.optimizers().items():
        print(f"  {name:14} {d}")
    print("backends:\n  threads        numba kernels on worker threads (default)")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evornn", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="evolve a network on a problem")
    r.add_argument("problem", help="a built-in problem (python -m evornn list) or a .py file")
    r.add_argument("--arch")
    r.add_argument("--hidden", type=int)
    r.add_argument("--optimizer")
    r.add_argument("--popsize", type=int)
    r.add_argument("--sigma0", type=float)
    r.add_argument("--max-evals", type=int)
    r.add_argument("--generations", type=int)
    r.add_argument("--target", type=float)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", default="runs")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=run)
    rs = sub.add_parser("resume", help="continue an interrupted run")
    rs.add_argument("run_dir")
    rs.add_argument("--quiet", action="store_true")
    rs.set_defaults(func=resume)
    sub.add_parser("list", help="problems, architectures, optimizers").set_defaults(func=list_all)
    d = sub.add_parser("demo", help="forward passes of every architecture, with timings")
    d.add_argument("--popsize", type=int, default=256)
    d.add_argument("--hidden", type=int, default=16)
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=demo)
    args = ap.parse_args(argv)
    try:
        if args.command == "demo" and (args.popsize < 1 or args.hidden < 1):
            raise UsageError("--popsize and --hidden must be positive integers")
        return args.func(args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
