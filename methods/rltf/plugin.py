"""RLTF as a kernel plugin: online generation into a FIFO buffer, multi-granularity feedback,
and a learner that alternates supervised and RL steps.

- The kernel samples ``sampling.n`` completions plus one greedy baseline per prompt
  (``needs_greedy_baseline``) from a generator copy of the policy that takes the learner's
  weights every ``weight_reload_every`` steps (``sampler_refresh_every``).
- ``score``: R from the coarse or adaptive table, the greedy decode's R as baseline, the
  fine-grained span from the verdict, per-token returns r_t = R − 0.3 · m_t − R_greedy
  (:mod:`methods.rltf.feedback`) in ``Score.token_weights``.
- ``prefill``: before the first step the kernel samples, executes and scores
  ``pool_rounds`` rounds from the starting model; their sampled rollouts fill the buffer (the
  authors' pre-generated pool).
- ``learner_batch``: the step's sampled (non-greedy) rollouts enter the buffer; every
  ``refresh_every`` steps the learner's dataset is refreshed from it; the batch is the next
  entries of a shuffled pass over that dataset (:mod:`methods.rltf.buffer`).
- ``loss``: even steps, supervised cross-entropy on the ground-truth solutions of the batch's
  problems (:mod:`kernel.sft`); odd steps, −mean_t r_t · log π(y_t) (:mod:`methods.rltf.loss`).
- ``observe`` advances the step counter and reports the mechanism's activity: the share of the
  step's failing samples whose penalty fell on a LINE span (``line_penalty_fraction``) or on
  every token (``global_penalty_fraction``), and how often the learner batch's samples have been
  drawn (``buffer_reuse_mean``, 1 = each for the first time). Counter and buffer are the
  checkpointed state.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from crucible.kernel.plugin import LossOutput, MethodContext, OnlineMethod, Rollout, Score
from crucible.kernel.policy import completion_logprobs
from crucible.kernel.policy_gradient import prompt_key
from crucible.kernel.rewards import feedback_class
from crucible.kernel.sft import encode_pair, supervised_loss
from crucible.methods.rltf.buffer import OnlineBuffer
from crucible.methods.rltf.config import RLTFConfig
from crucible.methods.rltf.feedback import penalty_span, program_reward, token_returns
from crucible.methods.rltf.loss import token_weighted_loss
from crucible.sandbox_service.models import Status, Subtype

# Samples whose verdict is not a failure of the program: no feedback class to count.
_NOT_FAILING = frozenset({Status.PASSED, Status.SANDBOX_ERROR})


def _share(values: Sequence[object], wanted: object) -> float:
    """The share of ``values`` equal to ``wanted`` (0 for none)."""
    return sum(1 for value in values if value == wanted) / len(values) if values else 0.0


class RLTF(OnlineMethod[RLTFConfig]):
    """Online RL from unit-test feedback (coarse, fine-grained and adaptive)."""

    name: ClassVar[str] = "rltf"
    needs_greedy_baseline: ClassVar[bool] = True
    activity_metrics: ClassVar[tuple[str, ...]] = (
        "line_penalty_fraction",
        "global_penalty_fraction",
        "buffer_reuse_mean",
    )

    def __init__(self, settings: RLTFConfig, context: MethodContext) -> None:
        super().__init__(settings, context)
        self.buffer = OnlineBuffer(settings.buffer_capacity)
        self.steps_done = 0
        self.batch_reuse: list[int] = []  # draw counts of the last learner batch

    @property
    def supervised_step(self) -> bool:
        """Whether the current learner step is a supervised one (even steps, as in the code)."""
        return self.settings.supervised_steps and self.steps_done % 2 == 0

    def score(self, rollouts: Sequence[Rollout]) -> list[Score]:
        settings = self.settings
        rewards = [program_reward(rollout.verdict, settings.adaptive) for rollout in rollouts]
        baselines = {
            prompt_key(rollout): reward
            for rollout, reward in zip(rollouts, rewards, strict=True)
            if rollout.greedy
        }
        scores = []
        for rollout, reward in zip(rollouts, rewards, strict=True):
            if rollout.greedy:
                scores.append(Score(reward=reward))
                continue
            key = prompt_key(rollout)
            if key not in baselines:
                raise ValueError(
                    f"no greedy baseline among the rollouts for problem {key[0]!r}: RLTF needs "
                    "the kernel's greedy sample of every prompt"
                )
            sample = rollout.sample
            fine = settings.fine_grained
            kind = feedback_class(rollout.verdict) if fine else Subtype.IGNORE
            span = (
                penalty_span(rollout.verdict, sample.offsets, sample.completion)
                if fine
                else [False] * len(sample.offsets)
            )
            scores.append(
                Score(
                    reward=reward,
                    advantage=reward - baselines[key],
                    token_weights=token_returns(
                        reward, baselines[key], span, settings.fine_grained_penalty
                    ),
                    data={"feedback": kind.value if any(span) else Subtype.IGNORE.value},
                )
            )
        return scores

    def learner_batch(
        self, rollouts: Sequence[Rollout], scores: Sequence[Score]
    ) -> tuple[list[Rollout], list[Score]]:
        fresh = self._push(rollouts, scores)
        if self.steps_done % self.settings.refresh_every == 0:
            self.buffer.refresh()
        size = self.settings.learner_batch_size or fresh
        rng = random.Random(self.context.seed * 1_000_003 + self.steps_done)
        drawn, drawn_scores, self.batch_reuse = self.buffer.draw(size, rng)
        return drawn, drawn_scores

    def prefill_rounds(self) -> int:
        return self.settings.prefill_rounds

    def prefill(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> None:
        self._push(rollouts, scores)

    def _push(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> int:
        """Push the sampled (non-greedy) rollouts into the buffer; returns how many."""
        fresh = [(r, s) for r, s in zip(rollouts, scores, strict=True) if not r.greedy]
        self.buffer.push([r for r, _ in fresh], [s for _, s in fresh])
        return len(fresh)

    def loss(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> LossOutput:
        if self.supervised_step:
            return self._supervised_loss(rollouts)
        logprobs, _ = completion_logprobs(
            self.context.model,
            [rollout.sample.prompt_ids for rollout in rollouts],
            [rollout.sample.completion_ids for rollout in rollouts],
            self.context.pad_token_id,
        )
        returns = []
        for rollout, score in zip(rollouts, scores, strict=True):
            if score.token_weights is None:
                raise ValueError(
                    f"rollout of {rollout.query.problem.problem_id!r} has no per-token returns: "
                    "greedy baselines are not trained on"
                )
            returns.append(score.token_weights)
        loss = token_weighted_loss(logprobs, returns)
        return LossOutput(loss, {"rl_loss": float(loss.detach()), "supervised": 0.0})

    def _supervised_loss(self, rollouts: Sequence[Rollout]) -> LossOutput:
        """Cross-entropy on the reference solutions of the batch's problems (each once),
        prompted exactly as the samples were."""
        pairs: dict[str, tuple[str, str]] = {}
        for rollout in rollouts:
            problem = rollout.query.problem
            if problem.reference_solution:
                pairs.setdefault(
                    problem.problem_id, (rollout.sample.prompt, problem.reference_solution)
                )
        if not pairs:
            zero = torch.zeros((), device=self.context.device, requires_grad=True)
            return LossOutput(zero, {"supervised": 1.0})
        tokenizer = self.context.tokenizer
        batch = [encode_pair(tokenizer, prompt, target) for prompt, target in pairs.values()]
        loss = supervised_loss(self.context.model, batch, self.context.pad_token_id)
        return LossOutput(loss, {"sft_loss": float(loss.detach()), "supervised": 1.0})

    def observe(self, rollouts: Sequence[Rollout], scores: Sequence[Score]) -> dict[str, float]:
        self.steps_done += 1
        sampled = [s for r, s in zip(rollouts, scores, strict=True) if not r.greedy]
        returns = [value for score in sampled for value in score.token_weights or []]
        advantages = [score.advantage or 0.0 for score in sampled]
        failing = [
            s.data.get("feedback")
            for r, s in zip(rollouts, scores, strict=True)
            if not r.greedy and r.verdict.status not in _NOT_FAILING
        ]
        return {
            "line_penalty_fraction": _share(failing, Subtype.LINE.value),
            "global_penalty_fraction": _share(failing, Subtype.GLOBAL.value),
            "buffer_reuse_mean": sum(self.batch_reuse) / max(1, len(self.batch_reuse)),
            "buffer_size": float(len(self.buffer)),
            "learner_dataset_size": float(len(self.buffer.snapshot)),
            "advantage_mean": sum(advantages) / max(1, len(advantages)),
            "return_mean": sum(returns) / max(1, len(returns)),
        }

    def sampler_refresh_every(self) -> int:
        return self.settings.weight_reload_every

    def state_dict(self) -> dict[str, Any]:
        return {"steps_done": self.steps_done, "buffer": self.buffer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps_done = int(state.get("steps_done", 0))
        if "buffer" in state:
            self.buffer.load_state_dict(state["buffer"])
