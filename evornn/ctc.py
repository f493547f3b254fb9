"""Connectionist temporal classification (Graves et al. 2006) for populations: the loss by the
forward recursion in log space (numba, genomes spread over the worker threads), greedy and
prefix beam search decoding, and the label error rate.

Conventions (those of ``torch.nn.functional.ctc_loss``): class 0 is the blank, labels are
1..C-1, padded to ``labels[B, L]`` with their lengths ``label_lengths[B]``; frames beyond
``input_lengths[B]`` are ignored. ``ctc_loss`` takes log-probabilities ``[P, B, T, C]`` (or
``[B, T, C]``), or with ``logits=True`` a network's raw linear outputs, which it
log-softmaxes frame by frame without a float64 copy of the whole population's outputs.
Gradient training uses torch's own ``ctc_loss`` on the torch twin.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .arch.kernels import JIT
from .threads import run_chunks

NEG_INF = -np.inf


@njit(nogil=True, **JIT)
def _lse(a, b):
    """log(exp(a) + exp(b)) without overflow; -inf when both are -inf (no NaN from inf - inf)."""
    if a < b:
        a, b = b, a
    if b == NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))


@njit(nogil=True, **JIT)
def _ctc_chunk(lo, hi, X, labels, label_lengths, input_lengths, logits, out):
    """Sequences lo..hi-1 of the flattened [P * B]: out[i] = -log p(label | frames)."""
    B, C = X.shape[1], X.shape[3]
    S = 2 * labels.shape[1] + 1
    alpha, nxt, lp = np.empty(S), np.empty(S), np.empty(C)
    for i in range(lo, hi):
        p, b = i // B, i % B
        L, T = label_lengths[b], input_lengths[b]
        n = 2 * L + 1                       # the label with a blank before, between and after
        for t in range(T):
            lse = 0.0
            if logits:                      # log-softmax of this frame
                m = NEG_INF
                for c in range(C):
                    m = max(m, float(X[p, b, t, c]))
                acc = 0.0
                for c in range(C):
                    acc += math.exp(float(X[p, b, t, c]) - m)
                lse = m + math.log(acc)
            for c in range(C):
                lp[c] = float(X[p, b, t, c]) - lse
            if t == 0:
                alpha[0] = lp[0]
                for s in range(1, n):
                    alpha[s] = lp[labels[b, 0]] if s == 1 else NEG_INF
                continue
            for s in range(n):
                a = alpha[s]
                if s >= 1:
                    a = _lse(a, alpha[s - 1])
                # a label may skip the blank before it, unless it repeats the previous label
                if s % 2 == 1 and s >= 3 and labels[b, s // 2] != labels[b, s // 2 - 1]:
                    a = _lse(a, alpha[s - 2])
                nxt[s] = a + (lp[0] if s % 2 == 0 else lp[labels[b, s // 2]])
            for s in range(n):
                alpha[s] = nxt[s]
        end = alpha[n - 1] if L == 0 else _lse(alpha[n - 1], alpha[n - 2])
        out[i] = -end


def needed_steps(labels: np.ndarray, label_lengths: np.ndarray) -> np.ndarray:
    """[B]: the fewest frames each label fits in: its symbols plus a blank between repeats."""
    labels = np.asarray(labels)
    L = labels.shape[1]
    inside = np.arange(1, L)[None, :] < np.asarray(label_lengths)[:, None]
    repeats = ((labels[:, 1:] == labels[:, :-1]) & inside).sum(axis=1) if L > 1 else 0
    return np.asarray(label_lengths) + repeats


def check_labels(labels, label_lengths, input_lengths, n_classes: int, T: int):
    """(labels [B, L], label_lengths [B], input_lengths [B]) as int64 arrays, or a one-line
    ValueError naming what is wrong and what is allowed."""
    labels = np.asarray(labels)
    if labels.ndim != 2 or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"labels must be an integer array [B, L] (padded), got shape "
                         f"{labels.shape} and dtype {labels.dtype}")
    B, L = labels.shape
    lens = []
    for name, v, hi in (("label_lengths", label_lengths, L), ("input_lengths", input_lengths, T)):
        v = np.asarray(v)
        if v.shape != (B,) or (B and v.dtype.kind not in "iu"):
            raise ValueError(f"{name} must be {B} integers (one a sequence), got shape {v.shape} "
                             f"and dtype {v.dtype}")
        lo = 0 if name == "label_lengths" else 1
        out = (v < lo) | (v > hi)
        if out.any():
            b = int(np.argmax(out))
            raise ValueError(f"{name} must be in {lo}..{hi}, got {v[b]} for sequence {b}")
        lens.append(v.astype(np.int64))
    label_lengths, input_lengths = lens
    used = np.arange(L)[None, :] < label_lengths[:, None]
    bad = used & ((labels < 1) | (labels >= n_classes))
    if bad.any():
        b, j = np.argwhere(bad)[0]
        raise ValueError(f"labels must be in 1..{n_classes - 1} (0 is the blank; {n_classes} "
                         f"classes), got {labels[b, j]} in sequence {b} at position {j}")
    need = needed_steps(labels, label_lengths)
    short = need > input_lengths
    if short.any():
        b = int(np.argmax(short))
        raise ValueError(f"sequence {b}'s label ({label_lengths[b]} symbols, {need[b] - label_lengths[b]} "
                         f"repeats needing a blank between) needs {need[b]} frames, but its input "
                         f"length is {input_lengths[b]}: a label fits in at most its input length")
    return np.ascontiguousarray(labels, dtype=np.int64), label_lengths, input_lengths


def ctc_loss(x, labels, label_lengths, input_lengths, logits: bool = False) -> np.ndarray:
    """-log p(label | frames) of every genome on every sequence: x [P, B, T, C] -> [P, B]
    (x [B, T, C] -> [B]); x is log-probabilities, or raw outputs with ``logits=True``."""
    X = np.asarray(x)
    single = X.ndim == 3
    if single:
        X = X[None]
    if X.ndim != 4 or X.dtype not in (np.float32, np.float64):
        raise ValueError(f"x must be float32 or float64 [P, B, T, C] or [B, T, C], got shape "
                         f"{np.shape(x)} and dtype {X.dtype}")
    P, B, T, C = X.shape
    if C < 2:
        raise ValueError(f"x needs at least 2 classes (the blank and one label), got {C}")
    labels, label_lengths, input_lengths = check_labels(labels, label_lengths, input_lengths, C, T)
    if labels.shape[0] != B:
        raise ValueError(f"labels has {labels.shape[0]} sequences, x has {B}")
    if labels.shape[1] == 0:                 # every label empty: one blank column to index
        labels = np.zeros((B, 1), np.int64)
    out = np.empty(P * B)
    run_chunks(_ctc_chunk, P * B, np.ascontiguousarray(X), labels, label_lengths, input_lengths,
               bool(logits), out)
    out = out.reshape(P, B)
    return out[0] if single else out


def ctc_mean_loss(x, labels, label_lengths, input_lengths, logits: bool = False) -> np.ndarray:
    """Every genome's mean over sequences of -log p(label | frames): x [P, B, T, C] -> [P]."""
    return ctc_loss(x, labels, label_lengths, input_lengths, logits).mean(axis=-1)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log-probabilities from raw outputs (float64)."""
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _lengths(x: np.ndarray, input_lengths) -> np.ndarray:
    B, T = x.shape[:2]
    return np.full(B, T) if input_lengths is None else np.asarray(input_lengths)


def greedy_decode(x, input_lengths=None) -> list[list[int]]:
    """Best path decoding of x [B, T, C] (log-probabilities, probabilities or logits alike):
    each frame's most likely class, repeats collapsed, blanks dropped."""
    x = np.asarray(x)
    best = x.argmax(axis=-1)
    out = []
    for b, n in enumerate(_lengths(x, input_lengths)):
        path = best[b, :n]
        keep = np.ones(len(path), bool)
        keep[1:] = path[1:] != path[:-1]
        out.append([int(c) for c in path[keep] if c != 0])
    return out


