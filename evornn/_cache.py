"""Keep numba's on-disk cache honest when the kernels' sources change.

numba invalidates a cached function only when its own file changes, but our kernels
inline helpers from other files (kernels.py into every family): after editing one
file, another file's cached kernels would silently run the old code. So the cache is
stamped with a hash of every source file of the package, and cleared when it differs;
also where NUMBA_CACHE_DIR puts the cache instead of the package's __pycache__ folders.
"""
from __future__ import annotations

import hashlib
import os
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


def _folder(src: Path, base: str | None) -> Path:
    """Where numba caches the kernels of source folder src: its __pycache__, or with
    NUMBA_CACHE_DIR=base the folder numba names after src inside base."""
    if base is None:
        return src / "__pycache__"
    from numba.core.caching import UserProvidedCacheLocator
    return Path(base) / UserProvidedCacheLocator.get_suitable_cache_subpath(str(src / "x.py"))


def _clear(dirs, base: str | None = None) -> None:
    for d in dirs:
        if d.is_dir():
            for src in sorted({f.parent for f in d.rglob("*.py")}):
                folder = _folder(src, base)
                for f in list(folder.glob("*.nbi")) + list(folder.glob("*.nbc")):
                    f.unlink(missing_ok=True)


def _refresh(base: str | None) -> None:
    stamp = _folder(ROOT, base) / "numba-sources.sha256"
    digest = f"{source_hash((ROOT,))}\n{source_hash(EXTRA)}"
    old = stamp.read_text().split("\n") if stamp.exists() else []
    if old == digest.split("\n"):
        return
    _clear((ROOT,) + EXTRA if not old or old[0] != digest.split("\n")[0] else EXTRA, base)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)


def ensure_fresh_cache() -> None:
    """Delete stale numba cache files: all of them when the package's kernels changed, only
    the problems' when just a problem file changed (the package never inlines those)."""
    user = os.environ.get("NUMBA_CACHE_DIR")
    for base in (None, user) if user else (None,):
        try:
            _refresh(base)
        except OSError:
            pass   # a read-only install: numba then caches elsewhere, per file as usual
