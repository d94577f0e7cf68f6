"""Shared fixtures of the method tests: the real tiny model and real rollouts built from it.

Rollouts hold real samples (the kernel's sampler on the tiny model) and verdicts of a chosen
status, so a test states exactly which rewards the method sees; the sandbox itself is exercised by
the end-to-end tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

pytest.importorskip("torch", reason="needs the train extra")

import torch

from crucible.kernel.config import ModelConfig, SamplingConfig
from crucible.kernel.models import load_model
from crucible.kernel.plugin import MethodContext, Problem, Query, Rollout
from crucible.kernel.sampler import Sampler
from crucible.sandbox_service.models import (
    AssertTest,
    ExecuteResponse,
    IsolationMode,
    ResolvedLimits,
    Status,
    TestCase,
)

MakeRollouts = Callable[[Sequence[Sequence[tuple[Status, float]]]], list[Rollout]]


@pytest.fixture(scope="session")
def tiny() -> tuple[Any, Any]:
    """(model, tokenizer) of the tiny model. Tests must not modify it; load a fresh one to."""
    return load_model(ModelConfig(name_or_path="tiny"))


@pytest.fixture(scope="session")
def context(tiny: tuple[Any, Any]) -> MethodContext:
    model, tokenizer = tiny
    return MethodContext(
        model=model,
        tokenizer=tokenizer,
        device=torch.device("cpu"),
        seed=0,
        pad_token_id=int(tokenizer.pad_token_id),
    )


def problem(index: int) -> Problem:
    name = f"f{index}"
    return Problem(
        problem_id=f"p{index}",
        prompt=f"def {name}(x):\n",
        tests=[TestCase(body=AssertTest(code=f"assert {name}(1) == {index}"))],
        program_prefix=f"def {name}(x):\n",
    )


def verdict(status: Status, pass_ratio: float | None = None) -> ExecuteResponse:
    """A program verdict with ``status``, as the sandbox reports it (two tests)."""
    ratio = (1.0 if status is Status.PASSED else 0.0) if pass_ratio is None else pass_ratio
    return ExecuteResponse(
        status=status,
        pass_ratio=ratio,
        passed_count=round(2 * ratio),
        test_count=2,
        tests=[],
        isolation=IsolationMode.NONE,
        limits=ResolvedLimits(
            cpu_time_limit_ms=1000.0,
            wall_time_limit_ms=4000.0,
            memory_limit_bytes=256 << 20,
            output_limit_bytes=1 << 20,
        ),
    )


@pytest.fixture(scope="session")
def make_rollouts(tiny: tuple[Any, Any]) -> MakeRollouts:
    """``make_rollouts([[(status, pass_ratio), ...] per problem])``: one Query per problem (shared
    by its samples, as the loop does), real samples of the tiny model, verdicts as given."""
    model, tokenizer = tiny

    def build(outcomes: Sequence[Sequence[tuple[Status, float]]]) -> list[Rollout]:
        n = len(outcomes[0])
        sampler = Sampler(model, tokenizer, SamplingConfig(n=n, max_new_tokens=6, seed=0))
        queries = [
            Query(problem(i), problem(i).prompt, problem(i).program_prefix)
            for i in range(len(outcomes))
        ]
        sampled = sampler.sample([query.prompt for query in queries], n=n)
        return [
            Rollout(query, sample, verdict(status, ratio))
            for query, samples, row in zip(queries, sampled, outcomes, strict=True)
            for sample, (status, ratio) in zip(samples, row, strict=True)
        ]

    return build


@pytest.fixture(scope="session")
def token_logprobs(tiny: tuple[Any, Any]) -> Callable[[Rollout], torch.Tensor]:
    """log π(y_t) of every completion token of a rollout, from an unpadded forward pass of its
    sequence alone: an independent check of what ``kernel.policy`` computes in a padded batch."""
    model = tiny[0]

    def compute(rollout: Rollout) -> torch.Tensor:
        prompt, completion = rollout.sample.prompt_ids, rollout.sample.completion_ids
        ids = torch.tensor([[*prompt, *completion]])
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, :-1].float()
        chosen = torch.log_softmax(logits, dim=-1).gather(-1, ids[0, 1:, None]).squeeze(-1)
        return chosen[len(prompt) - 1 :]

    return compute
