"""Shared test setup: the registries' names as fixtures, and tests run once per name.

A test that takes ``architecture_name``, ``optimizer_name`` or ``problem_name`` runs once
for every registered architecture, optimizer or built-in problem, so that one registered
later is tested at once; the session fixtures ``architectures``, ``optimizers`` and
``problems`` are the lists of names. Markers (declared in pyproject.toml) select tests:
``-m "not slow and not ray"`` for a quick run; the default run runs everything.
"""
from __future__ import annotations

import pytest

import evornn
from evornn.problem import builtin_problems


def _architectures() -> list[str]:
    return list(evornn.architectures())


def _optimizers() -> list[str]:
    return sorted(evornn.optimizers())


def _problems() -> list[str]:
    return sorted(builtin_problems())


EACH = {"architecture_name": _architectures, "optimizer_name": _optimizers, "problem_name": _problems}


def pytest_generate_tests(metafunc):
    for arg, names in EACH.items():
        if arg in metafunc.fixturenames:
            metafunc.parametrize(arg, names())


@pytest.fixture(scope="session")
def architectures() -> list[str]:
    """Every architecture's name, in registry order."""
    return _architectures()


@pytest.fixture(scope="session")
def optimizers() -> list[str]:
    """Every optimizer's name, sorted."""
    return _optimizers()


@pytest.fixture(scope="session")
def problems() -> list[str]:
    """Every built-in problem's name, sorted."""
    return _problems()
