"""Genome-timesteps per second of the array path on a GPU (CuPy) against the numba CPU kernels.

    python -m benchmarks.gpu [--populations 512,16384] [--archs lstm,elman,ctrnn] [--xp cupy]
    python -m benchmarks.gpu --loop [--populations 16384] [--optimizers snes,es]

Workload: the foundation benchmark's (benchmarks/forward.py): I = 4, H = 32 (CTRNN 16
neurons, Euler), O = 2, B = 16 sequences, T = 200 steps, float32, at each population
size P. Columns: the numba kernels on every CPU core of this machine, the array path in
--xp (cupy on a GPU; numpy runs the same code on the CPU, to try the script without a
GPU), and torch.bmm over the population on the same GPU where torch has CUDA (the way
EvoTorch vectorizes; benchmarks/forward.py holds that reference). Every figure is the
median of --repeats after a warm-up call at full size (kernels compiled, memory pooled);
GPU timings end with a device synchronize; "+to host" also copies the outputs back, as the
cupy backend does for a problem's fitness. max|diff| compares the array path with the
numba kernels over the first 10 steps (random networks at H = 32 are chaotic later).

--loop times whole generations of the LSTM workload instead: ask, the forward pass of the
population, a fitness on the device (the last step's squared error), tell; with the
optimizer's population on the host (drawn there, uploaded each generation, as under
--population host) and on the device (xp=cupy, as under --population device). Seconds a
generation, median of --repeats after a warm-up generation, ending with a synchronize.
Without CuPy or a GPU the script says so in one line (--xp numpy runs it on the CPU).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import evornn
from evornn import arrays
from evornn.arch import array_ops
from evornn.arrays import array_module, population_forward_array
from evornn.optim.xp import host
from evornn.threads import threads

from .forward import torch_cell

I, O, B, T = 4, 2, 16, 200
HIDDEN = {"lstm": 32, "elman": 32, "ctrnn": 16, "gru": 32}


def timed(fn, repeats: int, sync=lambda: None) -> tuple[float, object]:
    """Median seconds of fn() over repeats, after one warm-up call."""
    y = fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        y = fn()
        sync()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), y


def torch_cuda(arch, net, G, X):
    """The torch.bmm population forward pass on the GPU, or None where torch has no CUDA."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available() or arch not in ("lstm", "elman"):
        return None
    dev = torch.device("cuda")
    Gt = torch.as_tensor(G, dtype=torch.float32, device=dev)
    bl = {b.name: Gt[:, b.offset:b.offset + b.size].reshape((len(G),) + b.shape) for b in net.layout}
    Xt = torch.as_tensor(X, device=dev)
    H = net.layers[0].n_hidden
    Wih, Whh = bl["W_ih"].transpose(1, 2).contiguous(), bl["W_hh"].transpose(1, 2).contiguous()
    b, Wo, bo = bl["b"][:, None], bl["W_out"].transpose(1, 2).contiguous(), bl["b_out"][:, None]

    def run():
        with torch.no_grad():
            h = torch.zeros(len(G), B, H, device=dev)
            c = torch.zeros_like(h)
            out = torch.empty(len(G), B, T, H, device=dev)
            for t in range(T):
                z = torch.baddbmm(b, Xt[:, t].expand(len(G), B, I), Wih) + torch.bmm(h, Whh)
                h, c = torch_cell(arch, z, c, H)
                out[:, :, t] = h
            return torch.baddbmm(bo, out.reshape(len(G), B * T, H), Wo)
    return run, torch.cuda.synchronize


