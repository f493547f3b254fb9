"""The trainer's batch option (a step per slice of the problem's batch, 1: online) and a
problem's own defaults for gradient runs (adding: the paper's kind of LSTM)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from evornn.bptt import GradientTrainer  # noqa: E402
from evornn.problem import Problem, get_problem  # noqa: E402
from evornn.problems import adding  # noqa: E402
from evornn.run import RunConfig, start  # noqa: E402
from evornn.run_options import with_defaults  # noqa: E402


def _trained(prob, net, **options) -> tuple[np.ndarray, GradientTrainer]:
    tr = GradientTrainer("bptt", prob, net, seed=2, updates=1, clip=None, **options)
    return tr.ask()[0], tr


def test_gradient_defaults_batch_one_steps_a_sequence_at_a_time():
    prob = adding.make(20, batch=20)
    net = prob.network("lstm", 2, seed=1)
    sgd = dict(method="sgd", momentum=0.0)
    g0 = net.genome
    whole, _ = _trained(prob, net, lr=20 * 1e-4, **sgd)
    online, _ = _trained(prob, net, lr=1e-4, batch=1, **sgd)
    # 20 small steps on one sequence each add up to one step on the batch's mean error
    # (to first order in the step: they differ by a hundredth of it)
    step = whole - g0
    assert np.linalg.norm(online - whole) < 0.01 * np.linalg.norm(step)
    # a slice as large as the batch is the batch: the same update to the last bit
    same, _ = _trained(prob, net, lr=0.01, batch=20)
    np.testing.assert_array_equal(same, _trained(prob, net, lr=0.01)[0])
    # Adam takes one step per slice: 20 sequences in slices of 6 are 4 steps
    _, tr = _trained(prob, net, lr=0.01, batch=6)
    assert {int(s["step"]) for s in tr.torch_opt.state_dict()["state"].values()} == {4}


@pytest.mark.parametrize("problem,options,message", [
    ("ctc-symbols", {"batch": 2}, "has its own loss, whose targets do not split"),
    ("parity", {"batch": 0}, "bptt: batch must be a positive integer or None"),
])
def test_gradient_defaults_bad_batch_is_one_line(problem, options, message):
    prob = get_problem(problem)
    with pytest.raises(ValueError, match=message):
        GradientTrainer("bptt", prob, prob.network(), **options)


def test_gradient_defaults_apply_to_gradient_runs_only():
    prob = get_problem("adding-100")
    run = with_defaults({"optimizer": "bptt"}, prob)
    assert (run["arch"], run["hidden"], run["max_evals"]) == ("lstm", 4, 11_000)
    assert run["options"] == {"batch": 10, "dtype": "float32"}
    assert run["arch_options"] == {"forget_bias": 5.0, "input_bias": -3.0}
    evo = with_defaults({}, prob)                  # evolution: the problem's own, unchanged
    assert (evo["arch"], evo["hidden"], evo["optimizer"]) == ("gru", 1, "cmaes")
    assert evo["options"] is None and evo["arch_options"] is None
    # what the run gives wins; another arch keeps the problem's size and no LSTM options
    mine = with_defaults({"optimizer": "bptt", "hidden": 2, "options": {"lr": 0.03, "batch": 1},
                          "arch_options": {"forget_bias": 2.0}}, prob)
    assert mine["hidden"] == 2 and mine["options"] == {"batch": 1, "dtype": "float32", "lr": 0.03}
    assert mine["arch_options"] == {"forget_bias": 2.0, "input_bias": -3.0}
    gru = with_defaults({"optimizer": "bptt", "arch": "gru"}, prob)
    assert (gru["arch"], gru["hidden"], gru["arch_options"]) == ("gru", 1, None)
    with pytest.raises(ValueError, match="gradient has unknown key.s. hidden; allowed: arch, "):
        Problem("p", "", 1, 1, evaluate=None, solved=None, gradient={"hidden": 4})


def test_gradient_defaults_solve_adding_100_within_the_papers_74000_sequences(tmp_path):
    prob = get_problem("adding-100")
    full = with_defaults({"optimizer": "bptt", "seed": 2}, prob)
    cfg = RunConfig(problem="adding-100", **{k: full[k] for k in (
        "arch", "hidden", "optimizer", "sigma0", "seed", "options", "arch_options")},
        popsize=None, max_evals=814)                               # 74 generations of 10 x 100 sequences
    _, summary = start(cfg, tmp_path, quiet=True)
    assert summary["solved"] and summary["test_accuracy"] >= 0.95
    # the sequences it trained on: 1,000 a generation (its evaluations, 11 a generation, also
    # count each generation's fitness evaluation)
    assert summary["training_sequences"] == 1_000 * summary["generations"] <= 10_000
    assert summary["evaluations"] == 11 * summary["generations"]
