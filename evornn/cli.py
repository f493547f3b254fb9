"""Command line: ``python -m evornn run PROBLEM``, ``compare``, ``resume``, ``eval``, ``report``,
``draw``, ``list`` (``list --options NAME``), ``demo``."""
from __future__ import annotations

import argparse
import signal
import sys
import time
from contextlib import contextmanager

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
          "Evolve a network with python -m evornn run PROBLEM (python -m evornn list).")
    return 0


class UsageError(Exception):
    """Bad input found before any work: printed as one line, exit code 2."""


def _check_names(problem: str, arch, optimizer, problem_options=None) -> None:
    import evornn
    from evornn.options import unknown
    from evornn.problem import get_problem
    try:
        get_problem(problem, problem_options)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if arch is not None and arch not in evornn.architectures():
        raise UsageError(str(unknown("architecture", arch, evornn.architectures())))
    valid = list(evornn.optimizers(gradient=True))
    if optimizer is not None and optimizer not in valid:
        raise UsageError(str(unknown("optimizer", optimizer, valid)))


_TOML_WORDS = {"true": True, "false": False}


def parse_options(pairs, flag: str = "--option") -> dict:
    """--option KEY=VALUE pairs -> {key: value}, values read as Python literals (3, 0.01,
    None, True, 'adam'), as TOML spells them (true, false), as floats (inf) or else kept as
    strings."""
    import ast
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} takes KEY=VALUE (e.g. {flag} lr=0.003), got {pair!r}")
        if value.strip() in _TOML_WORDS:
            out[key.strip()] = _TOML_WORDS[value.strip()]
            continue
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            try:
                out[key.strip()] = float(value)
            except ValueError:
                out[key.strip()] = value.strip()
    return out


