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
    assert (pkg / "__pycache__" / "numba-sources.sha256").read_text().split("\n")[0] == \
        cache.source_hash((pkg,))


def test_a_changed_problem_file_clears_only_the_problems_cache(tmp_path, monkeypatch):
    pkg, probs = tmp_path / "pkg", tmp_path / "problems"
    for d in (pkg, probs):
        (d / "__pycache__").mkdir(parents=True)
        (d / "k.py").write_text("import numba\n")
    monkeypatch.setattr(cache, "ROOT", pkg)
    monkeypatch.setattr(cache, "EXTRA", (probs,))
    cache.ensure_fresh_cache()
    kept, gone = pkg / "__pycache__" / "k.f-1.py311.nbi", probs / "__pycache__" / "k.g-1.py311.nbi"
    kept.write_text("index")
    gone.write_text("index")
    (probs / "k.py").write_text("import numba\n# changed\n")
    cache.ensure_fresh_cache()
    assert kept.exists() and not gone.exists()
    (pkg / "k.py").write_text("import numba\n# changed\n")     # the package: everything goes
    gone.write_text("index")
    cache.ensure_fresh_cache()
    assert not kept.exists() and not gone.exists()


def test_a_cache_under_numba_cache_dir_is_cleared_too(tmp_path, monkeypatch):
    """numba keeps the kernels of folder F in NUMBA_CACHE_DIR/<F's name>_<hash of F's path>."""
    from numba.core.caching import UserProvidedCacheLocator
    pkg, base = tmp_path / "pkg", tmp_path / "numba-cache"
    (pkg / "sub").mkdir(parents=True)
    kern = pkg / "sub" / "kern.py"
    kern.write_text("import numba\n")
    monkeypatch.setattr(cache, "ROOT", pkg)
    monkeypatch.setattr(cache, "EXTRA", ())
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(base))
    folder = base / UserProvidedCacheLocator.get_suitable_cache_subpath(str(kern))
    assert folder.name.startswith("sub_")
    cache.ensure_fresh_cache()
    folder.mkdir(parents=True)
    stale = folder / "kern.step-1.py311.nbi"
    stale.write_text("index")
    cache.ensure_fresh_cache()                       # nothing changed: kept
    assert stale.exists()
    kern.write_text("import numba\n# changed\n")     # changed: cleared there as well
    cache.ensure_fresh_cache()
    assert not stale.exists() and (pkg / "__pycache__" / "numba-sources.sha256").exists()
