"""Environment steps/s of gym: evaluations against MuJoCo stepped alone, in one run.

    python -m benchmarks.gym_throughput [--envs Swimmer-v5,HalfCheetah-v5,Hopper-v5]
        [--seconds 5] [--generations 3] [--workers N]

raw: one process a core (N processes at once, N = evornn's threads), each stepping one
environment with random actions for --seconds (resetting when an episode ends); the sum
of their steps/s. evornn: the problem's evaluation (gym:ENV, its default network, xNES's
popsize 16 x 3 episodes: 48 episodes a generation) of random genomes (the network's
initialization plus N(0, 0.5^2)) for --generations generations after a warm-up one, on
N worker processes and on 1 (this process); steps/s from the problem's env_steps counter.
per-step: the other design, the networks stepped in this process and N worker processes
each stepping a slice of the environments, a round trip a time step. The ratio is
evornn's steps/s over raw's, both measured here, now (interleaved, --rounds times, the best
of each kept).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import numpy as np


def _raw(env_id: str, seconds: float, seed: int, out) -> None:
    from evornn.problems._gym import make_env
    env = make_env(env_id)
    env.action_space.seed(seed)
    env.reset(seed=seed)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(100):
            _, _, term, trunc, _ = env.step(env.action_space.sample())
            if term or trunc:
                env.reset()
        n += 100
    out.put(n / (time.perf_counter() - t0))


def raw_steps(env_id: str, seconds: float, cores: int) -> float:
    """Summed steps/s of one random-action environment in each of ``cores`` processes."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    ps = [ctx.Process(target=_raw, args=(env_id, seconds, i, q)) for i in range(cores)]
    for p in ps:
        p.start()
    rates = [q.get() for _ in ps]
    for p in ps:
        p.join()
    return float(sum(rates))


def evornn_steps(env_id: str, workers: int, generations: int) -> tuple[float, np.ndarray]:
    """env steps/s of the problem's evaluation on ``workers`` processes, and the fitness."""
    from evornn.problem import get_problem
    from evornn.threads import set_threads
    set_threads(workers)
    prob = get_problem(f"gym:{env_id}")
    net = prob.network()
    G = net.genome + 0.5 * np.random.default_rng(0).standard_normal((16, net.n_params))
    try:
        prob.evaluate(net, G, (0, 0))                       # workers started, kernels loaded
        prob.end_generation()
        before, t0 = prob.counters()["env_steps"], time.perf_counter()
        for g in range(1, generations + 1):
            f = prob.evaluate(net, G, (0, g))
            prob.end_generation()
        return (prob.counters()["env_steps"] - before) / (time.perf_counter() - t0), f
    finally:
        prob.close()


def _slice(conn, env_id: str) -> None:
    from evornn.problems._gym import make_env
    envs = []
    while True:
        msg = conn.recv()
        if msg is None:
            return
        kind, payload = msg
        if kind == "reset":
            while len(envs) < len(payload):
                envs.append(make_env(env_id))
            conn.send(np.array([e.reset(seed=int(s))[0] for e, s in zip(envs, payload)]))
        else:
            out = [envs[i].step(a) for i, a in payload]
            conn.send([(o, r, t or u) for o, r, t, u, _ in out])


def per_step_steps(env_id: str, workers: int, generations: int) -> float:
    """env steps/s with the networks stepped here and the environments in ``workers``
    processes, one round trip a time step (the design evornn does not use)."""
    from evornn.problem import get_problem
    from evornn.problems._gym import make_env
    from evornn.stepper import PopulationStepper
    prob = get_problem(f"gym:{env_id}")
    net = prob.network()
    space = make_env(env_id).action_space
    G = np.repeat(net.genome + 0.5 * np.random.default_rng(0).standard_normal((16, net.n_params)),
                  3, axis=0)
    ctx = mp.get_context("fork")
    pipes = [ctx.Pipe() for _ in range(workers)]
    ps = [ctx.Process(target=_slice, args=(c, env_id), daemon=True) for _, c in pipes]
    for p in ps:
        p.start()
    parts = np.array_split(np.arange(len(G)), workers)
    steps, t0 = 0, 0.0
    for g in range(generations + 1):
        if g == 1:
            steps, t0 = 0, time.perf_counter()
        for (c, _), idx in zip(pipes, parts):
            c.send(("reset", list(range(g * 1000, g * 1000 + len(idx)))))
        obs = np.concatenate([c.recv() for c, _ in pipes])
        st = PopulationStepper(net, G)
        alive = np.ones(len(G), bool)
        for _ in range(1000):
            a = space.low + (np.clip(st.step(obs), -1, 1) + 1) * 0.5 * (space.high - space.low)
            for (c, _), idx in zip(pipes, parts):
                c.send(("step", [(k, a[i]) for k, i in enumerate(idx) if alive[i]]))
            for (c, _), idx in zip(pipes, parts):
                live = [i for i in idx if alive[i]]
                for i, (o, _, done) in zip(live, c.recv()):
                    obs[i], steps = o, steps + 1
                    alive[i] = alive[i] and not done
            if not alive.any():
                break
    rate = steps / (time.perf_counter() - t0)
    for (c, _), p in zip(pipes, ps):
        c.send(None)
        p.join()
    return rate


def main() -> None:
    from evornn.threads import threads
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--envs", default="Swimmer-v5,HalfCheetah-v5,Hopper-v5")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--generations", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=threads())
    args = ap.parse_args()
    n = args.workers
    print(f"{n} workers; raw = {n} processes stepping random actions at once; each figure the "
          f"best of {args.rounds} rounds, the measurements interleaved (a shared machine's load "
          "falls on all of them)")
    print(f"{'environment':<16}{'raw steps/s':>13}{'evornn':>10}{'ratio':>7}{'1 worker':>10}"
          f"{'per-step':>10}")
    for env_id in args.envs.split(","):
        best = {"raw": 0.0, "ours": 0.0, "one": 0.0, "per_step": 0.0}
        for _ in range(args.rounds):
            ours, f = evornn_steps(env_id, n, args.generations)
            raw = raw_steps(env_id, args.seconds, n)
            one, f1 = evornn_steps(env_id, 1, args.generations)
            assert np.array_equal(f, f1), "the fitness depends on the number of workers"
            per_step = per_step_steps(env_id, n, args.generations)
            for k, v in (("raw", raw), ("ours", ours), ("one", one), ("per_step", per_step)):
                best[k] = max(best[k], v)
        print(f"{env_id:<16}{best['raw']:>13,.0f}{best['ours']:>10,.0f}"
              f"{best['ours'] / best['raw']:>7.0%}{best['one']:>10,.0f}{best['per_step']:>10,.0f}",
              flush=True)


if __name__ == "__main__":
    main()
