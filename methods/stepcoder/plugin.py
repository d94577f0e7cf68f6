"""StepCoder as a kernel plugin: CCCS in ``queries``/``observe``, FGO and PPO in ``score``/``loss``.

- ``queries``: each problem's answer and executed prelude start with the head of its reference
  solution up to the problem's current curriculum stage (:mod:`methods.stepcoder.curriculum`).
  The head, less its last newline (:func:`methods.stepcoder.curriculum.answer_prefix`), is
  ``Query.answer_prefix``: the kernel puts it after the formatted prompt (at the start
  of the assistant's turn with a chat template), so its tokens are prompt tokens that condition
  the completion but never enter the loss. The sandbox runs prelude + head + completion and
  reports lines in the completion's coordinates.
- ``score``: coarse execution reward (pass +1, fail −0.3, runtime error/timeout −0.6, compile
  error −1), FGO mask from the verdict's executable and executed lines
  (:mod:`methods.stepcoder.fgo`), one no-grad pass for the old log-probs, values and reference
  log-probs, then KL-penalised rewards, GAE and whitening over the masked-in tokens
  (:mod:`methods.stepcoder.loss`). Everything the PPO epochs reuse travels in ``Score.data``.
- ``loss``: masked clipped policy loss + ``value_coef`` × clipped value loss, for
  ``ppo_epochs`` optimiser steps per batch (``update_epochs``).
- ``observe``: counts passes per problem at its stage and moves stages whose cumulative pass
  rate exceeds rho. Curricula and the value head are the checkpointed state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from crucible.kernel.plugin import (
    LossOutput,
    MethodContext,
    OnlineMethod,
    Problem,
    Query,
    Rollout,
    Score,
)
from crucible.kernel.policy import completion_logprobs, dropout_off
from crucible.kernel.rewards import coarse_reward
from crucible.methods.stepcoder.config import StepCoderConfig
from crucible.methods.stepcoder.curriculum import (
    StageState,
    answer_prefix,
    curriculum,
    head,
    start_points,
)
from crucible.methods.stepcoder.fgo import fgo_mask
from crucible.methods.stepcoder.loss import (
    clipped_policy_loss,
    clipped_value_loss,
    gae,
    kl_penalised_rewards,
    whiten,
)
from crucible.methods.stepcoder.value_head import ValueHead
from crucible.sandbox_service.models import Status


class StepCoder(OnlineMethod[StepCoderConfig]):
    """PPO with a curriculum of completion subtasks (CCCS) and masks of unexecuted code (FGO)."""

    name: ClassVar[str] = "stepcoder"
    needs_coverage: ClassVar[bool] = True
    needs_reference_model: ClassVar[bool] = True
    activity_metrics: ClassVar[tuple[str, ...]] = (
        "fgo_masked_token_fraction",
        "cccs_stage_mean",
        "cccs_stage_moves",
    )

    def __init__(self, settings: StepCoderConfig, context: MethodContext) -> None:
        super().__init__(settings, context)
        self.curricula: dict[str, StageState] = {}
        hidden_size = int(context.model.config.hidden_size)
        self.value_head = ValueHead(hidden_size, context.device)

    # ------------------------------------------------------------------------------- CCCS

    def stage_of(self, problem: Problem) -> StageState:
        """The problem's curriculum state, built from its reference on first sight."""
        state = self.curricula.get(problem.problem_id)
        if state is None:
            scope = problem.metadata.get("scope") if self.settings.use_scope else None
            points = (
                start_points(problem.reference_solution, problem.program_prefix, scope)
                if problem.reference_solution
                else []
            )
            state = StageState(stages=curriculum(points, self.settings.stride))
            self.curricula[problem.problem_id] = state
        return state

    def queries(self, problems: Sequence[Problem]) -> list[Query]:
        queries = []
        for problem in problems:
            prefix = ""
            if self.settings.cccs:
                prefix = answer_prefix(
                    head(problem.reference_solution, self.stage_of(problem).prefix_lines)
                )
            queries.append(Query(problem, problem.prompt, problem.program_prefix + prefix, prefix))
        return queries

    def observe(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> dict[str, float]:
        """Move the stages of this step's problems and report the mechanisms' activity:
        ``fgo_masked_token_fraction`` (share of the step's completion tokens FGO masked out),
        ``cccs_stage_moves`` (stages moved this step) and ``cccs_stage_mean`` (mean stage number
        over every problem seen so far; 1 = its first stage). Reported with the mechanism off
        too, so every run's metrics have the same columns: no FGO masks nothing (0) and without
        CCCS every problem has one stage, the whole program (1)."""
        masks = [score.data["mask"] for score in scores]
        tokens = sum(mask.numel() for mask in masks)
        masked = sum(float((1.0 - mask).sum()) for mask in masks)
        fell_back = sum(score.data["mask_fell_back"] for score in scores)
        activity = {
            "fgo_masked_token_fraction": masked / tokens if tokens else 0.0,
            "fgo_fallback_frac": fell_back / len(scores) if scores else 0.0,
        }
        if not self.settings.cccs:  # one stage per problem: the whole program
            return {**activity, "cccs_stage_moves": 0.0, "cccs_stage_mean": 1.0}
        problems: dict[str, Problem] = {}
        passed: Counter[str] = Counter()
        attempts: Counter[str] = Counter()
        for rollout in rollouts:
            if rollout.greedy:
                continue
            problem = rollout.query.problem
            problems[problem.problem_id] = problem
            attempts[problem.problem_id] += 1
            passed[problem.problem_id] += rollout.verdict.status is Status.PASSED
        moved = sum(
            self.stage_of(problem).record(
                passed[problem_id],
                attempts[problem_id],
                self.settings.accuracy_threshold,
                self.settings.min_stage_attempts,
            )
            for problem_id, problem in problems.items()
        )
        states = list(self.curricula.values())
        return {
            **activity,
            "cccs_stage_moves": float(moved),
            "cccs_stage_mean": 1 + sum(state.stage for state in states) / len(states),
        }

    # ------------------------------------------------------------------------ FGO and PPO

    def _forward(
        self, model: Any, rollouts: Sequence[Rollout], *, values: bool
    ) -> tuple[list[torch.Tensor], list[torch.Tensor] | None]:
        """Per-token log-probs (and values) of each rollout's completion under ``model``, with
        dropout off in every pass (``score``'s old log-probs and ``loss``'s new ones alike), so
        the first epoch's ratio is exactly 1 under LoRA's adapter dropout too."""
        with dropout_off(model):
            logprobs, hidden = completion_logprobs(
                model,
                [rollout.sample.prompt_ids for rollout in rollouts],
                [rollout.sample.completion_ids for rollout in rollouts],
                self.context.pad_token_id,
                return_hidden=values,
            )
        if hidden is None:
            return logprobs, None
        return logprobs, [self.value_head(state) for state in hidden]

    def _mask(self, rollout: Rollout) -> tuple[list[float], bool]:
        sample, verdict = rollout.sample, rollout.verdict
        if not self.settings.fgo:
            return [1.0] * len(sample.completion_ids), False
        if not verdict.coverage_collected and verdict.status is not Status.SANDBOX_ERROR:
            raise ValueError(
                f"{verdict.request_id or rollout.query.problem.problem_id}: the sandbox returned "
                "no executed lines although coverage was requested; FGO needs them "
                "(set method.fgo=false to train without)"
            )
        try:
            return fgo_mask(
                sample.offsets,
                sample.completion,
                verdict.executed_lines,
                verdict.executable_lines,
                self.settings.empty_mask,
            )
        except ValueError as error:
            problem = verdict.request_id or rollout.query.problem.problem_id
            raise ValueError(f"{problem}: {error}") from error

    @torch.no_grad()
    def score(self, rollouts: Sequence[Rollout]) -> list[Score]:
        settings = self.settings
        old_logprobs: list[torch.Tensor] = []
        old_values: list[torch.Tensor] = []
        reference_logprobs: list[torch.Tensor] = []
        reference = self.context.reference_model
        for start in range(0, len(rollouts), settings.forward_batch_size):
            chunk = rollouts[start : start + settings.forward_batch_size]
            logprobs, values = self._forward(self.context.model, chunk, values=True)
            assert values is not None
            old_logprobs += [tokens.float() for tokens in logprobs]
            old_values += values
            if reference is not None and settings.kl_coef > 0:
                reference_logprobs += self._forward(reference, chunk, values=False)[0]
            else:
                reference_logprobs += [tokens.float() for tokens in logprobs]
        rewards = [coarse_reward(rollout.verdict) for rollout in rollouts]
        masks, fell_back = [], []
        for rollout, value in zip(rollouts, old_values, strict=True):
            mask, fallback = self._mask(rollout)
            masks.append(torch.tensor(mask, device=value.device))
            fell_back.append(fallback)
        advantages, returns = [], []
        for reward, old, ref, value in zip(
            rewards, old_logprobs, reference_logprobs, old_values, strict=True
        ):
            token_rewards = kl_penalised_rewards(reward, old, ref, settings.kl_coef)
            advantage, target = gae(token_rewards, value, settings.gamma, settings.lam)
            advantages.append(advantage)
            returns.append(target)
        if settings.whiten_advantages:
            advantages = whiten(advantages, masks)
        return [
            Score(
                reward=rewards[index],
                advantage=float(advantages[index].mean()) if advantages[index].numel() else 0.0,
                data={
                    "old_logprobs": old_logprobs[index],
                    "old_values": old_values[index],
                    "advantages": advantages[index],
                    "returns": returns[index],
                    "mask": masks[index],
                    "mask_fell_back": fell_back[index],
                },
            )
            for index in range(len(rollouts))
        ]

    def loss(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> LossOutput:
        settings = self.settings
        logprobs, values = self._forward(self.context.model, rollouts, values=True)
        assert values is not None

        def each(key: str) -> list[torch.Tensor]:
            return [score.data[key] for score in scores]

        policy, clip_frac = clipped_policy_loss(
            logprobs, each("old_logprobs"), each("advantages"), each("mask"), settings.clip_range
        )
        value = clipped_value_loss(
            torch.cat(values),
            torch.cat(each("old_values")),
            torch.cat(each("returns")),
            settings.value_clip_range,
        )
        total = policy + settings.value_coef * value
        new_logprobs, old_logprobs = torch.cat(logprobs).detach(), torch.cat(each("old_logprobs"))
        return LossOutput(
            total,
            {
                "policy_loss": float(policy.detach()),
                "value_loss": float(value.detach()),
                "clip_frac": clip_frac,
                "approx_kl": float(0.5 * ((new_logprobs - old_logprobs) ** 2).sum())
                / max(1, new_logprobs.numel()),
            },
        )

    def update_epochs(self) -> int:
        return self.settings.ppo_epochs

    def extra_parameters(self) -> list[torch.nn.Parameter]:
        return list(self.value_head.parameters())

    # ------------------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        return {
            "curricula": {key: state.to_dict() for key, state in self.curricula.items()},
            "value_head": self.value_head.state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.curricula = {
            key: StageState.from_dict(value) for key, value in state.get("curricula", {}).items()
        }
        if "value_head" in state:
            self.value_head.restore(state["value_head"])
