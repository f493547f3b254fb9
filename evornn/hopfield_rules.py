"""Storage rules for the hopfield family: patterns (K x N arrays of +-1) -> a genome for
``evornn.Network("hopfield", N, N, N, ...)``, and the energy of a network's states.

    hebb            W = (1/N) sum_k xi_k xi_k^T, diagonal zeroed
    storkey         Storkey (1997), patterns added one at a time:
                    W_ij += (1/N) (xi_i xi_j - xi_i h_ji - h_ij xi_j),
                    h_ij = sum_{k != i, j} W_ik xi_k (the diagonal stays zero)
    pseudo_inverse  the projection onto the patterns' span, W = X^T (X X^T)^-1 X
                    (X the K x N patterns; Moore-Penrose where X X^T is singular), diagonal zeroed

Each returns the genome (thresholds zero) through ``genome_from_weights``, which takes any
symmetric N x N matrix with a zero diagonal.
"""
from __future__ import annotations

import numpy as np

from .arch.hopfield import FAMILY, energy, full_weights, n_pairs  # noqa: F401 (full_weights: public here too)


def units(net) -> int | None:
    """N, the units of a one-layer hopfield network; None for any other network."""
    ok = len(net.layers) == 1 and net.layers[0].family is FAMILY
    return net.layers[0].n_hidden if ok else None


def bam_layers(net) -> tuple[int, int] | None:
    """(n, p), the layers of a one-layer bam network; None for any other network."""
    from .arch import bam
    if len(net.layers) != 1 or net.layers[0].family is not bam.FAMILY:
        return None
    lay = net.layers[0]
    n = bam.split_of(lay.n_hidden, lay.opts)
    return n, lay.n_hidden - n


def _units(net) -> int:
    N = units(net)
    if N is None:
        raise ValueError(f"a storage rule needs a one-layer hopfield network, got "
                         f"{'+'.join(lay.family.name for lay in net.layers)}")
    return N


def check_patterns(patterns, N: int) -> np.ndarray:
    """patterns as a float [K, N] array of +-1, else a one-line ValueError."""
    X = np.asarray(patterns)
    if X.dtype.kind not in "biuf" or X.ndim != 2:
        raise ValueError(f"patterns must be a K x N array of +-1, got {X.ndim} dimensions "
                         f"of dtype {X.dtype}")
    if X.shape[0] < 1:
        raise ValueError("patterns: need at least one pattern (K >= 1), got K=0")
    if X.shape[1] != N:
        raise ValueError(f"patterns have length {X.shape[1]}, the network has N={N} units")
    bad = ~np.isin(X, (-1, 1))
    if bad.any():
        k, i = np.argwhere(bad)[0]
        raise ValueError(f"patterns must be +-1 only, got {X[k, i].item()!r} at pattern {k}, unit {i}")
    return X.astype(np.float64)


def genome_from_weights(net, W, theta=None) -> np.ndarray:
    """The genome of a one-layer hopfield network with weights W (symmetric N x N, zero
    diagonal) and thresholds theta (N; None: zeros)."""
    N = _units(net)
    W = np.asarray(W, dtype=np.float64)
    if W.shape != (N, N):
        raise ValueError(f"W must be N x N = {N} x {N} (the network's units), got shape {W.shape}")
    if not np.isfinite(W).all():
        raise ValueError("W must be finite, got inf or NaN")
    tol = 1e-10 * max(1.0, float(np.abs(W).max()))
    asym = np.abs(W - W.T)
    if asym.max() > tol:
        i, j = np.unravel_index(int(np.argmax(asym)), asym.shape)
        raise ValueError(f"W must be symmetric, got W[{i}, {j}]={float(W[i, j])!r} and "
                         f"W[{j}, {i}]={float(W[j, i])!r}")
    if np.abs(np.diag(W)).max() > tol:
        i = int(np.argmax(np.abs(np.diag(W))))
        raise ValueError(f"W must have a zero diagonal (the genome holds none), got "
                         f"W[{i}, {i}]={float(W[i, i])!r}")
    th = np.zeros(N) if theta is None else np.asarray(theta, dtype=np.float64)
    if th.shape != (N,):
        raise ValueError(f"theta must have N={N} values, got shape {th.shape}")
    iu, ju = np.triu_indices(N, 1)
    g = np.concatenate([W[iu, ju], th])
    assert g.size == n_pairs(N) + N == net.n_params
    return g


