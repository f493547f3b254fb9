"""The ask/tell interface shared by every optimizer, and the registry behind ``optimizer()``.

Conventions (all optimizers):

* ``ask() -> X[P, D]`` (float64, inside the bounds); calling ``ask()`` again before
  ``tell()`` returns the same pending population.
* ``tell(X, fitness)``: fitness is MAXIMIZED. NaN, +inf and -inf mark a failed individual:
  ranked worst, never ``.best``, counted in ``.failures``.
* An optimizer that searches on a problem's measures (behaviour descriptors, objectives)
  sets ``needs_measures``, is built with ``measures`` (name -> range, in the problem's
  order) and is told ``tell(X, fitness, values)`` with values [P, K] in that order.
* ``state_dict()`` / ``load_state_dict()`` capture everything, random generators included,
  so a restored optimizer (also a freshly constructed one, also after pickling the dict)
  continues bit-identically.
* ``xp``: the array module the population lives in (``evornn.optim.xp``): NumPy, or CuPy for
  the optimizers that set ``device_ready``; ask() then returns a device array, tell() takes
  the fitness from the host, and state dicts hold NumPy arrays either way.
"""
from __future__ import annotations

import contextlib
import copy
import random as _pyrandom

import numpy as np

from ..options import Option, defaults, did_you_mean, unknown
from .xp import array_namespace, host, on_device

_REGISTRY: dict[str, type] = {}
ALL_FAILED_LIMIT = 3          # consecutive all-failed generations that make stop() say so


def register(cls):
    """Class decorator: add an optimizer (or a gradient trainer, ``cls.gradient``) to the
    registry under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


def optimizers(gradient: bool = False) -> dict[str, str]:
    """name -> one-line description of every evolutionary optimizer, sorted; with
    ``gradient`` the gradient trainers (bptt, rtrl, crbp) follow, sorted too."""
    out = {n: c.description for n, c in sorted(_REGISTRY.items()) if not c.gradient}
    if gradient:
        out.update({n: c.description for n, c in sorted(_REGISTRY.items()) if c.gradient})
    return out


def is_gradient(name: str) -> bool:
    """Whether name is a registered gradient trainer (bptt, rtrl, crbp), which trains one network
    on a problem's data rather than evolving a population."""
    return name in _REGISTRY and _REGISTRY[name].gradient


def needs_measures(name: str) -> bool:
    """Whether name is a registered optimizer that searches on a problem's measures
    (behaviour descriptors, objectives) beside the fitness."""
    return name in _REGISTRY and _REGISTRY[name].needs_measures


def declared_options(name: str) -> dict[str, Option]:
    """The options of a registered optimizer or gradient trainer: name -> Option."""
    if name not in _REGISTRY:
        raise unknown("optimizer", name, list(optimizers(gradient=True)))
    cls = _REGISTRY[name]
    return {**(cls.common_options if not cls.gradient else {}), **cls.declared_options}


