"""Quality diversity: MAP-Elites (Mouret and Clune 2015) and novelty search (Lehman and
Stanley 2011), searching on a problem's behaviour descriptors (its measures).

pyribs keeps the archives: a ``GridArchive`` (one elite a cell of the descriptor grid) for
MAP-Elites, a ``ProximityArchive`` (behaviours at least ``threshold`` from every stored one)
for novelty search. The variation (pyribs' emitters' Gaussian and iso+line operators) is
drawn here from the optimizer's own generator: pyribs' emitters and archives keep private
generators that a checkpoint could carry only by pickling them. A checkpoint holds an
archive as arrays (its elites in insertion order) and adds them to a fresh archive on load,
which gives back the same archive, the same order of elites and so the same run.
"""
from __future__ import annotations

import numpy as np

from ..options import Option, rule
from .base import Optimizer, is_int, is_num, register

ARCHIVE_FIELDS = ("solution", "objective", "measures")


def _names(v) -> bool:
    return isinstance(v, (tuple, list)) and all(isinstance(k, str) and k for k in v) \
        and len(set(v)) == len(v)


def _cells(v) -> bool:
    return v is None or (is_int(v) and v >= 1) or (
        isinstance(v, (tuple, list)) and len(v) > 0 and all(is_int(c) and c >= 1 for c in v))


def _ribs():
    """pyribs' archives, or a one-line ImportError saying how to install them."""
    try:
        import ribs.archives
    except ImportError:
        raise ImportError("map-elites and novelty keep their archives with pyribs: pip install "
                          "'evornn[qd]' (or pip install ribs)") from None
    return ribs.archives


