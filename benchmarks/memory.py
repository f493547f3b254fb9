"""Memory-augmented networks: the ntm population forward pass against a population-batched
torch NTM, and the memory tasks' results by BPTT and evolution.

    python -m benchmarks.memory speed [--repeats 3] [--population 512] [--threads N]
    python -m benchmarks.memory bptt [--seeds 1] [--max-evals 2200] [--lengths 1,20] [--lr 0.003]
    python -m benchmarks.memory evolve [--seeds 1,2,3,4,5] [--max-evals 300000] [--hidden 9]
        [--slots 12,22] [--sigma0 0.5,0.02] [--margin 0.25] [--restarts 0] [--portfolio K,E]

speed: the issue's workload, P = 512 ntm genomes (LSTM controller of 100, memory 128 x 20,
one read and one write head, shift 3), 9 inputs, 8 sigmoid outputs, B = 16 sequences of T =
40 steps, float32. The reference, written here, batches the population the way EvoTorch
would: every genome's weights as a batch of matrices (torch.bmm), the P x B memories as one
tensor, the addressing as batched tensor operations. Both get the same threads; the
outputs are compared over the first 10 steps. Prints M genome-timesteps/s (genome x step,
each over B sequences) and the ratio (goal: >= 3x).

bptt: the copy task trained by BPTT (Adam, lr 0.003 unless --lr, float32 twins, 20 episodes an update,
10 updates a generation: the run's defaults) on an ntm (the problem's default: LSTM
controller of 20, memory 128 x 20) and on a plain LSTM with about as many weights, each
through `python -m evornn run` with the same budget and seed. For each: solved or not,
evaluations used, and how far its best network copies (100 episodes at each length 10,
20, ..., 120; problems/copy_task.generalization).

evolve: the copy task by evolution alone, in two stages as Greve, Jacobsen and Risi (2016)
began: copy-10 (lengths 1 to 10), then copy (1 to 20) from stage 1's best genome (--init).
The network is EVOLVED: an ntm with a dense controller of --hidden 9 tanh units, memory
--slots 12 x 9 in stage 1 and 22 x 9 in stage 2 (the genome does not depend on the slots),
one read and one write head, shift 3, sigmoid readout: 803 genes. Each stage runs CMA-ES
(pycma, full covariance, popsize 64; --sigma0 0.5, then 0.02) for up to --max-evals
evaluations through `python -m evornn run`, 20 fresh episodes a generation, on the hinge
fitness of --margin 0.25 (copy_task.make(margin=...); `--margin none`: minus the squared
error); --restarts N adds IPOP restarts when the median best of 100 generations is no
better than of the 100 before. For each seed: each stage's evaluations to solve, and how far
the stage-2 champion copies (100 episodes at each length 10, 20, ..., 120) on the stage-2
memory and with the same genome on a memory of 128. The earlier protocol (docs/problems.md):
--slots 22,22 --sigma0 0.5,0.1 --margin none --restarts 9.
--portfolio K,E: stage 1 starts K searches (seeds from the run's seed, portfolio_seeds),
E evaluations each, keeps the one with the best fitness so far at E (choose_start), and
resumes only that one, so that all K x E plus its continuation fit in --max-evals; the
kept search runs on exactly as it would have alone. Off by default.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

import evornn

from .forward import timed

I, O, H, B, T = 9, 8, 100, 16, 40
MEMORY = (128, 20)
GOAL = 3.0


def _softplus(torch, v):
    return torch.clamp(v, min=0) + torch.log1p(torch.exp(-v.abs()))


def _address(torch, zh, mem, w_prev, M: int, S: int):
    """New weightings [X, N] of one head per row, zh [X, P] raw, on mem [X, N, M]."""
    k = torch.tanh(zh[:, :M])
    beta = _softplus(torch, zh[:, M:M + 1])
    g = torch.sigmoid(zh[:, M + 1:M + 2])
    s = torch.softmax(zh[:, M + 2:M + 2 + S], -1)
    gamma = 1 + _softplus(torch, zh[:, M + 2 + S:M + 3 + S])
    dots = torch.bmm(mem, k[:, :, None])[:, :, 0]
    norm = k.norm(dim=-1, keepdim=True) * mem.norm(dim=-1)
    wg = g * torch.softmax(beta * dots / (norm + 1e-8), -1) + (1 - g) * w_prev
    K = S // 2
    wt = sum(s[:, j:j + 1] * torch.roll(wg, j - K, -1) for j in range(S))
    wt = (wt / wt.amax(-1, keepdim=True)) ** gamma
    return wt / wt.sum(-1, keepdim=True)


def torch_ntm(net, G: np.ndarray, X: np.ndarray) -> np.ndarray:
    """outputs[P, B, T, O] of an ntm population (one read, one write head, lstm controller,
    sigmoid readout), batched over the population in torch."""
    import torch
    N, M = MEMORY
    S = 3
    P = len(G)
    Gt = torch.from_numpy(G.astype(np.float32))
    bl = {b.name: Gt[:, b.offset:b.offset + b.size].reshape((P,) + b.shape) for b in net.layout}
    W_x, W_r = bl["W_ih"][:, :, :I].transpose(1, 2), bl["W_ih"][:, :, I:].transpose(1, 2)
    W_hh, b = bl["W_hh"].transpose(1, 2), bl["b"][:, None]
    W_rd, b_rd = bl["W_read"].transpose(1, 2), bl["b_read"][:, None]
    W_wr, b_wr = bl["W_write"].transpose(1, 2), bl["b_write"][:, None]
    W_o, b_o = bl["W_out"].transpose(1, 2), bl["b_out"][:, None]
    Xt = torch.from_numpy(X).unsqueeze(0).expand(P, -1, -1, -1)          # P, B, T, I
    out = []
    with torch.no_grad():
        u = torch.stack([torch.baddbmm(b, Xt[:, :, t], W_x) for t in range(T)], 2)
        h = torch.zeros(P, B, H)
        c = torch.zeros(P, B, H)
        r = torch.zeros(P, B, M)
        mem = torch.full((P * B, N, M), 1e-6)
        wr = torch.zeros(P * B, N)
        ww = torch.zeros(P * B, N)
        wr[:, 0] = 1
        ww[:, 0] = 1
        for t in range(T):
            z = u[:, :, t] + torch.bmm(r, W_r) + torch.bmm(h, W_hh)
            i_, f_, g_, o_ = z.split(H, dim=2)
            c = torch.sigmoid(f_) * c + torch.sigmoid(i_) * torch.tanh(g_)
            h = torch.sigmoid(o_) * torch.tanh(c)
            zr = torch.baddbmm(b_rd, h, W_rd).reshape(P * B, -1)
            zw = torch.baddbmm(b_wr, h, W_wr).reshape(P * B, -1)
            ww = _address(torch, zw, mem, ww, M, S)
            e = torch.sigmoid(zw[:, M + S + 3:2 * M + S + 3])
            a = torch.tanh(zw[:, 2 * M + S + 3:])
            mem = mem * (1 - ww[:, :, None] * e[:, None, :]) + ww[:, :, None] * a[:, None, :]
            wr = _address(torch, zr, mem, wr, M, S)
            r = torch.bmm(wr[:, None, :], mem)[:, 0].reshape(P, B, M)
            out.append(torch.sigmoid(torch.baddbmm(b_o, torch.cat([h, r], 2), W_o)))
    return torch.stack(out, 2).numpy()


def speed(args) -> None:
    import torch

    from evornn.threads import set_threads, threads
    if args.threads:
        set_threads(args.threads)
    torch.set_num_threads(threads())
    P = args.population
    net = evornn.Network("ntm", I, H, O, seed=1, readout="sigmoid", memory=MEMORY)
    rng = np.random.default_rng(0)
    G = (net.genome + 0.1 * rng.standard_normal((P, net.n_params))).astype(np.float32)
    X = (rng.random((B, T, I)) < 0.5).astype(np.float32)
    t0 = time.perf_counter()
    evornn.population_forward(net, G[:2], X[:2])
    compile_s = time.perf_counter() - t0
    t_ev, y = timed(lambda: evornn.population_forward(net, G, X), args.repeats)
    t_th, y_th = timed(lambda: torch_ntm(net, G, X), args.repeats)
    diff = float(np.abs(y[:, :, :10] - y_th[:, :, :10]).max())
    work = P * T / 1e6
    print(f"ntm P={P} memory {MEMORY[0]}x{MEMORY[1]} lstm {H} B={B} T={T} float32, "
          f"{threads()} threads; M genome-timesteps/s (median of {args.repeats})")
    ratio = t_th / t_ev
    print(f"evornn {work / t_ev:.4f} ({t_ev:.2f} s)  torch {work / t_th:.4f} ({t_th:.2f} s)  "
          f"ratio {ratio:.2f}x (goal >= {GOAL:g}x: {'met' if ratio >= GOAL else 'MISSED'}, "
          f"{ratio / GOAL:.2f}x)  compile {compile_s:.1f} s  max|diff| t<10 {diff:.1e}")


def matched_lstm_hidden(n_params: int, n_in: int, n_out: int) -> int:
    """The LSTM hidden size whose genome (sigmoid readout) is closest to n_params genes."""
    return min(range(1, 200), key=lambda h: abs(
        evornn.Network("lstm", n_in, h, n_out, readout="sigmoid").n_params - n_params))


def train(problem: str, seed: int, max_evals: int, extra: list[str], lr: float = 0.003) -> dict:
    """One BPTT run through the CLI: its summary and its best network's generalization."""
    from evornn.problems import copy_task
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "evornn", "run", problem, "--optimizer", "bptt", "--option",
               "dtype=float32", "--option", f"lr={lr}", "--max-evals", str(max_evals),
               "--seed", str(seed), "--quiet", "--out", out, *extra]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=False, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        (d,) = Path(out).iterdir()
        summary = json.loads((d / "summary.json").read_text())
        net = evornn.load(d)
        return {"summary": summary, "seconds": seconds, "n_params": net.n_params,
                **copy_task.generalization(net, net.genome)}