def _zero_diagonal(W):
    W = 0.5 * (W + W.T)
    np.fill_diagonal(W, 0.0)
    return W


def hebb(net, patterns) -> np.ndarray:
    """Hebb's rule: W = (1/N) sum_k xi_k xi_k^T, zero diagonal, zero thresholds."""
    N = _units(net)
    X = check_patterns(patterns, N)
    return genome_from_weights(net, _zero_diagonal(X.T @ X / N))


def storkey(net, patterns) -> np.ndarray:
    """Storkey's rule (1997), patterns added one at a time (zero thresholds)."""
    N = _units(net)
    X = check_patterns(patterns, N)
    W = np.zeros((N, N))
    for xi in X:
        Hm = (W @ xi)[:, None] - W * xi[None, :]          # h_ij = sum_{k != i, j} W_ik xi_k
        W = W + (np.outer(xi, xi) - xi[:, None] * Hm.T - Hm * xi[None, :]) / N
        np.fill_diagonal(W, 0.0)
    return genome_from_weights(net, _zero_diagonal(W))


def pseudo_inverse(net, patterns) -> np.ndarray:
    """The projection rule W = X^T (X X^T)^-1 X, zero diagonal, zero thresholds."""
    N = _units(net)
    X = check_patterns(patterns, N)
    return genome_from_weights(net, _zero_diagonal(np.linalg.pinv(X) @ X))


def hopfield_energy(net, states, genome=None) -> np.ndarray:
    """E = -1/2 s^T W s + theta . s of states [..., N] under a one-layer hopfield network's
    genome (its own where genome is None); one energy a state."""
    N = _units(net)
    g = net.genome if genome is None else np.asarray(genome, dtype=np.float64)
    s = np.asarray(states, dtype=np.float64)
    if s.shape[-1:] != (N,):
        raise ValueError(f"states must be [..., N={N}], got shape {s.shape}")
    return energy(full_weights(g[:n_pairs(N)], N), g[n_pairs(N):], s)


# -- bidirectional associative memory (the bam family) ---------------------------------------
def _bam_layers(net) -> tuple[int, int]:
    layers = bam_layers(net)
    if layers is None:
        raise ValueError(f"bam_hebb needs a one-layer bam network, got "
                         f"{'+'.join(lay.family.name for lay in net.layers)}")
    return layers


def bam_hebb(net, X, Y) -> np.ndarray:
    """Kosko's encoding of K pairs (x_k, y_k): W = sum_k x_k y_k^T, zero thresholds; X [K, n]
    and Y [K, p] of +-1 (n, p the bam network's layers)."""
    n, p = _bam_layers(net)
    Xa, Ya = np.asarray(X), np.asarray(Y)
    if Xa.ndim != 2 or Ya.ndim != 2:
        raise ValueError(f"bam_hebb: X and Y must be K x n and K x p arrays, got shapes "
                         f"{Xa.shape} and {Ya.shape}")
    if Xa.shape[0] != Ya.shape[0]:
        raise ValueError(f"bam_hebb: X and Y must hold as many pairs, got K={Xa.shape[0]} "
                         f"and K={Ya.shape[0]}")
    Xa = check_patterns(Xa, n) if Xa.shape[1] == n else _wrong_width("X", Xa, "n", n)
    Ya = check_patterns(Ya, p) if Ya.shape[1] == p else _wrong_width("Y", Ya, "p", p)
    return np.concatenate([(Xa.T @ Ya).ravel(), np.zeros(n + p)])


def _wrong_width(name, A, what, want):
    raise ValueError(f"bam_hebb: {name} has rows of length {A.shape[1]}, the network's layer "
                     f"has {what}={want} units")


def bam_energy(net, states, genome=None) -> np.ndarray:
    """E = -x^T W y + theta_x . x + theta_y . y of states [..., n + p] = [x, y] under a
    one-layer bam network's genome (its own where genome is None); one energy a state."""
    from .arch.bam import energy as bam_e
    n, p = _bam_layers(net)
    g = net.genome if genome is None else np.asarray(genome, dtype=np.float64)
    s = np.asarray(states, dtype=np.float64)
    if s.shape[-1:] != (n + p,):
        raise ValueError(f"states must be [..., N={n + p}], got shape {s.shape}")
    return bam_e(g[:n * p].reshape(n, p), g[n * p:n * p + n], g[n * p + n:], s[..., :n], s[..., n:])
