"""The numba cache is cleared when any kernel source changes (numba alone checks one file)."""
import evornn._cache as cache


def test_cache_is_cleared_when_kernel_sources_change(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    (pkg / "sub" / "__pycache__").mkdir(parents=True)
    (pkg / "__pycache__").mkdir()
    kern = pkg / "sub" / "kern.py"
    kern.write_text("import numba\n")
    (pkg / "plain.py").write_text("x = 1\n")
    stale = pkg / "sub" / "__pycache__" / "kern.step-1.py311.nbi"
    monkeypatch.setattr(cache, "ROOT", pkg)
    monkeypatch.setattr(cache, "EXTRA", ())

    cache.ensure_fresh_cache()                       # first stamp: clears, writes the hash
    stale.write_text("index")
    cache.ensure_fresh_cache()                       # nothing changed: kept
    assert stale.exists()
    (pkg / "plain.py").write_text("x = 2\n")         # a file without numba: kept
    cache.ensure_fresh_cache()
    assert stale.exists()
    kern.write_text("import numba\n# changed\n")     # a kernel source changed: cleared
    cache.ensure_fresh_cache()
    assert not stale.exists()
    assert (pkg / "__pycache__" / "numba-sources.sha256").read_text() == cache.source_hash()
