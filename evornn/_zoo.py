"""Where the problem zoo is imported from: the package ``evornn.problems``, kept in the
repository's ``problems/`` folder (pyproject.toml maps the folder onto the name).

Installed, ``evornn.problems`` is an ordinary subpackage. In a source checkout (installed
editable, or used through PYTHONPATH without installing) the folder beside the package is
the zoo. Run directories and pickles written before the zoo was renamed name its modules
``problems.X``: those names are aliases of ``evornn.problems.X``, the same module objects,
unless another distribution installs a package named ``problems``.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

ZOO = "evornn.problems"
LEGACY = "problems"
_PACKAGE = Path(__file__).resolve().parent
_BESIDE = _PACKAGE.parent / "problems"
# a source checkout has the zoo folder beside the package; an install puts it inside
SOURCE = _BESIDE if (_PACKAGE.parent / "pyproject.toml").is_file() and \
    (_BESIDE / "__init__.py").is_file() else None


def zoo_dir() -> Path:
    """The folder holding evornn.problems's files (found without importing it)."""
    return SOURCE if SOURCE is not None else _PACKAGE / "problems"


class _Alias(importlib.abc.Loader):
    """Loads an old name as the module of its new name (the same object, not a copy)."""

    def __init__(self, target: str):
        self.target = target
        self.spec = None

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self.spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self.spec       # the import system stamped the alias's spec on it


class _ZooFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == ZOO and SOURCE is not None:
            return importlib.util.spec_from_file_location(
                ZOO, SOURCE / "__init__.py", submodule_search_locations=[str(SOURCE)])
        if (name == LEGACY and not self._another_legacy()) or (
                name.startswith(LEGACY + ".") and self._aliased()):
            return importlib.machinery.ModuleSpec(name, _Alias(ZOO + name[len(LEGACY):]),
                                                  is_package=name == LEGACY)
        return None

    @staticmethod
    def _aliased() -> bool:
        zoo = sys.modules.get(ZOO)
        return zoo is not None and sys.modules.get(LEGACY) is zoo

    def _another_legacy(self) -> bool:
        """Whether some other finder has a package named ``problems`` that is not the zoo
        (a checkout's root on sys.path finds the zoo's own folder: that one is aliased)."""
        zoo = zoo_dir().resolve()
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(LEGACY, None)
            if spec is not None:
                return not any(Path(p).resolve() == zoo for p in spec.submodule_search_locations or ())
        return False


def install() -> None:
    """Put the zoo's finder first on sys.meta_path (once)."""
    if not any(isinstance(f, _ZooFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _ZooFinder())


install()
