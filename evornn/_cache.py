"""Keep numba's on-disk cache honest when the kernels' sources change.

numba invalidates a cached function only when its own file changes, but our kernels
inline helpers from other files (kernels.py into every family): after editing one
file, another file's cached kernels would silently run the old code. So the cache is
stamped with a hash of every source file of the package, and cleared when it differs.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from ._zoo import zoo_dir

ROOT = Path(__file__).resolve().parent
# the problem zoo (evornn.problems) holds compiled episode kernels that inline ours
EXTRA = (zoo_dir(),)


def _sources(dirs):
    for d in dirs:
        if d.is_dir():
            yield from sorted(d.rglob("*.py"))


def source_hash(dirs=None) -> str:
    """Hash of the .py files that use numba under dirs (contents, not mtimes)."""
    h = hashlib.sha256()
    for f in _sources(dirs if dirs is not None else (ROOT,) + EXTRA):
        data = f.read_bytes()
        if b"from numba" in data or b"import numba" in data:
            h.update(f.relative_to(ROOT.parent).as_posix().encode())
            h.update(data)
    return h.hexdigest()


def _clear(dirs) -> None:
    for d in dirs:
        if d.is_dir():
            for f in list(d.rglob("__pycache__/*.nbi")) + list(d.rglob("__pycache__/*.nbc")):
                f.unlink(missing_ok=True)


def ensure_fresh_cache() -> None:
    """Delete stale numba cache files: all of them when the package's kernels changed, only
    the problems' when just a problem file changed (the package never inlines those)."""
    try:
        stamp = ROOT / "__pycache__" / "numba-sources.sha256"
        digest = f"{source_hash((ROOT,))}\n{source_hash(EXTRA)}"
        old = stamp.read_text().split("\n") if stamp.exists() else []
        if old == digest.split("\n"):
            return
        _clear((ROOT,) + EXTRA if not old or old[0] != digest.split("\n")[0] else EXTRA)
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        pass   # a read-only install: numba then caches elsewhere, per file as usual