def bptt(args) -> None:
    lo, hi = (int(v) for v in args.lengths.split(","))
    problem = "copy" if (lo, hi) == (1, 20) else f"copy-{hi}"
    ntm = evornn.Network("ntm", 9, 20, 8, readout="sigmoid")
    H = matched_lstm_hidden(ntm.n_params, 9, 8)
    setups = {"ntm": [], f"lstm {H}": ["--arch", "lstm", "--hidden", str(H)]}
    print(f"{problem}: BPTT, Adam lr {args.lr:g}, float32, --max-evals {args.max_evals}; bits wrong "
          "at each length (100 episodes)")
    print(f"{'network':9} {'genes':>6} {'seed':>4} {'solved':>6} {'evals':>6} {'s':>5} "
          f"{'copies to':>9} " + " ".join(f"{L:>5}" for L in range(10, 121, 10)))
    for seed in (int(v) for v in args.seeds.split(",")):
        for name, extra in setups.items():
            r = train(problem, seed, args.max_evals, extra, args.lr)
            s = r["summary"]
            print(f"{name:9} {r['n_params']:6,d} {seed:4d} {str(s.get('solved')):>6} "
                  f"{s.get('evaluations', 0):6,d} {r['seconds']:5.0f} {r['generalizes_to']:9d} "
                  + " ".join(f"{100 * w:4.1f}%" for w in r["bits_wrong"].values()), flush=True)


