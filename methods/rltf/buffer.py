"""RLTF's online buffer: generation and learning decoupled through a FIFO of scored samples.

The authors' generator writes scored samples continuously; a memory pool keeps the newest 6,400
(oldest evicted first), and every 50 learner steps the learner's dataset is refreshed from the
pool; between refreshes the learner draws its batches from that fixed dataset. Here the kernel's
step is the generator: each step's scored rollouts are pushed, the dataset (``snapshot``) is
refreshed on schedule, and the learner batch is drawn from it without replacement.

The whole buffer and the snapshot are the method's checkpointed state, as JSON-able records (a
rollout's problem, prompt, prefix, sample, verdict and score), so a resumed run draws the same
batches.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from typing import Any

import torch

from crucible.kernel.plugin import Problem, Query, Rollout, Score
from crucible.kernel.sampler import Sample
from crucible.sandbox_service.models import ExecuteResponse

Entry = tuple[int, Rollout, Score]


def rollout_record(rollout: Rollout, score: Score) -> dict[str, Any]:
    """A JSON-able record of a scored rollout (its problem is stored once, by id, elsewhere)."""
    sample = rollout.sample
    return {
        "problem_id": rollout.query.problem.problem_id,
        "prompt": rollout.query.prompt,
        "program_prefix": rollout.query.program_prefix,
        "greedy": rollout.greedy,
        "sample": {
            "prompt": sample.prompt,
            "completion": sample.completion,
            "prompt_ids": list(sample.prompt_ids),
            "completion_ids": list(sample.completion_ids),
            "logprobs": [float(x) for x in sample.logprobs.tolist()],
            "offsets": [list(span) for span in sample.offsets],
            "finish_reason": sample.finish_reason,
        },
        "verdict": rollout.verdict.model_dump(mode="json"),
        "score": {
            "reward": score.reward,
            "advantage": score.advantage,
            "token_weights": score.token_weights,
        },
    }


def rollout_from_record(
    record: dict[str, Any], problems: dict[str, Problem]
) -> tuple[Rollout, Score]:
    """Rebuild what :func:`rollout_record` stored."""
    raw = record["sample"]
    sample = Sample(
        prompt=raw["prompt"],
        completion=raw["completion"],
        prompt_ids=[int(x) for x in raw["prompt_ids"]],
        completion_ids=[int(x) for x in raw["completion_ids"]],
        logprobs=torch.tensor(raw["logprobs"], dtype=torch.float32),
        offsets=[(int(start), int(end)) for start, end in raw["offsets"]],
        finish_reason=raw["finish_reason"],
    )
    query = Query(problems[record["problem_id"]], record["prompt"], record["program_prefix"])
    verdict = ExecuteResponse.model_validate(record["verdict"])
    score = Score(**record["score"])
    return Rollout(query, sample, verdict, greedy=bool(record["greedy"])), score


class OnlineBuffer:
    """FIFO of scored rollouts plus the learner's dataset, a snapshot refreshed on demand."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"buffer capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.entries: deque[Entry] = deque(maxlen=capacity)
        self.snapshot: list[Entry] = []
        self.next_id = 0

    def __len__(self) -> int:
        return len(self.entries)

    def push(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> None:
        """Append scored rollouts in order; the oldest fall out past ``capacity``."""
        for rollout, score in zip(rollouts, scores, strict=True):
            self.entries.append((self.next_id, rollout, score))
            self.next_id += 1

    def refresh(self) -> None:
        """The learner's dataset becomes the buffer's current content."""
        self.snapshot = list(self.entries)

    def draw(self, count: int, rng: random.Random) -> tuple[list[Rollout], list[Score]]:
        """``count`` entries of the snapshot without replacement (all of it when smaller), in
        the order drawn."""
        if not self.snapshot:
            raise ValueError("the learner's dataset is empty: refresh the buffer after a push")
        picked = rng.sample(self.snapshot, min(count, len(self.snapshot)))
        return [rollout for _, rollout, _ in picked], [score for _, _, score in picked]

    def ids(self) -> list[int]:
        """Entry ids, oldest first (for inspection and tests)."""
        return [entry_id for entry_id, _, _ in self.entries]

    def state_dict(self) -> dict[str, Any]:
        records: dict[str, dict[str, Any]] = {}
        problems: dict[str, Any] = {}
        for entry_id, rollout, score in [*self.entries, *self.snapshot]:
            records[str(entry_id)] = rollout_record(rollout, score)
            problem = rollout.query.problem
            problems.setdefault(problem.problem_id, problem.model_dump(mode="json"))
        return {
            "capacity": self.capacity,
            "next_id": self.next_id,
            "entries": [entry_id for entry_id, _, _ in self.entries],
            "snapshot": [entry_id for entry_id, _, _ in self.snapshot],
            "records": records,
            "problems": problems,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        problems = {key: Problem.model_validate(value) for key, value in state["problems"].items()}
        rebuilt: dict[int, Entry] = {}
        for key, record in state["records"].items():
            rollout, score = rollout_from_record(record, problems)
            rebuilt[int(key)] = (int(key), rollout, score)
        self.entries = deque((rebuilt[i] for i in state["entries"]), maxlen=self.capacity)
        self.snapshot = [rebuilt[i] for i in state["snapshot"]]
        self.next_id = int(state["next_id"])
