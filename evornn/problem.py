"""What a problem declares: sizes, defaults, a population evaluation and a success test."""
from __future__ import annotations

import importlib
import importlib.util
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ._zoo import ZOO, zoo_dir
from .io_names import io_names
from .network import Network
from .options import did_you_mean

GRADIENT_KEYS = ("arch", "n_hidden", "arch_options", "options", "max_evals")


@dataclass(frozen=True)
class Problem:
    """A problem ``python -m evornn run NAME`` can run with no other option.

    evaluate(net, genomes[P, D], seed) -> fitness[P] (larger is better; NaN = failed)
    solved(net, genome, fitness) -> (bool, dict of extra figures) for a generation's champion
    """

    name: str
    description: str
    n_in: int
    n_out: int
    evaluate: Callable
    solved: Callable
    arch: str = "frnn"
    n_hidden: int = 5
    arch_options: dict = field(default_factory=dict)
    optimizer: str = "xnes"
    # options for the default optimizer (used only when the run uses that optimizer)
    optimizer_options: dict = field(default_factory=dict)
    popsize: int | None = None
    sigma0: float = 1.0
    max_evals: int = 40_000
    # the network's outputs mapped to the environment's actions: y * scale + shift
    output_map: tuple[float, float] | None = None
    # a gymnasium environment with the problem's physics (evornn.make_env), if it has one
    env: Callable | None = None
    # (net, genome) -> dict of further figures `python -m evornn eval` reports
    inspect: Callable | None = None
    # (net, genome) -> {"t": [T], "neurons": [T, H], optional "stance": [T, legs] (bool),
    # "leg_names": [legs], "signals": {name: [T]}, and whatever `pictures` draws}: what
    # `python -m evornn report` draws of the best network
    trace: Callable | None = None
    # (trace, run_dir) -> [paths written]: the problem's own pictures of that trace (e.g. an
    # animation), drawn by `report` after the plots every trace gets
    pictures: Callable | None = None
    # where the search starts when the run has no --init (which wins): "center" (0, or the
    # middle of bounded genes), "init" (the network's own initialization, e.g. scaled random
    # weights) or a function (net) -> genome [D], e.g. a storage rule's weights
    # (hopfield-recall starts from Hebb's); gradient methods start from it too
    x0: str | Callable = "center"
    # seed -> (inputs [B, T, I], targets [B, T, O], weights [B, T, O] summing to 1): the data
    # gradient training (--optimizer bptt / rtrl) learns from; the problem's fitness on the
    # same seed must be minus the weighted squared error (tests/test_problems.py checks it)
    batch: Callable | None = None
    # the problem's own torch loss in place of the weighted squared error: (outputs [B, T, O]
    # tensor, Y, W) -> scalar tensor, Y and W being batch()'s, as tensors, in whatever shapes
    # the problem gives them (ctc-symbols: labels and lengths); minus the fitness on the same
    # seed; whole sequences by BPTT (no rtrl, window or teacher_forcing)
    loss: Callable | None = None
    # scheduled sampling in two-pass form (the seq2seq problems): (X [B, T, I] of
    # batch(seed), forward, seed) -> the inputs the scored pass sees, forward(X) -> outputs
    # [B, T, O] being the network's own, with no gradient; the fitness on the seed is then minus
    # the weighted squared error of the outputs on those inputs. None: batch()'s inputs
    resample: Callable | None = None
    # generative problems: the first `feedback` inputs are the previous step's outputs (in
    # batch() the teacher's values; gradient training may feed the network's own instead)
    feedback: int = 0
    # names of the sensors (network inputs) and motors (outputs), in order; default
    # in_0.. and out_0..
    inputs: tuple[str, ...] | None = None
    outputs: tuple[str, ...] | None = None
    # (net) -> None, raising ValueError naming what the problem needs when it cannot use
    # this network (checked when the network is built, before anything runs)
    check: Callable | None = None
    # per-genome figures the problem measures beside the fitness, in order: name -> (low,
    # high), the range they fall in (None: unbounded). With measures, evaluate(net, G, seed,
    # measures=True) returns (fitness [P], values [P, K]) in this order; without the keyword
    # it returns the fitness alone, as every problem does. Optimizers that search on them
    # (behaviour descriptors, several objectives) take them from there.
    measures: dict = field(default_factory=dict)
    # the measures a behaviour-descriptor search (map-elites, novelty) uses by default
    descriptors: tuple[str, ...] = ()
    # the measures a multi-objective search maximizes by default ("fitness": the fitness)
    objectives: tuple[str, ...] = ()
    # (net, genome, fitness) -> (bool, dict): `solved` as the run loop asks it of every
    # generation's champion: the same verdict, and the same figures when it passes, but it may
    # stop at a failure as soon as the failure is certain and leave out that champion's
    # figures, which the run keeps nowhere (dpnv's champion test). None: `solved`
    solved_fast: Callable | None = None
    # a gradient run's (--optimizer bptt, rtrl, crbp) own defaults where the run gives none,
    # evolution keeping the fields above: arch, n_hidden and arch_options (these two apply
    # to that arch), options (the trainer's) and max_evals
    gradient: dict = field(default_factory=dict)
    # a problem whose evaluation changes as the run goes (gym:'s running observation
    # statistics; docs/checkpoints.md): () -> its state (what evornn/statefile.py holds),
    # checkpointed with the run and saved in best.npz beside the champion it evaluated
    get_state: Callable | None = None
    # (state) -> None: a saved state put back (resume, evornn.load, eval, report)
    set_state: Callable | None = None
    # () -> None: called by the run after each generation's evaluation and champion test;
    # what the generation gathered joins the state here, so that a whole generation (and its
    # champion's test) sees one state
    end_generation: Callable | None = None
    # () -> {name: int}: running totals of the run's evaluations (gym: env_steps), part of
    # the state, written to metrics.csv and summary.json
    counters: Callable | None = None
    # () -> (mean [n_in], std [n_in]) or None: what the problem's networks' inputs are
    # normalized by, with the current state (Network's input_norm)
    input_norm: Callable | None = None
    # () -> None: releases what evaluate holds (gym's worker processes); called at a run's end
    close: Callable | None = None
    # () -> what the last evaluate gathered (picklable) or None: a Ray actor's evaluation of
    # a chunk sends it back to the driver (docs/checkpoints.md)
    gathered: Callable | None = None
    # (parts) -> None: the gathered() of a population's consecutive chunks, in order, become
    # what is pending, as if one evaluate had run over the whole population
    set_gathered: Callable | None = None

    def __post_init__(self):
        bad = sorted(set(self.gradient) - set(GRADIENT_KEYS))
        if bad:
            raise ValueError(f"problem {self.name!r}: gradient has unknown key(s) {', '.join(bad)}; "
                             f"allowed: {', '.join(GRADIENT_KEYS)}")
        if not callable(self.x0) and self.x0 not in ("center", "init"):
            raise ValueError(f"problem {self.name!r}: x0 must be 'center', 'init' or a function "
                             f"(net) -> genome, got {self.x0!r}")
        for field_name, n, stem in (("inputs", self.n_in, "in"), ("outputs", self.n_out, "out")):
            names = getattr(self, field_name)
            object.__setattr__(self, field_name, io_names(f"problem {self.name!r}: {field_name}",
                                                          names, n, stem))
        check_measures(self.name, self.measures, self.descriptors, self.objectives)

    def network(self, arch=None, n_hidden=None, seed=0, options=None):
        """The problem's network: its defaults unless arch / n_hidden / options are given
        (options add to, or override, the problem's own architecture options)."""
        arch = arch or self.arch
        opts = {**(self.arch_options if arch == self.arch else {}), **(options or {})}
        net = Network(arch, self.n_in, n_hidden or self.n_hidden, self.n_out, seed=seed,
                      output_map=self.output_map, inputs=self.inputs, outputs=self.outputs,
                      input_norm=self.input_norm() if self.input_norm else None, **opts)
        if self.check is not None:
            self.check(net)
        return net


