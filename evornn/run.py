"""The run loop: ask -> evaluate -> tell -> stop?, each generation's record handed to
listeners (evornn/listeners.py), into runs/<run-id>/.

A run directory holds config.json (enough to rerun), metrics.csv (one row a
generation), checkpoint.npz (written atomically after the first generation, then at most
once a second, and after the last: listeners.Checkpoint), best.npz (the best network: its
config and genome, loadable with ``evornn.load``; under ``--device`` the ideal genome, before
programming, with the fitness its programmed copy scored; written with the checkpoint),
for nsga2 front.npz, for map-elites and novelty archive.npz (``evornn.load(run_dir,
cell=...)``; both written with the checkpoint) and, at the end, summary.json and
fitness.png. ``run_loop(run_dir)`` continues from the checkpoint to exactly the result an
uninterrupted run with the same seed would have reached.
"""
from __future__ import annotations

import importlib
import io
import json
import os
import signal
import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import safe_pickle, statefile
from .backends import BACKENDS, ClusterLost, compute_module, make_evaluator, use_backend  # noqa: F401
from .listeners import Checkpoint, FitnessPlot, MetricsCSV, ProgressBar, Record, atomic_write, previous
from .optim.xp import host, on_device
from .population import computing
from .run_options import RUN_OPTIONS

LOCK = "run.lock"
CONFIG, METRICS, CHECKPOINT, BEST, SUMMARY = ("config.json", "metrics.csv", "checkpoint.npz",
                                               "best.npz", "summary.json")
FRONT = "front.npz"                      # a multi-objective run's non-dominated set
ARCHIVE = "archive.npz"                  # quality diversity's archive (map-elites, novelty)
OLD_CHECKPOINT = "checkpoint.pkl"        # run directories written before checkpoints were .npz


def _default(name: str):
    return RUN_OPTIONS[name].default


@dataclass
class RunConfig:
    """Everything that defines a run; written to config.json. Each field is a run option of
    evornn.run_options.RUN_OPTIONS (its meaning and default are declared there)."""

    problem: str
    arch: str
    hidden: int
    optimizer: str
    popsize: int | None                 # None for a gradient trainer (bptt, rtrl)
    sigma0: float
    max_evals: int
    seed: int
    generations: int | None = _default("generations")
    target: float | None = _default("target")
    backend: str = _default("backend")
    population: str = _default("population")
    workers: int | None = _default("workers")
    address: str | None = _default("address")
    init: str | None = _default("init")
    options: dict | None = _default("options")
    arch_options: dict | None = _default("arch_options")
    log: list | None = _default("log")
    device: str | None = _default("device")
    device_options: dict | None = _default("device_options")
    problem_options: dict | None = _default("problem_options")
    max_env_steps: int | None = _default("max_env_steps")


def new_run_dir(root: Path, cfg: RunConfig) -> Path:
    """A fresh runs/<problem>-<arch>-<optimizer>-s<seed>[-n] directory (never an existing one)."""
    return fresh_dir(root, f"{Path(cfg.problem).stem.replace(':', '-')}-{cfg.arch}-{cfg.optimizer}"
                           f"-s{cfg.seed}")


def fresh_dir(root: Path, base: str) -> Path:
    """root/base, or root/base-1, -2, ...: the first name not taken (made atomically)."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(1000):
        d = root / (base if i == 0 else f"{base}-{i}")
        try:
            d.mkdir()
            return d
        except FileExistsError:
            continue
    raise RuntimeError(f"no free run directory name under {root}")


def run_problem(cfg: RunConfig):
    """The run's Problem: its name with its options (``--problem-option``)."""
    from .problem import get_problem
    options = getattr(cfg, "problem_options", None)
    return get_problem(cfg.problem, options) if options else get_problem(cfg.problem)


