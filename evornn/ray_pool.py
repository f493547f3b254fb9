"""Ray actors as a pool, and a population's chunks handed to them as they free up.

Chunks are cut by guided self-scheduling (Polychronopoulos & Kuck 1987): each is a share
of what is left, big ones first and single genomes last, and the next goes to whichever
actor finishes first. A slow actor (a straggler: a busy node, a slower simulator) takes
fewer chunks and its last one is small, so it no longer holds the generation. Fitness
lands by index, so results do not depend on who evaluated what.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Callable

import numpy as np

from .ray_watch import ClusterLost, ClusterWatch

TICK = 1.0          # seconds between liveness probes while no result comes in


def guided_chunks(n: int, workers: int, factor: int = 2) -> list[tuple[int, int]]:
    """[lo, hi) chunks covering range(n), each 1 / (factor * workers) of what is left when
    it is cut (at least 1): an actor up to factor times slower still finishes with the rest.
    One worker takes everything at once: there is nothing to balance."""
    if workers <= 1:
        return [(0, n)] if n else []
    out, lo = [], 0
    while lo < n:
        size = max(1, -(-(n - lo) // (factor * workers)))
        out.append((lo, lo + size))
        lo += size
    return out


class ActorPool:
    """Actors by slot. A slot takes chunks once its actor has answered, so a replacement
    waiting for a free CPU (its node lost) holds nothing up while the others work on."""

    def __init__(self, ray, new_actor: Callable, size: int, watch: ClusterWatch,
                 max_retries: int = 3):
        self.ray, self._new, self.watch, self.max_retries = ray, new_actor, watch, max_retries
        self.actors: list = [None] * size
        self.pids: list[int | None] = [None] * size
        self.starting: dict = {}               # readiness ref -> slot
        self.replaced = 0                      # actors lost and replaced, over the run
        self._failed_starts = [0] * size
        for s in range(size):
            self._start(s)

    def _start(self, s: int) -> None:
        self.actors[s] = self._new()
        self.pids[s] = None
        self.starting[self.actors[s].pid.remote()] = s

    def ready(self) -> list[int]:
        """Slots whose actor has answered."""
        return [s for s, p in enumerate(self.pids) if p is not None]

    def wait_ready(self) -> list[int]:
        """Wait until every slot's actor has answered (replacing those that die); their pids."""
        while self.starting:
            for ref in self.ray.wait(list(self.starting), num_returns=len(self.starting))[0]:
                self.answered(ref)
        return list(self.pids)

    def answered(self, ref) -> None:
        """A readiness ref came back: the slot takes chunks, or its actor is replaced."""
        s = self.starting.pop(ref)
        try:
            self.pids[s] = self.ray.get(ref)
            self._failed_starts[s] = 0
        except (self.ray.exceptions.RayActorError, self.ray.exceptions.WorkerCrashedError) as e:
            self._failed_starts[s] += 1
            if self._failed_starts[s] > self.max_retries:
                raise RuntimeError(f"a Ray worker failed to start {self._failed_starts[s]} times "
                                   f"in a row ({type(e).__name__}: {e})") from None
            self.lost(s, self.actors[s])

    def lost(self, s: int, actor) -> None:
        """The actor that ran in slot s died: start a replacement, unless one is already
        starting or Ray itself is gone."""
        if self.actors[s] is actor:
            self.watch.check(force=True)
            self._start(s)
            self.replaced += 1


class ChunkRun:
    """One population's evaluation: call(actor, lo, hi) for chunks of [0, n) handed out as
    actors free up; a chunk whose actor dies is re-run on another. Item i gives fitness
    rows rows * i .. rows * (i + 1) - 1."""

    def __init__(self, pool: ActorPool, n: int, call: Callable, rows: int = 1,
                 stall_timeout: float = 300.0):
        self.pool, self.call, self.rows, self.stall_timeout = pool, call, int(rows), stall_timeout
        self.chunks = guided_chunks(n, len(pool.actors))
        self.todo = deque(range(len(self.chunks)))
        self.pending: dict = {}                # result ref -> (chunk, slot, actor)
        self.tries: dict[int, int] = {}
        self.out = np.empty(self.rows * n)

    def run(self) -> np.ndarray:
        """The fitness of every item, in order."""
        pool = self.pool
        pool.watch.check(force=True)
        progress = time.monotonic()
        while self.todo or self.pending:
            self._hand_out()
            done = self._wait()
            if not done:
                pool.watch.check()
                if not self.pending and time.monotonic() - progress > self.stall_timeout:
                    raise ClusterLost(f"no Ray worker has been free for {self.stall_timeout:.0f} s "
                                      "(the cluster has no CPU left for them)")
                continue
            progress = time.monotonic()
            for ref in done:
                if ref in pool.starting:
                    pool.answered(ref)
                else:
                    self._collect(ref)
        return self.out

    def _wait(self) -> list:
        """The refs that have come back: at least one within TICK seconds, or none."""
        ray = self.pool.ray
        refs = [*self.pending, *self.pool.starting]
        try:
            done, rest = ray.wait(refs, num_returns=1, timeout=TICK)
            if done and rest:     # all that are back, handled in one pass: actors freed together
                done += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        except ray.exceptions.RayError as e:
            raise self.pool.watch.failed(e) from None
        return done

    def _hand_out(self) -> None:
        """A chunk to every ready actor without one. One at a time, not two queued to hide
        the round trip: a chunk queued behind a straggler's is what held a generation up
        (measured: +54% for one actor in 32 made 2x slower, against +2%)."""
        busy = {s for _, s, actor in self.pending.values() if self.pool.actors[s] is actor}
        for s in self.pool.ready():
            if not self.todo:
                break
            if s not in busy:
                self.pool.watch.check()          # a chunk over 100 KB goes through the raylet
                self._submit(self.todo.popleft(), s)

    def _submit(self, k: int, s: int) -> None:
        lo, hi = self.chunks[k]
        actor = self.pool.actors[s]
        self.pending[self.call(actor, lo, hi)] = (k, s, actor)

    def _collect(self, ref) -> None:
        ray = self.pool.ray
        k, s, actor = self.pending.pop(ref)
        lo, hi = self.chunks[k]
        try:
            self.out[self.rows * lo:self.rows * hi] = ray.get(ref)
        except ray.exceptions.RayTaskError:
            raise                                  # the problem's own error
        except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError):
            self.tries[k] = self.tries.get(k, 0) + 1
            if self.tries[k] > self.pool.max_retries:
                self.pool.watch.check(force=True)
                raise RuntimeError(f"chunk {lo}..{hi} failed on {self.tries[k]} workers in a "
                                   "row; giving up") from None
            self.todo.appendleft(k)
            self.pool.lost(s, actor)
        except ray.exceptions.RayError as e:
            raise self.pool.watch.failed(e) from None
