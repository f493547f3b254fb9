"""The public API's reference, docs/api.md, written from the code's signatures and
docstrings: ``python -m evornn.apidoc > docs/api.md`` (a test checks it is up to date and
that every public function, class, method and property has a docstring)."""
from __future__ import annotations

import importlib
import inspect

# module -> its public names (None: the module's __all__), in the reference's order
PUBLIC: dict[str, list[str] | None] = {
    "evornn": None,
    "evornn.problem": ["Problem", "get_problem", "builtin_problems", "evaluate_measures"],
    "evornn.optim": None,
    "evornn.optim.nsga2": ["NSGA2"],
    "evornn.run": ["RunConfig", "start", "run_loop", "load", "read_front"],
}

INTRO = """# API reference

Every public name of `evornn`, with its signature and docstring, written by
`python -m evornn.apidoc > docs/api.md` (tests/test_docs.py checks that this file is up to
date and that each of them has a docstring). The [tutorial](tutorial.md) shows them at work.
"""


def public_names(module: str) -> list[str]:
    """The public names of one of PUBLIC's modules."""
    names = PUBLIC[module]
    return list(importlib.import_module(module).__all__) if names is None else names


def members(cls) -> list[tuple[str, object]]:
    """A class's public methods and properties defined on it, in source order."""
    out = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property) or inspect.isfunction(value):
            out.append((name, value))
    return out


def _signature(obj) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"


def _doc(obj) -> str:
    return inspect.cleandoc(obj.__doc__ or "")


def entries() -> list[tuple[str, str, object]]:
    """(module, qualified name, object) of everything the reference documents."""
    out = []
    for module in PUBLIC:
        mod = importlib.import_module(module)
        for name in public_names(module):
            obj = getattr(mod, name)
            out.append((module, name, obj))
            if inspect.isclass(obj):
                out += [(module, f"{name}.{m}", v) for m, v in members(obj)]
    return out


def missing() -> list[str]:
    """The documented names that have no docstring (a dataclass's generated one counts as
    none)."""
    bad = []
    for module, name, obj in entries():
        doc = _doc(obj)
        if not doc or (inspect.isclass(obj) and doc.startswith(f"{obj.__name__}(")):
            bad.append(f"{module}.{name}")
    return bad


def render() -> str:
    """docs/api.md's text."""
    lines = [INTRO]
    for module in PUBLIC:
        lines.append(f"## `{module}`\n")
        for mod_name, name, obj in entries():
            if mod_name != module:
                continue
            depth = "####" if "." in name else "###"
            if isinstance(obj, property):
                head = f"{name} (property)"
            elif inspect.isclass(obj):
                head = f"class {name}{_signature(obj)}"
            else:
                head = f"{name}{_signature(obj)}"
            lines.append(f"{depth} `{head}`\n")
            lines.append(_doc(obj) + "\n")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
