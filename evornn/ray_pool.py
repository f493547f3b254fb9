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


def guided_chunks(n: int, workers: int, factor: int = 2, smallest: int = 1) -> list[tuple[int, int]]:
    """[lo, hi) chunks covering range(n), each 1 / (factor * workers) of what is left when
    it is cut, but at least ``smallest`` and at most the first: an actor up to factor times
    slower still finishes with the rest. One worker takes everything: nothing to balance."""
    if workers <= 1:
        return [(0, n)] if n else []
    first = -(-n // (factor * workers))
    out, lo = [], 0
    while lo < n:
        size = min(first, max(smallest, -(-(n - lo) // (factor * workers))))
        out.append((lo, min(n, lo + size)))
        lo += size
    return out


def planned_chunks(n: int, rates: list[float], tail: float = 0.125,
                   smallest: int = 1) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Chunks for actors of known speed (items a second, by slot): one chunk a slot sized to
    its speed, together (1 - tail) of range(n), then guided chunks over the rest for
    whoever frees up first. Two chunks an actor instead of a dozen, and a tail that takes up
    what the speeds did not foresee. A tail of under 2 items an actor would only add a
    round trip each: then the first chunks take everything."""
    total, A = sum(rates), len(rates)
    if n * tail < 2 * A:
        tail = 0.0
    want = [n * (1 - tail) * r / total for r in rates]
    sizes = [int(w) for w in want]
    if tail == 0.0:             # largest remainders first, so that the chunks cover range(n)
        for s in sorted(range(A), key=lambda s: sizes[s] - want[s])[:n - sum(sizes)]:
            sizes[s] += 1
    first, lo = [], 0
    for size in sizes:
        first.append((lo, lo + size))
        lo += size
    rest = [(lo + a, lo + b) for a, b in guided_chunks(n - lo, A, smallest=smallest)]
    return first, rest


class ChunkCost:
    """What a chunk costs, learnt from the last generation: an item's seconds on an actor,
    the round trip around a chunk, and each slot's own seconds an item. Single-genome
    chunks (4 us of work for a pole episode, 2 ms of round trip here) made a CPU-bound
    generation 2x slower on 2 actors."""

    SLOW = 1.25     # a slot this many times the median seconds an item is a straggler

    def __init__(self):
        self.per_item: float | None = None
        self.round_trip: float | None = None
        self.slots: dict[int, float] = {}      # slot -> seconds an item, last generation

    def smallest(self) -> int:
        """The smallest chunk worth sending: 4 round trips of work (1 until measured)."""
        if self.per_item is None or self.round_trip is None:
            return 1
        return max(1, int(4 * self.round_trip / max(self.per_item, 1e-9)))

    def short(self, items: int) -> bool:
        """Whether a chunk of items takes less than 5 round trips of work (False until
        measured)."""
        return self.per_item is not None and items * self.per_item < 5 * self.round_trip

    def steady(self, slot: int) -> bool:
        """Whether the slot's actor kept pace with the others last generation: one that did
        can take a chunk queued behind its current one (False until measured)."""
        mine = self.slots.get(slot)
        if mine is None or len(self.slots) < 2:
            return False
        return mine <= self.SLOW * float(np.median(list(self.slots.values())))

    def rates(self, slots: int) -> list[float] | None:
        """Items a second of each of slots 0 .. slots - 1, if every one was measured."""
        if slots < 2 or any(self.slots.get(s, 0) <= 0 for s in range(slots)):
            return None
        return [1 / self.slots[s] for s in range(slots)]

    def learn(self, items: int, busy: float, trips: list[float],
              slots: dict[int, tuple[int, float]] | None = None) -> None:
        """A generation's items, seconds the actors spent on them, chunks' round trips and,
        by slot, (items, seconds) of the actors that lived through it."""
        if items and trips:
            # the lower quartile: a round trip's own cost, not the driver's queue behind
            # many actors finishing at once (which fed back into ever larger chunks)
            self.per_item, self.round_trip = busy / items, float(np.percentile(trips, 25))
        self.slots = {s: sec / n for s, (n, sec) in (slots or {}).items() if n}


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
        self.cost = ChunkCost()
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
    """One population's evaluation: call(actor, lo, hi) -> (fitness, seconds[, part]) for
    chunks of [0, n) handed out as actors free up; a chunk whose actor dies is re-run on
    another. ``parts`` keeps each chunk's part by chunk index (a re-run chunk counts once).
    Item i gives fitness rows rows * i .. rows * (i + 1) - 1; with ``width`` each row has
    that many columns (the fitness, then the problem's measures)."""

    def __init__(self, pool: ActorPool, n: int, call: Callable, rows: int = 1,
                 stall_timeout: float = 300.0, width: int = 0):
        self.pool, self.call, self.rows, self.stall_timeout = pool, call, int(rows), stall_timeout
        A = len(pool.actors)
        # actors of known speed each get one chunk sized to it, unless an actor's share is
        # itself short beside a round trip: cheap genomes (a pole episode) lost 25% on 2
        # actors to a tail of chunks each a round trip
        rates = pool.cost.rates(A) if len(pool.ready()) == A and not pool.cost.short(n // A) else None
        if rates is None:
            self.chunks, self.first = guided_chunks(n, A, smallest=pool.cost.smallest()), 0
        else:
            first, rest = planned_chunks(n, rates, smallest=pool.cost.smallest())
            self.chunks, self.first = first + rest, len(first)
        self.todo = deque(range(self.first, len(self.chunks)))
        self.pending: dict = {}                # result ref -> (chunk, slot, actor, time sent)
        self.items, self.busy, self.trips = 0, 0.0, []
        self.slots: dict[int, tuple[int, float]] = {}     # slot -> (items, seconds)
        self.tries: dict[int, int] = {}
        self.parts: dict[int, object] = {}     # chunk index -> what its evaluation gathered
        self.out = np.empty((self.rows * n, width) if width else self.rows * n)

    def run(self) -> np.ndarray:
        """The fitness of every item, in order."""
        pool = self.pool
        pool.watch.check(force=True)
        for s in range(self.first):               # each actor's planned chunk, if any
            lo, hi = self.chunks[s]
            if hi > lo:
                self._submit(s, s)
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
        pool.cost.learn(self.items, self.busy, self.trips, self.slots)
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
        """A chunk to every ready actor without one, and a second queued behind it where the
        round trip between the two would idle the actor: a chunk whose work is short beside
        the round trip, or any chunk for an actor that kept pace last generation. Not to an
        actor that fell behind: a chunk queued behind a straggler's held the generation
        (+54% for one actor in 32 made 2x slower, against +2%)."""
        load = {s: 0 for s in self.pool.ready()}
        for _, s, actor, _ in self.pending.values():
            if s in load and self.pool.actors[s] is actor:
                load[s] += 1
        cost = self.pool.cost
        for depth in (1, 2):
            for s in load:
                if not self.todo:
                    return
                lo, hi = self.chunks[self.todo[0]]
                if load[s] < depth and (depth == 1 or cost.short(hi - lo) or cost.steady(s)):
                    self.pool.watch.check()      # a chunk over 100 KB goes through the raylet
                    self._submit(self.todo.popleft(), s, queued=load[s] > 0)
                    load[s] += 1

    def _submit(self, k: int, s: int, queued: bool = False) -> None:
        lo, hi = self.chunks[k]
        actor = self.pool.actors[s]
        # a queued chunk's wait behind the one ahead is no round trip: None, not timed
        self.pending[self.call(actor, lo, hi)] = (k, s, actor, None if queued else time.perf_counter())

    def _collect(self, ref) -> None:
        ray = self.pool.ray
        k, s, actor, sent = self.pending.pop(ref)
        lo, hi = self.chunks[k]
        try:
            f, seconds, *part = ray.get(ref)
            self.out[self.rows * lo:self.rows * hi] = f
            if part and part[0] is not None:
                self.parts[k] = part[0]
            self.items, self.busy = self.items + hi - lo, self.busy + seconds
            if self.pool.actors[s] is actor:
                n, sec = self.slots.get(s, (0, 0.0))
                self.slots[s] = (n + hi - lo, sec + seconds)
            if sent is not None:
                self.trips.append(time.perf_counter() - sent - seconds)
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
