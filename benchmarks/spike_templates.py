"""spike-templates: test accuracy against jitter, with a ridge-regression readout and with an
evolved readout of the same liquid (docs/problems.md has the table).

    python -m benchmarks.spike_templates [--jitter 0,2,4,8,16] [--evals 24000] [--optimizer snes]
        [--sigma0 0.01] [--seed 0] [--skip-evolved]

Per jitter: the problem (4 templates, 4 channels, 20 Hz, 200 ms, readout over the last
100 ms) and its 135-neuron lsm with network seed 0; the ridge readout fit on 500 presentations
(ridge 1e-2); the evolved one from the center (every weight 0), a fresh batch of 64
presentations a generation, for --evals evaluations; both scored on the 200 held-out
presentations. The evolved readout is the search's mean (snes, xnes), else its best sample
(checked every 25 generations: the run stops once it is solved).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import evornn
from evornn.problems import spike_templates as st


def evolve(prob, net, optimizer: str, sigma0: float, evals: int, seed: int) -> tuple[np.ndarray, int]:
    """The evolved readout after ``evals`` evaluations (or once solved): (genome, evaluations)."""
    opt = evornn.optimizer(optimizer, net.n_params, seed=seed, sigma0=sigma0,
                           bounds=net.bounds(), x0=np.zeros(net.n_params))
    def center():                  # the search's mean where it has one, else its best sample
        m = getattr(opt, "mean", None)
        return opt.best[0] if m is None else m

    while opt.evaluations < evals:
        X = opt.ask()
        opt.tell(X, prob.evaluate(net, X, (seed, opt.generation)))
        if opt.generation % 25 == 0 and prob.solved(net, center(), 0.0)[0]:
            break
    return center(), opt.evaluations


def main() -> None:
    """Print one line per jitter: ridge and evolved readouts' test accuracy."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jitter", default="0,2,4,8,16")
    ap.add_argument("--evals", type=int, default=24000)
    ap.add_argument("--optimizer", default="snes")
    ap.add_argument("--sigma0", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-evolved", action="store_true")
    a = ap.parse_args()
    for jitter in map(float, a.jitter.split(",")):
        prob = st.make(jitter=jitter)
        net = prob.network(seed=0)
        t0 = time.time()
        g = st.ridge_readout(net, jitter=jitter)
        ridge_acc = prob.solved(net, g, 0.0)[1]["test_accuracy"]
        line = f"jitter {jitter:4g} ms: ridge {ridge_acc:6.1%} ({time.time() - t0:4.1f} s)"
        if not a.skip_evolved:
            t0 = time.time()
            g, n = evolve(prob, net, a.optimizer, a.sigma0, a.evals, a.seed)
            acc = prob.solved(net, g, 0.0)[1]["test_accuracy"]
            line += f", evolved ({a.optimizer}) {acc:6.1%} after {n} evaluations ({time.time() - t0:4.0f} s)"
        print(line, flush=True)


if __name__ == "__main__":
    main()