def loop(xp, name: str, P: int, repeats: int, sync) -> None:
    """One line: seconds a generation of optimizer name at population P on the LSTM workload,
    population on the host against on the device."""
    net = evornn.Network("lstm", I, HIDDEN["lstm"], O, seed=1)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((B, T, I)).astype(np.float32)
    target = xp.asarray(rng.uniform(-1, 1, B).astype(np.float32))
    secs = {}
    for where in ("host", "device"):
        opt = evornn.optimizer(name, net.n_params, seed=0, popsize=P, sigma0=0.1, x0=net.genome,
                               xp=np if where == "host" else xp)

        def generation(opt=opt):
            G = opt.ask()
            Y = population_forward_array(net, G, X, xp)          # host genomes cross here
            opt.tell(G, host(-((Y[:, :, -1, 0] - target) ** 2).mean(1)))
        secs[where] = timed(generation, repeats, sync)[0]
        del opt, generation
        if hasattr(xp, "get_default_memory_pool"):
            xp.get_default_memory_pool().free_all_blocks()
    mb = P * net.n_params * 8 / 1e6
    print(f"{name:6} {P:6d} {net.n_params:6d} {mb:10.0f} {secs['host']:9.3f} {secs['device']:9.3f} "
          f"{secs['host'] / secs['device']:7.2f}x", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--populations", default=None, help="default 512,16384 (--loop: 16384)")
    ap.add_argument("--archs", default="lstm,elman,ctrnn")
    ap.add_argument("--xp", default="cupy", choices=["cupy", "numpy"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--no-fuse", action="store_true", help="one kernel per array operation")
    ap.add_argument("--loop", action="store_true", help="whole generations: the optimizer's "
                    "population on the host against on the device")
    ap.add_argument("--optimizers", default="snes", help="with --loop: snes, es or cmaes (xnes: "
                    "an eigendecomposition of 4,802 x 4,802 a generation)")
    args = ap.parse_args()
    array_ops.FUSE = not args.no_fuse
    try:
        xp = array_module(args.xp)
    except RuntimeError as e:
        raise SystemExit(f"error: {e} (--xp numpy runs this on the CPU)") from None
    sync = xp.cuda.Device().synchronize if args.xp == "cupy" else (lambda: None)
    dt = np.dtype(args.dtype)
    if args.xp == "cupy":
        props = xp.cuda.runtime.getDeviceProperties(0)
        print(f"GPU: {props['name'].decode()}; CuPy {xp.__version__}")
    if args.loop:
        print(f"LSTM I={I} H={HIDDEN['lstm']} O={O} B={B} T={T} float32 in {args.xp}; seconds a "
              f"generation (ask, forward, fitness, tell), median of {args.repeats}")
        print(f"{'opt':6} {'P':>6} {'D':>6} {'MB/gen':>10} {'host pop':>9} {'device':>9} {'speedup':>8}")
        for name in args.optimizers.split(","):
            for P in map(int, (args.populations or "16384").split(",")):
                loop(xp, name, P, args.repeats, sync)
        return
    print(f"I={I} O={O} B={B} T={T} {dt.name}; numba on {threads()} threads; "
          f"M genome-timesteps/s, median of {args.repeats}; outputs stay on the device")
    print(f"{'arch':6} {'P':>6} {'numba cpu':>10} {args.xp:>10} {'+to host':>9} {'torch gpu':>10} "
          f"{'x numba':>8} {'x torch':>8} {'max|diff| t<10':>14}")
    rng = np.random.default_rng(0)
    for arch in args.archs.split(","):
        net = evornn.Network(arch, I, HIDDEN[arch], O, seed=1)
        X = rng.standard_normal((B, T, I)).astype(dt)
        for P in map(int, (args.populations or "512,16384").split(",")):
            G = (net.genome + 0.5 * rng.standard_normal((P, net.n_params))).astype(dt)
            work = P * B * T / 1e6
            t_nb, y_nb = timed(lambda: evornn.population_forward(net, G, X), args.repeats)
            # genomes and inputs go to the device in every call, as under --backend cupy
            t_xp, y_xp = timed(lambda: population_forward_array(net, G, X, xp), args.repeats, sync)
            y_xp = arrays.to_host(y_xp)
            t_back = timed(lambda: arrays.to_host(population_forward_array(net, G, X, xp)), args.repeats)[0]
            diff = float(np.abs(y_xp[:, :, :10] - y_nb[:, :, :10]).max())
            ref = torch_cuda(arch, net, G, X)
            t_th = timed(ref[0], args.repeats, ref[1])[0] if ref else np.nan
            print(f"{arch:6} {P:6d} {work / t_nb:10.1f} {work / t_xp:10.1f} {work / t_back:9.1f} "
                  f"{work / t_th:10.1f} "
                  f"{t_nb / t_xp:7.2f}x {t_th / t_xp:7.2f}x {diff:14.1e}", flush=True)
            del y_xp
            if args.xp == "cupy":
                xp.get_default_memory_pool().free_all_blocks()


if __name__ == "__main__":
    main()