class _QD(Optimizer):
    """What MAP-Elites and novelty search share: descriptors checked against the problem's
    measures, the first population around x0, variation of parents, the archive as arrays."""

    needs_measures = True
    default_popsize = 50
    common_qd = {
        "descriptors": Option((), "the measures that describe a behaviour (empty: the "
                                  "problem's default descriptors)",
                              rule(lambda v: _names(v) or v == (), "must be a list of distinct "
                                   "measure names")),
        "variation": Option("iso_line", "'iso_line' (Vassiliades and Mouret 2018: parent + "
                                        "Gaussian + a step along the line to a second elite) "
                                        "or 'gaussian' (parent + Gaussian)",
                            rule(lambda v: v in ("iso_line", "gaussian"),
                                 "must be 'iso_line' or 'gaussian'")),
        "sigma": Option(None, "the Gaussian step of every gene (None: sigma0 / 4)",
                        rule(lambda v: v is None or (is_num(v) and 0 < v < np.inf),
                             "must be None or a positive number")),
        "line_sigma": Option(0.2, "iso_line: the step along the line between two elites",
                             rule(lambda v: is_num(v) and 0 <= v < np.inf,
                                  "must be a number >= 0")),
    }
    _state_keys = ("_archive_state", "_qd_history")

    def __init_subclass__(cls, **kwargs):
        cls.declared_options = {**_QD.common_qd, **cls.declared_options}
        super().__init_subclass__(**kwargs)

    def _check_options(self, o):
        super()._check_options(o)
        names = tuple(o["descriptors"]) or tuple(self.measures)
        bad = [k for k in names if k not in self.measures]
        if bad:
            raise ValueError(f"option descriptors names {bad[0]!r}, which is not one of the "
                             f"problem's measures ({', '.join(self.measures)})")
        self.descriptors = names
        self._desc = [list(self.measures).index(k) for k in names]

    def _ranges(self, need_finite: bool) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = [], []
        for k in self.descriptors:
            rng = self.measures[k]
            if rng is None and need_finite:
                raise ValueError(f"{self.name} needs a finite range for each descriptor, and "
                                 f"measure {k!r} has none; choose descriptors with a declared "
                                 f"(low, high) among {', '.join(self.measures)}")
            lo.append(-np.inf if rng is None else float(rng[0]))
            hi.append(np.inf if rng is None else float(rng[1]))
        return np.array(lo), np.array(hi)

    def _setup(self):
        o = self.options
        self.step = o["sigma"] if o["sigma"] is not None else self.sigma0 / 4
        self._qd_history: list[list[float]] = []   # per generation: evaluations, elites, QD-score
        self.archive = self._new_archive()

    # -- variation --------------------------------------------------------------------------
    def _first(self) -> np.ndarray:
        X = self.x0 + self.sigma0 * self._rng.standard_normal((self.popsize, self.dim))
        X[0] = self.x0
        return X

    def _vary(self, parents: np.ndarray, others: np.ndarray) -> np.ndarray:
        """Children of parents [P, D]: Gaussian steps, and with iso_line a step along the line
        to others [P, D] (Vassiliades and Mouret's Iso+LineDD)."""
        P, D = parents.shape
        X = parents + self.step * self._rng.standard_normal((P, D))
        if self.options["variation"] == "iso_line":
            X += self.options["line_sigma"] * self._rng.standard_normal((P, 1)) * (others - parents)
        return X

    @staticmethod
    def _ok(f, values) -> np.ndarray:
        return np.isfinite(f) & np.isfinite(values).all(axis=1)

    # -- the archive as arrays --------------------------------------------------------------
    def archive_arrays(self) -> dict:
        """The archive for the run directory: solutions [n, D], fitness [n], descriptor
        values [n, k] (insertion order), the descriptors and the QD history."""
        d = self.archive.data(list(ARCHIVE_FIELDS))
        return {"solution": np.asarray(d["solution"], np.float64),
                "fitness": np.asarray(d["objective"], np.float64),
                "measures": np.asarray(d["measures"], np.float64),
                "descriptors": np.array(self.descriptors),
                "history": np.array(self._qd_history, np.float64).reshape(-1, 3)}

    @property
    def _archive_state(self) -> dict:
        d = self.archive.data(list(ARCHIVE_FIELDS))
        return {k: np.asarray(d[k], np.float64) for k in ARCHIVE_FIELDS}

    @_archive_state.setter
    def _archive_state(self, d: dict) -> None:
        self.archive = self._new_archive()
        self._refill(self.archive, {k: np.asarray(d[k], np.float64) for k in ARCHIVE_FIELDS})

    def _export(self, key, value):
        if key == "_qd_history":
            return np.array(value, np.float64).reshape(-1, 3)
        return super()._export(key, value)

    def _import(self, key, value):
        if key == "_qd_history":
            return [list(map(float, r)) for r in np.asarray(value).reshape(-1, 3)]
        return super()._import(key, value)

    def _record(self) -> None:
        f = np.asarray(self.archive.data("objective"), np.float64)
        qd = float(np.sum(f - self.options["qd_offset"])) if len(f) else 0.0
        self._qd_history.append([float(self.evaluations + self.popsize), float(len(f)), qd])


