"""The options of a run, each declared once: its type, default, meaning, check, command-line
flag and TOML key. The ``run`` and ``compare`` flags, the config file's keys and the
defaults a run falls back on are all read from ``RUN_OPTIONS``."""
from __future__ import annotations

import argparse
from typing import Any, Callable, NamedTuple

from .options import did_you_mean


class RunOption(NamedTuple):
    """One run option. ``default`` is used when neither the command line nor the config file
    sets it; ``problem`` names the problem's attribute that supplies it instead.

    ``check(value)`` returns None for a valid value, else the end of a sentence that starts
    with the flag ("must be >= 1, got 0"). ``flag`` is the command-line flag ('' for the
    positional problem), ``key`` the TOML key ('' for none); ``compare`` says whether
    ``python -m evornn compare`` takes it too.
    """

    type: type
    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None
    flag: str = ""
    key: str = ""
    compare: bool = True
    problem: str = ""


def at_least(minimum: int) -> Callable:
    """None (not given) or a number >= minimum."""
    return lambda v: None if v is None or v >= minimum else f"must be >= {minimum}, got {v}"


def _above_zero(v) -> str | None:
    return None if v is None or v > 0 else f"must be > 0, got {v}"


def _population(v) -> str | None:
    return None if v in ("host", "device") else f"must be host or device, got {v!r}"


def _device_name(v) -> str | None:
    from .device import DEVICES
    return None if v is None or v in DEVICES else \
        f"must be one of {', '.join(DEVICES)}, got {v!r}"


def _declare(name: str, type_: type, default, help: str, check=None, flag=None, key=None,
             compare=True, problem="") -> RunOption:
    """A RunOption whose flag is --NAME and TOML key NAME (with '-' for '_') unless given."""
    dashed = name.replace("_", "-")
    return RunOption(type_, default, help, check, f"--{dashed}" if flag is None else flag,
                     dashed if key is None else key, compare, problem)


# the order is the order of the config file's "valid:" list and of the flags in --help
RUN_OPTIONS: dict[str, RunOption] = {
    "problem": _declare("problem", str, None, "a built-in problem (python -m evornn list) or a "
                        ".py file", flag=""),
    "arch": _declare("arch", str, None, "the network's architecture (default: the problem's)",
                     problem="arch"),
    "hidden": _declare("hidden", int, None, "hidden units (default: the problem's)",
                       at_least(1), problem="n_hidden"),
    "optimizer": _declare("optimizer", str, None, "an optimizer or gradient trainer (default: "
                          "the problem's)", compare=False, problem="optimizer"),
    "popsize": _declare("popsize", int, None, "genomes a generation (default: the problem's; "
                        "not for bptt, rtrl, crbp)", at_least(2), problem="popsize"),
    "sigma0": _declare("sigma0", float, None, "the search's initial step size (default: the "
                       "problem's)", _above_zero, problem="sigma0"),
    "max_evals": _declare("max_evals", int, None, "stop after this many evaluations (default: "
                          "the problem's)", at_least(1), problem="max_evals"),
    "generations": _declare("generations", int, None, "stop after this many generations",
                            at_least(1)),
    "target": _declare("target", float, None, "stop when the best fitness reaches this",
                       compare=False),
    "seed": _declare("seed", int, 0, "the random seed (default 0)", compare=False),
    "backend": _declare("backend", str, "threads", "threads (default), serial, ray or cupy "
                        "(python -m evornn list): where the population is evaluated"),
    "population": _declare("population", str, "host", "with --backend cupy: where the optimizer "
                           "keeps its population, host (default; the same results as every "
                           "backend) or device (snes, xnes, es drawn and ranked on the GPU; "
                           "cmaes handed to it once)", _population),
    "workers": _declare("workers", int, None, "worker threads, or Ray actors (default: the "
                        "CPUs)", at_least(1)),
    "address": _declare("address", str, None, "with --backend ray: a cluster to join (auto or "
                        "HOST:PORT)", compare=False),
    "init": _declare("init", str, None, "start from the best genome of this run directory",
                     compare=False),
    "out": _declare("out", str, "runs", "where run directories go (default runs/)"),
    "quiet": _declare("quiet", bool, False, "no progress bar", compare=False),
    "options": _declare("options", dict, None, "an option of the optimizer, repeatable (e.g. "
                        "--option lr=0.003 --option window=20 for bptt)", flag="--option"),
    "arch_options": _declare("arch_options", dict, None, "an option of the architecture, "
                             "repeatable (e.g. --arch-option forget_bias=1 for lstm)",
                             flag="--arch-option"),
    "log": _declare("log", list, None, "log each generation to tensorboard (RUN_DIR/tensorboard/) "
                    "or mlflow (./mlruns), repeatable or comma-separated; resume logs on"),
    "device": _declare("device", str, None, "evaluate every network as programmed onto this "
                       "device model: memristive (docs/memristive.md); default ideal weights",
                       _device_name),
    "device_options": _declare("device_options", dict, None, "an option of the device model, "
                               "repeatable (e.g. --device-option levels=32 --device-option "
                               "read_noise=0.01)", flag="--device-option"),
    "problem_options": _declare("problem_options", dict, None, "an option of the problem, "
                                "repeatable (gym:ENV_ID: episodes, max_steps, normalize=running|"
                                "fixed|none)", flag="--problem-option"),
    "max_env_steps": _declare("max_env_steps", int, None, "stop after this many environment "
                              "steps (gym:ENV_ID problems; beside --max-evals)", at_least(1)),
    "config": _declare("config", str, None, "a TOML file with any of these options", key="",
                       compare=False),
}
TOML_KEYS = {o.key: name for name, o in RUN_OPTIONS.items() if o.key}


