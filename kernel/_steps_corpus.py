"""More Python for the ``tiny-steps`` tokenizer, added to :mod:`kernel._tiny_corpus`'s.

``tiny-steps`` writes functions of 6-30 lines from a signature and a docstring, so its tokenizer
is trained on more of that kind of text: docstrings in plain English with a ``>>>`` example, and
the statements such functions are made of (loops, guards, counters, dict and string work).
Written for the tokenizer, not taken from any task suite, so no task's solution is in it.
Changing it changes the ``tiny-steps`` cache key.
"""

STEPS_CORPUS = r'''
def count_even_numbers(numbers: list[int]) -> int:
    """Return how many elements of numbers are even; 0 for an empty list.

    >>> count_even_numbers([1, 2, 4, 7])
    2
    """
    count = 0
    if not numbers:
        return count
    for value in numbers:
        if value % 2 == 0:
            count += 1
    return count


def last_word_length(sentence: str) -> int:
    """Return the length of the last space-separated word of sentence, or -1 if there is none.

    >>> last_word_length('hello big world')
    5
    """
    words = sentence.split()
    if len(words) == 0:
        return -1
    return len(words[-1])


def clamp_values(values: list[int], low: int, high: int) -> list[int]:
    """Return values with every element below low raised to low and above high cut to high.

    >>> clamp_values([0, 5, 12], 1, 10)
    [1, 5, 10]
    """
    result = []
    for value in values:
        if value < low:
            result.append(low)
        elif value > high:
            result.append(high)
        else:
            result.append(value)
    return result


def letter_counts(text: str) -> dict[str, int]:
    """Return a dict mapping every letter of text to how many times it occurs.

    >>> letter_counts('abca')
    {'a': 2, 'b': 1, 'c': 1}
    """
    counts = {}
    for ch in text:
        if not ch.isalpha():
            continue
        if ch in counts:
            counts[ch] += 1
        else:
            counts[ch] = counts.get(ch, 0) + 1
    return counts


def smallest_gap(values: list[int]) -> int:
    """Return the smallest difference between two neighbours of the sorted values, or 0.

    >>> smallest_gap([7, 1, 4])
    3
    """
    ordered = sorted(values)
    best = None
    index = 1
    while index < len(ordered):
        gap = ordered[index] - ordered[index - 1]
        if best is None or gap < best:
            best = gap
        index += 1
    if best is None:
        return 0
    return best


def safe_ratio(top: int, bottom: int) -> int:
    """Return top // bottom, or None when bottom is zero.

    >>> safe_ratio(9, 2)
    4
    """
    try:
        return top // bottom
    except ZeroDivisionError:
        return None


def split_evens_odds(numbers: list[int]) -> list[list[int]]:
    """Return [evens, odds]: the even and the odd elements of numbers, each in order.

    >>> split_evens_odds([3, 4, 6, 9])
    [[4, 6], [3, 9]]
    """
    evens = []
    odds = []
    for number in numbers:
        if number % 2:
            odds.append(number)
        else:
            evens.append(number)
    return [evens, odds]


def running_totals(amounts: list[int], limit: int) -> list[int]:
    """Return the running totals of amounts, stopping before the first one above limit.

    >>> running_totals([2, 3, 10], 8)
    [2, 5]
    """
    totals = []
    current = 0
    for amount in amounts:
        current += amount
        if current > limit:
            break
        totals.append(current)
    return totals


def describe_number(n: int) -> str:
    """Return 'negative', 'zero', 'small' for 1 to 9, and 'large' otherwise.

    >>> describe_number(12)
    'large'
    """
    if n < 0:
        return 'negative'
    if n == 0:
        return 'zero'
    if n < 10:
        return 'small'
    return 'large'


def merge_counts(first: dict[str, int], second: dict[str, int]) -> dict[str, int]:
    """Return a dict with the counts of both dicts added key by key.

    >>> merge_counts({'a': 1}, {'a': 2, 'b': 5})
    {'a': 3, 'b': 5}
    """
    merged = dict(first)
    for key, value in second.items():
        if key in merged:
            merged[key] += value
        else:
            merged[key] = value
    return merged


def index_of_smallest(values: list[int]) -> int:
    """Return the index of the first smallest element of values, or -1 if it is empty.

    >>> index_of_smallest([4, 2, 8, 2])
    1
    """
    if not values:
        return -1
    best = 0
    for index in range(1, len(values)):
        if values[index] < values[best]:
            best = index
    return best


def join_nonempty(parts: list[str], sep: str) -> str:
    """Return the non-empty strings of parts joined with sep.

    >>> join_nonempty(['a', '', 'b'], '-')
    'a-b'
    """
    kept = [part for part in parts if part]
    return sep.join(kept)


def digits_of(n: int) -> list[int]:
    """Return the decimal digits of the non-negative n, most significant first.

    >>> digits_of(305)
    [3, 0, 5]
    """
    if n == 0:
        return [0]
    digits = []
    while n > 0:
        digits.append(n % 10)
        n //= 10
    digits.reverse()
    return digits


def zip_sum(xs: list[int], ys: list[int]) -> list[int]:
    """Return the sums of the pairs of elements of xs and ys at the same index.

    >>> zip_sum([1, 2], [10, 20, 30])
    [11, 22]
    """
    result = []
    for x, y in zip(xs, ys):
        result.append(x + y)
    return result


def rle(text: str) -> list[list]:
    """Return the runs of equal characters of text as [character, length] pairs.

    >>> rle('aab')
    [['a', 2], ['b', 1]]
    """
    runs = []
    for ch in text:
        if runs and runs[-1][0] == ch:
            runs[-1][1] += 1
        else:
            runs.append([ch, 1])
    return runs


assert count_even_numbers([]) == 0, repr(count_even_numbers([]))
assert (_out := clamp_values([1, 20], 2, 9)) == [2, 9], repr(_out)
assert (_out := describe_number(-4)) == 'negative', repr(_out)
assert (_out := letter_counts('xyz')) == {'x': 1, 'y': 1, 'z': 1}, repr(_out)
assert (_out := digits_of(42)) == [4, 2], repr(_out)
assert (_out := running_totals([], 3)) == [], repr(_out)
assert (_out := safe_ratio(1, 0)) is None, repr(_out)
'''