def check_problem_fit(cfg: RunConfig, prob) -> None:
    """A one-line ValueError when the run's options ask what its problem cannot give: an
    environment-step budget of a problem that counts none, Ray workers for a problem whose
    state changes as the run goes but cannot hand back what its evaluation gathered."""
    counted = prob.counters() if prob.counters else {}
    if getattr(cfg, "max_env_steps", None) is not None and "env_steps" not in counted:
        raise ValueError(f"--max-env-steps needs a problem that counts environment steps "
                         f"(gym:ENV_ID); {cfg.problem} counts {', '.join(counted) or 'none'}")
    if cfg.backend == "ray" and prob.get_state is not None and (
            prob.set_state is None or prob.gathered is None or prob.set_gathered is None):
        raise ValueError(f"problem {cfg.problem} keeps a state that changes as the run goes but "
                         "lacks set_state, gathered or set_gathered, which Ray workers need to "
                         "share it: use --backend threads")


def _setup(cfg: RunConfig):
    prob = run_problem(cfg)
    net = prob.network(cfg.arch, cfg.hidden, seed=cfg.seed, options=cfg.arch_options)
    x0 = init_genome(cfg.init, net) if cfg.init else None
    opt = problem_optimizer(prob, net, cfg.optimizer, cfg.seed, cfg.popsize, cfg.sigma0, x0,
                            cfg.options, xp=population_module(cfg), device=_device(cfg))
    return prob, net, opt


def population_module(cfg: RunConfig) -> str | None:
    """'cupy' where the run keeps its population on the GPU (``--population device``), else
    None; a one-line ValueError for a run that cannot."""
    if getattr(cfg, "population", "host") != "device":
        return None
    from .optim.base import device_optimizers
    if cfg.backend != "cupy":
        raise ValueError(f"--population device keeps the population on the GPU: it needs "
                         f"--backend cupy, not {cfg.backend!r}")
    if cfg.optimizer not in device_optimizers():
        raise ValueError(f"--population device: optimizer {cfg.optimizer!r} keeps its population "
                         f"on the host; the device takes {', '.join(device_optimizers())}")
    if getattr(cfg, "device", None) is not None:
        raise ValueError("--population device does not combine with --device: the device model "
                         "programs the genomes on the host")
    return "cupy"


def _device(cfg: RunConfig):
    """The run's device model (None: ideal weights), its options checked (one-line ValueError)."""
    from .device import make_device
    return make_device(getattr(cfg, "device", None), getattr(cfg, "device_options", None))


def init_genome(run_dir, net) -> np.ndarray:
    """The best genome of another run, checked to fit net (hybrids: --init RUN_DIR)."""
    d = Path(run_dir)
    if not (d / BEST).exists():
        raise ValueError(f"--init {d}: no {BEST} there (not an evornn run directory, or no "
                         "generation finished)")
    g, _, _ = read_best(d)
    if g.shape != (net.n_params,):
        raise ValueError(f"--init {d}: its best genome has {g.size} genes, this run's network "
                         f"needs {net.n_params} (use the same --arch and --hidden)")
    lo, hi = net.bounds()
    return np.clip(g, lo, hi)


def start_genome(prob, net) -> np.ndarray:
    """The problem's own initial genome, prob.x0(net), checked to fit net's genome and
    bounds (one-line ValueErrors)."""
    g = np.asarray(prob.x0(net), dtype=np.float64)
    if g.shape != (net.n_params,):
        raise ValueError(f"problem {prob.name!r}: x0 gave a genome of shape {g.shape}, the "
                         f"network needs {net.n_params} genes")
    if not np.isfinite(g).all():
        raise ValueError(f"problem {prob.name!r}: x0 gave a genome with inf or NaN")
    lo, hi = net.bounds()
    return np.clip(g, lo, hi)


