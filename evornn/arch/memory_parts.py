"""What the external-memory families (ntm, dnc, stack_rnn) share: the controller's step,
the start value of the memory, and the content addressing's small pieces."""
from __future__ import annotations

import numpy as np
from numba import njit

from . import kernels as kn
from .lstm import gates

CONTROLLERS = ("lstm", "dense")
MEM0 = 1e-6          # every memory cell at the start of a sequence
EPS = 1e-8           # in the cosine similarity's denominator

# fastmath without reassoc: with it the addressing's reductions compiled differently cold
# and from the cache (an ulp apart in float32; tests/test_determinism.py)
JIT = {**kn.JIT, "fastmath": {"contract", "arcp", "afn", "nsz", "ninf", "nnan"}}


def memory_ok(v) -> bool:
    """Whether an option value is (N, M): two integers >= 1."""
    return len(v) == 2 and all(isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                               and n >= 1 for n in v)


# Constants are made in the arrays' own dtype (z.dtype.type): a bare 1 or 1e-8 would make
# float32 loops compute in float64 (measured 2.7x slower than float64 itself).

@njit(**JIT)
def softplus(v):
    # log(1 + e^v) without overflow: max(v, 0) + log1p(e^-|v|)
    return max(v, v - v) + np.log1p(np.exp(-abs(v)))


@njit(**JIT)
def row_norms(mem, nrm, N, M):
    """nrm[i] = |Mem_i| for the N rows of M numbers in mem (flat)."""
    for i in range(N):
        s = nrm[i] - nrm[i]
        for j in range(M):
            s += mem[i * M + j] * mem[i * M + j]
        nrm[i] = np.sqrt(s)


@njit(**JIT)
def controller(w, x, r, z, h, c, I, R, H, G, lstm, recurrent):
    """h (and c) <- the controller on [x_t, r_{t-1}] (and h_{t-1} if recurrent): the LSTM
    cell (G = 4H) or tanh (G = H), weights W_ih [G, I + R], (W_hh [G, H]), b [G] packed
    from w[0]; the offset in w after them."""
    U = I + R
    bo = (U + H) * G if recurrent else U * G
    kn.set_rows(z, w[bo:bo + G])
    kn.mm_acc(z, x, kn.view2d(w, 0, I, G))
    kn.mm_acc(z, r, kn.view2d(w, I * G, R, G))
    if recurrent:
        kn.mm_acc(z, h, kn.view2d(w, U * G, H, G))
    if lstm:
        gates(z, c, h)
    else:
        for b in range(z.shape[0]):
            for j in range(H):
                h[b, j] = kn.tanh(z[b, j])
    return bo + G


def softplus_xp(xp, v):
    """softplus of an array in module xp (NumPy or CuPy)."""
    return xp.maximum(v, 0) + xp.log1p(xp.exp(-xp.abs(v)))
