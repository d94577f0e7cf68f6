"""Data parallelism through accelerate: shares, gradient averaging, one writer of checkpoints.

The launch test starts two real CPU processes with ``torchrun`` (gloo); accelerate reads the
launch from the environment, as it does under ``accelerate launch --multi_gpu`` on GPUs.
REINFORCE without a baseline gives every rollout a non-zero advantage, so the two processes'
gradients differ and only averaging keeps their weights equal.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="needs the train extra")

import torch

from crucible.kernel.checkpoint import latest_checkpoint
from crucible.kernel.distributed import Processes, mean_metrics

pytestmark = pytest.mark.train

SCRIPT = Path(__file__).parent / "scripts" / "distributed_step.py"
ROOT = Path(__file__).resolve().parents[2]


def test_mean_metrics_averages_numbers_and_keeps_other_values() -> None:
    rows = [
        {"reward_mean": 0.5, "pass_rate": 0.25, "note": "a", "eval_pass@1": 0.1},
        {"reward_mean": -0.1, "pass_rate": 0.75, "note": "b"},
    ]
    merged = mean_metrics(rows)
    assert merged["reward_mean"] == pytest.approx(0.2)
    assert merged["pass_rate"] == pytest.approx(0.5)
    assert merged["note"] == "a"
    assert merged["eval_pass@1"] == pytest.approx(0.1)


def test_a_single_process_owns_everything_and_leaves_gradients_alone() -> None:
    processes = Processes()
    assert (processes.count, processes.rank, processes.is_main) == (1, 0, True)
    assert processes.shard([1, 2, 3]) == [1, 2, 3]
    parameter = torch.nn.Parameter(torch.ones(3))
    parameter.grad = torch.full((3,), 2.0)
    processes.average_gradients([parameter])
    assert parameter.grad.tolist() == [2.0, 2.0, 2.0]
    assert processes.gather({"x": 1}) == [{"x": 1}]


def test_shard_refuses_fewer_items_than_processes() -> None:
    processes = Processes()
    processes.count = 4
    with pytest.raises(ValueError, match="batch_prompts"):
        processes.shard([1, 2])


@pytest.mark.slow
def test_two_processes_share_the_queries_and_stay_identical(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        str(Path(sys.executable).with_name("torchrun")),
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(port),
        str(SCRIPT),
        str(tmp_path),
    ]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-4000:]
    ranks = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [r["count"] for r in ranks] == [2, 2]
    assert ranks[0]["before"] == ranks[1]["before"]
    assert ranks[0]["after"] != ranks[0]["before"]
    assert ranks[0]["after"] == ranks[1]["after"]
    assert ranks[0]["problems"] and ranks[1]["problems"]
    assert not set(ranks[0]["problems"]) & set(ranks[1]["problems"])
    run = tmp_path / "run"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1]
    folder = latest_checkpoint(run)
    assert folder is not None
    state = torch.load(folder / "state.pt", weights_only=False)
    assert len(state["method"]["processes"]) == 2
