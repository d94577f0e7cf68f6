"""A verl custom reward function that scores a response by running it in a Crucible sandbox
server. Select it in verl's config::

    custom_reward_function:
      path: /path/to/crucible/kernel/integrations/verl_reward.py
      name: compute_score
      reward_kwargs:
        server: 127.0.0.1:50051
        reward: pass_ratio

``ground_truth`` holds the tests (the forms :mod:`.scoring` accepts, e.g. verl's
``{"inputs": [...], "outputs": [...]}``); ``extra_info`` may name the ``language`` and a
``prelude`` placed before the response's code. The response's last fenced code block is the
program when it has one.

verl loads this file by path, as a module of its own, so it imports Crucible by its installed
name only.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from crucible.kernel.integrations.scoring import build_request, check_settings, score
from crucible.sandbox_service.client import SandboxClient


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: dict[str, Any] | None = None,
    *,
    server: str = "127.0.0.1:50051",
    reward: str = "pass_ratio",
    fine_grained_penalty: float = 0.0,
    timeout: float = 300.0,
) -> float:
    """The reward of ``solution_str`` against ``ground_truth``'s tests (``data_source`` is not
    needed: the tests say everything). A sandbox failure raises, since verl needs a number and
    0 would be a verdict the program did not earn."""
    kind = check_settings(reward, fine_grained_penalty)
    info = extra_info or {}
    request = build_request(
        solution_str,
        ground_truth,
        language=info.get("language") or "python",
        prelude=info.get("prelude") or "",
    )
    verdict = _client(server, os.getpid()).execute(request, timeout=timeout)
    value = score(verdict, kind, fine_grained_penalty)
    if value is None:
        message = verdict.error.message if verdict.error else "no message"
        raise RuntimeError(f"the sandbox failed on this response ({data_source}): {message}")
    return value


@functools.cache
def _client(server: str, pid: int) -> SandboxClient:
    """One client per server and process (verl may score in forked workers, and a gRPC channel
    does not survive a fork)."""
    return SandboxClient(server)
