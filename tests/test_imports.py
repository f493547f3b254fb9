"""Layers that point one way: the import graph of evornn and the problem zoo, read from the
source, has no cycle; nothing imports the zoo as a top-level package ``problems``; the zoo
installs as evornn.problems, and old names ``problems.X`` still unpickle.

The graph counts every import statement, at module level or inside a function: a lazy
import is still a dependency (the circles problem <-> _gym and pole <-> _pole_env were
closed by imports inside functions). Only modules of evornn and the zoo are nodes, so lazy
imports of optional dependencies (torch, gymnasium, ray) do not matter. An import of a
module's own parent package (``import evornn`` inside evornn.run) is not an edge: importing
any module runs its parent packages first, so that edge adds no order.
"""
from __future__ import annotations

import ast
import pickle
import pickletools
import re
import sys
import tomllib
from pathlib import Path

import pytest

import evornn
import evornn.problems
from evornn.problem import builtin_modules, builtin_problems, get_problem

ROOT = Path(__file__).resolve().parent.parent
TREES = {"evornn": ROOT / "evornn", "evornn.problems": ROOT / "problems"}

# problems import evornn.episode, not numba internals
INTERNAL = ("evornn.arch", "evornn.threads")


def modules() -> dict[str, Path]:
    """Every module of evornn and the zoo by its installed dotted name."""
    out = {}
    for pkg, base in TREES.items():
        for f in sorted(base.rglob("*.py")):
            parts = list(f.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([pkg, *parts])] = f
    return out


def _imports(name: str, path: Path):
    """(imported dotted name, line) for every import statement in the module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                src = f"{base}.{node.module}" if node.module else base
            else:
                src = node.module
            for a in node.names:
                yield f"{src}.{a.name}", node.lineno       # a submodule, or a name in src


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {module it imports: line of the import}, for evornn and the zoo."""
    mods = modules()

    def known(dotted):
        if dotted == "problems" or dotted.startswith("problems."):
            dotted = "evornn." + dotted                 # the zoo's old name
        while dotted and dotted not in mods:
            dotted = dotted.rpartition(".")[0]
        return dotted

    graph = {m: {} for m in mods}
    for m, path in mods.items():
        for dotted, line in _imports(m, path):
            t = known(dotted)
            if t and t != m and not m.startswith(t + "."):
                graph[m].setdefault(t, line)
    return graph


def find_cycle(graph) -> list[str] | None:
    """One cycle [a, b, ..., a] of graph, or None."""
    state, stack = {}, []

    def visit(v):
        state[v] = "open"
        stack.append(v)
        for w in graph[v]:
            if state.get(w) == "open":
                return stack[stack.index(w):] + [w]
            if w not in state and (c := visit(w)):
                return c
        state[v] = "done"
        stack.pop()
        return None

    for v in sorted(graph):
        if v not in state and (c := visit(v)):
            return c
    return None


def describe(graph, cycle) -> str:
    return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(cycle, cycle[1:])) + \
        f" -> {cycle[-1]}"


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle: {describe(graph, cycle)}"


def test_the_graph_sees_imports_inside_functions_and_relative_ones():
    graph = import_graph()
    assert "evornn.problems._gym" in graph["evornn.problems"]       # inside gym()
    assert "evornn.problems._pole_physics" in graph["evornn.problems.pole"]   # from ._pole_physics
    assert "evornn.problems._pole_env" in graph["evornn.problems.pole"]       # inside _env()
    assert "evornn.problem" in graph["evornn.problems._gym"]


def test_nothing_imports_the_zoo_as_a_top_level_package():
    found = []
    for folder in ("evornn", "problems", "tests", "benchmarks"):
        for f in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(f.read_text(), str(f))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
                found += [f"{f.relative_to(ROOT)}:{node.lineno} {n}" for n in names
                          if n == "problems" or n.startswith("problems.")]
            if folder == "evornn":
                found += [f"{f.relative_to(ROOT)}: {m}" for m in
                          re.findall(r"import_module\(\s*[\"']problems\b[^\"']*", f.read_text())]
    assert found == []


def test_problems_import_the_public_api_not_numba_internals():
    graph = import_graph()
    leaks = {(m, t) for m, out in graph.items() if m.startswith("evornn.problems")
             for t in out if t.startswith(INTERNAL)}
    assert leaks == set()


def test_pyproject_lists_every_package_and_maps_the_zoo():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    tree = sorted(m for m, f in modules().items() if f.name == "__init__.py")
    assert sorted(cfg["packages"]) == tree
    assert cfg["package-dir"] == {"evornn.problems": "problems"}


def test_the_zoo_is_evornn_problems():
    assert Path(evornn.problems.__file__).resolve() == ROOT / "problems" / "__init__.py"
    mods = builtin_modules()
    assert "evornn.problems.pole" in mods and all(m.startswith("evornn.problems.") for m in mods)
    assert get_problem("dpnv").evaluate.__module__ == "evornn.problems.pole"


def test_old_module_names_are_the_same_modules():
    from evornn.problems import pole
    assert pickle.loads(b"cproblems.pole\nnetwork\np0\n.") is pole.network
    assert sys.modules["problems.pole"] is pole and sys.modules["problems"] is evornn.problems
    assert pole.__spec__.name == "evornn.problems.pole"       # the alias left it its own spec


def test_an_old_checkpoint_naming_problems_modules_loads(tmp_path):
    """A checkpoint pickled before the rename names the zoo's modules problems.X."""
    from evornn.problems import pole
    new = pickle.dumps({"optimizer": {"generation": 3}, "run": {"starts": pole.grid_starts}}, protocol=0)
    old = new.replace(b"cevornn.problems.pole\n", b"cproblems.pole\n")
    assert old != new and b"evornn" not in old
    (tmp_path / "checkpoint.pkl").write_bytes(old)
    saved = pickle.loads((tmp_path / "checkpoint.pkl").read_bytes())
    assert saved["run"]["starts"] is pole.grid_starts and saved["optimizer"]["generation"] == 3


def test_a_zoo_file_given_by_path_is_the_zoo_module():
    """Its relative imports need its package: a path into the zoo imports evornn.problems.X."""
    prob = get_problem(str(ROOT / "problems" / "mso_gen.py"))
    assert prob.name == "mso-gen" and prob.evaluate.__module__ == "evornn.problems.mso_gen"


def test_ray_ships_problems_under_their_new_names():
    pytest.importorskip("ray")
    from evornn.backends import problem_bytes
    blob = problem_bytes(get_problem("dpnv"))
    strings = {arg for _, arg, _ in pickletools.genops(blob) if isinstance(arg, str)}
    assert "evornn.problems.pole" in strings
    assert not any(s == "problems" or s.startswith("problems.") for s in strings)


def test_every_built_in_problem_is_defined_in_the_zoo(problem_name):
    prob = get_problem(problem_name)
    assert prob.evaluate.__module__.startswith("evornn.problems."), prob.evaluate.__module__


def test_the_registry_fixtures_list_what_evornn_registers(architectures, optimizers, problems):
    assert architectures == list(evornn.architectures()) and "lstm" in architectures
    assert optimizers == sorted(evornn.optimizers()) and "xnes" in optimizers
    assert problems == sorted(builtin_problems()) and "dpnv" in problems
