"""APPS (Hendrycks et al. 2021) and APPS+ (Dou et al. 2024, StepCoder's refined APPS).

Accepted layouts:

* the HF export as ``.jsonl`` (or an APPS+ ``.json`` array): rows with ``question``,
  ``solutions`` (a JSON string holding a list of programs), ``input_output`` (a JSON string with
  ``inputs``, ``outputs`` and, for call-based problems, ``fn_name``), ``difficulty``,
  ``starter_code`` and ``problem_id``. Such a file holds one split and does not say which, so the
  caller names it. APPS+ rows may add ``scope``; decoded objects are accepted where APPS has
  JSON strings.
* the original problem folders (``question.txt``, ``input_output.json``, ``solutions.json``,
  ``metadata.json``, ``starter_code.py``), either a split folder or a root holding ``train/`` and
  ``test/``; a problem's split is the name of the folder that holds it.

Tests follow APPS's ``testing_util.py``. Without ``fn_name`` every input/output pair is a stdio
test; list-valued inputs and outputs are joined with newlines as the harness does, and outputs
are compared with the FLOAT checker because the harness also accepts numerically equal tokens.
With ``fn_name`` every pair is a call test: ``inputs[i]`` is the positional-argument list, and a
method of ``class Solution`` (LeetCode-style starter code) is called as ``Solution.<fn_name>``.
The harness accepts a return value equal to ``outputs[i]`` or, when that is a non-empty list,
to ``outputs[i][0]``, because APPS wraps call-based outputs in a one-element list. A call test
has one expected value, so a one-element list is unwrapped and anything else is kept as is.
(The harness's conversion of string dict keys back to ints has no JSON equivalent and is not
reproduced.)

Problems without tests cannot be evaluated and are skipped with a warning; problems without
solutions are kept with ``canonical_solution=None``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from crucible.evaluation.datasets._prompts import apps_prompt
from crucible.evaluation.datasets._rows import DatasetFormatError, Row, read_records
from crucible.evaluation.tasks import SPLITS, ScopeEntry, Split, Task
from crucible.sandbox_service.models import (
    CallTest,
    CheckerKind,
    OutputChecker,
    StdioTest,
    TestCase,
)

log = logging.getLogger(__name__)

_FOLDER_FILES = {
    "question": "question.txt",
    "solutions": "solutions.json",
    "input_output": "input_output.json",
    "starter_code": "starter_code.py",
}


def _lines(row: Row, value: object, what: str) -> str:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "\n".join(value)
    if isinstance(value, str):
        return value
    raise row.error(f"a stdio {what} must be a string or a list of strings, not {value!r}")


def _call_tests(row: Row, fn_name: str, starter_code: str, pairs: list[Any]) -> list[TestCase]:
    function = f"Solution.{fn_name}" if "class Solution" in starter_code else fn_name
    tests = []
    for index, (args, output) in enumerate(pairs):
        if not isinstance(args, list):
            raise row.error(f"call-based input {index} must be a list of arguments, not {args!r}")
        expected = output[0] if isinstance(output, list) and len(output) == 1 else output
        body = CallTest(
            function_name=function, args_json=json.dumps(args), expected_json=json.dumps(expected)
        )
        tests.append(TestCase(name=f"call_{index}", body=body))
    return tests


def _stdio_tests(row: Row, pairs: list[Any]) -> list[TestCase]:
    checker = OutputChecker(kind=CheckerKind.FLOAT)
    return [
        TestCase(
            name=f"stdio_{index}",
            body=StdioTest(
                stdin=_lines(row, stdin, "input"), expected_stdout=_lines(row, stdout, "output")
            ),
            checker=checker,
        )
        for index, (stdin, stdout) in enumerate(pairs)
    ]


def _scope(row: Row) -> list[ScopeEntry] | None:
    raw = row.optional("scope", list, None)
    if raw is None:
        return None
    entries = []
    for item in raw:
        if not (
            isinstance(item, list)
            and len(item) == 3
            and isinstance(item[0], str)
            and all(isinstance(x, int) and not isinstance(x, bool) for x in item[1:])
        ):
            raise row.error(f"scope entries must be [kind, start_line, end_line], not {item!r}")
        entries.append((item[0], item[1], item[2]))
    return entries


def _apps_task(row: Row, split: Split, problem_id: str) -> Task | None:
    """The task of one APPS problem, or None when it has no tests."""
    if not row.data.get("input_output"):
        return None
    io = row.json_field("input_output", dict)
    inputs, outputs = io.get("inputs"), io.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list):
        raise row.error("input_output needs lists 'inputs' and 'outputs'")
    if len(inputs) != len(outputs):
        raise row.error(f"input_output has {len(inputs)} inputs but {len(outputs)} outputs")
    if not inputs:
        return None
    starter_code = row.optional("starter_code", str, "")
    fn_name = io.get("fn_name")
    if fn_name is not None and not isinstance(fn_name, str):
        raise row.error(f"fn_name must be a string, not {fn_name!r}")
    pairs = list(zip(inputs, outputs, strict=True))
    tests = _call_tests(row, fn_name, starter_code, pairs) if fn_name else _stdio_tests(row, pairs)
    solutions = row.json_field("solutions", list) if row.data.get("solutions") else []
    if not all(isinstance(item, str) for item in solutions):
        raise row.error("solutions must be a list of program strings")
    return row.task(
        task_id=f"apps/{split}/{problem_id}",
        source="apps",
        split=split,
        prompt=apps_prompt(row.get("question", str), starter_code, call_based=bool(fn_name)),
        layout="completion_only",
        entry_point=fn_name or None,
        canonical_solution=solutions[0].replace("\r\n", "\n") if solutions else None,
        tests=tests,
        difficulty=row.optional("difficulty", str, None),
        starter_code=starter_code,
        scope=_scope(row),
    )


def _folder_row(folder: Path) -> Row:
    """One problem folder read into the same shape as an HF row."""
    data: dict[str, Any] = {}
    for key, name in _FOLDER_FILES.items():
        file = folder / name
        if file.is_file():
            data[key] = file.read_text(encoding="utf-8")
    metadata = folder / "metadata.json"
    if metadata.is_file():
        try:
            data["difficulty"] = json.loads(metadata.read_text(encoding="utf-8")).get("difficulty")
        except (json.JSONDecodeError, AttributeError):
            raise DatasetFormatError(f"{metadata}: expected a JSON object") from None
    return Row(str(folder), data)


def _problem_folders(root: Path, file_split: Split) -> list[tuple[Path, Split]]:
    found = []
    for question in sorted([*root.glob("*/question.txt"), *root.glob("*/*/question.txt")]):
        folder = question.parent
        split = next((name for name in SPLITS if name == folder.parent.name), file_split)
        found.append((folder, split))
    if not found:
        raise DatasetFormatError(f"{root}: no APPS problem folders (*/question.txt) found")
    return found


def load_apps(path: Path, file_split: Split = "test") -> list[Task]:
    """APPS or APPS+ tasks from a ``.jsonl``/``.json`` file (all labelled ``file_split``) or from
    problem folders (labelled by their ``train``/``test`` parent folder, else ``file_split``).

    Task ids are ``apps/<split>/<problem id>``: the row's ``problem_id`` (its position when
    absent) or the folder name without leading zeros, so both layouts name a problem alike."""
    if path.is_dir():
        items = [
            (_folder_row(folder), split, folder.name.lstrip("0") or "0")
            for folder, split in _problem_folders(path, file_split)
        ]
    else:
        items = [
            (row, file_split, str(row.optional("problem_id", object, index)))
            for index, row in enumerate(read_records(path))
        ]
    tasks, skipped = [], []
    for row, split, problem_id in items:
        task = _apps_task(row, split, problem_id)
        if task is None:
            skipped.append(problem_id)
        else:
            tasks.append(task)
    if skipped:
        log.warning("%s: skipped %d problems without tests: %s", path, len(skipped), skipped[:10])
    return tasks