def problem_optimizer(prob, net, name: str, seed: int, popsize=None, sigma0=None, x0=None,
                      options=None, xp=None, device=None):
    """The optimizer as a run of this problem sets it up: x0 (--init), else the problem's
    ``x0`` (its function's genome, or its choice); bounds
    and, for its own default optimizer, its options (``options`` override them; a callable
    one is called with the network). A gradient method (bptt, rtrl) trains the network
    itself from x0 or its initialization (``device``: the run's device model, which its
    option device_noise trains through). ``xp``: the array module of an evolutionary
    optimizer's population (None: NumPy)."""
    import evornn
    own = prob.optimizer_options if name == prob.optimizer else {}
    # a problem's own option may be a function of the network (pole balancing's xNES basis)
    opts = {**{k: v(net) if callable(v) else v for k, v in own.items()}, **(options or {})}
    if x0 is None and callable(prob.x0):
        x0 = start_genome(prob, net)
    if evornn.optim.is_gradient(name):
        from .bptt import GradientTrainer  # torch is imported when the trainer is built
        return GradientTrainer(name, prob, net, seed=seed, x0=x0, device=device, **opts)
    if x0 is None and prob.x0 == "init":
        x0 = net.genome
    measures = None
    if evornn.optim.needs_measures(name):
        measures = problem_measures(prob, name)
        declared = evornn.optim.declared_options(name)
        for key in ("descriptors", "objectives"):   # the problem's own choice, unless given
            if key in declared and key not in opts and getattr(prob, key):
                opts[key] = tuple(getattr(prob, key))
    return evornn.optimizer(name, net.n_params, seed=seed, popsize=popsize,
                            sigma0=sigma0 or prob.sigma0, bounds=net.bounds(), x0=x0,
                            measures=measures, **({"xp": xp} if xp is not None else {}), **opts)


def problem_measures(prob, optimizer_name: str) -> dict:
    """The problem's measures for an optimizer that searches on them, or a one-line
    ValueError naming the problems that declare some."""
    if not prob.measures:
        from ._zoo import ZOO
        from .problem import builtin_problems, with_measures
        # and those the zoo's factories make (gym:ENV_ID with feet), which no scan finds
        made = getattr(importlib.import_module(ZOO), "MEASURED", lambda: [])()
        raise ValueError(f"--optimizer {optimizer_name} searches on measures beside the fitness "
                         f"(behaviour descriptors or objectives), and problem {prob.name!r} "
                         "declares none; problems that do: "
                         f"{', '.join([*with_measures(builtin_problems()), *made]) or 'none yet'}")
    return dict(prob.measures)


def save_best(run_dir: Path, cfg: RunConfig, genome: np.ndarray, fitness: float,
              problem_state=None) -> None:
    """best.npz: the genome, its fitness, the run's config and, for a problem with a state,
    the state it was evaluated with (statefile bytes)."""
    buf = io.BytesIO()
    extra = {} if problem_state is None else {
        "problem_state": np.frombuffer(statefile.dumps(problem_state), dtype=np.uint8)}
    np.savez(buf, genome=genome, fitness=fitness, config=json.dumps(asdict(cfg)), **extra)
    atomic_write(run_dir / BEST, buf.getvalue())


def read_problem_state(run_dir):
    """The problem state saved with the best network in best.npz (None: the problem keeps none)."""
    path = Path(run_dir) / BEST
    try:
        with np.load(path, allow_pickle=False) as z:
            if "problem_state" not in z.files:
                return None
            return statefile.loads(z["problem_state"].tobytes())
    except Exception as e:
        raise DamagedRunError(f"{path} is damaged ({type(e).__name__}: {e})") from None


def load_problem(run_dir):
    """The run's Problem with the state its best network was evaluated with put back."""
    d = Path(run_dir)
    prob = run_problem(read_config(d))
    saved = read_problem_state(d) if (d / BEST).exists() else None
    if saved is not None and prob.set_state is not None:
        prob.set_state(saved)
    return prob


class BestFile:
    """The run's best network, kept as found and written to best.npz when the checkpoint is
    written (before it: a checkpoint never counts a best network that a power cut could lose)."""

    def __init__(self, run_dir: Path, cfg: RunConfig):
        self.run_dir, self.cfg, self.pending = run_dir, cfg, None

    def keep(self, genome: np.ndarray, fitness: float, problem_state=None) -> None:
        self.pending = (np.array(host(genome)), float(fitness), problem_state)

    def write(self) -> None:
        if self.pending is not None:
            save_best(self.run_dir, self.cfg, *self.pending)
            self.pending = None


