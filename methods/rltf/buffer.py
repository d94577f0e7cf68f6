"""RLTF's online buffer: generation and learning decoupled through a FIFO of scored samples.

The authors' generator writes scored samples continuously; a memory pool keeps the newest 6,400
(oldest evicted first), and every 50 learner steps the learner's dataset is refreshed from the
pool; between refreshes the learner iterates that fixed dataset like a data loader: shuffled,
each entry drawn once per pass. Here the kernel's step is the generator: each step's scored
rollouts are pushed, the dataset (``snapshot``) is refreshed on schedule, and the learner batch
is the next entries of the current shuffled pass (a new pass starts when one is used up). The
pool starts from the starting model's samples (the kernel's prefill rounds), so the first learner
batch draws from more than one step's samples. ``draws`` counts how often each entry has been
drawn: the reuse the ``buffer_reuse_mean`` metric reports.

The whole buffer, the snapshot, the pass and the draw counts are the method's checkpointed
state, as JSON-able records (a rollout's problem, prompt, prefix, sample, verdict and score), so
a resumed run draws the same batches.
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
    """FIFO of scored rollouts plus the learner's dataset, a snapshot refreshed on demand and
    drawn from pass by pass."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"buffer capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.entries: deque[Entry] = deque(maxlen=capacity)
        self.snapshot: list[Entry] = []
        self.pending: list[int] = []  # snapshot positions not drawn yet in this pass, last first
        self.draws: dict[int, int] = {}  # entry id -> learner batches it was drawn into
        self.next_id = 0

    def __len__(self) -> int:
        return len(self.entries)

    def push(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> None:
        """Append scored rollouts in order; the oldest fall out past ``capacity``."""
        for rollout, score in zip(rollouts, scores, strict=True):
            self.entries.append((self.next_id, rollout, score))
            self.next_id += 1

    def refresh(self) -> None:
        """The learner's dataset becomes the buffer's current content; a new pass starts.
        Draw counts are kept for the entries still present."""
        self.snapshot = list(self.entries)
        self.pending = []
        present = {entry_id for entry_id, _, _ in self.snapshot}
        self.draws = {key: count for key, count in self.draws.items() if key in present}

    def draw(self, count: int, rng: random.Random) -> tuple[list[Rollout], list[Score], list[int]]:
        """The next ``count`` entries of the current pass over the snapshot (all of it when
        smaller), each at most once per batch; a used-up pass is followed by a new shuffled one
        (without the entries already in this batch). Also returns how often each drawn entry
        has now been drawn (1 = its first time)."""
        if not self.snapshot:
            raise ValueError("the learner's dataset is empty: refresh the buffer after a push")
        picked: list[int] = []
        while len(picked) < min(count, len(self.snapshot)):
            if not self.pending:
                taken = set(picked)
                self.pending = [i for i in range(len(self.snapshot)) if i not in taken]
                rng.shuffle(self.pending)
            picked.append(self.pending.pop())
        entries = [self.snapshot[i] for i in picked]
        for entry_id, _, _ in entries:
            self.draws[entry_id] = self.draws.get(entry_id, 0) + 1
        return (
            [rollout for _, rollout, _ in entries],
            [score for _, _, score in entries],
            [self.draws[entry_id] for entry_id, _, _ in entries],
        )

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
            "pending": list(self.pending),
            "draws": {str(key): count for key, count in self.draws.items()},
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
        self.pending = [int(i) for i in state["pending"]]
        self.draws = {int(key): int(count) for key, count in state["draws"].items()}
        self.next_id = int(state["next_id"])