@register
class MapElites(_QD):
    """MAP-Elites (Mouret and Clune 2015): a grid over the behaviour descriptors keeps the
    fittest genome found in each cell; children are varied from elites drawn uniformly.

    The grid (pyribs' ``GridArchive``) spans each descriptor's declared range in ``cells``
    bins (a value outside falls in the edge cell); genomes whose fitness or descriptors
    are NaN/inf are not added. The first generation is x0 + sigma0 N(0, I); after it,
    each child is an elite + ``sigma`` N(0, I), plus with ``variation='iso_line'`` a
    ``line_sigma`` N(0, 1) step along the line to a second elite.
    """

    name = "map-elites"
    description = ("MAP-Elites: a grid over the problem's behaviour descriptors keeps the best "
                   "genome of each cell (pyribs' GridArchive), iso+line variation")
    declared_options = {
        "cells": Option(None, "bins per descriptor: one number for all, or one each (None: "
                              "the most that keep the grid within 4,096 cells, at least 2)",
                        rule(_cells, "must be None, an integer >= 1 or a list of them")),
        "qd_offset": Option(0.0, "subtracted from each elite's fitness in the QD-score",
                            rule(lambda v: is_num(v) and np.isfinite(v), "must be a finite number")),
    }

    def _check_options(self, o):
        super()._check_options(o)
        self.lower_m, self.upper_m = self._ranges(need_finite=True)
        k, c = len(self.descriptors), o["cells"]
        if c is None:
            c = max(2, int(np.floor(4096 ** (1 / k) + 1e-9)))
        dims = [int(c)] * k if is_int(c) else [int(x) for x in c]
        if len(dims) != k:
            raise ValueError(f"option cells has {len(dims)} numbers for {k} descriptors "
                             f"({', '.join(self.descriptors)}); give one number or {k}")
        self.dims = dims

    def _new_archive(self):
        GridArchive = _ribs().GridArchive
        return GridArchive(solution_dim=self.dim, dims=self.dims, dtype=np.float64,
                           ranges=list(zip(self.lower_m, self.upper_m)), seed=0)

    @staticmethod
    def _refill(archive, d: dict) -> None:
        # one at a time: a batch would be stored in cell order, not in insertion order
        for x, f, m in zip(d["solution"], d["objective"], d["measures"]):
            archive.add_single(x, f, m)

    @property
    def coverage(self) -> float:
        """The fraction of the grid's cells holding an elite."""
        return len(self.archive) / self.archive.cells

    def _ask(self):
        if self.archive.empty:
            return self._first()
        elites = np.asarray(self.archive.data("solution"), np.float64)
        pick = self._rng.integers(len(elites), size=(2, self.popsize))
        return self._vary(elites[pick[0]], elites[pick[1]])

    def _tell(self, X, f, failed):
        ok = self._ok(f, self._values)
        # one by one, as a batch would (the fittest of a cell's newcomers wins, the first of
        # equals): a batch add compiles numpy_groupies' kernels, seconds in every process
        for x, fi, m in zip(X[ok], f[ok], self._values[ok][:, self._desc]):
            self.archive.add_single(x, fi, m)
        self._record()

    def cell_of(self, values: np.ndarray) -> np.ndarray:
        """The grid coordinates [n, k] of descriptor values [n, k]."""
        idx = self.archive.index_of(np.asarray(values, np.float64))
        return np.asarray(self.archive.int_to_grid_index(idx), np.int64)

    def archive_arrays(self) -> dict:
        d = super().archive_arrays()
        d.update(cells=self.cell_of(d["measures"]) if len(d["fitness"]) else
                 np.zeros((0, len(self.dims)), np.int64),
                 dims=np.array(self.dims), lower=self.lower_m, upper=self.upper_m)
        return d


