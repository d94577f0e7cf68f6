"""Teaching a policy to write one-line tests of a task's function, from its docstring examples.

CodeDPO (and CodeT before it) verify sampled code against tests the *policy itself* writes,
prompted with CodeT's test prompt: the task's prompt, ``pass`` as the body, a comment naming the
function, then ``assert <name>(`` for the model to continue. A small model warm-started only on
solutions has never seen that prompt and writes no usable test, so self-verification has
nothing to verify with. The warm start can add one (prompt, line) pair per docstring example of
the training tasks: the examples are part of the prompt the model sees, never the dataset's
hidden tests, so no hidden test leaks into training.
"""

from __future__ import annotations

import ast
import doctest
from collections.abc import Sequence

from crucible.evaluation.tasks import Task

__all__ = [
    "TEST_PREFIX",
    "TEST_PROMPT_TEMPLATE",
    "docstring_examples",
    "test_prompt",
    "test_writing_pairs",
]

TEST_PROMPT_TEMPLATE = "{prompt}    pass\n\n\n# check the correctness of {entry_point}\n"
"""CodeT's test prompt (Chen et al. 2022, arXiv 2207.10397); ``{prompt}`` is the task's prompt
and ``{entry_point}`` the function under test."""
TEST_PREFIX = "assert {entry_point}("
"""The start of every test: the model continues it with one line."""


def test_prompt(
    prompt: str, entry_point: str, template: str = TEST_PROMPT_TEMPLATE, prefix: str = TEST_PREFIX
) -> str:
    """What the model continues to write one test of ``entry_point``, the prefix included."""
    head = template.format(prompt=prompt, entry_point=entry_point)
    return head + prefix.format(entry_point=entry_point)


def docstring_examples(prompt: str, entry_point: str) -> list[tuple[str, str]]:
    """The ``(call, shown value)`` pairs of ``entry_point``'s docstring examples (``>>> f(4)``
    showing ``5`` gives ``("f(4)", "5")``), one-line ones only, without repeats; none when the
    prompt does not parse."""
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return []
    examples: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name != entry_point:
            continue
        docstring = ast.get_docstring(node) or ""
        for example in doctest.DocTestParser().get_examples(docstring):
            call, want = example.source.strip(), example.want.strip()
            if want and "\n" not in call and "\n" not in want and (call, want) not in examples:
                examples.append((call, want))
    return examples


def test_writing_pairs(tasks: Sequence[Task]) -> list[tuple[str, str]]:
    """One (test prompt, completed line) pair per docstring example that calls its task's
    function directly: ``assert f(`` continued with ``4) == 5`` and a newline."""
    pairs: list[tuple[str, str]] = []
    for task in tasks:
        name = task.entry_point
        if not name:
            continue
        for call, want in docstring_examples(task.prompt, name):
            if call.startswith(f"{name}("):
                pairs.append(
                    (test_prompt(task.prompt, name), f"{call[len(name) + 1 :]} == {want}\n")
                )
    return pairs
