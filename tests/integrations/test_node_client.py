"""docs/clients.md's Node.js example, read from the doc and run with node against a real server,
so the doc cannot go stale: @grpc/grpc-js and @grpc/proto-loader as pinned in
tests/integrations/node (``make setup`` installs them; this test does when they are missing)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from live_server import LiveServer

pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).parents[2]
PACKAGES = Path(__file__).parent / "node"
DOC = ROOT / "docs" / "clients.md"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The pinned packages, installed from the lockfile when absent (npm ci is idempotent)."""
    modules = PACKAGES / "node_modules"
    if not (modules / "@grpc" / "proto-loader").is_dir():
        npm = shutil.which("npm")
        assert npm is not None, "npm is missing: run make setup"
        command = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        subprocess.run(command, cwd=PACKAGES, check=True, timeout=300)
    return modules


def doc_example() -> str:
    (block,) = re.findall(r"```js\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    return str(block)


def run_node(
    tmp_path: Path, node_modules: Path, address: str, script: str
) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node is not None, "node is missing: run make setup"
    path = tmp_path / "example.js"
    path.write_text(script)
    env = {**os.environ, "NODE_PATH": str(node_modules), "CRUCIBLE_ADDRESS": address}
    return subprocess.run(
        [node, str(path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_docs_node_example_runs_against_a_real_server(
    sandbox_server: LiveServer, node_modules: Path, tmp_path: Path
) -> None:
    done = run_node(tmp_path, node_modules, sandbox_server.address, doc_example())
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert "python" in printed["languages"]
    verdict = printed["verdict"]
    assert (verdict["request_id"], verdict["status"], verdict["isolation"]) == (
        "node-1",
        "PASSED",
        "POOLED",
    )  # enums as strings
    assert (verdict["pass_ratio"], verdict["passed_count"], verdict["test_count"]) == (1, 2, 2)
    assert verdict["executed_lines"] == [1, 2]
    for size in (verdict["peak_memory_bytes"], verdict["limits"]["memory_limit_bytes"]):
        assert isinstance(size, str) and int(size) > 0  # int64 as exact strings
    assert verdict["limits"]["cpu_time_limit_ms"] == 2000
    first, second = verdict["tests"]
    assert (first["name"], first["error"], first["stdout"], first["exit_code"]) == (
        "asserts",
        None,
        "",
        0,
    )  # defaults present
    assert second["checker"]["kind"] == "EXACT"


def test_the_example_reports_a_server_error_with_its_status(
    sandbox_server: LiveServer, node_modules: Path, tmp_path: Path
) -> None:
    script = doc_example().replace('language: "python"', 'language: "cobol"')
    done = run_node(tmp_path, node_modules, sandbox_server.address, script)
    assert done.returncode == 1
    assert done.stderr.startswith("3: ")  # INVALID_ARGUMENT
    assert "'cobol' is not supported" in done.stderr
