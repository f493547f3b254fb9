"""Keep numba's on-disk cache honest when the kernels' sources change.

numba invalidates a cached function only when its own file changes, but our kernels
inline helpers from other files (kernels.py into every family): after editing one
file, another file's cached kernels would silently run the old code. So the cache is
stamped with a hash of every source file of the package, and cleared when it differs.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# problems/ beside the package holds compiled episode kernels that inline ours
EXTRA = (ROOT.parent / "problems",)


def _sources():
    for d in (ROOT,) + tuple(e for e in EXTRA if e.is_dir()):
        yield from sorted(d.rglob("*.py"))


def source_hash() -> str:
    """Hash of the package's .py files that use numba (contents, not mtimes)."""
    h = hashlib.sha256()
    for f in _sources():
        data = f.read_bytes()
        if b"from numba" in data or b"import numba" in data:
            h.update(f.relative_to(ROOT.parent).as_posix().encode())
            h.update(data)
    return h.hexdigest()


def ensure_fresh_cache() -> None:
    """Delete evornn's numba cache files if the sources changed since they were written."""
    try:
        stamp = ROOT / "__pycache__" / "numba-sources.sha256"
        digest = source_hash()
        if stamp.exists() and stamp.read_text() == digest:
            return
        for d in (ROOT,) + tuple(e for e in EXTRA if e.is_dir()):
            for f in list(d.rglob("__pycache__/*.nbi")) + list(d.rglob("__pycache__/*.nbc")):
                f.unlink(missing_ok=True)
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        pass   # a read-only install: numba then caches elsewhere, per file as usual
