"""Genome-timesteps per second of population forward passes, against NumPy and torch.

    python -m benchmarks.forward [--repeats 5] [--archs lstm,elman,ctrnn]

Workload (the one peers were measured on): P = 512 genomes, I = 4, H = 32 (CTRNN: 16
neurons, Euler), O = 2, B = 16 sequences, T = 200 steps. The references run in the same
process: NumPy batched matmul over the population, and torch.bmm over the population
(the way EvoTorch vectorizes). Prints the median of the repeats, ratios against the
NumPy reference, and compile (first-call) time apart from the steady state.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import evornn

P, I, O, B, T = 512, 4, 2, 16, 200
HIDDEN = {"lstm": 32, "elman": 32, "ctrnn": 16}
TARGET32 = {"lstm": 5.0, "elman": 2.6, "ctrnn": 3.1}


def numpy_reference(arch, net, G, X):
    """outputs[P, B, T, O] with the population as a batch dimension of NumPy matmuls."""
    dt = X.dtype
    blocks = {b.name: G[:, b.offset:b.offset + b.size].reshape((len(G),) + b.shape).astype(dt)
              for b in net.layout}
    H = net.layers[0].n_hidden
    out = np.empty((len(G), T, X.shape[0], O), dt)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    h = np.zeros((len(G), X.shape[0], H), dt)
    if arch == "ctrnn":
        Wt, Wint = blocks["W"].transpose(0, 2, 1), blocks["W_in"].transpose(0, 2, 1)
        theta = blocks["theta"][:, None]
        inv_tau = 1 / np.clip(blocks["tau"], 0.5, 10.0)[:, None]
        o = sig(h + theta)
        for t in range(T):
            z = X[:, t] @ Wint + o @ Wt
            h += dt.type(0.1) * inv_tau * (z - h)
            o = sig(h + theta)
            out[:, t] = o[:, :, :O]
        return out.transpose(0, 2, 1, 3)
    Wih, Whh = blocks["W_ih"].transpose(0, 2, 1), blocks["W_hh"].transpose(0, 2, 1)
    b = blocks["b"][:, None]
    Wo, bo = blocks["W_out"].transpose(0, 2, 1), blocks["b_out"][:, None]
    c = np.zeros_like(h)
    for t in range(T):
        z = X[:, t] @ Wih + h @ Whh + b
        if arch == "lstm":
            i, f, g, o = sig(z[..., :H]), sig(z[..., H:2 * H]), np.tanh(z[..., 2 * H:3 * H]), \
                sig(z[..., 3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
        else:
            h = np.tanh(z)
        out[:, t] = h @ Wo + bo
    return out.transpose(0, 2, 1, 3)


def torch_cell(arch: str, z, c, H: int):
    """(h, c) after one LSTM or Elman step from the gate pre-activations z (torch tensors)."""
    import torch
    if arch != "lstm":
        return torch.tanh(z), c
    i, f, g, o = z.split(H, dim=2)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def torch_reference(arch, net, G, X):
    """The same with torch.bmm over the population (EvoTorch's vectorization)."""
    import torch
    dt = {np.float32: torch.float32, np.float64: torch.float64}[X.dtype.type]
    Gt = torch.from_numpy(G).to(dt)
    bl = {b.name: Gt[:, b.offset:b.offset + b.size].reshape((len(G),) + b.shape)
          for b in net.layout}
    Xt = torch.from_numpy(X).unsqueeze(0).expand(len(G), -1, -1, -1)   # P, B, T, I
    H = net.layers[0].n_hidden
    outs = []
    with torch.no_grad():
        h = torch.zeros(len(G), X.shape[0], H, dtype=dt)
        if arch == "ctrnn":
            Wt, Wint = bl["W"].transpose(1, 2), bl["W_in"].transpose(1, 2)
            theta = bl["theta"][:, None]
            inv_tau = 1 / bl["tau"].clamp(0.5, 10.0)[:, None]
            o = torch.sigmoid(h + theta)
            for t in range(T):
                z = torch.bmm(Xt[:, :, t], Wint) + torch.bmm(o, Wt)
                h = h + 0.1 * inv_tau * (z - h)
                o = torch.sigmoid(h + theta)
                outs.append(o[:, :, :O])
        else:
            Wih, Whh = bl["W_ih"].transpose(1, 2), bl["W_hh"].transpose(1, 2)
            b, Wo, bo = bl["b"][:, None], bl["W_out"].transpose(1, 2), bl["b_out"][:, None]
            c = torch.zeros_like(h)
            for t in range(T):
                h, c = torch_cell(arch, torch.baddbmm(b, Xt[:, :, t], Wih) + torch.bmm(h, Whh), c, H)
                outs.append(torch.baddbmm(bo, h, Wo))
    return torch.stack(outs, 2).numpy()


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        y = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--archs", default="lstm,elman,ctrnn")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args()
    from evornn.threads import threads
    try:
        import torch
        torch.set_num_threads(threads())
        have_torch = not args.no_torch
    except ImportError:
        have_torch = False
    print(f"P={P} I={I} O={O} B={B} T={T}; {threads()} worker threads; "
          "figures: M genome-timesteps/s (median of %d)" % args.repeats)
    print(f"{'arch':7} {'dtype':8} {'evornn':>8} {'numpy':>8} {'torch':>8} {'x numpy':>8} "
          f"{'x torch':>8} {'target':>7} {'compile s':>9} {'max|diff| t<10':>14}")
    rng = np.random.default_rng(0)
    for arch in args.archs.split(","):
        H = HIDDEN[arch]
        net = evornn.Network(arch, I, H, O, seed=1)
        G = net.genome + 0.5 * rng.standard_normal((P, net.n_params))
        for dname in args.dtypes.split(","):
            dt = np.dtype(dname)
            X = rng.standard_normal((B, T, I)).astype(dt)
            t0 = time.perf_counter()
            evornn.population_forward(net, G[:2], X[:, :2])
            compile_s = time.perf_counter() - t0
            work = P * B * T / 1e6
            t_ev, y = timed(lambda: evornn.population_forward(net, G, X), args.repeats)
            t_np, y_np = timed(lambda: numpy_reference(arch, net, G, X), max(1, args.repeats // 2))
            t_th = np.nan
            if have_torch:
                t_th, y_th = timed(lambda: torch_reference(arch, net, G, X), args.repeats)
            # over the first 10 steps: these random networks are chaotic at H = 32, so later
            # steps amplify the last bit of a different summation order to O(1)
            diff = float(np.abs(y[:, :, :10] - y_np[:, :, :10]).max())
            target = f"{TARGET32[arch]:.1f}x" if dt == np.float32 else "-"
            print(f"{arch:7} {dname:8} {work / t_ev:8.2f} {work / t_np:8.2f} {work / t_th:8.2f} "
                  f"{t_np / t_ev:7.2f}x {t_th / t_ev:7.2f}x {target:>7} {compile_s:9.2f} {diff:14.1e}",
                  flush=True)


if __name__ == "__main__":
    main()