def read_best(run_dir: Path) -> tuple[np.ndarray, float, "RunConfig"]:
    """best.npz's genome, fitness and run config, read without pickle; DamagedRunError
    naming the file if it does not read as one."""
    path = Path(run_dir) / BEST
    try:
        with np.load(path, allow_pickle=False) as z:
            g, fitness = z["genome"], float(z["fitness"])
            cfg = RunConfig(**json.loads(str(z["config"])))
        if g.ndim != 1 or g.dtype.kind != "f":
            raise ValueError(f"its genome is a {g.dtype} array of shape {g.shape}, not a "
                             "vector of floats")
    except Exception as e:                # truncated, not an npz, pickled objects: all refused
        raise DamagedRunError(f"{path} is damaged ({type(e).__name__}: {e})") from None
    return g, fitness, cfg


def save_archive(run_dir: Path, opt) -> None:
    """archive.npz: the optimizer's archive_arrays() (map-elites, novelty: the elites'
    genomes, fitness and descriptor values, the QD history), read by ``report`` and
    ``evornn.load(cell=...)``."""
    buf = io.BytesIO()
    np.savez(buf, **opt.archive_arrays())
    atomic_write(run_dir / ARCHIVE, buf.getvalue())


def save_front(run_dir: Path, opt) -> None:
    """front.npz: the optimizer's front() (genomes, objectives) and the objectives' names."""
    X, F = opt.front()
    buf = io.BytesIO()
    np.savez(buf, genomes=X, objectives=F, names=np.array(opt.objective_names, dtype=str))
    atomic_write(run_dir / FRONT, buf.getvalue())


def read_front(run_dir) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """front.npz's genomes [n, D], objectives [n, M] and objective names (read without
    pickle); a one-line ValueError if the run keeps no front."""
    path = Path(run_dir) / FRONT
    if not path.exists():
        raise ValueError(f"{Path(run_dir)} holds no {FRONT}: only runs of a multi-objective "
                         "optimizer (--optimizer nsga2) keep a front")
    try:
        with np.load(path, allow_pickle=False) as z:
            return z["genomes"], z["objectives"], tuple(str(n) for n in z["names"])
    except Exception as e:
        raise DamagedRunError(f"{path} is damaged ({type(e).__name__}: {e})") from None


def load(run_dir, front_index: int | None = None, cell=None) -> "evornn.Network":  # noqa: F821
    """The best network of a run, ready to step() or forward() (no optimizer needed); with
    ``front_index`` member k of a multi-objective run's front (front.npz's order); with
    ``cell`` an elite of its archive (map-elites, novelty): a tuple of grid coordinates, or
    the elite's number in the archive."""
    d = Path(run_dir)
    if not (d / BEST).exists():
        raise ValueError(f"{d} holds no {BEST}: not an evornn run directory, or no generation "
                         "finished yet")
    genome, _, cfg = read_best(d)
    if front_index is not None:
        G, _, _ = read_front(d)
        if isinstance(front_index, bool) or not isinstance(front_index, (int, np.integer)) \
                or not 0 <= front_index < len(G):
            raise ValueError(f"front_index must be an integer in [0, {len(G)}): the front of {d} "
                             f"has {len(G)} members, got {front_index!r}")
        genome = G[int(front_index)]
    if cell is not None:
        genome = archive_genome(d, cell)
    # a problem's state (gym's observation statistics) as the champion was evaluated with it
    prob = load_problem(d)
    net = prob.network(cfg.arch, cfg.hidden, seed=cfg.seed, options=cfg.arch_options)
    if prob.close is not None:
        prob.close()
    net.genome = genome
    return net