def check_measures(name: str, measures: dict, descriptors, objectives) -> None:
    """A problem's declared measures, descriptors and objectives, or a one-line ValueError
    naming what is wrong."""
    where = f"problem {name!r}"
    for k, rng in measures.items():
        if not isinstance(k, str) or not k or k == "fitness":
            raise ValueError(f"{where}: measure names are non-empty strings other than "
                             f"'fitness', got {k!r}")
        if rng is not None and not (isinstance(rng, tuple) and len(rng) == 2
                                    and float(rng[0]) < float(rng[1])):
            raise ValueError(f"{where}: measure {k!r} has range {rng!r}; allowed: None "
                             "(unbounded) or a (low, high) tuple with low < high")
    for field_name, names, extra in (("descriptors", descriptors, ()),
                                     ("objectives", objectives, ("fitness",))):
        for k in names:
            if k not in measures and k not in extra:
                valid = [*extra, *measures]
                raise ValueError(f"{where}: {field_name} names {k!r}, which is not one of its "
                                 f"measures ({', '.join(valid) or 'none declared'})")


def evaluate_measures(prob: Problem, net, genomes, seed) -> tuple:
    """(fitness [P], values [P, K]) of the problem's evaluation with its measures, checked
    for shape (a ValueError saying what came back)."""
    if not prob.measures:
        raise ValueError(f"problem {prob.name!r} declares no measures")
    out = prob.evaluate(net, genomes, seed, measures=True)
    P, K = len(genomes), len(prob.measures)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise ValueError(f"problem {prob.name!r}: evaluate(..., measures=True) must return "
                         f"(fitness, values), got {type(out).__name__}")
    f = np.asarray(out[0], dtype=np.float64)
    v = np.asarray(out[1], dtype=np.float64)
    if f.shape != (P,) or v.shape != (P, K):
        raise ValueError(f"problem {prob.name!r}: evaluate(..., measures=True) returned "
                         f"fitness {f.shape} and values {v.shape}; expected ({P},) and "
                         f"({P}, {K}), one value a genome and measure "
                         f"({', '.join(prob.measures)})")
    return f, v


