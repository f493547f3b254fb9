"""Where a population is evaluated: worker threads, one thread, or Ray actors.

Every backend gives the same fitness for the same genomes and seed: a genome's fitness
depends only on the genome and the (run seed, generation) pair, never on how the
population was split. A backend name sets two things apart: where evaluation runs
(``use_backend``, ``make_evaluator``) and the array module forward passes compute in
(``compute_module``: CuPy for ``cupy``, whose evaluation runs on this process's threads).
"""
from __future__ import annotations

import os
import time
from typing import Callable

import numpy as np

from .ray_pool import ActorPool, ChunkRun
from .ray_watch import ClusterLost, ClusterWatch, driver_endpoints  # noqa: F401

BACKENDS = {"threads": "numba kernels on worker threads, GIL-free (default)",
            "serial": "the same kernels on one thread",
            "ray": "Ray actors on this machine or a cluster (--address), lost workers re-run",
            "cupy": "population forward passes batched on a CUDA GPU (problems built on "
                    "population_forward)"}


def check_backend(backend: str) -> None:
    """A ValueError naming the valid backends unless backend is one of them."""
    if backend not in BACKENDS:
        from .options import unknown
        raise unknown("backend", backend, list(BACKENDS))


def check_address(address: str, timeout: float = 10.0) -> None:
    """ValueError unless a Ray cluster's head answers at address (HOST:PORT, or ray://HOST:PORT)
    within timeout seconds; 'auto' is left to Ray. ray.init itself waits minutes for a head
    that is not there."""
    if address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"--address {address!r} must be HOST:PORT (or auto, a cluster started "
                         "on this machine)")
    import socket
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise ValueError(f"no Ray cluster answers at {address} ({e}): start one there with "
                         "`ray start --head`, or check the address") from None


def compute_module(backend: str):
    """The array module forward passes compute in under backend: cupy for ``cupy`` (a
    RuntimeError saying why, without a GPU), None (the numba kernels) for the others."""
    check_backend(backend)
    if backend != "cupy":
        return None
    from .arrays import array_module
    return array_module("cupy")


def use_backend(backend: str, workers: int | None) -> None:
    """Set up this process's threads for the backend (Ray actors set their own); for
    ``cupy``, check that it can compute (a RuntimeError saying why, without a GPU)."""
    from .threads import set_threads
    check_backend(backend)
    if backend == "cupy":
        compute_module(backend)
        return
    if backend == "serial":
        set_threads(1)
    elif backend == "threads" and workers is not None:
        set_threads(workers)


def problem_bytes(prob) -> bytes:
    """The problem pickled for Ray workers, or a ValueError naming the part that does not pickle.

    cloudpickle sends lambdas, closures and the functions of a problem file (a module no
    worker can import) by value, and the functions of installed modules by reference.
    """
    from dataclasses import fields

    from ray import cloudpickle
    try:
        return cloudpickle.dumps(prob)
    except Exception as e:                     # TypeError, PicklingError, ...: whatever pickle raises
        def pickles(v):
            try:
                cloudpickle.dumps(v)
                return True
            except Exception:
                return False
        part = next((f.name for f in fields(prob) if not pickles(getattr(prob, f.name))), None)
        raise ValueError(
            f"problem {prob.name!r} cannot be sent to Ray workers: {f'its {part}' if part else 'it'} "
            f"does not pickle ({type(e).__name__}: {e}); what its functions refer to must pickle "
            "(create locks, open files or connections inside evaluate), or run it with --backend "
            "threads") from None


def evaluation_workers() -> int:
    """How many workers a problem's own evaluation may use (gym:'s processes): evornn's
    threads, as ``--workers`` sets them (1 under ``--backend serial``)."""
    from .threads import threads
    return threads()


def forked_worker() -> None:
    """Set up a worker process forked from a run: one thread, not the parent's pool."""
    from .threads import forked
    forked(1)