def optimizer(name: str, dim: int, seed: int = 0, popsize=None, x0=None, sigma0: float = 0.5,
              bounds=None, measures=None, xp=None, **options) -> "Optimizer":
    """Build the optimizer called ``name`` for genomes of ``dim`` genes (fitness maximized).

    ``evornn.optimizer("cmaes", net.n_params, seed=1, bounds=net.bounds())``; options are
    per optimizer (an unknown one raises a ValueError listing the valid ones). ``xp="cupy"``
    keeps the population on the GPU (``device_optimizers()``).
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        valid = list(optimizers())
        raise ValueError(f"unknown optimizer {name!r}{did_you_mean(name, valid)}; valid names: "
                         f"{', '.join(valid)}")
    if _REGISTRY[name].gradient:
        raise ValueError(f"{name} trains a network on a problem's data, not genomes: build it "
                         f"with evornn.bptt.GradientTrainer({name!r}, problem, network)")
    if measures is not None:          # only an optimizer that searches on them takes them
        options["measures"] = measures
    return _REGISTRY[name](dim, seed=seed, popsize=popsize, x0=x0, sigma0=sigma0, bounds=bounds,
                           xp=xp, **options)


def device_optimizers() -> list[str]:
    """The optimizers whose population can live on a GPU (``xp="cupy"``), sorted."""
    return sorted(n for n, c in _REGISTRY.items() if getattr(c, "device_ready", False))


def is_int(v) -> bool:
    """An integer (numpy's too), not a bool."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def is_num(v) -> bool:
    """A real number (numpy's too), not a bool."""
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def count_or_none(v) -> str | None:
    """None or an integer >= 1."""
    return None if v is None or (is_int(v) and v >= 1) else \
        f"must be None or a positive integer, got {v!r}"


def centered_ranks(f: np.ndarray) -> np.ndarray:
    """Ranks of f (ties broken by index) scaled into [-0.5, 0.5]; -inf ranks lowest."""
    n = len(f)
    r = np.empty(n)
    r[np.argsort(f, kind="stable")] = np.arange(n)
    return r / max(n - 1, 1) - 0.5


class Optimizer:
    """Base class: argument checks, bookkeeping of best/failures/generations, state dicts.

    Subclasses set ``name``, ``description``, ``default_popsize`` and ``declared_options``
    (name -> ``Option(default, help, check)``: ``option_defaults`` and the value checks
    follow from it), implement ``_ask() -> X`` and ``_tell(X, f, failed)`` (``f`` has
    failures as -inf), list their evolving attributes in ``_state_keys``, and may add reasons
    in ``_stop()`` and checks that need the popsize or bounds in ``_check_options``.
    """

    name = "base"
    description = ""
    gradient = False
    needs_measures = False          # told the problem's measures beside the fitness
    device_ready = False            # its population can live in CuPy (xp)
    default_popsize = 50
    declared_options: dict[str, Option] = {}
    option_defaults: dict = {}
    common_options = {
        "max_evaluations": Option(None, "stop after this many evaluations (None: no limit)",
                                  count_or_none),
        "max_generations": Option(None, "stop after this many generations (None: no limit)",
                                  count_or_none),
    }
    _state_keys: tuple = ()
    _device_keys: tuple = ()        # state arrays that live in xp (host copies in state dicts)
    _base_keys = ("generation", "evaluations", "failures", "all_failed_generations",
                  "_failed_streak", "_best_x", "_best_f", "_pending", "_history")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.option_defaults = defaults(cls.declared_options)

    def __init__(self, dim, seed=0, popsize=None, x0=None, sigma0=0.5, bounds=None,
                 measures=None, xp=None, **options):
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise ValueError(f"dim must be a positive integer (the number of genes), got {dim!r}")
        self.dim = D = int(dim)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        if popsize is None:
            popsize = self._default_popsize(D)
        if isinstance(popsize, bool) or not isinstance(popsize, (int, np.integer)) or popsize < 2:
            raise ValueError(f"popsize must be an integer >= 2, got {popsize!r}")
        self.popsize = self.initial_popsize = int(popsize)   # restarts may grow popsize
        try:
            sigma0 = float(sigma0)
        except (TypeError, ValueError):
            raise ValueError(f"sigma0 must be a positive finite number, got {sigma0!r}") from None
        if not np.isfinite(sigma0) or sigma0 <= 0:
            raise ValueError(f"sigma0 must be a positive finite number (> 0), got {sigma0!r}")
        self.sigma0 = sigma0
        self.measures = self._check_measures(measures)
        self.lower, self.upper = self._check_bounds(bounds, D)
        self.x0 = self._check_x0(x0, D)
        valid = {**defaults(self.common_options), **self.option_defaults}
        bad = sorted(set(options) - set(valid))
        if bad:
            hint = did_you_mean(bad[0], sorted(valid)) if len(bad) == 1 else ""
            raise ValueError(f"unknown option(s) {', '.join(map(repr, bad))}{hint} for optimizer "
                             f"{self.name!r}; valid options: {', '.join(sorted(valid)) or 'none'}")
        self.options = {**valid, **options}
        self._check_options(self.options)
        if not (xp is None or xp is np or xp == "numpy" or self.device_ready):
            raise ValueError(f"optimizer {self.name!r} keeps its population on the host; xp="
                             f"'cupy' is for {', '.join(device_optimizers())}")
        self.xp = array_namespace(xp)
        # the bounds in xp (for NumPy the same arrays: np.asarray does not copy)
        self._lo, self._hi = self.xp.asarray(self.lower), self.xp.asarray(self.upper)
        # evolving state
        self._rng = np.random.default_rng([self.seed, 7919])
        self.generation = 0
        self.evaluations = 0
        self.failures = 0
        self.all_failed_generations = 0
        self._failed_streak = 0
        self._best_x = None
        self._best_f = -np.inf
        self._pending = None
        self._history: list[float] = []          # best finite fitness of each generation
        self._setup()

    # -- hooks for subclasses ---------------------------------------------------------------
    def _default_popsize(self, D: int) -> int:
        return self.default_popsize

    def _check_options(self, o: dict) -> None:
        """Every declared check, in declaration order; subclasses add the checks that need
        the popsize or the bounds after calling this."""
        for k, opt in {**self.common_options, **self.declared_options}.items():
            msg = opt.check(o[k]) if opt.check is not None else None
            if msg is not None:
                raise ValueError(f"option {k} {msg}")

    def _setup(self) -> None:
        pass

    def _ask(self) -> np.ndarray:
        raise NotImplementedError

    def _tell(self, X: np.ndarray, f: np.ndarray, failed: np.ndarray) -> None:
        raise NotImplementedError

    def _stop(self) -> list[str]:
        return []

    # -- argument checks --------------------------------------------------------------------
    def _check_measures(self, measures) -> dict:
        if not self.needs_measures:
            if measures is not None:
                raise ValueError(f"optimizer {self.name!r} searches on the fitness alone; it "
                                 "takes no measures")
            return {}
        if not measures:
            raise ValueError(f"optimizer {self.name!r} searches on a problem's measures; give "
                             "measures={name: (low, high) or None, ...}")
        return dict(measures)

    @staticmethod
    def _check_bounds(bounds, D):
        if bounds is None:
            return np.full(D, -np.inf), np.full(D, np.inf)
        try:
            lo, hi = bounds
        except (TypeError, ValueError):
            raise ValueError("bounds must be a pair (lower, upper) of scalars or arrays of "
                             f"length {D}") from None
        out = []
        for what, b in (("lower", lo), ("upper", hi)):
            a = np.asarray(b, dtype=np.float64)
            if a.ndim == 0:
                a = np.full(D, float(a))
            if a.shape != (D,):
                raise ValueError(f"{what} bound must be a scalar or have length {D} (one per "
                                 f"gene), got shape {np.shape(b)}")
            if np.isnan(a).any():
                raise ValueError(f"{what} bound contains NaN; use -inf/inf for unbounded genes")
            out.append(a.copy())
        lo, hi = out
        bad = np.flatnonzero(lo >= hi)
        if bad.size:
            i = bad[0]
            raise ValueError(f"lower bound must be < upper bound for every gene; gene {i} has "
                             f"lower {lo[i]} >= upper {hi[i]}")
        return lo, hi

    def _check_x0(self, x0, D):
        if x0 is None:
            fin = np.isfinite(self.lower) & np.isfinite(self.upper)
            mid = np.where(fin, 0.5 * (np.where(fin, self.lower, 0) + np.where(fin, self.upper, 0)),
                           0.0)
            return np.clip(mid, self.lower, self.upper)
        x = np.asarray(x0, dtype=np.float64)
        if x.ndim == 0:
            x = np.full(D, float(x))
        if x.shape != (D,):
            raise ValueError(f"x0 must be a scalar or have length {D}, got shape {np.shape(x0)}")
        if not np.isfinite(x).all():
            raise ValueError("x0 must be finite")
        if (x < self.lower).any() or (x > self.upper).any():
            raise ValueError("x0 must lie within bounds (lower <= x0 <= upper)")
        return x.copy()

    def _clip(self, X: np.ndarray) -> np.ndarray:
        return self.xp.clip(X, self._lo, self._hi)

    def _normal(self, shape: tuple):
        """Standard normal draws in xp: the host generator's own on NumPy; on a device,
        cuRAND's seeded by a key the host generator draws (``evornn.optim.xp``)."""
        if self.xp is np:
            return self._rng.standard_normal(shape)
        from .xp import device_normal
        return device_normal(self.xp, self._device_key(), shape)

    def _device_key(self) -> int:
        """A key of the device stream, drawn from the host generator (checkpointed with it)."""
        return int(self._rng.integers(0, 2**63 - 1))

    # -- public interface -------------------------------------------------------------------
    def ask(self) -> np.ndarray:
        """The population to evaluate next, float64 [popsize, dim], within the bounds (an
        array of xp: on the device with CuPy)."""
        if self._pending is None:
            X = self._ask()
            if self.xp is not np:
                X = self.xp.asarray(X, dtype=self.xp.float64)
            X = self.xp.ascontiguousarray(X, dtype=self.xp.float64)
            assert X.shape == (self.popsize, self.dim)
            self._pending = self._clip(X)
        return self._pending.copy()

    def tell(self, X, fitness, values=None) -> None:
        """Report the fitness (maximized; NaN/inf = failed) of the population from ask(),
        and, to an optimizer that ``needs_measures``, its measures' values [P, K]."""
        if self._pending is None:
            raise ValueError("tell() called without a pending ask(); call ask() first")
        X = self.xp.asarray(X, dtype=self.xp.float64)
        if X.shape != self._pending.shape:
            raise ValueError(f"X must have the shape of the last ask(), {self._pending.shape}, "
                             f"got {X.shape}")
        f = np.asarray(host(fitness), dtype=np.float64)
        if f.shape != (self.popsize,):
            raise ValueError(f"fitness must have length popsize={self.popsize} (one value per "
                             f"row of X), got shape {f.shape}")
        if self.needs_measures:
            v = np.asarray(values if values is not None else (), dtype=np.float64)
            K = len(self.measures)
            if v.shape != (self.popsize, K):
                raise ValueError(f"optimizer {self.name!r} must be told the values of its "
                                 f"{K} measures ({', '.join(self.measures)}) for each of the "
                                 f"{self.popsize} genomes: shape ({self.popsize}, {K}), got "
                                 f"{v.shape}")
            self._values = v
        elif values is not None:
            raise ValueError(f"optimizer {self.name!r} takes no measures' values")
        failed = ~np.isfinite(f)
        f = np.where(failed, -np.inf, f)
        n_fail = int(failed.sum())
        self.failures += n_fail
        if n_fail == self.popsize:
            self.all_failed_generations += 1
            self._failed_streak += 1
            self._history.append(-np.inf)
        else:
            self._failed_streak = 0
            i = int(np.argmax(f))
            self._history.append(float(f[i]))
            if self._best_x is None or f[i] > self._best_f:
                self._best_x, self._best_f = np.array(host(X[i])), float(f[i])
        self._tell(X, f, failed)
        self._pending = None
        self.generation += 1
        self.evaluations += len(X)          # popsize may change in _tell (restarts)

    @property
    def step_size(self) -> float | None:
        """The search's current step size (one number: a mean where each gene has its own),
        or None for a method without one."""
        return None

    @property
    def best(self):
        """(genome, fitness) of the best individual ever told; (None, -inf) before any success."""
        x = None if self._best_x is None else self._best_x.copy()
        return x, self._best_f

    def stop(self) -> list[str]:
        """Reasons to stop (empty list if none)."""
        reasons = []
        if self._failed_streak >= ALL_FAILED_LIMIT:
            reasons.append(f"all individuals failed (fitness NaN/inf) in the last "
                           f"{self._failed_streak} generations (limit {ALL_FAILED_LIMIT})")
        me, mg = self.options["max_evaluations"], self.options["max_generations"]
        if me is not None and self.evaluations >= me:
            reasons.append(f"max_evaluations={me} reached")
        if mg is not None and self.generation >= mg:
            reasons.append(f"max_generations={mg} reached")
        return reasons + self._stop()

    # -- checkpoints ------------------------------------------------------------------------
    def _config(self) -> dict:
        return {"name": self.name, "dim": self.dim, "popsize": self.initial_popsize}

    def state_dict(self) -> dict:
        """Everything needed to continue bit-identically (plain data; picklable)."""
        d = {"config": self._config(),
             "rng": copy.deepcopy(self._rng.bit_generator.state)}
        for k in self._base_keys + self._state_keys:
            d[k] = self._export(k, getattr(self, k))
        return d

    def load_state_dict(self, d: dict) -> None:
        """Restore a state_dict() from an optimizer of the same name, dim and popsize."""
        if not isinstance(d, dict) or "config" not in d:
            raise ValueError("not an evornn optimizer state_dict (missing 'config')")
        if d["config"] != self._config():
            raise ValueError(f"state_dict is for {d['config']}, this optimizer is "
                             f"{self._config()}")
        self._rng.bit_generator.state = copy.deepcopy(d["rng"])
        for k in self._base_keys + self._state_keys:
            setattr(self, k, self._import(k, copy.deepcopy(d[k])))

    def _export(self, key, value):
        if isinstance(value, LegacyRandom):
            return {"np_state": copy.deepcopy(value.np_state), "py_state": value.py_state}
        if on_device(value):               # state dicts are host arrays, for any machine
            return value.get()
        return copy.deepcopy(value)

    def _import(self, key, value):
        if key == "_legacy" and isinstance(value, dict):   # older state dicts hold the object
            return LegacyRandom.restored(value["np_state"], value["py_state"])
        if self.xp is not np and isinstance(value, np.ndarray) and \
                key in ("_pending",) + self._device_keys:
            return self.xp.asarray(value)
        return value

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(dim={self.dim}, popsize={self.popsize}, "
                f"generation={self.generation}, best={self._best_f:.6g})")


class LegacyRandom:
    """A private copy of numpy's legacy global RNG and of Python's ``random`` module state.

    Libraries that draw from ``np.random.*`` / ``random.*`` (pycma, pyswarms, DEAP) are run
    inside ``with self._legacy.active():`` (an optimizer keeps its LegacyRandom in
    ``_legacy`` and checkpoints it with its state), which swaps these private states in and the caller's
    global states back afterwards, so runs are reproducible and checkpointable and the
    user's global random state is untouched. (Not thread-safe across optimizers.)
    """

    def __init__(self, seed: int):
        self.np_state = np.random.RandomState([seed, 104729]).get_state()
        self.py_state = _pyrandom.Random(seed * 1000003 + 17).getstate()

    @classmethod
    def restored(cls, np_state: tuple, py_state: tuple) -> "LegacyRandom":
        """A LegacyRandom holding these saved states."""
        r = cls.__new__(cls)
        r.np_state, r.py_state = tuple(np_state), tuple(py_state)
        return r

    @contextlib.contextmanager
    def active(self):
        saved_np, saved_py = np.random.get_state(), _pyrandom.getstate()
        np.random.set_state(self.np_state)
        _pyrandom.setstate(self.py_state)
        try:
            yield
        finally:
            self.np_state = np.random.get_state()
            self.py_state = _pyrandom.getstate()
            np.random.set_state(saved_np)
            _pyrandom.setstate(saved_py)