def with_measures(problems: dict) -> list[str]:
    """The names of those problems that declare measures (for error messages)."""
    return sorted(n for n, p in problems.items() if p.measures)


def builtin_modules() -> list[str]:
    """Every module of the problem zoo, evornn.problems (one readable file per problem
    family; modules named _x are its helpers)."""
    import pkgutil

    zoo = importlib.import_module(ZOO)
    return [f"{ZOO}.{m.name}" for m in pkgutil.iter_modules(zoo.__path__) if not m.name.startswith("_")]


def _from_module(mod) -> list[Problem]:
    found = getattr(mod, "PROBLEMS", None) or [getattr(mod, "PROBLEM", None)]
    return [p for p in found if isinstance(p, Problem)]


def builtin_problems() -> dict[str, Problem]:
    """Every built-in problem by name."""
    out = {}
    for m in builtin_modules():
        for p in _from_module(importlib.import_module(m)):
            out[p.name] = p
    return out


def get_problem(name: str, options: dict | None = None) -> Problem:
    """A built-in problem by name, or the PROBLEM defined in a .py file given by path;
    ``options`` (``--problem-option``) go to problems built by a factory (gym:ENV_ID)."""
    if options and not name.startswith("gym:"):
        raise ValueError(f"problem {name!r} takes no options (--problem-option); only gym:ENV_ID "
                         f"problems do, got {', '.join(map(str, options))}")
    if name.endswith(".py"):
        path = Path(name)
        if not path.is_file():
            raise ValueError(f"problem file {name!r} does not exist")
        if path.resolve().parent == zoo_dir().resolve():   # a zoo file: its package holds its imports
            mod = importlib.import_module(f"{ZOO}.{path.stem}")
        else:
            spec = importlib.util.spec_from_file_location(path.stem, path)
            mod = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(mod)
            except SyntaxError as e:
                raise ValueError(f"problem file {name}, line {e.lineno}: SyntaxError: {e.msg}") from None
            except Exception as e:            # whatever the file raises while it is imported
                line = next((fr.lineno for fr in reversed(traceback.extract_tb(e.__traceback__))
                             if Path(fr.filename).resolve() == path.resolve()), "?")
                raise ValueError(f"problem file {name}, line {line}: {type(e).__name__}: {e}") from None
        found = _from_module(mod)
        if not found:
            raise ValueError(f"{name} defines no PROBLEM (an evornn.problem.Problem)")
        return found[0]
    if name.startswith("gym:"):
        try:
            import gymnasium as gym
        except ImportError:
            raise ValueError("gym: problems need gymnasium: pip install 'evornn[gym]'") from None
        env_id = name[4:]
        if env_id not in gym.registry:
            hint = did_you_mean(env_id, gym.registry).replace("mean '", "mean 'gym:", 1)
            raise ValueError(f"unknown gymnasium environment {env_id!r}{hint}")
        return importlib.import_module(ZOO).FACTORIES["gym"](env_id, **(options or {}))
    probs = builtin_problems()
    if name not in probs:
        raise ValueError(f"unknown problem {name!r}{did_you_mean(name, probs)}; valid: "
                         f"{', '.join(sorted(probs))}, gym:ENV_ID, or a path to a .py file defining PROBLEM")
    return probs[name]




def make_env(name: str, **kwargs):
    """A gymnasium environment with the physics of a built-in problem, e.g. make_env("dpnv")."""
    prob = get_problem(name)
    if prob.env is None:
        have = sorted(n for n, p in builtin_problems().items() if p.env is not None)
        raise ValueError(f"problem {name!r} has no environment; problems with one: {', '.join(have)}")
    try:
        import gymnasium  # noqa: F401
    except ImportError:
        raise ImportError("evornn.make_env needs gymnasium: pip install 'evornn[gym]'") from None
    return prob.env(**kwargs)