def evolved_args(hidden: int, slots: int, restarts: int) -> list[str]:
    """The evolved network and optimizer, as `python -m evornn run` options."""
    args = ["--arch", "ntm", "--hidden", str(hidden), "--arch-option", "controller=dense",
            "--arch-option", f"memory={slots},9", "--arch-option", "readout=sigmoid",
            "--optimizer", "cmaes", "--popsize", "64"]
    return args + (["--option", f"restarts={restarts}", "--option", "stagnation=100"]
                   if restarts else [])


STAGES = {"copy-10": (1, 10), "copy": (1, 20)}


def problem_file(folder: str, problem: str, margin: float | None) -> str:
    """A problem file for a stage: the registered problem, evolved on the hinge with margin."""
    path = Path(folder) / f"{problem.replace('-', '_')}_stage.py"
    path.write_text("from evornn.problems import copy_task\n"
                    f"PROBLEM = copy_task.make({STAGES[problem]!r}, name={problem!r}, "
                    f"margin={margin!r})\n")
    return str(path)


def stage_options(problem: str, seed: int, args, out: str, first: bool, max_evals: int) -> list[str]:
    """A stage's `python -m evornn run` arguments."""
    return [problem_file(out, problem, args.margin),
            *evolved_args(args.hidden, args.slots[0 if first else 1], args.restarts),
            "--sigma0", str(args.sigma0[0 if first else 1]), "--max-evals", str(max_evals),
            "--seed", str(seed), "--quiet", "--out", out]


