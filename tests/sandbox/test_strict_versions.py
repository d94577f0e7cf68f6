"""A serving harness recognises a module unchanged since its snapshot by the version tag of the
module's namespace (python_strict.watch_versions), which this interpreter must keep where the
check expects it; a module a program changed is still restored."""

from __future__ import annotations

import subprocess

from crucible.sandbox_service.engine.python_runner import HARNESS_DIR, python_runtime

SCRIPT = """
import builtins, importlib.util, sys
spec = importlib.util.spec_from_file_location("strict", sys.argv[1])
strict = importlib.util.module_from_spec(spec)
spec.loader.exec_module(strict)
print(strict.watch_versions())
strict.snapshot()
original = builtins.len
print(strict._restore("builtins") is builtins and builtins.len is original)
builtins.len = lambda value: 0
strict._restore("builtins")
print(builtins.len is original)
"""


def test_versions_are_watched_and_a_changed_module_is_still_restored() -> None:
    done = subprocess.run(
        [
            python_runtime().interpreter,
            "-I",
            "-S",
            "-c",
            SCRIPT,
            str(HARNESS_DIR / "python_strict.py"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "True"]
