"""The family registry, and one entry point to every family's kernels, switched on its index.

Compiled functions passed as arguments cannot be cached by numba (measured: 6 s of
compilation in every new process), so population and episode loops call ``pack_any`` and
``step_any``, plain if/elif switches generated from ``FAMILIES``: the loops that call them
are cached with the switch compiled in. Generated code has no file, so numba cannot cache
the switches on their own: from Python, call ``pack`` and ``step``, their cached entry points.

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

from numba import njit

from ..options import unknown
from .kernels import JIT, JIT_NO_CACHE, PLUGINS_VAR

# index = kind; the order is that of `python -m evornn list`
BUILTIN = ("elman", "jordan", "frnn", "lstm", "gru", "indrnn", "ctrnn", "mtrnn", "esn",
           "second_order", "dense", "ntm", "stack_rnn", "dnc", "hopfield", "bam")


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


def _switch(verb: str, args: str):
    """njit(def VERB_any(kind, ARGS)): if kind == 0: family0.VERB(ARGS) elif ..."""
    lines = [f"def {verb}_any(kind, {args}):"]
    for kind in range(len(FAMILIES)):
        lines.append(f"    {'if' if kind == 0 else 'elif'} kind == {kind}:\n"
                     f"        f{kind}({args})")
    ns = {f"f{kind}": getattr(fam, verb) for kind, fam in enumerate(FAMILIES)}
    exec(compile("\n".join(lines), f"<evornn {verb}_any>", "exec"), ns)
    fn = ns[f"{verb}_any"]
    fn.__doc__ = f"The {verb} kernel of the family with index ``kind`` (from compiled code)."
    return njit(**JIT_NO_CACHE)(fn)


pack_any = _switch("pack", "g, cfg, fixed, w")
step_any = _switch("step", "w, cfg, fixed, state, x, y")


# From Python, call these: the switches compiled once and cached. (Compiled loops call the
# switches themselves: a wrapper between cost ctrnn 7% at H = 16, inlined or not.)
@njit(**JIT)
def pack(kind, g, cfg, fixed, w):
    """Genome -> packed kernel parameters for the family with index ``kind``."""
    pack_any(kind, g, cfg, fixed, w)


@njit(**JIT)
def step(kind, w, cfg, fixed, state, x, y):
    """One time step of the family with index ``kind`` for a batch x[B, I] -> y[B, O]."""
    step_any(kind, w, cfg, fixed, state, x, y)
