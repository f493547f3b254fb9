"""PixelRNN on binarized 8 x 8 digits: the two baselines' test NLL, the kernels' speed, and
samples drawn from a trained model.

    python -m benchmarks.pixelrnn baselines           # test NLL of the two baselines (nats)
    python -m benchmarks.pixelrnn speed [--repeats 3] # genome-images/s at P = 512
    python -m benchmarks.pixelrnn samples RUN_DIR --samples FILE.png [--n 36] [--seed 0]

Baselines, on the same fixed split as the digits-nll problem (1,500 training images, 297
test images): independent per-pixel Bernoulli with a Laplace-smoothed mean ((k + 1) /
(n + 2)), and a fully-visible logistic model (FVSBN: for every pixel a logistic regression on
the pixels before it in raster order, scikit-learn's LogisticRegression with L2 strength C;
a pixel constant in the training set gets the smoothed mean).

Speed workload: P = 512 genomes of pixelrnn H = 8 on B = 16 images of 8 x 8 (one step each),
float32 and float64; the numba kernels against the twin (torch, float64 as it trains, one
thread, each genome loaded into the module in turn) and the array form (NumPy batched over
the population) on the same genomes and images, measured in the same run.
"""
from __future__ import annotations

import argparse

import numpy as np

import evornn
from evornn.arrays import population_forward_array
from evornn.problems.digits_nll import load, nll

from .forward import timed

P, H, B = 512, 8, 16


def bernoulli_nll(train: np.ndarray, test: np.ndarray) -> float:
    """Test NLL (nats an image) of independent pixels with Laplace-smoothed means."""
    p = (train.sum(0) + 1.0) / (len(train) + 2.0)
    return float(nll(np.log(p) - np.log1p(-p), test).mean())


def fvsbn_nll(train: np.ndarray, test: np.ndarray, C: float = 1.0) -> tuple[float, float]:
    """(train, test) NLL of the fully-visible logistic model: pixel p from pixels 0..p-1."""
    from sklearn.linear_model import LogisticRegression
    sets = (train, test)
    logits = [np.zeros(a.shape) for a in sets]
    for p in range(train.shape[1]):
        y = train[:, p]
        if p == 0 or y.min() == y.max():
            q = (y.sum() + 1.0) / (len(y) + 2.0)
            for z in logits:
                z[:, p] = np.log(q) - np.log1p(-q)
            continue
        m = LogisticRegression(C=C, max_iter=2000).fit(train[:, :p], y)
        for z, a in zip(logits, sets):
            z[:, p] = m.decision_function(a[:, :p])
    return tuple(float(nll(z, a).mean()) for z, a in zip(logits, sets))


def baselines() -> None:
    train, test = load()
    print(f"{len(train)} training, {len(test)} test images of 64 binary pixels; NLL in nats an image")
    print(f"{'independent Bernoulli (Laplace)':38} train {bernoulli_nll(train, train):7.2f}  "
          f"test {bernoulli_nll(train, test):7.2f}")
    for C in (0.1, 1.0, 10.0):
        tr, te = fvsbn_nll(train, test, C)
        print(f"{f'fully-visible logistic, C = {C}':38} train {tr:7.2f}  test {te:7.2f}")


def _twin_forward(net, G, X) -> np.ndarray:
    import torch

    from evornn.twins.convert import load_genome
    torch.set_num_threads(1)
    m = net.to_torch()
    Xt = torch.from_numpy(X.astype(np.float64))
    out = []
    with torch.no_grad():
        for g in G:
            load_genome(m, net, g)
            out.append(m(Xt).numpy())
    return np.stack(out)


def speed(repeats: int) -> None:
    train, _ = load()
    X = train[:B, None]
    print(f"P={P} B={B} images of 8 x 8, H={H}; genome-images/s (thousands)")
    print(f"{'variant':9} {'dtype':8} {'numba':>8} {'twin':>8} {'x twin':>8} {'numpy':>8} "
          f"{'x numpy':>8} {'max|diff|':>10}")
    for variant in ("row", "diagonal"):
        net = evornn.Network("pixelrnn", 64, H, 64, variant=variant, seed=1)
        G64 = net.genome + 0.3 * np.random.default_rng(1).standard_normal((P, net.n_params))
        t_t, Yt = timed(lambda: _twin_forward(net, G64, X), 1)
        for dtype in ("float32", "float64"):
            G, Xd = G64.astype(dtype), X.astype(dtype)
            evornn.population_forward(net, G[:2], Xd)                    # compile
            t_e, Y = timed(lambda: evornn.population_forward(net, G, Xd), repeats)
            t_n, _ = timed(lambda: population_forward_array(net, G, Xd), repeats)
            rate = P * B / 1e3
            print(f"{variant:9} {dtype:8} {rate / t_e:8.1f} {rate / t_t:8.1f} {t_t / t_e:7.1f}x "
                  f"{rate / t_n:8.1f} {t_n / t_e:7.1f}x {float(np.abs(Y - Yt).max()):10.1e}")


def sample(net, n: int, seed: int) -> np.ndarray:
    """n images [n, 64] drawn pixel by pixel in raster order from the network's logits."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 1, 64))
    for p in range(64):
        y = net.forward(X)[:, 0, p]
        X[:, 0, p] = rng.random(n) < 1.0 / (1.0 + np.exp(-y))
    return X[:, 0]


def samples(run_dir: str, out: str, n: int, seed: int) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    net = evornn.load(run_dir)
    S = sample(net, n, seed)
    _, test = load()
    k = int(np.ceil(np.sqrt(n)))
    fig, axes = plt.subplots(k, 2 * k + 1, figsize=(2 * k + 1, k) if k > 3 else (7, 3))
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(n):
        axes[i // k, i % k].imshow(S[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        axes[i // k, k + 1 + i % k].imshow(test[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    axes[0, k // 2].set_title("samples", fontsize=9)
    axes[0, k + 1 + k // 2].set_title("test images", fontsize=9)
    fig.savefig(out, dpi=60, bbox_inches="tight")
    print(f"{n} samples of {run_dir} -> {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=("baselines", "speed", "samples"))
    ap.add_argument("run_dir", nargs="?")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--samples", help="the PNG the samples go to")
    ap.add_argument("--n", type=int, default=36)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.what == "baselines":
        baselines()
    elif args.what == "speed":
        speed(args.repeats)
    else:
        if not args.run_dir or not args.samples:
            ap.error("samples needs RUN_DIR and --samples FILE.png")
        samples(args.run_dir, args.samples, args.n, args.seed)


if __name__ == "__main__":
    main()
