"""Options declared once: the run options' table drives the run and compare flags, the config
file's keys and the defaults; every optimizer option has a meaning and a check; ``list
--options NAME`` prints them."""
import numpy as np
import pytest

import evornn
from benchmarks.tasks import build
from evornn import cli
from evornn.options import Option
from evornn.run_options import RUN_OPTIONS, from_toml, with_defaults

# options whose check needs the popsize, the topology or the bounds (in _check_options)
CHECKED_IN_CONTEXT = {("cosyne", "parents"), ("cosyne", "offspring"), ("ga", "elite"),
                      ("pso", "k"), ("xnes", "basis")}
ALL = list(evornn.optimizers(gradient=True))


def test_the_registry_holds_the_gradient_trainers_after_the_optimizers():
    assert ALL[-3:] == ["bptt", "crbp", "rtrl"] and ALL[:-3] == sorted(evornn.optimizers())
    assert evornn.optim.is_gradient("bptt") and not evornn.optim.is_gradient("cmaes")
    with pytest.raises(ValueError, match=r"bptt trains a network on a problem's data"):
        evornn.optimizer("bptt", 10)


@pytest.mark.parametrize("name", ALL)
def test_every_optimizer_option_has_a_meaning_and_a_check(name):
    declared = evornn.optim.declared_options(name)
    assert declared, name
    for key, o in declared.items():
        assert isinstance(o, Option) and o.help.strip(), (name, key)
        if (name, key) not in CHECKED_IN_CONTEXT:
            assert o.check is not None, (name, key)
            assert o.check(o.default) is None, (name, key)        # the default passes


@pytest.mark.parametrize("name", sorted(evornn.optimizers()))
def test_defaults_derive_from_the_declarations(name):
    opt = build(name, 6, seed=0)
    declared = evornn.optim.declared_options(name)
    assert opt.options == {k: o.default for k, o in declared.items()}


@pytest.mark.parametrize("options,message", [
    ({"T_min": -1.0}, "option T_min must be a positive number, got -1.0"),
    ({"T_min": "cold"}, "option T_min must be a positive number, got 'cold'"),
    ({"adapt": float("nan")}, "option adapt must be a finite number >= 0, got nan"),
    ({"adapt": -0.1}, "option adapt must be a finite number >= 0, got -0.1"),
])
def test_sa_rejects_a_bad_t_min_or_adapt(options, message):
    with pytest.raises(ValueError) as e:
        evornn.optimizer("sa", 4, **options)
    assert str(e.value) == message


def test_an_unknown_optimizer_option_suggests_the_closest():
    with pytest.raises(ValueError) as e:
        evornn.optimizer("snes", 4, eta_sigmaa=0.1)
    assert str(e.value) == ("unknown option(s) 'eta_sigmaa' (did you mean 'eta_sigma'?) for "
                            "optimizer 'snes'; valid options: eta_mu, eta_sigma, max_evaluations, "
                            "max_generations")


def test_list_options_of_an_optimizer(capsys):
    assert cli.main(["list", "--options", "sa"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "options of the optimizer sa (--option KEY=VALUE):"
    assert lines[3] == "  T0               None       starting temperature (None: the std of the " \
                       "first generation's fitness, or 1)"
    assert lines[5] == "  T_min            1e-12      the temperature never cools below this"
    assert [ln.split()[0] for ln in lines[1:]] == ["max_evaluations", "max_generations", "T0",
                                                   "cooling", "T_min", "target_accept", "adapt",
                                                   "restart_after"]


def test_list_options_of_an_architecture(capsys):
    assert cli.main(["list", "--options", "lstm"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "options of the architecture lstm (--arch-option KEY=VALUE):"
    assert out[1] == ("  readout      'linear'   what maps the features to the outputs: linear, tanh, "
                      "sigmoid, none")
    assert out[2].startswith("  forget_bias  0.0        initial bias of the forget gates")
    assert out[3].startswith("  input_bias   0.0        initial bias of the input gates")
    assert len(out) == 4


def test_list_options_of_an_unknown_name_is_one_line(capsys):
    assert cli.main(["list", "--options", "cmaas"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown optimizer or architecture 'cmaas' (did you mean "
                          "'cmaes'?); valid: cmaes, ") and len(err.splitlines()) == 1


def _value(o):
    return {int: "3", float: "0.5", str: "x", dict: "a=1", list: "x"}[o.type]


@pytest.mark.parametrize("command", ["run", "compare"])
def test_run_and_compare_flags_come_from_the_one_table(command):
    ap = cli.parser()
    head = ["run", "p"] if command == "run" else ["compare", "p", "--optimizers", "sa"]
    for name, o in RUN_OPTIONS.items():
        if not o.flag:
            continue
        argv = head + ([o.flag] if o.type is bool else [o.flag, _value(o)])
        if command == "compare" and not o.compare:
            if name not in ("optimizer", "seed"):    # abbreviations of --optimizers, --seeds
                with pytest.raises(SystemExit):      # unrecognized argument
                    ap.parse_args(argv)
            continue
        args = ap.parse_args(argv)
        got = getattr(args, name[:-1] if o.type is dict else name)
        want = {bool: True, dict: ["a=1"], list: ["x"]}.get(o.type) or o.type(_value(o))
        assert got == want, (command, name)
    assert {n for n, o in RUN_OPTIONS.items() if not o.compare} == \
        {"optimizer", "target", "seed", "address", "init", "quiet", "config"}


def test_every_config_key_is_a_declared_option():
    data = {o.key: {int: 3, float: 0.5, str: "x", bool: True, dict: {"a": 1}, list: ["x"]}[o.type]
            for o in RUN_OPTIONS.values() if o.key}
    got = from_toml(data, "f.toml")
    assert set(got) == set(RUN_OPTIONS) - {"config"}
    assert from_toml({"max_evals": 5, "sigma0": 2}, "f.toml") == {"max_evals": 5, "sigma0": 2.0}
    with pytest.raises(ValueError) as e:
        from_toml({"sigma": 1.0}, "f.toml")
    assert str(e.value).startswith("config file f.toml: unknown key 'sigma' (did you mean "
                                   "'sigma0'?); valid: problem, arch, hidden, optimizer, popsize")


def test_defaults_come_from_the_problem_then_the_table():
    from evornn.problem import get_problem
    prob = get_problem("dpnv")
    full = with_defaults({"hidden": 7}, prob)
    assert full["hidden"] == 7 and full["arch"] == prob.arch and full["popsize"] == prob.popsize
    assert full["sigma0"] == prob.sigma0 and full["max_evals"] == prob.max_evals
    assert (full["seed"], full["backend"], full["out"], full["quiet"]) == (0, "threads", "runs", False)
    assert np.isclose(with_defaults({"sigma0": 0.25}, prob)["sigma0"], 0.25)


def test_docs_hold_the_run_options_table():
    from pathlib import Path

    from evornn.run_options import markdown_table
    docs = (Path(__file__).resolve().parents[1] / "docs" / "options.md").read_text()
    assert markdown_table() in docs


def test_option_values_read_as_python_or_toml_words():
    from evornn.cli import parse_options
    got = parse_options(["diagonal=false", "a=True", "b=true", "c=None", "lr=0.003", "d=inf",
                         "opt=adam", "shape=(3, 4)"])
    assert got == {"diagonal": False, "a": True, "b": True, "c": None, "lr": 0.003,
                   "d": float("inf"), "opt": "adam", "shape": (3, 4)}
