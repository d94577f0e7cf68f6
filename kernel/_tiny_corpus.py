"""Python snippets the tiny model's tokenizer is trained on.

Kept in a module (not a data file) so it ships with the package whatever the package-data rules
say. It is representative rather than large: indentation runs, common keywords and builtins,
string and number literals, and a few non-ASCII characters (é, 中文, emoji) so multi-byte text is
exercised by tokenizer tests. Changing it changes the tiny model's cache key.
"""

CORPUS = r'''
def add(a, b):
    """Return the sum of a and b."""
    return a + b


def fib(n: int) -> int:
    if n < 2:
        return n
    a, b = 0, 1
    for _ in range(n - 1):
        a, b = b, a + b
    return b


def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        if not self.items:
            raise IndexError("pop from empty stack")
        return self.items.pop()

    def __len__(self):
        return len(self.items)


def solve():
    n = int(input())
    values = list(map(int, input().split()))
    total = 0
    for i in range(n):
        if values[i] % 2 == 0:
            total += values[i]
        elif values[i] > 10:
            total -= 1
        else:
            continue
    print(total)


if __name__ == "__main__":
    solve()


def has_close_elements(numbers: list[float], threshold: float) -> bool:
    for idx, elem in enumerate(numbers):
        for idx2, elem2 in enumerate(numbers):
            if idx != idx2:
                distance = abs(elem - elem2)
                if distance < threshold:
                    return True
    return False


def count_words(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in text.lower().split():
        counts[word] = counts.get(word, 0) + 1
    return counts


def binary_search(xs, target):
    lo, hi = 0, len(xs) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if xs[mid] == target:
            return mid
        if xs[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1


def read_grid():
    h, w = map(int, input().split())
    grid = [input().strip() for _ in range(h)]
    return [[c == "#" for c in row] for row in grid]


def safe_div(a, b):
    try:
        return a / b
    except ZeroDivisionError:
        return None
    finally:
        pass


import sys
from collections import defaultdict, deque


def bfs(graph, start):
    seen = {start}
    queue = deque([start])
    order = []
    while queue:
        node = queue.popleft()
        order.append(node)
        for nxt in graph[node]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return order


def main():
    data = sys.stdin.read().split()
    graph = defaultdict(list)
    for u, v in zip(data[::2], data[1::2]):
        graph[u].append(v)
    print(" ".join(bfs(graph, data[0])))


greeting = "café"  # é
label = "中文注释"  # 中文
mood = "🙂🚀"  # emoji
assert add(1, 2) == 3
assert fib(10) == 55
assert is_prime(7) and not is_prime(9)
squares = [x * x for x in range(10) if x % 3 != 0]
pairs = {k: v for k, v in zip("abc", [1, 2, 3])}
print(f"{greeting} {label} {mood} {squares} {pairs}")
'''
