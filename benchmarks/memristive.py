"""Controllers evolved under the memristive device model against the same problems' networks
evolved (or trained) with ideal weights, each champion then programmed onto simulated devices.

    python -m benchmarks.memristive [--problems parity,dpnv] [--seeds 5] [--devices 50]

For each problem, training (``ideal``: the problem's own optimizer; ``device``: the same
under ``--device memristive``; ``bptt``: gradient training with ideal weights, parity only;
``bptt-noise``: the same under ``--device memristive`` with option device_noise, each update's
gradient taken at freshly programmed weights). With ``--updates N`` the gradient trainings
are not runs that stop once solved: each trains for exactly N updates (batches of the problem)
and its last weights are programmed.
and seed, one run within the problem's evaluation budget; its best.npz genome (the ideal
weights) is then written onto ``--devices`` fresh simulated devices (programming noise, then
one read with read noise and drift; with ``--device-option read_noise_every=step`` a read at
every step) and each copy is scored by the problem's own fitness and
its own solved test (parity: 1,000 held-out sequences; dpnv: the champion test). Device
options go with ``--device-option KEY=VALUE``, as for ``run``. docs/memristive.md has the
results.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from evornn.cli import parse_options
from evornn.device import make_device, program, program_stepwise, weight_mask
from evornn.population import reading
from evornn.problem import get_problem
from evornn.run import RunConfig, read_best, start

EVAL_SEED = 20_261_206          # the fitness batch every programmed copy is scored on


def evolve(name: str, training: str, seed: int, device_options: dict, root: Path,
           max_evals: int | None):
    """One run; (its best genome, its summary, seconds)."""
    prob = get_problem(name)
    gradient = training in ("bptt", "bptt-noise")
    on_device = training in ("device", "bptt-noise")
    cfg = RunConfig(problem=name, arch=prob.arch, hidden=prob.n_hidden,
                    optimizer="bptt" if gradient else prob.optimizer,
                    popsize=None if gradient else prob.popsize, sigma0=prob.sigma0,
                    max_evals=max_evals or prob.max_evals, seed=seed,
                    options={"device_noise": True} if training == "bptt-noise" else None,
                    device="memristive" if on_device else None,
                    device_options=(device_options or None) if on_device else None)
    t0 = time.perf_counter()
    d, summary = start(cfg, root=root, quiet=True)
    genome, _, _ = read_best(d)
    return genome, summary, time.perf_counter() - t0


def train_fixed(name: str, training: str, seed: int, device, updates: int):
    """A gradient training of exactly ``updates`` updates, not stopped when solved; (its last
    genome, a summary, seconds)."""
    from evornn.bptt import GradientTrainer
    prob = get_problem(name)
    net = prob.network(prob.arch, prob.n_hidden, seed=seed)
    noise = training == "bptt-noise"
    tr = GradientTrainer("bptt", prob, net, seed=seed, device=device if noise else None,
                         device_noise=noise, updates=1)
    t0 = time.perf_counter()
    for _ in range(updates):
        g = tr.ask()
        tr.tell(g, [0.0])
    f = float(prob.evaluate(net, g, (EVAL_SEED, 0))[0])
    return g[0], {"solved": prob.solved(net, g[0], f)[0], "evaluations": updates}, \
        time.perf_counter() - t0


def on_devices(name: str, genome: np.ndarray, device, n: int, seed: int):
    """The genome written onto n fresh devices: (fitness [n], solved [n])."""
    prob = get_problem(name)
    net = prob.network(prob.arch, prob.n_hidden, seed=seed)
    mask = weight_mask(net)
    rng = np.random.default_rng([seed, 0x646576])
    reads = None
    if device.read_noise_every == "step":
        G, reads = program_stepwise(np.repeat(genome[None], n, axis=0), rng, device, mask)
    else:
        G = program(np.repeat(genome[None], n, axis=0), rng, device, mask)
    with reading(reads):
        f = np.asarray(prob.evaluate(net, G, (EVAL_SEED, 0)), dtype=np.float64)
        solved = np.array([prob.solved(net, G[k], float(f[k]))[0] for k in range(n)])
    return f, solved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", default="parity,dpnv")
    ap.add_argument("--trainings", default="ideal,device,bptt")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--devices", type=int, default=50)
    ap.add_argument("--max-evals", type=int, default=None, help="default: the problem's")
    ap.add_argument("--updates", type=int, default=None,
                    help="gradient trainings: exactly this many updates, not stopped when solved")
    ap.add_argument("--device-option", action="append", metavar="KEY=VALUE")
    args = ap.parse_args()
    dopts = parse_options(args.device_option, "--device-option")
    device = make_device("memristive", dopts)
    print(f"device: {device}")
    print("| problem | training | seed | run solved | evaluations | run s | ideal weights "
          "solved | programmed: solved | fitness median | fitness 10th pct |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    totals = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.problems.split(","):
            for training in args.trainings.split(","):
                if training.startswith("bptt") and name == "dpnv":
                    continue                      # a controller has no targets to train on
                for seed in range(args.first_seed, args.first_seed + args.seeds):
                    if args.updates and training.startswith("bptt"):
                        g, s, secs = train_fixed(name, training, seed, device, args.updates)
                    else:
                        g, s, secs = evolve(name, training, seed, dopts, Path(tmp), args.max_evals)
                    prob = get_problem(name)
                    net = prob.network(prob.arch, prob.n_hidden, seed=seed)
                    f0 = float(prob.evaluate(net, g[None], (EVAL_SEED, 0))[0])
                    ideal_ok = prob.solved(net, g, f0)[0]
                    f, ok = on_devices(name, g, device, args.devices, seed)
                    totals.setdefault((name, training), []).append((s["solved"], ideal_ok,
                                                                    ok.mean(), np.median(f)))
                    print(f"| {name} | {training} | {seed} | {'yes' if s['solved'] else 'no'} | "
                          f"{s['evaluations']:,} | {secs:.1f} | {'yes' if ideal_ok else 'no'} | "
                          f"{ok.mean():.0%} | {np.median(f):.4g} | {np.percentile(f, 10):.4g} |",
                          flush=True)
    print("\n| problem | training | runs solved | champions solving with ideal weights | "
          "programmed copies solving (mean over runs) | median programmed fitness |")
    print("|---|---|---|---|---|---|")
    for (name, training), rows in totals.items():
        r = np.array(rows, dtype=float)
        print(f"| {name} | {training} | {int(r[:, 0].sum())}/{len(r)} | {int(r[:, 1].sum())}/"
              f"{len(r)} | {r[:, 2].mean():.0%} | {np.median(r[:, 3]):.4g} |")


if __name__ == "__main__":
    main()