def read_archive(run_dir) -> dict:
    """archive.npz of a quality-diversity run as arrays (solution, fitness, measures,
    descriptors, history; map-elites also cells, dims, lower, upper)."""
    path = Path(run_dir) / ARCHIVE
    if not path.exists():
        raise ValueError(f"{run_dir} holds no {ARCHIVE}: only map-elites and novelty runs keep "
                         "an archive")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def archive_genome(run_dir, cell) -> np.ndarray:
    """The genome of the archive's elite in grid cell ``cell`` (a tuple of coordinates) or
    numbered ``cell`` (an integer), or a one-line ValueError naming what is there."""
    a = read_archive(run_dir)
    n = len(a["fitness"])
    if isinstance(cell, (int, np.integer)) and not isinstance(cell, bool):
        if not 0 <= cell < n:
            raise ValueError(f"cell={cell}: the archive holds elites 0 .. {n - 1}")
        return a["solution"][int(cell)]
    if "cells" not in a:
        raise ValueError(f"cell={cell!r}: this archive has no grid; give the elite's number "
                         f"(0 .. {n - 1})")
    c = np.asarray(cell)
    dims = a["dims"]
    if c.shape != dims.shape or c.dtype.kind not in "iu":
        raise ValueError(f"cell={cell!r}: give {len(dims)} integer coordinates (a grid of "
                         f"{' x '.join(map(str, dims))} over {', '.join(a['descriptors'])}) or "
                         f"the elite's number (0 .. {n - 1})")
    if ((c < 0) | (c >= dims)).any():
        raise ValueError(f"cell={tuple(int(x) for x in c)} is outside the grid of "
                         f"{' x '.join(map(str, dims))} over {', '.join(a['descriptors'])} "
                         f"(the coordinates run from 0 to {', '.join(str(int(x) - 1) for x in dims)})")
    hit = np.flatnonzero((a["cells"] == c).all(axis=1))
    if not hit.size:
        raise ValueError(f"cell={tuple(int(x) for x in c)} holds no elite; {n} of the "
                         f"{int(np.prod(dims))} cells do")
    return a["solution"][hit[0]]


def run_loop(run_dir: Path, quiet: bool = False, stop_after: int | None = None,
             listeners: Sequence = ()) -> dict:
    """Run (or continue) the run in run_dir until solved, out of budget or stopped; every
    generation's Record goes to the run's own listeners, then to ``listeners``.

    ``stop_after`` ends the process's work after that many generations, as a kill would
    (used to test resuming); the checkpoint then holds everything to continue.
    """
    cfg = read_config(run_dir)
    lock = _lock(run_dir)
    try:
        return _run_locked(run_dir, cfg, quiet, stop_after, listeners)
    finally:
        lock.close()                       # the kernel also drops the lock when a process dies