def read_config(path: str) -> dict:
    """A run's options from a TOML file (top level or a [run] table), checked against
    evornn.run_options.RUN_OPTIONS."""
    import tomllib

    from evornn.run_options import from_toml
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise UsageError(f"config file {path!r} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"config file {path}: TOML syntax error: {e}") from None
    if isinstance(data.get("run"), dict) and len(data) == 1:
        data = data["run"]
    try:
        return from_toml(data, path)
    except ValueError as e:
        raise UsageError(str(e)) from None


def _gather(args) -> dict:
    """The run's options: the TOML file's, then the command line's over them."""
    from evornn.run_options import RUN_OPTIONS
    opts = read_config(args.config) if getattr(args, "config", None) else {}
    for k, o in RUN_OPTIONS.items():
        if not o.key:
            continue                          # --config itself
        v = getattr(args, k, None)
        if o.type is dict:
            v = {**opts.get(k, {}), **parse_options(getattr(args, k[:-1], None), o.flag)} or None
        if v is not None and v is not False:
            opts[k] = v                       # the command line wins over the file
    if "problem" not in opts:
        raise UsageError("no problem given: python -m evornn run PROBLEM (or problem = ... in "
                         "the config file)")
    return opts


def _make_config(opts: dict):
    """(RunConfig, Problem) from checked options, the problem's defaults for the rest."""
    from dataclasses import fields
    from pathlib import Path

    from evornn.backends import check_backend
    from evornn.optim import is_gradient
    from evornn.problem import get_problem
    from evornn.run import RunConfig
    from evornn.run_options import RUN_OPTIONS, first_problem, with_defaults
    _check_names(opts["problem"], opts.get("arch"), opts.get("optimizer"), opts.get("problem_options"))
    try:
        check_backend(opts.get("backend", RUN_OPTIONS["backend"].default))
    except ValueError as e:
        raise UsageError(str(e)) from None
    msg = first_problem(opts)
    if msg is not None:
        raise UsageError(msg)
    from evornn.device import make_device
    try:
        make_device(opts.get("device"), opts.get("device_options"))
    except ValueError as e:
        raise UsageError(str(e)) from None
    if is_gradient(opts.get("optimizer") or "") and opts.get("popsize"):
        raise UsageError(f"--popsize does not apply to {opts['optimizer']}: it trains one network "
                         "(set its batches a generation with --option updates=N)")
    from evornn.loggers import check_installed, parse_loggers
    try:
        log = parse_loggers(opts.get("log"))
        check_installed(log)
    except ValueError as e:
        raise UsageError(str(e)) from None
    prob = get_problem(opts["problem"], opts.get("problem_options"))
    full = {**with_defaults(opts, prob), "log": log}
    if full["init"]:
        full["init"] = str(Path(full["init"]).resolve())
    cfg = RunConfig(problem=opts["problem"], **{f.name: full[f.name] for f in fields(RunConfig)
                                                if f.name in full})
    if cfg.address and cfg.backend != "ray":
        raise UsageError(f"--address joins a Ray cluster: it needs --backend ray, not {cfg.backend!r}")
    from evornn.run import check_problem_fit, population_module
    try:
        population_module(cfg)
        check_problem_fit(cfg, prob)
    except ValueError as e:
        raise UsageError(str(e)) from None
    return cfg, prob


def _validate(cfg, prob) -> None:
    """Build the network and the optimizer once, so that a bad option or a missing torch
    stops the run in one line before any work."""
    from evornn.memory import too_big
    try:
        net = prob.network(cfg.arch, cfg.hidden, seed=cfg.seed, options=cfg.arch_options)
    except MemoryError as e:              # NumPy's refusal to allocate names the size
        raise UsageError(f"the network ({cfg.arch}, {cfg.hidden} hidden) does not fit in memory: "
                         f"{e}; lower --hidden") from None
    except (ValueError, ImportError) as e:
        raise UsageError(str(e)) from None
    # the optimizer holds the population a few times over (its samples, the asked copy,
    # the clipped copy): refuse before allocating what cannot fit
    msg = cfg.popsize and too_big(f"a population of {cfg.popsize:,} genomes of {net.n_params:,} genes",
                                  4 * 8 * cfg.popsize * net.n_params, "lower --popsize or --hidden")
    if msg:
        raise UsageError(msg)
    try:
        from evornn.run import init_genome, problem_optimizer
        x0 = init_genome(cfg.init, net) if cfg.init else None
        from evornn.device import make_device
        problem_optimizer(prob, net, cfg.optimizer, cfg.seed, cfg.popsize, cfg.sigma0, x0, cfg.options,
                          device=make_device(cfg.device, cfg.device_options))
    except (ValueError, ImportError) as e:
        raise UsageError(str(e)) from None
    if cfg.backend == "ray":
        from evornn.backends import check_address, problem_bytes
        try:
            if cfg.address:
                check_address(cfg.address)
            problem_bytes(prob)               # an unpicklable problem is refused before the run
        except ValueError as e:
            raise UsageError(str(e)) from None


def _use_backend(cfg) -> None:
    from evornn.run import use_backend
    try:
        use_backend(cfg.backend, cfg.workers)
    except RuntimeError as e:
        raise UsageError(str(e)) from None


def run(args) -> int:
    """Evolve a network on a problem with the problem's defaults for anything not given."""
    from pathlib import Path

    from evornn.run import RunStopped, start
    from evornn.run_options import RUN_OPTIONS
    opts = _gather(args)
    cfg, prob = _make_config(opts)
    out = Path(opts.get("out", RUN_OPTIONS["out"].default))
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file: run directories go into a folder (a new or "
                         "an existing one)")
    _validate(cfg, prob)
    _use_backend(cfg)
    try:
        with _terminate_as_interrupt():
            d, summary = start(cfg, out, quiet=opts.get("quiet", RUN_OPTIONS["quiet"].default))
    except KeyboardInterrupt:
        print("\ninterrupted: the last finished generation is checkpointed; continue with "
              "python -m evornn resume RUN_DIR", file=sys.stderr)
        return 130
    except RunStopped as e:
        return _stopped(e)
    _report(d, summary)
    return 0 if summary["solved"] else 1


@contextmanager
def _terminate_as_interrupt():
    """SIGTERM (a kill, a job scheduler's stop) ends a run as Ctrl-C does: checkpointed."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    old = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _stopped(e) -> int:
    from evornn.run import RunLostCluster
    if isinstance(e, RunLostCluster):
        print(f"error: the Ray cluster was lost: {e}; the last finished generation is "
              f"checkpointed: python -m evornn resume {e.run_dir} continues it", file=sys.stderr)
        return 4
    print(f"error: {e}; the last finished generation is checkpointed: fix the cause, then "
          f"python -m evornn resume {e.run_dir}", file=sys.stderr)
    return 3


def _scoped(options: dict | None, name: str, names: list[str]) -> dict | None:
    """The --option values for optimizer name: unscoped keys, and NAME.KEY keys of its own."""
    out = {}
    for key, v in (options or {}).items():
        scope, dot, k = key.partition(".")
        if not dot:
            out[key] = v
        elif scope not in names:
            raise UsageError(f"--option {key}: {scope!r} is not one of the compared optimizers "
                             f"({', '.join(names)})")
        elif scope == name:
            out[k] = v
    return out or None


def compare(args) -> int:
    """Several optimizers x seeds on one problem: a table and a plot in one directory."""
    from dataclasses import replace
    from pathlib import Path

    from evornn.compare import format_table, run_comparison
    from evornn.optim import is_gradient
    from evornn.run_options import RUN_OPTIONS
    opts = _gather(args)
    names = [n.strip() for n in args.optimizers.split(",") if n.strip()]
    if not names or len(set(names)) != len(names):
        raise UsageError(f"--optimizers takes distinct names separated by commas, got {args.optimizers!r}")
    if args.seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {args.seeds}")
    if args.first_seed < 0:
        raise UsageError(f"--first-seed must be >= 0, got {args.first_seed}")
    configs = {}
    for name in names:
        o = {**opts, "optimizer": name, "options": _scoped(opts.get("options"), name, names)}
        if is_gradient(name):
            o.pop("popsize", None)             # a gradient method trains one network
        cfg, prob = _make_config(o)
        if is_gradient(name):
            cfg = replace(cfg, popsize=None)
        _validate(cfg, prob)
        configs[name] = cfg
    _use_backend(cfg)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    try:
        d, rows = run_comparison(configs, seeds, Path(opts.get("out", RUN_OPTIONS["out"].default)))
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are in the comparison directory; each unfinished run "
              "resumes with python -m evornn resume RUN_DIR", file=sys.stderr)
        return 130
    print(format_table(rows))
    print(f"Results in {d} (table.csv, table.md, compare.png, one run directory per run)")
    return 0


def _report(d, summary) -> None:
    extra = "".join(f", {k} {v}" for k, v in summary.items()
                    if k not in ("problem", "solved", "evaluations", "generations", "best_fitness",
                                 "wall_time_s", "seed", "optimizer", "arch", "stop_reason"))
    verdict = "SOLVED" if summary["solved"] else f"not solved ({summary['stop_reason']})"
    print(f"{summary['problem']}: {verdict} after {summary['evaluations']} evaluations "
          f"({summary['generations']} generations, {summary['wall_time_s']:.1f} s), best fitness "
          f"{summary['best_fitness']:.6g}{extra}. Results in {d}")


def _run_dir(path: str):
    from pathlib import Path

    from evornn.run import CONFIG, DamagedRunError, read_config
    d = Path(path)
    if not (d / CONFIG).exists():
        raise UsageError(f"{d} is not an evornn run directory (no {CONFIG})")
    try:
        read_config(d)
    except DamagedRunError as e:
        raise UsageError(str(e)) from None
    return d


def parse_cell(text: str):
    """--cell: grid coordinates 'I,J,...' as a tuple, or an elite's number 'N' as an int."""
    try:
        parts = [int(p) for p in text.split(",") if p.strip()] if text.strip() else []
    except ValueError:
        parts = []
    if not parts:
        raise UsageError(f"--cell {text!r}: give grid coordinates I,J (one integer a descriptor, "
                         "e.g. 3,4; a one-descriptor grid: 3,) or an elite's number N")
    return tuple(parts) if "," in text else parts[0]


def eval_run(args) -> int:
    """Replay a run's best network, or with --cell an elite of its archive, and run the
    problem's success test on it."""
    from evornn.report import replay
    from evornn.run import BEST
    d = _run_dir(args.run_dir)
    if not (d / BEST).exists():
        raise UsageError(f"{d} holds no {BEST} yet: no generation has finished")
    from evornn.run import DamagedRunError
    cell, what = None, "the best network"
    if args.cell is not None:
        from evornn.run import archive_genome
        cell = parse_cell(args.cell)
        try:
            archive_genome(d, cell)         # an empty or out-of-range cell: refused before work
        except (ValueError, DamagedRunError) as e:
            raise UsageError(str(e)) from None
        what = f"the elite in cell {cell}" if isinstance(cell, tuple) else f"archived elite {cell}"
    try:
        r = replay(d, cell=cell)
    except DamagedRunError as e:
        raise UsageError(str(e)) from None
    except RuntimeError as e:            # e.g. a cupy run replayed where there is no GPU
        raise UsageError(f"{d}: {e}") from None
    verdict = "passes" if r["solved"] else "does not pass"
    extra = "".join(f", {k} {v}" for k, v in r.items() if k not in ("problem", "fitness", "solved"))
    print(f"{r['problem']}: {what} of {d} has fitness {r['fitness']:.6g} and {verdict} "
          f"the success test{extra}")
    from evornn.run import load
    print(_io_line(load(d)))
    return 0 if r["solved"] else 1


def _io_line(p) -> str:
    """The sensors and motors of a problem or network, one line."""
    return f"inputs: {', '.join(p.inputs)}; outputs: {', '.join(p.outputs)}"


def report(args) -> int:
    """Write the run's fitness plot and print its summary."""
    import json

    from evornn.report import plot_fitness
    from evornn.run import METRICS, SUMMARY
    d = _run_dir(args.run_dir)
    if not (d / METRICS).exists():
        raise UsageError(f"{d} holds no {METRICS} yet: no generation has finished")
    png = plot_fitness(d)
    from evornn.draw import save_drawing
    from evornn.report import plot_traces
    from evornn.run import ARCHIVE, BEST, DamagedRunError, load, read_config
    try:
        extra = plot_traces(d) if (d / BEST).exists() else []
        if (d / BEST).exists():
            extra.append(save_drawing(load(d), d / "network.png"))
        if (d / ARCHIVE).exists():
            from evornn.report import plot_archive
            extra += plot_archive(d)
        gif_line = None
        problem = read_config(d).problem
        if (d / BEST).exists() and problem.startswith("gym:"):
            from evornn.gym_gif import champion_gif
            gif, gif_line = champion_gif(d, load(d), problem[len("gym:"):])
            extra += [gif] if gif is not None else []
    except DamagedRunError as e:         # the plot is drawn; the pictures need the network
        print(f"warning: {e}: no pictures of the best network", file=sys.stderr)
        extra, gif_line = [], None
    from evornn.run import FRONT
    if (d / FRONT).exists():
        from evornn.report import plot_front
        front_png, line = plot_front(d)
        extra.append(front_png)
    if (d / SUMMARY).exists():
        _report(d, json.loads((d / SUMMARY).read_text()))
    else:
        print(f"{d}: unfinished (resume it with python -m evornn resume {d})")
    if (d / FRONT).exists():
        print(line)
    if gif_line is not None:
        print(gif_line)
    print(f"fitness plot: {png}")
    for f in extra:
        print(f"picture: {f}")
    return 0


def _best_network(d):
    """The run's best network, or a one-line UsageError (no best.npz yet, a damaged one)."""
    from evornn.run import BEST, DamagedRunError, load
    if not (d / BEST).exists():
        raise UsageError(f"{d} holds no {BEST} yet: no generation has finished")
    try:
        return load(d)
    except DamagedRunError as e:
        raise UsageError(str(e)) from None


def draw_run(args) -> int:
    """Draw a run's best network (a graph, or heat maps of its blocks) and print the file."""
    from evornn.draw import check_out, save_drawing
    d = _run_dir(args.run_dir)
    try:
        out = check_out(args.out if args.out is not None else d / "network.png")
    except ValueError as e:
        raise UsageError(str(e)) from None
    net = _best_network(d)
    try:
        print(save_drawing(net, out, args.kind))
    except ValueError as e:              # --kind graph for a network that is not drawn so
        raise UsageError(f"{d}: {e}") from None
    return 0


def export_run(args) -> int:
    """Write a run's best network as JSON, ONNX or a NumPy folder and print the files written."""
    from pathlib import Path

    from evornn import export
    d = _run_dir(args.run_dir)
    if args.out is not None and not Path(args.out).parent.is_dir():
        raise UsageError(f"--out {args.out}: the folder {Path(args.out).parent} does not exist")
    net = _best_network(d)
    try:
        if args.format == "json":
            print(export.write_json(net, args.out or d / "network.json"))
            return 0
        if args.format == "numpy":
            from evornn.export_numpy import to_numpy
            for f in to_numpy(net, args.out or d / "network-numpy"):
                print(f)
            return 0
        out = args.out or d / "network.onnx"
        step = str(out)[:-5] + "-step.onnx" if str(out).endswith(".onnx") else f"{out}-step.onnx"
        for f in export.to_onnx(net, out, step):
            print(f)
    except (ValueError, ImportError) as e:
        raise UsageError(f"{d}: {e}") from None
    return 0


def _pickle_notes(cfg, found) -> list[str]:
    """What of this checkpoint is read from a pickle (the documented exceptions)."""
    notes = []
    if found and found[0].suffix == ".pkl":
        notes.append(f"{found[0].name} is the older pickle format: read with an unpickler that "
                     "builds only NumPy, torch, pycma and evornn state objects; the next "
                     "checkpoint is written as checkpoint.npz")
    if found and cfg.optimizer == "cmaes":
        notes.append("cmaes keeps pycma's state as a pickle inside the checkpoint: read with an "
                     "unpickler that builds only NumPy and pycma objects")
    return notes


def resume(args) -> int:
    """Continue an interrupted run to the result it would have reached."""
    from evornn.run import SUMMARY, checkpoints, run_loop
    d = _run_dir(args.run_dir)
    found = checkpoints(d)
    if (d / SUMMARY).exists() and not found:
        raise UsageError(f"{d} has finished already")
    from evornn.run import read_config, use_backend
    cfg = read_config(d)                  # _run_dir has checked that it reads
    for note in _pickle_notes(cfg, found):
        print(f"note: {note}", file=sys.stderr)
    try:
        from evornn.loggers import check_installed
        check_installed(cfg.log)
        use_backend(cfg.backend, cfg.workers)
        if cfg.backend == "ray" and cfg.address:
            from evornn.backends import check_address
            check_address(cfg.address)
    except (RuntimeError, ValueError) as e:
        raise UsageError(f"{d}: {e}") from None
    from evornn.loggers import LoggerError
    from evornn.run import DamagedRunError, RunBusyError, RunStopped
    try:
        with _terminate_as_interrupt():
            summary = run_loop(d, quiet=args.quiet)
    except KeyboardInterrupt:
        print("\ninterrupted again; resume once more to continue", file=sys.stderr)
        return 130
    except (DamagedRunError, RunBusyError, LoggerError) as e:
        raise UsageError(str(e)) from None
    except RunStopped as e:
        return _stopped(e)
    _report(d, summary)
    return 0 if summary["solved"] else 1


def list_options(name: str) -> int:
    """The options of one optimizer or architecture: name, default and meaning."""
    import evornn
    from evornn.options import describe, unknown
    archs = evornn.architectures()
    if name in archs:
        kind, declared = "architecture", evornn.architecture_options(name)
    elif name in evornn.optimizers(gradient=True):
        kind, declared = "optimizer", evornn.optim.declared_options(name)
    elif name == "memristive":
        from evornn.device import MEMRISTIVE_OPTIONS
        kind, declared = "device", MEMRISTIVE_OPTIONS
    else:
        valid = list(evornn.optimizers(gradient=True)) + list(archs)
        raise UsageError(str(unknown("optimizer or architecture", name, valid)))
    flag = {"architecture": "--arch-option", "device": "--device-option"}.get(kind, "--option")
    print(f"options of the {kind} {name} ({flag} KEY=VALUE):")
    for line in describe(declared):
        print(f"  {line}".rstrip())
    return 0


def list_all(args) -> int:
    """Problems, architectures, optimizers and backends, one line each; with --options NAME,
    the options of one optimizer or architecture."""
    if args.options:
        return list_options(args.options)
    import evornn
    from evornn.io_names import io_names
    from evornn.problem import builtin_problems
    print("problems:")
    for name, p in sorted(builtin_problems().items()):
        print(f"  {name:14} {p.description}")
        if p.inputs != io_names("", None, p.n_in, "in") or p.outputs != io_names("", None, p.n_out, "out"):
            print(f"  {'':14}   {_io_line(p)}")
    print(f"  {'gym:ENV_ID':14} any gymnasium environment (flat Box observations; Discrete or Box actions)")
    print("architectures:")
    for name, d in evornn.describe_architectures().items():
        print(f"  {name:14} {d}")
    print("optimizers:")
    for name, d in evornn.optimizers(gradient=True).items():
        print(f"  {name:14} {d}")
    from evornn.run import BACKENDS
    print("backends:")
    for name, d in BACKENDS.items():
        print(f"  {name:14} {d}")
    from evornn.device import DEVICES
    print("devices (--device; list --options NAME for the options):")
    for name, d in DEVICES.items():
        print(f"  {name:14} {d}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line's parser: run and compare take their flags from RUN_OPTIONS."""
    ap = argparse.ArgumentParser(prog="python -m evornn", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    from evornn.run_options import add_flags
    r = sub.add_parser("run", help="evolve a network on a problem")
    add_flags(r, "run")
    r.set_defaults(func=run)
    c = sub.add_parser("compare", help="several optimizers x seeds on one problem: a table")
    c.add_argument("--optimizers", required=True,
                   help="comma-separated, e.g. xnes,cmaes,bptt (python -m evornn list)")
    c.add_argument("--seeds", type=int, default=3, help="runs per optimizer (default 3)")
    c.add_argument("--first-seed", type=int, default=0, help="the first run's seed (default 0)")
    add_flags(c, "compare")
    c.set_defaults(func=compare)
    e = sub.add_parser("eval", help="replay a run's best network (or an archive's elite) and test it")
    e.add_argument("run_dir")
    e.add_argument("--cell", metavar="I,J",
                   help="a map-elites or novelty run: the elite in grid cell I,J (one integer "
                        "per descriptor) or the archive's elite number N, instead of the best")
    e.set_defaults(func=eval_run)
    rp = sub.add_parser("report", help="a run's fitness plot and summary")
    rp.add_argument("run_dir")
    rp.set_defaults(func=report)
    dr = sub.add_parser("draw", help="a picture of a run's best network: a graph or heat maps")
    dr.add_argument("run_dir")
    dr.add_argument("--out", metavar="FILE.png",
                    help="where to write the picture (.png, .svg or .pdf; default "
                         "RUN_DIR/network.png)")
    dr.add_argument("--kind", choices=("auto", "graph", "heatmap"), default="auto",
                    help="graph (one-layer elman, frnn, ctrnn, mtrnn, jordan, indrnn up to 30 "
                         "neurons), heatmap (any network: one panel per block), auto (default)")
    dr.set_defaults(func=draw_run)
    ex = sub.add_parser("export", help="a run's best network as JSON (weights by block name), "
                                       "ONNX (whole-sequence and step graphs) or a folder that "
                                       "steps it with NumPy alone")
    ex.add_argument("run_dir")
    ex.add_argument("--format", choices=("json", "onnx", "numpy"), required=True)
    ex.add_argument("--out", metavar="PATH",
                    help="default RUN_DIR/network.json, RUN_DIR/network.onnx and "
                         "RUN_DIR/network-step.onnx, or the folder RUN_DIR/network-numpy "
                         "(network.py, network.npz)")
    ex.set_defaults(func=export_run)
    rs = sub.add_parser("resume", help="continue an interrupted run")
    rs.add_argument("run_dir")
    rs.add_argument("--quiet", action="store_true")
    rs.set_defaults(func=resume)
    ls = sub.add_parser("list", help="problems, architectures, optimizers (bptt, rtrl, crbp too), "
                                     "backends")
    ls.add_argument("--options", metavar="NAME",
                    help="the options of this optimizer or architecture: name, default, meaning")
    ls.set_defaults(func=list_all)
    d = sub.add_parser("demo", help="forward passes of every architecture, with timings")
    d.add_argument("--popsize", type=int, default=256)
    d.add_argument("--hidden", type=int, default=16)
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=demo)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "demo" and (args.popsize < 1 or args.hidden < 1):
            raise UsageError("--popsize and --hidden must be positive integers")
        return args.func(args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
