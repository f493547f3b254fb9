"""CTC loss throughput for a population: evornn.ctc against torch's ctc_loss on the same batch.

    python -m benchmarks.ctc [--popsize 512] [--repeats 5] [--dtype float64]

Workload: a ctc-symbols batch (B = 32 sequences of 2-6 labels, T = 36 frames, C = 6 classes,
input lengths 6-36), random outputs for P genomes: [P, B, T, C]. torch gets the same numbers
as one batch of P * B sequences ([T, P * B, C], each genome's labels repeated),
reduction='none', on as many threads as evornn's workers. Two rows: log-probabilities in
(both take them as they are), and raw outputs in (evornn log-softmaxes inside its kernel,
torch runs log_softmax first). Best of the repeats after a warm-up call, in wall time;
prints genome-sequences per second and the ratio.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from evornn.ctc import ctc_loss, log_softmax
from evornn.problems.ctc_symbols import draw
from evornn.threads import threads


def best_time(fn, repeats: int) -> float:
    """The fastest of `repeats` calls of fn, after one call to warm up."""
    fn()
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    """Print evornn's and torch's genome-sequences/s and their ratio."""
    import torch
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--popsize", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    a = ap.parse_args()
    P = a.popsize
    _, labels, n_labels, n_steps = draw(32, np.random.default_rng(0))
    B, T, C = len(labels), 36, 6
    x = np.random.default_rng(1).standard_normal((P, B, T, C)).astype(a.dtype)
    lp = log_softmax(x).astype(a.dtype)
    torch.set_num_threads(threads())
    tx = torch.from_numpy(np.ascontiguousarray(x.reshape(P * B, T, C).transpose(1, 0, 2)))
    tlp = torch.log_softmax(tx, -1)
    targets = torch.from_numpy(np.tile(labels, (P, 1)))
    il, ll = (torch.from_numpy(np.tile(v, P)) for v in (n_steps, n_labels))

    def torch_ctc(inp, logits):
        with torch.no_grad():
            return torch.nn.functional.ctc_loss(torch.log_softmax(inp, -1) if logits else inp,
                                                targets, il, ll, reduction="none")

    ours = ctc_loss(lp, labels, n_labels, n_steps)
    diff = np.abs(ours.reshape(-1) - torch_ctc(tlp, False).numpy()).max()
    print(f"P = {P}, B = {B}, T = {T}, C = {C}, {a.dtype}, {threads()} thread(s); "
          f"largest difference from torch {diff:.1e}")
    for what, mine, theirs, logits in (("log-probabilities", lp, tlp, False), ("raw outputs", x, tx, True)):
        t_ours = best_time(lambda: ctc_loss(mine, labels, n_labels, n_steps, logits=logits), a.repeats)
        t_torch = best_time(lambda: torch_ctc(theirs, logits), a.repeats)
        print(f"{what:>17}: evornn.ctc {P * B / t_ours:12,.0f} genome-sequences/s, torch ctc_loss "
              f"{P * B / t_torch:12,.0f}; evornn / torch = {t_torch / t_ours:.2f}")


if __name__ == "__main__":
    main()