def _lock(run_dir: Path):
    """An exclusive lock on run_dir/run.lock (holding the owner's pid), or RunBusyError
    naming the process that holds it."""
    import fcntl
    f = open(run_dir / LOCK, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        pid = f.read().strip() or "?"
        f.close()
        raise RunBusyError(f"{run_dir} is being run by process {pid}: wait for it, or stop it "
                           "(Ctrl-C or kill, it checkpoints) and resume") from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def _run_locked(run_dir: Path, cfg: RunConfig, quiet: bool, stop_after, listeners) -> dict:
    from .loggers import check_installed, make_loggers
    check_installed(cfg.log)
    use_backend(cfg.backend, cfg.workers)
    device = _device(cfg)
    prob, net, opt = _setup(cfg)
    check_problem_fit(cfg, prob)
    if device is not None:
        from .device import weight_mask
        device = (device, weight_mask(net))
    state, kept = _restore(run_dir, opt)
    if "problem" in state and prob.set_state is not None:
        prob.set_state(state["problem"])
    loggers = make_loggers(cfg.log, run_dir, cfg, kept)
    evaluate = make_evaluator(cfg, prob, net)
    old = run_dir / OLD_CHECKPOINT
    best = BestFile(run_dir, cfg)
    # best.npz, a QD archive and a front are written with each checkpoint (at most once a
    # second): rewriting a 3,000-elite archive every generation took as long as the search
    writers = [best.write]
    if hasattr(opt, "archive_arrays"):
        writers.append(lambda: save_archive(run_dir, opt))
    if hasattr(opt, "front"):
        writers.append(lambda: save_front(run_dir, opt))
    own = [MetricsCSV(run_dir / METRICS, kept, tuple(prob.counters()) if prob.counters else ()),
           Checkpoint(run_dir / CHECKPOINT, opt, state, replaces=(old, previous(old)),
                      before=lambda: [write() for write in writers]),
           *([] if quiet else [ProgressBar(cfg.max_evals, opt.evaluations,
                                           f"{cfg.problem} {cfg.optimizer}")]),
           FitnessPlot(run_dir)]
    # --log's loggers see a generation before its checkpoint, as metrics.csv does (one that a
    # kill cuts off is run and logged again), and the end after fitness.png is drawn (MLflow
    # takes the run directory's files)
    each_generation = [own[0], *loggers, *own[1:], *listeners]
    at_the_end = [*own, *loggers, *listeners]
    summary, done_here = None, 0
    try:
        with computing(compute_module(cfg.backend)):
            while not state["done"] and (stop_after is None or done_here < stop_after):
                record = _generation(run_dir, cfg, prob, net, opt, evaluate, state, best, device)
                with _signals_held():
                    for listener in each_generation:
                        listener.on_generation(record)
                done_here += 1
        if state["done"]:
            summary = _summary(cfg, opt, state, prob)
            atomic_write(run_dir / SUMMARY, json.dumps(summary, indent=2).encode())
    finally:
        evaluate.close()
        for listener in at_the_end:
            listener.on_end(summary)
    return summary or {}


@contextmanager
def _signals_held():
    """Ctrl-C or SIGTERM while a generation's record is written takes effect after it: its
    metrics row and its checkpoint are written both or neither. (Signal handlers belong to
    the main thread; elsewhere nothing is held.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = []
    old = {s: signal.signal(s, lambda signum, frame: held.append(signum))
           for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if held:
            signal.raise_signal(held[0])          # to the handler that was there before


class RunStopped(Exception):
    """The run stopped on an error of its problem or evaluator; the checkpoint of the last
    finished generation is intact, so ``resume`` continues once the cause is fixed."""

    def __init__(self, run_dir: Path, message: str):
        super().__init__(message)
        self.run_dir = run_dir


class RunLostCluster(RunStopped):
    """The run stopped because its Ray cluster was lost (this node's raylet, the GCS);
    ``resume`` continues it on a cluster that works."""


class RunBusyError(ValueError):
    """Another process is running this run directory."""


class DamagedRunError(ValueError):
    """A run directory's file that cannot be read back (truncated, overwritten, not ours)."""


def read_config(run_dir: Path) -> RunConfig:
    """The run's RunConfig from its config.json, or DamagedRunError naming what is wrong."""
    path = Path(run_dir) / CONFIG
    try:
        return RunConfig(**json.loads(path.read_text()))
    except (ValueError, TypeError, UnicodeDecodeError) as e:
        raise DamagedRunError(f"{path} is damaged ({type(e).__name__}: {e}); it is the run's "
                              "configuration, so nothing can be continued or replayed without it")


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's checkpoint files that exist, the one to resume from first: checkpoint.npz,
    the one before it, then an older run directory's checkpoint.pkl and its previous."""
    names = (CHECKPOINT, OLD_CHECKPOINT)
    paths = [p for n in names for p in (run_dir / n, previous(run_dir / n))]
    return [p for p in paths if p.exists()]


def _restore(run_dir: Path, opt) -> tuple[dict, int | None]:
    """The run's state, and the generations its checkpoint covers (None: a new run), with the
    optimizer restored from the newest checkpoint that reads, without running code from it
    (an old .pkl, and pycma's state, through evornn.safe_pickle); or DamagedRunError naming
    each file and why it did not read."""
    paths = checkpoints(run_dir)
    if not paths:
        return {"wall": 0.0, "solved": False, "info": {}, "best_fitness": -np.inf,
                "done": False}, None
    errors = []
    for p in paths:
        try:
            data = p.read_bytes()
            saved = statefile.loads(data) if p.suffix == ".npz" else safe_pickle.loads(data)
            opt.load_state_dict(saved["optimizer"])
            return saved["run"], opt.generation
        except Exception as e:            # truncated, overwritten, refused: whatever it raises
            errors.append(f"{p.name}: {type(e).__name__}: {e}")
    raise DamagedRunError(f"{paths[0]} is damaged ({'; '.join(errors)}); the generations "
                          f"before it stay in {METRICS} and {BEST} (eval and report still read "
                          "them), but the run cannot be resumed from it")


def _generation(run_dir: Path, cfg: RunConfig, prob, net, opt, evaluate, state: dict,
                best: BestFile, device=None) -> Record:
    """Ask, evaluate, tell; keep the best network and decide whether the run stops. Under a
    device model the genomes are programmed here, in this process, before any backend sees
    them: the optimizer is told the programmed fitness of its ideal genomes."""
    t0 = time.perf_counter()
    G = opt.ask()
    seed = (cfg.seed, opt.generation)
    Gd, copies, values, reads = G, 1, None, None
    wants = getattr(opt, "needs_measures", False)
    try:
        if device is not None:
            from .device import generation_rng, program, program_stepwise
            from .population import reading
            copies = device[0].samples             # genome p's copies: rows p*copies...
            Gr, rng = np.repeat(G, copies, axis=0), generation_rng(cfg.seed, opt.generation)
            if device[0].read_noise_every == "step":
                Gd, reads = program_stepwise(Gr, rng, device[0], device[1])
            else:
                Gd = program(Gr, rng, device[0], device[1])
            with reading(reads):
                f = evaluate(Gd, seed, measures=True) if wants else evaluate(Gd, seed)
            if reads is not None and not reads.used:
                raise ValueError("device option read_noise_every=step reads weights at each step "
                                 "of population_forward in this process; this evaluation did "
                                 "not run through it (a compiled episode, another backend or "
                                 "--population device): use read_noise_every=evaluation")
            if wants:
                f, values = f
                values = values.reshape(len(G), copies, -1).mean(axis=1)
        elif wants:
            f, values = evaluate(G, seed, measures=True)
        elif getattr(opt, "ships_seeds", False) and evaluate.takes_seeds:
            f = evaluate.evaluate_seeds(opt.seed_batch(), seed)      # seeds cross, not genomes
        else:
            f = evaluate(G, seed)
        f = np.asarray(f, dtype=np.float64)
        if copies > 1 and f.shape == (len(Gd),):
            f, f_copies = f.reshape(len(G), copies).mean(axis=1), f.reshape(len(G), copies)
    except ClusterLost as e:                 # Ray itself, not the problem
        raise RunLostCluster(run_dir, str(e)) from e
    except Exception as e:                   # a crashed simulator, a lost worker's retries, a bug
        hint = ""
        if on_device(G) and isinstance(e, TypeError):    # CuPy refuses implicit host copies
            hint = ("; it takes its genomes on the host (not only through population_forward): "
                    "run it with --population host")
        raise RunStopped(run_dir, f"problem {cfg.problem}: its evaluation raised "
                                  f"{type(e).__name__}: {e}{hint}") from e
    if f.shape != (len(G),):
        raise RunStopped(run_dir, f"problem {cfg.problem}: its evaluation returned fitness of "
                                  f"shape {f.shape}; expected ({len(G)},), one float a genome")
    if wants:
        opt.tell(G, f, values)
    else:
        opt.tell(G, f)
    ok = np.isfinite(f)
    i = int(np.argmax(np.where(ok, f, -np.inf)))
    # a run that keeps a front or an archive spends its budget on it: once solved (tested
    # until then) it goes on; the others stop when solved
    keep_going = hasattr(opt, "front") or hasattr(opt, "archive_arrays")
    if ok.any() and not (keep_going and state["solved"]):
        fi = f if copies == 1 else f_copies[i]
        from .population import reading
        with reading(reads):                 # the test reads the devices as the evaluation did
            solved, info = _solved(prob, net, Gd, i, copies, fi, fast=True)
            if not solved and cfg.target is not None and f[i] >= cfg.target:
                # solved by the target alone: the summary keeps the failed test's figures, in full
                solved, info = True, _solved(prob, net, Gd, i, copies, fi)[1]
        if solved:
            state["solved"], state["info"] = True, info
        # the best network is the best ever, or the champion that solved the problem
        if solved or f[i] > state["best_fitness"]:
            state["best_fitness"] = float(f[i])
            best.keep(G[i], float(f[i]), prob.get_state() if prob.get_state else None)
    elif ok.any() and f[i] > state["best_fitness"]:
        state["best_fitness"] = float(f[i])
        best.keep(G[i], float(f[i]), prob.get_state() if prob.get_state else None)
    if prob.end_generation is not None:
        prob.end_generation()              # the generation's gatherings join the state
    if prob.get_state is not None:
        state["problem"] = prob.get_state()
    counters = prob.counters() if prob.counters else {}
    state["wall"] += time.perf_counter() - t0
    reasons = opt.stop()
    steps_spent = cfg.max_env_steps is not None and counters.get("env_steps", 0) >= cfg.max_env_steps
    if (state["solved"] and not keep_going) or opt.evaluations >= cfg.max_evals or reasons or \
            steps_spent or (cfg.generations is not None and opt.generation >= cfg.generations):
        state["done"] = True
        state["stop"] = "solved" if state["solved"] and not keep_going else (
            "budget" if opt.evaluations >= cfg.max_evals or steps_spent else "; ".join(reasons)
            or "generations")
    fin = f[ok] if ok.any() else np.array([np.nan])
    return Record(opt.generation, opt.evaluations, float(fin.max()), float(fin.mean()),
                  float(np.median(fin)), float(fin.std()), int((~ok).sum()),
                  state["best_fitness"], round(state["wall"], 4), f, state["done"],
                  state.get("stop", ""), getattr(opt, "step_size", None), counters)


def _summary(cfg: RunConfig, opt, state: dict, prob=None) -> dict:
    """summary.json of a finished run."""
    return {"problem": cfg.problem, "solved": bool(state["solved"]),
            "evaluations": int(opt.evaluations), "generations": int(opt.generation),
            "best_fitness": float(state["best_fitness"]), "wall_time_s": round(state["wall"], 3),
            "seed": cfg.seed, "optimizer": cfg.optimizer, "arch": cfg.arch,
            "stop_reason": state.get("stop", ""), **state["info"],
            **(prob.counters() if prob is not None and prob.counters else {}),
            **({"front_size": len(opt.front()[0])} if hasattr(opt, "front") else {}),
            # a gradient trainer's training sequences: its evaluations also count the
            # fitness evaluation of each generation's network, which trains on nothing
            **({"training_sequences": int(opt.sequences)} if hasattr(opt, "sequences") else {})}


def _solved(prob, net, Gd: np.ndarray, i: int, copies: int, f, fast: bool = False) -> tuple[bool, dict]:
    """The problem's solved test on genome i as evaluated (``fast``: its ``solved_fast``, when it
    has one): under a device model on every one of its programmed copies (solved when all
    pass; the last test's figures)."""
    test = (fast and prob.solved_fast) or prob.solved
    if copies == 1:
        return test(net, host(Gd[i]), float(f[i]))
    for k in range(copies):
        solved, info = test(net, host(Gd[i * copies + k]), float(f[k]))
        if not solved:
            return False, info
    return True, info


def start(cfg: RunConfig, root: Path = Path("runs"), quiet: bool = False,
          listeners: Sequence = ()) -> tuple[Path, dict]:
    """Create a run directory for cfg and run it to the end (``listeners`` as ``run_loop``)."""
    d = new_run_dir(root, cfg)
    atomic_write(d / CONFIG, json.dumps(asdict(cfg), indent=2).encode())
    return d, run_loop(d, quiet=quiet, listeners=listeners)
