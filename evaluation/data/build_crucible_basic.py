"""Writes ``crucible_basic.jsonl``: the built-in offline suite of tiny Python function tasks.

The suite exists so that a CPU training run has problems a small model can actually learn. Tasks
come in families: one template (say "add k to x") instantiated with several constants, so the
held-out test split asks for the same skills with new constants and generalisation is
measurable. A family's variant number 2, 7, 12, ... goes to the test split (the last variant for
families of two), which puts every family with two or more variants in both splits; single-task
classics (factorial, gcd, ...) stay in train.

Expected values come from a ``reference`` implementation written separately from the canonical
solution's template, and the unit tests run every canonical solution against them. Each test is
``assert (_out := f(args)) == expected, repr(_out)``: a plain equality assert whose failure
message carries the actual value, which execution feedback (CYCLE) reports.

Regenerate after editing with ``python -m crucible.evaluation.data.build_crucible_basic``; a unit
test fails while the committed file differs from what this script renders.
"""

from __future__ import annotations

import itertools
import textwrap
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

OUTPUT = Path(__file__).with_name("crucible_basic.jsonl")
SOURCE = "crucible-basic"

Inputs = Sequence[Sequence[Any]]


@dataclass(frozen=True)
class Family:
    """A task template; ``function``, ``doc`` and ``body`` are ``str.format`` templates filled
    with each variant's constants (``{{`` and ``}}`` for literal braces)."""

    name: str
    function: str
    signature: str
    returns: str
    doc: str
    body: str
    reference: Callable[..., Callable[..., Any]]
    inputs: Inputs | Callable[..., Inputs]
    variants: Sequence[Mapping[str, Any]] = ({},)


def _ks(*values: int) -> list[dict[str, Any]]:
    return [{"k": value} for value in values]


def _cs(*values: str) -> list[dict[str, Any]]:
    return [{"c": value} for value in values]


_SEPARATORS = [
    {"sep": ",", "tag": "comma"},
    {"sep": ";", "tag": "semicolon"},
    {"sep": "-", "tag": "dash"},
    {"sep": "|", "tag": "pipe"},
    {"sep": ":", "tag": "colon"},
]
_INTS: Inputs = [[0], [4], [-3], [100]]
_LISTS: Inputs = [[[]], [[1, 5, 10, 20]], [[-3, 0, 3, 30]], [[6, 6, 2]]]
_COUNT_LISTS: Inputs = [[[]], [[0, 1, 2, 5, 7, 1, 2, 5]], [[1, 1, 1, 0]], [[5, 7, 7, 2]]]
_SEQUENCES: Inputs = [[[]], [[9, 8, 7, 6, 5, 4]], [[1, 2]], [[3, 1, 4, 1, 5, 9, 2]]]
_WORDS = ["", "banana", "excess boxes", "over and over"]
_SENTENCES: Inputs = [
    [""],
    ["a bb ccc dddd eeeee ffffff"],
    ["hello world"],
    ["the quick brown fox"],
]


def _rotate(k: int) -> Callable[[list[int]], list[int]]:
    def rotate(xs: list[int]) -> list[int]:
        out = list(xs)
        for _ in range(k if xs else 0):
            out.append(out.pop(0))
        return out

    return rotate


def _shift(k: int) -> Callable[[str], str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    table = str.maketrans(letters, letters[k:] + letters[:k])
    return lambda s: s.translate(table)


def _fizzbuzz(a: int, b: int) -> Callable[[int], str]:
    def fizzbuzz(n: int) -> str:
        word = ("Fizz" if n % a == 0 else "") + ("Buzz" if n % b == 0 else "")
        return word or str(n)

    return fizzbuzz


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, n))


