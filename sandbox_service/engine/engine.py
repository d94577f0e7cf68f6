"""The engine's public face: validate a request, run it, return a verdict.

Only the signatures are final here; the body is filled in by the execution code.
"""

from __future__ import annotations

from sandbox_service.models import ExecuteRequest, ExecuteResponse, Language


class RequestRejected(ValueError):
    """A request the engine will not run; the message names the offending field."""


class EngineConfig:
    """Placeholder until the engine lands."""


class Engine:
    """Runs requests; safe to share between threads and asyncio tasks."""

    async def execute(self, request: ExecuteRequest) -> ExecuteResponse:
        """Run one request. Raises RequestRejected for requests that cannot run (unknown
        language); every other failure is reported inside the verdict (SANDBOX_ERROR)."""
        raise NotImplementedError

    def languages(self) -> list[Language]:
        """Every language this engine runs, sorted by name."""
        raise NotImplementedError

    async def close(self) -> None:
        """Kill in-flight work and release workers."""
        raise NotImplementedError
