"""Gradient training on a problem's data: backpropagation through time (BPTT), real-time
recurrent learning (RTRL) or causal recursive backpropagation (CRBP, locally recurrent
networks) on the network's torch twin.

A trainer has the optimizers' ask/tell shape, so a run writes the same directory,
metrics, checkpoints and summary as an evolution run. One generation is ``updates``
optimizer steps, each on a fresh batch ``problem.batch((seed, generation, k))``; ask()
returns the trained genome, which the run loop evaluates with the problem's own fitness
and success test like any champion. ``evaluations`` counts passes over a batch: every
update (a forward and a backward pass) and every fitness evaluation, so a row of
metrics.csv compares with evolution's. The loss is the problem's weighted squared error, or
its own ``Problem.loss`` (ctc-symbols: torch's CTC loss), minus its fitness
(tests/test_problems.py checks that the two agree); a problem with ``Problem.resample``
(scheduled sampling) has its inputs remade from the module's own predictions first. With
option ``device_noise`` (under a device model) every update runs on the weights as
programmed onto fresh devices, w + d, and its step moves the ideal weights: w - u, not
w + d - u (noise injection; docs/memristive.md).
"""
from __future__ import annotations

import copy

import numpy as np

from .optim.base import is_gradient, optimizers
from .optim.gradient import FEEDBACK_OPTIONS, OPTIONS
from .options import defaults, did_you_mean

# the registry's gradient entries (evornn.optim.gradient declares them and their options)
GRADIENT_METHODS = {n: d for n, d in optimizers(gradient=True).items() if is_gradient(n)}
OPTION_DEFAULTS = defaults(OPTIONS)


def is_gradient_method(name: str) -> bool:
    """Whether name is a gradient method (bptt, rtrl, crbp) rather than an evolutionary optimizer."""
    return is_gradient(name)


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("gradient training needs PyTorch: pip install torch==2.13.0, then "
                          "pip install 'evornn[bptt]'") from None
    return torch


def check_options(name: str, options: dict) -> dict:
    """The trainer's options with defaults filled in; ValueError naming a bad one."""
    bad = sorted(set(options) - set(OPTIONS))
    if bad:
        hint = did_you_mean(bad[0], list(OPTIONS)) if len(bad) == 1 else ""
        raise ValueError(f"unknown option(s) {', '.join(map(repr, bad))}{hint} for {name}; valid "
                         f"options: {', '.join(OPTIONS)}")
    o = {**OPTION_DEFAULTS, **options}
    for key, opt in OPTIONS.items():          # each option's own check, as declared
        msg = opt.check(o[key])
        if msg is not None:
            raise ValueError(f"{name}: {key} {msg}")
    if o["online"] and name not in ("rtrl", "crbp"):
        raise ValueError("online updates are RTRL's and CRBP's (--optimizer rtrl or crbp); "
                         "bptt updates per window")
    if o["window"] is not None and name in ("rtrl", "crbp"):
        raise ValueError(f"{name} needs no truncation window: it carries its sensitivities forward")
    return o


def teacher_forcing_at(options: dict, generation: int) -> float:
    """The chance a step is fed the true value in this generation: teacher_forcing, falling
    linearly to 0 over ``anneal`` generations when anneal > 0."""
    tf, n = float(options["teacher_forcing"]), options["anneal"]
    return tf if not n else tf * max(0.0, 1.0 - generation / n)


def sampled(options: dict) -> bool:
    """Whether training runs step by step, mixing the network's own outputs into its inputs."""
    return options["teacher_forcing"] < 1 or options["anneal"] > 0


def weighted_loss(y, Y, W):
    """sum W (y - Y)^2: minus the problem's fitness when W is the batch's weights."""
    return (W * (y - Y) ** 2).sum()


def aux_loss(module):
    """The sum of the layers' auxiliary losses from the last forward call (a layer's own
    training signal beside the problem's: the history compressor's prediction head), or None."""
    parts = [m.aux_loss for m in getattr(module, "layers", [module])
             if getattr(m, "aux_loss", None) is not None]
    return sum(parts) if parts else None


def _with_aux(loss, module):
    aux = aux_loss(module)
    return loss if aux is None else loss + aux


