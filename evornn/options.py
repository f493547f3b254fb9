"""Declared options: a default, a one-line meaning and a check side by side, and the one
"did you mean" every unknown name gets. A leaf module: every layer may import it."""
from __future__ import annotations

import difflib
from typing import Any, Callable, NamedTuple

import numpy as np


class Option(NamedTuple):
    """One option: its default, what it means in a line, and a check of a value.

    ``check(value)`` returns None for a valid value, else the end of a sentence that starts
    with the option's name and value ("must be a positive number").
    """

    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None


def did_you_mean(name, valid) -> str:
    """' (did you mean 'x'?)' for the closest of valid, or '' when none is close."""
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown(kind: str, name, valid) -> ValueError:
    """The error for a name that is none of valid: the closest match and the whole list."""
    return ValueError(f"unknown {kind} {name!r}{did_you_mean(name, valid)}; valid: {', '.join(valid)}")


def defaults(declared: dict[str, Option]) -> dict:
    """Option name -> default value."""
    return {k: o.default for k, o in declared.items()}


def problem(owner: str, declared: dict[str, Option], values: dict) -> str | None:
    """The first failed check among values, as one sentence, or None when all pass."""
    for k, o in declared.items():
        if o.check is not None and k in values:
            msg = o.check(values[k])
            if msg is not None:
                return f"{owner}: option {k}={values[k]!r} {msg}"
    return None


def check(owner: str, declared: dict[str, Option], values: dict) -> None:
    """Raise ValueError naming the first option of values that fails its check."""
    msg = problem(owner, declared, values)
    if msg is not None:
        raise ValueError(msg)


def describe(declared: dict[str, Option]) -> list[str]:
    """One line per option: name, default and meaning."""
    width = max((len(k) for k in declared), default=0)
    return [f"{k:<{width}}  {o.default!r:<10} {o.help}" for k, o in declared.items()]


# -- checks: each returns None or the end of a sentence ------------------------------------
def _number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def choice(*allowed) -> Callable:
    """One of allowed."""
    return lambda v: None if v in allowed else \
        f"is not allowed; choose one of {', '.join(map(repr, allowed))}"


def finite(v) -> str | None:
    """A finite number."""
    return None if _number(v) and np.isfinite(v) else "must be a finite number"


def positive(v) -> str | None:
    """A finite number > 0."""
    return None if _number(v) and np.isfinite(v) and v > 0 else "must be a positive number"


def non_negative(v) -> str | None:
    """A finite number >= 0."""
    return None if _number(v) and np.isfinite(v) and v >= 0 else "must be a non-negative number"


def boolean(v) -> str | None:
    """True or False."""
    return None if isinstance(v, (bool, np.bool_)) else "must be true or false"


def integer(minimum: int = 1, none: bool = False) -> Callable:
    """An integer >= minimum (or None, where none is allowed)."""
    def check_int(v):
        if none and v is None:
            return None
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum:
            return None
        return f"must be {'None or ' if none else ''}an integer >= {minimum}"
    return check_int


def between(lo: float, hi: float, closed: str = "[]", none: bool = False) -> Callable:
    """A number in the interval lo..hi; closed says which ends belong to it ('[]', '(]', ...)."""
    def check_range(v):
        if none and v is None:
            return None
        ok = _number(v) and np.isfinite(v) and (v >= lo if closed[0] == "[" else v > lo) \
            and (v <= hi if closed[1] == "]" else v < hi)
        return None if ok else f"must be {'None or ' if none else ''}in {closed[0]}{lo}, {hi}{closed[1]}"
    return check_range


def rule(ok: Callable[[Any], bool], text: str, got: bool = True) -> Callable:
    """A check from a test of the value and the end of the sentence it fails with (', got
    VALUE' appended when got); a test that raises (a string compared with a number) fails."""
    def check_rule(v):
        try:
            good = bool(ok(v))
        except (TypeError, ValueError):
            good = False
        return None if good else (f"{text}, got {v!r}" if got else text)
    return check_rule
