"""Writes ``crucible_steps.jsonl``: multi-branch function tasks where the training methods'
mechanisms have something to act on.

``crucible-basic``'s solutions are one-liners, so a curriculum over a solution's conditional
statements has one stage, a passing program has no unexecuted code to mask, and a task has one
reference to choose from. This suite is built so that each of those is present:

- **Branches**: every reference is 6-30 lines, and most have two or more conditional statements
  (if/elif/for/while/try) below their first line, the start points of StepCoder's curriculum.
- **Code the tests never run**: many families validate input or handle a special case that the
  hidden tests never give (a negative count, an empty list, a bool among ints), so a passing
  program still has lines no test executes, which is what FGO masks.
- **Several references**: most families have a second reference of another shape (a ``while``
  for a ``for``, ``dict.get`` for an ``in`` test), shipped in ``Task.references``.
- **Errors that land on a line**: for some families a plausible wrong solution (``pitfall``) raises
  an IndexError, KeyError, TypeError or ZeroDivisionError on one line on a hidden test, the kind
  of failure line-level feedback points at; the unit tests run every pitfall and check the line.
- **Examples apart from tests**: the docstring's ``>>>`` example is never one of the hidden tests.

Split: a training family's variants 2, 7, 12 (constants the model never trains on) go to the
test split, and the families marked ``held_out`` go to the test split whole, so the held-out
score measures both new constants and skills never seen in training.

The families, their constants, their tests and the split were fixed before any benchmark was run
on the suite and are not to be tuned to make a method look better or worse; a change to them is a
new suite version and invalidates earlier results.

Expected values come from an ``oracle`` written apart from the reference bodies; the unit tests
run every reference against every hidden test in the sandbox. Regenerate after editing with
``python -m crucible.evaluation.data.build_crucible_steps``; a unit test fails while the committed
file differs from what this script renders.
"""

from __future__ import annotations

import itertools
import textwrap
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crucible.evaluation.data._render import (
    assert_tests,
    check_json,
    instantiate,
    prompt,
    write,
)
from crucible.evaluation.data._render import render as render_tasks
from crucible.evaluation.tasks import Example, Split, Task

OUTPUT = Path(__file__).with_name("crucible_steps.jsonl")
SOURCE = "crucible-steps"

Inputs = Sequence[Sequence[Any]]


@dataclass(frozen=True)
class Pitfall:
    """A plausible wrong body (a template like the references) that raises ``error`` on its
    ``line`` (1-based, in the body) on one of the hidden tests."""

    body: str
    error: str
    line: int


@dataclass(frozen=True)
class Family:
    """A task template. ``function``, ``doc``, ``bodies`` and the pitfall are ``str.format``
    templates filled with each variant's constants (``{{``/``}}`` for literal braces); ``tests``
    and ``example`` are called with the constants and return argument lists."""

    name: str
    function: str
    signature: str
    returns: str
    doc: str
    bodies: tuple[str, ...]
    oracle: Callable[..., Callable[..., Any]]
    tests: Callable[..., Inputs]
    example: Callable[..., Sequence[Any]]
    variants: Sequence[Mapping[str, Any]]
    held_out: bool = False
    pitfall: Pitfall | None = None


def _body(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def _ks(values: Sequence[int]) -> list[dict[str, Any]]:
    return [{"k": value} for value in values]


_BRACKETS = [
    {"left": "(", "right": ")", "tag": "parens"},
    {"left": "[", "right": "]", "tag": "brackets"},
    {"left": "{", "right": "}", "tag": "braces"},
    {"left": "<", "right": ">", "tag": "angles"},
]
_SEPARATORS = [
    {"sep": ",", "tag": "comma"},
    {"sep": ";", "tag": "semicolon"},
    {"sep": "|", "tag": "pipe"},
    {"sep": "/", "tag": "slash"},
    {"sep": "&", "tag": "ampersand"},
]
_BAR_CHARS = [
    {"c": "#", "tag": "hashes"},
    {"c": "*", "tag": "stars"},
    {"c": "=", "tag": "equals"},
    {"c": "+", "tag": "pluses"},
    {"c": "o", "tag": "rings"},
]
_FIZZ_PAIRS = [
    {"a": a, "b": b}
    for a, b in [(2, 3), (2, 5), (3, 4), (3, 5), (3, 7), (4, 5), (2, 7), (4, 7), (5, 6), (3, 8)]
] + [{"a": 5, "b": 7}]
_SENTENCES = [
    "the elephant and the hippopotamus met the elephant again",
    "a bb ccc dddd eeeee ffffff ggggggg hhhhhhhh",
]


# ----------------------------------------------------------------------------- oracles


def _runs_above(k: int) -> Callable[[list[int]], int]:
    return lambda xs: sum(1 for key, _ in itertools.groupby(xs, key=lambda x: x > k) if key)


def _longest_above(k: int) -> Callable[[list[int]], int]:
    return lambda xs: max(
        (len(list(group)) for key, group in itertools.groupby(xs, key=lambda x: x > k) if key),
        default=0,
    )


def _repeated_runs(k: int) -> Callable[[str], list[str]]:
    return lambda s: [ch for ch, group in itertools.groupby(s) if len(list(group)) >= k]


def _fizzbuzz(a: int, b: int) -> Callable[[int], list[str]]:
    def word(i: int) -> str:
        return ("Fizz" * (i % a == 0) + "Buzz" * (i % b == 0)) or str(i)

    return lambda n: [word(i) for i in range(1, n + 1)]


def _digit_steps(k: int) -> Callable[[int], int]:
    def steps(n: int) -> int:
        return 0 if n < k else 1 + steps(sum(map(int, str(n))))

    return steps


def _collatz(k: int) -> Callable[[int], int]:
    def steps(n: int) -> int:
        count = 0
        while n > 1 and count < k:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            count += 1
        return count

    return steps


def _balance(k: int) -> Callable[[list[int]], int]:
    def run(ops: list[int]) -> int:
        total = k
        for amount in ops:
            total = total + amount if total + amount >= 0 else total
        return total

    return run


def _scaled_total(k: int) -> Callable[[list[Any]], int]:
    def value(item: Any) -> int:
        if isinstance(item, str):
            return int(item) if item.isdigit() else 0
        return 0 if isinstance(item, bool) else int(item)

    return lambda items: k * sum(value(item) for item in items)


def _second_largest(k: int) -> Callable[[list[int]], int]:
    return lambda xs: sorted(set(xs))[-2] if len(set(xs)) >= 2 else k


def _depth(left: str, right: str, **_: str) -> Callable[[str], int]:
    def depth(s: str) -> int:
        levels = list(itertools.accumulate((ch == left) - (ch == right) for ch in s))
        if levels and (min(levels) < 0 or levels[-1] != 0):
            return -1
        return max(levels, default=0)

    return depth


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, n))