class GradientTrainer:
    """BPTT, RTRL or CRBP on the problem's batches, behind ask/tell (one genome a generation)."""

    popsize = 1

    def __init__(self, name: str, prob, net, seed: int = 0, x0=None, device=None, **options):
        if not is_gradient(name):
            raise ValueError(f"unknown gradient method {name!r}; valid: {', '.join(GRADIENT_METHODS)}")
        if prob.batch is None:
            from .problem import builtin_problems
            have = sorted(n for n, p in builtin_problems().items() if p.batch is not None)
            raise ValueError(f"problem {prob.name!r} has no gradient form (no batch of inputs and "
                             f"targets): --optimizer {name} trains on {', '.join(have)}; evolution "
                             "runs on every problem")
        self.name, self.prob, self.seed = name, prob, int(seed)
        self.options = check_options(name, options)
        set_fb = [k for k in FEEDBACK_OPTIONS if self.options[k] != OPTION_DEFAULTS[k]]
        if set_fb and not prob.feedback:
            raise ValueError(f"{set_fb[0]} applies to generative problems, whose outputs are "
                             f"fed back as inputs; {prob.name!r} has none (mso-gen has)")
        stepwise = name in ("rtrl", "crbp")
        if sampled(self.options) and (stepwise or self.options["window"]):
            raise ValueError("teacher_forcing < 1 or anneal runs whole sequences by BPTT: no rtrl or "
                             "crbp, no window")
        if prob.loss is not None and self.options["batch"] is not None:
            raise ValueError(f"problem {prob.name!r} has its own loss, whose targets do not split "
                             "into smaller batches: leave the option batch out")
        if prob.loss is not None and (stepwise or self.options["window"]):
            raise ValueError(f"problem {prob.name!r} has its own loss over whole sequences: "
                             "--optimizer bptt without a window (no rtrl or crbp)")
        if self.options["device_noise"] and device is None:
            raise ValueError("device_noise trains on weights programmed onto simulated devices: "
                             "it needs a device model (--device memristive)")
        from .device import weight_mask
        self.device = (device, weight_mask(net)) if self.options["device_noise"] else None
        torch = _torch()
        self.net = copy.deepcopy(net)
        if x0 is not None:
            self.net.genome = np.asarray(x0, dtype=np.float64)
        from .twins.convert import stateful_parts
        self.module = self.net.to_torch()
        if self.options["dtype"] == "float32":
            self.module = self.module.float()
        if stepwise or self.options["window"] is not None:
            stateful_parts(self.module)         # a bidirectional network fails here, not later
        if name == "crbp":
            from .crbp import crbp_part
            crbp_part(self.module)              # a network without IIR synapses fails here
        self.dtype = getattr(torch, self.options["dtype"])
        self.params = [p for p in self.module.parameters() if p.requires_grad]
        o = self.options
        self.torch_opt = (torch.optim.Adam(self.params, lr=o["lr"]) if o["method"] == "adam" else
                          torch.optim.SGD(self.params, lr=o["lr"], momentum=o["momentum"]))
        self.lower, self.upper = net.bounds()
        self.generation = self.evaluations = self.failures = 0
        # training sequences (the paper's unit): the updates' batches, not the evaluations'
        self.sequences = self._pending_sequences = 0
        self.last_loss = np.nan
        self._best = (None, -np.inf)
        self._pending = None
        self._diverged = False

    # -- ask / tell ---------------------------------------------------------------------------
    def ask(self) -> np.ndarray:
        """Train for one generation; the trained genome as a [1, D] population."""
        if self._pending is None:
            torch = _torch()
            threads = torch.get_num_threads()
            # one thread: these networks are tiny, and torch's intra-op threads cost 20-40x
            # on a busy 2-core machine (21 ms an update against 955, measured)
            torch.set_num_threads(1)
            try:
                losses, self._pending_sequences = [], 0
                for k in range(self.options["updates"]):
                    X, Y, W = self.prob.batch((self.seed, self.generation, k))
                    self._pending_sequences += len(X)
                    losses.append(self._steps(X, Y, W, seed=(self.seed, self.generation, k)))
            finally:
                torch.set_num_threads(threads)
            self.last_loss = float(np.mean(losses))
            self._diverged = not np.isfinite(self.last_loss)
            self._pending = self.genome()[None]
        return self._pending.copy()

    def tell(self, X: np.ndarray, fitness) -> None:
        """Record the evaluated genome's fitness (the run loop's evaluation of ask())."""
        f = float(np.asarray(fitness, dtype=np.float64).reshape(-1)[0])
        if np.isfinite(f) and f > self._best[1]:
            self._best = (np.asarray(X, dtype=np.float64)[0].copy(), f)
        self.failures += int(not np.isfinite(f))
        self.evaluations += self.options["updates"] + 1
        self.sequences += self._pending_sequences
        self.generation += 1
        self._pending = None

    @property
    def best(self):
        """(genome, fitness) of the best evaluated genome so far."""
        return self._best

    def stop(self) -> list[str]:
        """Reasons to stop: a diverged loss (NaN or inf)."""
        return ["loss diverged (nan or inf): lower lr or clip"] if self._diverged else []

    def genome(self) -> np.ndarray:
        """The module's current weights as a genome, inside the network's bounds."""
        from .twins.convert import genome_from_module
        return np.clip(genome_from_module(self.module), self.lower, self.upper)

    # -- one update ---------------------------------------------------------------------------
    def _steps(self, X, Y, W, seed) -> float:
        """One batch of the problem: one update, or (option batch) one a slice of that many
        sequences, each slice's weights rescaled to sum to 1 (its own mean error, as an
        online learner sees one sequence); the loss is the batch's, weighted as drawn."""
        b = self.options["batch"]
        if b is None or b >= len(X):
            return self._update(X, Y, W, seed=seed)
        W = np.asarray(W)
        total = 0.0
        for i, s in enumerate(range(0, len(X), b)):
            share = float(W[s:s + b].sum())
            if share > 0:                         # a slice without weights teaches nothing
                total += share * self._update(X[s:s + b], Y[s:s + b], W[s:s + b] / share,
                                              seed=(*seed, i))
        return total

    def _update(self, X, Y, W, seed=(0,)) -> float:
        if self.device is None:
            return self._ideal_update(X, Y, W, seed)
        from .device import program
        from .twins.convert import genome_from_module, load_genome
        g = genome_from_module(self.module)
        rng = np.random.default_rng([*(int(s) for s in seed), 0x6E6F6973])
        delta = program(g[None], rng, *self.device)[0] - g
        load_genome(self.module, self.net, g + delta)
        try:
            return self._ideal_update(X, Y, W, seed)
        finally:       # the steps taken from w + d, moved back to w
            load_genome(self.module, self.net, genome_from_module(self.module) - delta)
            self._project()

    def _ideal_update(self, X, Y, W, seed=(0,)) -> float:
        torch = _torch()
        for part in self.module.modules():     # training noise (stack_rnn's) from this update's seed
            if hasattr(part, "seed_noise"):
                part.seed_noise(seed)
        if self.prob.resample is not None:
            X = self.prob.resample(np.asarray(X), self._no_grad_forward, seed)
        if self.options["feedback_noise"] > 0:
            X = self._noisy(np.asarray(X), seed)
        X, Y, W = (torch.as_tensor(np.asarray(a), dtype=self.dtype) for a in (X, Y, W))
        if self.prob.loss is not None:
            loss = _with_aux(self.prob.loss(self.module(X), Y, W), self.module)
            self._step(loss)
            self._project()
            return float(loss.detach())
        if sampled(self.options):
            loss = weighted_loss(self._sampled_forward(X, seed), Y, W)
            self._step(loss)
            self._project()
            return float(loss.detach())
        if self.name == "rtrl":
            from .rtrl import rtrl_step
            return rtrl_step(self.module, self.params, self.torch_opt, X, Y, W, self.options)
        if self.name == "crbp":
            from .crbp import crbp_step
            loss = crbp_step(self.module, self.params, self.torch_opt, X, Y, W, self.options)
            self._project()
            return loss
        from .twins.convert import get_state, set_state
        T = X.shape[1]
        window = self.options["window"] or T
        total = 0.0
        if window < T:
            set_state(self.module, None)
        for t0 in range(0, T, window):
            sl = slice(t0, t0 + window)
            loss = _with_aux(weighted_loss(self.module(X[:, sl]), Y[:, sl], W[:, sl]), self.module)
            total += float(loss.detach())
            if window < T:
                set_state(self.module, [_detach(h) for h in get_state(self.module)])
            if not bool(W[:, sl].any()):
                continue                          # nothing to learn in this window
            self._step(loss)
        if window < T:
            set_state(self.module, None)
        self._project()
        return total

    def _no_grad_forward(self, X: np.ndarray) -> np.ndarray:
        """The module's outputs [B, T, O] on X, as numbers (between updates the module
        starts from zeros; the problem's resample mixes these predictions into the inputs)."""
        torch = _torch()
        with torch.no_grad():
            return self.module(torch.as_tensor(X, dtype=self.dtype)).numpy().astype(np.float64)

    def _noisy(self, X: np.ndarray, seed) -> np.ndarray:
        """X with Gaussian noise (std feedback_noise, drawn from the update's seed) on the
        fed-back inputs: the teacher's values made as uncertain as the network's own."""
        X = X.copy()
        fb = self.prob.feedback
        rng = np.random.default_rng([*np.atleast_1d(seed), 1])    # a stream apart from the coins'
        X[..., :fb] += self.options["feedback_noise"] * rng.standard_normal(X[..., :fb].shape)
        return X

    def _sampled_forward(self, X, seed):
        """Outputs [B, T, O] with scheduled sampling (Bengio et al. 2015): at each step after
        the first ``warmup`` the feedback inputs are the teacher's with probability
        teacher_forcing (annealed), else the network's previous outputs, detached unless
        ``closed_loop`` (then BPTT runs through the fed-back outputs too)."""
        torch = _torch()
        from .twins.convert import get_state, set_state
        fb = self.prob.feedback
        B, T = X.shape[:2]
        coin = np.random.default_rng(seed).random((B, T)) < teacher_forcing_at(self.options,
                                                                                self.generation)
        coin[:, :self.options["warmup"]] = True
        keep = torch.as_tensor(coin[..., None])
        set_state(self.module, None)
        ys, prev = [], None
        try:
            for t in range(T):
                x = X[:, t:t + 1]
                if prev is not None:
                    x = torch.cat([torch.where(keep[:, t:t + 1], x[..., :fb], prev[:, None, :fb]),
                                   x[..., fb:]], 2)
                y = self.module(x)
                set_state(self.module, get_state(self.module))    # the graph runs on: full BPTT
                prev = y[:, 0] if self.options["closed_loop"] else y[:, 0].detach()
                ys.append(y)
        finally:
            set_state(self.module, None)
        return torch.cat(ys, 1)

    def _step(self, loss) -> None:
        torch = _torch()
        self.torch_opt.zero_grad()
        loss.backward()
        if self.options["clip"]:
            torch.nn.utils.clip_grad_norm_(self.params, self.options["clip"])
        self.torch_opt.step()

    def _project(self) -> None:
        """Keep the weights inside the network's bounds, as every optimizer does."""
        if np.all(np.isinf(self.lower)) and np.all(np.isinf(self.upper)):
            return
        from .twins.convert import genome_from_module, load_genome
        g = genome_from_module(self.module)
        inside = np.clip(g, self.lower, self.upper)
        if not np.array_equal(g, inside):
            load_genome(self.module, self.net, inside)

    # -- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything to continue bit-identically: weights, the torch optimizer's moments,
        counters, best (plain numpy and python values, picklable)."""
        return {"module": {k: v.detach().clone() for k, v in self.module.state_dict().items()},
                "torch_opt": copy.deepcopy(self.torch_opt.state_dict()),
                "generation": self.generation, "evaluations": self.evaluations,
                "sequences": self.sequences,
                "failures": self.failures, "best": (None if self._best[0] is None else
                                                    self._best[0].copy(), self._best[1]),
                "last_loss": self.last_loss, "diverged": self._diverged}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state_dict() (the module, optimizer state, counters and best)."""
        self.module.load_state_dict(state["module"])
        self.torch_opt.load_state_dict(state["torch_opt"])
        self.generation, self.evaluations = state["generation"], state["evaluations"]
        self.failures, self._best = state["failures"], state["best"]
        self.sequences = state.get("sequences", 0)      # 0 in checkpoints from before it was kept
        self.last_loss, self._diverged = state["last_loss"], state["diverged"]
        self._pending = None


def _detach(h):
    if h is None:
        return None
    if isinstance(h, tuple):
        return tuple(p.detach() for p in h)
    return h.detach()
