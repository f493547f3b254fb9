"""The worker threads that run compiled, GIL-free population kernels.

numba's prange would do the same, but compiling a prange loop around every family's
kernels took 40 s per dtype against 4 s for a plain nogil function (measured here),
so populations are split into chunks and handed to a small thread pool instead.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_state = {"n": None, "pool": None}


def threads() -> int:
    """Worker threads used for population kernels (default: the CPUs this process may use)."""
    if _state["n"] is None:
        env = os.environ.get("EVORNN_THREADS")
        _state["n"] = int(env) if env else len(os.sched_getaffinity(0))
    return _state["n"]


def set_threads(n: int) -> None:
    """Use n worker threads from now on (results do not depend on n)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be a positive integer, got {n!r}")
    if _state["pool"] is not None:
        _state["pool"].shutdown(wait=True)
    _state.update(n=n, pool=None)


def forked(n: int = 1) -> None:
    """In a process forked from one that ran kernels: use n threads, forgetting the parent's
    pool (its threads were not copied)."""
    _state.update(n=n, pool=None)


def run_chunks(fn, n_items: int, *args) -> None:
    """Call fn(lo, hi, *args) over [0, n_items) in chunks spread over the worker threads.

    Four chunks a thread, so that uneven work (episodes that end early) still balances;
    fn must be a nogil compiled function writing its results in place.
    """
    n = threads()
    if n == 1 or n_items <= 1:
        fn(0, n_items, *args)
        return
    edges = np.linspace(0, n_items, min(n_items, 4 * n) + 1).astype(np.int64)
    jobs = [_pool().submit(fn, lo, hi, *args) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]
    for j in jobs:
        j.result()


def _pool() -> ThreadPoolExecutor:
    if _state["pool"] is None:
        _state["pool"] = ThreadPoolExecutor(threads(), thread_name_prefix="evornn")
    return _state["pool"]
