"""Evaluations each optimizer needs on the optimizer tests' problems, over seeds 0..9.

    python -m benchmarks.optimizers [NAME ...]

Problems and targets are the optimizer tests' (benchmarks/tasks.py: 10-D sphere from x0 = 3,
10-D Rosenbrock from 0, delayed recall with a 29-gene Elman network); each run may use 3x
the test's budget. Prints median and max evaluations to the target and how many seeds got there.
"""
import sys

import numpy as np

import evornn

from .tasks import OPTIONS, RECURRENT, ROSEN, SPHERE, build, recall_task, rosenbrock, run_until, sphere


def main() -> None:
    fit_rnn, net = recall_task()
    print(f"{'optimizer':10} {'problem':11} {'target':>7} {'median':>8} {'max':>8} {'solved':>7}")
    for name in sys.argv[1:] or sorted(evornn.optimizers()):
        for prob, fn, spec, dim, x0 in (("sphere", sphere, SPHERE, 10, 3.0),
                                        ("rosenbrock", rosenbrock, ROSEN, 10, 0.0),
                                        ("recall", fit_rnn, RECURRENT, net.n_params, None)):
            target, budget = spec[name]
            ev = []
            for seed in range(10):
                o = build(name, dim, seed=seed,
                          x0=None if x0 is None else x0 * np.ones(dim),
                          **OPTIONS.get(name, {}))
                ok = run_until(o, fn, target, budget * 3)
                ev.append(o.evaluations if ok else np.inf)
            ev = np.array(ev)
            print(f"{name:10} {prob:11} {target:7g} {np.median(ev):8g} {ev.max():8g} "
                  f"{int(np.isfinite(ev).sum()):4d}/10", flush=True)


if __name__ == "__main__":
    main()
