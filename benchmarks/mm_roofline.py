"""How fast the kernels' small matmul runs against the same loop in C, in the same run.

    python -m benchmarks.mm_roofline [--calls 20000]

kernels.mm_acc at the Elman ([16, 36] x [36, 32]: input and recurrent weights) and CTRNN
([16, 16] x [16, 16]) step sizes, GFLOP/s of CPU time; then, where gcc is installed, the
same 4-row x 4-k tiled loop in C (-O3 -march=native) with sizes known at run time, with
sizes known at compile time, and the latter with 512-bit vectors preferred. numba runs its
loops through LLVM's loop vectorizer only (its SLP vectorizer is off by default), which
on this CPU prefers 256-bit vectors, and it cannot know sizes or that arrays do not alias.
"""
from __future__ import annotations

import argparse
import ctypes
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from numba import njit

from evornn.arch import kernels as kn

SIZES = {"elman": (16, 36, 32), "ctrnn": (16, 16, 16)}

C_SRC = r"""
#include <time.h>
#ifndef KS
#define B b_
#define K k_
#define M m_
#else
#define B 16
#define K KS
#define M MS
#endif
static void mm(float *restrict z, const float *restrict x, const float *restrict w,
               long b_, long k_, long m_) {
  for (long b = 0; b < B; b += 4)
    for (long k = 0; k < K; k += 4) {
      const float *x0 = x + b * K + k, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
      for (long j = 0; j < M; j++) {
        float w0 = w[k * M + j], w1 = w[(k + 1) * M + j], w2 = w[(k + 2) * M + j],
              w3 = w[(k + 3) * M + j];
        z[b * M + j] += w0 * x0[0] + w1 * x0[1] + w2 * x0[2] + w3 * x0[3];
        z[(b + 1) * M + j] += w0 * x1[0] + w1 * x1[1] + w2 * x1[2] + w3 * x1[3];
        z[(b + 2) * M + j] += w0 * x2[0] + w1 * x2[1] + w2 * x2[2] + w3 * x2[3];
        z[(b + 3) * M + j] += w0 * x3[0] + w1 * x3[1] + w2 * x3[2] + w3 * x3[3];
      }
    }
}
double run(float *z, const float *x, const float *w, long b, long k, long m, long n) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
  for (long i = 0; i < n; i++) { mm(z, x, w, b, k, m); __asm__ volatile("" ::: "memory"); }
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
  return (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
}
"""


@njit(**kn.JIT)
def _calls(z, x, w, n):
    for _ in range(n):
        kn.mm_acc(z, x, w)


def _c_variants(K: int, M: int, tmp: Path) -> dict:
    src = tmp / "mm.c"
    src.write_text(C_SRC)
    out = {}
    for name, flags in (("C, sizes at run time", []),
                        ("C, sizes at compile time", [f"-DKS={K}", f"-DMS={M}"]),
                        ("C, compile time, 512-bit", [f"-DKS={K}", f"-DMS={M}",
                                                      "-mprefer-vector-width=512"])):
        lib = tmp / f"mm{len(out)}_{K}_{M}.so"
        subprocess.run(["gcc", "-O3", "-march=native", "-ffp-contract=fast", "-shared", "-fPIC",
                        *flags, "-o", str(lib), str(src)], check=True)
        f = ctypes.CDLL(str(lib)).run
        f.restype = ctypes.c_double
        f.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_long] * 4
        out[name] = f
    return out


def best_of(fn, rounds: int = 5) -> float:
    return min(fn() for _ in range(rounds))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=20000)
    args = ap.parse_args()
    n = args.calls
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for arch, (B, K, M) in SIZES.items():
            x = (0.01 * rng.standard_normal((B, K))).astype(np.float32)
            w = (0.01 * rng.standard_normal((K, M))).astype(np.float32)
            z = np.zeros((B, M), np.float32)
            flop = 2.0 * B * K * M * n
            _calls(z, x, w, 1)

            def numba_run():
                t = time.thread_time()
                _calls(z, x, w, n)
                return time.thread_time() - t
            rows = {"numba kernels.mm_acc": best_of(numba_run)}
            if shutil.which("gcc"):
                for name, f in _c_variants(K, M, Path(tmp)).items():
                    ptr = [a.ctypes.data for a in (z, x, w)]
                    rows[name] = best_of(lambda f=f, ptr=ptr: f(*ptr, B, K, M, n))
            print(f"{arch} [{B}, {K}] x [{K}, {M}]: " + "; ".join(
                f"{name} {flop / t / 1e9:.0f} GFLOP/s" for name, t in rows.items()), flush=True)


if __name__ == "__main__":
    main()
