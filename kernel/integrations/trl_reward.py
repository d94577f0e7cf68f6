"""A trl ``GRPOTrainer`` reward function that runs every completion of a step in a Crucible
sandbox server, over one ``ExecuteBatch`` stream, against its dataset row's tests::

    from trl import GRPOTrainer
    from crucible.kernel.integrations.trl_reward import CrucibleReward

    trainer = GRPOTrainer(model=..., train_dataset=dataset,
                          reward_funcs=[CrucibleReward("127.0.0.1:50051", reward="adaptive")])

The dataset's columns reach the function as keyword arguments (one value per completion):
``tests`` (required; the forms :mod:`.scoring` accepts), ``language`` and ``prelude`` (code
placed before the completion, e.g. the function header the completion continues), both
optional. Each completion's verdict status is logged beside it in trl's completions table
(column ``crucible_status``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from crucible.kernel.integrations.scoring import (
    RewardKind,
    build_request,
    check_settings,
    column,
    score,
)
from crucible.sandbox_service.client import SandboxClient
from crucible.sandbox_service.models import ExecuteResponse, Limits


class CrucibleReward:
    """A reward function for ``GRPOTrainer(reward_funcs=[...])``.

    ``reward``: ``"pass_ratio"``, ``"coarse"`` or ``"adaptive"`` (RLTF); ``fine_grained_penalty``:
    subtracted when the error implicates the program's code (0 = off); ``limits``: per-test
    limits (the server's defaults when None); ``timeout``: seconds for a whole step's batch.
    trl names the reward after ``__name__`` in its logs (``rewards/crucible/mean``).
    """

    __name__ = "crucible"

    def __init__(
        self,
        server: str | Sequence[str],
        *,
        reward: RewardKind = "adaptive",
        fine_grained_penalty: float = 0.0,
        language: str = "python",
        limits: Limits | None = None,
        timeout: float | None = 600.0,
    ) -> None:
        self.reward = check_settings(reward, fine_grained_penalty)
        self.fine_grained_penalty = fine_grained_penalty
        self.language = language
        self.limits = limits
        self.timeout = timeout
        self._client = SandboxClient(server)

    def __call__(
        self,
        prompts: Sequence[Any],
        completions: Sequence[Any],
        tests: Sequence[Any],
        language: Sequence[str | None] | None = None,
        prelude: Sequence[str | None] | None = None,
        log_extra: Callable[[str, list[Any]], None] | None = None,
        **_: Any,
    ) -> list[float | None]:
        """One reward per completion (None for a sandbox failure), in completion order."""
        count = len(completions)
        languages = column(language, count, self.language)
        preludes = column(prelude, count, "")
        requests = [
            build_request(
                _text(completion),
                tests[index],
                request_id=str(index),
                language=languages[index],
                prelude=preludes[index],
                limits=self.limits,
            )
            for index, completion in enumerate(completions)
        ]
        verdicts: dict[str, ExecuteResponse] = {
            verdict.request_id: verdict
            for verdict in self._client.execute_many(requests, timeout=self.timeout)
        }
        ordered = [verdicts[str(index)] for index in range(count)]
        if log_extra is not None:
            log_extra("crucible_status", [verdict.status.value for verdict in ordered])
        return [score(verdict, self.reward, self.fine_grained_penalty) for verdict in ordered]

    def close(self) -> None:
        """Close the connection to the server."""
        self._client.close()


def _text(completion: Any) -> str:
    """A completion's text: the string itself, or the content of a conversational completion's
    last message."""
    if isinstance(completion, str):
        return completion
    content: str = completion[-1]["content"]
    return content