def evolve_stage(problem: str, seed: int, args, out: str, init: Path | None) -> Path:
    """One evolution stage through the CLI; its run directory."""
    first = init is None
    cmd = [sys.executable, "-m", "evornn", "run",
           *stage_options(problem, seed, args, out, first, args.max_evals)]
    subprocess.run(cmd + ([] if first else ["--init", str(init)]), check=False,
                   capture_output=True, text=True)
    return max((d for d in Path(out).iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime)


def portfolio_seeds(seed: int, k: int) -> list[int]:
    """The K starts' seeds, fixed by the run's seed (and distinct from it)."""
    return [int(s.generate_state(1)[0] >> 1) for s in np.random.SeedSequence(seed).spawn(k)]


def choose_start(best_so_far: list[float]) -> int:
    """The start to keep: the best fitness so far at E (the first of equals).

    Not the slope over the last part: on 20 fresh episodes a generation the slope of a few
    thousand evaluations is mostly noise, while the plateau (-0.76) and a climb stand apart."""
    if not best_so_far:
        raise ValueError("--portfolio: no start to choose from (K must be at least 1)")
    values = np.asarray(best_so_far, dtype=float)
    values = np.where(np.isnan(values), -np.inf, values)
    return int(np.argmax(values))


def portfolio_stage(problem: str, seed: int, args, out: str) -> tuple[Path, int]:
    """Stage 1 as a portfolio: K starts of E evaluations, the best resumed to the rest of
    the budget; its run directory and the other starts' evaluations."""
    from evornn.cli import _gather, _make_config, parser
    from evornn.run import CONFIG, METRICS, atomic_write, new_run_dir, run_loop
    k, e = args.portfolio
    budget = args.max_evals - (k - 1) * e        # the kept start's own evaluations in the end
    if k < 1 or e < 1 or budget < e:
        raise SystemExit(f"--portfolio {k},{e}: K and E must be at least 1 and the starts' "
                         f"{k * e:,d} evaluations within --max-evals {args.max_evals:,d}")
    dirs, fits, spent = [], [], []
    for s in portfolio_seeds(seed, k):
        opts = _gather(parser().parse_args(
            ["run", *stage_options(problem, s, args, out, True, budget)]))
        cfg, _ = _make_config(opts)
        d = new_run_dir(Path(out), cfg)
        atomic_write(d / CONFIG, json.dumps(asdict(cfg), indent=2).encode())
        run_loop(d, quiet=True, stop_after=-(-e // 64))  # popsize 64: E in whole generations
        rows = (d / METRICS).read_text().splitlines()
        head, last = rows[0].split(","), rows[-1].split(",")
        fits.append(float(last[head.index("best_so_far")]))
        spent.append(int(last[head.index("evaluations")]))
        dirs.append(d)
        print(f"     start seed {s}: best {fits[-1]:.4f} at {e:,d}", flush=True)
    i = choose_start(fits)
    print(f"     kept start {i + 1} of {k}", flush=True)
    subprocess.run([sys.executable, "-m", "evornn", "resume", str(dirs[i]), "--quiet"],
                   check=False, capture_output=True, text=True)
    return dirs[i], sum(spent) - spent[i]


def evolve(args) -> None:
    from evornn.problems import copy_task
    fit = "squared error" if args.margin is None else f"hinge {args.margin:g}"
    print(f"copy-10 then copy, evolved: {' '.join(evolved_args(args.hidden, args.slots[0], 0))}"
          f" ({args.slots[1]} slots in stage 2), restarts {args.restarts}, sigma0 {args.sigma0[0]:g} "
          f"then {args.sigma0[1]:g}, fitness {fit}, portfolio {args.portfolio or 'none'}, "
          f"--max-evals {args.max_evals} a stage; copies to: the longest length with < 1% bits "
          "wrong, memory of stage 2 / 128")
    print(f"{'seed':>4} {'copy-10':>16} {'copy 1-20':>16} {'total':>9} {'s':>6} "
          f"{'copies to':>9}")
    for seed in (int(v) for v in args.seeds.split(",")):
        with tempfile.TemporaryDirectory() as out:
            t0, stages, init = time.perf_counter(), [], None
            for problem in STAGES:
                extra = 0
                if init is None and args.portfolio:
                    d, extra = portfolio_stage(problem, seed, args, out)
                else:
                    d = evolve_stage(problem, seed, args, out, init)
                s = json.loads((d / "summary.json").read_text())
                stages.append((bool(s.get("solved")), int(s.get("evaluations", 0)) + extra))
                init = d
                if not stages[-1][0]:
                    break
            seconds = time.perf_counter() - t0
            best = evornn.load(init).genome
            reach = [copy_task.generalization(evornn.Network(
                "ntm", 9, args.hidden, 8, controller="dense", memory=(n, 9), readout="sigmoid"),
                best)["generalizes_to"] for n in (args.slots[1], 128)]
        cells = [f"{'solved' if ok else 'not'} {n:>9,d}" for ok, n in stages]
        cells += ["-"] * (2 - len(cells))
        print(f"{seed:4d} {cells[0]:>16} {cells[1]:>16} {sum(n for _, n in stages):9,d} "
              f"{seconds:6.0f} {reach[0]:>4d} / {reach[1]:<3d}", flush=True)


def _pair(kind):
    def parse(text: str):
        try:
            a, b = (kind(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected two numbers A,B, got {text!r}") from None
        return a, b
    return parse


def _margin(text: str) -> float | None:
    return None if text == "none" else float(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    sp = sub.add_parser("speed", help="ntm population forward against batched torch")
    sp.add_argument("--repeats", type=int, default=3)
    sp.add_argument("--population", type=int, default=512)
    sp.add_argument("--threads", type=int, default=0)
    bp = sub.add_parser("bptt", help="ntm against an LSTM of as many weights, trained by BPTT")
    bp.add_argument("--seeds", default="1")
    bp.add_argument("--max-evals", type=int, default=2200)
    bp.add_argument("--lr", type=float, default=0.003, help="Adam's step size, for both")
    bp.add_argument("--lengths", default="1,20", help="training lengths lo,hi (1,20 or 1,10)")
    ep = sub.add_parser("evolve", help="an evolved ntm on copy-10, then copy 1-20")
    ep.add_argument("--seeds", default="1,2,3,4,5")
    ep.add_argument("--max-evals", type=int, default=300_000, help="a stage's budget")
    ep.add_argument("--hidden", type=int, default=9, help="dense controller units")
    ep.add_argument("--slots", type=_pair(int), default=(12, 22),
                    help="memory slots in stage 1, stage 2 (the genome does not depend on them)")
    ep.add_argument("--sigma0", type=_pair(float), default=(0.5, 0.02), help="stage 1, stage 2")
    ep.add_argument("--margin", type=_margin, default=0.25,
                    help="the hinge's margin, or none: minus the squared error")
    ep.add_argument("--restarts", type=int, default=0,
                    help="IPOP restarts when 100 generations' median best stalls (0: none)")
    ep.add_argument("--portfolio", type=_pair(int), default=None,
                    help="K,E: stage 1 starts K searches of E evaluations and continues the best")
    args = ap.parse_args()
    {"speed": speed, "bptt": bptt, "evolve": evolve}[args.what](args)


if __name__ == "__main__":
    main()
