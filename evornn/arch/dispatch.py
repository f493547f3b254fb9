"""The family registry, and one entry point to every family's kernels, switched on its index.

Compiled functions passed as arguments cannot be cached by numba (measured: 6 s of
compilation in every new process), so population and episode loops call ``pack_any`` and
``step_any``, which compile to the family's own kernel when ``kind`` is a compile-time
constant (a loop made per family by ``per_kind``: only the families a process runs are
compiled, 2-5 s each, instead of every family: about 40 s a dtype, measured with fifteen) and to an
if/elif switch over ``FAMILIES`` when it is read at run time. From Python, call ``pack``
and ``step``, their cached entry points.

Built-in families are the modules named in ``BUILTIN``; families outside the package
(plugins) are named in the environment variable ``EVORNN_FAMILIES`` (module names or .py
paths, comma-separated) before evornn is imported. Compiled code then is not cached (see
``kernels.JIT``), since cached loops would carry a switch without them.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Callable

from numba import njit, types
from numba.extending import overload

from ..options import unknown
from .kernels import JIT, JIT_NO_CACHE, PLUGINS_VAR

# index = kind; the order is that of `python -m evornn list`
BUILTIN = ("elman", "jordan", "frnn", "lstm", "gru", "indrnn", "ctrnn", "mtrnn", "esn",
           "second_order", "dense", "ntm", "stack_rnn", "dnc", "hopfield", "bam", "seq2seq",
           "recursive", "pixelrnn", "lsm", "hrnn", "rmlp", "lrnn",
           "history_compressor")


def _load_plugin(spec: str):
    spec = spec.strip()
    if spec.endswith(".py"):
        path = Path(spec).resolve()
        if not path.is_file():
            raise ImportError(f"{PLUGINS_VAR}: no family file {spec!r}")
        s = importlib.util.spec_from_file_location(f"evornn_plugin_{path.stem}", path)
        mod = importlib.util.module_from_spec(s)
        s.loader.exec_module(mod)
    else:
        mod = importlib.import_module(spec)
    if not hasattr(mod, "FAMILY"):
        raise ImportError(f"{PLUGINS_VAR}: {spec!r} defines no FAMILY")
    return mod


def _modules() -> tuple:
    mods = [importlib.import_module(f".{name}", __package__) for name in BUILTIN]
    for spec in filter(str.strip, os.environ.get(PLUGINS_VAR, "").split(",")):
        mod = _load_plugin(spec)
        if mod.FAMILY.name in {m.FAMILY.name for m in mods}:
            raise ImportError(f"{PLUGINS_VAR}: a family named {mod.FAMILY.name!r} exists already")
        mods.append(mod)
    return tuple(mods)


MODULES = _modules()                    # one per family, in kind order
FAMILIES = tuple(m.FAMILY for m in MODULES)


def family(name: str):
    """The registered family called name: its kernels, options and facts (a problem that
    needs one family asks for it by name; ValueError naming the valid ones otherwise)."""
    for fam in FAMILIES:
        if fam.name == name:
            return fam
    raise unknown("architecture", name, [f.name for f in FAMILIES])


def _switch(verb: str, args: str, families=FAMILIES):
    """njit(def VERB_switch(kind, ARGS)): if kind == 0: family0.VERB(ARGS) elif ..."""
    lines = [f"def {verb}_switch(kind, {args}):"]
    for kind in range(len(families)):
        lines.append(f"    {'if' if kind == 0 else 'elif'} kind == {kind}:\n"
                     f"        f{kind}({args})")
    ns = {f"f{kind}": getattr(fam, verb) for kind, fam in enumerate(families)}
    exec(compile("\n".join(lines), f"<evornn {verb}_switch>", "exec"), ns)
    return njit(**JIT_NO_CACHE)(ns[f"{verb}_switch"])


_pack_switch = _switch("pack", "g, cfg, fixed, w")
_step_switch = _switch("step", "w, cfg, fixed, state, x, y")


def pack_any(kind, g, cfg, fixed, w):
    """Genome -> packed kernel parameters of the family with index ``kind``, inside compiled
    code. A constant kind (see ``per_kind``) compiles that family alone; a kind read at run
    time compiles every family."""
    raise TypeError("pack_any runs inside compiled code; from Python call evornn.episode.pack")


def step_any(kind, w, cfg, fixed, state, x, y):
    """One time step x[B, I] -> y[B, O] of the family with index ``kind``, inside compiled
    code; compiles as ``pack_any`` does."""
    raise TypeError("step_any runs inside compiled code; from Python call evornn.episode.step")


@overload(pack_any, jit_options=JIT_NO_CACHE, prefer_literal=True)
def _pack_any(kind, g, cfg, fixed, w):
    if isinstance(kind, types.IntegerLiteral):
        f = FAMILIES[kind.literal_value].pack
        return lambda kind, g, cfg, fixed, w: f(g, cfg, fixed, w)
    return lambda kind, g, cfg, fixed, w: _pack_switch(kind, g, cfg, fixed, w)


@overload(step_any, jit_options=JIT_NO_CACHE, prefer_literal=True)
def _step_any(kind, w, cfg, fixed, state, x, y):
    if isinstance(kind, types.IntegerLiteral):
        f = FAMILIES[kind.literal_value].step
        return lambda kind, w, cfg, fixed, state, x, y: f(w, cfg, fixed, state, x, y)
    return lambda kind, w, cfg, fixed, state, x, y: _step_switch(kind, w, cfg, fixed, state, x, y)


def per_kind(factory: Callable[[int], Callable]) -> Callable[[int], Callable]:
    """``get(kind)``: ``factory(kind)``, made once per kind. A factory that defines an ``@njit``
    function closing over ``kind`` gets one compiled (and cached) function per family, holding
    only that family's kernels: a process compiles and loads just the families it runs."""
    made: dict[int, Callable] = {}

    def get(kind: int) -> Callable:
        kind = int(kind)
        if kind not in made:
            made[kind] = factory(kind)
        return made[kind]
    get.__doc__ = factory.__doc__
    return get


@per_kind
def _pack_kind(kind):
    @njit(**JIT)
    def pack_kind(g, cfg, fixed, w):
        pack_any(kind, g, cfg, fixed, w)
    return pack_kind


@per_kind
def _step_kind(kind):
    @njit(**JIT)
    def step_kind(w, cfg, fixed, state, x, y):
        step_any(kind, w, cfg, fixed, state, x, y)
    return step_kind


def pack(kind: int, g, cfg, fixed, w) -> None:
    """Genome -> packed kernel parameters for the family with index ``kind`` (from Python)."""
    _pack_kind(kind)(g, cfg, fixed, w)


def step(kind: int, w, cfg, fixed, state, x, y) -> None:
    """One time step of the family with index ``kind`` for a batch x[B, I] -> y[B, O] (from
    Python)."""
    _step_kind(kind)(w, cfg, fixed, state, x, y)