def add_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """The flags of ``run`` or ``compare`` (those with compare=True), from RUN_OPTIONS."""
    for name, o in RUN_OPTIONS.items():
        if command == "compare" and not o.compare:
            continue
        if not o.flag:                                    # the problem
            parser.add_argument(name, nargs="?" if command == "run" else None, help=o.help)
        elif o.type is dict:                              # --option KEY=VALUE, repeatable
            kw = {"metavar": "KEY=VALUE", "help": o.help}
            if command == "compare" and name == "options":
                kw = {"metavar": "[OPTIMIZER.]KEY=VALUE", "help": "an optimizer option, for all "
                      "or (OPTIMIZER.KEY) for one, e.g. bptt.lr=0.003"}
            parser.add_argument(o.flag, action="append", dest=name[:-1], **kw)
        elif o.type is bool:
            parser.add_argument(o.flag, action="store_true", help=o.help)
        elif o.type is list:                              # --log NAME, repeatable
            parser.add_argument(o.flag, action="append", dest=name, metavar="NAME", help=o.help)
        else:
            parser.add_argument(o.flag, type=None if o.type is str else o.type, dest=name,
                                help=o.help)


def from_toml(data: dict, path: str) -> dict:
    """A config file's values, keyed like RUN_OPTIONS; ValueError naming an unknown key (with
    the closest one) or a value of the wrong type."""
    out = {}
    for key, value in data.items():
        dashed = key.replace("_", "-")
        if dashed not in TOML_KEYS:
            raise ValueError(f"config file {path}: unknown key {key!r}"
                             f"{did_you_mean(dashed, TOML_KEYS)}; valid: {', '.join(TOML_KEYS)}")
        want = RUN_OPTIONS[TOML_KEYS[dashed]].type
        if want is list and isinstance(value, str):
            value = [value]                               # log = "mlflow" as ["mlflow"]
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ValueError(f"config file {path}: {key} must be {want.__name__}, got {value!r}")
        out[TOML_KEYS[dashed]] = value
    return out


def first_problem(opts: dict) -> str | None:
    """The first declared check that a given value fails, as '--flag must ...', or None."""
    for name, o in RUN_OPTIONS.items():
        if o.check is not None and opts.get(name) is not None:
            msg = o.check(opts[name])
            if msg is not None:
                return f"{o.flag} {msg}"
    return None


def with_defaults(opts: dict, prob) -> dict:
    """Every run option: the given ones, else the problem's (where declared; a gradient
    run's own from ``prob.gradient`` first), else the declared default. A falsy given value
    falls back too, as it always has."""
    from .optim import is_gradient
    grad = prob.gradient if is_gradient(opts.get("optimizer") or prob.optimizer) else {}
    # the gradient defaults' network (its size and options) goes with its own arch only
    own_net = (opts.get("arch") or grad.get("arch", prob.arch)) == grad.get("arch", prob.arch)
    out = {}
    for name, o in RUN_OPTIONS.items():
        if name in ("problem", "config"):
            continue
        if o.problem:
            mine = grad.get(o.problem) if own_net or o.problem != "n_hidden" else None
            out[name] = opts.get(name) or mine or getattr(prob, o.problem)
        else:
            out[name] = opts.get(name, o.default)
    if grad.get("options"):
        out["options"] = {**grad["options"], **(out["options"] or {})}
    if grad.get("arch_options") and own_net:
        out["arch_options"] = {**grad["arch_options"], **(out["arch_options"] or {})}
    return out


def markdown_table() -> str:
    """RUN_OPTIONS as the Markdown table of docs/options.md (a test keeps the two equal)."""
    rows = ["| option | flag | TOML key | type | default | meaning | compare |",
            "|---|---|---|---|---|---|---|"]
    for name, o in RUN_OPTIONS.items():
        default = f"the problem's `{o.problem}`" if o.problem else \
            "-" if o.default is None else f"`{o.default!r}`"
        rows.append(f"| {name} | {f'`{o.flag}`' if o.flag else 'positional'} | "
                    f"{f'`{o.key}`' if o.key else '-'} | {o.type.__name__} | {default} | {o.help} | "
                    f"{'yes' if o.compare else 'no'} |")
    return "\n".join(rows)
