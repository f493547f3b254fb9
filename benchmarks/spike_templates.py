"""spike-templates: test accuracy against jitter, with a ridge-regression readout and with an
evolved readout of the same liquid (docs/problems.md has the table).

    python -m benchmarks.spike_templates [--jitter 0,2,4,8,16] [--evals 24000] [--optimizer snes]
        [--sigma0 0.01] [--seed 0] [--skip-evolved] [--fitness problem|traces]

Per jitter: the problem (4 templates, 4 channels, 20 Hz, 200 ms, readout over the last
100 ms) and its 135-neuron lsm with network seed 0; the ridge readout fit on 500 presentations
(ridge 1e-2); the evolved one from the center (every weight 0), a fresh batch of 64
presentations a generation, for --evals evaluations; both scored on the 200 held-out
presentations. The evolved readout is the search's mean (snes, xnes), else its best sample
(checked every 25 generations: the run stops once it is solved). --fitness problem evolves on
the problem's own fitness (every step of the window, a fresh batch a generation); traces
evolves on the ridge readout's 500 training presentations, the liquid run once: the filtered
spike trains averaged over the window (centred: the search's vector is the readout of the
averages less their mean), and minus the mean squared error of the readout of those averages
(the test's class evidence) to the one-hot labels.
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


def trace_means(net, n: int, seed: int, jitter: float) -> tuple[np.ndarray, np.ndarray]:
    """The liquid's filtered spike trains averaged over the window [n, H], and the labels [n],
    of the n training presentations ridge_readout fits on."""
    lay = net.layers[0]
    opts = {k: v for k, v in lay.opts.items() if k != "readout"}
    traces = evornn.Network("lsm", net.n_in, lay.n_hidden, lay.n_hidden, seed=net.seed,
                            readout="none", **opts)
    X, labels, _, _ = st.draw(n, np.random.default_rng((seed, 1)), jitter=jitter)
    return traces.forward(X)[:, -100:].mean(1), labels


def evolve_on_traces(prob, net, optimizer: str, sigma0: float, evals: int, seed: int,
                     jitter: float) -> tuple[np.ndarray, int]:
    """As ``evolve``, with the fitness of the readout's window means on 500 fixed presentations.
    The search runs on the means less their average mu (the traces are all positive and move
    together: uncentred, a diagonal search crawls along the bias), a vector (W, c) meaning
    outputs W (m - mu) + c; the genome it stands for is W_out = W, b_out = c - W mu."""
    m, labels = trace_means(net, 500, 0, jitter)
    mu = m.mean(0)
    Y = np.eye(net.n_out)[labels]
    H, O = m.shape[1], net.n_out
    opt = evornn.optimizer(optimizer, net.n_params, seed=seed, sigma0=sigma0,
                           bounds=net.bounds(), x0=np.zeros(net.n_params))

    def genome(v):
        W = v[:O * H].reshape(O, H)
        return np.concatenate([v[:O * H], v[O * H:] - W @ mu])

    def center():
        c = getattr(opt, "mean", None)
        return genome(opt.best[0] if c is None else c)

    while opt.evaluations < evals:
        V = opt.ask()
        out = np.einsum("nh,pkh->pnk", m - mu, V[:, :O * H].reshape(len(V), O, H)) + V[:, None, O * H:]
        opt.tell(V, -((out - Y) ** 2).mean(axis=(1, 2)))
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
    ap.add_argument("--fitness", default="problem", choices=("problem", "traces"))
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
            if a.fitness == "traces":
                g, n = evolve_on_traces(prob, net, a.optimizer, a.sigma0, a.evals, a.seed, jitter)
            else:
                g, n = evolve(prob, net, a.optimizer, a.sigma0, a.evals, a.seed)
            acc = prob.solved(net, g, 0.0)[1]["test_accuracy"]
            line += f", evolved ({a.optimizer}) {acc:6.1%} after {n} evaluations ({time.time() - t0:4.0f} s)"
        print(line, flush=True)


if __name__ == "__main__":
    main()