def beam_decode(x, beam_width: int = 10, input_lengths=None, logits: bool = False) -> list[list[int]]:
    """Prefix beam search (Graves 2012, ch. 7; Hannun et al. 2014) of x [B, T, C]
    (log-probabilities, or logits with ``logits=True``): the most probable labelling among
    the ``beam_width`` prefixes kept at every frame, summed over their alignments."""
    if isinstance(beam_width, bool) or not isinstance(beam_width, (int, np.integer)) or beam_width < 1:
        raise ValueError(f"beam_width must be a positive integer, got {beam_width!r}")
    x = log_softmax(x) if logits else np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must be [B, T, C], got shape {x.shape}")
    return [_beam_one(x[b, :n], beam_width) for b, n in enumerate(_lengths(x, input_lengths))]


def _beam_one(lp: np.ndarray, width: int) -> list[int]:
    """One sequence lp [T, C]: prefix -> (log p ending in a blank, log p ending in its last label)."""
    add = np.logaddexp
    beams = {(): (0.0, -np.inf)}
    for frame in lp:
        nxt: dict[tuple, list[float]] = {}
        for prefix, (pb, pnb) in beams.items():
            total = add(pb, pnb)
            e = nxt.setdefault(prefix, [-np.inf, -np.inf])
            e[0] = add(e[0], total + frame[0])              # a blank: the prefix stays
            if prefix:                                      # the last label again, not a new one
                e[1] = add(e[1], pnb + frame[prefix[-1]])
            for c in range(1, len(frame)):
                ext = nxt.setdefault(prefix + (c,), [-np.inf, -np.inf])
                # the same label twice needs a blank between: only blank-ending paths extend
                src = pb if prefix and prefix[-1] == c else total
                ext[1] = add(ext[1], src + frame[c])
        ranked = sorted(nxt.items(), key=lambda kv: -add(*kv[1]))[:width]
        beams = {k: tuple(v) for k, v in ranked}
    best = max(beams.items(), key=lambda kv: add(*kv[1]))[0]
    return list(best)