def make_evaluator(cfg, prob, net) -> Callable:
    """evaluate(genomes, seed) -> fitness for the run's backend; ``.close()`` releases it.

    ``.takes_seeds`` says whether it also offers ``evaluate_seeds(batch, seed)``: the
    fitness of a population an optimizer gives as seeds (its ``seed_batch()``)."""
    if cfg.backend == "ray":
        return RayEvaluator(prob, cfg.arch, cfg.hidden, cfg.seed, cfg.workers, cfg.address,
                            arch_options=getattr(cfg, "arch_options", None))
    return LocalEvaluator(prob, net)


class LocalEvaluator:
    """The problem's own evaluation in this process (on the worker threads, or one)."""

    takes_seeds = False

    def __init__(self, prob, net):
        self.prob, self.net = prob, net

    def __call__(self, G: np.ndarray, seed, measures: bool = False):
        if measures:
            from .problem import evaluate_measures
            return evaluate_measures(self.prob, self.net, G, seed)
        return self.prob.evaluate(self.net, G, seed)

    def close(self) -> None:
        if self.prob.close is not None:
            self.prob.close()


class _Worker:
    """A Ray actor holding one problem and its network, compiled kernels warm after the first
    chunk; evaluates chunks of genomes."""

    def __init__(self, problem: bytes, arch: str, hidden: int, seed: int, threads: int,
                 arch_options=None):
        import pickle

        from .threads import set_threads
        set_threads(threads)
        self.prob = pickle.loads(problem)          # the driver's own Problem, not a re-import
        self.net = self.prob.network(arch, hidden, seed=seed, options=arch_options)

    def evaluate(self, G: np.ndarray, seed, measures: bool = False,
                 state=None) -> tuple[np.ndarray, float, object]:
        """A chunk's fitness (with measures: [n, 1 + K], the fitness then the problem's
        measures), the seconds it took (the driver sizes chunks by them) and what the
        problem gathered (None without gathered()), evaluated under the driver's state."""
        t0 = time.perf_counter()
        if state is not None:
            self.prob.set_state(state)
        if measures:
            from .problem import evaluate_measures
            f, v = evaluate_measures(self.prob, self.net, G, seed)
            f = np.column_stack([f, v])
        else:
            f = np.asarray(self.prob.evaluate(self.net, G, seed), dtype=np.float64)
        part = self.prob.gathered() if self.prob.gathered is not None else None
        return f, time.perf_counter() - t0, part

    def evaluate_seeds(self, rebuild, seeds, mean, args, seed,
                       state=None) -> tuple[np.ndarray, float, object]:
        """Rebuild a population chunk from its seeds (the optimizer's rebuild function),
        then evaluate it: its fitness, the seconds both took and what the problem gathered."""
        t0 = time.perf_counter()
        f, _, part = self.evaluate(rebuild(seeds, mean, *args), seed, state=state)
        return f, time.perf_counter() - t0, part

    def pid(self) -> int:
        return os.getpid()