def _wrap(k: int) -> Callable[[list[str]], list[str]]:
    def wrap(words: list[str]) -> list[str]:
        lines: list[list[str]] = []
        for word in words:
            if lines and len(" ".join([*lines[-1], word])) <= k:
                lines[-1].append(word)
            else:
                lines.append([word])
        return [" ".join(line) for line in lines]

    return wrap


def _triangle(k: int) -> Callable[[int, int, int], str]:
    def kind(a: int, b: int, c: int) -> str:
        x, y, z = sorted([a, b, c])
        if x <= 0 or z > k or x + y <= z:
            return "invalid"
        return {1: "equilateral", 2: "isosceles", 3: "scalene"}[len({a, b, c})]

    return kind


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _shipping(k: int) -> Callable[[int], int]:
    return lambda w: 0 if w <= 0 else k + 2 * max(w - 5, 0) + 10 * (w > 20)


def _strong(k: int) -> Callable[[str], bool]:
    return lambda pw: len(pw) >= k and any(c.isdigit() for c in pw) and any(c.isupper() for c in pw)


def _group_by_initial(k: int) -> Callable[[list[str]], dict[str, list[str]]]:
    def group(words: list[str]) -> dict[str, list[str]]:
        kept = [w for w in words if len(w) >= k]
        initials = dict.fromkeys(w[0] for w in kept)  # first-seen order: a set's would vary
        return {initial: [w for w in kept if w[0] == initial] for initial in initials}

    return group


def _adjacent(k: int) -> Callable[[list[list[int]]], int]:
    def count(grid: list[list[int]]) -> int:
        cells = {(r, c) for r, row in enumerate(grid) for c, v in enumerate(row) if v == k}
        return sum(1 for r, c in cells if (r, c + 1) in cells or (r + 1, c) in cells)

    return count


def _to_base(k: int) -> Callable[[int], str]:
    def convert(n: int) -> str:
        digits = ""
        m = abs(n)
        while True:
            digits = "0123456789"[m % k] + digits
            m //= k
            if not m:
                return ("-" if n < 0 else "") + digits

    return convert


def _parse_pairs(sep: str, tag: str) -> Callable[[str], dict[str, str]]:
    return lambda text: dict(item.split("=", 1) for item in text.split(sep) if item and "=" in item)


def _bounded_stack(k: int) -> Callable[[list[str]], list[int]]:
    def run(ops: list[str]) -> list[int]:
        stack: list[int] = []
        for op in ops:
            if op == "pop":
                stack = stack[:-1]
            elif len(stack) < k:
                stack = [*stack, int(op[5:])]
        return stack

    return run


def _window_max(k: int) -> Callable[[list[int]], list[int]]:
    return lambda xs: [max(xs[i : i + k]) for i in range(len(xs) - k + 1)]


def _title_words(k: int) -> Callable[[str], str]:
    return lambda s: " ".join(
        w.capitalize() if i == 0 or len(w) > k else w.lower() for i, w in enumerate(s.split())
    )


def _pair_sum(k: int) -> Callable[[list[int]], list[int]]:
    def find(xs: list[int]) -> list[int]:
        pairs = [[i, j] for j in range(len(xs)) for i in range(j) if xs[i] + xs[j] == k]
        return pairs[0] if pairs else []

    return find


def _bars(c: str, tag: str) -> Callable[[list[int]], list[str]]:
    return lambda counts: ["?" if n < 0 else "-" if n == 0 else c * n for n in counts]


def _clock(k: int) -> Callable[[int], str]:
    def clock(minutes: int) -> str:
        if minutes < 0:
            return "invalid"
        hours, mins = divmod((k * 60 + minutes) % 1440, 60)
        return f"{hours:02d}:{mins:02d}"

    return clock


def _get_path(sep: str, tag: str) -> Callable[[dict[str, Any], str], Any]:
    def get(data: dict[str, Any], path: str) -> Any:
        current: Any = data
        for key in path.split(sep):
            if not isinstance(current, dict) or key not in current:
                return None
            current = current[key]
        return current

    return get


def _word_score(k: int) -> Callable[[str], int]:
    def score(word: str) -> int:
        if word and not word.isalpha():
            return -1
        vowels = sum(ch in "aeiou" for ch in word.lower())
        return vowels + k * (len(word) - vowels)

    return score


# ----------------------------------------------------------------------------- families