@njit(nogil=True, **JIT)
def _greedy_errors(best, input_lengths, labels, label_lengths, out):
    """out[b]: edit distance between sequence b's best path, collapsed, and its label."""
    B, T = best.shape
    hyp = np.empty(T, np.int64)
    row = np.empty(labels.shape[1] + 1, np.int64)
    for b in range(B):
        n, prev = 0, -1
        for t in range(input_lengths[b]):
            c = best[b, t]
            if c != prev and c != 0:
                hyp[n] = c
                n += 1
            prev = c
        m = label_lengths[b]
        for j in range(m + 1):
            row[j] = j
        for i in range(1, n + 1):
            diag, row[0] = row[0], i
            for j in range(1, m + 1):
                up = row[j]
                row[j] = min(up + 1, row[j - 1] + 1, diag + (hyp[i - 1] != labels[b, j - 1]))
                diag = up
        out[b] = row[m]


def greedy_errors(x, labels, label_lengths, input_lengths=None) -> np.ndarray:
    """[B]: the edit distance of each sequence's greedy decoding of x [B, T, C] from its label
    (compiled: what a success test sums, label_error_rate's numerator)."""
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"x must be [B, T, C], got shape {x.shape}")
    labels, label_lengths, input_lengths = check_labels(labels, label_lengths, _lengths(x, input_lengths),
                                                        x.shape[2], x.shape[1])
    out = np.empty(len(labels), np.int64)
    _greedy_errors(np.ascontiguousarray(x.argmax(axis=-1)), input_lengths, labels, label_lengths, out)
    return out


def edit_distance(a, b) -> int:
    """Levenshtein distance between two label sequences (insertions, deletions, substitutions)."""
    a, b = list(a), list(b)
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def label_error_rate(decoded, references) -> float:
    """Summed edit distance over summed reference length, over a set of sequences."""
    decoded, references = list(decoded), list(references)
    if len(decoded) != len(references):
        raise ValueError(f"{len(decoded)} decoded sequences for {len(references)} references")
    total = sum(len(r) for r in references)
    if total == 0:
        raise ValueError("the references are all empty: the label error rate divides by their length")
    return sum(edit_distance(d, r) for d, r in zip(decoded, references)) / total
