"""The wheel a user installs (the Dockerfile installs one) carries every file the jails load at
run time, and none of the repository's measured results."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME_DIRS = ("sandbox_service/engine/runtime", "sandbox_service/engine/languages/runtime")


@pytest.mark.slow
def test_the_wheel_ships_every_runtime_file_and_no_results(tmp_path: Path) -> None:
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*build, "-w", str(tmp_path), str(REPO)],
        check=True,
        cwd=tmp_path,  # the build's scratch files stay out of the checkout where possible
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    runtime_files = {
        "crucible/" + path.relative_to(REPO).as_posix()
        for directory in RUNTIME_DIRS
        for path in (REPO / directory).iterdir()
        if path.is_file()
    }
    assert runtime_files, "no runtime files found in the checkout"
    assert runtime_files - names == set()
    assert not [name for name in names if name.startswith("crucible/benchmarks/results/")]