@register
class Novelty(_QD):
    """Novelty search (Lehman and Stanley 2011): selection by the novelty of a behaviour,
    its mean distance to its k nearest neighbours among the population and the archive of
    novel behaviours, not by fitness.

    Descriptors are scaled by their declared ranges (to [0, 1] each; an unbounded one is
    left as it is). A genome whose novelty against the archive is at least ``threshold``
    joins the archive (pyribs' ``ProximityArchive``). Parents are chosen by tournaments of
    ``tournsize`` on the score (1 - fitness_weight) rank(novelty) + fitness_weight
    rank(fitness) (0: pure novelty search); each child is a parent + ``sigma`` N(0, I),
    with ``variation='iso_line'`` a step along the line to a second parent. ``best`` is
    the fittest genome ever evaluated.
    """

    name = "novelty"
    description = ("novelty search: selection by the mean distance of a behaviour to its k "
                   "nearest neighbours, an archive of novel ones (pyribs' ProximityArchive)")
    declared_options = {
        "k": Option(15, "nearest neighbours that a behaviour's novelty averages over",
                    rule(lambda v: is_int(v) and v >= 1, "must be an integer >= 1")),
        "threshold": Option(0.1, "novelty (in range-scaled descriptor units) that admits a "
                                  "behaviour to the archive",
                            rule(lambda v: is_num(v) and 0 < v < np.inf,
                                 "must be a positive number")),
        "tournsize": Option(3, "genomes in each selection tournament",
                            rule(lambda v: is_int(v) and v >= 1, "must be an integer >= 1")),
        "fitness_weight": Option(0.0, "weight of the fitness rank against the novelty rank in "
                                      "selection (0: pure novelty search)",
                                 rule(lambda v: is_num(v) and 0 <= v <= 1, "must be in [0, 1]")),
        "qd_offset": Option(0.0, "subtracted from each archived genome's fitness in the "
                                 "QD-score",
                            rule(lambda v: is_num(v) and np.isfinite(v), "must be a finite number")),
    }
    _state_keys = _QD._state_keys + ("_pop", "_score")

    def _check_options(self, o):
        super()._check_options(o)
        lo, hi = self._ranges(need_finite=False)
        fin = np.isfinite(lo) & np.isfinite(hi)
        self._shift = np.where(fin, lo, 0.0)
        self._scale = np.where(fin, hi - lo, 1.0)

    def _setup(self):
        super()._setup()
        self._pop = None             # the last population told, and its selection score
        self._score = None

    def _new_archive(self):
        ProximityArchive = _ribs().ProximityArchive
        return ProximityArchive(solution_dim=self.dim, measure_dim=len(self._desc), dtype=np.float64,
                                k_neighbors=int(self.options["k"]),
                                novelty_threshold=float(self.options["threshold"]), seed=0)

    @staticmethod
    def _refill(archive, d: dict) -> None:
        # into an empty archive every behaviour counts as novel: one batch, in order
        if len(d["objective"]):
            archive.add(d["solution"], d["objective"], d["measures"])

    def _scaled(self, values: np.ndarray) -> np.ndarray:
        return (values[:, self._desc] - self._shift) / self._scale

    def novelty(self, B: np.ndarray) -> np.ndarray:
        """Novelty of each scaled behaviour in B [P, k] against the rest of B and the archive:
        the mean distance to its k nearest neighbours."""
        from scipy.spatial import KDTree
        A = np.asarray(self.archive.data("measures"), np.float64)
        pool = np.concatenate([B, A]) if len(A) else B
        n = min(int(self.options["k"]), len(pool) - 1)
        if n < 1:
            return np.zeros(len(B))
        d, _ = KDTree(pool).query(B, k=n + 1)      # the first neighbour is the point itself
        return np.asarray(d, np.float64).reshape(len(B), -1)[:, 1:].mean(axis=1)

    def _ask(self):
        if self._pop is None:
            return self._first()
        t = int(self.options["tournsize"])
        P = self.popsize
        duel = self._rng.integers(P, size=(2, P, t))
        win = duel[np.arange(2)[:, None], np.arange(P)[None],
                   np.argmax(self._score[duel], axis=2)]
        return self._vary(self._pop[win[0]], self._pop[win[1]])

    def _tell(self, X, f, failed):
        ok = self._ok(f, self._values)
        nov = np.full(len(X), -np.inf)
        if ok.any():
            B = self._scaled(self._values[ok])
            nov[ok] = self.novelty(B)
            self.archive.add(X[ok], f[ok], B)
        w = float(self.options["fitness_weight"])
        rank = np.empty(len(X))
        rank[np.lexsort((np.arange(len(X)), nov))] = np.arange(len(X))
        score = rank
        if w > 0:
            fr = np.empty(len(X))
            fr[np.lexsort((np.arange(len(X)), f))] = np.arange(len(X))
            score = (1 - w) * rank + w * fr
        self._pop, self._score = X.copy(), np.where(ok, score, -1.0)
        self._record()

    def archive_arrays(self) -> dict:
        d = super().archive_arrays()
        d["measures"] = d["measures"] * self._scale + self._shift    # back to the problem's units
        return d
