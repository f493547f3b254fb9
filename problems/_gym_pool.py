"""Episodes of a gymnasium environment run in worker processes, each stepping its own chunk
of the population's environments and networks, so that every core steps environments.

Each episode is independent of the others (its own seed, its own network state), and its
figures (return, steps, the sum and sum of squares of the observations its policy saw, the
steps after which each foot touched the floor) are sums over its own steps in time order;
a chunk's rows go back in place, so the results are the same bits for any number of
workers or chunking. One worker runs the chunks in this process, no process started.

Workers are forked once and kept (the environments in each, too) until ``close``; they
ignore Ctrl-C (the parent stops them), leave when the parent is gone, and a worker that dies
makes the evaluation raise a one-line RuntimeError instead of waiting for it.
"""
from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import signal
from multiprocessing.connection import wait

import numpy as np

FLOOR = "floor"          # the ground's geom in gymnasium's MuJoCo models


def foot_geoms(env, feet) -> tuple[np.ndarray, int]:
    """The ids of the geoms named feet in env's MuJoCo model, and the floor's."""
    model = env.unwrapped.model
    return np.array([model.geom(name).id for name in feet], dtype=np.int64), model.geom(FLOOR).id


def touching(data, ids: np.ndarray, floor: int) -> np.ndarray:
    """Which of the geoms ids [F] the simulator lists in a contact with the floor now (bool
    [F]): its contacts, data.contact[:ncon], those within a geom's margin included."""
    g = data.contact.geom
    other = np.concatenate([g[g[:, 1] == floor, 0], g[g[:, 0] == floor, 1]])
    return np.isin(ids, other)


def run_chunk(envs: list, net, G: np.ndarray, seeds, mean, std, limit: int, act,
              feet=None) -> tuple:
    """Episodes of genomes G[n] (one each, from seeds[n]) on the first n of envs: returns [n],
    steps [n], observation sums [n, d] and sums of squares [n, d] over the steps taken, and
    for each of the MuJoCo geoms named ``feet`` the steps [n, F] after which it touched the
    floor (F = 0 without feet)."""
    from evornn.stepper import PopulationStepper
    n = len(G)
    stepper = PopulationStepper(net, G)
    first = [envs[i].reset(seed=int(seeds[i]))[0] for i in range(n)]
    obs = np.array(first)
    total = np.zeros(n)
    steps = np.zeros(n, dtype=np.int64)
    s1 = np.zeros((n, obs.shape[1]))
    s2 = np.zeros((n, obs.shape[1]))
    touch = np.zeros((n, len(feet or ())), dtype=np.int64)
    if feet:
        ids, floor = foot_geoms(envs[0], feet)
    alive = np.ones(n, bool)
    for _ in range(limit):
        live = np.flatnonzero(alive)
        x = obs[live].astype(np.float64)
        s1[live] += x
        s2[live] += x * x
        a = act(stepper.step((obs - mean) / std))
        for i in live:
            o, r, term, trunc, _ = envs[i].step(a[i])
            obs[i] = o
            total[i] += r
            steps[i] += 1
            if feet:
                touch[i] += touching(envs[i].unwrapped.data, ids, floor)
            if term or trunc:
                alive[i] = False
        if not alive.any():
            break
    return total, steps, s1, s2, touch


def ready_envs(envs: list, n: int, make_env) -> list:
    """envs (a list kept between calls) ready for n episodes. MuJoCo environments are kept:
    their reset(seed) restores the whole simulation state (mj_resetData). Others are made
    anew: Box2D's world keeps its contacts across resets, and BipedalWalker's returns then
    depend on the episodes the environment ran before (measured)."""
    if envs and not _resets_fully(envs[0]):
        for e in envs:
            e.close()
        envs.clear()
    while len(envs) < n:
        envs.append(make_env())
    return envs


def _resets_fully(env) -> bool:
    # by the class's ancestry, not an import: importing gymnasium's MuJoCo module raises
    # DependencyNotInstalled (not an ImportError) where mujoco is missing
    return any(c.__name__ == "MujocoEnv" and c.__module__.startswith("gymnasium.envs.mujoco")
               for c in type(getattr(env, "unwrapped", env)).__mro__)


def _die_with_parent() -> None:
    """On Linux, SIGTERM to this process when its parent dies, even mid-chunk (elsewhere the
    loop below notices between chunks)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGTERM))   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _serve(conn, parent: int, make_env, net, act) -> None:
    """A worker's loop: chunks in, their figures out, until told to stop or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)         # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)        # not the parent's handler: close() ends us
    _die_with_parent()
    from evornn.backends import forked_worker
    forked_worker()
    envs: list = []
    while True:
        while not conn.poll(1.0):
            if os.getppid() != parent:                   # the parent died (even by SIGKILL)
                return
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            G, seeds, mean, std, limit, *feet = job           # feet: only when counted
            ready_envs(envs, len(G), make_env)
            conn.send(("ok", run_chunk(envs, net, G, seeds, mean, std, limit, act, *feet)))
        except Exception as e:                           # the environment's own error, sent back
            conn.send(("error", f"{type(e).__name__}: {e}"))


class Pool:
    """``workers`` forked processes running chunks of episodes (see the module's docstring)."""

    def __init__(self, workers: int, make_env, net, act):
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self.procs, self.conns = [], []
        for _ in range(workers):
            mine, theirs = ctx.Pipe()
            p = ctx.Process(target=_serve, args=(theirs, os.getpid(), make_env, net, act),
                            daemon=True)
            p.start()
            theirs.close()
            self.procs.append(p)
            self.conns.append(mine)
        atexit.register(self.close)

    def map(self, chunks: list) -> list:
        """Each chunk's figures, in order; chunks go to workers as they free up. On an error
        the pool is closed (its workers may hold chunks no one waits for)."""
        try:
            return self._map(chunks)
        except BaseException:
            self.close()
            raise

    def _map(self, chunks: list) -> list:
        out, todo = [None] * len(chunks), list(range(len(chunks)))[::-1]
        busy = {}
        for w in range(len(self.procs)):
            if todo:
                self._send(w, todo.pop(), chunks, busy)
        while busy:
            ready = wait([*(self.conns[w] for w in busy), *(self.procs[w].sentinel for w in busy)])
            for w in list(busy):
                if self.conns[w] in ready and self.conns[w].poll():
                    try:
                        status, value = self.conns[w].recv()
                    except (EOFError, OSError):          # the worker died while writing
                        self._died(w)
                    if status != "ok":
                        raise RuntimeError(f"a gym worker's environment raised {value}")
                    out[busy.pop(w)] = value
                    if todo:
                        self._send(w, todo.pop(), chunks, busy)
                elif self.procs[w].sentinel in ready:
                    self._died(w)
        return out

    def _died(self, w: int) -> None:
        p = self.procs[w]
        p.join()
        raise RuntimeError(f"gym worker process {p.pid} died (exit code {p.exitcode}) "
                           "while stepping its environments")

    def _send(self, w: int, i: int, chunks: list, busy: dict) -> None:
        try:
            self.conns[w].send(chunks[i])
        except OSError:                                  # a broken pipe: the worker is gone
            self._died(w)
        busy[w] = i

    def close(self) -> None:
        """Stop and reap every worker (idempotent)."""
        for p in self.procs:
            if p.is_alive():
                p.terminate()
        for p in self.procs:
            p.join()
        for c in self.conns:
            c.close()
        self.procs, self.conns = [], []
        atexit.unregister(self.close)
