"""Addition for an encoder-decoder: "123+45=" -> "168", digits as symbols.

The source is the two operands' decimal digits, most significant first, with '+' (symbol
10) between them, read on encoder steps; the decoder steps (the phase flag plays '=')
output the sum's digits, most significant first and with no leading zeros, then an end
symbol (output 10), one symbol a step. Inputs: the 11 source symbols, a start symbol, the
phase flag (13); outputs: the 10 digits and the end symbol (11). A decoder step is fed the
start symbol, then the previous target digit (teacher forcing). The end symbol makes the
answer's length the network's to say; a free-running answer is exactly right when its
digits and its end symbol are, so its decoding stops there.

``make(order="lsb")`` writes each operand and the answer least significant digit first
("123+45=" is read as "321+54=" and answered "861", then the end symbol): the same
problems (the same draws, the same held-out set), the carry now passed forward from one
digit to the next. Exact match is still the whole answer's.

A problem's size n is the number of digits of the longer operand (n = 1-3 trained,
tested to 6; 100 held-out problems of each size): it has exactly n digits, the other 1 to
n (uniform), either one first.
Fitness, success test (99% of held-out problems of the training sizes exactly right,
free-running; accuracy by size reported) and scheduled sampling as reverse-seq's
(problems/_seq2seq_tasks.py).
"""
from __future__ import annotations

import numpy as np

from evornn.problem import Problem

from . import _seq2seq_tasks as tasks

PLUS = END = 10
TRAIN, TEST = (1, 3), (1, 6)
ORDERS = ("msb", "lsb")


def number(rng: np.random.Generator, n: int) -> list[int]:
    """The digits of a uniform n-digit number (no leading zero unless n = 1)."""
    first = rng.integers(0 if n == 1 else 1, 10)
    return [int(first)] + rng.integers(0, 10, size=n - 1).tolist()


def source(rng: np.random.Generator, n: int) -> np.ndarray:
    """One problem of size n: the digits of a + b with '+' (10) between."""
    a, b = number(rng, n), number(rng, int(rng.integers(1, n + 1)))
    if rng.random() < 0.5:
        a, b = b, a
    return np.array(a + [PLUS] + b)


def target(src: np.ndarray) -> np.ndarray:
    """The sum's digits, most significant first, then the end symbol."""
    k = int(np.flatnonzero(src == PLUS)[0])
    total = int("".join(map(str, src[:k]))) + int("".join(map(str, src[k + 1:])))
    return np.array([int(d) for d in str(total)] + [END])


def flip(src: np.ndarray) -> np.ndarray:
    """The source with each operand's digits reversed (its other digit order; flip(flip(s)) == s)."""
    k = int(np.flatnonzero(src == PLUS)[0])
    return np.concatenate([src[:k][::-1], [PLUS], src[k + 1:][::-1]])


def lsb_source(rng: np.random.Generator, n: int) -> np.ndarray:
    """source(rng, n) with each operand least significant digit first ("123+45" as "321+54")."""
    return flip(source(rng, n))


def lsb_target(src: np.ndarray) -> np.ndarray:
    """The sum of an lsb source, least significant digit first, then the end symbol."""
    digits = target(flip(src))[:-1]
    return np.append(digits[::-1], END)


def parse(text: str) -> np.ndarray:
    """"123+45" (an '=' at the end is dropped) as source symbols."""
    body = text.rstrip("=")
    if body.count("+") != 1 or not all(part.isdigit() for part in body.split("+")):
        raise ValueError(f"addition-seq: a problem is two decimal numbers joined by '+', e.g. "
                         f"'123+45=', got {text!r}")
    return np.array([PLUS if ch == "+" else int(ch) for ch in body])


def show(symbols) -> str:
    """Output symbols as text: digits, the end symbol as '$'."""
    return "".join("$" if s == END else str(int(s)) for s in symbols)


TASK = tasks.Task("addition-seq", 11, 11, source, target,
                  "add two decimal numbers ('123+45=' -> '168', most significant digit first, "
                  "then an end symbol)")


def make(name: str = "addition-seq", train: tuple[int, int] = TRAIN, test: tuple[int, int] = TEST,
         order: str = "msb", **kw) -> Problem:
    """Addition with operands of up to ``train`` digits for fitness and held-out problems of
    every size in ``test``, operands and answer in digit ``order`` (msb: most significant
    first, lsb: least); the rest as problems/_seq2seq_tasks.make."""
    if order not in ORDERS:
        raise ValueError(f"{name}: order must be one of {', '.join(ORDERS)} (the digit order of "
                         f"operands and answer), got {order!r}")
    if order == "msb":
        t = tasks.Task(name, TASK.n_sym, TASK.n_out, source, target, TASK.what)
    else:
        t = tasks.Task(name, TASK.n_sym, TASK.n_out, lsb_source, lsb_target,
                       "add two decimal numbers, least significant digit first ('321+54=' -> '861' "
                       "for 123 + 45 = 168, then an end symbol)")
    # the longest source, 2 n + 1 symbols, each written into a slot of the attention memory
    kw.setdefault("max_source", 2 * test[1] + 1)
    kw.setdefault("per_length", 100)          # sizes are few: 300 held-out problems of 1-3 digits
    return tasks.make(t, train, test, seed0=17_970_101, **kw)


PROBLEMS = [make(), make("addition-seq-lsb", order="lsb")]