def _fibonacci(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def _factorial(n: int) -> int:
    return 1 if n <= 1 else n * _factorial(n - 1)


def _gcd(a: int, b: int) -> int:
    return max(d for d in range(1, max(a, b) + 1) if a % d == 0 and b % d == 0)


# One family per entry, positional fields in Family order; kept as a table, not reformatted.
# fmt: off
FAMILIES: tuple[Family, ...] = (
    # -- one integer ------------------------------------------------------------------------
    Family("add_k", "add_{k}", "x: int", "int", "Return x plus {k}.", "return x + {k}",
           lambda k: lambda x: x + k, _INTS, _ks(1, 2, 3, 5, 10)),
    Family("subtract_k", "subtract_{k}", "x: int", "int", "Return x minus {k}.",
           "return x - {k}", lambda k: lambda x: x - k, _INTS, _ks(1, 2, 4, 7, 10)),
    Family("multiply_by_k", "times_{k}", "x: int", "int", "Return x multiplied by {k}.",
           "return x * {k}", lambda k: lambda x: k * x, _INTS, _ks(2, 3, 4, 5, 10)),
    Family("floor_divide_by_k", "div_by_{k}", "x: int", "int",
           "Return x divided by {k}, rounded down.", "return x // {k}",
           lambda k: lambda x: (x - x % k) // k, [[0], [7], [25], [100]], _ks(2, 3, 4, 5, 10)),
    Family("remainder_k", "mod_{k}", "x: int", "int", "Return the remainder of x divided by {k}.",
           "return x % {k}", lambda k: lambda x: x - k * (x // k), [[0], [7], [25], [101]],
           _ks(2, 3, 5, 7, 10)),
    Family("divisible_by_k", "is_divisible_by_{k}", "x: int", "bool",
           "Return True if x is divisible by {k}, else False.", "return x % {k} == 0",
           lambda k: lambda x: x // k * k == x, [[0], [12], [35], [9], [14]],
           _ks(2, 3, 4, 5, 7)),
    Family("power_k", "power_{k}", "x: int", "int", "Return x raised to the power {k}.",
           "return x ** {k}", lambda k: lambda x: _product([x] * k), [[0], [2], [3], [-1]],
           _ks(2, 3, 4, 5, 6)),
    Family("greater_than_k", "is_greater_than_{k}", "x: int", "bool",
           "Return True if x is greater than {k}, else False.", "return x > {k}",
           lambda k: lambda x: not x <= k, [[-1], [7], [42], [200]], _ks(0, 5, 10, 50, 100)),
    Family("cap_at_k", "cap_at_{k}", "x: int", "int",
           "Return x, or {k} if x is larger than {k}.", "return min(x, {k})",
           lambda k: lambda x: k if x > k else x, [[-3], [7], [60], [150]],
           _ks(0, 5, 10, 50, 100)),
    Family("at_least_k", "at_least_{k}", "x: int", "int",
           "Return x, or {k} if x is smaller than {k}.", "return max(x, {k})",
           lambda k: lambda x: k if x < k else x, [[-3], [7], [60], [150]],
           _ks(0, 5, 10, 50, 100)),
    Family("distance_to_k", "distance_to_{k}", "x: int", "int",
           "Return the distance between x and {k}.", "return abs(x - {k})",
           lambda k: lambda x: x - k if x > k else k - x, [[0], [3], [-10], [200]],
           _ks(0, 3, 10, 25, 100)),
    Family("round_down_to_multiple_k", "round_down_to_{k}", "x: int", "int",
           "Return the largest multiple of {k} that is not greater than x.",
           "return x - x % {k}", lambda k: lambda x: x // k * k, [[0], [7], [49], [123]],
           _ks(2, 5, 10, 25, 100)),
    Family("sum_multiples_below_n", "sum_multiples_of_{k}_below", "n: int", "int",
           "Return the sum of the non-negative multiples of {k} that are less than n.",
           "return sum(i for i in range(n) if i % {k} == 0)",
           lambda k: lambda n: sum(range(0, n, k)) if n > 0 else 0, [[0], [10], [15], [30]],
           _ks(2, 3, 4, 5, 7)),
    Family("count_multiples_up_to_n", "count_multiples_of_{k}", "n: int", "int",
           "Return how many of the numbers 1 to n are divisible by {k}.",
           "return sum(1 for i in range(1, n + 1) if i % {k} == 0)",
           lambda k: lambda n: max(n, 0) // k, [[0], [10], [21], [100]], _ks(2, 3, 5, 7, 10)),
    Family("count_digit_d", "count_digit_{k}", "n: int", "int",
           "Return how many times the digit {k} appears in n.",
           "return str(abs(n)).count('{k}')",
           lambda k: lambda n: sum(1 for ch in str(n) if ch == str(k)),
           [[1070], [3], [777], [-9019], [123456789]], _ks(0, 1, 3, 7, 9)),
    Family("range_step_k", "range_step_{k}", "n: int", "list[int]",
           "Return the list 0, {k}, 2*{k}, ... of the multiples of {k} below n.",
           "return list(range(0, n, {k}))",
           lambda k: lambda n: [i * k for i in range(n) if i * k < n], [[0], [10], [1], [21]],
           _ks(2, 3, 4, 5, 10)),
    # -- a list of integers -----------------------------------------------------------------
    Family("add_k_to_each", "add_{k}_to_each", "xs: list[int]", "list[int]",
           "Return a new list with {k} added to every element of xs.",
           "return [x + {k} for x in xs]", lambda k: lambda xs: list(map(lambda x: x + k, xs)),
           _LISTS, _ks(1, 2, 3, 5, 10)),
    Family("multiply_each_by_k", "multiply_each_by_{k}", "xs: list[int]", "list[int]",
           "Return a new list with every element of xs multiplied by {k}.",
           "return [x * {k} for x in xs]", lambda k: lambda xs: list(map(lambda x: k * x, xs)),
           _LISTS, _ks(2, 3, 4, 5, 10)),
    Family("keep_greater_than_k", "keep_greater_than_{k}", "xs: list[int]", "list[int]",
           "Return the elements of xs that are greater than {k}, in order.",
           "return [x for x in xs if x > {k}]",
           lambda k: lambda xs: list(filter(lambda x: x > k, xs)), _LISTS, _ks(0, 2, 5, 10, 20)),
    Family("count_greater_than_k", "count_greater_than_{k}", "xs: list[int]", "int",
           "Return how many elements of xs are greater than {k}.",
           "return sum(1 for x in xs if x > {k})",
           lambda k: lambda xs: len([x for x in xs if not x <= k]), _LISTS,
           _ks(0, 2, 5, 10, 20)),
    Family("count_occurrences_of_k", "count_occurrences_of_{k}", "xs: list[int]", "int",
           "Return how many times {k} appears in xs.", "return xs.count({k})",
           lambda k: lambda xs: sum(1 for x in xs if x == k), _COUNT_LISTS,
           _ks(0, 1, 2, 5, 7)),
    Family("remove_all_k", "remove_all_{k}", "xs: list[int]", "list[int]",
           "Return xs without any element equal to {k}.", "return [x for x in xs if x != {k}]",
           lambda k: lambda xs: list(filter(lambda x: x != k, xs)), _COUNT_LISTS,
           _ks(0, 1, 2, 5, 7)),
    Family("first_k_items", "first_{k}_items", "xs: list[int]", "list[int]",
           "Return the first {k} elements of xs (all of them if xs is shorter).",
           "return xs[:{k}]", lambda k: lambda xs: [x for i, x in enumerate(xs) if i < k],
           _SEQUENCES, _ks(1, 2, 3, 4, 5)),
    Family("last_k_items", "last_{k}_items", "xs: list[int]", "list[int]",
           "Return the last {k} elements of xs (all of them if xs is shorter).",
           "return xs[-{k}:]",
           lambda k: lambda xs: [x for i, x in enumerate(xs) if i >= len(xs) - k],
           _SEQUENCES, _ks(1, 2, 3, 4, 5)),
    Family("drop_first_k", "drop_first_{k}", "xs: list[int]", "list[int]",
           "Return xs without its first {k} elements.", "return xs[{k}:]",
           lambda k: lambda xs: [x for i, x in enumerate(xs) if i >= k], _SEQUENCES,
           _ks(1, 2, 3, 4, 5)),
    Family("take_every_kth", "take_every_{k}", "xs: list[int]", "list[int]",
           "Return every {k}-th element of xs, starting with the first.", "return xs[::{k}]",
           lambda k: lambda xs: [x for i, x in enumerate(xs) if i % k == 0], _SEQUENCES,
           _ks(2, 3, 4, 5, 6)),
    Family("sum_multiples_of_k_in_list", "sum_multiples_of_{k}_in", "xs: list[int]", "int",
           "Return the sum of the elements of xs that are divisible by {k}.",
           "return sum(x for x in xs if x % {k} == 0)",
           lambda k: lambda xs: sum(filter(lambda x: x // k * k == x, xs)),
           [[[]], [[1, 2, 3, 4, 5, 6, 10, 12, 15, 20]], [[7, 11]], [[-4, 8, 30]]],
           _ks(2, 3, 4, 5, 10)),
    Family("contains_k", "contains_{k}", "xs: list[int]", "bool",
           "Return True if {k} is an element of xs, else False.", "return {k} in xs",
           lambda k: lambda xs: any(x == k for x in xs),
           [[[]], [[1, 2, 3]], [[7, 9, 0]], [[4, 5, 6]]], _ks(0, 1, 3, 7, 9)),
    Family("index_of_k", "index_of_{k}", "xs: list[int]", "int",
           "Return the index of the first {k} in xs, or -1 if there is none.",
           "return xs.index({k}) if {k} in xs else -1",
           lambda k: lambda xs: next((i for i, x in enumerate(xs) if x == k), -1),
           [[[]], [[1, 3, 3]], [[9, 7, 0, 1]], [[4, 5, 6]]], _ks(0, 1, 3, 7, 9)),
    Family("rotate_left_k", "rotate_left_{k}", "xs: list[int]", "list[int]",
           "Return xs rotated left by {k} positions.",
           "if not xs:\n    return []\nshift = {k} % len(xs)\nreturn xs[shift:] + xs[:shift]",
           _rotate, [[[]], [[1, 2, 3, 4, 5]], [[1, 2]], [[7, 8, 9, 10, 11, 12]]],
           _ks(1, 2, 3, 4, 5)),
    Family("replace_k_with_zero", "replace_{k}_with_zero", "xs: list[int]", "list[int]",
           "Return xs with every {k} replaced by 0.", "return [0 if x == {k} else x for x in xs]",
           lambda k: lambda xs: [x * (x != k) for x in xs], _COUNT_LISTS, _ks(1, 2, 3, 5, 7)),
    Family("clip_each_to_k", "clip_each_to_{k}", "xs: list[int]", "list[int]",
           "Return xs with every element larger than {k} replaced by {k}.",
           "return [min(x, {k}) for x in xs]",
           lambda k: lambda xs: [k if x > k else x for x in xs], _LISTS, _ks(0, 3, 5, 10, 50)),
    # -- a string ---------------------------------------------------------------------------
    Family("count_letter_c", "count_letter_{c}", "s: str", "int",
           "Return how many times the letter {c!r} appears in s.", "return s.count({c!r})",
           lambda c: lambda s: sum(1 for ch in s if ch == c), [[w] for w in _WORDS],
           _cs("a", "e", "o", "s", "x")),
    Family("starts_with_p", "starts_with_{c}", "s: str", "bool",
           "Return True if s starts with {c!r}, else False.", "return s.startswith({c!r})",
           lambda c: lambda s: s[: len(c)] == c,
           [[""], ["apple"], ["the theme"], ["python"], ["unread"]],
           _cs("a", "the", "py", "re", "un")),
    Family("ends_with_p", "ends_with_{c}", "s: str", "bool",
           "Return True if s ends with {c!r}, else False.", "return s.endswith({c!r})",
           lambda c: lambda s: len(s) >= len(c) and s[len(s) - len(c) :] == c,
           [[""], ["cats"], ["singing"], ["walked"], ["quickly"]],
           _cs("s", "ing", "ed", "ly", "er")),
    Family("repeat_k_times", "repeat_{k}_times", "s: str", "str",
           "Return s repeated {k} times.", "return s * {k}",
           lambda k: lambda s: "".join([s] * k), [[""], ["ab"], ["x"], ["hi!"]],
           _ks(2, 3, 4, 5, 6)),
    Family("first_k_chars", "first_{k}_chars", "s: str", "str",
           "Return the first {k} characters of s (all of s if it is shorter).",
           "return s[:{k}]", lambda k: lambda s: "".join(s[i] for i in range(min(k, len(s)))),
           [[""], ["hello"], ["a"], ["abcdefgh"]], _ks(1, 2, 3, 4, 5)),
    Family("last_k_chars", "last_{k}_chars", "s: str", "str",
           "Return the last {k} characters of s (all of s if it is shorter).",
           "return s[-{k}:]", lambda k: lambda s: s[max(len(s) - k, 0) :],
           [[""], ["hello"], ["a"], ["abcdefgh"]], _ks(1, 2, 3, 4, 5)),
    Family("remove_letter_c", "remove_letter_{c}", "s: str", "str",
           "Return s with every {c!r} removed.", "return s.replace({c!r}, '')",
           lambda c: lambda s: "".join(ch for ch in s if ch != c), [[w] for w in _WORDS],
           _cs("a", "e", "i", "o", "s")),
    Family("replace_letter_a_with_b", "replace_{a}_with_{b}", "s: str", "str",
           "Return s with every {a!r} replaced by {b!r}.", "return s.replace({a!r}, {b!r})",
           lambda a, b: lambda s: "".join(b if ch == a else ch for ch in s),
           [[""], ["hello world"], ["settle"], ["tattoo"]],
           [{"a": "a", "b": "o"}, {"a": "e", "b": "i"}, {"a": "s", "b": "z"},
            {"a": "l", "b": "r"}, {"a": "t", "b": "d"}]),
    Family("pad_left_to_k", "pad_to_{k}", "s: str", "str",
           "Return s padded on the left with '.' to at least {k} characters.",
           "return s.rjust({k}, '.')", lambda k: lambda s: "." * (k - len(s)) + s,
           [[""], ["ab"], ["abcdefghij"], ["xyz"]], _ks(3, 4, 5, 6, 8)),
    Family("add_prefix_p", "add_prefix_{c}", "s: str", "str",
           "Return s with {c!r} put in front of it.", "return {c!r} + s",
           lambda c: lambda s: f"{c}{s}", [[""], ["do"], ["view"], ["load"]],
           _cs("re", "un", "pre", "mis", "over")),
    Family("add_suffix_p", "add_suffix_{c}", "s: str", "str",
           "Return s with {c!r} appended.", "return s + {c!r}", lambda c: lambda s: f"{s}{c}",
           [[""], ["walk"], ["play"], ["jump"]], _cs("s", "ed", "ing", "ly", "er")),
    Family("find_letter_c", "find_letter_{c}", "s: str", "int",
           "Return the index of the first {c!r} in s, or -1 if there is none.",
           "return s.find({c!r})",
           lambda c: lambda s: next((i for i, ch in enumerate(s) if ch == c), -1),
           [[""], ["banana"], ["zebra"], ["xyz"]], _cs("a", "b", "e", "n", "z")),
    Family("contains_substring_t", "contains_{c}", "s: str", "bool",
           "Return True if {c!r} occurs in s, else False.", "return {c!r} in s",
           lambda c: lambda s: s.find(c) >= 0,
           [[""], ["concatenate"], ["hot dog"], ["the table"], ["xyzzy"]],
           _cs("cat", "dog", "ab", "the", "xy")),
    Family("split_on_sep", "split_on_{tag}", "s: str", "list[str]",
           "Return the parts of s between each {sep!r}.", "return s.split({sep!r})",
           lambda sep, tag: lambda s: s.split(sep),
           lambda sep, tag: [[""], [f"1{sep}2{sep}3"], ["x"], [f"a{sep}b"], [f"{sep}end"]],
           _SEPARATORS),
    Family("join_with_sep", "join_with_{tag}", "words: list[str]", "str",
           "Return the words joined with {sep!r} between them.", "return {sep!r}.join(words)",
           lambda sep, tag: lambda words: sep.join(words),
           [[[]], [["x", "y", "z"]], [["a"]], [["a", "b"]]], _SEPARATORS),
    Family("count_words_longer_than_k", "count_words_longer_than_{k}", "s: str", "int",
           "Return how many space-separated words of s have more than {k} letters.",
           "return sum(1 for word in s.split() if len(word) > {k})",
           lambda k: lambda s: len([w for w in s.split() if not len(w) <= k]), _SENTENCES,
           _ks(1, 2, 3, 4, 5)),
    Family("words_of_length_k", "words_of_length_{k}", "s: str", "list[str]",
           "Return the space-separated words of s that have exactly {k} letters.",
           "return [word for word in s.split() if len(word) == {k}]",
           lambda k: lambda s: list(filter(lambda w: len(w) == k, s.split())), _SENTENCES,
           _ks(1, 2, 3, 4, 5)),
    Family("shift_letters_by_k", "shift_letters_by_{k}", "s: str", "str",
           "Return s with every lowercase letter moved {k} places forward in the alphabet, "
           "wrapping from 'z' to 'a'; other characters stay.",
           "return ''.join(\n    chr((ord(ch) - ord('a') + {k}) % 26 + ord('a')) "
           "if 'a' <= ch <= 'z' else ch\n    for ch in s\n)",
           _shift, [[""], ["abc"], ["xyz"], ["hello, world"]], _ks(1, 2, 3, 5, 13)),
    Family("fizzbuzz_a_b", "fizzbuzz_{a}_{b}", "n: int", "str",
           "Return 'FizzBuzz' if n is divisible by both {a} and {b}, 'Fizz' if only by {a}, "
           "'Buzz' if only by {b}, and n as a string otherwise.",
           "if n % {a} == 0 and n % {b} == 0:\n    return 'FizzBuzz'\nif n % {a} == 0:\n"
           "    return 'Fizz'\nif n % {b} == 0:\n    return 'Buzz'\nreturn str(n)",
           _fizzbuzz, lambda a, b: [[1], [a], [b], [a * b], [a * b + 1]],
           [{"a": 3, "b": 5}, {"a": 2, "b": 7}, {"a": 3, "b": 4}, {"a": 5, "b": 7},
            {"a": 2, "b": 3}]),
    Family("has_length_k", "has_length_{k}", "s: str", "bool",
           "Return True if s has exactly {k} characters, else False.", "return len(s) == {k}",
           lambda k: lambda s: sum(1 for _ in s) == k,
           [[""], ["a"], ["abc"], ["hello"], ["abcdefgh"]], _ks(0, 1, 3, 5, 8)),
    Family("wrap_in_pair", "wrap_in_{tag}", "s: str", "str",
           "Return s with {left!r} before it and {right!r} after it.",
           "return {left!r} + s + {right!r}", lambda left, right, tag: lambda s: left + s + right,
           [[""], ["x"], ["hello"], ["a b"]],
           [{"left": "(", "right": ")", "tag": "parens"},
            {"left": "[", "right": "]", "tag": "brackets"},
            {"left": "{", "right": "}", "tag": "braces"},
            {"left": "<", "right": ">", "tag": "angles"},
            {"left": "*", "right": "*", "tag": "stars"}]),
    # -- classics (one task each; all in train) ---------------------------------------------
    Family("add", "add", "a: int, b: int", "int", "Return the sum of a and b.", "return a + b",
           lambda: lambda a, b: sum([a, b]), [[0, 0], [1, 2], [-5, 3], [100, 250]]),
    Family("reverse_string", "reverse_string", "s: str", "str", "Return s reversed.",
           "return s[::-1]", lambda: lambda s: "".join(reversed(s)),
           [[""], ["hello"], ["a"], ["racecar!"]]),
    Family("max_of_list", "max_of_list", "xs: list[int]", "int",
           "Return the largest element of the non-empty list xs.", "return max(xs)",
           lambda: lambda xs: sorted(xs)[-1], [[[3]], [[1, 5, 2]], [[-4, -2, -9]], [[7, 7, 0]]]),
    Family("min_of_list", "min_of_list", "xs: list[int]", "int",
           "Return the smallest element of the non-empty list xs.", "return min(xs)",
           lambda: lambda xs: sorted(xs)[0], [[[3]], [[1, 5, 2]], [[-4, -2, -9]], [[7, 7, 0]]]),
    Family("count_vowels", "count_vowels", "s: str", "int",
           "Return how many characters of s are vowels (a, e, i, o, u, either case).",
           "return sum(1 for ch in s.lower() if ch in 'aeiou')",
           lambda: lambda s: len([ch for ch in s if ch in "aeiouAEIOU"]),
           [[""], ["hello"], ["AEIOU xyz"], ["rhythm"]]),
    Family("fizzbuzz", "fizzbuzz", "n: int", "list[str]",
           "Return the FizzBuzz strings for 1 to n: 'Fizz' for multiples of 3, 'Buzz' for "
           "multiples of 5, 'FizzBuzz' for both, the number otherwise.",
           "out = []\nfor i in range(1, n + 1):\n    if i % 15 == 0:\n"
           "        out.append('FizzBuzz')\n    elif i % 3 == 0:\n        out.append('Fizz')\n"
           "    elif i % 5 == 0:\n        out.append('Buzz')\n    else:\n"
           "        out.append(str(i))\nreturn out",
           lambda: lambda n: [_fizzbuzz(3, 5)(i) for i in range(1, n + 1)],
           [[0], [5], [1], [15]]),
    Family("is_palindrome", "is_palindrome", "s: str", "bool",
           "Return True if s reads the same forwards and backwards, else False.",
           "return s == s[::-1]",
           lambda: lambda s: all(s[i] == s[-1 - i] for i in range(len(s) // 2)),
           [[""], ["racecar"], ["abca"], ["noon"], ["ab"]]),
    Family("sum_of_evens", "sum_of_evens", "xs: list[int]", "int",
           "Return the sum of the even elements of xs.", "return sum(x for x in xs if x % 2 == 0)",
           lambda: lambda xs: sum(filter(lambda x: x & 1 == 0, xs)),
           [[[]], [[1, 2, 3, 4]], [[-2, 5, 7]], [[10, 20, 31]]]),
    Family("factorial", "factorial", "n: int", "int",
           "Return n! (the product of 1 to n; 0! is 1).",
           "result = 1\nfor i in range(2, n + 1):\n    result *= i\nreturn result",
           lambda: _factorial, [[0], [5], [1], [10]]),
    Family("gcd", "gcd", "a: int, b: int", "int",
           "Return the greatest common divisor of the positive integers a and b.",
           "while b:\n    a, b = b, a % b\nreturn a", lambda: _gcd,
           [[7, 5], [12, 18], [100, 75], [9, 9]]),
    Family("lcm", "lcm", "a: int, b: int", "int",
           "Return the least common multiple of the positive integers a and b.",
           "m = max(a, b)\nwhile m % a or m % b:\n    m += 1\nreturn m",
           lambda: lambda a, b: a * b // _gcd(a, b), [[4, 6], [3, 7], [5, 5], [12, 18]]),
    Family("fibonacci", "fibonacci", "n: int", "int",
           "Return the n-th Fibonacci number (fibonacci(0) is 0, fibonacci(1) is 1).",
           "if n < 2:\n    return n\nreturn fibonacci(n - 1) + fibonacci(n - 2)",
           lambda: _fibonacci, [[0], [7], [1], [12]]),
    Family("is_prime", "is_prime", "n: int", "bool",
           "Return True if n is a prime number, else False.",
           "if n < 2:\n    return False\nfor d in range(2, int(n ** 0.5) + 1):\n"
           "    if n % d == 0:\n        return False\nreturn True",
           lambda: _is_prime, [[1], [2], [9], [13], [97]]),
    Family("sum_digits", "sum_digits", "n: int", "int",
           "Return the sum of the decimal digits of the non-negative integer n.",
           "return sum(int(d) for d in str(n))", lambda: lambda n: sum(map(int, str(n))),
           [[0], [123], [7], [9999]]),
    Family("count_words", "count_words", "s: str", "int",
           "Return how many space-separated words s contains.", "return len(s.split())",
           lambda: lambda s: sum(1 for _ in s.split()), [[""], ["one"], ["a b c"], ["  x  y  "]]),
    Family("reverse_list", "reverse_list", "xs: list[int]", "list[int]",
           "Return a new list with the elements of xs in reverse order.", "return xs[::-1]",
           lambda: lambda xs: list(reversed(xs)), [[[]], [[1, 2, 3]], [[1]], [[5, 4, 9, 9]]]),
    Family("is_sorted", "is_sorted", "xs: list[int]", "bool",
           "Return True if xs is in non-decreasing order, else False.",
           "return all(xs[i] <= xs[i + 1] for i in range(len(xs) - 1))",
           lambda: lambda xs: xs == sorted(xs), [[[]], [[1, 2, 2, 5]], [[3, 1]], [[-1, 0, 7]]]),
    Family("remove_duplicates", "remove_duplicates", "xs: list[int]", "list[int]",
           "Return xs without repeated elements, keeping the first occurrence of each.",
           "seen = set()\nout = []\nfor x in xs:\n    if x not in seen:\n"
           "        seen.add(x)\n        out.append(x)\nreturn out",
           lambda: lambda xs: list(dict.fromkeys(xs)),
           [[[]], [[1, 1, 2]], [[3, 1, 3, 2, 1]], [[5]]]),
    Family("product_of_list", "product_of_list", "xs: list[int]", "int",
           "Return the product of the elements of xs (1 for an empty list).",
           "result = 1\nfor x in xs:\n    result *= x\nreturn result",
           lambda: _product, [[[]], [[2, 3]], [[-1, 4, 5]], [[7, 0, 9]]]),
    Family("capitalize_words", "capitalize_words", "s: str", "str",
           "Return s with the first letter of every space-separated word in upper case.",
           "return ' '.join(word[:1].upper() + word[1:] for word in s.split(' '))",
           lambda: lambda s: " ".join(w.capitalize() if w[:1].islower() else w
                                      for w in s.split(" ")),
           [[""], ["hello world"], ["a b c"], ["Already Up"]]),
    Family("char_frequency", "char_frequency", "s: str", "dict[str, int]",
           "Return a dict mapping each character of s to how many times it occurs.",
           "counts = {{}}\nfor ch in s:\n    counts[ch] = counts.get(ch, 0) + 1\nreturn counts",
           lambda: lambda s: {ch: s.count(ch) for ch in s}, [[""], ["aab"], ["hello"], ["xyz"]]),
    Family("flatten", "flatten", "xss: list[list[int]]", "list[int]",
           "Return the elements of the inner lists of xss in one list, in order.",
           "return [x for xs in xss for x in xs]",
           lambda: lambda xss: list(itertools.chain.from_iterable(xss)),
           [[[]], [[[1], [2, 3]]], [[[], [4], []]], [[[5, 6], [7, 8, 9]]]]),
    Family("is_even", "is_even", "n: int", "bool", "Return True if n is even, else False.",
           "return n % 2 == 0", lambda: lambda n: n & 1 == 0, [[0], [3], [-4], [11]]),
    Family("square_each", "square_each", "xs: list[int]", "list[int]",
           "Return a new list with every element of xs squared.", "return [x * x for x in xs]",
           lambda: lambda xs: [x**2 for x in xs], [[[]], [[1, 2, 3]], [[-2]], [[0, 10]]]),
    Family("count_uppercase", "count_uppercase", "s: str", "int",
           "Return how many characters of s are upper-case letters.",
           "return sum(1 for ch in s if ch.isupper())",
           lambda: lambda s: len([ch for ch in s if "A" <= ch <= "Z"]),
           [[""], ["Hello World"], ["ABC"], ["lower"]]),
)
# fmt: on


def _product(xs: Sequence[int]) -> int:
    result = 1
    for x in xs:
        result *= x
    return result


def _split(index: int, count: int) -> Split:
    if count == 1:
        return "train"
    return "test" if index % 5 == min(2, count - 1) else "train"


def _task(family: Family, index: int, variant: Mapping[str, Any]) -> Task:
    function = family.function.format(**variant)
    reference = family.reference(**variant)
    inputs = family.inputs(**variant) if callable(family.inputs) else family.inputs
    examples = []
    for args in inputs:
        expected = reference(*args)
        check_json([list(args), expected], f"{family.name}/{function}")
        examples.append(Example(args=list(args), expected=expected))
    shown = examples[1]  # inputs list an edge case first, then a typical case
    text = prompt(function, family.signature, family.returns, family.doc.format(**variant), shown)
    body = textwrap.indent(family.body.format(**variant), "    ") + "\n"
    return Task(
        task_id=f"{SOURCE}/{family.name}/{function}",
        source=SOURCE,
        split=_split(index, len(family.variants)),
        prompt=text,
        layout="prompt_plus_completion",
        entry_point=function,
        canonical_solution=text + body,
        tests=assert_tests(function, examples),
        examples=examples,
    )


def build() -> list[Task]:
    """Every task of the suite, in family order."""
    return instantiate(FAMILIES, _task)


def render() -> str:
    """The JSON-lines text of the suite, one task per line."""
    return render_tasks(build())


if __name__ == "__main__":
    write(build(), OUTPUT)
