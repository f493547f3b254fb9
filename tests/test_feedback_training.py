"""Gradient training on generative problems (mso-gen): the teacher_forcing schedule, warm-up,
noise on the fed-back values and the closed-loop gradient."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from evornn.bptt import GradientTrainer, teacher_forcing_at, weighted_loss  # noqa: E402
from evornn.problem import get_problem  # noqa: E402


@pytest.mark.parametrize("kwargs,message", [
    ({"anneal": -1}, "anneal must be an integer >= 0"),
    ({"warmup": 1.5}, "warmup must be an integer >= 0"),
    ({"feedback_noise": -0.1}, "feedback_noise must be a number >= 0"),
    ({"closed_loop": "yes"}, "closed_loop must be true or false"),
    ({"feedback_noise": 0.1, "problem": "parity"}, "feedback_noise applies to generative problems"),
    ({"anneal": 5, "window": 10}, "anneal runs whole sequences by BPTT"),
])
def test_bad_feedback_options_say_what_is_allowed(kwargs, message):
    kwargs = dict(kwargs)
    prob = get_problem(kwargs.pop("problem", "mso-gen"))
    with pytest.raises(ValueError, match=message):
        GradientTrainer("bptt", prob, prob.network(), **kwargs)


def test_the_teacher_forcing_schedule_falls_linearly_to_zero_and_stays():
    o = {"teacher_forcing": 0.8, "anneal": 10}
    assert [teacher_forcing_at(o, g) for g in (0, 5, 10, 11, 100)] == pytest.approx([0.8, 0.4, 0, 0, 0])
    assert teacher_forcing_at({"teacher_forcing": 0.8, "anneal": 0}, 100) == 0.8


def test_feedback_noise_is_seeded_and_has_its_std():
    prob = get_problem("mso-gen")
    tr = GradientTrainer("bptt", prob, prob.network(), feedback_noise=0.1)
    X = prob.batch(0)[0]
    a, b, c = tr._noisy(X, (0, 0, 0)), tr._noisy(X, (0, 0, 0)), tr._noisy(X, (0, 0, 1))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.std(a - X) == pytest.approx(0.1, rel=0.15)


def _loss_and_grad(prob, **options):
    tr = GradientTrainer("bptt", prob, prob.network(seed=3), **options)
    X, Y, W = (torch.as_tensor(a) for a in prob.batch(0))
    loss = weighted_loss(tr._sampled_forward(X, (0, 0, 0)), Y, W)
    tr.torch_opt.zero_grad()
    loss.backward()
    return float(loss.detach()), np.concatenate([p.grad.numpy().ravel() for p in tr.params])


def test_annealing_starts_teacher_forced_and_closed_loop_changes_only_the_gradient():
    """At generation 0 of an anneal from 1 every step is fed the true value: the step-by-step
    loss is the whole-sequence teacher-forced loss. Free-running after a warm-up, the
    closed-loop gradient differs from the detached one on the same outputs."""
    prob = get_problem("mso-gen")
    tr = GradientTrainer("bptt", prob, prob.network(seed=3))
    X, Y, W = (torch.as_tensor(a) for a in prob.batch(0))
    with torch.no_grad():
        forced = float(weighted_loss(tr.module(X), Y, W))
    assert _loss_and_grad(prob, anneal=10)[0] == pytest.approx(forced, rel=1e-12)
    free, g_free = _loss_and_grad(prob, teacher_forcing=0.0, warmup=100)
    loop, g_loop = _loss_and_grad(prob, teacher_forcing=0.0, warmup=100, closed_loop=True)
    assert loop == pytest.approx(free, rel=1e-12) and free != pytest.approx(forced, rel=1e-3)
    assert np.linalg.norm(g_loop - g_free) > 1e-3 * np.linalg.norm(g_free)