FAMILIES: tuple[Family, ...] = (
    Family(
        "grade",
        "grade_at_{k}",
        "score: int",
        "str",
        "Return 'invalid' if score is below 0 or above 100, 'pass' if it is at least {k}, "
        "else 'fail'.",
        (
            _body("""
                result = 'fail'
                if score < 0 or score > 100:
                    return 'invalid'
                if score >= {k}:
                    result = 'pass'
                return result
            """),
            _body("""
                valid = 0 <= score <= 100
                if not valid:
                    result = 'invalid'
                elif score >= {k}:
                    result = 'pass'
                else:
                    result = 'fail'
                return result
            """),
        ),
        lambda k: lambda s: "invalid" if not 0 <= s <= 100 else "pass" if s >= k else "fail",
        lambda k: [[k], [k - 1], [100], [0], [k + 7]],
        lambda k: [k + 3],
        _ks(range(40, 95, 5)),
    ),
    Family(
        "runs_above",
        "runs_above_{k}",
        "xs: list[int]",
        "int",
        "Return how many maximal runs of consecutive elements of xs are greater than {k}.",
        (
            _body("""
                runs = 0
                inside = False
                for x in xs:
                    if x > {k}:
                        if not inside:
                            runs += 1
                        inside = True
                    else:
                        inside = False
                return runs
            """),
            _body("""
                runs = 0
                previous = {k}
                for x in xs:
                    if x > {k} and previous <= {k}:
                        runs += 1
                    previous = x
                return runs
            """),
        ),
        _runs_above,
        lambda k: [
            [[]],
            [[k + 1, k + 2, k, k + 5]],
            [[k, k, k]],
            [[k + 1] * 3 + [k - 1] + [k + 1] * 2 + [k]],
        ],
        lambda k: [[k + 3, k - 2, k + 4]],
        _ks(range(0, 11)),
    ),
    Family(
        "average_or",
        "average_or_{k}",
        "xs: list[int]",
        "int",
        "Return the mean of xs rounded down, or {k} if xs is empty.",
        (
            _body("""
                total = 0
                count = 0
                for x in xs:
                    total += x
                    count += 1
                if count == 0:
                    return {k}
                return total // count
            """),
            _body("""
                if len(xs) == 0:
                    return {k}
                total = 0
                for x in xs:
                    total += x
                mean = total // len(xs)
                return mean
            """),
        ),
        lambda k: lambda xs: (sum(xs) - sum(xs) % len(xs)) // len(xs) if xs else k,
        lambda k: [[[1, 2, 3, 4]], [[]], [[k, k + 10]], [[7]], [[-3, 4]]],
        lambda k: [[2, 4, 9]],
        _ks(range(0, 11)),
        pitfall=Pitfall(
            _body("""
                total = 0
                for x in xs:
                    total += x
                return total // len(xs)
            """),
            "ZeroDivisionError",
            4,
        ),
    ),
    Family(
        "first_index_above",
        "first_index_above_{k}",
        "xs: list[int]",
        "int",
        "Return the index of the first element of xs greater than {k}, or -1 if there is none.",
        (
            _body("""
                found = -1
                if not xs:
                    return found
                for index, x in enumerate(xs):
                    if x > {k}:
                        found = index
                        break
                return found
            """),
            _body("""
                index = 0
                while index < len(xs):
                    if xs[index] > {k}:
                        return index
                    index += 1
                return -1
            """),
        ),
        lambda k: lambda xs: next((i for i, x in enumerate(xs) if x > k), -1),
        lambda k: [[[k, k + 1, k + 2]], [[k - 1, k - 2]], [[k + 5]], [[k, k, k, k + 1]]],
        lambda k: [[k - 3, k + 2, k + 9]],
        _ks(range(0, 11)),
    ),
    Family(
        "long_word_counts",
        "long_word_counts_{k}",
        "text: str",
        "dict[str, int]",
        "Return a dict mapping each space-separated word of text that has more than {k} "
        "letters to how many times it occurs.",
        (
            _body("""
                counts = {{}}
                for word in text.split():
                    if len(word) <= {k}:
                        continue
                    if word in counts:
                        counts[word] += 1
                    else:
                        counts[word] = 1
                return counts
            """),
            _body("""
                counts = {{}}
                words = text.split()
                for word in words:
                    if len(word) > {k}:
                        counts[word] = counts.get(word, 0) + 1
                return counts
            """),
        ),
        lambda k: lambda text: dict(Counter(w for w in text.split() if len(w) > k)),
        lambda k: [[""], [_SENTENCES[0]], [_SENTENCES[1]], [" ".join(["ab" * k + "c"] * 3)]],
        lambda k: ["one three three seventeen"],
        _ks(range(1, 12)),
        pitfall=Pitfall(
            _body("""
                counts = {{}}
                for word in text.split():
                    if len(word) > {k}:
                        counts[word] += 1
                return counts
            """),
            "KeyError",
            4,
        ),
    ),
    Family(
        "fizzbuzz_upto",
        "fizzbuzz_upto_{a}_{b}",
        "n: int",
        "list[str]",
        "Return the strings for 1 to n: 'Fizz' for multiples of {a}, 'Buzz' for multiples of "
        "{b}, 'FizzBuzz' for both, the number otherwise; an empty list if n is below 1.",
        (
            _body("""
                out = []
                if n < 1:
                    return out
                for i in range(1, n + 1):
                    if i % {a} == 0 and i % {b} == 0:
                        out.append('FizzBuzz')
                    elif i % {a} == 0:
                        out.append('Fizz')
                    elif i % {b} == 0:
                        out.append('Buzz')
                    else:
                        out.append(str(i))
                return out
            """),
            _body("""
                out = []
                for i in range(1, n + 1):
                    word = ''
                    if i % {a} == 0:
                        word += 'Fizz'
                    if i % {b} == 0:
                        word += 'Buzz'
                    if not word:
                        word = str(i)
                    out.append(word)
                return out
            """),
        ),
        _fizzbuzz,
        lambda a, b: [[a * b], [a * b + 2], [1], [b + 1]],
        lambda a, b: [b],
        _FIZZ_PAIRS,
    ),
    Family(
        "digit_sum_steps",
        "digit_sum_steps_{k}",
        "n: int",
        "int",
        "Return how many times the non-negative n must be replaced by the sum of its digits "
        "until it is less than {k}.",
        (
            _body("""
                steps = 0
                while n >= {k}:
                    total = 0
                    for digit in str(n):
                        total += int(digit)
                    n = total
                    steps += 1
                return steps
            """),
            _body("""
                if n < 0:
                    raise ValueError('n must not be negative')
                steps = 0
                while n >= {k}:
                    n = sum(int(d) for d in str(n))
                    steps += 1
                return steps
            """),
        ),
        _digit_steps,
        lambda k: [[0], [k], [99999], [k - 1], [987654321]],
        lambda k: [k * 7 + 3],
        _ks(range(10, 21)),
    ),
    Family(
        "collatz_steps",
        "collatz_steps_max_{k}",
        "n: int",
        "int",
        "Return how many Collatz steps (halve an even number, else triple it and add one) take "
        "n to 1, but at most {k}; 0 if n is below 1.",
        (
            _body("""
                steps = 0
                if n < 1:
                    return 0
                while n != 1 and steps < {k}:
                    if n % 2 == 0:
                        n //= 2
                    else:
                        n = 3 * n + 1
                    steps += 1
                return steps
            """),
            _body("""
                steps = 0
                while n > 1:
                    if steps == {k}:
                        break
                    n = n // 2 if n % 2 == 0 else 3 * n + 1
                    steps += 1
                return steps
            """),
        ),
        _collatz,
        lambda k: [[1], [6], [27], [16], [7]],
        lambda k: [3],
        _ks(range(5, 60, 5)),
    ),
    Family(
        "repeated_runs",
        "repeated_runs_{k}",
        "s: str",
        "list[str]",
        "Return, in order, the character of every run of at least {k} equal consecutive "
        "characters in s.",
        (
            _body("""
                result = []
                count = 0
                for i, ch in enumerate(s):
                    if i > 0 and ch == s[i - 1]:
                        count += 1
                    else:
                        count = 1
                    if count == {k}:
                        result.append(ch)
                return result
            """),
            _body("""
                result = []
                i = 0
                while i < len(s):
                    j = i
                    while j < len(s) and s[j] == s[i]:
                        j += 1
                    if j - i >= {k}:
                        result.append(s[i])
                    i = j
                return result
            """),
        ),
        _repeated_runs,
        lambda k: [
            [""],
            ["a" * k + "b" + "c" * (k + 1)],
            ["ab" * k],
            ["x" * (k - 1) + "y" * k + "x" * (2 * k)],
        ],
        lambda k: ["z" * (k + 2) + "q"],
        _ks(range(2, 9)),
    ),
    Family(
        "balance",
        "balance_from_{k}",
        "ops: list[int]",
        "int",
        "Start with {k} and add every amount of ops in order, skipping any amount that would "
        "make the total negative; return the total.",
        (
            _body("""
                balance = {k}
                for amount in ops:
                    if amount >= 0:
                        balance += amount
                    elif balance + amount >= 0:
                        balance += amount
                return balance
            """),
            _body("""
                balance = {k}
                for amount in ops:
                    new_balance = balance + amount
                    if new_balance < 0:
                        continue
                    balance = new_balance
                return balance
            """),
        ),
        _balance,
        lambda k: [[[]], [[5, -3, -100, 20]], [[-1]], [[k, -2 * k - 1, -k]]],
        lambda k: [[-5, 7, -20]],
        _ks(range(0, 110, 10)),
    ),
    Family(
        "scaled_total",
        "scaled_total_{k}",
        "items: list[int | str]",
        "int",
        "Return {k} times the sum of the integers in items and of the strings in items made "
        "only of digits; other items are ignored.",
        (
            _body("""
                total = 0
                for item in items:
                    if isinstance(item, bool):
                        continue
                    if isinstance(item, int):
                        total += item
                    elif isinstance(item, str) and item.isdigit():
                        total += int(item)
                return total * {k}
            """),
            _body("""
                total = 0
                for item in items:
                    if isinstance(item, str):
                        if not item.isdigit():
                            continue
                        item = int(item)
                    total += item * {k}
                return total
            """),
        ),
        _scaled_total,
        lambda k: [[[1, "2", "x", 3]], [["10", "a1", 5]], [[]], [[7]]],
        lambda k: [["4", 4, "four"]],
        _ks(range(2, 13)),
        pitfall=Pitfall(
            _body("""
                total = 0
                for item in items:
                    total += item * {k}
                return total
            """),
            "TypeError",
            3,
        ),
    ),
    Family(
        "top_names",
        "top_{k}_names",
        "scores: dict[str, int]",
        "list[str]",
        "Return the names with the {k} highest scores, highest first and equal scores in "
        "alphabetical order (every name if there are fewer).",
        (
            _body("""
                ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
                names = []
                for name, score in ranked:
                    if len(names) == {k}:
                        break
                    names.append(name)
                return names
            """),
            _body("""
                remaining = dict(scores)
                names = []
                while remaining and len(names) < {k}:
                    best = None
                    for name in sorted(remaining):
                        if best is None or remaining[name] > remaining[best]:
                            best = name
                    names.append(best)
                    del remaining[best]
                return names
            """),
        ),
        lambda k: lambda scores: sorted(scores, key=lambda n: (-scores[n], n))[:k],
        lambda k: [
            [{}],
            [{"ann": 3, "bob": 5, "cy": 5, "dee": 1, "eve": 9, "fay": 2}],
            [{"x": 1}],
            [{name: i % 4 for i, name in enumerate("abcdefghijkl")}],
        ],
        lambda k: [{"zed": 4, "amy": 4, "kim": 7}],
        _ks(range(1, 12)),
    ),
    Family(
        "second_largest",
        "second_largest_or_{k}",
        "xs: list[int]",
        "int",
        "Return the second largest distinct value of xs, or {k} if xs has fewer than two "
        "distinct values.",
        (
            _body("""
                largest = None
                second = None
                for x in xs:
                    if largest is None or x > largest:
                        if largest is not None:
                            second = largest
                        largest = x
                    elif x != largest and (second is None or x > second):
                        second = x
                if second is None:
                    return {k}
                return second
            """),
            _body("""
                distinct = []
                for x in sorted(xs, reverse=True):
                    if x not in distinct:
                        distinct.append(x)
                if len(distinct) < 2:
                    return {k}
                return distinct[1]
            """),
        ),
        _second_largest,
        lambda k: [[[3, 9, 9, 4]], [[]], [[5, 5]], [[-2, -8, 0]], [[1, 2, 3, 4, 5]]],
        lambda k: [[10, 20, 30]],
        _ks(range(0, 11)),
        pitfall=Pitfall(
            _body("""
                values = sorted(set(xs))
                return values[-2]
            """),
            "IndexError",
            2,
        ),
    ),
    Family(
        "nesting_depth",
        "depth_of_{tag}",
        "s: str",
        "int",
        "Return the deepest nesting of {left!r} ... {right!r} pairs in s, or -1 if they are "
        "unbalanced; other characters are ignored.",
        (
            _body("""
                depth = 0
                deepest = 0
                for ch in s:
                    if ch == {left!r}:
                        depth += 1
                        deepest = max(deepest, depth)
                    elif ch == {right!r}:
                        depth -= 1
                        if depth < 0:
                            return -1
                if depth != 0:
                    return -1
                return deepest
            """),
            _body("""
                depth = 0
                deepest = 0
                for ch in s:
                    if ch != {left!r} and ch != {right!r}:
                        continue
                    depth += 1 if ch == {left!r} else -1
                    if depth < 0:
                        break
                    deepest = max(deepest, depth)
                return deepest if depth == 0 else -1
            """),
        ),
        _depth,
        lambda left, right, tag: [
            [""],
            [f"{left}{left}x{right}{right}{left}{right}"],
            [f"{right}{left}"],
            [f"{left}{left}{right}"],
            [f"a{left}b{left}c{left}{right}{right}{right}"],
        ],
        lambda left, right, tag: [f"{left}{right}{left}{left}{right}{right}"],
        _BRACKETS,
    ),
    Family(
        "chunk_sums",
        "chunk_sums_{k}",
        "xs: list[int]",
        "list[int]",
        "Return the sums of the consecutive chunks of {k} elements of xs, in order; the last "
        "chunk may be shorter.",
        (
            _body("""
                sums = []
                current = 0
                for index, x in enumerate(xs):
                    current += x
                    if (index + 1) % {k} == 0:
                        sums.append(current)
                        current = 0
                if len(xs) % {k}:
                    sums.append(current)
                return sums
            """),
            _body("""
                sums = []
                start = 0
                while start < len(xs):
                    chunk = xs[start:start + {k}]
                    sums.append(sum(chunk))
                    start += {k}
                return sums
            """),
        ),
        lambda k: lambda xs: [sum(xs[i : i + k]) for i in range(0, len(xs), k)],
        lambda k: [[[]], [list(range(1, 2 * k + 2))], [[5]], [[1] * (k + 1)]],
        lambda k: [[2] * k],
        _ks(range(2, 13)),
    ),
    Family(
        "cart_total",
        "cart_total_{k}",
        "cart: list[str], prices: dict[str, int]",
        "int",
        "Return the total price of the items in cart; an item missing from prices costs {k}.",
        (
            _body("""
                total = 0
                for item in cart:
                    if item in prices:
                        total += prices[item]
                    else:
                        total += {k}
                return total
            """),
            _body("""
                total = 0
                for item in cart:
                    price = prices.get(item)
                    if price is None:
                        price = {k}
                    total += price
                return total
            """),
        ),
        lambda k: lambda cart, prices: sum(prices.get(item, k) for item in cart),
        lambda k: [
            [[], {}],
            [["apple", "pear", "apple"], {"apple": 3, "pear": 5}],
            [["fig"], {"apple": 2}],
            [["a", "b", "c"], {"b": 10}],
        ],
        lambda k: [["kiwi", "apple"], {"kiwi": 4}],
        _ks(range(1, 12)),
        pitfall=Pitfall(
            _body("""
                total = 0
                for item in cart:
                    total += prices[item]
                return total
            """),
            "KeyError",
            3,
        ),
    ),
    Family(
        "count_primes_from",
        "count_primes_from_{k}",
        "n: int",
        "int",
        "Return how many primes p satisfy {k} <= p <= n.",
        (
            _body("""
                count = 0
                for m in range(max({k}, 2), n + 1):
                    is_prime = True
                    for d in range(2, int(m ** 0.5) + 1):
                        if m % d == 0:
                            is_prime = False
                            break
                    if is_prime:
                        count += 1
                return count
            """),
            _body("""
                count = 0
                m = {k}
                while m <= n:
                    d = 2
                    while d * d <= m and m % d:
                        d += 1
                    if m > 1 and d * d > m:
                        count += 1
                    m += 1
                return count
            """),
        ),
        lambda k: lambda n: sum(1 for p in range(k, n + 1) if _is_prime(p)),
        lambda k: [[1], [30], [k], [100]],
        lambda k: [50],
        _ks(range(2, 13)),
    ),
    Family(
        "wrap_words",
        "wrap_{k}",
        "words: list[str]",
        "list[str]",
        "Return the words packed greedily into lines of at most {k} characters, one space "
        "between words; a longer word gets a line of its own.",
        (
            _body("""
                lines = []
                current = ''
                for word in words:
                    if not current:
                        current = word
                    elif len(current) + 1 + len(word) <= {k}:
                        current += ' ' + word
                    else:
                        lines.append(current)
                        current = word
                if current:
                    lines.append(current)
                return lines
            """),
            _body("""
                lines = []
                for word in words:
                    if lines and len(lines[-1]) + 1 + len(word) <= {k}:
                        lines[-1] += ' ' + word
                    else:
                        lines.append(word)
                return lines
            """),
        ),
        _wrap,
        lambda k: [
            [[]],
            [["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]],
            [["a" * (k + 3), "b"]],
            [["hi"] * 10],
        ],
        lambda k: [["one", "two", "three", "four"]],
        _ks(range(8, 19)),
    ),
    Family(
        "triangle_kind",
        "triangle_kind_{k}",
        "a: int, b: int, c: int",
        "str",
        "Return 'invalid' unless a, b and c are positive, at most {k} and can be the sides of "
        "a triangle; else 'equilateral', 'isosceles' or 'scalene'.",
        (
            _body("""
                sides = sorted([a, b, c])
                if sides[0] <= 0 or sides[2] > {k}:
                    return 'invalid'
                if sides[0] + sides[1] <= sides[2]:
                    return 'invalid'
                if a == b == c:
                    return 'equilateral'
                if a == b or b == c or a == c:
                    return 'isosceles'
                return 'scalene'
            """),
            _body("""
                if min(a, b, c) <= 0 or max(a, b, c) > {k}:
                    return 'invalid'
                longest = max(a, b, c)
                if a + b + c - longest <= longest:
                    return 'invalid'
                distinct = len({{a, b, c}})
                if distinct == 1:
                    return 'equilateral'
                return 'isosceles' if distinct == 2 else 'scalene'
            """),
        ),
        _triangle,
        lambda k: [[3, 3, 3], [3, 4, 5], [2, 2, 3], [1, 2, 3], [5, 3, 5]],
        lambda k: [4, 4, 4],
        _ks(range(10, 120, 10)),
        held_out=True,
    ),
    Family(
        "leap_years",
        "leap_years_from_{k}",
        "end: int",
        "int",
        "Return how many leap years there are from {k} to end, both included.",
        (
            _body("""
                count = 0
                year = {k}
                while year <= end:
                    if year % 400 == 0:
                        count += 1
                    elif year % 4 == 0 and year % 100 != 0:
                        count += 1
                    year += 1
                return count
            """),
            _body("""
                count = 0
                for year in range({k}, end + 1):
                    if year % 4 != 0:
                        continue
                    if year % 100 == 0 and year % 400 != 0:
                        continue
                    count += 1
                return count
            """),
        ),
        lambda k: lambda end: sum(1 for year in range(k, end + 1) if _is_leap(year)),
        lambda k: [[k - 1], [2000], [2024], [k + 3]],
        lambda k: [2100],
        _ks(range(1890, 2000, 10)),
    ),
    Family(
        "shipping",
        "shipping_{k}",
        "weight: int",
        "int",
        "Return the cost of shipping a parcel: 0 if weight is not positive, else {k} plus 2 "
        "per unit of weight over 5, plus 10 more if weight is over 20.",
        (
            _body("""
                cost = {k}
                if weight <= 0:
                    return 0
                if weight > 5:
                    cost += 2 * (weight - 5)
                if weight > 20:
                    cost += 10
                return cost
            """),
            _body("""
                if weight <= 0:
                    return 0
                extra = 0
                if weight > 5:
                    extra = 2 * (weight - 5)
                if weight > 20:
                    extra += 10
                return {k} + extra
            """),
        ),
        _shipping,
        lambda k: [[1], [6], [21], [5], [40]],
        lambda k: [10],
        _ks(range(3, 14)),
    ),
    Family(
        "merge_first",
        "merge_first_{k}",
        "xs: list[int], ys: list[int]",
        "list[int]",
        "Return the {k} smallest elements of the sorted lists xs and ys together, in order "
        "(all of them if there are fewer).",
        (
            _body("""
                merged = []
                i = 0
                j = 0
                while len(merged) < {k} and (i < len(xs) or j < len(ys)):
                    if j >= len(ys) or (i < len(xs) and xs[i] <= ys[j]):
                        merged.append(xs[i])
                        i += 1
                    else:
                        merged.append(ys[j])
                        j += 1
                return merged
            """),
            _body("""
                merged = sorted(xs + ys)
                result = []
                for value in merged:
                    if len(result) >= {k}:
                        break
                    result.append(value)
                return result
            """),
        ),
        lambda k: lambda xs, ys: sorted([*xs, *ys])[:k],
        lambda k: [[[], []], [[1, 4, 9], [2, 3, 10, 11]], [[5], []], [[1, 1, 2], [1, 3]]],
        lambda k: [[0, 7], [6]],
        _ks(range(1, 12)),
    ),
    Family(
        "longest_streak",
        "longest_streak_above_{k}",
        "xs: list[int]",
        "int",
        "Return the length of the longest run of consecutive elements of xs greater than {k}.",
        (
            _body("""
                best = 0
                current = 0
                for x in xs:
                    if x > {k}:
                        current += 1
                        if current > best:
                            best = current
                    else:
                        current = 0
                return best
            """),
            _body("""
                best = 0
                start = -1
                for index, x in enumerate(xs):
                    if x <= {k}:
                        start = index
                    elif index - start > best:
                        best = index - start
                return best
            """),
        ),
        _longest_above,
        lambda k: [[[]], [[k + 1, k, k + 2, k + 3, k + 9, k - 1]], [[k] * 4], [[k + 1] * 3]],
        lambda k: [[k + 5, k + 5, k]],
        _ks(range(0, 11)),
    ),
    Family(
        "strong_password",
        "strong_password_{k}",
        "pw: str",
        "bool",
        "Return True if pw has at least {k} characters, a digit and an upper-case letter.",
        (
            _body("""
                if len(pw) < {k}:
                    return False
                has_digit = False
                has_upper = False
                for ch in pw:
                    if ch.isdigit():
                        has_digit = True
                    elif ch.isupper():
                        has_upper = True
                return has_digit and has_upper
            """),
            _body("""
                if len(pw) < {k}:
                    return False
                digits = [ch for ch in pw if ch.isdigit()]
                uppers = [ch for ch in pw if ch.isupper()]
                if not digits:
                    return False
                if not uppers:
                    return False
                return True
            """),
        ),
        _strong,
        lambda k: [["short1A"], ["a" * k + "1B"], ["A" * (k + 1)], ["x1" * k]],
        lambda k: ["Passw0rd" + "x" * k],
        _ks(range(6, 17)),
    ),
    Family(
        "group_by_initial",
        "group_by_initial_{k}",
        "words: list[str]",
        "dict[str, list[str]]",
        "Return the words of at least {k} letters grouped in a dict by their first letter, "
        "each group in the order of words.",
        (
            _body("""
                groups = {{}}
                for word in words:
                    if len(word) < {k}:
                        continue
                    initial = word[0]
                    if initial not in groups:
                        groups[initial] = []
                    groups[initial].append(word)
                return groups
            """),
            _body("""
                groups = {{}}
                if not words:
                    return groups
                for word in words:
                    if len(word) >= {k}:
                        groups.setdefault(word[0], []).append(word)
                return groups
            """),
        ),
        _group_by_initial,
        lambda k: [
            [[]],
            [["apple", "avocado", "banana", "blueberry", "cherry", "kiwi", "apricot"]],
            [["a", "bb", "ccc"]],
            [["x" * k, "xy" * k, "y"]],
        ],
        lambda k: [["dog", "deer", "duckling", "cat"]],
        _ks(range(1, 12)),
        pitfall=Pitfall(
            _body("""
                groups = {{}}
                for word in words:
                    if len(word) >= {k}:
                        groups[word[0]].append(word)
                return groups
            """),
            "KeyError",
            4,
        ),
    ),
    Family(
        "adjacent_cells",
        "adjacent_{k}s",
        "grid: list[list[int]]",
        "int",
        "Return how many cells of grid hold {k} and have a right or lower neighbour that also "
        "holds {k}.",
        (
            _body("""
                count = 0
                for r in range(len(grid)):
                    for c in range(len(grid[r])):
                        if grid[r][c] != {k}:
                            continue
                        right = c + 1 < len(grid[r]) and grid[r][c + 1] == {k}
                        down = r + 1 < len(grid) and grid[r + 1][c] == {k}
                        if right or down:
                            count += 1
                return count
            """),
            _body("""
                count = 0
                rows = len(grid)
                for r in range(rows):
                    for c in range(len(grid[r])):
                        if grid[r][c] != {k}:
                            continue
                        if c + 1 < len(grid[r]) and grid[r][c + 1] == {k}:
                            count += 1
                        elif r + 1 < rows and grid[r + 1][c] == {k}:
                            count += 1
                return count
            """),
        ),
        _adjacent,
        lambda k: [
            [[[k]]],
            [[[k, k + 1, k], [k, k, k + 1]]],
            [[]],
            [[[k], [k], [k + 1]]],
        ],
        lambda k: [[[k, k + 2], [k + 2, k]]],
        _ks(range(0, 11)),
        pitfall=Pitfall(
            _body("""
                count = 0
                for r in range(len(grid)):
                    for c in range(len(grid[r])):
                        if grid[r][c] == {k} and (grid[r][c + 1] == {k} or grid[r + 1][c] == {k}):
                            count += 1
                return count
            """),
            "IndexError",
            4,
        ),
    ),
    Family(
        "to_base",
        "to_base_{k}",
        "n: int",
        "str",
        "Return n written in base {k}, with a '-' in front if n is negative.",
        (
            _body("""
                if n == 0:
                    return '0'
                sign = ''
                if n < 0:
                    sign = '-'
                    n = -n
                digits = ''
                while n > 0:
                    digits = str(n % {k}) + digits
                    n //= {k}
                return sign + digits
            """),
            _body("""
                digits = []
                negative = n < 0
                n = abs(n)
                while True:
                    digits.append(str(n % {k}))
                    n //= {k}
                    if n == 0:
                        break
                if negative:
                    digits.append('-')
                return ''.join(reversed(digits))
            """),
        ),
        _to_base,
        lambda k: [[0], [k], [255], [k * k - 1], [1]],
        lambda k: [100],
        _ks(range(2, 11)),
        held_out=True,
    ),
    Family(
        "parse_pairs",
        "parse_{tag}_pairs",
        "text: str",
        "dict[str, str]",
        "Return a dict of the key=value items of text, which are separated by {sep!r}; empty "
        "items and items without '=' are skipped, and a later key wins.",
        (
            _body("""
                result = {{}}
                for item in text.split({sep!r}):
                    if not item:
                        continue
                    if '=' not in item:
                        continue
                    key, value = item.split('=', 1)
                    result[key] = value
                return result
            """),
            _body("""
                result = {{}}
                items = text.split({sep!r})
                for item in items:
                    key, eq, value = item.partition('=')
                    if eq:
                        result[key] = value
                return result
            """),
        ),
        _parse_pairs,
        lambda sep, tag: [
            [""],
            [f"a=1{sep}b=2"],
            [f"x=1{sep}{sep}junk{sep}y=a=b"],
            [f"k=v{sep}z=9{sep}k=w"],
        ],
        lambda sep, tag: [f"p=3{sep}q=4"],
        _SEPARATORS,
    ),
    Family(
        "bounded_stack",
        "bounded_stack_{k}",
        "ops: list[str]",
        "list[int]",
        "Run the operations 'push N' and 'pop' in ops on an empty stack that holds at most {k} "
        "items; a push onto a full stack and a pop from an empty one are ignored. Return the "
        "stack, bottom first.",
        (
            _body("""
                stack = []
                for op in ops:
                    parts = op.split()
                    if parts[0] == 'push':
                        if len(stack) < {k}:
                            stack.append(int(parts[1]))
                    elif parts[0] == 'pop':
                        if stack:
                            stack.pop()
                return stack
            """),
            _body("""
                stack = []
                for op in ops:
                    name, _, arg = op.partition(' ')
                    if name == 'pop' and stack:
                        stack.pop()
                    if name == 'push' and len(stack) < {k}:
                        stack.append(int(arg))
                return stack
            """),
        ),
        _bounded_stack,
        lambda k: [
            [[]],
            [["push 1", "push 2", "pop", "push 3"]],
            [["pop", "push 4"]],
            [[f"push {i}" for i in range(k + 2)]],
        ],
        lambda k: [["push 7", "push 8"]],
        _ks(range(1, 12)),
        pitfall=Pitfall(
            _body("""
                stack = []
                for op in ops:
                    if op == 'pop':
                        stack.pop()
                    elif len(stack) < {k}:
                        stack.append(int(op.split()[1]))
                return stack
            """),
            "IndexError",
            4,
        ),
    ),
    Family(
        "divisors_above",
        "divisors_above_{k}",
        "n: int",
        "int",
        "Return how many divisors of n are greater than {k}; 0 if n is not positive.",
        (
            _body("""
                if n <= 0:
                    return 0
                count = 0
                for d in range(1, n + 1):
                    if n % d == 0 and d > {k}:
                        count += 1
                return count
            """),
            _body("""
                count = 0
                d = {k} + 1
                while d <= n:
                    if n % d == 0:
                        count += 1
                    d += 1
                return count
            """),
        ),
        lambda k: lambda n: sum(1 for d in range(k + 1, n + 1) if n % d == 0),
        lambda k: [[1], [36], [97], [k], [120]],
        lambda k: [60],
        _ks(range(1, 12)),
        held_out=True,
    ),
    Family(
        "window_max",
        "window_max_{k}",
        "xs: list[int]",
        "list[int]",
        "Return the largest element of every window of {k} consecutive elements of xs, left to "
        "right (an empty list if xs is shorter than {k}).",
        (
            _body("""
                result = []
                for start in range(len(xs) - {k} + 1):
                    best = xs[start]
                    for x in xs[start:start + {k}]:
                        if x > best:
                            best = x
                    result.append(best)
                return result
            """),
            _body("""
                result = []
                if len(xs) < {k}:
                    return result
                for end in range({k}, len(xs) + 1):
                    window = xs[end - {k}:end]
                    result.append(max(window))
                return result
            """),
        ),
        _window_max,
        lambda k: [
            [[]],
            [list(range(2 * k, 0, -1))],
            [[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2]],
            [[7] * k],
        ],
        lambda k: [[1, 3] * k],
        _ks(range(1, 12)),
    ),
    Family(
        "title_words",
        "title_words_over_{k}",
        "s: str",
        "str",
        "Return the space-separated words of s joined by single spaces, the first word and "
        "every word longer than {k} letters capitalised and the others in lower case.",
        (
            _body("""
                words = s.split()
                result = []
                for index, word in enumerate(words):
                    if index == 0 or len(word) > {k}:
                        result.append(word.capitalize())
                    else:
                        result.append(word.lower())
                return ' '.join(result)
            """),
            _body("""
                result = []
                for word in s.split():
                    if result and len(word) <= {k}:
                        word = word.lower()
                    else:
                        word = word.capitalize()
                    result.append(word)
                return ' '.join(result)
            """),
        ),
        _title_words,
        lambda k: [[""], ["the lord of the rings"], ["A TALE OF TWO CITIES"], ["war and peace"]],
        lambda k: ["gone with the wind"],
        _ks(range(1, 12)),
    ),
    Family(
        "pair_summing",
        "pair_summing_to_{k}",
        "xs: list[int]",
        "list[int]",
        "Return [i, j] with i < j and xs[i] + xs[j] == {k}, the pair with the smallest j and "
        "then the smallest i; [] if there is none.",
        (
            _body("""
                seen = {{}}
                for index, x in enumerate(xs):
                    if {k} - x in seen:
                        return [seen[{k} - x], index]
                    if x not in seen:
                        seen[x] = index
                return []
            """),
            _body("""
                result = []
                for j in range(len(xs)):
                    for i in range(j):
                        if xs[i] + xs[j] == {k}:
                            return [i, j]
                return result
            """),
        ),
        _pair_sum,
        lambda k: [[[]], [[k, 0, 1, k - 1]], [[1, 2, 50]], [[5, k - 5, k - 5, 5]]],
        lambda k: [[k - 2, 9, 2]],
        _ks(range(0, 11)),
        held_out=True,
    ),
    Family(
        "bars",
        "bars_of_{tag}",
        "counts: list[int]",
        "list[str]",
        "Return one bar per count: {c!r} repeated count times, '-' for a count of 0 and '?' "
        "for a negative count.",
        (
            _body("""
                bars = []
                for count in counts:
                    if count < 0:
                        bars.append('?')
                    elif count == 0:
                        bars.append('-')
                    else:
                        bars.append({c!r} * count)
                return bars
            """),
            _body("""
                bars = []
                for count in counts:
                    bar = {c!r} * max(count, 0)
                    if count < 0:
                        bar = '?'
                    if count == 0:
                        bar = '-'
                    bars.append(bar)
                return bars
            """),
        ),
        _bars,
        lambda c, tag: [[[]], [[3, 0, 1]], [[5]], [[2, 2]]],
        lambda c, tag: [[1, 4]],
        _BAR_CHARS,
        held_out=True,
    ),
    Family(
        "clock_after",
        "clock_after_{k}",
        "minutes: int",
        "str",
        "Return the 24-hour time 'HH:MM' that is minutes after {k}:00, or 'invalid' if "
        "minutes is negative.",
        (
            _body("""
                if minutes < 0:
                    return 'invalid'
                total = {k} * 60 + minutes
                hours = total // 60 % 24
                mins = total % 60
                text = ''
                if hours < 10:
                    text += '0'
                text += str(hours) + ':'
                if mins < 10:
                    text += '0'
                return text + str(mins)
            """),
            _body("""
                if minutes < 0:
                    return 'invalid'
                hours = {k} + minutes // 60
                mins = minutes % 60
                while hours >= 24:
                    hours -= 24
                return str(hours).zfill(2) + ':' + str(mins).zfill(2)
            """),
        ),
        _clock,
        lambda k: [[0], [59], [61], [1439], [60 * 30 + 5]],
        lambda k: [125],
        _ks(range(0, 24, 2)),
        held_out=True,
    ),
    Family(
        "divide_by_each",
        "divide_{k}_by_each",
        "xs: list[int]",
        "list[int]",
        "Return {k} // x for every element x of xs that is not zero, in order.",
        (
            _body("""
                result = []
                if not xs:
                    return result
                for x in xs:
                    if x == 0:
                        continue
                    result.append({k} // x)
                return result
            """),
            _body("""
                result = []
                for x in xs:
                    try:
                        result.append({k} // x)
                    except ZeroDivisionError:
                        pass
                return result
            """),
        ),
        lambda k: lambda xs: [k // x for x in xs if x],
        lambda k: [[[1, 2, 0, 3]], [[0]], [[-4, 7]], [[k + 1]]],
        lambda k: [[5, 0, 10]],
        _ks(range(10, 120, 10)),
        held_out=True,
        pitfall=Pitfall(
            _body("""
                result = []
                for x in xs:
                    result.append({k} // x)
                return result
            """),
            "ZeroDivisionError",
            3,
        ),
    ),
    Family(
        "get_path",
        "get_path_{tag}",
        "data: dict[str, object], path: str",
        "object",
        "Return the value reached by following the keys of path, separated by {sep!r}, through "
        "nested dicts; None if a key is missing or a value on the way is not a dict.",
        (
            _body("""
                current = data
                for key in path.split({sep!r}):
                    if not isinstance(current, dict):
                        return None
                    if key not in current:
                        return None
                    current = current[key]
                return current
            """),
            _body("""
                current = data
                keys = path.split({sep!r})
                for key in keys:
                    try:
                        current = current[key]
                    except (KeyError, TypeError):
                        return None
                return current
            """),
        ),
        _get_path,
        lambda sep, tag: [
            [{"a": {"b": 1}}, f"a{sep}b"],
            [{"a": {"b": 1}}, f"a{sep}c"],
            [{"a": 5}, f"a{sep}b"],
            [{"x": {"y": {"z": "deep"}}}, f"x{sep}y{sep}z"],
        ],
        lambda sep, tag: [{"k": 2}, "k"],
        _SEPARATORS,
        held_out=True,
        pitfall=Pitfall(
            _body("""
                current = data
                for key in path.split({sep!r}):
                    current = current[key]
                return current
            """),
            "KeyError",
            3,
        ),
    ),
    Family(
        "countdown",
        "countdown_by_{k}",
        "n: int",
        "list[int]",
        "Return n, n - {k}, n - 2 * {k}, ... down to the last value that is not negative; an "
        "empty list if n is negative.",
        (
            _body("""
                values = []
                if n < 0:
                    return values
                while n >= 0:
                    values.append(n)
                    n -= {k}
                return values
            """),
            _body("""
                values = []
                current = n
                for _ in range(n // {k} + 1):
                    if current < 0:
                        break
                    values.append(current)
                    current -= {k}
                return values
            """),
        ),
        lambda k: lambda n: list(range(n, -1, -k)),
        lambda k: [[0], [10], [k * 3], [k - 1]],
        lambda k: [25],
        _ks(range(1, 12)),
    ),
    Family(
        "word_score",
        "word_score_{k}",
        "word: str",
        "int",
        "Return the score of word: 1 for each vowel and {k} for each other letter; -1 if word "
        "holds anything but letters.",
        (
            _body("""
                score = 0
                for ch in word.lower():
                    if not ch.isalpha():
                        return -1
                    if ch in 'aeiou':
                        score += 1
                    else:
                        score += {k}
                return score
            """),
        ),
        _word_score,
        lambda k: [["hello"], ["queue"], ["rhythm"], [""]],
        lambda k: ["python"],
        _ks(range(2, 14)),
    ),
)


def _split(family: Family, index: int) -> Split:
    if family.held_out:
        return "test"
    return "test" if index % 5 == 2 else "train"


def _examples(family: Family, variant: Mapping[str, Any], where: str) -> list[Example]:
    oracle = family.oracle(**variant)
    examples = []
    for args in family.tests(**variant):
        expected = oracle(*args)
        check_json([list(args), expected], where)
        examples.append(Example(args=list(args), expected=expected))
    return examples


def _shown(family: Family, variant: Mapping[str, Any], tests: Sequence[Example]) -> Example:
    """The docstring's example, which must not be one of the hidden tests."""
    args = list(family.example(**variant))
    if any(test.args == args for test in tests):
        raise ValueError(f"{family.name}{dict(variant)}: the docstring example is a hidden test")
    return Example(args=args, expected=family.oracle(**variant)(*args))


def _indent(body: str, variant: Mapping[str, Any]) -> str:
    return textwrap.indent(body.format(**variant), "    ") + "\n"


def _task(family: Family, index: int, variant: Mapping[str, Any]) -> Task:
    function = family.function.format(**variant)
    where = f"{family.name}/{function}"
    examples = _examples(family, variant, where)
    doc = family.doc.format(**variant)
    text = prompt(
        function, family.signature, family.returns, doc, _shown(family, variant, examples)
    )
    solutions = [text + _indent(body, variant) for body in family.bodies]
    return Task(
        task_id=f"{SOURCE}/{family.name}/{function}",
        source=SOURCE,
        split=_split(family, index),
        prompt=text,
        layout="prompt_plus_completion",
        entry_point=function,
        canonical_solution=solutions[0],
        references=solutions[1:],
        tests=assert_tests(function, examples),
        examples=examples,
    )


def pitfall_completion(task: Task) -> tuple[str, Pitfall] | None:
    """The rendered pitfall body of ``task``'s family and the pitfall, if the family has one."""
    family_name = task.task_id.split("/")[1]
    family = next(f for f in FAMILIES if f.name == family_name)
    if family.pitfall is None:
        return None
    variant = next(v for v in family.variants if family.function.format(**v) == task.entry_point)
    return _indent(family.pitfall.body, variant), family.pitfall


def build() -> list[Task]:
    """Every task of the suite, in family order."""
    return instantiate(FAMILIES, _task)


def render() -> str:
    """The JSON-lines text of the suite, one task per line."""
    return render_tasks(build())


if __name__ == "__main__":
    write(build(), OUTPUT)