class RayEvaluator:
    """A population split into chunks handed to Ray actors as they free up; a chunk whose
    actor dies is re-run on another actor and the dead one replaced, so a lost worker or
    node costs time, not results. A lost cluster (this node's raylet, the GCS) is a
    ClusterLost. Takes populations as seeds too (``evaluate_seeds``).

    ``problem`` is a Problem or a name for ``get_problem`` (built-in, ``gym:ENV_ID`` or a .py
    file); the driver pickles it once into the object store and every actor, replacements
    too, unpickles that copy, so workers need evornn but not the problem file.
    """

    takes_seeds = True

    def __init__(self, problem, arch: str, hidden: int, seed: int, workers: int | None = None,
                 address: str | None = None, max_retries: int = 3, threads: int | None = None,
                 arch_options: dict | None = None):
        import ray

        from .problem import get_problem
        prob = get_problem(problem) if isinstance(problem, str) else problem
        blob = problem_bytes(prob)                 # a ValueError before Ray starts
        self._prob = prob
        self._measures = tuple(prob.measures)
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False,
                         log_to_driver=False)
                self._started = True
        self._watch = ClusterWatch(driver_endpoints(ray, address))
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = int(workers or cpus)
        # numba threads per actor: the cores divided among the actors, never oversubscribed
        self._threads = int(threads or max(1, cpus // self.workers))
        self._args = (ray.put(blob), arch, hidden, seed, self._threads, arch_options)
        self._cls = ray.remote(num_cpus=min(1, cpus / self.workers))(_Worker)
        self.max_retries = max_retries
        self.pool = ActorPool(ray, self._new_actor, self.workers, self._watch, max_retries)
        self.bytes_sent = 0                # genomes, or seeds and means, shipped so far

    @property
    def actors(self) -> list:
        """The actors by slot (a replacement may still be starting)."""
        return self.pool.actors

    @property
    def replaced(self) -> int:
        """Actors lost and replaced, over the run."""
        return self.pool.replaced

    def _new_actor(self):
        return self._cls.remote(*self._args)

    def __call__(self, G: np.ndarray, seed, measures: bool = False):
        G = np.ascontiguousarray(G)
        self.bytes_sent += G.nbytes
        state = self._state()
        if measures:
            out = self._run(len(G), lambda actor, lo, hi: actor.evaluate.remote(
                G[lo:hi], seed, True, state), width=1 + len(self._measures))
            return out[:, 0].copy(), out[:, 1:].copy()
        return self._run(len(G), lambda actor, lo, hi: actor.evaluate.remote(
            G[lo:hi], seed, False, state))

    def evaluate_seeds(self, batch: dict, seed) -> np.ndarray:
        """Fitness of a population given as seeds, shipping the seeds and one mean instead of
        the genomes (Salimans et al. 2017): workers rebuild the genomes. ``batch`` is an
        optimizer's ``seed_batch()``: {"seeds", "rows" (genomes a seed), "mean", "args",
        "rebuild"}, with rebuild(seeds, mean, *args) -> genomes[rows * len(seeds), D]."""
        seeds, rebuild, args = batch["seeds"], batch["rebuild"], batch["args"]
        self._watch.check(force=True)              # a put without a raylet ends the process
        mean = self._ray.put(batch["mean"])       # once a generation, shared by every chunk
        self.bytes_sent += batch["mean"].nbytes + seeds.nbytes
        state = self._state()
        return self._run(len(seeds), lambda actor, lo, hi: actor.evaluate_seeds.remote(
            rebuild, seeds[lo:hi], mean, args, seed, state), rows=batch["rows"])

    def _state(self):
        """The driver's problem state for this generation's chunks (None: the problem keeps
        none), put once into the object store: every chunk, a re-run one too, starts from it."""
        if self._prob.get_state is None:
            return None
        self._watch.check(force=True)              # a put without a raylet ends the process
        return self._ray.put(self._prob.get_state())

    def _run(self, n: int, call, rows: int = 1, width: int = 0) -> np.ndarray:
        """call(actor, lo, hi) for chunks of [0, n) over the actors (ray_pool.ChunkRun);
        what the chunks gathered becomes the driver's problem's, in chunk order."""
        run = ChunkRun(self.pool, n, call, rows, width=width)
        out = run.run()
        if self._prob.set_gathered is not None:
            self._prob.set_gathered([run.parts[k] for k in sorted(run.parts, key=run.chunks.__getitem__)])
        return out

    def pids(self) -> list[int]:
        """The actors' process ids, once every actor has started (to watch them or, in
        tests, to kill them)."""
        return self.pool.wait_ready()

    def close(self) -> None:
        """Stop the actors, and Ray itself if this evaluator started it. After a lost
        cluster the actors are not asked to stop: nothing is left to ask."""
        if self._watch.lost is None:
            for a in self.actors:
                self._ray.kill(a)
        self.pool.actors = []
        if self._started:
            self._ray.shutdown()
